/**
 * `ask_herald`'s confirmation through MCP elicitation, and resuming a dropped SSE stream,
 * with the SDK's own client against Herald's real agent (scripted OpenAI-protocol model, real
 * router, database, queue and fake Mastodon) in stateful mode:
 * - a client that declares `elicitation` is asked during the call: accept schedules the post
 *   once; decline rejects it (nothing done, nothing left pending); cancel leaves it pending
 *   for `confirm_action`; a client without the capability, or any client in stateless mode,
 *   gets `confirmRequest` back and nothing is done;
 * - the POST stream of an `ask_herald` call is cut (its TCP connections destroyed by a
 *   loopback proxy) while the person is being asked: the client resumes with `GET` and
 *   `Last-Event-ID`, and the result arrives on the resumed stream; an event id of another
 *   session replays nothing; another stateful process (its own sessions) answers the session
 *   id and a resume with 404 `mcp_session_not_found`: stateful mode needs sticky routing.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { and, eq } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { schema } from '../../../core/index.js';
import { errorsPlugin } from '../../../server/plugins/errors.js';
import { authPlugin } from '../../../server/plugins/auth.js';
import { mcpPlugin, type McpMode } from '../../../server/channels/mcp/index.js';
import { ERROR_META } from '../../../server/channels/mcp/tools.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../../agent/agent-env.js';
import type { Person } from '../../helpers/api-env.js';
import type { FakeChatRequest, FakeReply } from '../../fakes/llm/index.js';

let env: AgentEnv;
const apps: FastifyInstance[] = [];
let stateful: string;
/** A second stateful process (its own sessions), for what another API process answers. */
let statefulElsewhere: string;
let stateless: string;
/** `GET /mcp` requests that carried `Last-Event-ID`, as the server saw them. */
const resumes: Array<{ lastEventId: string }> = [];

async function mcpApp(mode: McpMode): Promise<string> {
  const app = Fastify();
  // (onRequest: MCP answers are written by the SDK on a hijacked reply, which skips onResponse.)
  app.addHook('onRequest', async (req) => {
    const id = req.headers['last-event-id'];
    if (req.method === 'GET' && typeof id === 'string') resumes.push({ lastEventId: id });
  });
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: env.api.deps.auth });
  await app.register(mcpPlugin, {
    deps: { scheduling: env.api.env.deps, db: env.api.env.database.db, chat: env.handler },
    version: 'test',
    db: env.api.env.database.db,
    publicUrl: undefined,
    mode,
  });
  apps.push(app);
  return `${await app.listen({ host: '127.0.0.1', port: 0 })}/mcp`;
}

beforeAll(async () => {
  env = await startAgentEnv();
  stateful = await mcpApp('stateful');
  statefulElsewhere = await mcpApp('stateful');
  stateless = await mcpApp('stateless');
}, 60_000);
afterAll(async () => {
  for (const app of apps) await app.close();
  await env?.close();
});

const SALE = 'Autumn sale: 25% off until Sunday!';
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
  const rows = await env.api.env.database.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, workspaceId)));
  return rows.map((r) => r.status);
}

type Turn = {
  threadId: string;
  reply: string;
  confirmRequest: { confirmId: string; summary: string } | null;
  elicitation?: string;
};
type Result = { isError?: boolean; structuredContent?: Turn; content: unknown; _meta?: Record<string, unknown> };

interface Asked {
  client: Client;
  /** The elicitation requests the client was sent. */
  asked: string[];
}

/** An SDK client; with `answer`, it declares elicitation and answers each request so. */
async function connect(
  p: Person,
  url: string,
  answer?: (message: string) => ElicitResult | Promise<ElicitResult>,
): Promise<Asked> {
  const asked: string[] = [];
  const client = new Client(
    { name: 'elicit-test', version: '1.0.0' },
    { capabilities: answer ? { elicitation: {} } : {} },
  );
  if (answer)
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return answer(req.params.message);
    });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: p.auth },
      reconnectionOptions: {
        initialReconnectionDelay: 200,
        maxReconnectionDelay: 1_000,
        reconnectionDelayGrowFactor: 1.5,
        maxRetries: 5,
      },
    }),
  );
  await client.listTools();
  return { client, asked };
}

const ask = async (c: Client) =>
  (await c.callTool(
    { name: 'ask_herald', arguments: { message: 'draft our autumn sale for Mastodon, tomorrow at 9' } },
    undefined,
    { timeout: 30_000 },
  )) as Result;

