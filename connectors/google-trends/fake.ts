/**
 * A local Google Trends for the trend source's tests: `GET /trending/rss?geo=XX` answers the
 * daily trending searches feed as Google serves it — RSS 2.0 with the `ht:` namespace
 * (`xmlns:ht="https://trends.google.com/trending/rss"`), per item `title`,
 * `ht:approx_traffic`, `description`, `link`, `pubDate`, `ht:picture`, `ht:picture_source`
 * and `ht:news_item` blocks (`ht:news_item_title`, `_snippet`, `_url`, `_picture`, `_source`).
 * An unknown `geo` answers 400 as Google does. Tests can serve broken XML or make the next
 * calls answer 429 (Google sends no Retry-After) or 503.
 */
import { createServer, type Server } from 'node:http';

export interface FakeTrendingSearch {
  title: string;
  traffic: string;
  pubDate?: Date;
  news?: Array<{ title: string; url: string; source: string }>;
}

export interface GoogleTrendsFake {
  readonly url: string;
  setTrending(geo: string, items: FakeTrendingSearch[]): void;
  /** Serves this body for the geo instead of a feed (a broken document). */
  setRaw(geo: string, body: string): void;
  failNext(count: number, status: 429 | 503): void;
  requests(): string[];
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function trendingRss(geo: string, items: FakeTrendingSearch[]): string {
  const link = `https://trends.google.com/trending/rss?geo=${geo}`;
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" xmlns:ht="https://trends.google.com/trending/rss" version="2.0">
  <channel>
    <title>Daily Search Trends</title>
    <description>Recent searches</description>
    <link>${link}</link>
    <atom:link href="${link}" rel="self" type="application/rss+xml"/>
${items
  .map(
    (i) => `    <item>
      <title>${esc(i.title)}</title>
      <ht:approx_traffic>${esc(i.traffic)}</ht:approx_traffic>
      <description/>
      <link>${link}</link>
      <pubDate>${(i.pubDate ?? new Date()).toUTCString().replace('GMT', '+0000')}</pubDate>
      <ht:picture>https://encrypted-tbn0.gstatic.com/images?q=tbn:fake</ht:picture>
      <ht:picture_source>${esc(i.news?.[0]?.source ?? 'Fake')}</ht:picture_source>
${(i.news ?? [])
  .map(
    (n) => `      <ht:news_item>
        <ht:news_item_title>${esc(n.title)}</ht:news_item_title>
        <ht:news_item_snippet/>
        <ht:news_item_url>${esc(n.url)}</ht:news_item_url>
        <ht:news_item_picture>https://encrypted-tbn0.gstatic.com/images?q=tbn:fake</ht:news_item_picture>
        <ht:news_item_source>${esc(n.source)}</ht:news_item_source>
      </ht:news_item>`,
  )
  .join('\n')}
    </item>`,
  )
  .join('\n')}
  </channel>
</rss>
`;
}

export async function startGoogleTrendsFake(): Promise<GoogleTrendsFake> {
  const feeds = new Map<string, FakeTrendingSearch[]>();
  const raw = new Map<string, string>();
  const seen: string[] = [];
  let fail: { count: number; status: number } | null = null;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push(url.pathname + url.search);
    if (fail && fail.count > 0) {
      fail.count -= 1;
      res.writeHead(fail.status, { 'content-type': 'text/html; charset=UTF-8' }).end('<html><body>Error</body></html>');
      return;
    }
    const geo = url.searchParams.get('geo') ?? 'US';
    if (req.method !== 'GET' || url.pathname !== '/trending/rss') {
      res.writeHead(404, { 'content-type': 'text/html' }).end('Not Found');
      return;
    }
    if (raw.has(geo)) {
      res.writeHead(200, { 'content-type': 'application/rss+xml; charset=UTF-8' }).end(raw.get(geo));
      return;
    }
    if (!feeds.has(geo)) {
      res.writeHead(400, { 'content-type': 'text/html; charset=UTF-8' }).end('Bad Request');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/rss+xml; charset=UTF-8' }).end(trendingRss(geo, feeds.get(geo)!));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    setTrending: (geo, items) => void feeds.set(geo, items),
    setRaw: (geo, body) => void raw.set(geo, body),
    failNext: (count, status) => void (fail = { count, status }),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
