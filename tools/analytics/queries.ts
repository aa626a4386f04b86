/**
 * The figures every channel reads: an overview of a period beside the period before it, one
 * post's snapshots, one account's figures, top and bottom posts, and a daily series for
 * charts. A post counts in the period it was published in (in the caller's zone), with its
 * latest stored counters. Engagements are likes + reposts + replies + quotes; the engagement
 * rate is engagements per impression, over the platforms that report impressions. Every
 * function checks the caller's workspace and role itself.
 */
import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { HeraldError, requireRole, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { showTime } from '../scheduling/time.js';
import { notReported, reportOf } from './platforms.js';

export interface AnalyticsDeps {
  db: Db;
}

export interface Range {
  from: Date;
  to: Date;
}

/** Longest period a query may cover (a guard against runaway scans). */
export const MAX_RANGE_DAYS = 400;

export interface PlatformFigures {
  platform: string;
  posts: number;
  /** Posts with at least one stored snapshot. */
  measured: number;
  likes: number;
  reposts: number;
  replies: number;
  quotes: number;
  engagements: number;
  /** Null where the platform does not report impressions. */
  impressions: number | null;
}

export interface Figures {
  from: string;
  to: string;
  posts: number;
  measured: number;
  engagements: number;
  likes: number;
  reposts: number;
  replies: number;
  quotes: number;
  impressions: number | null;
  /** Engagements per impression on the platforms reporting impressions; null without any. */
  engagementRate: number | null;
  engagementsPerPost: number | null;
  followerGrowth: number | null;
  byPlatform: PlatformFigures[];
  /** Platforms each figure includes. */
  includes: { engagements: string[]; impressions: string[]; followerGrowth: string[] };
}

export const rowsOf = <T>(r: unknown) => (r as { rows: T[] }).rows;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

/** The per-platform aggregate over `latestPerTarget` that figures are made of (one query per range). */
export const FIGURE_COLUMNS = sql`platform, count(*)::int as posts, count(measured_at)::int as measured,
             sum(likes)::bigint as likes, sum(reposts)::bigint as reposts, sum(replies)::bigint as replies,
             sum(coalesce(quotes, 0))::bigint as quotes, sum(impressions)::bigint as impressions,
             count(impressions)::int as with_impressions,
             sum(case when impressions is not null then coalesce(likes,0)+coalesce(reposts,0)+coalesce(replies,0)+coalesce(quotes,0) end)::bigint as engaged_with_impressions`;

export function checkRange(range: Range): void {
  if (!(range.from < range.to)) throw new HeraldError('validation_failed', { message: '`from` must be before `to`' });
  if (range.to.getTime() - range.from.getTime() > MAX_RANGE_DAYS * 86_400_000)
    throw new HeraldError('validation_failed', { message: `A period may cover at most ${MAX_RANGE_DAYS} days` });
}

/** Published targets in the range, each with its latest `ok` snapshot (SQL fragment). */
export function latestPerTarget(workspaceId: string, range: Range | null, extra: SQL = sql``): SQL {
  const within = range
    ? sql`and t.published_at >= ${range.from.toISOString()}::timestamptz and t.published_at < ${range.to.toISOString()}::timestamptz`
    : sql``;
  return sql`
    select t.id, t.platform, t.social_account_id, t.published_at, t.content, t.thread_parts, t.media,
           t.platform_url, l.likes, l.reposts, l.replies, l.quotes, l.impressions, l.fetched_at as measured_at
    from post_targets t
    left join lateral (
      select s.likes, s.reposts, s.replies, s.quotes, s.impressions, s.fetched_at
      from metric_snapshots s
      where s.workspace_id = ${workspaceId} and s.target_id = t.id and s.status = 'ok'
      order by s.fetched_at desc limit 1
    ) l on true
    where t.workspace_id = ${workspaceId} and t.status = 'published' ${within}
      ${extra}`;
}

async function figuresFor(deps: AnalyticsDeps, ctx: ServiceContext, range: Range, account?: string): Promise<Figures> {
  const ws = ctx.workspaceId;
  const only = account ? sql`and t.social_account_id = ${account}` : sql``;
  const rows = rowsOf<Record<string, unknown>>(
    await deps.db.execute(sql`
      with p as (${latestPerTarget(ws, range, only)})
      select ${FIGURE_COLUMNS}
      from p group by platform order by platform`),
  );
  const growth = rowsOf<{ platform: string; growth: unknown }>(
    await deps.db.execute(sql`
      select a.platform, sum(a.last - a.first)::int as growth from (
        select platform, social_account_id,
               (array_agg(followers order by fetched_at asc))[1] as first,
               (array_agg(followers order by fetched_at desc))[1] as last
        from account_snapshots
        where workspace_id = ${ws} and status = 'ok' and followers is not null
          and fetched_at >= ${range.from.toISOString()}::timestamptz and fetched_at < ${range.to.toISOString()}::timestamptz
          ${account ? sql`and social_account_id = ${account}` : sql``}
        group by platform, social_account_id) a
      group by a.platform order by a.platform`),
  );
  return assembleFigures(rows, growth, range, ctx.timeZone);
}

/** A period's figures from its per-platform rows and follower growth rows (shared with the batched reads). */
export function assembleFigures(
  rows: Array<Record<string, unknown>>,
  growth: Array<{ platform: string; growth: unknown }>,
  range: Range,
  timeZone: string,
): Figures {
  const byPlatform: PlatformFigures[] = rows.map((r) => {
    const [likes, reposts, replies, quotes] = [num(r.likes), num(r.reposts), num(r.replies), num(r.quotes)];
    return {
      platform: String(r.platform),
      posts: num(r.posts),
      measured: num(r.measured),
      likes,
      reposts,
      replies,
      quotes,
      engagements: likes + reposts + replies + quotes,
      impressions: num(r.with_impressions) > 0 ? num(r.impressions) : null,
    };
  });
  const sum = (k: 'posts' | 'measured' | 'likes' | 'reposts' | 'replies' | 'quotes' | 'engagements') =>
    byPlatform.reduce((n, p) => n + p[k], 0);
  const withImpr = rows.filter((r) => num(r.with_impressions) > 0);
  const impressions = withImpr.length ? withImpr.reduce((n, r) => n + num(r.impressions), 0) : null;
  const engagedWithImpr = withImpr.reduce((n, r) => n + num(r.engaged_with_impressions), 0);
  const posts = sum('posts');
  const engagements = sum('engagements');
  return {
    from: showTime(range.from, timeZone),
    to: showTime(range.to, timeZone),
    posts,
    measured: sum('measured'),
    engagements,
    likes: sum('likes'),
    reposts: sum('reposts'),
    replies: sum('replies'),
    quotes: sum('quotes'),
    impressions,
    engagementRate: impressions ? Math.round((engagedWithImpr / impressions) * 10_000) / 10_000 : null,
    engagementsPerPost: posts ? Math.round((engagements / posts) * 100) / 100 : null,
    followerGrowth: growth.length ? growth.reduce((n, g) => n + num(g.growth), 0) : null,
    byPlatform,
    includes: {
      engagements: byPlatform.filter((p) => p.measured > 0).map((p) => p.platform),
      impressions: withImpr.map((r) => String(r.platform)),
      followerGrowth: growth.map((g) => g.platform),
    },
  };
}

const change = (now: number | null, before: number | null) =>
  now === null || before === null ? null : before === 0 ? null : Math.round(((now - before) / before) * 1000) / 10;

export interface Overview {
  timeZone: string;
  current: Figures;
  previous: Figures;
  /** Percent change from the previous period; null where either side is missing or zero. */
  changePct: Record<'posts' | 'engagements' | 'impressions' | 'engagementRate' | 'followerGrowth', number | null>;
  notReported: Array<{ platform: string; metric: string; reason: string }>;
}

/** The period's figures beside those of the period of the same length just before it. */
export async function overview(deps: AnalyticsDeps, ctx: ServiceContext, range: Range): Promise<Overview> {
  requireRole(ctx, 'viewer');
  checkRange(range);
  const span = range.to.getTime() - range.from.getTime();
  const previousRange = { from: new Date(range.from.getTime() - span), to: range.from };
  const [current, previous] = await Promise.all([figuresFor(deps, ctx, range), figuresFor(deps, ctx, previousRange)]);
  return assembleOverview(current, previous, ctx.timeZone);
}

/** The range of the same length just before `range`. */
export function previousOf(range: Range): Range {
  const span = range.to.getTime() - range.from.getTime();
  return { from: new Date(range.from.getTime() - span), to: range.from };
}

/** An overview from its two periods' figures (shared with the batched reads). */
export function assembleOverview(current: Figures, previous: Figures, timeZone: string): Overview {
  const platforms = [...current.byPlatform, ...previous.byPlatform].map((p) => p.platform);
  return {
    timeZone,
    current,
    previous,
    changePct: {
      posts: change(current.posts, previous.posts),
      engagements: change(current.engagements, previous.engagements),
      impressions: change(current.impressions, previous.impressions),
      engagementRate: change(current.engagementRate, previous.engagementRate),
      followerGrowth: change(current.followerGrowth, previous.followerGrowth),
    },
    notReported: notReported(platforms),
  };
}

export interface PostFigures {
  targetId: string;
  platform: string;
  socialAccountId: string;
  publishedAt: string;
  text: string;
  url: string | null;
  likes: number | null;
  reposts: number | null;
  replies: number | null;
  quotes: number | null;
  impressions: number | null;
  engagements: number | null;
}

export const postFiguresOf = (r: Record<string, unknown>, zone: string): PostFigures => {
  const measured = r.measured_at !== null && r.measured_at !== undefined;
  const n = (v: unknown) => (measured && v !== null && v !== undefined ? Number(v) : null);
  return {
    targetId: String(r.id),
    platform: String(r.platform),
    socialAccountId: String(r.social_account_id),
    publishedAt: showTime(new Date(String(r.published_at)), zone),
    text: String(r.content),
    url: (r.platform_url as string | null) ?? null,
    likes: n(r.likes),
    reposts: n(r.reposts),
    replies: n(r.replies),
    quotes: n(r.quotes),
    impressions: n(r.impressions),
    engagements: measured ? num(r.likes) + num(r.reposts) + num(r.replies) + num(r.quotes) : null,
  };
};

/** One published target: its latest figures and every stored snapshot, oldest first. */
export async function postAnalytics(deps: AnalyticsDeps, ctx: ServiceContext, targetId: string) {
  requireRole(ctx, 'viewer');
  const ws = ctx.workspaceId;
  const [row] = rowsOf<Record<string, unknown>>(
    await deps.db.execute(latestPerTarget(ws, null, sql`and t.id = ${targetId}`)),
  );
  if (!row) throw new HeraldError('not_found', { message: `No published post target ${targetId} in this workspace` });
  const snapshots = rowsOf<Record<string, unknown>>(
    await deps.db.execute(sql`
      select stage, status, likes, reposts, replies, quotes, impressions, detail, fetched_at
      from metric_snapshots where workspace_id = ${ws} and target_id = ${targetId} order by fetched_at asc, id asc`),
  ).map((s) => ({
    stage: String(s.stage),
    status: String(s.status),
    at: showTime(new Date(String(s.fetched_at)), ctx.timeZone),
    likes: s.likes === null ? null : Number(s.likes),
    reposts: s.reposts === null ? null : Number(s.reposts),
    replies: s.replies === null ? null : Number(s.replies),
    quotes: s.quotes === null ? null : Number(s.quotes),
    impressions: s.impressions === null ? null : Number(s.impressions),
    ...(s.detail ? { detail: String(s.detail) } : {}),
  }));
  const deleted = snapshots.some((s) => s.status === 'deleted');
  return { ...postFiguresOf(row, ctx.timeZone), deleted, snapshots, notReported: notReported([String(row.platform)]) };
}

/** One account's figures over the period (and the period before), with its follower counts by day. */
export async function accountAnalytics(deps: AnalyticsDeps, ctx: ServiceContext, accountId: string, range: Range) {
  requireRole(ctx, 'viewer');
  checkRange(range);
  const [acct] = rowsOf<{ id: string; platform: string; handle: string }>(
    await deps.db.execute(
      sql`select id, platform, handle from social_accounts where workspace_id = ${ctx.workspaceId} and id = ${accountId}`,
    ),
  );
  if (!acct) throw new HeraldError('not_found', { message: `No account ${accountId} in this workspace` });
  const span = range.to.getTime() - range.from.getTime();
  const [current, previous] = await Promise.all([
    figuresFor(deps, ctx, range, accountId),
    figuresFor(deps, ctx, { from: new Date(range.from.getTime() - span), to: range.from }, accountId),
  ]);
  const audience = rowsOf<Record<string, unknown>>(
    await deps.db.execute(sql`
      select day, followers, following, posts from account_snapshots
      where workspace_id = ${ctx.workspaceId} and social_account_id = ${accountId} and status = 'ok'
        and fetched_at >= ${range.from.toISOString()}::timestamptz and fetched_at < ${range.to.toISOString()}::timestamptz
      order by day`),
  ).map((r) => ({
    day: String(r.day),
    followers: r.followers === null ? null : Number(r.followers),
    following: r.following === null ? null : Number(r.following),
    posts: r.posts === null ? null : Number(r.posts),
  }));
  return {
    socialAccountId: acct.id,
    platform: acct.platform,
    handle: acct.handle,
    current,
    previous,
    audience,
    reports: reportOf(acct.platform),
    notReported: notReported([acct.platform]),
  };
}

/** The period's best (or worst) measured posts by engagements. */
export async function rankedPosts(
  deps: AnalyticsDeps,
  ctx: ServiceContext,
  range: Range,
  opts: { order: 'top' | 'bottom'; limit: number; socialAccountId?: string | undefined },
): Promise<{ order: 'top' | 'bottom'; items: PostFigures[] }> {
  requireRole(ctx, 'viewer');
  checkRange(range);
  const only = opts.socialAccountId ? sql`and t.social_account_id = ${opts.socialAccountId}` : sql``;
  const dir = opts.order === 'top' ? sql`desc` : sql`asc`;
  const rows = rowsOf<Record<string, unknown>>(
    await deps.db.execute(sql`
      select * from (${latestPerTarget(ctx.workspaceId, range, only)}) p
      where measured_at is not null
      order by coalesce(likes,0)+coalesce(reposts,0)+coalesce(replies,0)+coalesce(quotes,0) ${dir}, published_at desc
      limit ${Math.min(Math.max(1, opts.limit), 100)}`),
  );
  return { order: opts.order, items: rows.map((r) => postFiguresOf(r, ctx.timeZone)) };
}

/** Posts, engagements and impressions per day of publication, in the caller's zone (every day, zeros too). */
export async function dailySeries(deps: AnalyticsDeps, ctx: ServiceContext, range: Range) {
  requireRole(ctx, 'viewer');
  checkRange(range);
  const zone = ctx.timeZone;
  const rows = rowsOf<Record<string, unknown>>(
    await deps.db.execute(sql`
      select to_char(published_at at time zone ${zone}, 'YYYY-MM-DD') as day, count(*)::int as posts,
             sum(coalesce(likes,0)+coalesce(reposts,0)+coalesce(replies,0)+coalesce(quotes,0))::bigint as engagements,
             sum(impressions)::bigint as impressions
      from (${latestPerTarget(ctx.workspaceId, range)}) p group by 1 order by 1`),
  );
  return assembleDaily(rows, range, zone);
}

/** A daily series (zeros included) from its per-local-day rows (shared with the batched reads). */
export function assembleDaily(rows: Array<Record<string, unknown>>, range: Range, zone: string) {
  const byDay = new Map(rows.map((r) => [String(r.day), r]));
  const days: Array<{ day: string; posts: number; engagements: number; impressions: number | null }> = [];
  // The first and last local days are read in the zone; the days between are counted on the
  // calendar alone (as UTC dates): the same days, without a zone lookup for each (the coach
  // assembles thousands of these series a morning).
  const first = Date.parse(`${DateTime.fromJSDate(range.from, { zone }).toFormat('yyyy-LL-dd')}T00:00:00Z`);
  const last = Date.parse(
    `${DateTime.fromJSDate(new Date(range.to.getTime() - 1), { zone }).toFormat('yyyy-LL-dd')}T00:00:00Z`,
  );
  for (let t = first; t <= last; t += 86_400_000) {
    const key = new Date(t).toISOString().slice(0, 10);
    const r = byDay.get(key);
    days.push({
      day: key,
      posts: num(r?.posts),
      engagements: num(r?.engagements),
      impressions: r?.impressions === null || r?.impressions === undefined ? null : Number(r.impressions),
    });
  }
  return { timeZone: zone, days };
}
