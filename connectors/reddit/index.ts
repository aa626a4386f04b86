/**
 * Reddit as a trend source, through its public JSON listings for the subreddits a workspace
 * picks (no OAuth): `GET /r/<sub>/hot.json` and `/r/<sub>/top.json?t=day`, each a `Listing`
 * of `t3` things paged by `after`. Reddit asks every client for a unique, descriptive
 * User-Agent (default ones are throttled hard) and answers 429 with `X-Ratelimit-Reset`
 * (seconds) when the budget is spent, which pauses this source. That limit is the server's
 * (per IP), so one budget is shared by every workspace, split fairly ({@link FairShareBudget}):
 * a workspace reads as many of its subreddits as its share of the window allows, the next
 * collection going on from where this one stopped, so a niche with many subreddits never
 * starves the others. Stickied and NSFW posts are left out; a child that is not a post is
 * skipped; one subreddit failing still delivers the others.
 */
import { z } from 'zod';
import {
  eachTarget,
  FairRotation,
  FairShareBudget,
  getJson,
  TrendSourceError,
  type CallBudget,
  type FairShareOptions,
  type TrendItem,
  type TrendQuery,
  type TrendSource,
} from '../trend-source.js';

export const REDDIT_URL = 'https://www.reddit.com';
/** Says who calls and why, as Reddit's API rules ask (platform:app:version). */
export const REDDIT_USER_AGENT = 'server:herald-trend-research:0.1 (self-hosted Herald; public listings only)';
/** Posts per listing page (Reddit allows up to 100). */
export const REDDIT_PAGE_LIMIT = 50;
/** Subreddits read per collection. */
export const REDDIT_MAX_SUBREDDITS = 10;
/** A subreddit name as Reddit allows them. */
export const SUBREDDIT_NAME = /^[A-Za-z0-9][A-Za-z0-9_]{1,20}$/;

const Post = z.object({
  kind: z.literal('t3'),
  data: z.object({
    id: z.string().min(1),
    name: z.string(),
    title: z.string().min(1),
    permalink: z.string(),
    url: z.string().nullish(),
    score: z.number(),
    num_comments: z.number(),
    created_utc: z.number(),
    subreddit: z.string(),
    stickied: z.boolean().default(false),
    over_18: z.boolean().default(false),
    link_flair_text: z.string().nullish(),
  }),
});
const Listing = z.object({
  kind: z.literal('Listing'),
  data: z.object({ children: z.array(z.unknown()), after: z.string().nullable().optional() }),
});

export interface RedditSourceOptions {
  baseUrl?: string;
  userAgent?: string;
  /**
   * Default 10 calls a minute for the whole server (unauthenticated clients get far fewer than
   * OAuth apps), at most half of them to one workspace, the rest split among the workspaces
   * that read Reddit in the last hour.
   */
  budget?: FairShareOptions;
  /** The budget's clock (tests). */
  now?: () => number;
  timeoutMs?: number;
  /** Pages of `hot` read per subreddit (`top` of the day is one page). Default 1. */
  pages?: number;
}

export class RedditSource implements TrendSource {
  readonly name = 'reddit';
  readonly #budget: FairShareBudget;
  readonly #rotation: FairRotation;

  constructor(private readonly options: RedditSourceOptions = {}) {
    this.#budget = new FairShareBudget(this.name, options.budget ?? { calls: 10, windowMs: 60_000 }, options.now);
    this.#rotation = new FairRotation(this.#budget);
  }

  /** Calls a subreddit costs: its pages of hot, and top of the day. */
  get #callsPerSubreddit() {
    return (this.options.pages ?? 1) + 1;
  }

  async fetch(query: TrendQuery): Promise<TrendItem[]> {
    const key = query.workspaceId ?? '';
    const subs = (query.subreddits ?? []).filter((s) => SUBREDDIT_NAME.test(s)).slice(0, REDDIT_MAX_SUBREDDITS);
    if (subs.length === 0) return [];
    // As many subreddits as this workspace's share allows now, from where the last collection stopped.
    const chosen = this.#rotation.pick(key, subs, this.#callsPerSubreddit);
    const budget = this.#budget.for(key);
    return eachTarget(chosen, (sub) => this.#subreddit(budget, sub));
  }

  async #listing(budget: CallBudget, sub: string, kind: 'hot' | 'top', after: string | null) {
    const url = new URL(`/r/${sub}/${kind}.json`, this.options.baseUrl ?? REDDIT_URL);
    url.searchParams.set('limit', String(REDDIT_PAGE_LIMIT));
    url.searchParams.set('raw_json', '1');
    if (kind === 'top') url.searchParams.set('t', 'day');
    if (after) url.searchParams.set('after', after);
    const body = await getJson(budget, url, {
      timeoutMs: this.options.timeoutMs,
      headers: { 'user-agent': this.options.userAgent ?? REDDIT_USER_AGENT },
    });
    const listing = Listing.safeParse(body);
    return listing.success ? listing.data.data : { children: [], after: null };
  }

  async #subreddit(budget: CallBudget, sub: string): Promise<TrendItem[]> {
    const children: unknown[] = [];
    let after: string | null = null;
    for (let page = 0; page < (this.options.pages ?? 1); page++) {
      const l = await this.#listing(budget, sub, 'hot', after);
      children.push(...l.children);
      after = l.after ?? null;
      if (!after) break;
    }
    try {
      children.push(...(await this.#listing(budget, sub, 'top', null)).children);
    } catch (err) {
      // The share ran out after hot was read: keep what hot gave.
      if (!(err instanceof TrendSourceError && err.kind === 'rate_limited')) throw err;
    }
    const out = new Map<string, TrendItem>();
    for (const raw of children) {
      const p = Post.safeParse(raw);
      if (!p.success || p.data.data.stickied || p.data.data.over_18) continue;
      const d = p.data.data;
      out.set(d.name, {
        externalId: d.name,
        title: d.title.slice(0, 500),
        url: new URL(d.permalink, 'https://www.reddit.com').toString(),
        tags: [d.subreddit.toLowerCase(), ...(d.link_flair_text ? [d.link_flair_text] : [])].filter((t) =>
          /^[\p{L}\p{N}_]+$/u.test(t),
        ),
        engagement: Math.max(0, d.score) + d.num_comments,
        publishedAt: new Date(d.created_utc * 1000),
      });
    }
    return [...out.values()];
  }
}
