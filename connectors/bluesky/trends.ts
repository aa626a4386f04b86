/**
 * Bluesky as a trend source, read from the public AppView without a session
 * (https://public.api.bsky.app): `app.bsky.unspecced.getTrendingTopics` (the network's
 * trending topics, `{ topics, suggested }` of `{ topic, displayName?, description?, link }`)
 * and `app.bsky.feed.searchPosts?q=<keyword>&sort=latest` for the niche's keywords (posts
 * as `postView`s, paged by `cursor`). A 429 honours `RateLimit-Reset` (epoch seconds) or
 * Retry-After; a post or topic that does not match the lexicon is skipped, not the answer.
 * The budget is the server's, shared fairly by workspaces (FairShareBudget): a niche searches
 * as many of its keywords as its share allows, in turn.
 */
import { z } from 'zod';
import {
  DEFAULT_TREND_BUDGET,
  FairRotation,
  FairShareBudget,
  getJson,
  type CallBudget,
  type FairShareOptions,
  type GetOptions,
  type TrendItem,
  type TrendQuery,
  type TrendSource,
} from '../trend-source.js';

export const BLUESKY_APPVIEW_URL = 'https://public.api.bsky.app';
/** Topics asked for (the lexicon's maximum). */
export const BLUESKY_TOPICS_LIMIT = 25;
/** Posts per search page (the lexicon allows 1–100). */
export const BLUESKY_SEARCH_LIMIT = 50;
/** Keywords searched per collection: the niche's first ones. */
export const BLUESKY_MAX_KEYWORDS = 10;

// app.bsky.unspecced.defs#trendingTopic
const Topic = z.object({
  topic: z.string().min(1),
  displayName: z.string().nullish(),
  description: z.string().nullish(),
  link: z.string(),
});
const TopicsAnswer = z.object({ topics: z.array(z.unknown()), suggested: z.array(z.unknown()).default([]) });
// app.bsky.feed.defs#postView (the fields read) with an app.bsky.feed.post record.
const Facet = z.object({ features: z.array(z.object({ $type: z.string(), tag: z.string().optional() })) });
const PostView = z.object({
  uri: z.string().startsWith('at://'),
  author: z.object({ did: z.string(), handle: z.string() }),
  record: z.object({
    text: z.string(),
    createdAt: z.string(),
    langs: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
    facets: z.array(Facet).optional(),
  }),
  likeCount: z.number().optional(),
  repostCount: z.number().optional(),
  replyCount: z.number().optional(),
  quoteCount: z.number().optional(),
  indexedAt: z.string(),
});
const SearchAnswer = z.object({ posts: z.array(z.unknown()), cursor: z.string().optional() });

/** RateLimit-Reset is a Unix time in seconds; the budget wants seconds from now. */
const retryAfter = (h: Headers): string | null => {
  const ra = h.get('retry-after');
  if (ra) return ra;
  const reset = Number(h.get('ratelimit-reset'));
  return Number.isFinite(reset) && reset > 0 ? String(Math.max(1, Math.ceil(reset - Date.now() / 1000))) : null;
};

export interface BlueskyTrendsOptions {
  /** The AppView. Default {@link BLUESKY_APPVIEW_URL}. */
  baseUrl?: string;
  /** Default 60 calls a minute for the whole server (the public AppView allows far more per IP), shared fairly by workspaces. */
  budget?: FairShareOptions;
  now?: () => number;
  timeoutMs?: number;
  /** Search pages read per keyword (each up to {@link BLUESKY_SEARCH_LIMIT} posts). Default 1. */
  pages?: number;
}

export class BlueskyTrendsSource implements TrendSource {
  readonly name = 'bluesky';
  readonly #budget: FairShareBudget;
  readonly #rotation: FairRotation;

  constructor(private readonly options: BlueskyTrendsOptions = {}) {
    this.#budget = new FairShareBudget(this.name, options.budget ?? DEFAULT_TREND_BUDGET, options.now);
    this.#rotation = new FairRotation(this.#budget);
  }

  #get(budget: CallBudget, method: string, params: Record<string, string>): Promise<unknown> {
    const url = new URL(`/xrpc/${method}`, this.options.baseUrl ?? BLUESKY_APPVIEW_URL);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const opts: GetOptions = { timeoutMs: this.options.timeoutMs, retryAfter };
    return getJson(budget, url, opts);
  }

  async fetch(query: TrendQuery): Promise<TrendItem[]> {
    // Without keywords there is no niche to measure the network's topics against.
    if (query.keywords.length === 0) return [];
    const key = query.workspaceId ?? '';
    // The topics (one call), then as many keywords as this workspace's share allows, in turn.
    const keywords = this.#rotation.pick(
      key,
      query.keywords.slice(0, BLUESKY_MAX_KEYWORDS),
      this.options.pages ?? 1,
      1,
    );
    const budget = this.#budget.for(key);
    const out = new Map<string, TrendItem>();
    const topics = TopicsAnswer.safeParse(
      await this.#get(budget, 'app.bsky.unspecced.getTrendingTopics', { limit: String(BLUESKY_TOPICS_LIMIT) }),
    );
    if (topics.success)
      for (const raw of topics.data.topics) {
        const t = Topic.safeParse(raw);
        if (!t.success) continue;
        const name = t.data.displayName || t.data.topic;
        out.set(`topic:${t.data.topic.toLowerCase()}`, {
          externalId: `topic:${t.data.topic.toLowerCase()}`,
          title: t.data.description ? `${name} — ${t.data.description}` : name,
          url: new URL(t.data.link, 'https://bsky.app').toString(),
          tags: [t.data.topic.replace(/^#/, '')],
          engagement: 0,
          publishedAt: null,
        });
      }
    const langs = new Set(query.languages.map((l) => l.toLowerCase()));
    for (const keyword of keywords) {
      let cursor: string | undefined;
      for (let page = 0; page < (this.options.pages ?? 1); page++) {
        const params: Record<string, string> = { q: keyword, sort: 'latest', limit: String(BLUESKY_SEARCH_LIMIT) };
        if (langs.size === 1) params.lang = [...langs][0]!;
        if (cursor) params.cursor = cursor;
        const answer = SearchAnswer.safeParse(await this.#get(budget, 'app.bsky.feed.searchPosts', params));
        if (!answer.success) break;
        for (const raw of answer.data.posts) {
          const p = PostView.safeParse(raw);
          if (!p.success) continue;
          const post = p.data;
          const postLangs = post.record.langs ?? [];
          if (langs.size > 0 && postLangs.length > 0 && !postLangs.some((l) => langs.has(l.toLowerCase().slice(0, 2))))
            continue;
          const tags = [
            ...(post.record.tags ?? []),
            ...(post.record.facets ?? []).flatMap((f) =>
              f.features.filter((x) => x.$type === 'app.bsky.richtext.facet#tag' && x.tag).map((x) => x.tag!),
            ),
          ];
          const rkey = post.uri.split('/').pop() ?? '';
          out.set(post.uri, {
            externalId: post.uri,
            title: post.record.text.slice(0, 500),
            url: `https://bsky.app/profile/${post.author.handle}/post/${rkey}`,
            tags,
            engagement:
              (post.likeCount ?? 0) + (post.repostCount ?? 0) + (post.replyCount ?? 0) + (post.quoteCount ?? 0),
            publishedAt: new Date(post.record.createdAt),
          });
        }
        cursor = answer.data.cursor;
        if (!cursor) break;
      }
    }
    return [...out.values()];
  }
}
