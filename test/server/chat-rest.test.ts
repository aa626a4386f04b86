/**
 * REST chat against the real agent (scripted OpenAI-protocol model, real router, database,
 * queue and fake Mastodon): `POST /v1/chat` returns the reply, the tool calls and the action
 * to confirm, scheduling nothing; `POST /v1/chat/confirm` with that confirmId schedules it
 * once, a second confirm finds nothing open, a wrong confirmId changes nothing, and a reject
 * (`approve: false`, or `POST /v1/chat/reject` with a reason the agent is told) leaves the draft.
 */
import { and, eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../core/index.js';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import { chatRoutes } from '../../server/routes/chat.js';
import { RestTurns } from '../../server/routes/chat-stream.js';
import { mcpPlugin } from '../../server/channels/mcp/index.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FakeChatRequest, FakeReply } from '../fakes/llm/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../agent/agent-env.js';
import { startApiEnv } from '../helpers/api-env.js';

let env: AgentEnv;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  env = await startAgentEnv();
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: env.api.deps.auth });
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', v1.authenticate);
      await v1.register(chatRoutes, {
        handler: env.handler,
        turns: new RestTurns(env.handler, { redis: env.api.deps.redis, keyPrefix: env.api.deps.keyPrefix }),
      });
    },
    { prefix: '/v1' },
  );
  await app.register(mcpPlugin, {
    deps: { scheduling: env.api.env.deps, db: env.api.env.database.db, chat: env.handler },
    version: 'test',
    db: env.api.env.database.db,
    publicUrl: undefined,
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await env?.close();
});

const SALE = 'Winter sale: 30% off until Friday!';
function draftThenSchedule(req: FakeChatRequest): FakeReply {
  const results = toolResults(req);
  if (results.length === 0)
    return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
  if (results.length === 1) {
    const { postId } = JSON.parse(results[0]!) as { postId: string };
    return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }] };
  }
  return { text: results[1]!.startsWith('Not done') ? 'Fine, it stays a draft.' : 'Scheduled for tomorrow at 09:00.' };
}

async function statuses(workspaceId: string) {
  const t = schema.postTargets;
  return (
    await env.api.env.database.db
      .select()
      .from(t)
      .where(and(eq(t.workspaceId, workspaceId)))
  ).map((r) => r.status);
}

const post = (auth: Record<string, string>, url: string, payload: object) =>
  app.inject({ method: 'POST', url, headers: auth, payload });

describe('REST chat', () => {
  it('a turn returns the confirm request; confirm schedules once; a second confirm finds nothing', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const first = await post(p.auth, '/v1/chat', { message: 'draft our winter sale for Mastodon, tomorrow at 9' });
    expect(first.statusCode, first.body).toBe(200);
    const turn = first.json() as {
      threadId: string;
      toolCalls: Array<{ name: string; ok?: boolean }>;
      confirmRequest: { confirmId: string; summary: string } | null;
    };
    expect(turn.toolCalls.map((c) => [c.name, c.ok])).toEqual([['draft_post', true]]);
    expect(turn.confirmRequest!.summary).toContain(SALE);
    expect(await statuses(p.workspaceId)).toEqual(['draft']);

    const wrong = await post(p.auth, '/v1/chat/confirm', {
      threadId: turn.threadId,
      confirmId: 'not-the-action',
      approve: true,
    });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error.code).toBe('conflict');
    expect(await statuses(p.workspaceId)).toEqual(['draft']);

    const ok = await post(p.auth, '/v1/chat/confirm', {
      threadId: turn.threadId,
      confirmId: turn.confirmRequest!.confirmId,
      approve: true,
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().reply).toContain('Scheduled for tomorrow at 09:00.');
    expect(ok.json().toolCalls.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ['schedule_post', true],
    ]);
    expect(await statuses(p.workspaceId)).toEqual(['scheduled']);

    const again = await post(p.auth, '/v1/chat/confirm', {
      threadId: turn.threadId,
      confirmId: turn.confirmRequest!.confirmId,
      approve: true,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('invalid_state');
    expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
  }, 60_000);

  it("a reject leaves the draft; another person cannot answer this thread's question", async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const turn = (await post(p.auth, '/v1/chat', { message: 'winter sale post, tomorrow at 9' })).json() as {
      threadId: string;
      confirmRequest: { confirmId: string };
    };
    const stranger = await env.api.signUp();
    const theirs = await post(stranger.auth, '/v1/chat/confirm', {
      threadId: turn.threadId,
      confirmId: turn.confirmRequest.confirmId,
      approve: true,
    });
    expect(theirs.statusCode).toBe(409);
    expect(await statuses(p.workspaceId)).toEqual(['draft']);

    const no = await post(p.auth, '/v1/chat/confirm', {
      threadId: turn.threadId,
      confirmId: turn.confirmRequest.confirmId,
      approve: false,
    });
    expect(no.statusCode, no.body).toBe(200);
    expect(no.json().reply).toContain('stays a draft');
    expect(await statuses(p.workspaceId)).toEqual(['draft']);
  }, 60_000);

  it('POST /v1/chat/reject: nothing is done, the agent is told no with the reason; rejecting again finds nothing', async () => {
    const { p } = await env.personWithMastodon();
    let toldNo = '';
    env.brain = (req) => {
      const results = toolResults(req);
      if (results.length === 2) toldNo = results[1]!;
      return draftThenSchedule(req);
    };
    const turn = (await post(p.auth, '/v1/chat', { message: 'winter sale post, tomorrow at 9' })).json() as {
      threadId: string;
      confirmRequest: { confirmId: string };
    };
    const body = { threadId: turn.threadId, confirmId: turn.confirmRequest.confirmId, message: 'Wait for the photos' };
    const stranger = await env.api.signUp();
    expect((await post(stranger.auth, '/v1/chat/reject', body)).statusCode).toBe(409);
    const wrong = await post(p.auth, '/v1/chat/reject', { ...body, confirmId: 'not-the-action' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().error.code).toBe('conflict');
    expect((await post(p.auth, '/v1/chat/reject', { ...body, approve: true })).statusCode).toBe(400);

    const no = await post(p.auth, '/v1/chat/reject', body);
    expect(no.statusCode, no.body).toBe(200);
    expect(no.json()).toMatchObject({ threadId: turn.threadId, confirmRequest: null });
    expect(no.json().reply).toContain('stays a draft');
    expect(toldNo).toMatch(/^Not done/);
    expect(toldNo).toContain('Wait for the photos');
    expect(await statuses(p.workspaceId)).toEqual(['draft']);

    const again = await post(p.auth, '/v1/chat/reject', body);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('invalid_state');
    expect(await statuses(p.workspaceId)).toEqual(['draft']);
  }, 60_000);
});

