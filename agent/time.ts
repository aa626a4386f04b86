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

/** A named period as [from, to), with the days it covers as said to the user. */
export interface NamedRange {
  from: Date;
  to: Date;
  /** "Mon 7 – Sun 13 Dec": the first and last day, so the user knows which week was meant. */
  label: string;
}

/** The bounds of one day in one zone, and the periods that hang on it (`rangeOf`). */
interface DayRanges {
  from: number;
  to: number;
  ranges: Record<Exclude<RangeName, 'next 7 days'>, NamedRange> & { eighthDay: Date; calendarWeek: NamedRange };
  /** The label of "the next 7 days" (from any time today). */
  next7Label: string;
}
/** Per zone, the day last asked about: time-zone arithmetic is most of a fast-path answer's own work. */
const days = new Map<string, DayRanges>();

/**
 * "Sun 6 Dec", "Mon 7 – Sun 13 Dec", "Mon 30 Nov – Sun 6 Dec", "Mon 28 Dec 2026 – Sun 3 Jan
 * 2027": the first and last day of [from, to) in the zone, saying no more than it must.
 */
export function periodLabel(from: Date, to: Date, zone: string): string {
  const first = DateTime.fromJSDate(from, { zone }).setLocale('en-GB');
  const last = DateTime.fromJSDate(new Date(Math.max(from.getTime(), to.getTime() - 1)), { zone }).setLocale('en-GB');
  if (first.hasSame(last, 'day')) return first.toFormat('ccc d LLL');
  if (first.hasSame(last, 'month')) return `${first.toFormat('ccc d')} – ${last.toFormat('ccc d LLL')}`;
  if (first.hasSame(last, 'year')) return `${first.toFormat('ccc d LLL')} – ${last.toFormat('ccc d LLL')}`;
  return `${first.toFormat('ccc d LLL yyyy')} – ${last.toFormat('ccc d LLL yyyy')}`;
}

function dayRanges(zone: string, now: Date): DayRanges {
  const t = now.getTime();
  const known = days.get(zone);
  if (known && t >= known.from && t < known.to) return known;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const week = today.startOf('week');
  const span = (a: DateTime, b: DateTime): NamedRange => ({
    from: a.toJSDate(),
    to: b.toJSDate(),
    label: periodLabel(a.toJSDate(), b.toJSDate(), zone),
  });
  const calendarWeek = span(week, week.plus({ weeks: 1 }));
  const day: DayRanges = {
    from: today.toMillis(),
    to: today.plus({ days: 1 }).toMillis(),
    ranges: {
      today: span(today, today.plus({ days: 1 })),
      tomorrow: span(today.plus({ days: 1 }), today.plus({ days: 2 })),
      // Asked on a Sunday, "this week" is all but over: what people mean is what is coming,
      // so it runs from today to the end of the coming week.
      'this week': today.weekday === 7 ? span(today, week.plus({ weeks: 2 })) : calendarWeek,
      'next week': span(week.plus({ weeks: 1 }), week.plus({ weeks: 2 })),
      eighthDay: today.plus({ days: 8 }).toJSDate(),
      calendarWeek,
    },
    next7Label: periodLabel(today.toJSDate(), today.plus({ days: 8 }).toJSDate(), zone),
  };
  if (days.size >= 512) days.clear();
  days.set(zone, day);
  return day;
}

/**
 * A named period in the zone, as [from, to), looking ahead: weeks start on Monday, and
 * "this week" asked on a Sunday runs from that Sunday to the end of the coming week.
 */
export function rangeOf(name: RangeName, zone: string, now: Date): NamedRange {
  const day = dayRanges(zone, now);
  if (name === 'next 7 days') return { from: now, to: new Date(day.ranges.eighthDay), label: day.next7Label };
  const { from, to, label } = day.ranges[name];
  return { from: new Date(from), to: new Date(to), label };
}

/** The calendar week (Monday to Sunday) holding `now` in the zone: "this week" looking back. */
export function calendarWeekOf(zone: string, now: Date): NamedRange {
  const { from, to, label } = dayRanges(zone, now).ranges.calendarWeek;
  return { from: new Date(from), to: new Date(to), label };
}

export { showTime } from '../tools/scheduling/index.js';
