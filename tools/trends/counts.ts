/**
 * Counts kept as items are stored (`trend_term_counts`: items per workspace, term and UTC hour
 * of first sight), so rising topics and seasonality read counts instead of recounting every
 * item on each query. A span's count is exact: whole hours come from the counts, and only the
 * hours a span boundary falls in are counted from the items themselves.
 */
import { sql, type SQL } from 'drizzle-orm';

export const HOUR_MS = 3_600_000;

/** The UTC hour (epoch ms) a time falls in: the count bucket of an item first seen then. */
export const hourOf = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;

const ts = (x: number) => sql`${new Date(x).toISOString()}::timestamptz`;

/**
 * A subquery of `(term, at, n)` rows whose sums over any span between two of `boundaries`
 * equal the items first seen in that span (`from` inclusive, `to` inclusive) per term: the
 * counts of the hours no boundary falls in (`at` = the hour), and one row per item and term
 * for the hours a boundary falls in (`at` = the item's first-seen time). `from` and `to` must
 * be among the boundaries. `terms`, when given, restricts the terms (a text[] literal).
 */
export function countRows(workspaceId: string, from: number, to: number, boundaries: number[], terms?: string): SQL {
  const edges = [...new Set(boundaries.map(hourOf))].sort((a, b) => a - b);
  const notEdge = sql.join(
    edges.map((e) => sql`bucket <> ${ts(e)}`),
    sql` and `,
  );
  const inEdge = sql.join(
    edges.map((e) => sql`(first_seen_at >= ${ts(e)} and first_seen_at < ${ts(e + HOUR_MS)})`),
    sql` or `,
  );
  const countTerms = terms ? sql`and term = any(${terms}::text[])` : sql``;
  const itemTerms = terms ? sql`and terms && ${terms}::text[] and term = any(${terms}::text[])` : sql``;
  return sql`(
    select term, bucket as at, n from trend_term_counts
    where workspace_id = ${workspaceId} and bucket >= ${ts(hourOf(from))} and bucket <= ${ts(hourOf(to))}
      and ${notEdge} ${countTerms}
    union all
    select term, first_seen_at as at, 1 as n from trend_items, unnest(terms) as term
    where workspace_id = ${workspaceId} and first_seen_at >= ${ts(from)} and first_seen_at <= ${ts(to)}
      and (${inEdge}) ${itemTerms}
  )`;
}
