/**
 * Named periods results are asked for, read in the caller's zone and looking back:
 * `last_7_days` ends now, `last_week` is the last full Monday–Sunday week, `last_30_days`
 * ends now, `this_month` starts on the 1st. REST and the agent read periods the same way.
 */
import { DateTime } from 'luxon';
import { HeraldError } from '../../core/index.js';
import { checkRange, type Range } from './queries.js';

export const PERIODS = ['last_7_days', 'last_week', 'last_30_days', 'this_week', 'this_month'] as const;
export type PeriodName = (typeof PERIODS)[number];
export const DEFAULT_PERIOD: PeriodName = 'last_7_days';

export function periodRange(name: PeriodName, zone: string, now: Date): Range {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  switch (name) {
    case 'last_7_days':
      return { from: today.minus({ days: 7 }).toJSDate(), to: now };
    case 'last_30_days':
      return { from: today.minus({ days: 30 }).toJSDate(), to: now };
    case 'last_week': {
      const start = today.startOf('week').minus({ weeks: 1 });
      return { from: start.toJSDate(), to: start.plus({ weeks: 1 }).toJSDate() };
    }
    case 'this_week':
      return { from: today.startOf('week').toJSDate(), to: now };
    case 'this_month':
      return { from: today.startOf('month').toJSDate(), to: now };
  }
}

/** `from`/`to` when given (both), else the named period (default last 7 days). */
export function resolveRange(
  q: { period?: PeriodName | undefined; from?: Date | undefined; to?: Date | undefined },
  zone: string,
  now: Date,
): Range {
  if ((q.from === undefined) !== (q.to === undefined))
    throw new HeraldError('validation_failed', { message: 'Give both `from` and `to`, or a `period`' });
  const range = q.from && q.to ? { from: q.from, to: q.to } : periodRange(q.period ?? DEFAULT_PERIOD, zone, now);
  checkRange(range);
  return range;
}
