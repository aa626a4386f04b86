/**
 * Counts kept as items are stored (`trend_term_counts`: items per workspace, term and UTC hour
 * of first sight), so rising topics and seasonality read counts instead of recounting every
 * item on each query. A span's count is exact: whole hours come from the counts, and in an hour
 * a span boundary falls in only the smaller parts are counted from the items — the largest
 * part is the hour's kept count less those.
 */
import { sql, type SQL } from 'drizzle-orm';

export const HOUR_MS = 3_600_000;

/** The UTC hour (epoch ms) a time falls in: the count bucket of an item first seen then. */
export const hourOf = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;

const ts = (x: number) => sql`${new Date(x).toISOString()}::timestamptz`;

/**
 * A part of an hour between two cuts: items first seen from `lo` (or after it, when `loOpen`)
 * until before `hi` (or at it, when `hiClosed`). Its count rows are placed at `lo`, which no
 * boundary but its own start is at or before within the part.
 */
interface Part {
  lo: number;
  loOpen: boolean;
  hi: number;
  hiClosed: boolean;
  /** Inside [from, to]: counted; outside (before `from`, after `to`): only subtracted. */
  inside: boolean;
}

/** The parts an edge hour's cuts make (`to` closes its part: an item first seen at `to` is in). */
function partsOf(hour: number, cuts: number[], from: number, to: number): Part[] {
  const parts: Part[] = [];
  let lo = hour;
  let loOpen = false;
  for (const c of [...cuts, hour + HOUR_MS]) {
    // The hour's end is the next hour's: an item first seen then is in the next bucket.
    const hiClosed = c === to && c < hour + HOUR_MS;
    if (c > lo || (c === lo && hiClosed && !loOpen))
      parts.push({ lo, loOpen, hi: c, hiClosed, inside: lo >= from && c <= to });
    lo = c;
    loOpen = hiClosed;
  }
  return parts;
}

const within = (p: Part) =>
  sql`(first_seen_at ${p.loOpen ? sql`>` : sql`>=`} ${ts(p.lo)} and first_seen_at ${p.hiClosed ? sql`<=` : sql`<`} ${ts(p.hi)})`;

/**
 * A subquery of `(term, at, n)` rows whose sums over any span between two of `boundaries`
 * equal the items first seen in that span (`from` inclusive, `to` inclusive) per term. The
 * hours no boundary falls in are their kept counts (`at` = the hour). An hour a boundary falls
 * in is cut into parts at its boundaries, and either its parts inside [from, to] are counted
 * from the items (`at` = each part's start), or — when that reads less — its longest part
 * inside is the hour's kept count less every other part, those counted from the items (`at` =
 * the parts' starts). Exact either way, since the counts and the items change together; the
 * items read are at most half such an hour. `present` (the query's now), when given, is when
 * no items are expected after: a part after it is taken as free to read, so the hour of now
 * costs nothing. `from` must be before `to`. `terms`, when given, restricts the terms (a text[]
 * literal).
 */
export function countRows(
  workspaceId: string,
  from: number,
  to: number,
  boundaries: number[],
  opts: { terms?: string | undefined; present?: number | undefined } = {},
): SQL {
  const { terms, present = Infinity } = opts;
  const cuts = [...new Set([from, to, ...boundaries])].filter((b) => b >= from && b <= to).sort((a, b) => a - b);
  const edges = [...new Set(cuts.map(hourOf))];
  const cost = (p: Part) => (p.lo >= present ? 0 : p.hi - p.lo);
  const sum = (ps: Part[]) => ps.reduce((s, p) => s + cost(p), 0);
  // Parts counted from the items, each with where its hour's kept count goes (null: not used).
  const counted: Array<{ part: Part; rest: number | null }> = [];
  const rests: Array<{ hour: number; rest: number }> = [];
  for (const hour of edges) {
    const parts = partsOf(
      hour,
      cuts.filter((c) => hourOf(c) === hour),
      from,
      to,
    );
    const inside = parts.filter((p) => p.inside);
    const longest = inside.reduce<Part | null>((a, b) => (a === null || cost(b) > cost(a) ? b : a), null);
    if (!longest || sum(inside) <= sum(parts) - cost(longest)) {
      for (const part of inside) counted.push({ part, rest: null });
    } else {
      rests.push({ hour, rest: longest.lo });
      for (const part of parts) if (part !== longest) counted.push({ part, rest: longest.lo });
    }
  }
  const notEdge = sql.join(
    edges.map((e) => sql`bucket <> ${ts(e)}`),
    sql` and `,
  );
  const countTerms = terms ? sql`and term = any(${terms}::text[])` : sql``;
  const itemTerms = terms ? sql`and terms && ${terms}::text[] and term = any(${terms}::text[])` : sql``;
  // Each counted part's items: at its start when inside (added), at its hour's rest (taken off).
  const placed = sql.join(
    counted.flatMap(({ part, rest }, k) => [
      ...(part.inside ? [sql`(${sql.raw(String(k))}, ${ts(part.lo)}, 1)`] : []),
      ...(rest !== null ? [sql`(${sql.raw(String(k))}, ${ts(rest)}, -1)`] : []),
    ]),
    sql`, `,
  );
  const whichPart = sql.join(
    counted.map(({ part }, k) => sql`when ${within(part)} then ${sql.raw(String(k))}`),
    sql` `,
  );
  const anyPart = sql.join(
    counted.map(({ part }) => within(part)),
    sql` or `,
  );
  const items = counted.length
    ? sql`
    union all
    select c.term, p.at, p.sign * c.n from (
      select case ${whichPart} end as part, term, count(*)::int as n
      from trend_items, unnest(terms) as term
      where workspace_id = ${workspaceId} and (${anyPart}) ${itemTerms}
      group by 1, 2
    ) as c join (values ${placed}) as p(part, at, sign) on p.part = c.part`
    : sql``;
  const kept = rests.length
    ? sql`
    union all
    select term, r.at, n from trend_term_counts
    join (values ${sql.join(
      rests.map(({ hour, rest }) => sql`(${ts(hour)}, ${ts(rest)})`),
      sql`, `,
    )}) as r(bucket, at) on r.bucket = trend_term_counts.bucket
    where workspace_id = ${workspaceId} ${countTerms}`
    : sql``;
  return sql`(
    select term, bucket as at, n from trend_term_counts
    where workspace_id = ${workspaceId} and bucket >= ${ts(hourOf(from))} and bucket <= ${ts(hourOf(to))}
      and ${notEdge} ${countTerms}${kept}${items}
  )`;
}
