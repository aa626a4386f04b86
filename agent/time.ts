/**
 * Natural-language times in the user's zone ("tomorrow at 9", "Friday 3pm", "this week"),
 * read with chrono-node against the wall clock of that zone and turned into instants with
 * luxon, so daylight-saving changes fall where they should. Tools also take ISO instants and
 * `YYYY-MM-DDTHH:MM` wall-clock times (read in the zone) through the scheduling service.
 */
import * as chrono from 'chrono-node';
import { DateTime } from 'luxon';
import { HeraldError } from '../core/index.js';
import { parseUserTime } from '../tools/scheduling/index.js';

export interface ParsedTime {
  instant: Date;
  /** The words that named the time. */
  text: string;
  /** The user named an hour (not just a day). */
  hasHour: boolean;
  /** The user named a day (not just an hour). */
  hasDay: boolean;
}

function reference(zone: string, now: Date) {
  return { instant: now, timezone: DateTime.fromJSDate(now, { zone }).offset };
}

function toInstant(c: chrono.ParsedComponents, zone: string): Date {
  return DateTime.fromObject(
    {
      year: c.get('year')!,
      month: c.get('month')!,
      day: c.get('day')!,
      hour: c.get('hour') ?? 0,
      minute: c.get('minute') ?? 0,
      second: c.get('second') ?? 0,
    },
    { zone },
  ).toJSDate();
}

/** The first time named in `text`, or null. Future-leaning: "9am" after 9am means tomorrow. */
export function findTime(text: string, zone: string, now: Date): ParsedTime | null {
  const [result] = chrono.parse(text, reference(zone, now), { forwardDate: true });
  if (!result) return null;
  const s = result.start;
  return {
    instant: toInstant(s, zone),
    text: result.text,
    hasHour: s.isCertain('hour'),
    hasDay: s.isCertain('day') || s.isCertain('weekday'),
  };
}

/** An ISO instant, a wall-clock `YYYY-MM-DDTHH:MM` in the zone, or words ("tomorrow at 9"). */
export function readTime(input: string, zone: string, now: Date): Date {
  try {
    return parseUserTime(input, zone);
  } catch (err) {
    const found = findTime(input, zone, now);
    if (found) return found.instant;
    throw err instanceof HeraldError
      ? new HeraldError('invalid_time', {
          message: `"${input}" is not a time I can read; say e.g. "tomorrow at 9" or 2026-06-02T09:00`,
        })
      : err;
  }
}

export type RangeName = 'today' | 'tomorrow' | 'this week' | 'next week' | 'next 7 days';

/** The bounds of one day in one zone, and the periods that hang on it (`rangeOf`). */
interface DayRanges {
  from: number;
  to: number;
  ranges: Record<Exclude<RangeName, 'next 7 days'>, { from: Date; to: Date }> & { eighthDay: Date };
}
/** Per zone, the day last asked about: time-zone arithmetic is most of a fast-path answer's own work. */
const days = new Map<string, DayRanges>();

function dayRanges(zone: string, now: Date): DayRanges {
  const t = now.getTime();
  const known = days.get(zone);
  if (known && t >= known.from && t < known.to) return known;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const week = today.startOf('week');
  const span = (a: DateTime, b: DateTime) => ({ from: a.toJSDate(), to: b.toJSDate() });
  const day: DayRanges = {
    from: today.toMillis(),
    to: today.plus({ days: 1 }).toMillis(),
    ranges: {
      today: span(today, today.plus({ days: 1 })),
      tomorrow: span(today.plus({ days: 1 }), today.plus({ days: 2 })),
      'this week': span(week, week.plus({ weeks: 1 })),
      'next week': span(week.plus({ weeks: 1 }), week.plus({ weeks: 2 })),
      eighthDay: today.plus({ days: 8 }).toJSDate(),
    },
  };
  if (days.size >= 512) days.clear();
  days.set(zone, day);
  return day;
}

/** A named period in the zone, as [from, to). Weeks start on Monday. */
export function rangeOf(name: RangeName, zone: string, now: Date): { from: Date; to: Date } {
  const { ranges } = dayRanges(zone, now);
  if (name === 'next 7 days') return { from: now, to: new Date(ranges.eighthDay) };
  const { from, to } = ranges[name];
  return { from: new Date(from), to: new Date(to) };
}

export { showTime } from '../tools/scheduling/index.js';
