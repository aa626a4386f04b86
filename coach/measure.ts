/**
 * A goal's metric as analytics measures it (tools/analytics — the coach computes no figure of
 * its own): followers of one account by day (its daily audience snapshots), or a weekly
 * figure of the workspace (or one account) over the last 12 weeks — posts published,
 * engagements, engagement rate in percent. The last point is the current value.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { HeraldError } from '../core/index.js';
import { accountAnalytics, dailySeries, overview } from '../tools/analytics/index.js';
import type { CoachContext, CoachDeps } from './context.js';

export const METRICS = ['followers', 'posts_per_week', 'engagements_per_week', 'engagement_rate'] as const;
export const Metric = z.enum(METRICS);
export type MetricName = (typeof METRICS)[number];

/** What a metric is called in words, and its unit of time on the series. */
export const METRIC_INFO: Record<MetricName, { label: string; unit: 'day' | 'week'; needsAccount: boolean }> = {
  followers: { label: 'followers', unit: 'day', needsAccount: true },
  posts_per_week: { label: 'posts per week', unit: 'week', needsAccount: false },
  engagements_per_week: { label: 'engagements per week', unit: 'week', needsAccount: false },
  engagement_rate: { label: 'engagement rate (%)', unit: 'week', needsAccount: false },
};

/** Days of follower history and weeks of weekly history read. */
export const FOLLOWER_DAYS = 90;
export const WEEKS = 12;

export interface SeriesPoint {
  /** Local date the point ends on (YYYY-MM-DD). */
  date: string;
  /** Days (followers) or weeks (weekly figures) from today; 0 is the latest. */
  x: number;
  value: number;
}

export interface Measured {
  metric: MetricName;
  unit: 'day' | 'week';
  /** Null when analytics has no figure yet (no follower snapshot, no impressions). */
  current: number | null;
  points: SeriesPoint[];
  /** Where the figure comes from, in words. */
  source: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The range a followers goal's history is read over. */
export function followerRange(zone: string, now: Date): { from: Date; to: Date } {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  return { from: today.minus({ days: FOLLOWER_DAYS }).toJSDate(), to: now };
}

/** The metric's series and current value, read from analytics in the caller's zone. */
export async function measure(
  deps: CoachDeps,
  ctx: CoachContext,
  goal: { metric: MetricName; socialAccountId: string | null },
  now: Date,
  /** A followers goal's account and audience when a batch has read them already (`followerRange`). */
  known?: { platform: string; handle: string; audience: Array<{ day: string; followers: number | null }> },
): Promise<Measured> {
  const zone = ctx.timeZone;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  if (goal.metric === 'followers') {
    if (!goal.socialAccountId)
      throw new HeraldError('validation_failed', { message: 'A followers goal names the account it is for' });
    const a = known ?? (await accountAnalytics({ db: deps.db }, ctx, goal.socialAccountId, followerRange(zone, now)));
    // Days from today, counted on the calendar (UTC dates): no zone lookup per point.
    const todayUtc = Date.parse(`${today.toFormat('yyyy-LL-dd')}T00:00:00Z`);
    const points = a.audience
      .filter((p): p is typeof p & { followers: number } => p.followers !== null)
      .map((p) => ({
        date: p.day,
        x: Math.round((Date.parse(`${p.day}T00:00:00Z`) - todayUtc) / 86_400_000),
        value: p.followers,
      }));
    return {
      metric: goal.metric,
      unit: 'day',
      current: points.at(-1)?.value ?? null,
      points,
      source: `daily follower counts of ${a.platform} @${a.handle} (analytics)`,
    };
  }
  const from = today.minus({ days: WEEKS * 7 - 1 });
  const range = { from: from.toJSDate(), to: now };
  const weekRange = (k: number) => ({
    from: from.plus({ days: 7 * k }).toJSDate(),
    to: k === WEEKS - 1 ? now : from.plus({ days: 7 * (k + 1) }).toJSDate(),
  });
  const dateOf = (k: number) => from.plus({ days: 7 * k + 6 }).toFormat('yyyy-LL-dd');
  let values: Array<number | null>;
  if (goal.metric === 'engagement_rate') {
    const weeks = await Promise.all(
      Array.from({ length: WEEKS }, (_, k) => overview({ db: deps.db }, ctx, weekRange(k))),
    );
    values = weeks.map((o) => (o.current.engagementRate === null ? null : round2(o.current.engagementRate * 100)));
  } else {
    const series = await dailySeries({ db: deps.db }, ctx, range);
    const key = goal.metric === 'posts_per_week' ? 'posts' : 'engagements';
    values = Array.from({ length: WEEKS }, (_, k) =>
      series.days.slice(7 * k, 7 * k + 7).reduce((s, d) => s + Number(d[key] ?? 0), 0),
    );
  }
  let points = values
    .map((v, k) => (v === null ? null : { date: dateOf(k), x: k - (WEEKS - 1), value: v }))
    .filter((p): p is SeriesPoint => p !== null);
  // Weeks before anything was ever posted say nothing about the trend.
  const first = points.findIndex((p) => p.value !== 0);
  if (first > 0) points = points.slice(first);
  const current = values[WEEKS - 1] ?? null;
  return {
    metric: goal.metric,
    unit: 'week',
    current: current === null ? null : current,
    points,
    source: `${METRIC_INFO[goal.metric].label} over the last 7 days, and each of the ${WEEKS} weeks before (analytics)`,
  };
}
