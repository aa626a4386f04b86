/**
 * What works for you: the top quarter of posts (by engagement rank within their own account,
 * so a big platform does not drown a small one) against the rest, on what Herald can measure
 * of a post — length, media, links, hashtags, questions, emoji, thread, time of day, weekend.
 * Each difference comes with its size and how sure it is: a permutation test per feature
 * (simple-statistics), Holm-corrected across the features so noise reads as "unclear".
 */
import { permutationTest } from 'simple-statistics';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { requireRole } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import type { AnalyticsDeps } from './queries.js';

/** How far back posts are compared. */
export const WHAT_WORKS_DAYS = 180;
/** Fewer top posts than this and nothing is claimed. */
export const MIN_TOP_POSTS = 8;
/** Share of each account's posts counted as its top posts. */
export const TOP_SHARE = 0.25;
const PERMUTATIONS = 2_000;

export type Certainty = 'strong' | 'likely' | 'unclear';

export interface Finding {
  feature: string;
  /** "Posts with media" */
  label: string;
  kind: 'share' | 'mean';
  /** Share (0–1) or mean among the top posts, and among the rest. */
  top: number;
  rest: number;
  /** Cohen's h for shares, Cohen's d for means (0.2 small, 0.5 medium, 0.8 large). */
  effectSize: number;
  /** Holm-adjusted p-value of the permutation test. */
  p: number;
  certainty: Certainty;
  text: string;
}

export interface WhatWorks {
  posts: number;
  topPosts: number;
  days: number;
  findings: Finding[];
  summary: string;
}

export interface PostRow {
  account: string;
  content: string;
  parts: number;
  media: number;
  at: Date;
  engagements: number;
}

const EMOJI = /\p{Extended_Pictographic}/u;
const FEATURES: Array<{
  feature: string;
  label: string;
  kind: 'share' | 'mean';
  of: (p: PostRow, zone: string) => number;
}> = [
  { feature: 'length', label: 'Length (characters)', kind: 'mean', of: (p) => [...p.content].length },
  { feature: 'media', label: 'Posts with media', kind: 'share', of: (p) => +(p.media > 0) },
  { feature: 'link', label: 'Posts with a link', kind: 'share', of: (p) => +/https?:\/\/\S+/i.test(p.content) },
  {
    feature: 'hashtags',
    label: 'Posts with hashtags',
    kind: 'share',
    of: (p) => +/(^|\s)#[\p{L}\p{N}_]+/u.test(p.content),
  },
  { feature: 'question', label: 'Posts asking a question', kind: 'share', of: (p) => +p.content.includes('?') },
  { feature: 'emoji', label: 'Posts with emoji', kind: 'share', of: (p) => +EMOJI.test(p.content) },
  { feature: 'thread', label: 'Threads', kind: 'share', of: (p) => +(p.parts > 0) },
  ...(
    [
      ['morning', 'Posted in the morning (06–12)', 6, 12],
      ['afternoon', 'Posted in the afternoon (12–18)', 12, 18],
      ['evening', 'Posted in the evening (18–24)', 18, 24],
    ] as const
  ).map(([feature, label, from, to]) => ({
    feature,
    label,
    kind: 'share' as const,
    of: (p: PostRow, zone: string) => {
      const h = DateTime.fromJSDate(p.at, { zone }).hour;
      return +(h >= from && h < to);
    },
  })),
  {
    feature: 'weekend',
    label: 'Posted on a weekend',
    kind: 'share',
    of: (p, zone) => +(DateTime.fromJSDate(p.at, { zone }).weekday >= 6),
  },
];

/** A fixed-seed generator: the same history always gives the same answer. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1);
};

/** Top-quarter flags by engagement rank within each account. */
export function topFlags(rows: Array<{ account: string; engagements: number }>): boolean[] {
  const flags = new Array<boolean>(rows.length).fill(false);
  const byAccount = new Map<string, number[]>();
  rows.forEach((r, i) => byAccount.set(r.account, [...(byAccount.get(r.account) ?? []), i]));
  for (const idx of byAccount.values()) {
    const sorted = [...idx].sort((a, b) => rows[b]!.engagements - rows[a]!.engagements || a - b);
    const n = Math.max(1, Math.round(sorted.length * TOP_SHARE));
    for (const i of sorted.slice(0, n)) flags[i] = true;
  }
  return flags;
}

