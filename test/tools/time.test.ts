import { describe, expect, it } from 'vitest';
import {
  occurrences,
  parseRule,
  parseUserTime,
  showInZone,
  slotInstants,
  type PostingSlot,
} from '../../tools/scheduling/index.js';

const slot = (weekday: number, localTime: string, timeZone: string): PostingSlot => ({
  id: 's',
  workspaceId: 'w',
  socialAccountId: 'a',
  weekday,
  localTime,
  timeZone,
  createdAt: new Date(),
});

describe('times as users type them', () => {
  it('reads wall-clock times in the user zone and keeps explicit offsets', () => {
    expect(parseUserTime('2026-12-01T09:00', 'Europe/Paris').toISOString()).toBe('2026-12-01T08:00:00.000Z');
    expect(parseUserTime('2026-07-01 09:00', 'Europe/Paris').toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(parseUserTime('2026-12-01T09:00:00-05:00', 'Europe/Paris').toISOString()).toBe('2026-12-01T14:00:00.000Z');
    expect(parseUserTime('2026-12-01T09:00:00Z', 'Asia/Tokyo').toISOString()).toBe('2026-12-01T09:00:00.000Z');
    expect(showInZone(new Date('2026-12-01T08:00:00Z'), 'Europe/Paris')).toBe('2026-12-01T09:00:00.000+01:00');
  });

  it('refuses a time inside the spring-forward gap, naming the zone and the next valid time', () => {
    // Europe/Paris jumps from 02:00 to 03:00 on 2027-03-28.
    expect(() => parseUserTime('2027-03-28T02:30', 'Europe/Paris')).toThrow(
      /02:30 does not exist on 2027-03-28 in Europe\/Paris.*03:30/,
    );
  });

  it('reads an ambiguous fall-back time as its first occurrence', () => {
    // 2026-10-25 02:30 happens twice in Paris (CEST then CET): the first is 00:30Z.
    expect(parseUserTime('2026-10-25T02:30', 'Europe/Paris').toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('rejects garbage, impossible dates and unknown zones with invalid_time', () => {
    for (const [input, zone] of [
      ['tomorrowish', 'UTC'],
      ['2026-02-30T09:00', 'UTC'],
      ['2026-12-01T25:00', 'UTC'],
      ['2026-12-01T09:00', 'Mars/Olympus'],
    ] as const) {
      expect(() => parseUserTime(input, zone), input).toThrow(expect.objectContaining({ code: 'invalid_time' }));
    }
  });
});

describe('posting slots across DST', () => {
  it('a 02:30 slot on a spring-forward day moves forward by the gap; other days stay at 02:30', () => {
    const from = new Date('2027-03-20T00:00:00Z');
    const at = slotInstants([slot(7, '02:30', 'Europe/Paris')], from, 15).map((d) => showInZone(d, 'Europe/Paris'));
    expect(at).toEqual([
      '2027-03-21T02:30:00.000+01:00',
      '2027-03-28T03:30:00.000+02:00',
      '2027-04-04T02:30:00.000+02:00',
    ]);
  });

  it('a 09:00 slot stays at 09:00 local on both sides of a change', () => {
    const at = slotInstants([slot(5, '09:00', 'America/New_York')], new Date('2026-10-26T00:00:00Z'), 14).map((d) =>
      d.toISOString(),
    );
    // New York leaves DST on 2026-11-01: 13:00Z before, 14:00Z after.
    expect(at).toEqual(['2026-10-30T13:00:00.000Z', '2026-11-06T14:00:00.000Z']);
  });
});

describe('recurrence (RFC 5545 via rrule)', () => {
  it('a recurring 09:00 post stays at 09:00 local across a DST change', () => {
    const series = { rrule: 'FREQ=WEEKLY;BYDAY=MO', startLocal: '2027-03-15T09:00', timeZone: 'Europe/Paris' };
    const at = occurrences(series, new Date('2027-03-14T00:00:00Z'), new Date('2027-04-06T00:00:00Z'));
    expect(at.map((d) => showInZone(d, 'Europe/Paris'))).toEqual([
      '2027-03-15T09:00:00.000+01:00',
      '2027-03-22T09:00:00.000+01:00',
      '2027-03-29T09:00:00.000+02:00',
      '2027-04-05T09:00:00.000+02:00',
    ]);
    expect(at.map((d) => d.getUTCHours())).toEqual([8, 8, 7, 7]);
  });

  it('honours COUNT and UNTIL, and the window', () => {
    const series = { rrule: 'RRULE:FREQ=DAILY;COUNT=3', startLocal: '2026-12-30T18:00', timeZone: 'Asia/Tokyo' };
    expect(occurrences(series, new Date('2026-01-01'), new Date('2028-01-01')).map((d) => d.toISOString())).toEqual([
      '2026-12-30T09:00:00.000Z',
      '2026-12-31T09:00:00.000Z',
      '2027-01-01T09:00:00.000Z',
    ]);
    expect(occurrences(series, new Date('2026-12-31T00:00:00Z'), new Date('2026-12-31T23:00:00Z'))).toHaveLength(1);
  });

  it('refuses rules that are not RFC 5545', () => {
    for (const bad of [
      'FREQ=SOMETIMES',
      'garbage',
      'FREQ=WEEKLY;BYDAY=XX',
      '',
      'DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY',
    ]) {
      expect(() => parseRule(bad), bad).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    }
  });
});
