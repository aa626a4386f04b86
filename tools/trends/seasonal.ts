/**
 * Seasonality from last year's data: a term rising now is **seasonal** when it also rose
 * around the same date a year ago — 52 weeks back (same weekday), the current window widened
 * by {@link SEASON_SLACK_DAYS} each side, its mentions there against the rate of the
 * {@link SEASON_BASELINE_DAYS} before — with the same floor and ratio as a rise now
 * (rising.ts). Where the workspace has no items that old, nothing is claimed (`null`).
 * Read from the counts kept at ingest (counts.ts) over last year's span, candidate terms only.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../core/index.js';
import { countRows } from './counts.js';

/** How far back "the same date last year" is: 52 weeks, so the weekday matches too. */
export const SEASON_LAG_DAYS = 364;
/** "Around the same date": last year's window widened by this many days each side. */
export const SEASON_SLACK_DAYS = 7;
/** Last year's usual rate of a term: the mentions in this many days before that span. */
export const SEASON_BASELINE_DAYS = 28;

const DAY = 86_400_000;

export interface LastYear {
  /** Last year's span around the same date (ISO times). */
  from: string;
  to: string;
  /** Items mentioning the term first seen in that span. */
  mentions: number;
  /** What the term's rate in the weeks before would have given over the span. */
  expected: number;
}

export interface Seasonality {
  /** True: it rose around this date last year too; false: it did not; null: no data from then. */
  seasonal: boolean | null;
  lastYear: LastYear | null;
}

/** Last year's spans for a window ending at `now`. */
export function seasonSpans(now: number, windowHours: number) {
  const end = now - SEASON_LAG_DAYS * DAY + SEASON_SLACK_DAYS * DAY;
  const start = now - SEASON_LAG_DAYS * DAY - windowHours * 3_600_000 - SEASON_SLACK_DAYS * DAY;
  return { baselineStart: start - SEASON_BASELINE_DAYS * DAY, start, end };
}

/** The rule, apart from the counting: the same floor and ratio as a rise now. */
export function isSeasonalRise(mentions: number, expected: number, minMentions: number, riseRatio: number): boolean {
  return mentions >= minMentions && mentions >= riseRatio * Math.max(expected, 1);
}

/**
 * Seasonality of each of `terms` for the window ending at `now`. One query: last year's
 * counts per term and the workspace's oldest item (whether there is data from then at all).
 */
export async function seasonality(
  db: Db,
  workspaceId: string,
  terms: string[],
  now: number,
  windowHours: number,
  rule: { minMentions: number; riseRatio: number },
): Promise<Map<string, Seasonality>> {
  const out = new Map<string, Seasonality>();
  if (terms.length === 0) return out;
  const { baselineStart, start, end } = seasonSpans(now, windowHours);
  // A text[] literal (drizzle would expand a JS array into a row of parameters).
  const list = `{${terms.map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  const [, s, e] = [baselineStart, start, end].map((x) => new Date(x).toISOString());
  const result = await db.execute(sql`
    select null as term, 0 as season, 0 as before,
           (select min(first_seen_at) from trend_items where workspace_id = ${workspaceId}) as oldest
    union all
    select term,
           coalesce(sum(n) filter (where at >= ${s}::timestamptz), 0)::int,
           coalesce(sum(n) filter (where at < ${s}::timestamptz), 0)::int,
           null
    from ${countRows(workspaceId, baselineStart, end, [baselineStart, start, end], { terms: list })} as c
    group by term`);
  const rows = (
    result as unknown as {
      rows: Array<{ term: string | null; season: number; before: number; oldest: string | Date | null }>;
    }
  ).rows;
  const oldest = rows.find((r) => r.term === null)?.oldest;
  // Data from a year ago exists when the workspace's items reach back to last year's span.
  const hasHistory = oldest != null && new Date(oldest).getTime() <= start;
  const counts = new Map(rows.filter((r) => r.term !== null).map((r) => [r.term!, r]));
  const scale = (end - start) / (start - baselineStart);
  for (const term of terms) {
    if (!hasHistory) {
      out.set(term, { seasonal: null, lastYear: null });
      continue;
    }
    const c = counts.get(term);
    const mentions = Number(c?.season ?? 0);
    const expected = Math.round(Number(c?.before ?? 0) * scale * 100) / 100;
    out.set(term, {
      seasonal: isSeasonalRise(mentions, expected, rule.minMentions, rule.riseRatio),
      lastYear: { from: s!, to: e!, mentions, expected },
    });
  }
  return out;
}
