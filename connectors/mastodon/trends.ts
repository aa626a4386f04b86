/**
 * Mastodon trends as a trend source: `GET /api/v1/trends/tags`, `/trends/statuses` and
 * `/trends/links` of each instance the workspace picks, read without a token (public
 * endpoints, https://docs.joinmastodon.org/methods/trends/). Each instance has its own rate
 * budget; an instance that fails is reported while the others still deliver; an item that
 * does not match the documented entity is skipped, not the whole answer. Instances are
 * addresses users typed, so they are fetched through the outbound policy (core/net/outbound):
 * one on a loopback or private address is refused, as a knowledge page's would be.
 */
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { userUrlDispatcher } from '../../core/index.js';
import {
  getJson,
  RateBudget,
  TrendSourceError,
  type RateBudgetOptions,
  type TrendItem,
  type TrendQuery,
  type TrendSource,
} from '../trend-source.js';

/** How many of each kind are asked for: the documented maximums (tags 20, statuses 40, links 20). */
export const MASTODON_TREND_LIMITS = { tags: 20, statuses: 40, links: 20 } as const;

// https://docs.joinmastodon.org/entities/Tag/ — history: one entry per day, counts as strings.
const History = z.array(z.object({ day: z.string(), uses: z.string(), accounts: z.string() })).default([]);
const Tag = z.object({ name: z.string().min(1), url: z.string(), history: History });
// https://docs.joinmastodon.org/entities/Status/
const Status = z.object({
  id: z.string(),
  created_at: z.string(),
  content: z.string(),
  url: z.string().nullable().optional(),
  uri: z.string(),
  language: z.string().nullable().optional(),
  reblogs_count: z.number(),
  favourites_count: z.number(),
  replies_count: z.number(),
  tags: z.array(z.object({ name: z.string() })).default([]),
});
// https://docs.joinmastodon.org/entities/PreviewCard/#trends-link
const Link = z.object({ url: z.string(), title: z.string(), description: z.string().default(''), history: History });

const usesToday = (h: z.infer<typeof History>) => Number(h[0]?.uses ?? 0) || 0;
const plain = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();

function items<T>(body: unknown, schema: z.ZodType<T>): T[] {
  if (!Array.isArray(body)) return [];
  return body.flatMap((raw) => {
    const r = schema.safeParse(raw);
    return r.success ? [r.data] : [];
  });
}

/** Instance budgets kept at once by default. */
export const MASTODON_MAX_HOSTS = 1_000;

export interface MastodonTrendsOptions {
  /** Per instance; default 60 calls a minute. */
  budget?: RateBudgetOptions;
  timeoutMs?: number;
  /** Instance budgets kept at once (LRU). Default {@link MASTODON_MAX_HOSTS}. */
  maxHosts?: number;
  /** An instance's budget is forgotten after this long unused. Default 1 h. */
  hostIdleMs?: number;
}

export class MastodonTrendsSource implements TrendSource {
  readonly name = 'mastodon';
  /**
   * One budget per instance host. Hosts are whatever niches name, so the map is bounded: the
   * least recently used go first past `maxHosts`, and a host unused for `hostIdleMs` is
   * forgotten (longer than any pause an instance asks for, so a 429 is still honoured).
   */
  readonly #budgets: LRUCache<string, RateBudget>;

  constructor(private readonly options: MastodonTrendsOptions = {}) {
    this.#budgets = new LRUCache({
      max: options.maxHosts ?? MASTODON_MAX_HOSTS,
      ttl: options.hostIdleMs ?? 3_600_000,
      updateAgeOnGet: true,
    });
  }

  /** Instance budgets held now (at most `maxHosts`). */
  get trackedHosts(): number {
    return this.#budgets.size;
  }

  #budget(host: string): RateBudget {
    let b = this.#budgets.get(host);
    if (!b) this.#budgets.set(host, (b = new RateBudget(this.name, this.options.budget)));
    return b;
  }

  async fetch(query: TrendQuery): Promise<TrendItem[]> {
    if (query.mastodonInstances.length === 0) return [];
    const results = await Promise.allSettled(query.mastodonInstances.map((base) => this.#instance(base, query)));
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Every instance failing is the source failing; some failing still delivers the rest.
    if (failed.length === results.length) throw failed[0]!.reason;
    return ok;
  }

  async #instance(base: string, query: TrendQuery): Promise<TrendItem[]> {
    const budget = this.#budget(new URL(base).host);
    const get = (path: string, limit: number) => {
      const url = new URL(path, base);
      url.searchParams.set('limit', String(limit));
      // The instance is an address a user typed: loopback and private addresses are refused.
      return getJson(budget, url, { timeoutMs: this.options.timeoutMs, dispatcher: userUrlDispatcher() });
    };
    // One after another: a 429 on the first stops the instance's other calls.
    const tags = items(await get('/api/v1/trends/tags', MASTODON_TREND_LIMITS.tags), Tag);
    const statuses = items(await get('/api/v1/trends/statuses', MASTODON_TREND_LIMITS.statuses), Status);
    const links = items(await get('/api/v1/trends/links', MASTODON_TREND_LIMITS.links), Link);
    const langs = new Set(query.languages.map((l) => l.toLowerCase()));
    const host = new URL(base).host;
    return [
      ...tags.map<TrendItem>((t) => ({
        externalId: `${host}/tags/${t.name.toLowerCase()}`,
        title: `#${t.name}`,
        url: t.url,
        tags: [t.name],
        engagement: usesToday(t.history),
        publishedAt: null,
      })),
      ...statuses
        .filter((s) => langs.size === 0 || !s.language || langs.has(s.language.toLowerCase()))
        .map<TrendItem>((s) => ({
          externalId: s.uri,
          title: plain(s.content).slice(0, 500),
          url: s.url ?? s.uri,
          tags: s.tags.map((t) => t.name),
          engagement: s.favourites_count + s.reblogs_count + s.replies_count,
          publishedAt: new Date(s.created_at),
        })),
      ...links.map<TrendItem>((l) => ({
        externalId: l.url,
        title: `${l.title}${l.description ? ` — ${l.description}` : ''}`.slice(0, 500),
        url: l.url,
        tags: [],
        engagement: usesToday(l.history),
        publishedAt: null,
      })),
    ];
  }
}

export { TrendSourceError };
