/**
 * Followed feeds, through REST and the worker as `npm start` wires them (the feed poller's
 * BullMQ job scheduler ticking on the knowledge queue): a followed feed is polled with its
 * ETag / Last-Modified (a 304 changes nothing), new items are ingested, removed ones kept or
 * dropped as the source says, each poll's health shows on the source and is published as a
 * `knowledge.feed` event. The only shortcut is time: a test moves a source's `next_poll_at` to
 * now instead of waiting its interval (5 minutes at least).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  createRedisConnection,
  schema,
  type HeraldEvent,
  type KnowledgeFeedEvent,
} from '../../core/index.js';
import { startKnowledgeWorker, type SourceView } from '../../knowledge/index.js';
import { REDIS_URL } from '../helpers/publishing-env.js';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import { searchOverRest, startKnowledgeApi, type KnowledgeApi } from './knowledge-env.js';

let stack: KnowledgeApi;
let api: ApiEnv;
let p: Person;
let site: http.Server;
let siteUrl: string;

interface Item {
  guid: string;
  title: string;
  body: string;
}
/** Per feed path: its items, its version (the validator) and whether it is down. */
const feeds = new Map<string, { items: Item[]; version: number; down?: boolean; validator: 'etag' | 'date' }>();
const conditional: Array<{ path: string; ifNoneMatch?: string; ifModifiedSince?: string; answered: number }> = [];

const rss = (items: Item[]) =>
  `<?xml version="1.0"?><rss version="2.0"><channel><title>Roaster news</title>${items
    .map((i) => `<item><guid>${i.guid}</guid><title>${i.title}</title><description>${i.body}</description></item>`)
    .join('')}</channel></rss>`;

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const feed = feeds.get(req.url ?? '');
    if (!feed) return void res.writeHead(404).end();
    if (feed.down) return void res.writeHead(500).end('oops');
    const etag = `"v${feed.version}"`;
    const date = new Date(Date.UTC(2026, 10, 1) + feed.version * 3600_000).toUTCString();
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    const same = feed.validator === 'etag' ? inm === etag : ims === date;
    conditional.push({
      path: req.url!,
      ...(inm ? { ifNoneMatch: inm } : {}),
      ...(ims ? { ifModifiedSince: ims } : {}),
      answered: same ? 304 : 200,
    });
    if (same) return void res.writeHead(304).end();
    res
      .writeHead(200, {
        'content-type': 'application/rss+xml',
        ...(feed.validator === 'etag' ? { etag } : { 'last-modified': date }),
      })
      .end(rss(feed.items));
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  ({ api } = stack = await startKnowledgeApi({}, { feedPollEveryMs: 150 }));
  p = await api.signUp();
}, 60_000);

afterAll(async () => {
  await stack?.close(p ? [p.workspaceId] : []);
  site?.closeAllConnections();
  await new Promise((r) => site?.close(r));
});

