/**
 * Adapting what works, honestly (docs/trends.md#adapting-what-works): a public post (Bluesky,
 * Mastodon, X, read through connectors/read-public-post) or one of the workspace's own
 * published posts (its best measured one by default) is measured — hook, format, length, call
 * to action (structure.ts) — and a new post with that structure about the user's topic is
 * drafted for the chosen accounts in the brand's voice (tools/drafting). The source's words
 * are never copied beyond one quote of at most {@link MAX_QUOTE} characters, and a quote is
 * always followed by its author and address; the model writing in the brand's voice never
 * sees the source's text, and the attribution is added after it wrote. Each adaptation is
 * kept, so {@link adaptationResults} can set how the adapted posts do against each account's
 * baseline (its other measured posts of the last 90 days).
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import { publicPostReader, type ReadPublicPost } from '../../connectors/read-public-post.js';
import { draftPost, reviseDraft, type DraftingDeps, type DraftResult } from '../drafting/index.js';
import { deletePost } from '../posts/service.js';
import type { ServiceContext } from '../scheduling/context.js';
import { MAX_QUOTE } from './ideas.js';
import { skeletonFor, structureOf, type PostStructure } from './structure.js';

/** Own posts looked at for "my best post", and the span of an account's baseline. */
export const ADAPT_HISTORY_DAYS = 90;
/** An account's baseline needs this many measured posts; fewer and no verdict is given. */
export const BASELINE_MIN_POSTS = 3;
/** Above this lift the adapted post did better than usual, below its inverse worse. */
export const LIFT_BAND = 1.2;

export const AdaptInput = z.strictObject({
  url: z.string().trim().min(1).max(2000).optional().describe('A public Bluesky, Mastodon or X post'),
  targetId: z.string().uuid().optional().describe('One of your own published posts (a post target id)'),
  topic: z.string().trim().min(2).max(200).describe('What your new post is about'),
  accounts: z.array(z.string().min(1).max(200)).min(1).max(20),
  quote: z.boolean().optional().describe(`Quote at most ${MAX_QUOTE} characters of the source, attributed`),
});
export type AdaptInput = z.input<typeof AdaptInput>;

export interface AdaptSource {
  kind: 'bluesky' | 'mastodon' | 'x' | 'own';
  url: string | null;
  author: string | null;
  /** The source's engagement when read (null when the platform does not say). */
  engagement: number | null;
}

export interface AdaptResult extends DraftResult {
  adaptationId: string;
  source: AdaptSource;
  structure: PostStructure;
  /** The quote in the draft (at most MAX_QUOTE characters), or null. */
  quote: string | null;
  /** `Quote from @author (url)` when quoted; always recorded with the adaptation. */
  attribution: string;
}

