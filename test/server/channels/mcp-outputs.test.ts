/**
 * Output schemas: every MCP tool declares one, and every call's `structuredContent` matches it.
 * One Herald with every tool on (the agent on a scripted model, a real knowledge base on
 * Chroma, the media library, fake Mastodon); the SDK's own client lists the tools, calls each
 * with real arguments, and each result is checked against the tool's declared `outputSchema`
 * with the SDK's JSON Schema validator (the client checks it too: a mismatch makes `callTool`
 * throw). A tool error carries no structured content, its code in `_meta["herald/error"]`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { schema } from '../../../core/index.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { authPlugin } from '../../../server/plugins/auth.js';
import { mcpPlugin } from '../../../server/channels/mcp/index.js';
import { ERROR_META } from '../../../server/channels/mcp/tools.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import { solidPng } from '../../helpers/media-fixtures.js';
import {
  startKnowledgeEnv,
  startTestChroma,
  ownerContext,
  waitForIngest,
  type KnowledgeEnv,
  type TestChroma,
} from '../../knowledge/knowledge-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';
import { setNiche, storeItems } from '../../../tools/trends/index.js';

let env: AgentEnv;
let chroma: TestChroma;
let knowledge: KnowledgeEnv;
let app: FastifyInstance;
let origin: Server;
let mediaBase: string;

beforeAll(async () => {
  env = await startAgentEnv();
  chroma = await startTestChroma();
  const penv = env.api.env;
  knowledge = await startKnowledgeEnv({
    db: penv.database.db,
    events: penv.events,
    chroma: chroma.handle,
    prefix: penv.prefix,
  });
  app = Fastify();
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: env.api.deps.auth });
  await app.register(mcpPlugin, {
    deps: {
      scheduling: penv.deps,
      db: penv.database.db,
      chat: env.handler,
      knowledge: knowledge.deps,
      media: { db: penv.database.db, store: env.api.deps.mediaStore, maxBytes: env.api.deps.limits.mediaMaxBytes },
    },
    version: 'test',
    db: penv.database.db,
    publicUrl: undefined,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const png = await solidPng(8, 8, '#223344');
  origin = createServer((req, res) => {
    if (req.url === '/a.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  mediaBase = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await app?.close();
  await new Promise((r) => origin?.close(r));
  await knowledge?.close();
  await chroma?.close();
  await env?.close();
});

const SALE = 'Spring sale: 20% off all week!';
function draftThenSchedule(req: FakeChatRequest): FakeReply {
  const results = toolResults(req);
  if (results.length === 0)
    return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
  if (results.length === 1) {
    const { postId } = JSON.parse(results[0]!) as { postId: string };
    return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
  }
  return { text: 'Scheduled for tomorrow at 09:00.' };
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text?: string }>;
  _meta?: Record<string, unknown>;
};

describe('MCP output schemas', () => {
  it('every tool declares an output schema and every call returns structured content matching it', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const client = new Client({ name: 'outputs-test', version: '1.0.0' });
    const address = app.server.address() as AddressInfo;
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${address.port}/mcp`), {
        requestInit: { headers: p.auth },
      }),
    );
    try {
      const { tools } = await client.listTools();
      const validator = new AjvJsonSchemaValidator();
      const checked = new Set<string>();
      const byName = new Map(tools.map((t) => [t.name, t]));
      for (const t of tools) expect(t.outputSchema, t.name).toMatchObject({ type: 'object' });

      const call = async (name: string, args: Record<string, unknown> = {}) => {
        const r = (await client.callTool({ name, arguments: args })) as ToolResult;
        expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
        const check = validator.getValidator(byName.get(name)!.outputSchema!)(r.structuredContent);
        expect(check.valid, `${name}: ${check.errorMessage ?? ''} ${JSON.stringify(r.structuredContent)}`).toBe(true);
        // The text block is the same JSON, for clients that read text only.
        expect(JSON.parse(r.content[0]!.text!)).toEqual(r.structuredContent);
        checked.add(name);
        return r.structuredContent!;
      };

      await call('list_accounts');
      const draft = await call('create_draft', { text: 'Hello from the outputs test', accounts: [accountId] });
      const postId = draft.id as string;
      await call('get_post', { postId });
      await call('update_post', { postId, content: 'Hello again from the outputs test', tags: ['test'] });
      const scheduled = await call('schedule_post', { postId, at: new Date(Date.now() + 3 * 3600_000).toISOString() });
      const targetId = (scheduled.targets as Array<{ id: string }>)[0]!.id;
      await call('list_posts', { limit: 5 });
      await call('calendar', {
        from: new Date().toISOString(),
        to: new Date(Date.now() + 2 * 86400_000).toISOString(),
      });
      await call('cancel_post', { targetId });

      const slots = await env.api.app.inject({
        method: 'PUT',
        url: `/v1/social-accounts/${accountId}/slots`,
        headers: p.auth,
        payload: { slots: [{ weekday: 3, time: '10:00' }] },
      });
      expect(slots.statusCode, slots.body).toBe(200);
      await call('get_slots', { socialAccountId: accountId });
      const second = await call('create_draft', { text: 'Queued by the outputs test', accounts: ['mastodon'] });
      const queued = await call('add_to_queue', { postId: second.id });
      // Published, so adapt_post can adapt it (by its target id) below.
      const publishedId = (queued.targets as Array<{ id: string }>)[0]!.id;
      await env.api.env.database.db
        .update(schema.postTargets)
        .set({ status: 'published', publishedAt: new Date(), platformPostId: 'outputs-1' })
        .where(eq(schema.postTargets.id, publishedId));

      await call('analytics_overview', { period: 'last_30_days' });
      // Something rising in the workspace's niche, for trending_topics and content_ideas.
      const ctx = {
        workspaceId: p.workspaceId,
        userId: p.userId,
        role: 'owner',
        timeZone: 'Europe/Paris',
        channel: 'rest',
      } as const;
      await setNiche({ db: env.api.env.database.db }, ctx, { keywords: ['sourdough'] });
      const loaves = [1, 2, 3, 4].map((i) => ({
        externalId: `s${i}`,
        title: `Sourdough starter trick ${i}`,
        url: `https://example.test/s${i}`,
        tags: [],
        engagement: i,
        publishedAt: null,
      }));
      await storeItems(env.api.env.database.db, p.workspaceId, 'mastodon', loaves, new Date());
      await call('trending_topics', {});
      await call('content_ideas', { term: 'sourdough' });
      await call('list_goals', { status: 'all' });
      const goal = await call('set_goal', {
        metric: 'posts_per_week',
        target: 5,
        dueDate: new Date(Date.now() + 60 * 86400_000).toISOString().slice(0, 10),
      });
      await call('get_progress', { goalId: goal.id });
      await call('coach_checkin');
      const at = new Date(Date.now() + 2 * 86400_000).toISOString();
      const [message] = await env.api.env.database.db
        .insert(schema.coachMessages)
        .values({
          workspaceId: p.workspaceId,
          userId: p.userId,
          kind: 'daily',
          day: at.slice(0, 10),
          text: 'Post in your best slot.',
          source: 'template',
          actions: [
            {
              id: 'a1',
              type: 'slot',
              label: 'Post in your Mastodon slot',
              at,
              atLocal: at,
              socialAccountId: accountId,
              platform: 'mastodon',
              text: 'Fresh loaves at eight.',
              why: 'Your best hour',
            },
          ],
        })
        .returning();
      await call('accept_coach_action', { messageId: message!.id, actionId: 'a1' });
      await call('suggest_hashtags', { platform: 'mastodon', text: 'Our sourdough' });
      await call('draft_trend_idea', { term: 'sourdough', idea: 0, accounts: [accountId] });
      await call('adapt_post', { targetId: publishedId, topic: 'rye loaves', accounts: [accountId], quote: true });
      await call('adapted_results', {});
      const source = await call('knowledge_add', {
        docType: 'note',
        title: 'Shop hours',
        format: 'text',
        text: 'The shop opens at nine and sells sourdough loaves.',
      });
      await waitForIngest(knowledge.deps, ownerContext(p), source.id as string);
      await call('knowledge_search', { query: 'sourdough' });
      await call('upload_media_from_url', { url: `${mediaBase}/a.png`, altText: 'A dark square' });

      env.brain = draftThenSchedule;
      const asked = await call('ask_herald', { message: 'draft our spring sale for Mastodon, tomorrow at 9' });
      const confirmRequest = asked.confirmRequest as { confirmId: string };
      await call('confirm_action', { threadId: asked.threadId, confirmId: confirmRequest.confirmId, approve: true });

      expect([...checked].sort()).toEqual(tools.map((t) => t.name).sort());

      // A tool error: no structured content (it would not match), the code in _meta.
      const missing = (await client.callTool({
        name: 'get_post',
        arguments: { postId: '00000000-0000-4000-8000-000000000000' },
      })) as ToolResult;
      expect(missing.isError).toBe(true);
      expect(missing.structuredContent).toBeUndefined();
      expect(missing._meta?.[ERROR_META]).toMatchObject({ code: 'not_found' });
      expect(missing.content[0]!.text).toMatch(/^not_found: /);
    } finally {
      await client.close();
    }
  }, 120_000);
});
