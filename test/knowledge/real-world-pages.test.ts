/**
 * Pages, feeds and files as the web serves them, over REST into the real ingestion worker and
 * Chroma: text in the character encoding it declares (HTTP header, `<meta>`, XML declaration,
 * BOM) or, declaring none, the one it is detected to be; French pages full of accents are not
 * "binary"; an Atom entry's XHTML content is kept; paragraphs stay paragraphs.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import { ownerContext, searchOverRest, startKnowledgeApi, waitForIngest, type KnowledgeApi } from './knowledge-env.js';

let stack: KnowledgeApi;
let api: ApiEnv;
let p: Person;
let site: http.Server;
let siteUrl: string;

/** French with more than 1% accented letters: decoded as UTF-8, each one was a U+FFFD. */
const FRENCH =
  'Café crème et pâtisserie : notre élève prépare déjà les crêpes à la fenêtre, été comme hiver, où le goûter est très apprécié.';
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const page = (head: string, body: string) =>
  `<!doctype html><html><head>${head}<title>Menu</title></head><body><article><p>${body}</p></article></body></html>`;

const PAGES: Record<string, { type: string; body: Buffer }> = {
  // The header names the charset; the page itself says nothing.
  '/header': { type: 'text/html; charset=ISO-8859-1', body: latin1(page('', FRENCH)) },
  // Only a <meta charset>.
  '/meta': { type: 'text/html', body: latin1(page('<meta charset="iso-8859-1">', FRENCH)) },
  // The old http-equiv form, windows-1252 curly quotes (0x93/0x94) and an ellipsis (0x85).
  '/http-equiv': {
    type: 'text/html',
    body: latin1(
      page(
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
        `${FRENCH} \u0093Quoted\u0094\u0085`,
      ),
    ),
  },
  // Nothing declared at all: detected.
  '/undeclared': { type: 'text/html', body: latin1(page('', FRENCH)) },
  // A UTF-8 BOM outranks a wrong header (HTML Standard).
  '/bom': {
    type: 'text/html; charset=ISO-8859-1',
    body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(page('', FRENCH), 'utf8')]),
  },
  // A page served as UTF-8 that is really Latin-1 (a common misconfiguration).
  '/mislabelled': { type: 'text/html; charset=utf-8', body: latin1(page('', FRENCH)) },
  '/feed': {
    type: 'application/rss+xml',
    body: latin1(
      `<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>Carte du café</title>
<item><title>Crème brûlée</title><link>https://cafe.example/creme</link><description>${FRENCH}</description></item></channel></rss>`,
    ),
  },
  '/atom': {
    type: 'application/atom+xml',
    body: Buffer.from(
      `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Roastery log</title>
<entry><id>tag:roastery.example,2026:1</id><title>New roast</title><link href="https://roastery.example/new"/><updated>2026-11-01T10:00:00Z</updated>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>The <b>Huila</b> lot tastes of panela &amp; red apple.</p><p>Roasted on Tuesdays.</p></div></content></entry>
<entry><id>tag:roastery.example,2026:2</id><title>Escaped</title><content type="html">&lt;p&gt;Decaf by the &lt;i&gt;sugarcane&lt;/i&gt; process.&lt;/p&gt;</content></entry>
</feed>`,
    ),
  },
  '/byline': {
    type: 'text/html; charset=utf-8',
    body: Buffer.from(
      page(
        '',
        'By Sam Lee</p><p>Pour-over needs a gooseneck kettle and patience.</p><ul><li>Grind medium</li><li>Bloom 30 s',
      ),
    ),
  },
};

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const got = PAGES[req.url ?? ''];
    if (!got) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': got.type }).end(got.body);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  ({ api } = stack = await startKnowledgeApi());
  p = await api.signUp();
}, 60_000);

afterAll(async () => {
  await stack?.close(p ? [p.workspaceId] : []);
  site?.closeAllConnections();
  await new Promise((r) => site?.close(r));
});

async function addUrl(path: string, format: 'url' | 'feed' = 'url') {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: p.auth,
    payload: { docType: format === 'url' ? 'web_page' : 'feed_item', title: path, format, url: `${siteUrl}${path}` },
  });
  expect(res.statusCode, res.body).toBe(202);
  return waitForIngest(stack.kenv.deps, ownerContext(p), res.json().id);
}

/** The source's chunks as search returns them. */
async function textOf(sourceId: string, q: string) {
  const hits = await searchOverRest(api.app, p, q, `&source=${sourceId}&limit=50`);
  return hits.map((h) => h.text).join('\n');
}

describe('character encodings', () => {
  it.each([
    ['/header', 'the Content-Type charset'],
    ['/meta', 'a <meta charset>'],
    ['/http-equiv', 'a <meta http-equiv>'],
    ['/undeclared', 'detection'],
    ['/bom', 'the BOM over a wrong header'],
    ['/mislabelled', 'detection when the declared UTF-8 is not'],
  ])('a Latin-1 page is read by %s (%s), accents intact and not refused as binary', async (path) => {
    const source = await addUrl(path);
    expect([source.status, source.error]).toEqual(['ready', null]);
    const text = await textOf(source.id, 'café crème pâtisserie');
    expect(text).toContain('Café crème et pâtisserie');
    expect(text).toContain('très apprécié');
    expect(text).not.toContain('\ufffd');
    if (path === '/http-equiv') expect(text).toContain('“Quoted”…');
  });

  it('an RSS feed in ISO-8859-1 is read by its XML declaration', async () => {
    const source = await addUrl('/feed', 'feed');
    expect(source.status).toBe('ready');
    expect(source.metadata.feedTitle).toBe('Carte du café');
    const text = await textOf(source.id, 'crème brûlée');
    expect(text).toContain('Crème brûlée');
    expect(text).toContain('Café crème et pâtisserie');
  });

  const upload = async (name: string, bytes: Buffer) => {
    const boundary = `----herald${randomUUID()}`;
    const payload = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: text/plain\r\n\r\n`,
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/knowledge/sources/upload',
      headers: { ...p.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    return waitForIngest(stack.kenv.deps, ownerContext(p), res.json().id);
  };

  it('an uploaded Latin-1 text file is stored as written', async () => {
    const source = await upload('menu.txt', latin1(FRENCH));
    expect(source.status).toBe('ready');
    expect(await textOf(source.id, 'café crème')).toContain('Café crème et pâtisserie');
  });

  it('an uploaded UTF-16 file with a BOM is stored as written', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(FRENCH, 'utf16le')]);
    const source = await upload('menu-utf16.txt', utf16);
    expect(source.status).toBe('ready');
    expect(await textOf(source.id, 'café crème')).toContain('Café crème et pâtisserie');
  });
});

describe('Atom content', () => {
  it('keeps an entry\'s <content type="xhtml"> and type="html" as text', async () => {
    const source = await addUrl('/atom', 'feed');
    expect(source.status).toBe('ready');
    const text = await textOf(source.id, 'Huila panela apple');
    expect(text).toContain('The Huila lot tastes of panela & red apple.');
    expect(text).toContain('Roasted on Tuesdays.');
    expect(await textOf(source.id, 'decaf sugarcane process')).toContain('Decaf by the sugarcane process.');
  });
});

describe('paragraphs', () => {
  it('are joined by a blank line and list items by a line break, not a space', async () => {
    const source = await addUrl('/byline');
    const text = await textOf(source.id, 'pour-over gooseneck kettle');
    expect(text).toContain('By Sam Lee\n\nPour-over needs a gooseneck kettle and patience.');
    expect(text).toContain('- Grind medium\n- Bloom 30 s');
  });
});