describe('ask_herald and confirm_action over MCP', () => {
  it('the SDK client schedules a post through ask_herald + confirm_action, once', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const client = new Client({ name: 'ask-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers: p.auth } }),
    );
    try {
      type R = {
        isError?: boolean;
        structuredContent?: Record<string, unknown>;
        content: unknown;
        _meta?: Record<string, unknown>;
      };
      const asked = (await client.callTool({
        name: 'ask_herald',
        arguments: { message: 'draft our winter sale for Mastodon, tomorrow at 9' },
      })) as R;
      expect(asked.isError, JSON.stringify(asked.content)).toBeFalsy();
      const { threadId, confirmRequest } = asked.structuredContent as {
        threadId: string;
        confirmRequest: { confirmId: string; summary: string };
      };
      expect(confirmRequest.summary).toContain(SALE);
      expect(await statuses(p.workspaceId)).toEqual(['draft']);
      const args = { threadId, confirmId: confirmRequest.confirmId, approve: true };
      const done = (await client.callTool({ name: 'confirm_action', arguments: args })) as R;
      expect(done.isError, JSON.stringify(done.content)).toBeFalsy();
      expect(done.structuredContent!.reply).toContain('Scheduled for tomorrow at 09:00.');
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
      const twice = (await client.callTool({ name: 'confirm_action', arguments: args })) as R;
      expect(twice._meta?.['herald/error']).toMatchObject({ code: 'invalid_state' });
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('REST chat in the real app without a model', () => {
  it('answers with the echo handler, is in the OpenAPI document, and has nothing to confirm', async () => {
    const api = await startApiEnv();
    try {
      const me = await api.signUp();
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/chat',
        headers: me.auth,
        payload: { message: 'hello there' },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ reply: 'hello there', toolCalls: [], confirmRequest: null });
      const confirm = await api.app.inject({
        method: 'POST',
        url: '/v1/chat/confirm',
        headers: me.auth,
        payload: { threadId: res.json().threadId, confirmId: 'x', approve: true },
      });
      expect(confirm.statusCode).toBe(409);
      expect(confirm.json().error.code).toBe('invalid_state');
      const bad = await api.app.inject({ method: 'POST', url: '/v1/chat', headers: me.auth, payload: { nope: 1 } });
      expect(bad.statusCode).toBe(400);
      expect((await api.app.inject({ method: 'POST', url: '/v1/chat', payload: { message: 'hi' } })).statusCode).toBe(
        401,
      );
      const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: object };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/v1/chat', '/v1/chat/confirm', '/v1/chat/reject']),
      );
    } finally {
      await api.close();
    }
  }, 60_000);
});