const get = async (id: string) => {
  const res = await api.app.inject({ method: 'GET', url: `/v1/knowledge/sources/${id}`, headers: p.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as SourceView;
};

async function until(id: string, ok: (s: SourceView) => boolean): Promise<SourceView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await get(id);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`source never got there: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/** Time passes: the source is due now; the next tick polls it. Resolves with the poll's outcome. */
async function pollNow(id: string): Promise<SourceView> {
  const before = (await get(id)).feed!.lastPolledAt;
  await stack.kenv.deps.db
    .update(schema.knowledgeSources)
    .set({ nextPollAt: new Date() })
    .where(eq(schema.knowledgeSources.id, id));
  return until(id, (s) => s.feed!.lastPolledAt !== before && s.status === 'ready');
}

async function follow(path: string, removedItems: 'keep' | 'drop') {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: p.auth,
    payload: {
      docType: 'feed_item',
      title: path,
      format: 'feed',
      url: `${siteUrl}${path}`,
      follow: { intervalMinutes: 5, removedItems },
    },
  });
  expect(res.statusCode, res.body).toBe(202);
  return until(res.json().id, (s) => s.status === 'ready' || s.status === 'failed');
}

const texts = async (id: string, q: string) =>
  (await searchOverRest(api.app, p, q, `&source=${id}&limit=50`)).map((h) => h.text).join('\n');

describe('followed feeds', () => {
  it('polls with the ETag, ingests new items, keeps removed ones, and shows the poll on the source', async () => {
    feeds.set('/keep', {
      validator: 'etag',
      version: 1,
      items: [
        { guid: 'a', title: 'Gesha arrives', body: 'A washed Gesha from Boquete.' },
        { guid: 'b', title: 'Cupping Friday', body: 'Public cupping every Friday at noon.' },
      ],
    });
    const events: HeraldEvent[] = await api.env.recordEvents();
    const created = await follow('/keep', 'keep');
    expect(created).toMatchObject({ status: 'ready', generation: 1 });
    expect(created.feed).toMatchObject({
      intervalMinutes: 5,
      removedItems: 'keep',
      items: 2,
      etag: '"v1"',
      lastStatus: null,
    });
    expect(Date.parse(created.feed!.nextPollAt!)).toBeGreaterThan(Date.now() + 4 * 60_000);

    // Nothing changed: a 304, nothing re-ingested.
    const unchanged = await pollNow(created.id);
    expect(unchanged).toMatchObject({ generation: 1, feed: { lastStatus: 'not_modified', lastNewItems: 0 } });
    expect(conditional.filter((c) => c.path === '/keep').at(-1)).toEqual({
      path: '/keep',
      ifNoneMatch: '"v1"',
      answered: 304,
    });
    expect(Date.parse(unchanged.feed!.nextPollAt!)).toBeGreaterThan(Date.now() + 4 * 60_000);

    // One item new, one gone from the feed.
    feeds.set('/keep', {
      validator: 'etag',
      version: 2,
      items: [
        { guid: 'c', title: 'Decaf is back', body: 'Sugarcane decaf from Huila returns.' },
        { guid: 'b', title: 'Cupping Friday', body: 'Public cupping every Friday at noon.' },
      ],
    });
    const changed = await pollNow(created.id);
    expect(changed).toMatchObject({
      generation: 2,
      feed: { lastStatus: 'changed', lastNewItems: 1, items: 3, etag: '"v2"', consecutiveFailures: 0 },
    });
    expect(await texts(created.id, 'sugarcane decaf Huila')).toContain('Sugarcane decaf from Huila returns.');
    // Kept: the Gesha item the feed dropped is still searchable.
    expect(await texts(created.id, 'washed Gesha Boquete')).toContain('A washed Gesha from Boquete.');

    const feedEvents = events.filter(
      (e): e is KnowledgeFeedEvent => e.type === 'knowledge.feed' && e.sourceId === created.id,
    );
    expect(feedEvents.map((e) => e.status)).toEqual(['not_modified', 'changed']);
    expect(feedEvents[1]!.newItems.map((i) => i.title)).toEqual(['Decaf is back']);
  });

  it('drops removed items when the source says so, polling with Last-Modified', async () => {
    feeds.set('/drop', {
      validator: 'date',
      version: 1,
      items: [
        { guid: 'x', title: 'Kenya AA', body: 'Blackcurrant and tomato notes.' },
        { guid: 'y', title: 'Brazil', body: 'Chocolate and hazelnut body.' },
      ],
    });
    const created = await follow('/drop', 'drop');
    expect(created.feed!.lastModified).toBeTruthy();
    feeds.set('/drop', {
      validator: 'date',
      version: 2,
      items: [{ guid: 'y', title: 'Brazil', body: 'Chocolate and hazelnut body.' }],
    });
    const changed = await pollNow(created.id);
    expect(conditional.filter((c) => c.path === '/drop').at(-1)).toMatchObject({
      ifModifiedSince: created.feed!.lastModified,
      answered: 200,
    });
    expect(changed.feed).toMatchObject({ lastStatus: 'changed', lastNewItems: 0, items: 1 });
    expect(await texts(created.id, 'Kenya blackcurrant tomato')).not.toContain('Blackcurrant');
    expect(await texts(created.id, 'Brazil chocolate hazelnut')).toContain('Chocolate and hazelnut body.');
  });

  it('a failing poll shows on the source, which keeps serving and is polled less often', async () => {
    feeds.set('/flaky', {
      validator: 'etag',
      version: 1,
      items: [{ guid: 'z', title: 'Espresso', body: 'Dial in at 1:2.' }],
    });
    const created = await follow('/flaky', 'keep');
    feeds.get('/flaky')!.down = true;
    const failed = await pollNow(created.id);
    expect(failed).toMatchObject({
      status: 'ready',
      generation: 1,
      feed: { lastStatus: 'failed', consecutiveFailures: 1, lastError: { code: 'knowledge_fetch_failed' } },
    });
    expect(await texts(created.id, 'espresso dial')).toContain('Dial in at 1:2.');
    const twice = await pollNow(created.id);
    expect(twice.feed).toMatchObject({ lastStatus: 'failed', consecutiveFailures: 2 });
    // Backed off: twice the interval after the second failure.
    expect(Date.parse(twice.feed!.nextPollAt!)).toBeGreaterThan(Date.now() + 9 * 60_000);

    feeds.get('/flaky')!.down = false;
    const healed = await pollNow(created.id);
    expect(healed.feed).toMatchObject({ lastStatus: 'not_modified', consecutiveFailures: 0, lastError: null });
  });

  it('workers ticking side by side poll a due feed once', async () => {
    feeds.set('/shared', {
      validator: 'etag',
      version: 1,
      items: [{ guid: 's', title: 'Filter', body: 'V60 papers.' }],
    });
    const created = await follow('/shared', 'keep');
    // A second worker, as a second `npm start --role worker` process runs one, on the same queue.
    const connection = createRedisConnection(REDIS_URL, { purpose: 'worker' });
    const second = startKnowledgeWorker(
      { ...stack.kenv.deps, logger: createLogger({ level: 'silent' }) },
      { connection, prefix: `${api.env.prefix}-k`, feedPollEveryMs: 100 },
    );
    try {
      const requests = () => conditional.filter((c) => c.path === '/shared').length;
      const before = requests();
      for (let round = 0; round < 3; round++) {
        await pollNow(created.id);
        // Several more ticks of both workers pass: nobody polls it again before its next due time.
        await new Promise((r) => setTimeout(r, 600));
        expect(requests()).toBe(before + round + 1);
      }
    } finally {
      await second.close();
      await connection.quit();
    }
  });

  it('only a feed can be followed, at 5 minutes or more', async () => {
    const post = (payload: Record<string, unknown>) =>
      api.app.inject({ method: 'POST', url: '/v1/knowledge/sources', headers: p.auth, payload });
    const page = await post({ docType: 'web_page', title: 'x', format: 'url', url: `${siteUrl}/keep`, follow: {} });
    expect([page.statusCode, page.json().error.code]).toEqual([400, 'validation_failed']);
    const fast = await post({
      docType: 'feed_item',
      title: 'x',
      format: 'feed',
      url: `${siteUrl}/keep`,
      follow: { intervalMinutes: 1 },
    });
    expect([fast.statusCode, fast.json().error.code]).toEqual([400, 'validation_failed']);
  });
});
