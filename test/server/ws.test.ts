/**
 * The `/v1/ws` chat WebSocket, end to end: real `ws` clients against the real API (PGlite,
 * Redis) on a loopback port, driving the `EchoChatHandler`. A second, smaller app registers
 * `wsRoutes` on the same deps where a test needs protocol knobs the API does not expose
 * (heartbeat interval, resume buffer size, a rate limit the fuzz does not trip).
 */
import { connect as connectTcp, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { createSession, ERROR_CATALOGUE } from '../../core/index.js';
import type { ApiDeps } from '../../server/api.js';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import type { Principal } from '../../server/auth/principal.js';
import { EchoChatHandler, wsRoutes, wsStats, type ChatHandler, type WsOptions } from '../../server/ws/index.js';
import { TurnStore } from '../../server/ws/turn-buffer.js';
import { Turn, TurnRegistry } from '../../server/ws/turn.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { startOwnRedis } from '../helpers/own-redis.js';

/** What the tests need of a person: who, and a credential. */
type Who = Pick<Person, 'userId' | 'workspaceId' | 'accessToken' | 'auth'>;

/** A guard against hangs, not a timing assertion. */
const WAIT_MS = 15_000;
const LIMITS = { wsMaxConnectionsPerUser: 4, wsMaxBufferedBytes: 64 * 1024 } as const;

interface Ev {
  type: string;
  turnId?: string;
  seq?: number;
  id?: string;
  text?: string;
  requestId?: string;
  reason?: string;
  error?: { code: string; message: string; details?: unknown };
  [k: string]: unknown;
}

class Client {
  readonly events: Ev[] = [];
  pings = 0;
  closeInfo: { code: number; reason: string } | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  #wake: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.events.push(isBinary ? { type: '(binary)' } : (JSON.parse(String(data)) as Ev));
      this.#notify();
    });
    ws.on('ping', () => {
      this.pings++;
      this.#notify();
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.#notify();
      }),
    );
  }

  /** The raw TCP socket under the WebSocket (to stop reading, or to write junk). */
  get rawSocket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits until `cond` returns something truthy; fails, saying what came, if the socket closes or the guard runs out. */
  async until<T>(what: string, cond: () => T | undefined | null | false | Promise<T | false>): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const v = await cond();
      if (v) return v;
      if (this.closeInfo) throw new Error(`closed ${this.closeInfo.code} before ${what}; got ${this.#tail()}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms; got ${this.#tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  next(what: string, pred: (e: Ev) => boolean, from = 0): Promise<Ev> {
    return this.until(what, () => this.events.slice(from).find(pred));
  }

  /** Sends a user message; resolves with its ack. */
  async say(id: string, text: string, extra: Record<string, unknown> = {}): Promise<Ev> {
    const from = this.events.length;
    this.send({ type: 'user_message', id, text, ...extra });
    return this.next(`ack of ${id}`, (e) => (e.type === 'ack' || e.type === 'error') && e.id === id, from);
  }

  /** The turn's events received so far, in arrival order. */
  turnEvents(turnId: string): Ev[] {
    return this.events.filter((e) => e.turnId === turnId && typeof e.seq === 'number');
  }

  /** Waits for the turn's message_end; returns every event of the turn received. */
  async turn(turnId: string): Promise<Ev[]> {
    await this.next(`message_end of ${turnId}`, (e) => e.type === 'message_end' && e.turnId === turnId);
    return this.turnEvents(turnId);
  }

  async pingPong(id: string): Promise<void> {
    const from = this.events.length;
    this.send({ type: 'ping', id });
    await this.next(`pong ${id}`, (e) => e.type === 'pong' && e.id === id, from);
  }

  async close(): Promise<void> {
    if (!this.closeInfo) this.ws.close(1000);
    await this.closed;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  #tail(): string {
    return JSON.stringify(this.events.slice(-5)).slice(0, 1500);
  }
}

let api: ApiEnv;
let wsUrl: string;
const open = new Set<Client>();

beforeAll(async () => {
  api = await startApiEnv({ limits: LIMITS });
  wsUrl = `${api.baseUrl.replace(/^http/, 'ws')}/v1/ws`;
});
afterAll(async () => {
  await Promise.all([...open].map((c) => c.close()));
  await api?.close();
});

/**
 * A new user with a workspace and a signed-in session, made without the sign-up route (which
 * allows only a few sign-ups a minute from one address).
 */
async function person(): Promise<Who> {
  const { workspaceId, userId } = await api.env.newWorkspace();
  const session = await createSession(api.deps.db, userId, 'ws.test');
  const accessToken = await api.deps.auth.signer.sign({ userId, sessionId: session.id, workspaceId });
  return { userId, workspaceId, accessToken, auth: { authorization: `Bearer ${accessToken}` } };
}

async function connect(
  opts: { headers?: Record<string, string>; protocols?: string[]; url?: string; autoPong?: boolean } = {},
): Promise<Client> {
  const ws = new WebSocket(opts.url ?? wsUrl, opts.protocols ?? [], {
    headers: opts.headers ?? {},
    autoPong: opts.autoPong ?? true,
  });
  const client = new Client(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`));
    });
    ws.once('error', reject);
  });
  open.add(client);
  void client.closed.then(() => open.delete(client));
  return client;
}

async function connectAs(p: Who, url?: string): Promise<Client> {
  const c = await connect({ headers: p.auth, ...(url ? { url } : {}) });
  await c.next('ready', (e) => e.type === 'ready');
  return c;
}

/** An upgrade expected to be refused: its HTTP status and body, and whether it upgraded anyway. */
function refusal(opts: {
  headers?: Record<string, string>;
  protocols?: string[];
  url?: string;
}): Promise<{ status: number; body: { error?: { code: string; message: string } }; upgraded: boolean }> {
  const ws = new WebSocket(opts.url ?? wsUrl, opts.protocols ?? [], { headers: opts.headers ?? {} });
  ws.on('error', () => undefined);
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, body: {}, upgraded: true });
    });
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: body ? JSON.parse(body) : {}, upgraded: false });
      });
    });
  });
}

