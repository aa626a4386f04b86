/**
 * Best time to post, per account, from the account's own history: each published post's
 * latest engagement (on a log scale, so one viral post does not decide) is binned by
 * hour-of-week in the caller's zone, spread over the neighbouring hours, and each hour's
 * mean is shrunk toward a platform prior (empirical Bayes: the shrinkage weight comes from
 * the spread between hours against the spread within them). Thin history stays close to the
 * prior and says so: "based on 4 posts; weak".
 */
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { HeraldError, requireRole } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import type { AnalyticsDeps } from './queries.js';

/** How far back the history is read. */
export const BEST_TIME_HISTORY_DAYS = 180;
/** Posts needed for each confidence level. */
export const CONFIDENCE_POSTS = { moderate: 20, strong: 60 } as const;
const HOURS = 168;

export type Confidence = 'weak' | 'moderate' | 'strong';

export interface BestHour {
  /** ISO weekday 1 (Monday) … 7, and hour 0–23, in the caller's zone. */
  weekday: number;
  hour: number;
  label: string;
  /** Expected engagement against the account's typical post, in percent (+40 = 40% more). */
  liftPct: number;
  /** Posts published within an hour of this one. */
  posts: number;
}

export interface BestTimes {
  socialAccountId: string;
  platform: string;
  timeZone: string;
  posts: number;
  confidence: Confidence;
  /** "based on 83 posts; strong" */
  basis: string;
  best: BestHour[];
}

/**
 * The general shape engagement follows by local hour when an account's history is thin:
 * weekday working hours above the night, weekends flatter (the pattern the industry's
 * yearly best-time studies agree on, e.g. Sprout Social's). In log units; a weak prior.
 */
