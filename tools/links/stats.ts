/**
 * Click statistics of tracked links: human clicks, unique visitors and bot clicks per link,
 * per platform and per day in the caller's zone, over a range. Viewers read them; the list
 * of links and the campaigns report take their totals from here.
 */
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { invalid, MAX_LINKS_PER_CALL, optionalUuid, shortUrlOf } from './input.js';

/** Longest range one stats call covers. */
export const MAX_STATS_DAYS = 366;
const DEFAULT_STATS_DAYS = 30;

export interface ClickTotals {
  /** Human clicks (bots and prefetchers are not among them). */
  clicks: number;
  /** Human clicks counted once per visitor and unique window. */
  uniqueClicks: number;
  /** Clicks by bots, crawlers, link previews and prefetchers. */
  botClicks: number;
}
export const ZERO: ClickTotals = { clicks: 0, uniqueClicks: 0, botClicks: 0 };

const totalsSql = sql`count(*) filter (where not ${schema.linkClicks.isBot})::int as clicks,
  count(*) filter (where ${schema.linkClicks.isUnique})::int as unique_clicks,
  count(*) filter (where ${schema.linkClicks.isBot})::int as bot_clicks`;

export async function totalsOf(
  db: Db,
  workspaceId: string,
  linkIds: string[],
  range: { from: Date; to: Date } | null,
): Promise<Map<string, ClickTotals>> {
  const out = new Map<string, ClickTotals>();
  if (linkIds.length === 0) return out;
  const c = schema.linkClicks;
  const rows = await db.execute(sql`
    select ${c.linkId} as link_id, ${totalsSql}
    from ${c}
    where ${c.workspaceId} = ${workspaceId} and ${c.linkId} in ${linkIds}
      ${range ? sql`and ${c.clickedAt} >= ${range.from.toISOString()} and ${c.clickedAt} < ${range.to.toISOString()}` : sql``}
    group by ${c.linkId}`);
  for (const r of rowsOf<{ link_id: string; clicks: number; unique_clicks: number; bot_clicks: number }>(rows))
    out.set(r.link_id, {
      clicks: Number(r.clicks),
      uniqueClicks: Number(r.unique_clicks),
      botClicks: Number(r.bot_clicks),
    });
  return out;
}

/** node-postgres and PGlite both answer `execute` with `{ rows }`. */
function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}

export interface LinkStatsQuery {
  linkIds?: string[];
  campaignId?: string | null;
  postId?: string | null;
  /** ISO time; default `to` minus 30 days. */
  from?: string | Date;
  /** ISO time; default now. */
  to?: string | Date;
}

export interface LinkStats extends ClickTotals {
  linkId: string;
  code: string;
  shortUrl: string;
  destinationUrl: string;
  campaignId: string | null;
  postId: string | null;
  targetId: string | null;
  variant: string | null;
  platform: string | null;
  /** Per platform the click came from (its referrer, else where the link is shared; `unknown`). */
  byPlatform: Record<string, ClickTotals>;
  /** Per day in the caller's time zone, days with clicks only, oldest first. */
  byDay: Array<ClickTotals & { day: string }>;
}

function timeOf(name: string, v: string | Date | undefined, fallback: Date): Date {
  if (v === undefined || v === null || v === '') return fallback;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new HeraldError('invalid_time', { message: `${name} is not a valid time`, details: { [name]: v } });
  return d;
}