/** An access token of `p`'s session that expires `inS` seconds from now (negative: already expired). */
async function tokenExpiringIn(p: Who, inS: number): Promise<string> {
  const { sub, sid, ws } = decodeJwt(p.accessToken) as { sub: string; sid: string; ws: string };
  const signer = api.deps.auth.signer;
  return signer.sign(
    { userId: sub, sessionId: sid, workspaceId: ws },
    new Date(Date.now() - (signer.ttlS - inS) * 1000),
  );
}

async function apiKey(p: Who, scopes: string[] = ['write']): Promise<{ id: string; secret: string }> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'ws', scopes },
  });
  expect(res.statusCode).toBe(201);
  const body = res.json() as { key: { id: string }; secret: string };
  return { id: body.key.id, secret: body.secret };
}

/** `wsRoutes` alone on the API's deps, with knobs the API does not expose. */
async function startWsApp(
  limits: Partial<ApiDeps['limits']>,
  options: Omit<WsOptions, 'deps'> = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: api.deps.auth });
  await app.register(wsRoutes, {
    prefix: '/v1',
    deps: { ...api.deps, limits: { ...api.deps.limits, ...limits } },
    ...options,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `${address.replace(/^http/, 'ws')}/v1/ws` };
}

function expectSeqs(events: Ev[], from: number): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => from + i));
}

const texts = (events: Ev[]) =>
  events
    .filter((e) => e.type === 'token')
    .map((e) => e.text)
    .join('');

