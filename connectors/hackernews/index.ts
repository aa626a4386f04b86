/**
 * Hacker News as a trend source, through the HN Search API by Algolia
 * (https://hn.algolia.com/api): `GET /api/v1/search_by_date?query=<keyword>&tags=story` per
 * niche keyword, newest first. Each hit is a story (`objectID`, `title`, `url`, `points`,
 * `num_comments`, `created_at_i`); a hit without a title or id is skipped. The API is public
 * and limited to 10,000 requests an hour per IP, so the source keeps a budget well under it,
 * one for the whole server shared fairly by workspaces (FairShareBudget): a niche searches as
 * many of its keywords as its share allows, the next collection going on with the others.
 */
import { z } from 'zod';
import {
  FairRotation,
  FairShareBudget,
  getJson,
  type FairShareOptions,
  type TrendItem,
  type TrendQuery,
  type TrendSource,
} from '../trend-source.js';

export const HN_ALGOLIA_URL = 'https://hn.algolia.com';
/** Stories asked for per keyword. */
export const HN_HITS_PER_KEYWORD = 30;
/** Keywords searched per collection (the rest wait: the niche's first ones lead). */
export const HN_MAX_KEYWORDS = 10;

const Hit = z.object({
  objectID: z.string().min(1),
  title: z.string().min(1),
  url: z.string().nullable().optional(),
  points: z.number().nullable().optional(),
  num_comments: z.number().nullable().optional(),
  created_at_i: z.number(),
});
const Answer = z.object({ hits: z.array(z.unknown()) });

export class HackerNewsSource implements TrendSource {
  readonly name = 'hackernews';
  readonly #budget: FairShareBudget;
  readonly #rotation: FairRotation;

  constructor(
    private readonly options: {
      baseUrl?: string;
      /** Default 100 calls an hour for the whole server, shared fairly by workspaces. */
      budget?: FairShareOptions;
      timeoutMs?: number;
      now?: () => number;
    } = {},
  ) {
    this.#budget = new FairShareBudget(this.name, options.budget ?? { calls: 100, windowMs: 60 * 60_000 }, options.now);
    this.#rotation = new FairRotation(this.#budget);
  }

  async fetch(query: TrendQuery): Promise<TrendItem[]> {
    const seen = new Map<string, TrendItem>();
    const key = query.workspaceId ?? '';
    // As many keywords as this workspace's share allows, going on where its last collection stopped.
    const keywords = this.#rotation.pick(key, query.keywords.slice(0, HN_MAX_KEYWORDS), 1);
    const budget = this.#budget.for(key);
    for (const keyword of keywords) {
      const url = new URL('/api/v1/search_by_date', this.options.baseUrl ?? HN_ALGOLIA_URL);
      url.searchParams.set('query', keyword);
      url.searchParams.set('tags', 'story');
      url.searchParams.set('hitsPerPage', String(HN_HITS_PER_KEYWORD));
      const answer = Answer.safeParse(await getJson(budget, url, this.options.timeoutMs));
      if (!answer.success) continue;
      for (const raw of answer.data.hits) {
        const h = Hit.safeParse(raw);
        if (!h.success) continue;
        const id = h.data.objectID;
        seen.set(id, {
          externalId: id,
          title: h.data.title.slice(0, 500),
          url: h.data.url ?? `https://news.ycombinator.com/item?id=${id}`,
          tags: [],
          engagement: (h.data.points ?? 0) + (h.data.num_comments ?? 0),
          publishedAt: new Date(h.data.created_at_i * 1000),
        });
      }
    }
    return [...seen.values()];
  }
}
