/**
 * The knowledge base end to end against a real Chroma server, Redis and PGlite: sources
 * added over REST are ingested by the BullMQ worker and found by hybrid search; workspaces
 * never see each other's chunks (REST and the agent's tool); re-ingest replaces, delete
 * removes, bad input fails only its source, and a failed write leaves nothing behind.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeraldEvent, KnowledgeIngestEvent } from '../../core/index.js';
import { runTool, TOOLS, type ToolEnv } from '../../agent/tools/index.js';
import { toolResultText } from '../../agent/prompt.js';
import { collectionName, LEXICAL_MODEL } from '../../knowledge/index.js';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import {
  ownerContext,
  searchOverRest,
  startKnowledgeApi,
  waitForIngest,
  type KnowledgeEnv,
  type KnowledgeApi,
} from './knowledge-env.js';

let stack: KnowledgeApi;
let kenv: KnowledgeEnv;
let api: ApiEnv;
let a: Person;
let b: Person;
let site: http.Server;
let siteUrl: string;

const GUIDE = `# Acme brand guide

Acme sells handmade ceramic mugs from Lisbon.

## Voice

We write warmly and plainly. We never use the word synergy. Emojis are fine on Instagram but not on LinkedIn.

## Products

The Tagus mug holds 350 ml and comes in cobalt blue.
`;

const ARTICLE = `<!doctype html><html><head><title>Glaze notes</title><script>var tracking = "zzscriptword";</script></head>
<body><nav>Home | Shop | zznavword</nav><header>Site header zzheaderword</header>
<article><h1>Celadon glaze</h1><p>Celadon is a pale green glaze fired in reduction at high temperature.</p>
<p>Our kiln runs to cone 10 &amp; each firing takes twelve hours.</p></article>
<footer>Copyright zzfooterword</footer></body></html>`;

const RSS = `<?xml version="1.0"?><rss version="2.0"><channel><title>Studio news</title>
<item><title>Kiln upgrade</title><link>https://studio.example/kiln</link><pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>
<description>&lt;p&gt;Our new kiln reaches &lt;b&gt;cone 12&lt;/b&gt;.&lt;/p&gt;</description></item>
<item><title>Market stall</title><link>https://studio.example/market</link><description>Find us at the Saturday market in Porto.</description></item>
</channel></rss>`;

const ATOM = `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Glaze log</title>
<entry><title>Shino trials</title><link rel="alternate" href="https://studio.example/shino"/><updated>2026-11-01T10:00:00Z</updated>
<summary>Shino glaze crawled on the test tiles.</summary></entry></feed>`;

beforeAll(async () => {
  site = http.createServer((req, res) => {
    if (req.url === '/article') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ARTICLE);
    else if (req.url === '/image') res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(64));
    else if (req.url === '/missing') res.writeHead(404).end('gone');
    else if (req.url === '/rss') res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(RSS);
    else if (req.url === '/atom') res.writeHead(200, { 'content-type': 'application/atom+xml' }).end(ATOM);
    else if (req.url === '/not-xml')
      res.writeHead(200, { 'content-type': 'application/xml' }).end('{"json": "<not xml"}');
    // /slow never answers: the fetch deadline must end it.
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  ({ kenv, api } = stack = await startKnowledgeApi({ fetchTimeoutMs: 500 }));
  a = await api.signUp();
  b = await api.signUp();
}, 60_000);

afterAll(async () => {
  await stack?.close([a, b].filter(Boolean).map((p) => p.workspaceId));
  site?.closeAllConnections();
  await new Promise((r) => site?.close(r));
});

const ctxOf = ownerContext;

async function addSource(p: Person, body: Record<string, unknown>) {
  const res = await api.app.inject({ method: 'POST', url: '/v1/knowledge/sources', headers: p.auth, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  const created = res.json() as { id: string; status: string };
  expect(created.status).toBe('pending');
  return waitForIngest(kenv.deps, ctxOf(p), created.id);
}

const search = (p: Person, q: string, extra = '') => searchOverRest(api.app, p, q, extra);

const toolEnv = (p: Person): ToolEnv => ({
  deps: api.env.deps,
  knowledge: kenv.deps,
  session: { workspaceId: p.workspaceId, userId: p.userId, role: 'owner', timeZone: 'UTC', channel: 'ws' },
  now: () => new Date(),
});

describe('knowledge base', () => {
  let guideId: string;

  it('ingests Markdown as a queued job with progress events, and search finds it with its source', async () => {
    const seen: HeraldEvent[] = await api.env.recordEvents();
    const source = await addSource(a, { docType: 'brand_guide', title: 'Acme guide', format: 'markdown', text: GUIDE });
    guideId = source.id;
    expect(source).toMatchObject({ status: 'ready', generation: 1, embeddingModel: LEXICAL_MODEL });
    expect(source.chunkCount).toBeGreaterThanOrEqual(3);

    const hits = await search(a, 'which mug comes in cobalt blue');
    expect(hits[0]).toMatchObject({
      heading: 'Acme brand guide > Products',
      source: { id: guideId, docType: 'brand_guide' },
    });
    expect(hits[0]!.text).toContain('Tagus mug holds 350 ml');

    const mine = () =>
      seen.filter((e): e is KnowledgeIngestEvent => e.type === 'knowledge.ingest' && e.sourceId === guideId);
    const deadline = Date.now() + 5_000;
    while (!mine().some((e) => e.status === 'ready') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const statuses = mine().map((e) => e.status);
    expect(statuses[0]).toBe('ingesting');
    expect(statuses.at(-1)).toBe('ready');
    expect(mine().some((e) => e.status === 'ingesting' && e.chunksTotal === source.chunkCount)).toBe(true);
  });

  it('filters by type, source and date range', async () => {
    const note = await addSource(a, {
      docType: 'note',
      title: 'Mug note',
      format: 'text',
      text: 'Remember: the cobalt blue mug sells best in December.',
    });
    const onlyNotes = await search(a, 'cobalt blue mug', '&type=note');
    expect(onlyNotes.map((h) => h.source.id)).toEqual([note.id]);
    const bySource = await search(a, 'cobalt blue mug', `&source=${guideId}`);
    expect(new Set(bySource.map((h) => h.source.id))).toEqual(new Set([guideId]));
    expect(await search(a, 'cobalt blue mug', '&to=2000-01-01T00:00:00Z')).toEqual([]);
    const recent = await search(
      a,
      'cobalt blue mug',
      `&from=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`,
    );
    expect(new Set(recent.map((h) => h.source.id))).toEqual(new Set([guideId, note.id]));
  });

  it("workspace B never sees A's chunks, over REST or through the agent's tool", async () => {
    expect(await search(b, 'cobalt blue mug Tagus Acme')).toEqual([]);
    const listed = await api.app.inject({ method: 'GET', url: '/v1/knowledge/sources', headers: b.auth });
    expect(listed.json().items).toEqual([]);

    const asB = await runTool(toolEnv(b), 'search_knowledge', { query: 'cobalt blue mug Tagus Acme' });
    expect(asB).toEqual({ ok: true, output: [] });
    const asA = await runTool(toolEnv(a), 'search_knowledge', { query: 'cobalt blue mug' });
    expect(asA.ok).toBe(true);
    const output = (asA as { output: Array<{ text: string; source: { id: string } }> }).output;
    expect(output.map((h) => h.source.id)).toContain(guideId);
    // What the model reads is wrapped as untrusted outside text.
    expect(TOOLS.get('search_knowledge')!.untrustedOutput).toBe(true);
    expect(toolResultText(output, true)).toMatch(/^<untrusted>.*Tagus.*<\/untrusted>$/s);

    // Each workspace has its own collection; B's does not even exist yet.
    const names = (await stack.chroma.handle.client.listCollections()).map((c) => c.name);
    expect(names).toContain(collectionName(a.workspaceId, LEXICAL_MODEL));
    expect(names).not.toContain(collectionName(b.workspaceId, LEXICAL_MODEL));
  });

  it('the agent remembers a note in its own workspace only', async () => {
    const saved = await runTool(toolEnv(b), 'remember', { text: 'B prefers posting at 7am on Tuesdays.' });
    expect(saved.ok).toBe(true);
    const id = (saved as { output: { sourceId: string } }).output.sourceId;
    await waitForIngest(kenv.deps, ctxOf(b), id);
    expect((await search(b, 'when does B prefer posting')).map((h) => h.source.id)).toEqual([id]);
    expect((await search(a, 'prefers posting 7am Tuesdays')).map((h) => h.source.id)).not.toContain(id);
  });

  it('re-ingesting replaces the old chunks; deleting removes them all', async () => {
    const source = await addSource(a, {
      docType: 'product',
      title: 'Catalogue',
      format: 'text',
      text: 'The Douro jug is glazed in terracotta orange.',
    });
    expect((await search(a, 'terracotta orange jug')).map((h) => h.source.id)).toContain(source.id);

    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/knowledge/sources/${source.id}`,
      headers: a.auth,
      payload: {
        docType: 'product',
        title: 'Catalogue',
        format: 'text',
        text: 'The Minho bowl is glazed in forest green.',
      },
    });
    expect(put.statusCode, put.body).toBe(202);
    const replaced = await waitForIngest(kenv.deps, ctxOf(a), source.id, 2);
    expect(replaced).toMatchObject({ status: 'ready', generation: 2 });
    // Nearest neighbours always exist; what must be gone is every chunk of the old text.
    expect((await search(a, 'terracotta orange jug Douro')).filter((h) => h.text.includes('Douro'))).toEqual([]);
    expect((await search(a, 'forest green bowl')).map((h) => h.source.id)).toContain(source.id);
    expect(await kenv.deps.store.countChunks(a.workspaceId, source.id)).toBe(replaced.chunkCount);

    const del = await api.app.inject({ method: 'DELETE', url: `/v1/knowledge/sources/${source.id}`, headers: a.auth });
    expect(del.statusCode).toBe(204);
    expect(await kenv.deps.store.countChunks(a.workspaceId, source.id)).toBe(0);
    expect((await search(a, 'forest green bowl Minho')).filter((h) => h.text.includes('Minho'))).toEqual([]);
    const gone = await api.app.inject({ method: 'GET', url: `/v1/knowledge/sources/${source.id}`, headers: a.auth });
    expect(gone.statusCode).toBe(404);
  });

  it('duplicate chunks are stored once', async () => {
    const para = 'Glazed stoneware is dishwasher safe.';
    const source = await addSource(a, {
      docType: 'best_practice',
      title: 'Care',
      format: 'markdown',
      text: `${para}\n\n# Care\n\nWash by hand.\n\n# Care\n\nWash by hand.`,
    });
    expect(source.chunkCount).toBe(2);
    expect(await kenv.deps.store.countChunks(a.workspaceId, source.id)).toBe(2);
  });

  it('refuses empty, binary and oversize text with typed errors, storing nothing', async () => {
    const post = (text: string) =>
      api.app.inject({
        method: 'POST',
        url: '/v1/knowledge/sources',
        headers: a.auth,
        payload: { docType: 'note', title: 'bad', format: 'text', text },
      });
    const empty = await post('  \n\t ');
    expect([empty.statusCode, empty.json().error.code, empty.json().error.details.reason]).toEqual([
      422,
      'knowledge_input_invalid',
      'empty',
    ]);
    // No NUL: the server's input guard refuses NUL in any JSON text before the service sees it.
    const binary = await post(`PK\u0003\u0004\u0002\u0002${'\u0001'.repeat(50)}`);
    expect([binary.statusCode, binary.json().error.details.reason]).toEqual([422, 'binary']);
    const big = await post('word '.repeat(20_000));
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'knowledge_input_too_large']);
    const list = (await api.app.inject({ method: 'GET', url: '/v1/knowledge/sources', headers: a.auth })).json();
    expect(list.items.map((s: { title: string }) => s.title)).not.toContain('bad');
  });

  it("ingests a URL's main content, without its navigation, scripts, header or footer", async () => {
    const source = await addSource(a, {
      docType: 'web_page',
      title: 'Glaze',
      format: 'url',
      url: `${siteUrl}/article`,
    });
    expect(source.status).toBe('ready');
    expect(source.metadata.pageTitle).toBe('Glaze notes');
    const hits = await search(a, 'celadon glaze reduction', `&source=${source.id}`);
    expect(hits[0]!.text).toContain('Celadon is a pale green glaze');
    expect(hits[0]!.heading).toBe('Celadon glaze');
    const all = hits.map((h) => h.text).join(' ');
    expect(all).toContain('cone 10 & each firing');
    const collection = await stack.chroma.handle.client.getCollection({
      name: collectionName(a.workspaceId, LEXICAL_MODEL),
    });
    const stored = (await collection.get({ where: { source_id: source.id } })).documents.join(' ');
    expect(stored).toContain('Celadon is a pale green glaze');
    for (const junk of ['zzscriptword', 'zznavword', 'zzheaderword', 'zzfooterword'])
      expect(stored).not.toContain(junk);
  });

  it('ingests RSS and Atom feeds, one section per item', async () => {
    const rss = await addSource(a, { docType: 'feed_item', title: 'News', format: 'feed', url: `${siteUrl}/rss` });
    expect(rss).toMatchObject({ status: 'ready', metadata: { feedTitle: 'Studio news', feedItems: 2 } });
    const kiln = await search(a, 'kiln cone 12', `&source=${rss.id}`);
    expect(kiln[0]).toMatchObject({ heading: 'Kiln upgrade' });
    expect(kiln[0]!.text).toContain('https://studio.example/kiln');
    expect(kiln[0]!.text).toContain('Our new kiln reaches cone 12.');
    const market = await search(a, 'Saturday market Porto', `&source=${rss.id}`);
    expect(market[0]).toMatchObject({ heading: 'Market stall' });

    const atom = await addSource(a, { docType: 'feed_item', title: 'Log', format: 'feed', url: `${siteUrl}/atom` });
    const shino = await search(a, 'shino glaze crawled', `&type=feed_item&source=${atom.id}`);
    expect(shino[0]!.text).toContain('https://studio.example/shino');
    expect(shino[0]!.heading).toBe('Shino trials');

    const bad = await addSource(a, { docType: 'feed_item', title: 'Bad', format: 'feed', url: `${siteUrl}/not-xml` });
    expect([bad.status, bad.error?.code]).toEqual(['failed', 'knowledge_input_invalid']);
    const html = await addSource(a, { docType: 'feed_item', title: 'Page', format: 'feed', url: `${siteUrl}/article` });
    expect([html.status, html.error?.code]).toEqual(['failed', 'knowledge_input_invalid']);
  });

  it('a URL that is not HTML, missing, or too slow fails only that source; a failed re-ingest keeps the old chunks', async () => {
    const cases = [
      ['/image', 'knowledge_input_invalid'],
      ['/missing', 'knowledge_fetch_failed'],
      ['/slow', 'knowledge_fetch_failed'],
    ] as const;
    for (const [p, code] of cases) {
      const s = await addSource(a, { docType: 'web_page', title: p, format: 'url', url: `${siteUrl}${p}` });
      expect([p, s.status, s.error?.code]).toEqual([p, 'failed', code]);
      expect(await kenv.deps.store.countChunks(a.workspaceId, s.id)).toBe(0);
    }
    expect((await search(a, 'cobalt blue mug')).map((h) => h.source.id)).toContain(guideId);

    const put = await api.app.inject({
      method: 'PUT',
      url: `/v1/knowledge/sources/${guideId}`,
      headers: a.auth,
      payload: { docType: 'brand_guide', title: 'Acme guide', format: 'url', url: `${siteUrl}/missing` },
    });
    expect(put.statusCode).toBe(202);
    // Its old chunks still serve: ready, with the refresh's failure noted.
    const failed = await waitForIngest(kenv.deps, ctxOf(a), guideId, 2);
    expect([failed.status, failed.error, failed.refreshError?.code]).toEqual(['ready', null, 'knowledge_fetch_failed']);
    expect((await search(a, 'cobalt blue mug')).map((h) => h.source.id)).toContain(guideId);
  });

  it('a write that Chroma rejects part-way leaves none of that generation behind', async () => {
    const { KnowledgeStore, LexicalEmbedder } = await import('../../knowledge/index.js');
    const store = new KnowledgeStore(stack.chroma.handle.client, new LexicalEmbedder(), { batchSize: 1 });
    const [good] = await store.embedder.embed(['first chunk']);
    const meta = (i: number) => ({
      source_id: 'half',
      generation: 1,
      doc_type: 'note',
      created_ts: 0,
      platform: null,
      heading: null,
      chunk_index: i,
      hash: String(i),
    });
    await expect(
      store.writeGeneration(a.workspaceId, 'half', 1, [
        { id: 'half:1:a', text: 'first chunk', vector: good!, metadata: meta(0) },
        // Wrong dimension: Chroma refuses this second batch after accepting the first.
        { id: 'half:1:b', text: 'second chunk', vector: [1, 0, 0], metadata: meta(1) },
      ]),
    ).rejects.toMatchObject({ code: 'chroma_unavailable' });
    expect(await store.countChunks(a.workspaceId, 'half')).toBe(0);
  });

  it('a viewer can search but not add sources', async () => {
    const res = await runTool({ ...toolEnv(a), session: { ...toolEnv(a).session, role: 'viewer' } }, 'remember', {
      text: 'should not be stored',
    });
    expect(res).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const found = await runTool(
      { ...toolEnv(a), session: { ...toolEnv(a).session, role: 'viewer' } },
      'search_knowledge',
      {
        query: 'cobalt',
      },
    );
    expect(found.ok).toBe(true);
  });
});
