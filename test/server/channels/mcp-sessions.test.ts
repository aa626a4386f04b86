/**
 * Stateful MCP sessions (`MCP_SESSIONS=stateful`) against a real Herald, with the SDK's own
 * client: `initialize` opens a session, a second client resumes it by its id, DELETE ends it,
 * idleness ends it, other credentials cannot use it, a revoked key cannot either, and a client
 * that does not take SSE is served JSON. Resources (calendar, accounts, analytics, platform
 * limits) read through the session show the caller's workspace only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createBlueskyConnector } from '../../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';

let api: ApiEnv;
let n = 0;
const clients: Client[] = [];
const IDLE_S = 2;

beforeAll(async () => {
  api = await startApiEnv({
    connectors: [createBlueskyConnector({ timeoutMs: 1_000 })],
    mcp: { mode: 'stateful', sessionIdleS: IDLE_S, publicUrl: undefined, oauthAccessTtlS: 900 },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await api?.close();
});

async function account(workspaceId: string): Promise<string> {
  const handle = `sess${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:sess${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:sess${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

async function keyOf(p: Person, scopes: string[]): Promise<{ id: string; secret: string }> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'mcp', scopes },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { key: { id: string }; secret: string };
  return { id: body.key.id, secret: body.secret };
}

async function connect(key: string, sessionId?: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${api.baseUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
    ...(sessionId ? { sessionId } : {}),
  });
  const client = new Client({ name: 'sessions-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

/** A raw JSON-RPC POST on a session. */
const rpc = (
  key: string,
  sessionId: string | undefined,
  method: string,
  params: object = {},
  accept = 'application/json, text/event-stream',
) =>
  fetch(`${api.baseUrl}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept,
      'mcp-protocol-version': '2025-06-18',
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
  });

const initParams = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };

describe('MCP stateful sessions', () => {
  it('initialize opens a session; a second client resumes it by id; DELETE ends it', async () => {
    const me = await api.signUp();
    const accountId = await account(me.workspaceId);
    const { secret } = await keyOf(me, ['write']);
    const { client, transport } = await connect(secret);
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await client.callTool({ name: 'list_accounts', arguments: {} });
    expect((listed.structuredContent as { items: Array<{ id: string }> }).items.map((a) => a.id)).toEqual([accountId]);

    // Resumed: the same session from a new transport (the SDK skips initialize when it has an id).
    const again = await connect(secret, sessionId);
    const tools = await again.client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('list_posts');

    await transport.terminateSession();
    const after = await rpc(secret, sessionId, 'tools/list');
    expect(after.status).toBe(404);
    expect(((await after.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
      'mcp_session_not_found',
    );
  });

  it('a session belongs to the credentials that opened it: another key, or a revoked one, cannot use it', async () => {
    const me = await api.signUp();
    const first = await keyOf(me, ['read']);
    const second = await keyOf(me, ['read']);
    const { transport } = await connect(first.secret);
    const id = transport.sessionId!;
    expect((await rpc(second.secret, id, 'tools/list')).status).toBe(404);
    expect((await rpc(first.secret, id, 'tools/list')).status).toBe(200);
    const revoked = await api.app.inject({ method: 'DELETE', url: `/v1/api-keys/${first.id}`, headers: me.auth });
    expect(revoked.statusCode).toBeLessThan(300);
    expect((await rpc(first.secret, id, 'tools/list')).status).toBe(401);
  });

  it('a session left idle past MCP_SESSION_IDLE_S is gone', async () => {
    const me = await api.signUp();
    const { secret } = await keyOf(me, ['read']);
    const { transport } = await connect(secret);
    const id = transport.sessionId!;
    await sleep(IDLE_S * 1000 + 500);
    expect((await rpc(secret, id, 'tools/list')).status).toBe(404);
  });

  it('requests without a session are refused unless they initialize; a JSON-only client is served JSON', async () => {
    const me = await api.signUp();
    const { secret } = await keyOf(me, ['read']);
    expect((await rpc(secret, undefined, 'tools/list')).status).toBe(400);
    expect((await rpc(secret, 'not-a-session', 'tools/list')).status).toBe(404);
    const init = await rpc(secret, undefined, 'initialize', initParams, 'application/json');
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toContain('application/json');
    const id = init.headers.get('mcp-session-id')!;
    expect(id).toBeTruthy();
    const list = await rpc(secret, id, 'tools/list', {}, 'application/json');
    expect(list.headers.get('content-type')).toContain('application/json');
    expect(((await list.json()) as { result: { tools: unknown[] } }).result.tools.length).toBeGreaterThan(5);
  });
});

describe('MCP resources', () => {
  it('lists calendar, accounts, analytics and platform limits, each of the caller’s workspace only', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const mine = await account(me.workspaceId);
    await account(other.workspaceId);
    const { client } = await connect((await keyOf(me, ['read'])).secret);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(
      ['herald://accounts', 'herald://analytics/overview', 'herald://calendar', 'herald://platform-limits'].sort(),
    );
    const read = async (uri: string) => {
      const r = await client.readResource({ uri });
      return JSON.parse((r.contents[0] as { text: string }).text) as Record<string, unknown>;
    };
    expect((await read('herald://accounts')).items).toMatchObject([{ id: mine }]);
    const limits = (await read('herald://platform-limits')).items as Array<{
      accountId: string;
      text: { max: number };
    }>;
    expect(limits.map((l) => l.accountId)).toEqual([mine]);
    expect(limits[0]!.text.max).toBe(300);
    expect(await read('herald://calendar')).toHaveProperty('items');
    expect(await read('herald://analytics/overview')).toHaveProperty('current');
  });
});
