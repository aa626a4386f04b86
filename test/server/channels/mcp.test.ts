/**
 * MCP over Streamable HTTP at `/mcp`, driven by the SDK's own client against a real Herald
 * (PGlite, Redis, the real Bluesky connector for validation; no worker, so nothing publishes):
 * the tool list, a read and a write tool, scopes enforced by the services (a `read` key gets
 * `forbidden`), another workspace's ids find nothing, and malformed requests get JSON-RPC
 * errors while the server keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createBlueskyConnector } from '../../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';

let api: ApiEnv;
let n = 0;
const clients: Client[] = [];

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
});

async function account(workspaceId: string): Promise<string> {
  const handle = `mcp${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:mcp${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:mcp${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

async function keyOf(p: Person, scopes: string[]): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'mcp', scopes },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().secret as string;
}

async function connect(key: string): Promise<Client> {
  const client = new Client({ name: 'herald-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${api.baseUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: unknown;
  _meta?: Record<string, unknown>;
};
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }) as Promise<ToolResult>;

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

describe('MCP over Streamable HTTP', () => {
  it('lists the tools with annotations; a write key drafts, schedules, reads back and cancels', async () => {
    const me = await api.signUp({ timeZone: 'Europe/Paris' });
    const accountId = await account(me.workspaceId);
    const client = await connect(await keyOf(me, ['write']));

    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual(
      [
        'add_to_queue',
        'analytics_overview',
        'calendar',
        'cancel_post',
        'create_draft',
        'get_post',
        'get_slots',
        'list_accounts',
        'list_posts',
        'schedule_post',
        'update_post',
        'trending_topics',
        'content_ideas',
        'list_goals',
        'set_goal',
        'get_progress',
        'coach_checkin',
        'accept_coach_action',
        'suggest_hashtags',
        'draft_trend_idea',
        'adapt_post',
        'adapted_results',
        'add_product',
        'list_products',
        'create_campaign',
        'get_campaign',
        'approve_campaign',
        'pause_campaign',
        'resume_campaign',
        'end_campaign',
        'campaign_report',
        'generate_campaign_content',
        'upload_media_from_url',
      ].sort(),
    );
    expect(byName.get('list_posts')!.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('cancel_post')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.get('get_post')!.inputSchema.required).toEqual(['postId']);

    const accounts = await call(client, 'list_accounts');
    expect(accounts.isError).toBeFalsy();
    expect((accounts.structuredContent!.items as Array<{ id: string }>).map((a) => a.id)).toEqual([accountId]);

    const draft = await call(client, 'create_draft', { text: 'Hello from MCP', accounts: [accountId] });
    expect(draft.isError, JSON.stringify(draft.content)).toBeFalsy();
    const postId = draft.structuredContent!.id as string;

    const at = inAnHour();
    const scheduled = await call(client, 'schedule_post', { postId, at });
    expect(scheduled.isError, JSON.stringify(scheduled.content)).toBeFalsy();
    const target = (scheduled.structuredContent!.targets as Array<{ id: string; status: string }>)[0]!;
    expect(target.status).toBe('scheduled');
    // The same service as REST: the queue holds the job, and REST reads the same post.
    expect(await api.env.queue.queue.getJob(target.id)).toBeTruthy();
    const rest = await api.app.inject({ method: 'GET', url: `/v1/posts/${postId}`, headers: me.auth });
    expect(rest.json().targets[0].status).toBe('scheduled');

    const listed = await call(client, 'list_posts', { limit: 5 });
    expect((listed.structuredContent!.items as Array<{ id: string }>).map((p) => p.id)).toContain(postId);
    const got = await call(client, 'get_post', { postId });
    expect(got.structuredContent!.id).toBe(postId);

    const cancelled = await call(client, 'cancel_post', { targetId: target.id });
    expect(cancelled.isError, JSON.stringify(cancelled.content)).toBeFalsy();
    expect(cancelled.structuredContent!.status).toBe('cancelled');
  });

  it('a read key reads but a writing tool is refused with forbidden, creating nothing', async () => {
    const me = await api.signUp();
    const accountId = await account(me.workspaceId);
    const client = await connect(await keyOf(me, ['read']));
    expect((await call(client, 'list_posts')).isError).toBeFalsy();
    const refused = await call(client, 'create_draft', { text: 'Not allowed', accounts: [accountId] });
    expect(refused.isError).toBe(true);
    expect(refused._meta?.['herald/error']).toMatchObject({ code: 'forbidden' });
    expect(JSON.stringify(refused.content)).toContain('forbidden');
    const posts = await api.app.inject({ method: 'GET', url: '/v1/posts', headers: me.auth });
    expect(posts.json().items).toEqual([]);
  });

  it("respects the workspace's approval setting: an editor key's schedule waits for approval", async () => {
    const owner = await api.signUp();
    const accountId = await account(owner.workspaceId);
    const patched = await api.app.inject({
      method: 'PATCH',
      url: '/v1/workspace',
      headers: owner.auth,
      payload: { requireApproval: true },
    });
    expect(patched.statusCode).toBe(200);
    const client = await connect(await keyOf(owner, ['write']));
    const draft = await call(client, 'create_draft', { text: 'Needs a look', accounts: [accountId] });
    const postId = draft.structuredContent!.id as string;
    const res = await call(client, 'schedule_post', { postId, at: inAnHour() });
    expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
    const target = (res.structuredContent!.targets as Array<{ id: string; status: string }>)[0]!;
    expect(target.status).toBe('pending_approval');
    expect(await api.env.queue.queue.getJob(target.id)).toBeFalsy();
  });

  it("another workspace's post and target ids find nothing", async () => {
    const owner = await api.signUp();
    const accountId = await account(owner.workspaceId);
    const ownerClient = await connect(await keyOf(owner, ['write']));
    const draft = await call(ownerClient, 'create_draft', { text: 'Mine', accounts: [accountId] });
    const postId = draft.structuredContent!.id as string;
    const targetId = (draft.structuredContent!.targets as Array<{ id: string }>)[0]!.id;

    const other = await api.signUp();
    const otherClient = await connect(await keyOf(other, ['admin']));
    for (const [name, args] of [
      ['get_post', { postId }],
      ['schedule_post', { postId, at: inAnHour() }],
      ['cancel_post', { targetId }],
    ] as const) {
      const res = await call(otherClient, name, args);
      expect(res.isError, name).toBe(true);
      expect(res._meta?.['herald/error'], name).toMatchObject({ code: 'not_found' });
    }
    const mine = await call(ownerClient, 'get_post', { postId });
    expect((mine.structuredContent!.targets as Array<{ status: string }>)[0]!.status).toBe('draft');
  });

  it('bad arguments are a tool error; no credentials is 401', async () => {
    const me = await api.signUp();
    const client = await connect(await keyOf(me, ['write']));
    const res = await call(client, 'get_post', { postId: 'not-a-uuid' });
    expect(res.isError).toBe(true);
    const anon = await fetch(`${api.baseUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anon.status).toBe(401);
  });

  it('malformed requests get JSON-RPC errors and the server keeps answering', async () => {
    const me = await api.signUp();
    const key = await keyOf(me, ['read']);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${api.baseUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body,
      });
    const bad = await post('{"jsonrpc": "2.0", "id": 1,');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });

    const notRpc = await post(JSON.stringify({ hello: 'world' }));
    expect(notRpc.status).toBe(400);
    expect(((await notRpc.json()) as { error: { code: unknown } }).error.code).toBeTypeOf('number');

    const unknown = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } }),
    );
    const unknownBody = (await unknown.json()) as { id: number; error?: unknown; result?: { isError?: boolean } };
    expect(unknownBody.id).toBe(7);
    expect(unknownBody.error ?? unknownBody.result?.isError).toBeTruthy();

    const get = await fetch(`${api.baseUrl}/mcp`, { headers: { authorization: `Bearer ${key}` } });
    expect(get.status).toBe(405);

    // A client that accepts only JSON (or sends no Accept) is still served.
    const plain = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
      accept: 'application/json',
    });
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { result: { tools: unknown[] } }).result.tools.length).toBeGreaterThan(5);

    const client = await connect(key);
    expect((await call(client, 'list_posts')).isError).toBeFalsy();
  });

  it('concurrent calls from two workspaces each see their own (servers are pooled, the caller is per request)', async () => {
    const one = await api.signUp();
    const two = await api.signUp();
    const [a1, a2] = [await account(one.workspaceId), await account(two.workspaceId)];
    const [c1, c2] = [await connect(await keyOf(one, ['read'])), await connect(await keyOf(two, ['read']))];
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        call(i % 2 === 0 ? c1 : c2, 'list_accounts').then((r) => ({
          i,
          ids: (r.structuredContent!.items as Array<{ id: string }>).map((x) => x.id),
        })),
      ),
    );
    for (const r of results) expect(r.ids, `call ${r.i}`).toEqual([r.i % 2 === 0 ? a1 : a2]);
  });
});
