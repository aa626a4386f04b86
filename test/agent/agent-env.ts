/**
 * The agent end to end for tests: the real API stack (PGlite, Redis, publish queue and
 * worker) with a fake Mastodon as the publish target, the scripted OpenAI-protocol model
 * server behind the real router, and `wsRoutes` answering with `AgentChatHandler` — plus a
 * small WebSocket client that waits for events.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import {
  AgentChatHandler,
  DbCheckpointSaver,
  type AgentSink,
  type AgentTurn,
  type SummaryOptions,
} from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import type { Connector } from '../../connectors/index.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import type { KnowledgeDeps } from '../../knowledge/index.js';
import { wsRoutes } from '../../server/ws/index.js';
import type { SchedulingDeps } from '../../tools/scheduling/index.js';
import { startFakeLlm, type FakeChatRequest, type FakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

/** A guard against hangs, not a timing assertion. */
const WAIT_MS = 20_000;

export interface Ev {
  type: string;
  turnId?: string;
  seq?: number;
  text?: string;
  requestId?: string;
  name?: string;
  ok?: boolean;
  action?: { summary: string; details?: Record<string, unknown> };
  error?: { code: string; message: string };
  reason?: string;
  [k: string]: unknown;
}

export class Client {
  readonly events: Ev[] = [];
  #wake: (() => void)[] = [];
  closed = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData) => {
      this.events.push(JSON.parse(String(data)) as Ev);
      for (const w of this.#wake.splice(0)) w();
    });
    ws.on('error', () => undefined);
    ws.once('close', () => {
      this.closed = true;
      for (const w of this.#wake.splice(0)) w();
    });
  }

  /** Messages this client may still send at once under the server's advertised limits (`ready.limits`). */
  #tokens = Number.POSITIVE_INFINITY;
  #tokensAt = 0;

  send(msg: unknown): void {
    this.#refill();
    this.#tokens -= 1;
    this.ws.send(JSON.stringify(msg));
  }

  #limits(): { rate: number; burst: number } | null {
    const ready = this.events.find((e) => e.type === 'ready') as
      { limits?: { messagesPerSecond: number; messageBurst: number } } | undefined;
    return ready?.limits ? { rate: ready.limits.messagesPerSecond, burst: ready.limits.messageBurst } : null;
  }

  #refill(): void {
    const limits = this.#limits();
    if (!limits) return;
    const now = Date.now();
    if (!Number.isFinite(this.#tokens)) this.#tokens = limits.burst;
    else this.#tokens = Math.min(limits.burst, this.#tokens + ((now - this.#tokensAt) / 1000) * limits.rate);
    this.#tokensAt = now;
  }

  /**
   * Waits until the server's rate limit lets one more message through, as a well-behaved client
   * does — with two tokens to spare: the server refills by when messages arrive, and a message
   * held up on a loaded machine makes the gap to the next one shorter there than here (a
   * confirm sent 100 ms after its `say` was seen 55 ms after it, and dropped).
   */
  async pace(): Promise<void> {
    this.#refill();
    const limits = this.#limits();
    const need = Math.min(3, limits?.burst ?? 1);
    if (!limits || this.#tokens >= need) return;
    await new Promise((r) => setTimeout(r, Math.ceil(((need - this.#tokens) / limits.rate) * 1000)));
    this.#refill();
  }

  /** The first event (from `from` on) that matches, waiting for it. */
  async next(what: string, match: (e: Ev) => boolean, from = 0): Promise<Ev> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed before ${what}; got ${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms; got ${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends a user message; resolves with its turn id once acknowledged. */
  async say(text: string, threadId: string): Promise<string> {
    const id = `m-${Math.random().toString(36).slice(2)}`;
    await this.pace();
    this.send({ type: 'user_message', id, text, threadId });
    const ack = await this.next(`ack of ${id}`, (e) => e.type === 'ack' && e.id === id);
    return ack.turnId as string;
  }

  ofTurn(turnId: string): Ev[] {
    return this.events.filter((e) => e.turnId === turnId);
  }

  end(turnId: string): Promise<Ev> {
    return this.next(`message_end of ${turnId}`, (e) => e.type === 'message_end' && e.turnId === turnId);
  }

  confirmRequest(turnId: string): Promise<Ev> {
    return this.next(`confirm_request of ${turnId}`, (e) => e.type === 'confirm_request' && e.turnId === turnId);
  }

  text(turnId: string): string {
    return this.ofTurn(turnId)
      .filter((e) => e.type === 'token')
      .map((e) => e.text)
      .join('');
  }

  tail(): string {
    return JSON.stringify(this.events.slice(-6));
  }

  close(): void {
    this.ws.close();
  }
}

export interface AgentEnv {
  api: ApiEnv;
  llm: FakeLlm;
  mastodon: MastodonFake;
  /** What the scripted model answers; tests replace it. */
  brain: (req: FakeChatRequest) => FakeReply;
  /** Chat requests the model server has received. */
  modelCalls(): number;
  /** The router's usage ledger writer (rows are written in batches: `flush()` waits for them). */
  usage: LedgerUsageSink;
  /** Starts (another) agent on the same database; `close` stops it as a restart would. */
  startAgent(opts?: AgentOpts): Promise<{ url: string; handler: RecordingHandler; close: () => Promise<void> }>;
  url: string;
  /** The first agent's handler. */
  handler: RecordingHandler;
  connect(p: Person, url?: string): Promise<Client>;
  /** A person in Europe/Paris with one Mastodon account; returns the account id. */
  personWithMastodon(): Promise<{ p: Person; accountId: string; fakeAccountId: string }>;
  close(): Promise<void>;
}

export interface AgentOpts {
  /** Other service dependencies (a queue that fails on purpose). */
  deps?: SchedulingDeps;
  knowledge?: KnowledgeDeps;
  summary?: Partial<SummaryOptions>;
  /** Another checkpointer on the same database (one that stops writing, as a crash would). */
  checkpointer?: DbCheckpointSaver;
}

/** The agent, remembering each turn it was given (tests call its other methods with them). */
export class RecordingHandler extends AgentChatHandler {
  readonly turns = new Map<string, AgentTurn>();

  override handle(turn: AgentTurn, sink: AgentSink, signal: AbortSignal): Promise<void> {
    this.turns.set(turn.turnId, turn);
    return super.handle(turn, sink, signal);
  }
}

export async function startAgentEnv(opts: { connectors?: Connector[] } = {}): Promise<AgentEnv> {
  const mastodon = await startMastodonFake();
  // Other platforms beside Mastodon (a test's own fakes: Instagram for media tools).
  const api = await startApiEnv({
    connectors: [createMastodonConnector({ timeoutMs: 3_000 }), ...(opts.connectors ?? [])],
  });
  api.env.startWorker();
  const env = {} as AgentEnv;
  env.brain = () => ({ text: 'unscripted' });
  const llm = await startFakeLlm({ openai: (req) => env.brain(req) });
  const usage = new LedgerUsageSink(api.env.database.db, { cacheMs: 0 });
  const router = new ModelRouter({
    registry: new ModelRegistry(),
    providers: { openai: { apiKey: 'sk-test', baseUrl: llm.openaiUrl } },
    usage,
  });
  const apps: FastifyInstance[] = [];

  async function startAgent(opts: AgentOpts = {}) {
    const app = Fastify();
    await app.register(errorsPlugin);
    await app.register(authPlugin, { deps: api.deps.auth });
    const handler = new RecordingHandler({
      deps: opts.deps ?? api.env.deps,
      knowledge: opts.knowledge,
      // Tracked links as the server wires them (campaign tools).
      links: api.deps.links?.deps,
      // The media library as the server wires it (upload_media_from_url).
      media: { db: api.env.database.db, store: api.deps.mediaStore, maxBytes: api.deps.limits.mediaMaxBytes },
      router,
      checkpointer: opts.checkpointer ?? new DbCheckpointSaver(api.env.database.db),
      summary: opts.summary,
      // As the server wires it: settings cached while the principal cache hears of no change.
      changes: api.deps.auth.principals,
    });
    await app.register(wsRoutes, { prefix: '/v1', deps: api.deps, handler });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    return { url: `${address.replace(/^http/, 'ws')}/v1/ws`, handler, close: () => app.close() };
  }

  const first = await startAgent();
  Object.assign(env, {
    api,
    llm,
    mastodon,
    url: first.url,
    usage,
    handler: first.handler,
    startAgent,
    modelCalls: () => llm.requests.filter((r) => r.protocol === 'openai').length,
    async connect(p: Person, url = first.url) {
      const ws = new WebSocket(url, [], { headers: p.auth });
      const client = new Client(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await client.next('ready', (e) => e.type === 'ready');
      return client;
    },
    async personWithMastodon() {
      const p = await api.signUp({ timeZone: 'Europe/Paris' });
      const a = mastodon.createAccount();
      const accountId = await api.env.addAccount(p.workspaceId, {
        platform: 'mastodon',
        externalId: a.accountId,
        handle: a.username,
        credentials: {
          accessToken: a.accessToken,
          refreshToken: a.refreshToken,
          clientId: a.clientId,
          clientSecret: a.clientSecret,
        },
        metadata: { instanceUrl: mastodon.url },
      });
      return { p, accountId, fakeAccountId: a.accountId };
    },
    async close() {
      for (const app of apps) await app.close();
      await llm.close();
      await api.close();
      await mastodon.close();
    },
  });
  return env;
}

/** The tool results the model has been sent since the user's last message (OpenAI wire format). */
export function toolResults(req: FakeChatRequest): string[] {
  const messages = (req.body.messages as Array<{ role: string; content: unknown }> | undefined) ?? [];
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  return messages
    .slice(lastUser + 1)
    .filter((m) => m.role === 'tool')
    .map((m) => String(m.content));
}
