/**
 * A local X oEmbed endpoint for tests, per
 * https://developer.x.com/en/docs/tweets/post-and-engage/api-reference/get-statuses-oembed:
 * `GET /oembed?url=<post URL>` (no authentication) answers `{ url, author_name, author_url,
 * html, width, height, type: "rich", cache_age, provider_name: "Twitter", provider_url,
 * version: "1.0" }`, the html a `blockquote.twitter-tweet` whose `<p>` holds the text (links
 * as `<a>`, pictures as a `pic.twitter.com` link) followed by `&mdash; Name (@handle)` and the
 * date link. A post that does not exist (or is protected) is 404; a missing `url` is 400.
 */
import { createServer, type Server } from 'node:http';

export interface FakeXPost {
  id: string;
  handle: string;
  name: string;
  text: string;
  pictures?: number;
}

export interface XOembedFake {
  readonly url: string;
  addPost(post: FakeXPost): void;
  requests(): string[];
  close(): Promise<void>;
}

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '<br>');

export async function startXOembedFake(): Promise<XOembedFake> {
  const posts: FakeXPost[] = [];
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    seen.push(url.pathname + url.search);
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    if (req.method !== 'GET' || url.pathname !== '/oembed') return send(404, { errors: [{ message: 'Not found' }] });
    const target = url.searchParams.get('url');
    if (!target) return send(400, { errors: [{ message: 'url is required' }] });
    const id = /\/status(?:es)?\/(\d+)/.exec(target)?.[1];
    const post = posts.find((p) => p.id === id);
    if (!post) return send(404, { errors: [{ message: 'No status found with that ID.' }] });
    const pics = Array.from(
      { length: post.pictures ?? 0 },
      (_, i) => ` <a href="https://t.co/p${i}">pic.twitter.com/p${post.id}${i}</a>`,
    ).join('');
    const html = `<blockquote class="twitter-tweet"><p lang="en" dir="ltr">${escape(post.text)}${pics}</p>&mdash; ${escape(post.name)} (@${post.handle}) <a href="https://twitter.com/${post.handle}/status/${post.id}?ref_src=twsrc%5Etfw">December 1, 2026</a></blockquote>\n`;
    send(200, {
      url: `https://twitter.com/${post.handle}/status/${post.id}`,
      author_name: post.name,
      author_url: `https://twitter.com/${post.handle}`,
      html,
      width: 550,
      height: null,
      type: 'rich',
      cache_age: '3153600000',
      provider_name: 'Twitter',
      provider_url: 'https://twitter.com',
      version: '1.0',
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/oembed`,
    addPost: (p) => void posts.push(p),
    requests: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
