/**
 * The agent's named periods ("today", "this week", ...) in the user's zone: bounds fall on
 * local midnights across daylight-saving changes, weeks start on Monday, and the per-zone
 * memo of the current day never serves another day or another zone; on a Sunday "this week"
 * runs to the end of the coming week, and every period says its days. Times are shown in the
 * zone with one cached formatter per zone.
 */
import { describe, expect, it } from 'vitest';
import { calendarWeekOf, periodLabel, rangeOf, showTime } from '../../agent/time.js';

const iso = (r: { from: Date; to: Date }) => [r.from.toISOString(), r.to.toISOString()];

describe('named periods in the user zone', () => {
  it('a week across the end of summer time in Paris is 169 hours long, Monday to Monday', () => {
    const now = new Date('2026-10-22T10:00:00Z'); // Thursday
    expect(iso(rangeOf('this week', 'Europe/Paris', now))).toEqual([
      '2026-10-18T22:00:00.000Z', // Mon 19 Oct 00:00 CEST
      '2026-10-25T23:00:00.000Z', // Mon 26 Oct 00:00 CET
    ]);
    expect(iso(rangeOf('next week', 'Europe/Paris', now))).toEqual([
      '2026-10-25T23:00:00.000Z',
      '2026-11-01T23:00:00.000Z',
    ]);
    expect(iso(rangeOf('today', 'Europe/Paris', now))).toEqual([
      '2026-10-21T22:00:00.000Z',
      '2026-10-22T22:00:00.000Z',
    ]);
  });

  it('the day changes at local midnight, not at a memoised one', () => {
    const zone = 'America/New_York';
    const before = new Date('2026-03-08T04:59:00Z'); // Sat 7 Mar 23:59 EST
    const after = new Date('2026-03-08T05:01:00Z'); // Sun 8 Mar 00:01 EST (summer time starts at 02:00)
    expect(iso(rangeOf('today', zone, before))).toEqual(['2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z']);
    // The 8th is 23 hours long.
    expect(iso(rangeOf('today', zone, after))).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    expect(iso(rangeOf('tomorrow', zone, after))).toEqual(['2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z']);
    // Back to the earlier day: not served from the later one.
    expect(iso(rangeOf('today', zone, before))).toEqual(['2026-03-07T05:00:00.000Z', '2026-03-08T05:00:00.000Z']);
  });

  it('the same instant is a different day in another zone', () => {
    const now = new Date('2026-06-01T23:30:00Z');
    expect(iso(rangeOf('today', 'UTC', now))).toEqual(['2026-06-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z']);
    expect(iso(rangeOf('today', 'Asia/Tokyo', now))).toEqual(['2026-06-01T15:00:00.000Z', '2026-06-02T15:00:00.000Z']);
    expect(iso(rangeOf('today', 'UTC', now))).toEqual(['2026-06-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z']);
  });

  it('"the next 7 days" runs from now to the end of the seventh day after today', () => {
    const now = new Date('2026-06-01T12:34:00Z');
    const r = rangeOf('next 7 days', 'UTC', now);
    expect(iso(r)).toEqual(['2026-06-01T12:34:00.000Z', '2026-06-09T00:00:00.000Z']);
    // Callers get their own dates: changing one changes nothing the next caller sees.
    r.to.setTime(0);
    expect(rangeOf('next 7 days', 'UTC', now).to.toISOString()).toBe('2026-06-09T00:00:00.000Z');
    const week = rangeOf('this week', 'UTC', now);
    week.from.setTime(0);
    expect(rangeOf('this week', 'UTC', now).from.toISOString()).toBe('2026-06-01T00:00:00.000Z');
  });
});

describe('which week is meant', () => {
  const zone = 'Europe/Paris';
  const saturday = new Date('2026-12-05T18:00:00Z'); // Sat 5 Dec, 19:00 CET
  const sunday = new Date('2026-12-06T09:00:00Z'); // Sun 6 Dec, 10:00 CET

  it('"this week" asked on a Sunday runs from that Sunday to the end of the coming week', () => {
    const week = rangeOf('this week', zone, sunday);
    expect(iso(week)).toEqual(['2026-12-05T23:00:00.000Z', '2026-12-13T23:00:00.000Z']);
    expect(week.label).toBe('Sun 6 – Sun 13 Dec');
    // A post due Monday 7 Dec at 09:00 is in it.
    const monday9 = new Date('2026-12-07T08:00:00Z');
    expect(monday9 >= week.from && monday9 < week.to).toBe(true);
    expect(rangeOf('next week', zone, sunday).label).toBe('Mon 7 – Sun 13 Dec');
    // Looking back (results of "this week"), it is still the calendar week ending today.
    expect(calendarWeekOf(zone, sunday).label).toBe('Mon 30 Nov – Sun 6 Dec');
  });

  it('on any other day "this week" is Monday to Sunday, and says so', () => {
    const week = rangeOf('this week', zone, saturday);
    expect(iso(week)).toEqual(['2026-11-29T23:00:00.000Z', '2026-12-06T23:00:00.000Z']);
    expect(week.label).toBe('Mon 30 Nov – Sun 6 Dec');
    expect(calendarWeekOf(zone, saturday)).toEqual(week);
    expect(rangeOf('today', zone, saturday).label).toBe('Sat 5 Dec');
    expect(rangeOf('next 7 days', zone, saturday).label).toBe('Sat 5 – Sat 12 Dec');
  });

  it('labels name the month once when they can, and the years when they differ', () => {
    expect(periodLabel(new Date('2026-12-28T00:00:00Z'), new Date('2027-01-04T00:00:00Z'), 'UTC')).toBe(
      'Mon 28 Dec 2026 – Sun 3 Jan 2027',
    );
    expect(periodLabel(new Date('2026-06-29T00:00:00Z'), new Date('2026-07-06T00:00:00Z'), 'UTC')).toBe(
      'Mon 29 Jun – Sun 5 Jul',
    );
    // The same instants, read in Tokyo, are other days.
    expect(periodLabel(new Date('2026-06-29T00:00:00Z'), new Date('2026-07-06T00:00:00Z'), 'Asia/Tokyo')).toBe(
      'Mon 29 Jun – Mon 6 Jul',
    );
  });
});

describe('times as the agent shows them', () => {
  it('in the zone, English names, 24-hour clock, midnight as 00', () => {
    expect(showTime(new Date('2026-11-24T08:00:00Z'), 'Europe/Paris')).toBe('Tue 24 Nov 2026, 09:00');
    expect(showTime(new Date('2026-06-01T23:05:00Z'), 'UTC')).toBe('Mon 1 Jun 2026, 23:05');
    expect(showTime(new Date('2026-06-01T23:05:00Z'), 'Asia/Tokyo')).toBe('Tue 2 Jun 2026, 08:05');
    expect(showTime(new Date('2026-03-08T05:00:00Z'), 'America/New_York')).toBe('Sun 8 Mar 2026, 00:00');
    // Summer time began at 02:00: 07:30 UTC is 03:30 EDT.
    expect(showTime(new Date('2026-03-08T07:30:00Z'), 'America/New_York')).toBe('Sun 8 Mar 2026, 03:30');
  });
});