/** Click statistics of the chosen links over [from, to) (viewer). Clicks still in the buffer are counted once drained (about a second). */
export async function linkStats(
  deps: { db: Db; baseUrl: string; now?: () => Date },
  ctx: ServiceContext,
  query: LinkStatsQuery = {},
): Promise<{ from: string; to: string; timeZone: string; links: LinkStats[]; totals: ClickTotals }> {
  requireRole(ctx, 'viewer');
  const now = deps.now ? deps.now() : new Date();
  const to = timeOf('to', query.to, now);
  const from = timeOf('from', query.from, new Date(to.getTime() - DEFAULT_STATS_DAYS * 86_400_000));
  if (from >= to) throw new HeraldError('invalid_time', { message: 'from must be before to' });
  if (to.getTime() - from.getTime() > MAX_STATS_DAYS * 86_400_000)
    throw new HeraldError('invalid_time', { message: `A range covers at most ${MAX_STATS_DAYS} days` });
  const l = schema.trackedLinks;
  const where: SQL[] = [eq(l.workspaceId, ctx.workspaceId)];
  if (query.linkIds !== undefined) {
    if (!Array.isArray(query.linkIds) || query.linkIds.length > MAX_LINKS_PER_CALL)
      throw invalid(`linkIds must be a list of at most ${MAX_LINKS_PER_CALL} ids`);
    const ids = query.linkIds.map((id) => optionalUuid('linkIds', id)!).filter(Boolean);
    if (ids.length === 0)
      return { from: from.toISOString(), to: to.toISOString(), timeZone: ctx.timeZone, links: [], totals: { ...ZERO } };
    where.push(inArray(l.id, ids));
  }
  const campaignId = optionalUuid('campaignId', query.campaignId);
  const postId = optionalUuid('postId', query.postId);
  if (campaignId) where.push(eq(l.campaignId, campaignId));
  if (postId) where.push(eq(l.postId, postId));
  const links = await deps.db
    .select()
    .from(l)
    .where(and(...where))
    .orderBy(desc(l.createdAt))
    .limit(MAX_LINKS_PER_CALL);
  const ids = links.map((r) => r.id);
  const range = { from, to };
  const totals = await totalsOf(deps.db, ctx.workspaceId, ids, range);
  const byPlatform = new Map<string, Record<string, ClickTotals>>();
  const byDay = new Map<string, Array<ClickTotals & { day: string }>>();
  if (ids.length > 0) {
    const c = schema.linkClicks;
    const inRange = sql`${c.workspaceId} = ${ctx.workspaceId} and ${c.linkId} in ${ids}
      and ${c.clickedAt} >= ${from.toISOString()} and ${c.clickedAt} < ${to.toISOString()}`;
    const [platformRows, dayRows] = await Promise.all([
      deps.db.execute(sql`
        select ${c.linkId} as link_id, coalesce(${c.platform}, 'unknown') as key, ${totalsSql}
        from ${c} where ${inRange} group by 1, 2`),
      deps.db.execute(sql`
        select ${c.linkId} as link_id, to_char(${c.clickedAt} at time zone ${ctx.timeZone}, 'YYYY-MM-DD') as key, ${totalsSql}
        from ${c} where ${inRange} group by 1, 2 order by 2`),
    ]);
    type Row = { link_id: string; key: string; clicks: number; unique_clicks: number; bot_clicks: number };
    const figures = (r: Row): ClickTotals => ({
      clicks: Number(r.clicks),
      uniqueClicks: Number(r.unique_clicks),
      botClicks: Number(r.bot_clicks),
    });
    for (const r of rowsOf<Row>(platformRows)) {
      const m = byPlatform.get(r.link_id) ?? {};
      m[r.key] = figures(r);
      byPlatform.set(r.link_id, m);
    }
    for (const r of rowsOf<Row>(dayRows)) {
      const list = byDay.get(r.link_id) ?? [];
      list.push({ day: r.key, ...figures(r) });
      byDay.set(r.link_id, list);
    }
  }
  const out: LinkStats[] = links.map((r) => ({
    linkId: r.id,
    code: r.code,
    shortUrl: shortUrlOf(deps.baseUrl, r.code),
    destinationUrl: r.destination,
    campaignId: r.campaignId,
    postId: r.postId,
    targetId: r.targetId,
    variant: r.variant,
    platform: r.platform,
    ...(totals.get(r.id) ?? ZERO),
    byPlatform: byPlatform.get(r.id) ?? {},
    byDay: byDay.get(r.id) ?? [],
  }));
  const sum = out.reduce(
    (a, s) => ({
      clicks: a.clicks + s.clicks,
      uniqueClicks: a.uniqueClicks + s.uniqueClicks,
      botClicks: a.botClicks + s.botClicks,
    }),
    { ...ZERO },
  );
  return { from: from.toISOString(), to: to.toISOString(), timeZone: ctx.timeZone, links: out, totals: sum };
}
