/**
 * A local public AppView for the trend source's tests, from the lexicons
 * (`app.bsky.unspecced.getTrendingTopics`: `limit` 1–25, `{ topics, suggested }`;
 * `app.bsky.feed.searchPosts`: `q` required, `sort` latest|top, `limit` 1–100, `cursor`,
 * `lang`, answering `{ posts: postView[], cursor?, hitsTotal? }`). The real AppView from
 * `@atproto/dev-env` (see fake.ts) serves neither without Bluesky's separate search and topic
 * services, so this one answers them. For adapting a post it also answers
 * `com.atproto.identity.resolveHandle` (`{ did }`, 400 `InvalidRequest` "Unable to resolve
 * handle") and `app.bsky.feed.getPosts` (`uris` 1–25, `{ posts: postView[] }`, a post that
 * does not exist left out). XRPC errors are `{ error, message }`: a missing `q` is
 * 400 `BadQueryString`; tests can make calls answer 429 with `RateLimit-*` headers or 502.
 */
import { createServer, type Server } from 'node:http';

export interface FakeBskyPost {
  rkey: string;
  handle: string;
  text: string;
  createdAt: string;
  langs?: string[];
  /** Hashtags as facets (`app.bsky.richtext.facet#tag`). */
  hashtags?: string[];
  likes?: number;
  reposts?: number;
  replies?: number;
  /** Images attached (`app.bsky.embed.images#view`). */
  images?: number;
}

export interface FakeBskyTopic {
  topic: string;
  displayName?: string;
  description?: string;
  link: string;
}

export interface BlueskyTrendsFake {
  readonly url: string;
  setTopics(topics: FakeBskyTopic[]): void;
  addPost(post: FakeBskyPost): void;
  /** Raw entries served after the matching posts (malformed items). */
  addRawPost(raw: unknown): void;
  /** The next `count` calls answer 429 (RateLimit-Reset `resetSeconds` from now) or 502. */
  failNext(count: number, status: 429 | 502, resetSeconds?: number): void;
  requests(): string[];
  close(): Promise<void>;
}

const DID = (handle: string) => `did:plc:${Buffer.from(handle).toString('hex').slice(0, 24).padEnd(24, 'a')}`;

// app.bsky.feed.defs#postView, as searchPosts and getPosts answer it.
function postView(p: FakeBskyPost) {
  const did = DID(p.handle);
  return {
    uri: `at://${did}/app.bsky.feed.post/${p.rkey}`,
    cid: `bafyrei${p.rkey.padEnd(52, 'q')}`.slice(0, 59),
    author: { did, handle: p.handle, displayName: p.handle.split('.')[0], labels: [] },
    record: {
      $type: 'app.bsky.feed.post',
      text: p.text,
      createdAt: p.createdAt,
      ...(p.langs ? { langs: p.langs } : {}),
      ...(p.hashtags?.length
        ? {
            facets: p.hashtags.map((tag) => {
              const at = Buffer.from(p.text).indexOf(`#${tag}`);
              return {
                index: { byteStart: Math.max(0, at), byteEnd: Math.max(0, at) + Buffer.byteLength(`#${tag}`) },
                features: [{ $type: 'app.bsky.richtext.facet#tag', tag }],
              };
            }),
          }
        : {}),
    },
    ...(p.images
      ? {
          embed: {
            $type: 'app.bsky.embed.images#view',
            images: Array.from({ length: p.images }, (_, i) => ({
              thumb: `https://cdn.bsky.app/img/feed_thumbnail/plain/${did}/${p.rkey}${i}@jpeg`,
              fullsize: `https://cdn.bsky.app/img/feed_fullsize/plain/${did}/${p.rkey}${i}@jpeg`,
              alt: '',
            })),
          },
        }
      : {}),
    replyCount: p.replies ?? 0,
    repostCount: p.reposts ?? 0,
    likeCount: p.likes ?? 0,
    quoteCount: 0,
    indexedAt: p.createdAt,
    labels: [],
  };
}

