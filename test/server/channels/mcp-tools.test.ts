/**
 * The MCP tools beyond posts and scheduling, through the SDK's client against a real Herald
 * with a real knowledge base (Chroma, the lexical embedder): update_post, trending_topics,
 * content_ideas, list_goals, knowledge_add then knowledge_search; a read key is refused the
 * writing ones, and another workspace's ids and knowledge find nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { runTool, TOOLS, type ToolEnv } from '../../../agent/tools/index.js';
import { createBlueskyConnector } from '../../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';
import {
  startKnowledgeEnv,
  startTestChroma,
  waitForIngest,
  type KnowledgeEnv,
  type TestChroma,
} from '../../knowledge/knowledge-env.js';

let api: ApiEnv;
let chroma: TestChroma;
let knowledge: KnowledgeEnv;
let n = 0;
const clients: Client[] = [];

beforeAll(async () => {
  chroma = await startTestChroma();
  api = await startApiEnv({
    connectors: [createBlueskyConnector({ timeoutMs: 1_000 })],
    knowledge: async (env) => {
      knowledge = await startKnowledgeEnv({
        db: env.database.db,
        events: env.events,
        chroma: chroma.handle,
        prefix: env.prefix,
      });
      return knowledge.deps;
    },
  });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
  await knowledge?.close();
  await chroma?.close();
});

async function account(workspaceId: string): Promise<string> {
  const handle = `tools${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:tools${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:tools${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

async function connect(p: Person, scopes: string[]): Promise<Client> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'mcp', scopes },
  });
  expect(res.statusCode, res.body).toBe(201);
  const client = new Client({ name: 'tools-test', version: '1.0.0' });
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
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }) as Promise<ToolResult>;
const codeOf = (r: ToolResult) => (r._meta?.['herald/error'] as { code?: string } | undefined)?.code;

describe('MCP tools: posts, trends, coach, knowledge', () => {
  it('lists the new tools with annotations as documented', async () => {
    const me = await api.signUp();
    const client = await connect(me, ['read']);
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['trending_topics', 'content_ideas', 'list_goals', 'knowledge_search'])
      expect(byName.get(name)!.annotations, name).toMatchObject({ readOnlyHint: true });
    expect(byName.get('update_post')!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(byName.get('knowledge_add')!.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
    expect(byName.get('knowledge_add')!.inputSchema.required?.sort()).toEqual(['docType', 'format', 'title']);
  });

  it('update_post edits a draft; a read key is refused; another workspace finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await account(me.workspaceId);
    const writer = await connect(me, ['write']);
    const draft = await call(writer, 'create_draft', { text: 'First words', accounts: [accountId] });
    const postId = draft.structuredContent!.id as string;
    const updated = await call(writer, 'update_post', { postId, content: 'Better words' });
    expect(updated.isError, JSON.stringify(updated.content)).toBeFalsy();
    const rest = await api.app.inject({ method: 'GET', url: `/v1/posts/${postId}`, headers: me.auth });
    expect(JSON.stringify(rest.json())).toContain('Better words');

    const reader = await connect(me, ['read']);
    expect(codeOf(await call(reader, 'update_post', { postId, content: 'nope' }))).toBe('forbidden');
    const stranger = await connect(other, ['write']);
    expect(codeOf(await call(stranger, 'update_post', { postId, content: 'mine now' }))).toBe('not_found');
  });

  it('trending_topics, content_ideas and list_goals answer from the caller’s workspace', async () => {
    const me = await api.signUp();
    const client = await connect(me, ['read']);
    const rising = await call(client, 'trending_topics', { windowHours: 24 });
    expect(rising.isError, JSON.stringify(rising.content)).toBeFalsy();
    expect(rising.structuredContent).toHaveProperty('topics');
    const ideas = await call(client, 'content_ideas', { term: 'nothing-here-yet' });
    // No trend items in a new workspace: a typed error, not a crash.
    expect(ideas.isError).toBe(true);
    expect(codeOf(ideas)).toBeTruthy();
    expect(codeOf(ideas)).not.toBe('internal');
    const goals = await call(client, 'list_goals', {});
    expect(goals.structuredContent).toEqual({ items: [] });
  });

  it('knowledge_add then knowledge_search; a read key cannot add; another workspace does not find it', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const writer = await connect(me, ['write']);
    const added = await call(writer, 'knowledge_add', {
      docType: 'note',
      title: 'House style',
      format: 'text',
      text: 'We always call our customers wayfarers and never use exclamation marks.',
    });
    expect(added.isError, JSON.stringify(added.content)).toBeFalsy();
    const id = added.structuredContent!.id as string;
    const ready = await waitForIngest(
      knowledge.deps,
      { workspaceId: me.workspaceId, userId: me.userId, role: 'owner', channel: 'rest' },
      id,
    );
    expect(ready.status).toBe('ready');

    const found = await call(writer, 'knowledge_search', { query: 'wayfarers' });
    expect(found.isError, JSON.stringify(found.content)).toBeFalsy();
    expect(JSON.stringify(found.structuredContent)).toContain('wayfarers');

    const reader = await connect(me, ['read']);
    expect(
      codeOf(await call(reader, 'knowledge_add', { docType: 'note', title: 'x', format: 'text', text: 'y' })),
    ).toBe('forbidden');
    const stranger = await connect(other, ['read']);
    const theirs = await call(stranger, 'knowledge_search', { query: 'wayfarers' });
    expect(JSON.stringify(theirs.structuredContent)).not.toContain('wayfarers');
  });

  it('herald://brand-guide: the workspace’s brand guide whole and in order for a read key, as REST’s source text; another workspace’s is not in it', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const writer = await connect(me, ['write']);
    // Long enough for many chunks: the resource used to hold at most 50 ranked passages.
    const rules = Array.from({ length: 150 }, (_, i) => `- Rule ${i + 1}: say loaf ${i + 1} by its name, never shout.`);
    const guideText = `# Voice\n\nWarm and plain.\n\n# Rules\n\n${rules.join('\n')}\n\n# Words\n\nSay crumb, not texture.`;
    const added = await call(writer, 'knowledge_add', {
      docType: 'brand_guide',
      title: 'Voice of the bakery',
      format: 'markdown',
      text: guideText,
    });
    expect(added.isError, JSON.stringify(added.content)).toBeFalsy();
    const id = added.structuredContent!.id as string;
    const ctx = { workspaceId: me.workspaceId, userId: me.userId, role: 'owner', channel: 'rest' } as const;
    expect((await waitForIngest(knowledge.deps, ctx, id)).status).toBe('ready');
    // A note is not the brand guide.
    await call(writer, 'knowledge_add', { docType: 'note', title: 'Hours', format: 'text', text: 'Open at nine.' });

    const read = async (c: Client) => {
      const { resources } = await c.listResources();
      expect(resources.map((r) => r.uri)).toContain('herald://brand-guide');
      const r = await c.readResource({ uri: 'herald://brand-guide' });
      expect(r.contents[0]).toMatchObject({ uri: 'herald://brand-guide', mimeType: 'application/json' });
      return JSON.parse((r.contents[0] as { text: string }).text) as {
        sources: Array<{ id: string; title: string; status: string; text: string | null }>;
      };
    };
    const guide = await read(await connect(me, ['read']));
    expect(guide.sources.map((x) => x.id)).toEqual([id]);
    expect(guide.sources[0]).toMatchObject({ title: 'Voice of the bakery', status: 'ready', text: guideText });
    expect(JSON.stringify(guide)).not.toContain('Open at nine');

    // The same text over REST, for a viewer's key too; another workspace's owner finds nothing.
    const viewerKey = await api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: me.auth,
      payload: { name: 'reader', scopes: ['read'] },
    });
    const rest = await api.app.inject({
      method: 'GET',
      url: `/v1/knowledge/sources/${id}/text`,
      headers: { authorization: `Bearer ${viewerKey.json().secret as string}` },
    });
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({ id, docType: 'brand_guide', format: 'markdown', text: guideText });
    const foreign = await api.app.inject({
      method: 'GET',
      url: `/v1/knowledge/sources/${id}/text`,
      headers: other.auth,
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('not_found');

    const theirs = await read(await connect(other, ['admin']));
    expect(theirs.sources.map((x) => x.id)).not.toContain(id);
    expect(JSON.stringify(theirs)).not.toContain('never shout');

    // The agent's read_source: the same text for a viewer (marked untrusted); another workspace finds nothing.
    const agentEnv = (p: Person, role: 'owner' | 'viewer'): ToolEnv => ({
      deps: api.env.deps,
      knowledge: knowledge.deps,
      session: { workspaceId: p.workspaceId, userId: p.userId, role, timeZone: 'UTC', channel: 'test' },
      now: () => new Date(),
    });
    const viaAgent = await runTool(agentEnv(me, 'viewer'), 'read_source', { sourceId: id });
    expect(viaAgent).toMatchObject({
      ok: true,
      output: { id, type: 'brand_guide', text: guideText, truncated: false },
    });
    expect(TOOLS.get('read_source')!.untrustedOutput).toBe(true);
    const foreignAgent = await runTool(agentEnv(other, 'owner'), 'read_source', { sourceId: id });
    expect(foreignAgent).toMatchObject({ ok: false });
    expect(JSON.stringify(foreignAgent)).toContain('not_found');
    expect(JSON.stringify(foreignAgent)).not.toContain('never shout');
  });
});