export interface AdaptDeps extends DraftingDeps {
  /** Reads a public post; default: the real platforms (connectors/read-public-post). */
  readPost?: ReadPublicPost | undefined;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const quoteOf = (s: string) => {
  const t = oneLine(s);
  return t.length > MAX_QUOTE ? `${t.slice(0, MAX_QUOTE - 1)}…` : t;
};

async function ownPost(db: Db, ctx: ServiceContext, targetId: string | undefined, now: Date) {
  const byId = targetId ? sql`and t.id = ${targetId}` : sql``;
  const since = new Date(now.getTime() - ADAPT_HISTORY_DAYS * 86_400_000).toISOString();
  // The given target, or the best measured one of the last 90 days.
  const rows = (await db.execute(sql`
    select t.id, t.content, t.thread_parts, t.media, t.platform_url, a.handle, a.platform,
           coalesce(l.likes,0)+coalesce(l.reposts,0)+coalesce(l.replies,0)+coalesce(l.quotes,0) as engagement,
           l.fetched_at
    from post_targets t
    join social_accounts a on a.workspace_id = t.workspace_id and a.id = t.social_account_id
    left join lateral (
      select s.likes, s.reposts, s.replies, s.quotes, s.fetched_at from metric_snapshots s
      where s.workspace_id = ${ctx.workspaceId} and s.target_id = t.id and s.status = 'ok'
      order by s.fetched_at desc limit 1) l on true
    where t.workspace_id = ${ctx.workspaceId} and t.status = 'published' ${byId}
      ${targetId ? sql`` : sql`and t.published_at >= ${since}::timestamptz and l.fetched_at is not null`}
    order by engagement desc, t.published_at desc
    limit 1`)) as unknown as {
    rows: Array<{
      id: string;
      content: string;
      thread_parts: string[] | null;
      media: unknown[] | null;
      platform_url: string | null;
      handle: string;
      platform: string;
      engagement: number | string;
      fetched_at: string | null;
    }>;
  };
  const row = rows.rows[0];
  if (!row)
    throw new HeraldError('not_found', {
      message: targetId
        ? `No published post target ${targetId} in this workspace`
        : `No measured published post in the last ${ADAPT_HISTORY_DAYS} days to adapt; give a url or a targetId`,
    });
  return row;
}

/** Measures the source, drafts the adaptation for the accounts, and records it (editor). */
export async function adaptPost(deps: AdaptDeps, ctx: ServiceContext, raw: AdaptInput): Promise<AdaptResult> {
  requireRole(ctx, 'editor');
  const parsed = AdaptInput.safeParse(raw);
  if (!parsed.success)
    throw new HeraldError('validation_failed', { message: parsed.error.issues.map((i) => i.message).join('; ') });
  const input = parsed.data;
  if (input.url && input.targetId)
    throw new HeraldError('validation_failed', { message: 'Give a url or a targetId, not both' });
  const s = deps.scheduling;
  const now = s.now?.() ?? new Date();
  let source: AdaptSource;
  let text: string;
  let structure: PostStructure;
  let sourceTargetId: string | null = null;
  if (input.url) {
    const post = await (deps.readPost ?? publicPostReader())(input.url);
    source = { kind: post.platform, url: post.url, author: post.author.handle, engagement: post.engagement };
    text = post.text;
    structure = structureOf(post.text, { media: post.media });
  } else {
    const own = await ownPost(s.db, ctx, input.targetId, now);
    sourceTargetId = own.id;
    source = { kind: 'own', url: own.platform_url, author: `@${own.handle}`, engagement: Number(own.engagement) };
    text = own.content;
    structure = structureOf(own.content, { threadParts: own.thread_parts?.length ?? 0, media: own.media?.length ?? 0 });
  }
  const quote = input.quote && text.trim() ? quoteOf(text) : null;
  const attribution = `${quote ? 'Quote from' : 'Adapted from'} ${source.author ?? source.kind}${source.url ? ` (${source.url})` : ''}`;
  // The writer (brand voice) sees only the skeleton: never the source's words.
  const drafted = await draftPost(deps, ctx, { text: skeletonFor(structure, input.topic), accounts: input.accounts });
  let post = drafted.post;
  if (quote) {
    // The quote and its attribution are added after the writer, so they are never lost or changed.
    const cite = `"${quote}" — ${source.author ?? source.kind}${source.url ? ` ${source.url}` : ''}`;
    try {
      post = await reviseDraft(s, ctx, post.id, {
        variants: post.targets.map((t) => ({ account: t.socialAccountId, text: `${t.content}\n\n${cite}` })),
      });
    } catch (err) {
      // The quoted text did not pass (e.g. over X's 280 characters): no half-made draft is left behind.
      await deletePost(s, ctx, post.id).catch(() => undefined);
      throw err;
    }
  }
  const [row] = await s.db
    .insert(schema.trendAdaptations)
    .values({
      workspaceId: ctx.workspaceId,
      postId: post.id,
      sourceKind: source.kind,
      sourceUrl: source.url,
      sourceAuthor: source.author,
      sourceTargetId,
      structure: structure as unknown as Record<string, unknown>,
      quote,
      createdBy: ctx.userId,
      createdAt: now,
    })
    .returning({ id: schema.trendAdaptations.id });
  return { ...drafted, post, adaptationId: row!.id, source, structure, quote, attribution };
}

export type Verdict = 'not_published' | 'not_measured' | 'no_baseline' | 'above' | 'in_line' | 'below';

export interface AdaptedTarget {
  targetId: string;
  platform: string;
  socialAccountId: string;
  status: string;
  publishedAt: string | null;
  /** Likes + reposts + replies + quotes at the latest measurement; null before one. */
  engagements: number | null;
  /** The account's other measured posts of the last 90 days (adapted ones left out). */
  baseline: { posts: number; meanEngagements: number } | null;
  /** engagements / the baseline's mean. */
  lift: number | null;
  verdict: Verdict;
}

export interface Adaptation {
  id: string;
  postId: string;
  createdAt: string;
  source: { kind: string; url: string | null; author: string | null; targetId: string | null };
  structure: PostStructure;
  quote: string | null;
  targets: AdaptedTarget[];
}

const verdictOf = (t: { status: string; engagements: number | null }, base: AdaptedTarget['baseline']): Verdict => {
  if (t.status !== 'published') return 'not_published';
  if (t.engagements === null) return 'not_measured';
  if (!base || base.posts < BASELINE_MIN_POSTS) return 'no_baseline';
  const lift = t.engagements / Math.max(base.meanEngagements, 1e-9);
  return lift >= LIFT_BAND ? 'above' : lift <= 1 / LIFT_BAND ? 'below' : 'in_line';
};

/** The workspace's adaptations, newest first, each target set against its account's baseline (viewer). */
export async function adaptationResults(
  deps: { db: Db; now?: (() => Date) | undefined },
  ctx: ServiceContext,
  opts: { limit?: number | undefined } = {},
): Promise<{
  adaptations: Adaptation[];
  summary: { measured: number; above: number; below: number; meanLift: number | null };
}> {
  requireRole(ctx, 'viewer');
  const limit = Math.min(Math.max(1, opts.limit ?? 20), 100);
  const now = deps.now?.() ?? new Date();
  const ws = ctx.workspaceId;
  const a = schema.trendAdaptations;
  const adaptations = await deps.db
    .select()
    .from(a)
    .where(eq(a.workspaceId, ws))
    .orderBy(sql`${a.createdAt} desc`)
    .limit(limit);
  if (adaptations.length === 0)
    return { adaptations: [], summary: { measured: 0, above: 0, below: 0, meanLift: null } };
  const postIds = adaptations.map((x) => x.postId);
  const list = `{${postIds.join(',')}}`;
  const targets = (
    (await deps.db.execute(sql`
      select t.id, t.post_id, t.platform, t.social_account_id, t.status, t.published_at, l.fetched_at,
             coalesce(l.likes,0)+coalesce(l.reposts,0)+coalesce(l.replies,0)+coalesce(l.quotes,0) as engagements
      from post_targets t
      left join lateral (
        select s.likes, s.reposts, s.replies, s.quotes, s.fetched_at from metric_snapshots s
        where s.workspace_id = ${ws} and s.target_id = t.id and s.status = 'ok'
        order by s.fetched_at desc limit 1) l on true
      where t.workspace_id = ${ws} and t.post_id = any(${list}::uuid[])
      order by t.platform, t.id`)) as unknown as {
      rows: Array<{
        id: string;
        post_id: string;
        platform: string;
        social_account_id: string;
        status: string;
        published_at: string | Date | null;
        fetched_at: string | Date | null;
        engagements: number | string;
      }>;
    }
  ).rows;
  const accounts = [...new Set(targets.map((t) => t.social_account_id))];
  const since = new Date(now.getTime() - ADAPT_HISTORY_DAYS * 86_400_000).toISOString();
  // Each account's baseline: its measured published posts of the last 90 days, adapted posts left out.
  const baselines = new Map(
    (
      (await deps.db.execute(sql`
        select t.social_account_id, count(*)::int as posts,
               avg(coalesce(l.likes,0)+coalesce(l.reposts,0)+coalesce(l.replies,0)+coalesce(l.quotes,0))::float8 as mean
        from post_targets t
        join lateral (
          select s.likes, s.reposts, s.replies, s.quotes from metric_snapshots s
          where s.workspace_id = ${ws} and s.target_id = t.id and s.status = 'ok'
          order by s.fetched_at desc limit 1) l on true
        where t.workspace_id = ${ws} and t.status = 'published'
          and t.social_account_id = any(${`{${accounts.join(',')}}`}::uuid[])
          and t.published_at >= ${since}::timestamptz
          and not exists (select 1 from trend_adaptations x where x.workspace_id = ${ws} and x.post_id = t.post_id)
        group by t.social_account_id`)) as unknown as {
        rows: Array<{ social_account_id: string; posts: number; mean: number | string }>;
      }
    ).rows.map((r) => [
      r.social_account_id,
      { posts: Number(r.posts), meanEngagements: Math.round(Number(r.mean) * 100) / 100 },
    ]),
  );
  const lifts: number[] = [];
  let above = 0;
  let below = 0;
  const out = adaptations.map<Adaptation>((x) => ({
    id: x.id,
    postId: x.postId,
    createdAt: x.createdAt.toISOString(),
    source: { kind: x.sourceKind, url: x.sourceUrl, author: x.sourceAuthor, targetId: x.sourceTargetId },
    structure: x.structure as unknown as PostStructure,
    quote: x.quote,
    targets: targets
      .filter((t) => t.post_id === x.postId)
      .map((t) => {
        const engagements = t.fetched_at === null ? null : Number(t.engagements);
        const baseline = baselines.get(t.social_account_id) ?? null;
        const verdict = verdictOf({ status: t.status, engagements }, baseline);
        const lift =
          engagements !== null && baseline && baseline.posts >= BASELINE_MIN_POSTS && baseline.meanEngagements > 0
            ? Math.round((engagements / baseline.meanEngagements) * 100) / 100
            : null;
        if (lift !== null) lifts.push(lift);
        if (verdict === 'above') above += 1;
        if (verdict === 'below') below += 1;
        return {
          targetId: t.id,
          platform: t.platform,
          socialAccountId: t.social_account_id,
          status: t.status,
          publishedAt: t.published_at ? new Date(t.published_at).toISOString() : null,
          engagements,
          baseline,
          lift,
          verdict,
        };
      }),
  }));
  return {
    adaptations: out,
    summary: {
      measured: lifts.length,
      above,
      below,
      meanLift: lifts.length ? Math.round((lifts.reduce((p, q) => p + q, 0) / lifts.length) * 100) / 100 : null,
    },
  };
}
