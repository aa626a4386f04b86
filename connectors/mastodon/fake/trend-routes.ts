/**
 * The fake Mastodon's trends, per https://docs.joinmastodon.org/methods/trends/: public
 * `GET /api/v1/trends/tags` (Tag entities with daily history; default 10, max 20),
 * `/trends/statuses` (Status entities; default 20, max 40) and `/trends/links` (PreviewCard
 * with history; default 10, max 20), each paged with `offset`. Tests set what trends and can
 * make the next trends calls answer 429 with Retry-After (rate limits are per IP for
 * unauthenticated calls, https://docs.joinmastodon.org/api/rate-limits/).
 */
import { error, json, type Ctx, type Route } from './http.js';
import type { FakeState } from './state.js';

export interface FakeTrendTag {
  name: string;
  /** Uses per day, newest first (history[0] is today). */
  uses: number[];
}
export interface FakeTrendStatus {
  id: string;
  content: string;
  language?: string | null;
  createdAt: string;
  favourites: number;
  reblogs: number;
  replies: number;
  tags: string[];
}
export interface FakeTrendLink {
  url: string;
  title: string;
  description: string;
  uses: number[];
}
export interface FakeTrends {
  tags: FakeTrendTag[];
  statuses: FakeTrendStatus[];
  links: FakeTrendLink[];
  /** Raw extra entries served as they are (malformed items in tests). */
  rawStatuses: unknown[];
  /** The next `count` trends calls answer 429 with this Retry-After. */
  throttle: { count: number; retryAfterSeconds: number } | null;
}

const TRENDS = new WeakMap<FakeState, FakeTrends>();

export function trendsOf(state: FakeState): FakeTrends {
  let t = TRENDS.get(state);
  if (!t) TRENDS.set(state, (t = { tags: [], statuses: [], links: [], rawStatuses: [], throttle: null }));
  return t;
}

const DAY_S = 86_400;
const history = (uses: number[]) => {
  const today = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S;
  return uses.map((u, i) => ({ day: String(today - i * DAY_S), uses: String(u), accounts: String(Math.ceil(u / 2)) }));
};

function page<T>(c: Ctx, list: T[], def: number, max: number): T[] {
  const limit = Math.min(Math.max(Number(c.params.get('limit') ?? def) || def, 1), max);
  const offset = Math.max(Number(c.params.get('offset') ?? 0) || 0, 0);
  return list.slice(offset, offset + limit);
}

function trendsRoute(path: RegExp, body: (c: Ctx, t: FakeTrends) => unknown[]): Route {
  return {
    method: 'GET',
    path,
    handle: (c) => {
      const t = trendsOf(c.state);
      if (t.throttle && t.throttle.count > 0) {
        t.throttle.count -= 1;
        return error(429, 'Too many requests', { 'retry-after': String(t.throttle.retryAfterSeconds) });
      }
      return json(200, body(c, t));
    },
  };
}

export const trendRoutes: Route[] = [
  trendsRoute(/^\/api\/v1\/trends(?:\/tags)?$/, (c, t) =>
    page(c, t.tags, 10, 20).map((tag) => ({
      name: tag.name,
      url: `${c.state.baseUrl}/tags/${encodeURIComponent(tag.name)}`,
      history: history(tag.uses),
    })),
  ),
  trendsRoute(/^\/api\/v1\/trends\/statuses$/, (c, t) => [
    ...page(c, t.statuses, 20, 40).map((s) => ({
      id: s.id,
      uri: `${c.state.baseUrl}/users/someone/statuses/${s.id}`,
      url: `${c.state.baseUrl}/@someone/${s.id}`,
      created_at: s.createdAt,
      content: s.content,
      language: s.language ?? 'en',
      visibility: 'public',
      sensitive: false,
      spoiler_text: '',
      reblogs_count: s.reblogs,
      favourites_count: s.favourites,
      replies_count: s.replies,
      tags: s.tags.map((name) => ({ name, url: `${c.state.baseUrl}/tags/${name}` })),
      account: { id: '1', username: 'someone', acct: 'someone', url: `${c.state.baseUrl}/@someone` },
      media_attachments: [],
      mentions: [],
      emojis: [],
    })),
    ...t.rawStatuses,
  ]),
  trendsRoute(/^\/api\/v1\/trends\/links$/, (c, t) =>
    page(c, t.links, 10, 20).map((l) => ({
      url: l.url,
      title: l.title,
      description: l.description,
      type: 'link',
      author_name: '',
      author_url: '',
      provider_name: new URL(l.url).host,
      provider_url: '',
      html: '',
      width: 0,
      height: 0,
      image: null,
      embed_url: '',
      blurhash: null,
      history: history(l.uses),
    })),
  ),
];
