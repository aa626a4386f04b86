/**
 * The same figures as `queries.ts`, read for many callers at once: one query per figure for
 * a whole batch (the coach's morning run reads thousands of members' yesterdays), each caller's
 * workspace, range and zone passed as arrays and unnested in SQL. The rows are assembled by the
 * very functions the one-caller reads use (`assembleFigures`, `assembleOverview`,
 * `assembleDaily`), so a caller's answer is the same either way. These functions trust their
 * callers: they check no role (the batch runs as the system for members it already resolved),
 * so they are not for channels.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../core/index.js';
import {
  assembleDaily,
  assembleFigures,
  assembleOverview,
  checkRange,
  FIGURE_COLUMNS,
  previousOf,
  rowsOf,
  type Figures,
  type Overview,
  type Range,
} from './queries.js';

/** One caller's question in a batch: whose workspace, which range, read in which zone. */
export interface BatchItem {
  workspaceId: string;
  range: Range;
  timeZone: string;
}

/** A Postgres array literal of simple values (uuids, ISO instants, zone names: no quotes or backslashes). */
function arrayOf(values: Array<string | number>, type: string): SQL {
  for (const v of values)
    if (typeof v === 'string' && /["\\{},]/.test(v)) throw new Error(`batch value not allowed in an array: ${v}`);
  return sql`${`{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v}"`)).join(',')}}`}::${sql.raw(type)}`;
}

/** The batch as a relation q(k, ws, f, t, z): item index, workspace, range and zone. */
function itemsRelation(items: BatchItem[]): SQL {
  return sql`select * from unnest(
    ${arrayOf(
      items.map((_, i) => i),
      'int[]',
    )},
    ${arrayOf(
      items.map((x) => x.workspaceId),
      'uuid[]',
    )},
    ${arrayOf(
      items.map((x) => x.range.from.toISOString()),
      'timestamptz[]',
    )},
    ${arrayOf(
      items.map((x) => x.range.to.toISOString()),
      'timestamptz[]',
    )},
    ${arrayOf(
      items.map((x) => x.timeZone),
      'text[]',
    )}) as q(k, ws, f, t, z)`;
}

/** Published targets in each item's range with their latest `ok` snapshot, tagged with the item (`latestPerTarget` for many). */
function latestPerItem(items: BatchItem[]): SQL {
  return sql`
    select q.k, q.z, t.platform, t.published_at, l.likes, l.reposts, l.replies, l.quotes, l.impressions,
           l.fetched_at as measured_at
    from (${itemsRelation(items)}) q
    join post_targets t on t.workspace_id = q.ws and t.status = 'published'
      and t.published_at >= q.f and t.published_at < q.t
    left join lateral (
      select s.likes, s.reposts, s.replies, s.quotes, s.impressions, s.fetched_at
      from metric_snapshots s
      where s.workspace_id = q.ws and s.target_id = t.id and s.status = 'ok'
      order by s.fetched_at desc limit 1
    ) l on true`;
}

const groupByItem = <T extends { k: unknown }>(rows: T[], n: number): T[][] => {
  const out: T[][] = Array.from({ length: n }, () => []);
  for (const r of rows) out[Number(r.k)]!.push(r);
  return out;
};

/** Each item's figures (as `figuresFor` reads them): two queries for the whole batch. */
export async function figuresBatch(db: Db, items: BatchItem[]): Promise<Figures[]> {
  if (items.length === 0) return [];
  for (const x of items) checkRange(x.range);
  const [rows, growth] = await Promise.all([
    db.execute(sql`
      with p as (${latestPerItem(items)})
      select k, ${FIGURE_COLUMNS}
      from p group by k, platform order by k, platform`),
    db.execute(sql`
      select a.k, a.platform, sum(a.last - a.first)::int as growth from (
        select q.k, s.platform, s.social_account_id,
               (array_agg(s.followers order by s.fetched_at asc))[1] as first,
               (array_agg(s.followers order by s.fetched_at desc))[1] as last
        from (${itemsRelation(items)}) q
        join account_snapshots s on s.workspace_id = q.ws and s.status = 'ok' and s.followers is not null
          and s.fetched_at >= q.f and s.fetched_at < q.t
        group by q.k, s.platform, s.social_account_id) a
      group by a.k, a.platform order by a.k, a.platform`),
  ]);
  const byItem = groupByItem(rowsOf<Record<string, unknown> & { k: number }>(rows), items.length);
  const growthByItem = groupByItem(rowsOf<{ k: number; platform: string; growth: unknown }>(growth), items.length);
  return items.map((x, i) => assembleFigures(byItem[i]!, growthByItem[i]!, x.range, x.timeZone));
}

/** Each item's overview (its range beside the one before): the same two queries for the whole batch. */
export async function overviewBatch(db: Db, items: BatchItem[]): Promise<Overview[]> {
  const figures = await figuresBatch(db, [...items, ...items.map((x) => ({ ...x, range: previousOf(x.range) }))]);
  return items.map((x, i) => assembleOverview(figures[i]!, figures[items.length + i]!, x.timeZone));
}

/** Each item's daily series in its own zone (as `dailySeries` reads it): one query for the whole batch. */
export async function dailySeriesBatch(db: Db, items: BatchItem[]): Promise<Array<ReturnType<typeof assembleDaily>>> {
  if (items.length === 0) return [];
  for (const x of items) checkRange(x.range);
  const rows = rowsOf<Record<string, unknown> & { k: number }>(
    await db.execute(sql`
      select k, to_char(published_at at time zone z, 'YYYY-MM-DD') as day, count(*)::int as posts,
             sum(coalesce(likes,0)+coalesce(reposts,0)+coalesce(replies,0)+coalesce(quotes,0))::bigint as engagements,
             sum(impressions)::bigint as impressions
      from (${latestPerItem(items)}) p group by k, 2 order by k, 2`),
  );
  const byItem = groupByItem(rows, items.length);
  return items.map((x, i) => assembleDaily(byItem[i]!, x.range, x.timeZone));
}

/** Daily audience rows of one account per item in its range (as `accountAnalytics` returns them): one query. */
export async function audienceBatch(
  db: Db,
  items: Array<BatchItem & { socialAccountId: string }>,
): Promise<Array<Array<{ day: string; followers: number | null; following: number | null; posts: number | null }>>> {
  if (items.length === 0) return [];
  for (const x of items) checkRange(x.range);
  const rows = rowsOf<Record<string, unknown> & { k: number }>(
    await db.execute(sql`
      select q.k, s.day, s.followers, s.following, s.posts
      from (${itemsRelation(items)}) q
      join unnest(${arrayOf(
        items.map((x) => x.socialAccountId),
        'uuid[]',
      )}) with ordinality as acct(id, n) on acct.n = q.k + 1
      join account_snapshots s on s.workspace_id = q.ws and s.social_account_id = acct.id and s.status = 'ok'
        and s.fetched_at >= q.f and s.fetched_at < q.t
      order by q.k, s.day`),
  );
  const nullable = (v: unknown) => (v === null ? null : Number(v));
  return groupByItem(rows, items.length).map((list) =>
    list.map((r) => ({
      day: String(r.day),
      followers: nullable(r.followers),
      following: nullable(r.following),
      posts: nullable(r.posts),
    })),
  );
}