describe('connecting to /v1/ws', () => {
  it('accepts a bearer access token; ready describes the session', async () => {
    const p = await api.signUp();
    const c = await connect({ headers: p.auth });
    const ready = await c.next('ready', (e) => e.type === 'ready');
    expect(ready).toMatchObject({
      protocol: 'herald.v1',
      version: 1,
      workspaceId: p.workspaceId,
      heartbeatMs: api.deps.limits.wsHeartbeatMs,
      limits: { maxFrameBytes: api.deps.limits.wsMaxFrameBytes },
    });
    expect(ready.connectionId).toMatch(/^conn_/);
    expect(Date.parse(ready.credentialExpiresAt as string)).toBeGreaterThan(Date.now());
    await c.pingPong('after-ready');
    await c.close();
  });

  it('accepts an API key as a bearer token or in X-Api-Key', async () => {
    const p = await person();
    const { secret } = await apiKey(p);
    const ways: Record<string, string>[] = [{ authorization: `Bearer ${secret}` }, { 'x-api-key': secret }];
    for (const headers of ways) {
      const c = await connect({ headers });
      const ready = await c.next('ready', (e) => e.type === 'ready');
      expect(ready).toMatchObject({ workspaceId: p.workspaceId, credentialExpiresAt: null });
      await c.close();
    }
  });

  it('accepts the browser subprotocols herald.v1 + herald.auth.<token> and selects herald.v1', async () => {
    const p = await person();
    const { secret } = await apiKey(p);
    for (const credential of [p.accessToken, secret]) {
      const c = await connect({ protocols: ['herald.v1', `herald.auth.${credential}`] });
      expect(c.ws.protocol).toBe('herald.v1');
      const ready = await c.next('ready', (e) => e.type === 'ready');
      expect(ready.workspaceId).toBe(p.workspaceId);
      await c.close();
    }
  });

  it('refuses missing, bad, tampered, expired and revoked credentials with HTTP 401 and the error body, never upgrading', async () => {
    const p = await person();
    const [head, payload, sig] = p.accessToken.split('.') as [string, string, string];
    const tampered = `${head}.${payload.slice(0, -2)}${payload.endsWith('A') ? 'B' : 'A'}${payload.slice(-1)}.${sig}`;
    const key = await apiKey(p);
    expect(
      (await api.app.inject({ method: 'DELETE', url: `/v1/api-keys/${key.id}`, headers: p.auth })).statusCode,
    ).toBe(204);
    const cases: [string, Parameters<typeof refusal>[0], string][] = [
      ['no credential', {}, 'unauthorized'],
      ['garbage bearer', { headers: { authorization: 'Bearer not-a-token' } }, 'unauthorized'],
      ['not bearer', { headers: { authorization: `Basic ${p.accessToken}` } }, 'unauthorized'],
      ['tampered token', { headers: { authorization: `Bearer ${tampered}` } }, 'unauthorized'],
      ['expired token', { headers: { authorization: `Bearer ${await tokenExpiringIn(p, -60)}` } }, 'token_expired'],
      ['revoked API key', { headers: { 'x-api-key': key.secret } }, 'unauthorized'],
      ['bad subprotocol credential', { protocols: ['herald.v1', 'herald.auth.nope'] }, 'unauthorized'],
      ['subprotocol without credential', { protocols: ['herald.v1'] }, 'unauthorized'],
    ];
    for (const [name, opts, code] of cases) {
      const r = await refusal(opts);
      expect({ name, status: r.status, upgraded: r.upgraded, code: r.body.error?.code }).toEqual({
        name,
        status: 401,
        upgraded: false,
        code,
      });
      expect(typeof r.body.error?.message).toBe('string');
    }
  });

  it('refuses a credential in the query string, and subprotocols without herald.v1, before upgrading', async () => {
    const p = await person();
    const query = await refusal({ url: `${wsUrl}?token=${p.accessToken}` });
    expect([query.status, query.upgraded, query.body.error?.code]).toEqual([400, false, 'validation_failed']);
    const proto = await refusal({ headers: p.auth, protocols: ['chat.v2'] });
    expect([proto.status, proto.upgraded, proto.body.error?.code]).toEqual([400, false, 'validation_failed']);
  });

  it('a plain GET (no upgrade) is told to upgrade', async () => {
    const p = await person();
    const res = await api.app.inject({ method: 'GET', url: '/v1/ws', headers: p.auth });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
  });

  it('an upgrade request to a route that is not a WebSocket is answered, and its socket not left open', async () => {
    const guarded = await startWsApp({}, { upgradeTimeoutMs: 200 });
    try {
      const { port } = new URL(guarded.url);
      const socket = connectTcp(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.write(
        'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await new Promise((resolve) => socket.once('close', resolve));
      expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    } finally {
      await guarded.app.close();
    }
  });

  it('an access token that expires while connected ends the connection with token_expired and 4001', async () => {
    const p = await person();
    const c = await connect({ headers: { authorization: `Bearer ${await tokenExpiringIn(p, 3)}` } });
    await c.next('ready', (e) => e.type === 'ready');
    const err = await c.next('token_expired', (e) => e.type === 'error');
    expect(err.error?.code).toBe('token_expired');
    expect((await c.closed).code).toBe(4001);
  });
});

describe('chat turns', () => {
  it('acks a user message, then streams it back word by word with seq 1..n in order', async () => {
    const p = await person();
    const c = await connectAs(p);
    const ack = await c.say('m1', 'hello brave new world');
    expect(ack).toMatchObject({ type: 'ack', id: 'm1', duplicate: false });
    const turnId = ack.turnId!;
    const events = await c.turn(turnId);
    expect(events.map((e) => e.type)).toEqual(['message_start', 'token', 'token', 'token', 'token', 'message_end']);
    expectSeqs(events, 1);
    expect(events[0]).toMatchObject({ clientMessageId: 'm1' });
    expect(events.filter((e) => e.type === 'token').map((e) => e.text)).toEqual(['hello ', 'brave ', 'new ', 'world']);
    expect(events.at(-1)).toMatchObject({ reason: 'done' });
    // The ack comes before the turn's first event.
    expect(c.events.indexOf(ack)).toBeLessThan(c.events.indexOf(events[0]!));

    // A second turn, in a thread the client names: its own turn id, seq from 1 again.
    const ack2 = await c.say('m2', 'again', { threadId: 'thread-1' });
    const second = await c.turn(ack2.turnId!);
    expect(ack2.turnId).not.toBe(turnId);
    expect(second[0]).toMatchObject({ type: 'message_start', threadId: 'thread-1', seq: 1 });
    expectSeqs(second, 1);

    // The same client message id again is the same turn, not a new one.
    const dup = await c.say('m1', 'hello brave new world');
    expect(dup).toMatchObject({ type: 'ack', id: 'm1', turnId, duplicate: true });
    await c.pingPong('settle');
    expect(c.turnEvents(turnId)).toHaveLength(events.length);
    await c.close();
  });

  it('confirm runs the action; a wrong request id is not_found and leaves the request waiting', async () => {
    const p = await person();
    const c = await connectAs(p);
    const { turnId } = await c.say('c1', '/confirm ship it');
    const request = await c.next('confirm_request', (e) => e.type === 'confirm_request' && e.turnId === turnId);
    expect(request).toMatchObject({ seq: 2, action: { summary: 'Echo "ship it"', details: { text: 'ship it' } } });
    expect(Date.parse(request.expiresAt as string)).toBeGreaterThan(Date.now());

    c.send({ type: 'confirm', turnId, requestId: 'cfm_wrong' });
    const wrong = await c.next('not_found', (e) => e.type === 'error' && e.requestId === 'cfm_wrong');
    expect(wrong).toMatchObject({ turnId, error: { code: 'not_found' } });

    // Someone else cannot answer it: their view of the turn is "no such turn".
    const other = await connectAs(await person());
    other.send({ type: 'confirm', turnId, requestId: request.requestId });
    expect((await other.next('error', (e) => e.type === 'error')).error?.code).toBe('not_found');
    await other.close();

    c.send({ type: 'confirm', turnId, requestId: request.requestId });
    const events = await c.turn(turnId!);
    expectSeqs(events, 1);
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'confirm_request',
      'confirm_result',
      'tool_start',
      'tool_end',
      'token',
      'token',
      'message_end',
    ]);
    expect(events[2]).toMatchObject({ requestId: request.requestId, outcome: 'confirmed' });
    expect(events[3]).toMatchObject({ name: 'echo', input: { text: 'ship it' } });
    expect(events[4]).toMatchObject({ name: 'echo', ok: true, output: { text: 'ship it' } });
    expect(events[3]!.toolCallId).toBe(events[4]!.toolCallId);
    expect(texts(events)).toBe('ship it');
    expect(events.at(-1)).toMatchObject({ reason: 'done' });
    await c.close();
  });

  it('reject tells the handler, which does not act', async () => {
    const p = await person();
    const c = await connectAs(p);
    const { turnId } = await c.say('r1', '/confirm delete everything');
    const request = await c.next('confirm_request', (e) => e.type === 'confirm_request');
    c.send({ type: 'reject', turnId, requestId: request.requestId, reason: 'not today' });
    const events = await c.turn(turnId!);
    expectSeqs(events, 1);
    expect(events[2]).toMatchObject({ type: 'confirm_result', outcome: 'rejected', reason: 'not today' });
    expect(events.some((e) => e.type === 'tool_start')).toBe(false);
    expect(texts(events)).toBe('Not confirmed (rejected).');
    expect(events.at(-1)).toMatchObject({ reason: 'done' });
    await c.close();
  });

  it('cancel while a confirmation waits ends the turn as cancelled; answers after the end are refused', async () => {
    const p = await person();
    const c = await connectAs(p);
    const { turnId } = await c.say('x1', '/confirm post it');
    const request = await c.next('confirm_request', (e) => e.type === 'confirm_request');
    c.send({ type: 'cancel', turnId });
    const events = await c.turn(turnId!);
    expectSeqs(events, 1);
    expect(events.map((e) => e.type)).toEqual(['message_start', 'confirm_request', 'message_end']);
    expect(events.at(-1)).toMatchObject({ reason: 'cancelled' });
    expect(events.at(-1)!.error).toBeUndefined();

    const mark = c.events.length;
    c.send({ type: 'cancel', turnId }); // a second cancel is harmless
    c.send({ type: 'confirm', turnId, requestId: request.requestId });
    const late = await c.next('invalid_state', (e) => e.type === 'error', mark);
    expect(late).toMatchObject({ turnId, requestId: request.requestId, error: { code: 'invalid_state' } });
    await c.pingPong('after');
    expect(c.events.slice(mark).filter((e) => e.type === 'error')).toHaveLength(1);
    expect(c.turnEvents(turnId!)).toHaveLength(events.length);
    await c.close();
  });

  it('cancel mid-stream stops the tokens', async () => {
    const p = await person();
    const c = await connectAs(p);
    const words = 40_000;
    const { turnId } = await c.say('long', 'w '.repeat(words));
    await c.next('first token', (e) => e.type === 'token' && e.turnId === turnId);
    c.send({ type: 'cancel', turnId });
    const events = await c.turn(turnId!);
    expectSeqs(events, 1);
    expect(events.at(-1)).toMatchObject({ type: 'message_end', reason: 'cancelled' });
    expect(events.filter((e) => e.type === 'token').length).toBeLessThan(words);
    await c.close();
  });

  it('ping is answered with pong carrying the same id; WebSocket pings get pongs', async () => {
    const p = await person();
    const c = await connectAs(p);
    c.send({ type: 'ping', id: 'p-1' });
    c.send({ type: 'ping' });
    await c.until('two pongs', () => c.events.filter((e) => e.type === 'pong').length === 2);
    expect(c.events.filter((e) => e.type === 'pong')).toEqual([{ type: 'pong', id: 'p-1' }, { type: 'pong' }]);
    const pong = new Promise<string>((resolve) => c.ws.once('pong', (data: Buffer) => resolve(data.toString())));
    c.ws.ping('are you there');
    expect(await pong).toBe('are you there');
    await c.close();
  });

  it("forwards the workspace's post status changes, and only its own", async () => {
    const [p, q] = [await person(), await person()];
    const [cp, cq] = [await connectAs(p), await connectAs(q)];
    const status = (workspaceId: string, postId: string) => ({
      type: 'target.status' as const,
      workspaceId,
      postId,
      targetId: `t-${postId}`,
      socialAccountId: 'acct',
      platform: 'bluesky',
      from: 'scheduled' as const,
      to: 'publishing' as const,
      at: new Date().toISOString(),
    });
    // The subscription is made just after `ready`: publish until it lands.
    for (const [c, ws, post] of [
      [cp, p.workspaceId, 'post-p'],
      [cq, q.workspaceId, 'post-q'],
    ] as const) {
      await c.until('post_status', () => {
        if (c.events.some((e) => e.type === 'post_status')) return true;
        void api.env.events.publish(status(ws, post));
        return false;
      });
    }
    expect(cp.events.find((e) => e.type === 'post_status')).toMatchObject({
      postId: 'post-p',
      targetId: 't-post-p',
      from: 'scheduled',
      to: 'publishing',
    });
    expect(cq.events.filter((e) => e.type === 'post_status').every((e) => e.postId === 'post-q')).toBe(true);
    await Promise.all([cp.close(), cq.close()]);
  });
});