export function platformPrior(weekday: number, hour: number): number {
  const weekend = weekday >= 6;
  const day = hour >= 8 && hour <= 17 ? 0.15 : hour >= 18 && hour <= 21 ? 0.05 : hour >= 6 ? 0 : -0.2;
  return weekend ? day * 0.5 - 0.05 : day;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
export const hourLabel = (weekday: number, hour: number) =>
  `${WEEKDAYS[weekday - 1]} ${String(hour).padStart(2, '0')}:00`;

export function confidenceOf(posts: number): Confidence {
  return posts >= CONFIDENCE_POSTS.strong ? 'strong' : posts >= CONFIDENCE_POSTS.moderate ? 'moderate' : 'weak';
}

/** The shrunk estimate per hour-of-week from (hour-of-week, log engagement) observations. */
export function estimateHours(obs: Array<{ how: number; y: number }>): { mean: number; est: number[]; n: number[] } {
  const mean = obs.reduce((s, o) => s + o.y, 0) / Math.max(1, obs.length);
  // Neighbouring hours share half an observation: an hour's audience does not end on the hour.
  const w = new Array<number>(HOURS).fill(0);
  const sum = new Array<number>(HOURS).fill(0);
  const sq = new Array<number>(HOURS).fill(0);
  for (const o of obs)
    for (const [d, k] of [
      [0, 1],
      [-1, 0.5],
      [1, 0.5],
    ] as const) {
      const h = (o.how + d + HOURS) % HOURS;
      w[h]! += k;
      sum[h]! += k * o.y;
      sq[h]! += k * o.y * o.y;
    }
  const prior = Array.from({ length: HOURS }, (_, h) => mean + platformPrior(Math.floor(h / 24) + 1, h % 24));
  // Within-hour variance (pooled) and between-hour variance of the raw means.
  let within = 0;
  let wTotal = 0;
  const means: number[] = [];
  for (let h = 0; h < HOURS; h++) {
    if (w[h]! <= 0) continue;
    const m = sum[h]! / w[h]!;
    means.push(m);
    within += sq[h]! - w[h]! * m * m;
    wTotal += w[h]!;
  }
  const sigma2 = wTotal > means.length ? Math.max(1e-6, within / (wTotal - means.length)) : 1;
  const grand = means.reduce((s, m) => s + m, 0) / Math.max(1, means.length);
  const spread = means.reduce((s, m) => s + (m - grand) ** 2, 0) / Math.max(1, means.length - 1);
  const avgW = wTotal / Math.max(1, means.length);
  const tau2 = Math.max(1e-4, spread - sigma2 / Math.max(1, avgW));
  const k = Math.min(50, Math.max(0.5, sigma2 / tau2));
  const est = prior.map((p, h) => (w[h]! > 0 ? (sum[h]! + k * p) / (w[h]! + k) : p));
  return { mean, est, n: w };
}

interface HourEstimates {
  platform: string;
  posts: number;
  mean: number;
  est: number[];
  n: number[];
}

/** The account's history binned and shrunk per hour-of-week in the caller's zone. */
async function hourEstimates(
  deps: AnalyticsDeps,
  ctx: ServiceContext,
  socialAccountId: string,
  now: Date,
): Promise<HourEstimates> {
  const zone = ctx.timeZone;
  const rows = (
    (await deps.db.execute(sql`
      select a.platform, t.published_at,
             (select coalesce(s.likes,0)+coalesce(s.reposts,0)+coalesce(s.replies,0)+coalesce(s.quotes,0)
                from metric_snapshots s
               where s.workspace_id = ${ctx.workspaceId} and s.target_id = t.id and s.status = 'ok'
               order by s.fetched_at desc limit 1) as engagements
      from social_accounts a
      left join post_targets t on t.workspace_id = a.workspace_id and t.social_account_id = a.id
        and t.status = 'published'
        and t.published_at >= ${new Date(now.getTime() - BEST_TIME_HISTORY_DAYS * 86_400_000).toISOString()}::timestamptz
      where a.workspace_id = ${ctx.workspaceId} and a.id = ${socialAccountId}`)) as {
      rows: Array<{ platform: string; published_at: string | null; engagements: unknown }>;
    }
  ).rows;
  if (rows.length === 0)
    throw new HeraldError('not_found', { message: `No account ${socialAccountId} in this workspace` });
  const obs = rows
    .filter((r) => r.published_at && r.engagements !== null && r.engagements !== undefined)
    .map((r) => {
      const local = DateTime.fromJSDate(new Date(r.published_at!), { zone });
      return { how: (local.weekday - 1) * 24 + local.hour, y: Math.log1p(Number(r.engagements)) };
    });
  const { mean, est, n } = estimateHours(obs);
  return { platform: rows[0]!.platform, posts: obs.length, mean, est, n };
}

/** Hour-of-week indices by estimate, best first, none within `gap` hours of one already taken. */
function peaksOf(est: number[], count: number, gap: number): number[] {
  const ranked = est.map((e, h) => ({ h, e })).sort((a, b) => b.e - a.e || a.h - b.h);
  const peaks: number[] = [];
  for (const r of ranked) {
    if (peaks.length === count) break;
    if (peaks.every((p) => Math.min((r.h - p + HOURS) % HOURS, (p - r.h + HOURS) % HOURS) > gap)) peaks.push(r.h);
  }
  return peaks;
}

/** The account's best hours to post (top 3), with how sure Herald is. */
export async function bestTimes(
  deps: AnalyticsDeps,
  ctx: ServiceContext,
  socialAccountId: string,
  now = new Date(),
): Promise<BestTimes> {
  requireRole(ctx, 'viewer');
  const { platform, posts, mean, est, n } = await hourEstimates(deps, ctx, socialAccountId, now);
  // Three distinct peaks: an hour next to one already chosen says nothing new.
  const best = peaksOf(est, 3, 2).map((h) => {
    const weekday = Math.floor(h / 24) + 1;
    const hour = h % 24;
    return {
      weekday,
      hour,
      label: hourLabel(weekday, hour),
      liftPct: Math.round((Math.exp(est[h]! - mean) - 1) * 100),
      posts: Math.round(n[h]!),
    };
  });
  const confidence = confidenceOf(posts);
  return {
    socialAccountId,
    platform,
    timeZone: ctx.timeZone,
    posts,
    confidence,
    basis: `based on ${posts} post${posts === 1 ? '' : 's'}; ${confidence}`,
    best,
  };
}

/** The most weekly slots `suggestSlots` proposes: four a day. */
export const MAX_SUGGESTED_SLOTS = 28;

export interface SuggestedSlot {
  /** ISO weekday 1 (Monday) … 7, as `setSlots` takes it. */
  weekday: number;
  /** `HH:MM` in `timeZone`. */
  time: string;
  label: string;
  /** Expected engagement against the account's typical post, in percent. */
  liftPct: number;
}

export interface SlotSuggestion {
  socialAccountId: string;
  platform: string;
  timeZone: string;
  posts: number;
  confidence: Confidence;
  basis: string;
  /** Why these hours, in a sentence the user can read. */
  reason: string;
  slots: SuggestedSlot[];
}

/**
 * A weekly posting schedule for an account from its best hours: `perWeek` slots, at most
 * ⌈perWeek / 7⌉ on one day and none within three hours of another, so the queue spreads over
 * the week instead of piling onto one strong afternoon. Applying it is `setSlots`' job.
 */
export async function suggestSlots(
  deps: AnalyticsDeps,
  ctx: ServiceContext,
  socialAccountId: string,
  opts: { perWeek: number; now?: Date },
): Promise<SlotSuggestion> {
  requireRole(ctx, 'viewer');
  if (!Number.isInteger(opts.perWeek) || opts.perWeek < 1 || opts.perWeek > MAX_SUGGESTED_SLOTS)
    throw new HeraldError('validation_failed', {
      message: `perWeek must be a whole number from 1 to ${MAX_SUGGESTED_SLOTS}; got ${opts.perWeek}`,
    });
  const { platform, posts, mean, est } = await hourEstimates(deps, ctx, socialAccountId, opts.now ?? new Date());
  const perDay = Math.ceil(opts.perWeek / 7);
  const ranked = est.map((e, h) => ({ h, e })).sort((a, b) => b.e - a.e || a.h - b.h);
  const taken: number[] = [];
  const onDay = new Array<number>(7).fill(0);
  for (const { h } of ranked) {
    if (taken.length === opts.perWeek) break;
    const day = Math.floor(h / 24);
    if (onDay[day]! >= perDay) continue;
    if (taken.some((p) => Math.min((h - p + HOURS) % HOURS, (p - h + HOURS) % HOURS) < 3)) continue;
    taken.push(h);
    onDay[day]! += 1;
  }
  const slots = taken
    .sort((a, b) => a - b)
    .map((h) => {
      const weekday = Math.floor(h / 24) + 1;
      const hour = h % 24;
      return {
        weekday,
        time: `${String(hour).padStart(2, '0')}:00`,
        label: hourLabel(weekday, hour),
        liftPct: Math.round((Math.exp(est[h]! - mean) - 1) * 100),
      };
    });
  const confidence = confidenceOf(posts);
  const basis = `based on ${posts} post${posts === 1 ? '' : 's'}; ${confidence}`;
  const reason =
    confidence === 'weak'
      ? `Too few measured posts to trust this account's own hours (${basis}), so these follow the general pattern (weekday working hours) nudged by what there is.`
      : `The hours this account's posts have drawn the most engagement at (${basis}), spread over the week.`;
  return { socialAccountId, platform, timeZone: ctx.timeZone, posts, confidence, basis, reason, slots };
}
