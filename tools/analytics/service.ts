/**
 * Analytics from what Herald stores today: posts per platform and account by status
 * (published, failed, scheduled...) over a period, and a time to post taken from the
 * account's posting slots, else from when its posts usually went out, else a plain default —
 * always saying which. The period's engagement figures (from the collected snapshots) come
 * with the counts, beside the period before. Every channel (agent tool, fast path, REST)
 * reads them here.
 */
import { DateTime } from 'luxon';
import { HeraldError, listSocialAccounts, requireRole } from '../../core/index.js';
import type { SchedulingDeps, ServiceContext } from '../scheduling/context.js';
import { listScheduled } from '../scheduling/service.js';
import { nextFreeSlot } from '../scheduling/slots.js';
import { showTime } from '../scheduling/time.js';
import { bestTimes, type BestTimes } from './best-time.js';
import { overview, type Overview } from './queries.js';

/** Said where a suggestion is not yet based on engagement. */
export const NO_METRICS = 'Not enough engagement measured yet to compare hours.';

export interface PublishingStats {
  from: string;
  to: string;
  total: number;
  byStatus: Record<string, number>;
  byAccount: Array<{ socialAccountId: string; platform: string; byStatus: Record<string, number> }>;
  /** Engagement over the same period beside the period before (docs/analytics.md). */
  metrics: Overview;
  note: string;
}

/** Posts per status, platform and account whose time falls in [from, to). */
export async function publishingStats(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  range: { from: Date; to: Date },
): Promise<PublishingStats> {
  requireRole(ctx, 'viewer');
  const [rows, metrics] = await Promise.all([listScheduled(deps, ctx, range), overview(deps, ctx, range)]);
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
  const zone = ctx.timeZone;
  return {
    from: showTime(range.from, zone),
    to: showTime(range.to, zone),
    total: rows.length,
    byStatus,
    byAccount: [...accounts.values()],
    metrics,
    note: metricsText(metrics),
  };
}

const pct = (n: number | null) => (n === null ? '' : ` (${n > 0 ? '+' : ''}${n}%)`);

/** "Engagements 42 (likes 30, reposts 8, replies 4) vs 20 the period before (+110%); ..." */
export function metricsText(m: Overview): string {
  const c = m.current;
  const p = m.previous;
  if (c.measured === 0 && p.measured === 0)
    return 'No engagement measured yet for posts of this period or the one before.';
  const parts = [
    `Engagements ${c.engagements} (likes ${c.likes}, reposts ${c.reposts}, replies ${c.replies}${c.quotes ? `, quotes ${c.quotes}` : ''}) on ${c.measured} measured post${c.measured === 1 ? '' : 's'}, vs ${p.engagements} the period before${pct(m.changePct.engagements)}`,
  ];
  if (c.impressions !== null)
    parts.push(
      `impressions ${c.impressions} (${c.includes.impressions.join(', ')})${c.engagementRate === null ? '' : `, engagement rate ${(c.engagementRate * 100).toFixed(1)}%`}`,
    );
  if (c.followerGrowth !== null)
    parts.push(
      `followers ${c.followerGrowth >= 0 ? '+' : ''}${c.followerGrowth} (${c.includes.followerGrowth.join(', ')})`,
    );
  const missing = m.notReported.filter((n) => n.metric === 'impressions').map((n) => n.platform);
  if (missing.length) parts.push(`no impressions from ${missing.join(', ')}`);
  return `${parts.join('; ')}.`;
}

/** "Last week (Europe/Paris): 3 published, 1 failed — mastodon 3 published; ..." */
export function statsText(label: string, zone: string, s: PublishingStats): string {
  const counts = (by: Record<string, number>) =>
    Object.entries(by)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([status, n]) => `${n} ${status.replace('_', ' ')}`)
      .join(', ');
  if (s.total === 0 && s.metrics.current.measured === 0)
    return `Nothing was scheduled or posted ${label} (${zone}). ${s.note}`;
  const perPlatform = s.byAccount.map((a) => `${a.platform}: ${counts(a.byStatus)}`).join('; ');
  return `${label[0]!.toUpperCase()}${label.slice(1)} (${zone}): ${counts(s.byStatus)} — ${perPlatform}. ${s.note}`;
}

