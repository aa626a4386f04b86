/**
 * What the agent can say about results and timing, from what Herald stores today: posts per
 * platform and account by status (published, failed, scheduled...) over a period
 * (`get_analytics`), and a time to post (`suggest_time`) taken from the account's posting
 * slots, else from when its posts usually went out, else a plain default — always saying
 * which. Engagement metrics (likes, reach) are not collected yet; both tools say so rather
 * than invent them.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { listScheduled, nextFreeSlot } from '../../tools/scheduling/index.js';
import { rangeOf, readTime, showTime, type RangeName } from '../time.js';
import { resolveAccounts, workspaceAccounts, type AccountRef } from './accounts.js';
import { Accounts, At, ctxOf } from './common.js';
import { defineTool, type ToolEnv } from './types.js';

export const NO_METRICS = 'Engagement metrics (likes, replies, reach) are not collected yet.';

export interface PublishingStats {
  from: string;
  to: string;
  total: number;
  byStatus: Record<string, number>;
  byAccount: Array<{ socialAccountId: string; platform: string; byStatus: Record<string, number> }>;
  metrics: null;
  note: string;
}

/** Posts per status, platform and account whose time falls in [from, to). */
export async function publishingStats(env: ToolEnv, from: Date, to: Date): Promise<PublishingStats> {
  const rows = await listScheduled(env.deps, ctxOf(env), { from, to });
  const byStatus: Record<string, number> = {};
  const accounts = new Map<string, PublishingStats['byAccount'][number]>();
  for (const t of rows) {
    byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
    const a = accounts.get(t.socialAccountId) ?? {
      socialAccountId: t.socialAccountId,
      platform: t.platform,
      byStatus: {},
    };
    a.byStatus[t.status] = (a.byStatus[t.status] ?? 0) + 1;
    accounts.set(t.socialAccountId, a);
  }
  const zone = env.session.timeZone;
  return {
    from: showTime(from, zone),
    to: showTime(to, zone),
    total: rows.length,
    byStatus,
    byAccount: [...accounts.values()],
    metrics: null,
    note: NO_METRICS,
  };
}

/** "Last week (Europe/Paris): 3 published, 1 failed — mastodon 3 published; ..." */
export function statsText(label: string, zone: string, s: PublishingStats): string {
  const counts = (by: Record<string, number>) =>
    Object.entries(by)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([status, n]) => `${n} ${status.replace('_', ' ')}`)
      .join(', ');
  if (s.total === 0) return `Nothing was scheduled or posted ${label} (${zone}). ${s.note}`;
  const perPlatform = s.byAccount.map((a) => `${a.platform}: ${counts(a.byStatus)}`).join('; ');
  return `${label[0]!.toUpperCase()}${label.slice(1)} (${zone}): ${counts(s.byStatus)} — ${perPlatform}. ${s.note}`;
}

/** The named past or coming period, as [from, to) in the user's zone. */
export function periodOf(name: 'last week' | 'last 7 days' | RangeName, zone: string, now: Date) {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  if (name === 'last week') {
    const start = today.startOf('week').minus({ weeks: 1 });
    return { from: start.toJSDate(), to: start.plus({ weeks: 1 }).toJSDate() };
  }
  if (name === 'last 7 days') return { from: today.minus({ days: 7 }).toJSDate(), to: now };
  return rangeOf(name, zone, now);
}

const HISTORY_DAYS = 90;

type Suggestion = {
  socialAccountId: string;
  platform: string;
  at: string;
  atLocal: string;
  basis: 'posting_slots' | 'past_posts' | 'default';
  reason: string;
};

/** The account's next free slot; else the hour its posts usually went out; else 09:00 on the next weekday. */
async function suggestFor(env: ToolEnv, account: AccountRef, after: Date): Promise<Suggestion> {
  const zone = env.session.timeZone;
  const shown = (d: Date) => `${showTime(d, zone)} (${zone})`;
  const base = { socialAccountId: account.id, platform: account.platform };
  try {
    const slot = await nextFreeSlot(env.deps, ctxOf(env), account.id, after);
    return {
      ...base,
      at: slot.toISOString(),
      atLocal: shown(slot),
      basis: 'posting_slots',
      reason: "the account's next free weekly posting slot",
    };
  } catch {
    // No slots (or all taken): fall back to history.
  }
  const history = await listScheduled(env.deps, ctxOf(env), {
    from: DateTime.fromJSDate(after).minus({ days: HISTORY_DAYS }).toJSDate(),
    to: after,
    statuses: ['published'],
  });
  const mine = history.filter((t) => t.socialAccountId === account.id && t.scheduledAt);
  const start = DateTime.fromJSDate(after, { zone });
  if (mine.length > 0) {
    const hours = new Map<string, number>();
    for (const t of mine) {
      const local = DateTime.fromJSDate(t.scheduledAt!, { zone }).toFormat('HH:mm');
      hours.set(local, (hours.get(local) ?? 0) + 1);
    }
    const [hhmm, n] = [...hours.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]!;
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    let at = start.set({ hour: h, minute: m, second: 0, millisecond: 0 });
    if (at <= start) at = at.plus({ days: 1 });
    return {
      ...base,
      at: at.toUTC().toISO()!,
      atLocal: shown(at.toJSDate()),
      basis: 'past_posts',
      reason: `${n} of its ${mine.length} posts in the last ${HISTORY_DAYS} days went out at ${hhmm}; ${NO_METRICS.toLowerCase()}`,
    };
  }
  let at = start.set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
  while (at <= start || at.weekday > 5) at = at.plus({ days: 1 }).set({ hour: 9, minute: 0 });
  return {
    ...base,
    at: at.toUTC().toISO()!,
    atLocal: shown(at.toJSDate()),
    basis: 'default',
    reason: 'no posting slots and no published posts to learn from: a weekday morning, a common default',
  };
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
      return publishingStats(env, from, to);
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
    run: async (env, args) => {
      const accounts = args.accounts ? await resolveAccounts(env, args.accounts) : await workspaceAccounts(env);
      const after = args.after ? readTime(args.after, env.session.timeZone, env.now()) : env.now();
      return { suggestions: await Promise.all(accounts.map((a) => suggestFor(env, a, after))) };
    },
  }),
];