export async function startBlueskyTrendsFake(): Promise<BlueskyTrendsFake> {
  let topics: FakeBskyTopic[] = [];
  const posts: FakeBskyPost[] = [];
  const raw: unknown[] = [];
  const seen: string[] = [];
  let fail: { count: number; status: number; reset: number } | null = null;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push(url.pathname + url.search);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        .end(JSON.stringify(body));
    if (fail && fail.count > 0) {
      fail.count -= 1;
      if (fail.status === 429)
        return send(
          429,
          { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
          {
            'ratelimit-limit': '3000',
            'ratelimit-remaining': '0',
            'ratelimit-reset': String(Math.floor(Date.now() / 1000) + fail.reset),
            'ratelimit-policy': '3000;w=300',
          },
        );
      return send(fail.status, { error: 'UpstreamFailure', message: 'Upstream Failure' });
    }
    if (req.method !== 'GET') return send(405, { error: 'InvalidRequest', message: 'Method Not Allowed' });
    if (url.pathname === '/xrpc/app.bsky.unspecced.getTrendingTopics') {
      const limit = Number(url.searchParams.get('limit') ?? 10);
      if (!Number.isInteger(limit) || limit < 1 || limit > 25)
        return send(400, { error: 'InvalidRequest', message: 'limit must be between 1 and 25' });
      return send(200, { topics: topics.slice(0, limit), suggested: [] });
    }
    if (url.pathname === '/xrpc/app.bsky.feed.searchPosts') {
      const q = url.searchParams.get('q');
      if (!q) return send(400, { error: 'InvalidRequest', message: 'Error: Params must have the property "q"' });
      const limit = Number(url.searchParams.get('limit') ?? 25);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        return send(400, { error: 'InvalidRequest', message: 'limit must be between 1 and 100' });
      const lang = url.searchParams.get('lang');
      const offset = Number(url.searchParams.get('cursor') ?? 0) || 0;
      const words = q.toLowerCase().split(/\s+/).filter(Boolean);
      const matching = posts
        .filter((p) => words.every((w) => p.text.toLowerCase().includes(w)))
        .filter((p) => !lang || !p.langs?.length || p.langs.includes(lang))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const page = matching.slice(offset, offset + limit).map(postView);
      const next = offset + limit < matching.length ? String(offset + limit) : undefined;
      return send(200, {
        posts: [...page, ...(offset === 0 ? raw : [])],
        hitsTotal: matching.length,
        ...(next ? { cursor: next } : {}),
      });
    }
    if (url.pathname === '/xrpc/com.atproto.identity.resolveHandle') {
      const handle = url.searchParams.get('handle');
      if (!handle)
        return send(400, { error: 'InvalidRequest', message: 'Error: Params must have the property "handle"' });
      if (!posts.some((p) => p.handle === handle))
        return send(400, { error: 'InvalidRequest', message: 'Unable to resolve handle' });
      return send(200, { did: DID(handle) });
    }
    if (url.pathname === '/xrpc/app.bsky.feed.getPosts') {
      const uris = url.searchParams.getAll('uris');
      if (uris.length < 1 || uris.length > 25)
        return send(400, { error: 'InvalidRequest', message: 'uris must have between 1 and 25 items' });
      const found = uris.flatMap((uri) => {
        const p = posts.find((x) => `at://${DID(x.handle)}/app.bsky.feed.post/${x.rkey}` === uri);
        return p ? [postView(p)] : [];
      });
      return send(200, { posts: found });
    }
    send(501, { error: 'MethodNotImplemented', message: 'Method Not Implemented' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    setTopics: (t) => void (topics = t),
    addPost: (p) => void posts.push(p),
    addRawPost: (r) => void raw.push(r),
    failNext: (count, status, resetSeconds = 60) => void (fail = { count, status, reset: resetSeconds }),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