describe('resume', () => {
  it('after a reconnect, replays exactly the events missed, then follows the turn live', async () => {
    const p = await person();
    const a = await connectAs(p);
    const { turnId } = await a.say('r-1', '/confirm one two three');
    const request = await a.next('confirm_request', (e) => e.type === 'confirm_request');
    const seen = a.turnEvents(turnId!);
    expect(seen.map((e) => e.seq)).toEqual([1, 2]);
    await a.close();

    // Reconnected: answer, then resume from the last seq seen. Messages are handled in order,
    // so the turn has moved on by the time the resume runs; nothing may be lost or doubled.
    const b = await connectAs(p);
    b.send({ type: 'confirm', turnId, requestId: request.requestId });
    b.send({ type: 'resume', turnId, afterSeq: 2 });
    const resumed = await b.next('resumed', (e) => e.type === 'resumed');
    expect(resumed).toMatchObject({ turnId, afterSeq: 2, firstSeq: 1 });
    const rest = await b.turn(turnId!);
    expectSeqs(rest, 3);
    expect(rest.map((e) => e.type)).toEqual([
      'confirm_result',
      'tool_start',
      'tool_end',
      'token',
      'token',
      'token',
      'message_end',
    ]);
    expect(texts(rest)).toBe('one two three');
    // Replayed events come after `resumed`.
    expect(b.events.indexOf(resumed)).toBeLessThan(b.events.indexOf(rest[0]!));

    // After the end, from another connection: the whole turn, exactly as first sent.
    const c = await connectAs(p);
    c.send({ type: 'resume', turnId, afterSeq: 0 });
    const again = await c.next('resumed', (e) => e.type === 'resumed');
    expect(again).toMatchObject({ firstSeq: 1, lastSeq: 9, live: false, ended: true });
    await c.until('9 events', () => c.turnEvents(turnId!).length === 9);
    expect(c.turnEvents(turnId!)).toEqual([...seen, ...rest]);

    // The Redis buffer holds the same events (it is what another node would replay).
    const key = `${api.deps.keyPrefix}:ws:turn:${turnId}`;
    await c.until('the buffer in Redis', async () => (await api.deps.redis.hget(`${key}:meta`, 'ended')) === '1');
    const stored = (await api.deps.redis.lrange(key, 0, -1)).map((j) => JSON.parse(j) as Ev);
    expect(stored).toEqual([...seen, ...rest]);
    expect(await api.deps.redis.pttl(key)).toBeGreaterThan(0);
    await Promise.all([b.close(), c.close()]);
  });

  it('the buffer is bounded: only the newest events are kept, and a gap shows as firstSeq > afterSeq + 1', async () => {
    const small = await startWsApp({}, { bufferMaxEvents: 5 });
    try {
      const p = await person();
      const a = await connectAs(p, small.url);
      const { turnId } = await a.say('g-1', 'a b c d e f g h i j');
      const all = await a.turn(turnId!);
      expect(all).toHaveLength(12);
      a.send({ type: 'resume', turnId, afterSeq: 2 });
      const resumed = await a.next('resumed', (e) => e.type === 'resumed');
      expect(resumed).toMatchObject({ afterSeq: 2, firstSeq: 8, lastSeq: 12, ended: true });
      await a.until('replay', () => a.turnEvents(turnId!).length === 17);
      expect(a.turnEvents(turnId!).slice(12)).toEqual(all.slice(7));
      const key = `${api.deps.keyPrefix}:ws:turn:${turnId}`;
      await a.until('the buffer in Redis', async () => (await api.deps.redis.hget(`${key}:meta`, 'ended')) === '1');
      expect(await api.deps.redis.llen(key)).toBe(5);
      await a.close();
    } finally {
      await small.app.close();
    }
  });

  it("resuming an unknown turn, or someone else's, reads the same: not_found", async () => {
    const p = await person();
    const a = await connectAs(p);
    const { turnId } = await a.say('o-1', 'mine');
    await a.turn(turnId!);
    const stranger = await connectAs(await person());
    stranger.send({ type: 'resume', turnId, afterSeq: 0 });
    stranger.send({ type: 'resume', turnId: 'turn_nope', afterSeq: 0 });
    stranger.send({ type: 'cancel', turnId });
    await stranger.until('three errors', () => stranger.events.filter((e) => e.type === 'error').length === 3);
    const errors = stranger.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => e.error?.code)).toEqual(['not_found', 'not_found', 'not_found']);
    expect(errors[0]!.error?.message).toBe(`No turn ${turnId}`);
    expect(stranger.events.some((e) => e.type === 'resumed' || e.type === 'token')).toBe(false);
    await Promise.all([a.close(), stranger.close()]);
  });

  it('a turn whose log did not reach Redis stays on its node: after a reconnect, the duplicate ack and resume give it whole', async () => {
    // A Redis of its own, made to refuse writes once the turn has started (claim and message_start are in).
    const own = await startOwnRedis();
    const logged: string[] = [];
    const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => void logged.push(line) } } });
    try {
      let calls = 0;
      const handler: ChatHandler = {
        async handle(_turn, sink) {
          calls++;
          await own.refuseWrites();
          // message_start's write is done (it went before CONFIG on the same connection), its callbacks too.
          await new Promise((r) => setImmediate(r));
          // Two writes from here, both refused: "Said", then " once." with message_end.
          sink.token('Said');
          sink.token(' once.');
        },
      };
      await app.register(errorsPlugin);
      await app.register(authPlugin, { deps: api.deps.auth });
      await app.register(wsRoutes, { prefix: '/v1', deps: { ...api.deps, redis: own.redis }, handler });
      const url = `${(await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/v1/ws`;
      const p = await person();
      const a = await connectAs(p, url);
      const { turnId, duplicate } = await a.say('lost-1', 'private words');
      expect(duplicate).toBe(false);
      const first = await a.turn(turnId!);
      expect(first.map((e) => e.type)).toEqual(['message_start', 'token', 'token', 'message_end']);
      // Both writes failed for real (the log's flush is over once the second is reported).
      const failed = () => logged.filter((l) => l.includes('resume buffer write failed')).length;
      await a.until('two failed writes', () => failed() >= 2);
      await new Promise((r) => setImmediate(r));
      expect(failed()).toBe(2);
      const key = `${api.deps.keyPrefix}:ws:turn:${turnId}`;
      expect(await own.redis.hgetall(`${key}:meta`)).toMatchObject({ lastSeq: '1', ended: '0' });
      await a.close();

      // Redis takes writes again; the client reconnects, sends the message again (its ack was lost, say) and resumes.
      await own.allowWrites();
      const b = await connectAs(p, url);
      expect(await b.say('lost-1', 'private words')).toMatchObject({ turnId, duplicate: true });
      b.send({ type: 'resume', turnId, afterSeq: 0 });
      const resumed = await b.next('resumed', (e) => e.type === 'resumed');
      expect(resumed).toMatchObject({ turnId, afterSeq: 0, firstSeq: 1, lastSeq: 4, live: false, ended: true });
      await b.until('4 events', () => b.turnEvents(turnId!).length === 4);
      expect(b.turnEvents(turnId!)).toEqual(first);
      // Confirming or cancelling it says it ended (not "running on another server").
      b.send({ type: 'confirm', turnId, requestId: 'cfm_none' });
      const refused = await b.next('error', (e) => e.type === 'error');
      expect(refused.error).toMatchObject({ code: 'invalid_state', details: { ended: true } });
      expect(calls).toBe(1);
      await b.close();
    } finally {
      await app.close();
      await own.close();
    }
  });

  it('ended turns kept for want of Redis are bounded in bytes: past the bound the least recently read goes, with a warning', async () => {
    const own = await startOwnRedis();
    try {
      const store = new TurnStore(
        own.redis,
        'bound',
        { maxEvents: 1_000, maxBytes: 1024 * 1024, ttlMs: 60_000 },
        () => {},
      );
      const warnings: { fields: Record<string, unknown>; message: string }[] = [];
      // Room for one such turn (a few hundred bytes of events and text, counted twice, and 4 KiB), not two.
      const maxBytes = 8 * 1024;
      const turns = new TurnRegistry({
        unjournaledMaxBytes: maxBytes,
        log: { warn: (fields, message) => warnings.push({ fields, message }) },
      });
      const owner = { workspaceId: 'ws_bound', ownerKey: 'u:bound' };
      await own.refuseWrites();
      const run = async (n: number): Promise<Turn> => {
        const turnId = `turn_bound_${n}`;
        const turn = new Turn({
          chat: {
            principal: {} as Principal,
            turnId,
            threadId: 'thread_bound',
            clientMessageId: `m-${n}`,
            text: `private words ${n}`,
          },
          owner,
          log: store.log(turnId, owner),
          logTtlMs: 60_000,
          confirmTimeoutMs: 60_000,
          orphanTurnMs: 60_000,
          onHandlerError: () => {},
        });
        turns.add(turn);
        turn.start(new EchoChatHandler());
        await turn.settled;
        expect(turn.journaled).toBe(false);
        return turn;
      };
      const first = await run(1);
      expect(turns.get(first.id, owner)).toBe(first);
      expect(turns.unjournaled.turns).toBe(1);
      expect(turns.unjournaled.bytes).toBeGreaterThan(0);
      expect(turns.unjournaled.bytes).toBeLessThanOrEqual(maxBytes);
      expect(warnings).toEqual([]);
      const second = await run(2);
      expect(turns.get(second.id, owner)).toBe(second);
      expect(turns.get(first.id, owner)).toBeUndefined();
      expect(turns.unjournaled.turns).toBe(1);
      expect(turns.unjournaled.bytes).toBeLessThanOrEqual(maxBytes);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.fields).toMatchObject({ turnId: first.id, workspaceId: owner.workspaceId });
      expect(JSON.stringify(warnings)).not.toContain('private words');
      // Redis takes writes again: the kept turn's log is rewritten whole, and it leaves memory
      // (resume reads it from Redis, ended), without a warning.
      await own.allowWrites();
      expect(await second.rejournaled()).toBe(true);
      for (let i = 0; i < 100 && turns.unjournaled.turns > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(turns.unjournaled.turns).toBe(0);
      expect(turns.get(second.id, owner)).toBeUndefined();
      expect(await store.read(second.id, owner, 0)).toMatchObject({ ended: true, firstSeq: 1 });
      expect(warnings).toHaveLength(1);
    } finally {
      await own.close();
    }
  });
});

