/**
 * Idempotency keys on MCP's creating tools, with the SDK's own client against a real Herald
 * (PGlite, Redis): a retry with the same key returns the first result and creates nothing
 * more — also when both calls race, also on another connection; the same key with other
 * arguments is refused; a failed call keeps nothing; keys are per person and per tool.
 * Also `upload_media_from_url` over MCP, the library's same rules (role, typed errors).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createBlueskyConnector } from '../../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';
import { solidPng } from '../../helpers/media-fixtures.js';

let api: ApiEnv;
let origin: Server;
let base: string;
let n = 0;
const clients: Client[] = [];

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
  const png = await solidPng(12, 12, '#118833');
  origin = createServer((req, res) => {
    if (req.url === '/a.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
  await new Promise((r) => origin?.close(r));
});

async function account(workspaceId: string): Promise<string> {
  const handle = `idem${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:idem${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:idem${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

async function connect(p: Person, scopes = ['write']): Promise<Client> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'mcp', scopes },
  });
  const client = new Client({ name: 'herald-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${api.baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${res.json().secret as string}` } },
    }),
  );
  clients.push(client);
  return client;
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: unknown;
  _meta?: Record<string, unknown>;
};
const call = (c: Client, name: string, args: Record<string, unknown>) =>
  c.callTool({ name, arguments: args }) as Promise<ToolResult>;

async function postCount(p: Person): Promise<number> {
  const res = await api.app.inject({ method: 'GET', url: '/v1/posts?limit=100', headers: p.auth });
  return (res.json().items as unknown[]).length;
}

describe('MCP idempotency keys', () => {
  it('a retried create_draft with the same key returns the first draft and creates nothing more, also racing and from another connection', async () => {
    const me = await api.signUp();
    await account(me.workspaceId);
    const [a, b] = [await connect(me), await connect(me)];
    const args = { text: 'Launch day!', accounts: ['bluesky'], idempotencyKey: 'draft-7f3c2a91' };
    const [one, two] = await Promise.all([call(a, 'create_draft', args), call(b, 'create_draft', args)]);
    expect(one.isError, JSON.stringify(one)).toBeFalsy();
    expect(two.structuredContent?.id).toBe(one.structuredContent?.id);
    const three = await call(a, 'create_draft', args);
    expect(three.structuredContent?.id).toBe(one.structuredContent?.id);
    expect(await postCount(me)).toBe(1);

    const other = await call(a, 'create_draft', { ...args, text: 'Something else' });
    expect(other.isError).toBe(true);
    expect(other._meta?.['herald/error']).toMatchObject({ code: 'idempotency_key_reused' });

    // Without a key, each call creates.
    await call(a, 'create_draft', { text: 'Launch day!', accounts: ['bluesky'] });
    await call(a, 'create_draft', { text: 'Launch day!', accounts: ['bluesky'] });
    expect(await postCount(me)).toBe(3);
  });

  it('a failed call keeps nothing (the fixed retry runs), and keys are per person and per tool', async () => {
    const me = await api.signUp();
    const failed = await call(await connect(me), 'create_draft', {
      text: 'No account yet',
      accounts: ['bluesky'],
      idempotencyKey: 'retry-after-fix',
    });
    expect(failed.isError).toBe(true);
    await account(me.workspaceId);
    const c = await connect(me);
    const ok = await call(c, 'create_draft', {
      text: 'No account yet',
      accounts: ['bluesky'],
      idempotencyKey: 'retry-after-fix',
    });
    expect(ok.isError, JSON.stringify(ok)).toBeFalsy();

    // Another person using the same key string gets their own draft in their own workspace.
    const someone = await api.signUp();
    await account(someone.workspaceId);
    const theirs = await call(await connect(someone), 'create_draft', {
      text: 'No account yet',
      accounts: ['bluesky'],
      idempotencyKey: 'retry-after-fix',
    });
    expect(theirs.structuredContent?.id).not.toBe(ok.structuredContent?.id);
    expect(await postCount(someone)).toBe(1);
  });

  it('upload_media_from_url stores the image once per key, refuses a read key, and types an origin failure', async () => {
    const me = await api.signUp();
    const c = await connect(me);
    const args = { url: `${base}/a.png`, altText: 'A green square', idempotencyKey: 'media-0001-abcd' };
    const first = await call(c, 'upload_media_from_url', args);
    expect(first.isError, JSON.stringify(first)).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ kind: 'image', mimeType: 'image/png', altText: 'A green square' });
    expect((await call(c, 'upload_media_from_url', args)).structuredContent?.id).toBe(first.structuredContent?.id);
    const missing = await call(c, 'upload_media_from_url', { url: `${base}/missing.png` });
    expect(missing._meta?.['herald/error']).toMatchObject({ code: 'media_fetch_failed', details: { status: 404 } });
    const reader = await connect(me, ['read']);
    const refused = await call(reader, 'upload_media_from_url', { url: `${base}/a.png` });
    expect(refused._meta?.['herald/error']).toMatchObject({ code: 'forbidden' });
  });
});
