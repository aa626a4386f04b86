/**
 * Times as people type them. An instant with an offset (`2026-12-01T09:00:00Z`,
 * `...+01:00`) is taken as is; a wall-clock time (`2026-12-01T09:00`, `2026-12-01 09:00`) is
 * read in the user's IANA time zone with Luxon, which knows every DST rule. A wall-clock time
 * that does not exist (the spring-forward gap) is refused with the nearest valid time;
 * an ambiguous one (fall-back) means its first occurrence, as RFC 5545 does.
 */
import { DateTime, IANAZone } from 'luxon';
import { HeraldError } from '../../core/index.js';

const HAS_OFFSET = /(Z|[+-]\d{2}(:?\d{2})?)$/i;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

export function assertTimeZone(zone: string): string {
  if (!IANAZone.isValidZone(zone)) {
    throw new HeraldError('invalid_time', {
      message: `"${zone}" is not an IANA time zone (e.g. Europe/Paris, America/New_York)`,
    });
  }
  return zone;
}

type WallClock = { year: number; month: number; day: number; hour: number; minute: number; second?: number };

/**
 * Every instant whose wall-clock time in `zone` is `parts`, earliest first: one normally,
 * two in a fall-back overlap, none in a spring-forward gap. Offsets are taken from a day
 * either side, which covers every real zone's transitions (including 30-minute ones).
 */
function instantsOf(parts: WallClock, zone: string): number[] {
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second ?? 0);
  const offsets = new Set([-86_400_000, 0, 86_400_000].map((d) => DateTime.fromMillis(asUtc + d, { zone }).offset));
  const found = new Set<number>();
  for (const offset of offsets) {
    const instant = asUtc - offset * 60_000;
    const back = DateTime.fromMillis(instant, { zone });
    if (
      back.year === parts.year &&
      back.month === parts.month &&
      back.day === parts.day &&
      back.hour === parts.hour &&
      back.minute === parts.minute
    ) {
      found.add(instant);
    }
  }
  return [...found].sort((a, b) => a - b);
}

/** The instant a wall-clock time names in `zone`, or an `invalid_time` error. First occurrence when ambiguous. */
export function wallClockToInstant(parts: WallClock, zone: string): Date {
  const dt = DateTime.fromObject({ ...parts, second: parts.second ?? 0 }, { zone });
  if (!dt.isValid)
    throw new HeraldError('invalid_time', { message: `Not a valid date or time: ${dt.invalidExplanation ?? ''}` });
  const candidates = instantsOf(parts, zone);
  if (candidates.length === 0) {
    const shown = `${String(parts.hour).padStart(2, '0')}:${String(parts.minute).padStart(2, '0')}`;
    throw new HeraldError('invalid_time', {
      message: `${shown} does not exist on ${dt.toISODate()} in ${zone}: the clocks jump forward. The next valid time is ${dt.toFormat('HH:mm')}.`,
      details: { zone, suggestion: dt.toISO() },
    });
  }
  return new Date(candidates[0]!);
}

/**
 * Like `wallClockToInstant`, but never refuses (RFC 5545 §3.3.5): a time in a
 * spring-forward gap is read with the offset before the gap, so it moves forward by the gap
 * (02:30 becomes 03:30); an ambiguous time is its first occurrence.
 */
export function wallClockToInstantLenient(parts: WallClock, zone: string): Date {
  const candidates = instantsOf(parts, zone);
  if (candidates.length > 0) return new Date(candidates[0]!);
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second ?? 0);
  const offsetBefore = DateTime.fromMillis(asUtc - 86_400_000, { zone }).offset;
  return new Date(asUtc - offsetBefore * 60_000);
}

/** Parses what a user or a CSV gives as a time. */
export function parseUserTime(input: string | Date, zone: string): Date {
  if (input instanceof Date) {
    if (Number.isNaN(input.getTime())) throw new HeraldError('invalid_time', { message: 'Invalid date' });
    return input;
  }
  const text = input.trim();
  if (HAS_OFFSET.test(text)) {
    const dt = DateTime.fromISO(text, { setZone: true });
    if (!dt.isValid) throw new HeraldError('invalid_time', { message: `"${text}" is not an ISO 8601 date-time` });
    return dt.toJSDate();
  }
  const m = LOCAL.exec(text);
  if (!m) {
    throw new HeraldError('invalid_time', {
      message: `"${text}" is not a date-time; use YYYY-MM-DDTHH:MM (read in ${zone}) or an ISO 8601 instant with an offset`,
    });
  }
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return wallClockToInstant(
    { year: y!, month: mo!, day: d!, hour: h!, minute: mi!, second: Number.isNaN(s!) ? 0 : s! },
    assertTimeZone(zone),
  );
}

/** An instant shown in a zone, with its offset: `2026-12-01T10:00:00.000+01:00`. */
export function showInZone(instant: Date, zone: string): string {
  return DateTime.fromJSDate(instant, { zone }).toISO()!;
}

/** One formatter per zone: building an `Intl.DateTimeFormat` costs far more than using one. */
const formats = new Map<string, Intl.DateTimeFormat>();

/** "Tue 2 Jun 2026, 09:00" in the zone (English names, 24-hour clock). */
export function showTime(instant: Date, zone: string): string {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    if (formats.size >= 512) formats.clear();
    formats.set(zone, format);
  }
  const part: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const p of format.formatToParts(instant)) part[p.type] = p.value;
  return `${part.weekday} ${part.day} ${part.month} ${part.year}, ${part.hour}:${part.minute}`;
}
