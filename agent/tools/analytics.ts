/**
 * Results and timing, as `tools/analytics` computes them: posts per status, platform and
 * account over a period (`get_analytics`), and a time to post per account (`suggest_time`).
 * The agent's part is reading the period and the accounts the user named.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  accountAnalytics,
  bestTimes,
  suggestSlots,
  MAX_SUGGESTED_SLOTS,
  dailySeries,
  NO_METRICS,
  postAnalytics,
  publishingStats,
  rankedPosts,
  suggestTimes,
  weeklyReport,
  whatWorks,
  getReportSettings,
  updateReportSettings,
} from '../../tools/analytics/index.js';
import { calendarWeekOf, periodLabel, rangeOf, readTime, type NamedRange, type RangeName } from '../time.js';
import { resolveAccounts } from './accounts.js';
import { Accounts, At, ctxOf, Id } from './common.js';
import type { ToolEnv } from './types.js';
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

const Period = z.enum(['last 7 days', 'last week', 'this week', 'today']);
const PeriodArgs = {
  period: Period.optional().describe('Default: the last 7 days'),
  from: At.optional(),
  to: At.optional(),
};

/** The period the user named, or from/to read in their zone. */
function rangeArgs(
  env: ToolEnv,
  args: { period?: z.infer<typeof Period> | undefined; from?: string | undefined; to?: string | undefined },
) {
  const zone = env.session.timeZone;
  const now = env.now();
  const range = periodOf(args.period ?? 'last 7 days', zone, now);
  return {
    from: args.from ? readTime(args.from, zone, now) : range.from,
    to: args.to ? readTime(args.to, zone, now) : range.to,
  };
}

export const analyticsTools = [
  defineTool({
    name: 'get_analytics',
    description:
      'How a period went (default: the last 7 days): posts per status, platform and account, and `metrics`: engagements, impressions, engagement rate and follower growth beside the period before (`previous`, `changePct`), with the platforms each figure includes and what a platform does not report (`notReported`).',
    schema: z.object(PeriodArgs),
    sideEffect: false,
    run: async (env, args) => publishingStats(env.deps, ctxOf(env), rangeArgs(env, args)),
  }),
  defineTool({
    name: 'get_top_posts',
    description: "The period's top (or bottom) measured posts by engagements, with their counters.",
    schema: z.object({
      ...PeriodArgs,
      order: z.enum(['top', 'bottom']).optional().describe('Default top'),
      limit: z.number().int().min(1).max(50).optional().describe('Default 5'),
    }),
    sideEffect: false,
    run: async (env, args) =>
      rankedPosts(env.deps, ctxOf(env), rangeArgs(env, args), { order: args.order ?? 'top', limit: args.limit ?? 5 }),
  }),
  defineTool({
    name: 'get_post_analytics',
    description:
      "One published post target's latest counters and every snapshot taken of it (1h, 6h, 24h, 72h, 7d, 30d).",
    schema: z.object({ targetId: Id }),
    sideEffect: false,
    run: async (env, args) => postAnalytics(env.deps, ctxOf(env), args.targetId),
  }),
  defineTool({
    name: 'get_account_analytics',
    description: "One account's engagement over a period beside the period before, and its followers by day.",
    schema: z.object({ account: z.string().min(1).max(200).describe('Account id or platform name'), ...PeriodArgs }),
    sideEffect: false,
    run: async (env, args) =>
      accountAnalytics(env.deps, ctxOf(env), (await resolveAccounts(env, [args.account]))[0]!.id, rangeArgs(env, args)),
  }),
  defineTool({
    name: 'get_best_times',
    description:
      'An account\'s three best hours to post from its own engagement history, with the lift against its typical post and how sure ("based on 83 posts; strong"). Times in the user\'s zone.',
    schema: z.object({ account: z.string().min(1).max(200).describe('Account id or platform name') }),
    sideEffect: false,
    run: async (env, args) =>
      bestTimes(env.deps, ctxOf(env), (await resolveAccounts(env, [args.account]))[0]!.id, env.now()),
  }),
  defineTool({
    name: 'suggest_slots',
    description:
      'Proposes a weekly posting schedule (slots) for an account from its best hours, spread over the week, with how sure. It changes nothing: to apply it, call set_slots with the slots the user agrees to.',
    schema: z.object({
      account: z.string().min(1).max(200).describe('Account id or platform name'),
      perWeek: z.number().int().min(1).max(MAX_SUGGESTED_SLOTS).optional().describe('Slots a week (default 7)'),
    }),
    sideEffect: false,
    run: async (env, args) =>
      suggestSlots(env.deps, ctxOf(env), (await resolveAccounts(env, [args.account]))[0]!.id, {
        perWeek: args.perWeek ?? 7,
        now: env.now(),
      }),
  }),
  defineTool({
    name: 'get_what_works',
    description:
      "What sets the user's top posts apart from the rest (length, media, links, hashtags, questions, emoji, thread, time of day, weekend), each with its size and how sure (strong, likely, unclear). Read it before drafting or coaching.",
    schema: z.object({ account: z.string().min(1).max(200).optional().describe('Default: every account') }),
    sideEffect: false,
    run: async (env, args) =>
      whatWorks(env.deps, ctxOf(env), {
        socialAccountId: args.account ? (await resolveAccounts(env, [args.account]))[0]!.id : undefined,
        now: env.now(),
      }),
  }),
  defineTool({
    name: 'get_weekly_report',
    description:
      "Last week's report as Markdown (figures beside the week before, top posts, what works, what a platform does not report); its charts are served over REST at /v1/analytics/report/charts/{daily,platforms}.svg.",
    schema: z.object({}),
    sideEffect: false,
    run: async (env) => ({ markdown: (await weeklyReport(env.deps, ctxOf(env), env.now())).markdown }),
  }),
  defineTool({
    name: 'set_weekly_report',
    description:
      "Turns the user's weekly report in this workspace on or off (sent Monday 09:00 in their zone over the WebSocket and their linked Slack or Telegram). Without `enabled`, says whether it is on.",
    schema: z.object({ enabled: z.boolean().optional().describe('true: send it; false: stop sending it') }),
    sideEffect: false,
    run: async (env, args) =>
      args.enabled === undefined
        ? getReportSettings(env.deps, ctxOf(env))
        : updateReportSettings(env.deps, ctxOf(env), { weeklyReport: args.enabled }),
  }),
  defineTool({
    name: 'get_daily_analytics',
    description: "Posts, engagements and impressions per day of publication over a period, in the user's zone.",
    schema: z.object(PeriodArgs),
    sideEffect: false,
    run: async (env, args) => dailySeries(env.deps, ctxOf(env), rangeArgs(env, args)),
  }),
  defineTool({
    name: 'suggest_time',
    description:
      'Suggests when to post on each account: its best hour from its own engagement history when that is at least moderately sure, else its next free posting slot, else the time its posts usually went out, else a weekday morning; says which it used and how sure ("based on 83 posts; strong"). Times in the user\'s zone.',
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
