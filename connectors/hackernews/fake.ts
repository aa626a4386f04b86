/**
 * A local HN Search API (Algolia) for tests, per https://hn.algolia.com/api:
 * `GET /api/v1/search_by_date` with `query` (matched against titles here), `tags=story`,
 * `hitsPerPage` and `page`, answering `{ hits, nbHits, page, nbPages, hitsPerPage }`, newest
 * first. Tests add stories, change their points, and make the next calls answer 429 with a
 * Retry-After or 503.
 */
import { createServer, type Server } from 'node:http';

export interface FakeHnStory {
  objectID: string;
  title: string;
  url?: string | null;
  points: number;
  num_comments: number;
  /** Seconds since the epoch. */
  created_at_i: number;
  author?: string;
}

export interface HackerNewsFake {
  readonly url: string;
  addStory(story: FakeHnStory): void;
  setPoints(objectID: string, points: number, comments?: number): void;
  /** The next `count` calls answer this status (429 carries `Retry-After: retryAfterSeconds`). */
  failNext(count: number, status: 429 | 503, retryAfterSeconds?: number): void;
  /** Raw hits served after the stories (malformed items in tests). */
  addRawHit(hit: unknown): void;
  requests(): string[];
  close(): Promise<void>;
}

export async function startHackerNewsFake(): Promise<HackerNewsFake> {
  const stories: FakeHnStory[] = [];
  const raw: unknown[] = [];
  const seen: string[] = [];
  let fail: { count: number; status: number; retryAfter: number } | null = null;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push(url.pathname + url.search);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        .end(JSON.stringify(body));
    if (fail && fail.count > 0) {
      fail.count -= 1;
      return send(
        fail.status,
        { message: fail.status === 429 ? 'Too many requests' : 'Unavailable' },
        fail.status === 429 ? { 'retry-after': String(fail.retryAfter) } : {},
      );
    }
    if (req.method !== 'GET' || url.pathname !== '/api/v1/search_by_date') return send(404, { message: 'Not found' });
    const q = (url.searchParams.get('query') ?? '').toLowerCase();
    const per = Math.min(Number(url.searchParams.get('hitsPerPage') ?? 20) || 20, 1000);
    const pageNo = Number(url.searchParams.get('page') ?? 0) || 0;
    const matching = stories
      .filter((s) => s.title.toLowerCase().includes(q))
      .sort((a, b) => b.created_at_i - a.created_at_i);
    const hits = [
      ...matching.slice(pageNo * per, (pageNo + 1) * per).map((s) => ({
        ...s,
        created_at: new Date(s.created_at_i * 1000).toISOString(),
        author: s.author ?? 'someone',
        _tags: ['story', `author_${s.author ?? 'someone'}`, `story_${s.objectID}`],
      })),
      ...raw,
    ];
    send(200, {
      hits,
      nbHits: matching.length,
      page: pageNo,
      nbPages: Math.ceil(matching.length / per),
      hitsPerPage: per,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    addStory: (s) => void stories.push(s),
    setPoints: (id, points, comments) => {
      const s = stories.find((x) => x.objectID === id);
      if (!s) throw new Error(`fake HN: no story ${id}`);
      s.points = points;
      if (comments !== undefined) s.num_comments = comments;
    },
    failNext: (count, status, retryAfterSeconds = 30) => {
      fail = { count, status, retryAfter: retryAfterSeconds };
    },
    addRawHit: (hit) => void raw.push(hit),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
