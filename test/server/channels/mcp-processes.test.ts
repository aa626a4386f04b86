/**
 * Stateless MCP (the default) across several API processes without sticky routing: two real
 * Herald processes (`server/main.ts`, HERALD_ROLE=api) on one PostgreSQL database, Redis and
 * Chroma, and the SDK's own client behind a round-robin "load balancer" (its fetch sends each
 * HTTP request to the next process). `initialize` on one process, the tool calls on either:
 * every call is answered by either, and an idempotent retry (`knowledge_add`) landing on the
 * other process returns the first result, creating nothing more.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../../helpers/databases.js';
import { startHerald, type HeraldProcess } from '../../helpers/herald-process.js';
import { freePort, waitFor } from '../../helpers/processes.js';
import { startTestChroma, type TestChroma } from '../../knowledge/knowledge-env.js';

const run = TEST_DATABASE_URL ? describe : describe.skip;

let scratch: Awaited<ReturnType<typeof openPostgresForTest>>;
let chroma: TestChroma;
let dataDir: string;
const heralds: HeraldProcess[] = [];
const bases: string[] = [];

beforeAll(async () => {
  if (!TEST_DATABASE_URL) return;
  scratch = await openPostgresForTest(TEST_DATABASE_URL);
  chroma = await startTestChroma();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-mcp-procs-'));
  const shared = {
    HERALD_ROLE: 'api',
    DATA_DIR: dataDir,
    DATABASE_URL: scratch.url,
    DATABASE_POOL_MAX: '4',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_AUTOSTART: 'false',
    CHROMA_URL: chroma.handle.url,
    QUEUE_PREFIX: `mcpprocs${randomBytes(4).toString('hex')}`,
    ENCRYPTION_KEYS: `t1:${randomBytes(32).toString('base64')}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    MCP_SESSIONS: 'stateless',
    LOG_LEVEL: 'warn',
  };
  // One after the other: the first applies the migrations.
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const herald = startHerald({ ...shared, PORT: String(port) });
    heralds.push(herald);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (herald.child.exitCode !== null) throw new Error(`herald exited: ${herald.stderr()}`);
        return (await fetch(`${base}/ready`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      90_000,
      `herald ${i} to be ready`,
    );
    bases.push(base);
  }
}, 240_000);

afterAll(async () => {
  for (const h of heralds)
    if (h.child.exitCode === null) {
      h.child.kill('SIGTERM');
      await h.exited;
    }
  await chroma?.close();
  await scratch?.dispose();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function signUpWithKey(base: string): Promise<string> {
  const signup = await fetch(`${base}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `procs-${randomUUID()}@example.com`, password: 'correct horse battery staple' }),
  });
  expect(signup.status).toBe(201);
  const { accessToken } = (await signup.json()) as { accessToken: string };
  const key = await fetch(`${base}/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ name: 'mcp', scopes: ['write'] }),
  });
  expect(key.status).toBe(201);
  return ((await key.json()) as { secret: string }).secret;
}

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: unknown };

run('stateless MCP across two API processes', () => {
  it('any process answers any request: initialize on one, calls and an idempotent retry on either', async () => {
    const key = await signUpWithKey(bases[0]!);
    const seen: string[] = [];
    let next = 0;
    // A load balancer without sticky routing: each HTTP request goes to the next process.
    const roundRobin: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const base = new URL(bases[next++ % bases.length]!);
      url.host = base.host;
      seen.push(`${init?.method ?? 'GET'} ${url.port}`);
      return fetch(url, init);
    };
    const client = new Client({ name: 'procs-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${bases[0]}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
        fetch: roundRobin,
      }),
    );
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(10);
      const call = async (name: string, args: Record<string, unknown>) => {
        const r = (await client.callTool({ name, arguments: args })) as Result;
        expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
        return r.structuredContent!;
      };
      // A creating tool with an idempotency key (kept in Redis), then reads.
      const args = {
        docType: 'note',
        title: 'Opening hours',
        format: 'text',
        text: 'Open from nine to five.',
        idempotencyKey: randomUUID(),
      };
      const first = await call('knowledge_add', args);
      const retry = await call('knowledge_add', args);
      expect(retry.id).toBe(first.id);
      const listed = await call('list_posts', { limit: 5 });
      expect(listed.items).toEqual([]);
      await call('list_accounts', {});
      await call('list_goals', {});
      // Both processes answered MCP requests.
      const ports = new Set(seen.filter((s) => s.startsWith('POST')).map((s) => s.split(' ')[1]));
      expect(ports.size).toBe(2);
      // One source, though the retry reached the other process.
      const sources = await fetch(`${bases[1]}/v1/knowledge/sources`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(sources.status).toBe(200);
      const body = (await sources.json()) as { items: Array<{ title: string }> };
      expect(body.items.filter((s) => s.title === 'Opening hours')).toHaveLength(1);
    } finally {
      await client.close();
    }
  }, 120_000);
});