describe('ask_herald with elicitation', () => {
  it('accept: the person is asked during the call and the post is scheduled once', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const { client, asked } = await connect(p, stateful, () => ({ action: 'accept', content: { approve: true } }));
    try {
      const res = await ask(client);
      expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain(SALE);
      expect(res.structuredContent).toMatchObject({ elicitation: 'accepted', confirmRequest: null });
      expect(res.structuredContent!.reply).toContain('Scheduled for tomorrow at 09:00.');
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
      // Nothing waits any more: a confirm_action now does nothing.
      const again = (await client.callTool({
        name: 'confirm_action',
        arguments: { threadId: res.structuredContent!.threadId, confirmId: 'anything', approve: true },
      })) as Result;
      expect(again._meta?.[ERROR_META]).toMatchObject({ code: 'invalid_state' });
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('decline (or approve: false) rejects the action: nothing is scheduled and nothing stays pending', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const declining = await connect(p, stateful, () => ({ action: 'decline' }));
    const saysNo = await connect(p, stateful, () => ({ action: 'accept', content: { approve: false } }));
    try {
      for (const { client } of [declining, saysNo]) {
        const res = await ask(client);
        expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
        expect(res.structuredContent).toMatchObject({ elicitation: 'declined', confirmRequest: null });
        expect(res.structuredContent!.reply).toContain('stays a draft');
      }
      expect(await statuses(p.workspaceId)).toEqual(['draft', 'draft']);
    } finally {
      await declining.client.close();
      await saysNo.client.close();
    }
  }, 60_000);

  it('cancel leaves the action pending: confirm_action then schedules it once', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const { client } = await connect(p, stateful, () => ({ action: 'cancel' }));
    try {
      const res = await ask(client);
      expect(res.structuredContent).toMatchObject({ elicitation: 'cancelled' });
      const confirm = res.structuredContent!.confirmRequest!;
      expect(confirm.summary).toContain(SALE);
      expect(await statuses(p.workspaceId)).toEqual(['draft']);
      const args = { threadId: res.structuredContent!.threadId, confirmId: confirm.confirmId, approve: true };
      const done = (await client.callTool({ name: 'confirm_action', arguments: args })) as Result;
      expect(done.isError, JSON.stringify(done.content)).toBeFalsy();
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('without the capability, or in stateless mode, the action comes back pending and is not done', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const plain = await connect(p, stateful);
    const noStream = await connect(p, stateless, () => ({ action: 'accept', content: { approve: true } }));
    try {
      for (const { client } of [plain, noStream]) {
        const res = await ask(client);
        expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
        expect(res.structuredContent!.confirmRequest?.summary).toContain(SALE);
        expect(res.structuredContent!.elicitation).toBeUndefined();
      }
      expect(noStream.asked).toEqual([]);
      expect(await statuses(p.workspaceId)).toEqual(['draft', 'draft']);
    } finally {
      await plain.client.close();
      await noStream.client.close();
    }
  }, 60_000);
});

/** A loopback TCP proxy whose open connections can be cut, as a network drop would. */
async function startProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(target.href);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.href,
    /** Destroys every open connection; returns how many there were. */
    cut(): number {
      const n = sockets.size;
      for (const s of sockets) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('resuming a dropped SSE stream (stateful mode)', () => {
  it('the POST stream of a call is cut while the person is asked; GET with Last-Event-ID delivers the result', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule;
    const proxy = await startProxy(new URL(stateful));
    let cut = 0;
    const { client } = await connect(p, proxy.url, async () => {
      // The elicitation request came on the call's POST stream: cut it (and every other
      // connection) before answering, then answer on a new connection.
      cut = proxy.cut();
      await new Promise((r) => setTimeout(r, 50));
      return { action: 'accept', content: { approve: true } };
    });
    try {
      const before = resumes.length;
      const res = await ask(client);
      expect(cut).toBeGreaterThan(0);
      expect(res.isError, JSON.stringify(res.content)).toBeFalsy();
      expect(res.structuredContent).toMatchObject({ elicitation: 'accepted', confirmRequest: null });
      expect(await statuses(p.workspaceId)).toEqual(['scheduled']);
      const resumed = resumes.slice(before);
      // The client resumed from an event of the cut stream (its ids are `<streamId>.<n>`).
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed[0]!.lastEventId).toMatch(/^[0-9a-f-]{36}\.\d+$/);
    } finally {
      await client.close();
      await proxy.close();
    }
  }, 60_000);

  it('another API process does not hold the session: a request or a resume there is 404 mcp_session_not_found', async () => {
    const { p } = await env.personWithMastodon();
    const { client } = await connect(p, stateful);
    try {
      const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
      const headers = {
        ...p.auth,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      };
      const call = await fetch(statefulElsewhere, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(call.status).toBe(404);
      expect(((await call.json()) as { error: { data: { code: string } } }).error.data.code).toBe(
        'mcp_session_not_found',
      );
      const resume = await fetch(statefulElsewhere, {
        headers: { ...headers, accept: 'text/event-stream', 'last-event-id': `${randomUUID()}.1` },
      });
      expect(resume.status).toBe(404);
      await resume.body?.cancel();
      // The process that holds it still answers.
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('an event id of another session replays nothing of it', async () => {
    const { p } = await env.personWithMastodon();
    const { client } = await connect(p, stateful);
    const other = await connect(p, stateful);
    try {
      // The other session's own POST stream: its first event id (the priming event).
      const init = await fetch(stateful, {
        method: 'POST',
        headers: {
          ...p.auth,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': (other.client.transport as StreamableHTTPClientTransport).sessionId!,
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      const body = await init.text();
      const eventId = /^id: (.+)$/m.exec(body)?.[1];
      expect(eventId, body).toBeTruthy();
      const theirs = await fetch(stateful, {
        headers: {
          ...p.auth,
          accept: 'text/event-stream',
          'mcp-session-id': (client.transport as StreamableHTTPClientTransport).sessionId!,
          'mcp-protocol-version': '2025-11-25',
          'last-event-id': eventId!,
        },
      });
      expect(theirs.status).toBe(400);
      await theirs.body?.cancel();
    } finally {
      await client.close();
      await other.client.close();
    }
  }, 60_000);
});
