/**
 * A local Reddit for the trend source's tests, from Reddit's API docs: `GET
 * /r/<sub>/hot.json` and `/r/<sub>/top.json?t=` answer a `Listing` (`{ kind: 'Listing', data:
 * { after, before, dist, children: [{ kind: 't3', data }] } }`) paged by `after` (a fullname,
 * `t3_<id>`) and `limit` (max 100). Like Reddit, it throttles a request without a User-Agent
 * or with a generic one (429), sends `X-Ratelimit-Used/Remaining/Reset` on every answer, and
 * answers an unknown subreddit 404. Tests can make the next calls answer 429 or 503.
 */
import { createServer, type Server } from 'node:http';

export interface FakeRedditPost {
  id: string;
  subreddit: string;
  title: string;
  score: number;
  comments: number;
  /** Seconds since the epoch. */
  createdUtc: number;
  stickied?: boolean;
  over18?: boolean;
  flair?: string;
}

export interface RedditFake {
  readonly url: string;
  addSubreddit(name: string): void;
  addPost(post: FakeRedditPost): void;
  setScore(id: string, score: number, comments?: number): void;
  /** Raw children served on a subreddit's first hot page (malformed items). */
  addRawChild(subreddit: string, child: unknown): void;
  failNext(count: number, status: 429 | 503, resetSeconds?: number): void;
  /** Each request's path and User-Agent. */
  requests(): Array<{ path: string; userAgent: string | undefined }>;
  close(): Promise<void>;
}

const GENERIC_AGENT = /^(node|undici|python-requests|curl|java|go-http-client|axios)\b/i;

export async function startRedditFake(): Promise<RedditFake> {
  const subs = new Set<string>();
  const posts: FakeRedditPost[] = [];
  const raw = new Map<string, unknown[]>();
  const seen: Array<{ path: string; userAgent: string | undefined }> = [];
  let fail: { count: number; status: number; reset: number } | null = null;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ua = req.headers['user-agent'];
    seen.push({ path: url.pathname + url.search, userAgent: ua });
    const limits = { 'x-ratelimit-used': '1', 'x-ratelimit-remaining': '99.0', 'x-ratelimit-reset': '420' };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...limits, ...headers })
        .end(JSON.stringify(body));
    if (!ua || GENERIC_AGENT.test(ua))
      return send(429, { message: 'Too Many Requests', error: 429 }, { 'x-ratelimit-remaining': '0' });
    if (fail && fail.count > 0) {
      fail.count -= 1;
      if (fail.status === 429)
        return send(
          429,
          { message: 'Too Many Requests', error: 429 },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(fail.reset) },
        );
      return send(fail.status, { message: 'Service Unavailable', error: fail.status });
    }
    const m = /^\/r\/([A-Za-z0-9_]+)\/(hot|top)\.json$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return send(404, { message: 'Not Found', error: 404 });
    const sub = m[1]!.toLowerCase();
    if (!subs.has(sub)) return send(404, { reason: 'banned', message: 'Not Found', error: 404 });
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 25) || 25, 100);
    const after = url.searchParams.get('after');
    const list = posts
      .filter((p) => p.subreddit.toLowerCase() === sub)
      .sort((a, b) =>
        m[2] === 'top'
          ? b.score - a.score
          : b.score / (1 + (Date.now() / 1000 - b.createdUtc) / 3600) -
            a.score / (1 + (Date.now() / 1000 - a.createdUtc) / 3600),
      )
      .filter((p) => m[2] !== 'top' || p.createdUtc * 1000 > Date.now() - 86_400_000);
    const start = after ? list.findIndex((p) => `t3_${p.id}` === after) + 1 : 0;
    const slice = list.slice(start, start + limit);
    const children = slice.map((p) => ({
      kind: 't3',
      data: {
        id: p.id,
        name: `t3_${p.id}`,
        title: p.title,
        subreddit: p.subreddit,
        subreddit_name_prefixed: `r/${p.subreddit}`,
        permalink: `/r/${p.subreddit}/comments/${p.id}/${p.title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .slice(0, 40)}/`,
        url: `https://www.reddit.com/r/${p.subreddit}/comments/${p.id}/`,
        score: p.score,
        ups: p.score,
        num_comments: p.comments,
        created_utc: p.createdUtc,
        stickied: p.stickied ?? false,
        over_18: p.over18 ?? false,
        link_flair_text: p.flair ?? null,
        author: 'someone',
      },
    }));
    if (m[2] === 'hot' && !after) children.push(...((raw.get(sub) ?? []) as typeof children));
    const next = start + limit < list.length ? `t3_${slice[slice.length - 1]!.id}` : null;
    send(200, {
      kind: 'Listing',
      data: { after: next, dist: children.length, modhash: '', geo_filter: '', children, before: null },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    addSubreddit: (n) => void subs.add(n.toLowerCase()),
    addPost: (p) => {
      subs.add(p.subreddit.toLowerCase());
      posts.push(p);
    },
    setScore: (id, score, comments) => {
      const p = posts.find((x) => x.id === id);
      if (!p) throw new Error(`fake Reddit: no post ${id}`);
      p.score = score;
      if (comments !== undefined) p.comments = comments;
    },
    addRawChild: (s, c) => void raw.set(s.toLowerCase(), [...(raw.get(s.toLowerCase()) ?? []), c]),
    failNext: (count, status, resetSeconds = 60) => void (fail = { count, status, reset: resetSeconds }),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
