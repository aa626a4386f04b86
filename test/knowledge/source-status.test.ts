/**
 * Source statuses a client can wait on, read over REST while the real worker retries: a
 * fetch that fails and will be tried again is `retrying` (with the attempt, the attempts in
 * all, the last error and when the next runs), never `failed`; `failed` comes only when no
 * attempt is left and nothing serves; a refresh that fails while older chunks still serve
 * leaves the source `ready` with `refreshError`, cleared by the next good refresh.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceView } from '../../knowledge/index.js';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import { searchOverRest, startKnowledgeApi, type KnowledgeApi } from './knowledge-env.js';

let stack: KnowledgeApi;
let api: ApiEnv;
let p: Person;
let site: http.Server;
let siteUrl: string;
/** Requests per path, and how many of the first ones answer 503. */
const hits = new Map<string, number>();
const failFirst = new Map<string, number>();

const PAGE = '<html><body><article><p>The Kalita wave brewer uses flat-bottomed filters.</p></article></body></html>';

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const path = req.url ?? '';
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    if (n <= (failFirst.get(path) ?? 0)) res.writeHead(503, { 'retry-after': '1' }).end('busy');
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // As `npm start` runs it: 3 attempts in all (KnowledgeQueue's default), backoff shortened.
  ({ api } = stack = await startKnowledgeApi({ fetchTimeoutMs: 1_000 }, { maxAttempts: 3, backoffMs: 300 }));
  p = await api.signUp();
}, 60_000);

afterAll(async () => {
  await stack?.close(p ? [p.workspaceId] : []);
  site?.closeAllConnections();
  await new Promise((r) => site?.close(r));
});

const body = (path: string) => ({ docType: 'web_page', title: path, format: 'url', url: `${siteUrl}${path}` });

/** Reads the source over REST until `generation` is ready or failed; every distinct view seen. */
async function watch(id: string, generation: number): Promise<SourceView[]> {
  const seen: SourceView[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api.app.inject({ method: 'GET', url: `/v1/knowledge/sources/${id}`, headers: p.auth });
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json() as SourceView;
    const last = seen.at(-1);
    if (!last || last.status !== s.status || last.attempt !== s.attempt) seen.push(s);
    if (s.generation === generation && (s.status === 'ready' || s.status === 'failed')) return seen;
    if (Date.now() > deadline) throw new Error(`still ${s.status}: ${JSON.stringify(seen.map((v) => v.status))}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

async function create(path: string) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: p.auth,
    payload: body(path),
  });
  expect(res.statusCode, res.body).toBe(202);
  return (res.json() as SourceView).id;
}

async function refresh(id: string, path: string) {
  const res = await api.app.inject({
    method: 'PUT',
    url: `/v1/knowledge/sources/${id}`,
    headers: p.auth,
    payload: body(path),
  });
  expect(res.statusCode, res.body).toBe(202);
  return (res.json() as SourceView).generation;
}

describe('source statuses while ingestion retries', () => {
  it('a fetch that fails twice, then answers, reads retrying (never failed) and ends ready', async () => {
    failFirst.set('/flaky', 2);
    const seen = await watch(await create('/flaky'), 1);
    expect(seen.map((s) => s.status)).not.toContain('failed');
    const retrying = seen.filter((s) => s.status === 'retrying');
    expect(retrying.length).toBeGreaterThan(0);
    for (const s of retrying) {
      expect(s).toMatchObject({ maxAttempts: 3, error: { code: 'knowledge_fetch_failed' } });
      expect([1, 2]).toContain(s.attempt);
      expect(Date.parse(s.nextAttemptAt!)).toBeGreaterThan(Date.parse(s.updatedAt) - 1);
    }
    expect(seen.at(-1)).toMatchObject({
      status: 'ready',
      attempt: 3,
      maxAttempts: 3,
      error: null,
      nextAttemptAt: null,
    });
    expect(hits.get('/flaky')).toBe(3);
  });

  it('a fetch that never answers is failed only after its last attempt', async () => {
    failFirst.set('/down', 99);
    const seen = await watch(await create('/down'), 1);
    expect(seen.some((s) => s.status === 'retrying')).toBe(true);
    expect(seen.filter((s) => s.status === 'failed')).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({
      status: 'failed',
      attempt: 3,
      maxAttempts: 3,
      error: { code: 'knowledge_fetch_failed' },
      refreshError: null,
    });
    expect(hits.get('/down')).toBe(3);
  });

  it('a refresh that fails keeps the source ready on its old chunks, saying the refresh failed', async () => {
    const id = await create('/refreshed');
    expect((await watch(id, 1)).at(-1)).toMatchObject({ status: 'ready', refreshError: null });

    // The page goes down: every attempt of the refresh fails.
    failFirst.set('/refreshed', (hits.get('/refreshed') ?? 0) + 99);
    const seen = await watch(id, await refresh(id, '/refreshed'));
    expect(seen.map((s) => s.status)).not.toContain('failed');
    const after = seen.at(-1)!;
    expect(after).toMatchObject({
      status: 'ready',
      error: null,
      generation: 2,
      attempt: 3,
      refreshError: { code: 'knowledge_fetch_failed' },
    });
    expect(after.chunkCount).toBeGreaterThan(0);
    const found = await searchOverRest(api.app, p, 'Kalita wave brewer', `&source=${id}`);
    expect(found[0]!.text).toContain('flat-bottomed filters');

    // Back up: the next refresh succeeds and clears the note.
    failFirst.set('/refreshed', 0);
    const healed = await watch(id, await refresh(id, '/refreshed'));
    expect(healed.at(-1)).toMatchObject({ status: 'ready', generation: 3, refreshError: null, error: null });
  });
});
