/**
 * The daily series the coach reads (streak, blockers, weekly goals) lists each local calendar
 * day once, in the reader's zone, across DST changes: the same days as stepping through the
 * zone day by day; and in a zone whose clocks skip midnight (America/Santiago), where that
 * stepping lands on 01:00 and then passes the last day by an hour, every day up to the last.
 */
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { assembleDaily } from '../../tools/analytics/queries.js';

/** The days by stepping through the zone itself. */
function zoneDays(from: Date, to: Date, zone: string): string[] {
  const out: string[] = [];
  const last = DateTime.fromJSDate(new Date(to.getTime() - 1), { zone }).startOf('day');
  for (let d = DateTime.fromJSDate(from, { zone }).startOf('day'); d <= last; d = d.plus({ days: 1 }))
    out.push(d.toFormat('yyyy-LL-dd'));
  return out;
}

describe('local days of a daily series', () => {
  const cases: Array<[string, string, string]> = [
    ['Europe/Paris', '2026-03-20T10:00:00Z', '2026-04-02T07:30:00Z'],
    ['Europe/Paris', '2026-10-20T23:30:00Z', '2026-11-02T00:00:00Z'],
    ['America/New_York', '2026-02-27T05:00:00Z', '2026-03-12T13:30:00Z'],
    ['America/New_York', '2026-10-25T04:00:00Z', '2026-11-05T04:59:59Z'],
    ['Asia/Tokyo', '2026-12-31T15:00:00Z', '2027-01-05T15:00:00Z'],
  ];
  it.each(cases)('%s from %s to %s', (zone, from, to) => {
    const range = { from: new Date(from), to: new Date(to) };
    const rows = [{ day: zoneDays(range.from, range.to, zone)[2]!, posts: 3, engagements: 7, impressions: null }];
    const series = assembleDaily(rows, range, zone);
    expect(series.days.map((d) => d.day)).toEqual(zoneDays(range.from, range.to, zone));
    expect(series.days.filter((d) => d.posts === 3)).toHaveLength(1);
    expect(series.days[2]).toMatchObject({ posts: 3, engagements: 7 });
  });

  it('America/Santiago, whose clocks skip midnight on 6 September 2026', () => {
    const range = { from: new Date('2026-08-30T12:00:00Z'), to: new Date('2026-09-12T12:00:00Z') };
    const days = assembleDaily([], range, 'America/Santiago').days.map((d) => d.day);
    expect(days).toHaveLength(14);
    expect(days[0]).toBe('2026-08-30');
    expect(days).toContain('2026-09-06');
    expect(days.at(-1)).toBe('2026-09-12'); // 08:00 local, inside the range
    expect(new Set(days).size).toBe(14);
  });
});