describe('limits and bad input', () => {
  it('a user may hold WS_MAX_CONNECTIONS_PER_USER connections; the next one is told why and closed 4029', async () => {
    const p = await person();
    const conns = await Promise.all(Array.from({ length: LIMITS.wsMaxConnectionsPerUser }, () => connectAs(p)));
    const extra = await connect({ headers: p.auth });
    const closed = await extra.closed;
    expect(closed.code).toBe(4029);
    expect(extra.events).toEqual([
      expect.objectContaining({ type: 'error', error: expect.objectContaining({ code: 'rate_limited' }) }),
    ]);
    // Another user is not affected; and when one closes, there is room again.
    const q = await connectAs(await person());
    await conns[0]!.close();
    const again = await connectAs(p);
    await again.pingPong('room');
    await Promise.all([...conns.slice(1), again, q].map((c) => c.close()));
  });

  it('an oversize frame closes that connection with 1009; another connection of the same user carries on', async () => {
    const p = await person();
    const [big, other] = [await connectAs(p), await connectAs(p)];
    big.send({ type: 'user_message', id: 'big', text: 'x'.repeat(api.deps.limits.wsMaxFrameBytes) });
    expect((await big.closed).code).toBe(1009);
    const { turnId } = await other.say('small', 'still here');
    expect(texts(await other.turn(turnId!))).toBe('still here');
    await other.close();
  });

  it('binary frames are answered with unsupported_frame and the connection stays open', async () => {
    const p = await person();
    const c = await connectAs(p);
    c.ws.send(Buffer.from([0, 1, 2, 3, 255]), { binary: true });
    const err = await c.next('unsupported_frame', (e) => e.type === 'error');
    expect(err.error?.code).toBe('unsupported_frame');
    const { turnId } = await c.say('after-binary', 'fine');
    expect(texts(await c.turn(turnId!))).toBe('fine');
    await c.close();
  });

  it('garbage JSON, non-objects, unknown types and wrong field types each get one typed error; the connection carries on', async () => {
    const p = await person();
    const c = await connectAs(p);
    const bystander = await connectAs(await person());
    const frames: [string, string][] = [
      ['{"type":"ping"', 'malformed_json'],
      ['', 'malformed_json'],
      ['[1,2]', 'validation_failed'],
      ['"ping"', 'validation_failed'],
      ['null', 'validation_failed'],
      ['{"id":"x"}', 'validation_failed'],
      ['{"type":42}', 'validation_failed'],
      ['{"type":"dance","id":"d1"}', 'unknown_message_type'],
      [JSON.stringify({ type: 'y'.repeat(100_000) }), 'unknown_message_type'],
      ['{"type":"user_message","id":5,"text":true}', 'validation_failed'],
      ['{"type":"user_message","id":"u","text":""}', 'validation_failed'],
      ['{"type":"user_message","id":"u","text":"hi","threadId":"has spaces"}', 'validation_failed'],
      ['{"type":"resume","turnId":"t","afterSeq":-1}', 'validation_failed'],
      ['{"type":"resume","turnId":"t","afterSeq":"3"}', 'validation_failed'],
      ['{"type":"confirm","turnId":"t"}', 'validation_failed'],
      ['{"type":"cancel","turnId":"turn_unknown"}', 'not_found'],
    ];
    for (const [frame] of frames) c.send(frame);
    await c.pingPong('done');
    const errors = c.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => e.error?.code)).toEqual(frames.map(([, code]) => code));
    expect(errors[7]).toMatchObject({ id: 'd1', error: { details: { supported: expect.any(Array) } } });
    expect(errors[8]!.error!.message.length).toBeLessThan(300);
    expect(errors[9]!.error!.details).toEqual([
      expect.objectContaining({ path: 'id' }),
      expect.objectContaining({ path: 'text' }),
    ]);
    expect(errors[15]).toMatchObject({ turnId: 'turn_unknown' });
    const { turnId } = await c.say('ok', 'still fine');
    expect(texts(await c.turn(turnId!))).toBe('still fine');
    await bystander.pingPong('unaffected');
    expect(bystander.events.some((e) => e.type === 'error')).toBe(false);
    await Promise.all([c.close(), bystander.close()]);
  });

  it('messages beyond the rate limit are dropped with rate_limited; the connection stays open', async () => {
    const p = await person();
    const c = await connectAs(p);
    const sent = 40;
    for (let i = 0; i < sent; i++) c.send({ type: 'ping', id: `r${i}` });
    // A dropped message is not read, so its error cannot name it: count answers instead.
    const answered = () => c.events.filter((e) => e.type === 'pong' || e.type === 'error').length;
    await c.until('an answer to every ping', () => answered() === sent);
    const limited = c.events.filter((e) => e.type === 'error');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length).toBeLessThanOrEqual(sent - 20);
    for (const e of limited) {
      expect(e.error).toMatchObject({ code: 'rate_limited', details: { retryAfterMs: expect.any(Number) } });
    }
    await new Promise((r) => setTimeout(r, (limited[0]!.error!.details as { retryAfterMs: number }).retryAfterMs));
    await c.pingPong('later');
    await c.close();
  });

  it('a client that keeps sending past the limit is closed with 1008', async () => {
    const strict = await startWsApp({}, { messagesPerSecond: 0.001, messageBurst: 2, maxDroppedMessages: 5 });
    try {
      const c = await connectAs(await person(), strict.url);
      for (let i = 0; i < 10; i++) c.send({ type: 'ping', id: `s${i}` });
      expect((await c.closed).code).toBe(1008);
      expect(c.events.map((e) => e.type)).toEqual(['ready', 'pong', 'pong', ...Array(5).fill('error')]);
    } finally {
      await strict.app.close();
    }
  });

  it('a consumer that stops reading is closed with 4008 rather than buffered without bound', async () => {
    const p = await person();
    const [slow, other] = [await connectAs(p), await connectAs(p)];
    const before = wsStats().serverCloses[4008] ?? 0;
    slow.rawSocket.pause();
    // Each turn streams ~60,000 token events (about 4 MB): more than the kernel buffers hold.
    for (let i = 0; i < 4; i++) slow.say(`flood-${i}`, 'a '.repeat(60_000)).catch(() => undefined);
    await other.until('the server to give up on the slow consumer', () => (wsStats().serverCloses[4008] ?? 0) > before);
    slow.rawSocket.resume();
    expect((await slow.closed).code).toBe(4008);
    await other.pingPong('unaffected');
    await other.close();
  });
});