/** Compares top posts with the rest on every feature (pure: the service and tests call it). */
export function compareFeatures(rows: PostRow[], zone: string): Finding[] {
  const top = topFlags(rows);
  const raw = FEATURES.map((f) => {
    const values = rows.map((r) => f.of(r, zone));
    const a = values.filter((_, i) => top[i]);
    const b = values.filter((_, i) => !top[i]);
    const [ma, mb] = [mean(a), mean(b)];
    const effectSize =
      f.kind === 'share'
        ? 2 * Math.asin(Math.sqrt(ma)) - 2 * Math.asin(Math.sqrt(mb))
        : (ma - mb) / Math.sqrt(Math.max(1e-9, (variance(a) + variance(b)) / 2));
    const same = values.every((v) => v === values[0]);
    const p = same ? 1 : permutationTest(a, b, 'two_side', PERMUTATIONS, seeded(7));
    return { ...f, top: ma, rest: mb, effectSize, p };
  });
  // Holm: the k-th smallest p is multiplied by (m - k + 1), kept monotone.
  const order = raw.map((r, i) => ({ p: r.p, i })).sort((x, y) => x.p - y.p);
  const adjusted = new Array<number>(raw.length);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, p * (raw.length - k)));
    adjusted[i] = running;
  });
  return raw
    .map((r, i) => {
      const p = adjusted[i]!;
      const certainty: Certainty = p < 0.01 ? 'strong' : p < 0.05 ? 'likely' : 'unclear';
      const shown =
        r.kind === 'share'
          ? `${Math.round(r.top * 100)}% of your top posts vs ${Math.round(r.rest * 100)}% of the rest`
          : `${Math.round(r.top)} on average in your top posts vs ${Math.round(r.rest)} in the rest`;
      return {
        feature: r.feature,
        label: r.label,
        kind: r.kind,
        top: Math.round(r.top * 1000) / 1000,
        rest: Math.round(r.rest * 1000) / 1000,
        effectSize: Math.round(r.effectSize * 100) / 100,
        p: Math.round(p * 10_000) / 10_000,
        certainty,
        text: `${r.label}: ${shown} (${certainty === 'unclear' ? 'unclear, could be chance' : `${certainty}, p=${p < 0.001 ? '<0.001' : p.toFixed(3)}`})`,
      };
    })
    .sort(
      (x, y) =>
        ['strong', 'likely', 'unclear'].indexOf(x.certainty) - ['strong', 'likely', 'unclear'].indexOf(y.certainty) ||
        Math.abs(y.effectSize) - Math.abs(x.effectSize),
    );
}

/** What sets the workspace's (or one account's) top posts apart, over the last 180 days. */
export async function whatWorks(
  deps: AnalyticsDeps,
  ctx: ServiceContext,
  opts: { socialAccountId?: string | undefined; now?: Date } = {},
): Promise<WhatWorks> {
  requireRole(ctx, 'viewer');
  const now = opts.now ?? new Date();
  const since = new Date(now.getTime() - WHAT_WORKS_DAYS * 86_400_000).toISOString();
  const result = (await deps.db.execute(sql`
    select t.social_account_id as account, t.content, jsonb_array_length(t.thread_parts) as parts,
           jsonb_array_length(t.media) as media, t.published_at as at,
           l.likes + l.reposts + l.replies + coalesce(l.quotes, 0) as engagements
    from post_targets t
    join lateral (
      select coalesce(s.likes,0) as likes, coalesce(s.reposts,0) as reposts, coalesce(s.replies,0) as replies, s.quotes
      from metric_snapshots s
      where s.workspace_id = ${ctx.workspaceId} and s.target_id = t.id and s.status = 'ok'
      order by s.fetched_at desc limit 1
    ) l on true
    where t.workspace_id = ${ctx.workspaceId} and t.status = 'published' and t.published_at >= ${since}::timestamptz
      ${opts.socialAccountId ? sql`and t.social_account_id = ${opts.socialAccountId}` : sql``}`)) as {
    rows: Array<Record<string, unknown>>;
  };
  const rows: PostRow[] = result.rows.map((r) => ({
    account: String(r.account),
    content: String(r.content),
    parts: Number(r.parts),
    media: Number(r.media),
    at: new Date(String(r.at)),
    engagements: Number(r.engagements),
  }));
  const topPosts = topFlags(rows).filter(Boolean).length;
  if (topPosts < MIN_TOP_POSTS)
    return {
      posts: rows.length,
      topPosts,
      days: WHAT_WORKS_DAYS,
      findings: [],
      summary: `Too few measured posts to compare (${rows.length}; at least ${MIN_TOP_POSTS * 4} needed).`,
    };
  const findings = compareFeatures(rows, ctx.timeZone);
  const sure = findings.filter((f) => f.certainty !== 'unclear');
  return {
    posts: rows.length,
    topPosts,
    days: WHAT_WORKS_DAYS,
    findings,
    summary: sure.length
      ? `Across ${rows.length} posts (top ${topPosts} against the rest): ${sure.map((f) => f.text).join('; ')}.`
      : `Across ${rows.length} posts nothing sets your top ${topPosts} apart beyond chance.`,
  };
}
