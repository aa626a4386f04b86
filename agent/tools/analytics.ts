/**
 * Results and timing, as `tools/analytics` computes them: posts per status, platform and
 * account over a period (`get_analytics`), and a time to post per account (`suggest_time`).
 * The agent's part is reading the period and the accounts the user named.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { NO_METRICS, publishingStats, suggestTimes } from '../../tools/analytics/index.js';
import { calendarWeekOf, periodLabel, rangeOf, readTime, type NamedRange, type RangeName } from '../time.js';
import { resolveAccounts } from './accounts.js';
import { Accounts, At, ctxOf } from './common.js';
import { defineTool } from './types.js';

export { NO_METRICS };

/**
 * The named period results are asked for, as [from, to) in the user's zone with its days
 * ("Mon 30 Nov – Sun 6 Dec"). Results look back: "this week" is the calendar week, Sundays too.
 */
export function periodOf(name: 'last week' | 'last 7 days' | RangeName, zone: string, now: Date): NamedRange {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const range = (from: Date, to: Date) => ({ from, to, label: periodLabel(from, to, zone) });
  if (name === 'last week') {
    const start = today.startOf('week').minus({ weeks: 1 });
    return range(start.toJSDate(), start.plus({ weeks: 1 }).toJSDate());
  }
  if (name === 'last 7 days') return range(today.minus({ days: 7 }).toJSDate(), now);
  if (name === 'this week') return calendarWeekOf(zone, now);
  return rangeOf(name, zone, now);
}

export const analyticsTools = [
  defineTool({
    name: 'get_analytics',
    description: `Posts per status (published, failed, scheduled...), platform and account over a period (default: the last 7 days). ${NO_METRICS}`,
    schema: z.object({
      period: z.enum(['last 7 days', 'last week', 'this week', 'today']).optional(),
      from: At.optional(),
      to: At.optional(),
    }),
    sideEffect: false,
    run: async (env, args) => {
      const zone = env.session.timeZone;
      const now = env.now();
      const range = periodOf(args.period ?? 'last 7 days', zone, now);
      const from = args.from ? readTime(args.from, zone, now) : range.from;
      const to = args.to ? readTime(args.to, zone, now) : range.to;
      return publishingStats(env.deps, ctxOf(env), { from, to });
    },
  }),
  defineTool({
    name: 'suggest_time',
    description:
      "Suggests when to post on each account: its next free posting slot, else the time its posts usually went out, else a weekday morning; says which it used. Times in the user's zone.",
    schema: z.object({
      accounts: Accounts.optional().describe('Default: every connected account'),
      after: At.optional().describe('Suggest times after this (default: now)'),
    }),
    sideEffect: false,
    run: async (env, args) =>
      suggestTimes(env.deps, ctxOf(env), {
        socialAccountIds: args.accounts ? (await resolveAccounts(env, args.accounts)).map((a) => a.id) : undefined,
        after: args.after ? readTime(args.after, env.session.timeZone, env.now()) : env.now(),
      }),
  }),
];