/** How far back `suggestTimes` looks at published posts. */
export const HISTORY_DAYS = 90;

export interface Suggestion {
  socialAccountId: string;
  platform: string;
  at: string;
  atLocal: string;
  basis: 'best_hours' | 'posting_slots' | 'past_posts' | 'default';
  reason: string;
  /** The account's best hours from its engagement history, with how sure Herald is. */
  bestHours: Pick<BestTimes, 'posts' | 'confidence' | 'basis' | 'best'>;
}

/** The next occurrence after `after` of the best hour (in `zone`). */
function nextOf(best: BestTimes['best'], zone: string, after: Date) {
  const b = best[0];
  if (!b) return null;
  const start = DateTime.fromJSDate(after, { zone });
  let at = start.set({ weekday: b.weekday as 1, hour: b.hour, minute: 0, second: 0, millisecond: 0 });
  while (at <= start) at = at.plus({ weeks: 1 });
  return { at, hour: b };
}

/**
 * The soonest of the account's best hours when its engagement history is at least moderately
 * sure; else its next free slot; else the hour its posts usually went out; else 09:00 on the
 * next weekday. Each reason says which, and how sure the best hours are.
 */
async function suggestFor(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  account: { id: string; platform: string; handle: string },
  after: Date,
): Promise<Suggestion> {
  const zone = ctx.timeZone;
  const shown = (d: Date) => `${showTime(d, zone)} (${zone})`;
  const engaged = await bestTimes(deps, ctx, account.id, after);
  const bestHours = { posts: engaged.posts, confidence: engaged.confidence, basis: engaged.basis, best: engaged.best };
  const base = { socialAccountId: account.id, platform: account.platform, bestHours };
  if (engaged.confidence !== 'weak') {
    const next = nextOf(engaged.best, zone, after);
    if (next) {
      const lift = next.hour.liftPct;
      return {
        ...base,
        at: next.at.toUTC().toISO()!,
        atLocal: shown(next.at.toJSDate()),
        basis: 'best_hours',
        reason: `${next.hour.label} is @${account.handle}'s best hour: posts around then got ${lift >= 0 ? '+' : ''}${lift}% engagement against its typical post (${engaged.basis}); best hours ${engaged.best.map((b) => b.label).join(', ')}`,
      };
    }
  }
  const thin = `engagement history too thin to pick hours (${engaged.basis})`;
  try {
    const slot = await nextFreeSlot(deps, ctx, account.id, after);
    return {
      ...base,
      at: slot.toISOString(),
      atLocal: shown(slot),
      basis: 'posting_slots',
      reason: `the account's next free weekly posting slot; ${thin}`,
    };
  } catch {
    // No slots (or all taken): fall back to history.
  }
  const history = await listScheduled(deps, ctx, {
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
      reason: `${n} of its ${mine.length} posts in the last ${HISTORY_DAYS} days went out at ${hhmm}; ${thin}`,
    };
  }
  let at = start.set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
  while (at <= start || at.weekday > 5) at = at.plus({ days: 1 }).set({ hour: 9, minute: 0 });
  return {
    ...base,
    at: at.toUTC().toISO()!,
    atLocal: shown(at.toJSDate()),
    basis: 'default',
    reason: `no posting slots and no published posts to learn from: a weekday morning, a common default; ${thin}`,
  };
}

/** A suggested time per account (default: every connected account), after `after`. */
export async function suggestTimes(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  opts: {
    socialAccountIds?: string[] | undefined;
    after: Date;
    /** The workspace's connected accounts when the caller has just read them (a batch): not read again. */
    accounts?: ReadonlyArray<{ id: string; platform: string; handle: string }> | undefined;
  },
): Promise<{ suggestions: Suggestion[] }> {
  requireRole(ctx, 'viewer');
  const all = opts.accounts ?? (await listSocialAccounts(deps.db, ctx.workspaceId, { includeDisconnected: false }));
  const accounts = opts.socialAccountIds
    ? opts.socialAccountIds.map((id) => {
        const a = all.find((x) => x.id === id);
        if (!a) throw new HeraldError('not_found', { message: `No connected account ${id} in this workspace` });
        return a;
      })
    : all;
  return { suggestions: await Promise.all(accounts.map((a) => suggestFor(deps, ctx, a, opts.after))) };
}
