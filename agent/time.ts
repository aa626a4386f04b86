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

/** A named period in the zone, as [from, to). Weeks start on Monday. */
export function rangeOf(name: RangeName, zone: string, now: Date): { from: Date; to: Date } {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  switch (name) {
    case 'today':
      return { from: today.toJSDate(), to: today.plus({ days: 1 }).toJSDate() };
    case 'tomorrow':
      return { from: today.plus({ days: 1 }).toJSDate(), to: today.plus({ days: 2 }).toJSDate() };
    case 'this week': {
      const start = today.startOf('week');
      return { from: start.toJSDate(), to: start.plus({ weeks: 1 }).toJSDate() };
    }
    case 'next week': {
      const start = today.startOf('week').plus({ weeks: 1 });
      return { from: start.toJSDate(), to: start.plus({ weeks: 1 }).toJSDate() };
    }
    case 'next 7 days':
      return { from: now, to: today.plus({ days: 8 }).toJSDate() };
  }
}

/** "Tue 2 Jun, 09:00" in the zone. */
export function showTime(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toFormat('ccc d LLL yyyy, HH:mm');
}