describe('heartbeats', () => {
  let small: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    small = await startWsApp({ wsHeartbeatMs: 100 });
  });
  afterAll(async () => {
    await small?.app.close();
  });

  it('the server pings every WS_HEARTBEAT_MS: a client that answers stays, one that does not is dropped', async () => {
    const p = await person();
    const live = await connectAs(p, small.url);
    const mute = await connect({ headers: p.auth, url: small.url, autoPong: false });
    expect((await mute.closed).code).toBe(1006);
    expect(mute.pings).toBeGreaterThanOrEqual(2);
    await live.until('three pings', () => live.pings >= 3);
    await live.pingPong('alive');
    expect(live.closeInfo).toBeNull();
    await live.close();
  });
});

/** mulberry32: a small seeded PRNG, so a failing fuzz run replays exactly. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  const SEED = 0x5eed_2024;
  const FRAMES = 3_000;
  const CONNECTIONS = 4;
  const LEAK = /\n\s+at |node_modules|\.(?:ts|js):\d+|\bat [\w.<>]+ \(/;

  it(`${FRAMES} random and malformed frames across ${CONNECTIONS} connections: typed errors only, no leaks, still serving`, async () => {
    // The per-connection rate limit would drop almost every frame; it has its own test.
    const fuzzApp = await startWsApp({}, { messagesPerSecond: 1e9, messageBurst: 1e9 });
    try {
      const rnd = prng(SEED);
      const int = (n: number) => Math.floor(rnd() * n);
      const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
      const alphabet = '{}[]":,\\ abcxyz0123456789-.eE+truefalsnl\u00e9\u4e2d\ud83d\ude00\n\t';
      const noise = (n: number) => Array.from({ length: n }, () => alphabet[int(alphabet.length)]).join('');
      // Two of these in one frame stay under the 256 KiB frame limit.
      const hugeLen = () => 1_000 + int(100_000);
      const bad = {
        id: () => pick<unknown>([123, '', 'i'.repeat(129 + int(1000)), null, [], {}, true]),
        text: () => pick<unknown>(['', 5, null, ['a'], {}, false]),
        threadId: () => pick<unknown>(['has space', '', 't'.repeat(129), 7, '\u00e9t\u00e9', 'a/b']),
        turnId: () => pick<unknown>([1, '', 'x'.repeat(65 + int(hugeLen())), null, {}]),
        requestId: () => pick<unknown>([2, '', 'r'.repeat(65), null, []]),
        afterSeq: () => pick<unknown>([-1, 1.5, '3', null, {}, -0.5, 'abc']),
        reason: () => pick<unknown>(['z'.repeat(1001 + int(5000)), 5, []]),
      };
      // Each returns a text frame that must get exactly one error event and nothing else.
      const kinds: (() => string)[] = [
        () => noise(int(200)),
        () => JSON.stringify({ type: 'user_message', id: 'u1', text: noise(int(50)) }).slice(0, -1 - int(20)),
        () => pick(['[]', '1', '"user_message"', 'null', 'true', '[{"type":"ping"}]', '1e999']),
        () => JSON.stringify({ type: pick<unknown>([noise(1 + int(20)), 'x'.repeat(hugeLen()), 'PING', 'ping ']) }),
        () => JSON.stringify({ type: pick<unknown>([1, null, [], {}, true]), id: noise(5) }),
        () => {
          const msg: Record<string, unknown> = pick([
            { type: 'user_message', id: 'u', text: 'hi', threadId: 'th' },
            { type: 'cancel', turnId: 'turn_x' },
            { type: 'confirm', turnId: 'turn_x', requestId: 'cfm_x' },
            { type: 'reject', turnId: 'turn_x', requestId: 'cfm_x', reason: 'no' },
            { type: 'resume', turnId: 'turn_x', afterSeq: 0 },
            { type: 'ping', id: 'p' },
          ]);
          const fields = Object.keys(msg).filter((k) => k !== 'type' && k in bad);
          const field = pick(fields) as keyof typeof bad;
          if (rnd() < 0.2 && field !== 'threadId' && field !== 'reason' && msg.type !== 'ping') delete msg[field];
          else msg[field] = msg.type === 'ping' && field === 'id' ? pick([5, null, 'p'.repeat(129), {}]) : bad[field]();
          if (rnd() < 0.1) msg.junk = 'j'.repeat(hugeLen());
          return JSON.stringify(msg);
        },
        () =>
          JSON.stringify(
            pick([
              { type: 'cancel', turnId: `turn_${noise(8)}` },
              { type: 'confirm', turnId: `turn_${int(1e6)}`, requestId: 'cfm_1' },
              { type: 'reject', turnId: `turn_${int(1e6)}`, requestId: 'cfm_1' },
              { type: 'resume', turnId: `turn_${int(1e6)}`, afterSeq: int(100) },
            ]),
          ),
        () => {
          const depth = 1 + int(20_000);
          return rnd() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1';
        },
      ];
      const fresh = async () => connectAs(await person(), fuzzApp.url);
      const fuzzer = await person();
      const slots = await Promise.all(Array.from({ length: CONNECTIONS }, () => connectAs(fuzzer, fuzzApp.url)));
      const expected = slots.map(() => 0);
      // Audio frames outside a voice session: only the first on a connection is answered.
      const strayAnswered = slots.map(() => false);
      let strayDropped = 0;
      const retired: Client[] = [];
      let closers = 0;

      /** Every error so far on `c` answers one frame, and the connection is still in step. */
      const settle = async (c: Client, i: number, tag: string) => {
        await c.pingPong(tag);
        expect(c.events.filter((e) => e.type === 'error').length).toBe(expected[i]);
      };

      for (let n = 0; n < FRAMES; n++) {
        const i = int(CONNECTIONS);
        const c = slots[i]!;
        const roll = rnd();
        if (roll < 0.01) {
          // Frames that end the connection: invalid UTF-8 text (1007), a broken frame header
          // (1002), one byte over the frame limit (1009).
          await settle(c, i, `before-close-${n}`);
          const which = int(3);
          if (which === 0) c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28]), { binary: false });
          else if (which === 1) c.rawSocket.write(Buffer.from([0xb1, 0x85, int(256), int(256), int(256), int(256)]));
          else c.ws.send(Buffer.alloc(api.deps.limits.wsMaxFrameBytes + 1, 0x61), { binary: true });
          expect((await c.closed).code).toBe([1007, 1002, 1009][which]);
          closers++;
          retired.push(c);
          slots[i] = await connectAs(fuzzer, fuzzApp.url);
          expected[i] = 0;
          strayAnswered[i] = false;
        } else if (roll < 0.1) {
          const bytes = Buffer.alloc(int(2048));
          for (let b = 0; b < bytes.length; b++) bytes[b] = int(256);
          c.ws.send(bytes, { binary: true });
          if (!strayAnswered[i]) expected[i]!++;
          else strayDropped++;
          strayAnswered[i] = true;
        } else {
          c.send(pick(kinds)());
          expected[i]!++;
        }
      }
      for (const [i, c] of slots.entries()) await settle(c, i, 'end');
      expect(closers).toBeGreaterThan(0);

      const everything = [...retired, ...slots].flatMap((c) => c.events);
      const errors = everything.filter((e) => e.type === 'error');
      expect(errors.length).toBe(FRAMES - closers - strayDropped);
      const codes = new Set(errors.map((e) => e.error?.code));
      for (const code of ['malformed_json', 'validation_failed', 'unknown_message_type', 'unsupported_frame']) {
        expect(codes).toContain(code);
      }
      expect(codes).toContain('not_found');
      expect(codes).not.toContain('internal');
      for (const code of codes) expect(Object.keys(ERROR_CATALOGUE)).toContain(code);
      for (const e of everything) {
        expect(['ready', 'error', 'pong']).toContain(e.type);
        expect(JSON.stringify(e)).not.toMatch(LEAK);
      }
      for (const e of errors) expect(e.error!.message.length).toBeLessThan(1_000);

      // Still serving: on a connection that took the fuzz, and on a new one.
      for (const c of [slots[0]!, await fresh()]) {
        const { turnId } = await c.say('after-fuzz', 'still standing');
        const turn = await c.turn(turnId!);
        expectSeqs(turn, 1);
        expect(texts(turn)).toBe('still standing');
        await c.close();
      }
      await Promise.all(slots.slice(1).map((c) => c.close()));
    } finally {
      await fuzzApp.app.close();
    }
  });
});

describe('shutdown', () => {
  it('closing the app cancels running turns with shutting_down and closes every socket with 1001', async () => {
    const p = await person();
    const [busy, idle] = [await connectAs(p), await connectAs(await person())];
    const { turnId } = await busy.say('s-1', '/confirm later');
    await busy.next('confirm_request', (e) => e.type === 'confirm_request');
    await api.close();
    api = undefined as unknown as ApiEnv;
    expect((await busy.closed).code).toBe(1001);
    expect((await idle.closed).code).toBe(1001);
    const end = busy.turnEvents(turnId!).at(-1);
    expect(end).toMatchObject({ type: 'message_end', reason: 'cancelled', error: { code: 'shutting_down' } });
  });
});
