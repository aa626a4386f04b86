/**
 * REST chat over Server-Sent Events, read by a plain `fetch` reader, against the real agent
 * (scripted OpenAI-protocol model, real router, database, Redis, fake Mastodon): a turn
 * streams the WebSocket's turn events with ids `<turnId>:<seq>`; a reader that drops the
 * connection mid-turn does not stop it, and a retry with the same `clientMessageId` and
 * `Last-Event-ID` gets exactly the events after it — also from a second API process that
 * reads them from Redis — without a second turn; a JSON retry gets the same turn's result.
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
import { TurnStore } from '../../server/ws/turn-buffer.js';
import type { FakeChatRequest, FakeReply } from '../fakes/llm/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../agent/agent-env.js';
import type { Person } from '../helpers/api-env.js';
import { startOwnRedis } from '../helpers/own-redis.js';

let env: AgentEnv;
const apps: FastifyInstance[] = [];
/** Two API processes' worth of REST chat (each its own RestTurns) on one database and Redis. */
const bases: string[] = [];
const turnsOf: RestTurns[] = [];

beforeAll(async () => {
  env = await startAgentEnv();
  // bases[2]: a process whose turn log keeps only the newest 2 events; bases[3]: one that keeps
  // no ended turn in memory (its byte bound is smaller than any turn).
  for (let i = 0; i < 4; i++) {
    const turns = new RestTurns(env.handler, {
      redis: env.api.deps.redis,
      keyPrefix: env.api.deps.keyPrefix,
      ...(i === 2 ? { limits: { maxEvents: 2 } } : {}),
      ...(i === 3 ? { endedMaxBytes: 1 } : {}),
    });
    turnsOf.push(turns);
    bases.push(await serve(turns));
  }
}, 60_000);
afterAll(async () => {
  for (const app of apps) await app.close();
  await env?.close();
});

/** An API process's REST chat on `turns`; its base URL. */
async function serve(turns: RestTurns): Promise<string> {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: env.api.deps.auth });
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', v1.authenticate);
      await v1.register(chatRoutes, { handler: env.handler, turns });
    },
    { prefix: '/v1' },
  );
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

const SALE = 'Summer sale: 15% off all weekend!';
/** Drafts at once, then takes `slowMs` to propose the schedule (time to drop the stream). */
const draftThenSchedule =
  (slowMs = 0) =>
  (req: FakeChatRequest): FakeReply => {
    const results = toolResults(req);
    if (results.length === 0)
      return { toolCalls: [{ name: 'draft_post', args: { text: SALE, accounts: ['mastodon'] } }] };
    const { postId } = JSON.parse(results[0]!) as { postId: string };
    return { toolCalls: [{ name: 'schedule_post', args: { postId, at: 'tomorrow at 9' } }], delayMs: slowMs };
  };

interface Sse {
  id: string;
  event: string;
  data: { type: string; seq: number; turnId: string } & Record<string, unknown>;
}

/** POSTs a chat message asking for SSE and reads events; `until` may stop (and drop) early. */
async function stream(
  base: string,
  p: Person,
  body: Record<string, unknown>,
  opts: { lastEventId?: string; until?: (e: Sse) => boolean } = {},
): Promise<{ status: number; events: Sse[]; contentType: string | null }> {
  const abort = new AbortController();
  const res = await fetch(`${base}/v1/chat`, {
    method: 'POST',
    headers: {
      ...p.auth,
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}),
    },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  const events: Sse[] = [];
  if (res.status !== 200) return { status: res.status, events, contentType: res.headers.get('content-type') };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const e = { id: field('id')!, event: field('event')!, data: JSON.parse(field('data')!) as Sse['data'] };
        events.push(e);
        if (opts.until?.(e)) {
          // A real drop: the client closes its connection mid-stream.
          abort.abort();
          return { status: res.status, events, contentType: res.headers.get('content-type') };
        }
      }
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  }
  return { status: res.status, events, contentType: res.headers.get('content-type') };
}

async function statuses(workspaceId: string) {
  const t = schema.postTargets;
  const rows = await env.api.env.database.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, workspaceId)));
  return rows.map((r) => r.status);
}

const modelCalls = () => env.modelCalls();

describe('REST chat over SSE', () => {
  it("streams the turn's events in order, ids <turnId>:<seq>, ending with message_end; nothing is done", async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule();
    const res = await stream(bases[0]!, p, { message: 'draft our summer sale for Mastodon, tomorrow at 9' });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/event-stream/);
    const types = res.events.map((e) => e.event);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_end');
    expect(types).toContain('tool_start');
    expect(types).toContain('tool_end');
    expect(types).toContain('confirm_request');
    const turnId = res.events[0]!.data.turnId;
    res.events.forEach((e, i) => {
      expect(e.data.seq).toBe(i + 1);
      expect(e.id).toBe(`${turnId}:${i + 1}`);
      expect(e.data.type).toBe(e.event);
    });
    const confirm = res.events.find((e) => e.event === 'confirm_request')!.data as unknown as {
      confirmId: string;
      action: { summary: string };
    };
    expect(confirm.action.summary).toContain(SALE);
    expect(res.events.at(-1)!.data).toMatchObject({ reason: 'done' });
    expect(await statuses(p.workspaceId)).toEqual(['draft']);
  }, 60_000);

  it('a dropped stream: the turn runs on; the retry with Last-Event-ID gets the rest (here and on another process), no second turn', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = draftThenSchedule(1_500);
    const body = { message: 'draft our summer sale for Mastodon, tomorrow at 9', clientMessageId: 'sse-drop-1' };
    const callsBefore = modelCalls();
    const cut = await stream(bases[0]!, p, body, { until: (e) => e.event === 'tool_end' });
    const last = cut.events.at(-1)!;
    expect(last.event).toBe('tool_end');
    expect(cut.events.map((e) => e.event)).not.toContain('message_end');

    // Resumed on the other process (from Redis), then on this one (from memory).
    for (const base of [bases[1]!, bases[0]!]) {
      const rest = await stream(base, p, body, { lastEventId: last.id });
      expect(rest.status).toBe(200);
      expect(rest.events[0]!.data.seq).toBe(last.data.seq + 1);
      expect(rest.events.map((e) => e.data.turnId)).toEqual(rest.events.map(() => last.data.turnId));
      expect(rest.events.map((e) => e.event)).toContain('confirm_request');
      expect(rest.events.at(-1)!.event).toBe('message_end');
      rest.events.forEach((e, i) => expect(e.data.seq).toBe(last.data.seq + 1 + i));
    }
    // Without Last-Event-ID: the whole turn again, still the same one.
    const all = await stream(bases[1]!, p, body);
    expect(all.events[0]).toMatchObject({ event: 'message_start', data: { turnId: last.data.turnId, seq: 1 } });
    // A JSON retry: the same turn's result.
    const json = await fetch(`${bases[0]}/v1/chat`, {
      method: 'POST',
      headers: { ...p.auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(json.status).toBe(200);
    const result = (await json.json()) as { confirmRequest: { summary: string } | null };
    expect(result.confirmRequest?.summary).toContain(SALE);
    // One turn: two model calls (draft, then the proposal), one draft, nothing scheduled.
    expect(modelCalls() - callsBefore).toBe(2);
    expect(await statuses(p.workspaceId)).toEqual(['draft']);
  }, 60_000);

  it("another person's client message id and turn are not theirs: their retry starts their own turn", async () => {
    const { p } = await env.personWithMastodon();
    const { p: other } = await env.personWithMastodon();
    env.brain = () => ({ text: 'Hello there.' });
    const mine = await stream(bases[0]!, p, { message: 'hi', clientMessageId: 'same-id-0001' });
    const theirs = await stream(bases[0]!, other, { message: 'hi', clientMessageId: 'same-id-0001' });
    expect(theirs.events[0]!.data.turnId).not.toBe(mine.events[0]!.data.turnId);
    // A Last-Event-ID of my turn means nothing on theirs: the whole of their turn.
    const again = await stream(
      bases[1]!,
      other,
      { message: 'hi', clientMessageId: 'same-id-0001' },
      {
        lastEventId: mine.events[0]!.id,
      },
    );
    expect(again.events[0]!.data).toMatchObject({ seq: 1, turnId: theirs.events[0]!.data.turnId });
  }, 60_000);

  it('a retry asking for events the log no longer keeps gets a typed error, not a turn with a hole (SSE and JSON)', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = () => ({ text: 'Hello there, this is a reply of several words.' });
    const body = { message: 'hi', clientMessageId: 'gap-0001' };
    const first = await stream(bases[2]!, p, body);
    expect(first.events[0]!.event).toBe('message_start');
    const n = first.events.length;
    expect(n).toBeGreaterThan(2);
    expect(first.events.at(-1)!.event).toBe('message_end');
    // The whole turn again: seq 1.. are gone; from memory (bases[2]) and from Redis (bases[0]).
    for (const base of [bases[2]!, bases[0]!]) {
      const again = await stream(base, p, body);
      expect(again.events.map((e) => e.event)).toEqual(['error']);
      expect(again.events[0]!.data).toMatchObject({
        error: { code: 'invalid_state', details: { reason: 'events_gone', afterSeq: 0, firstSeq: n - 1 } },
      });
      const json = await fetch(`${base}/v1/chat`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(json.status).toBe(409);
      expect(await json.json()).toMatchObject({ error: { code: 'invalid_state', details: { reason: 'events_gone' } } });
    }
    // After an event the log still follows: the rest, as before.
    const rest = await stream(bases[0]!, p, body, { lastEventId: first.events[n - 3]!.id });
    expect(rest.events.map((e) => e.data.seq)).toEqual([n - 1, n]);
  }, 60_000);

  it('a retry of a turn whose process died (claim and partial log in Redis, no liveness key): what was kept, then turn_interrupted at once; the id can be sent again', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = () => ({ text: 'Hello again.' });
    // The dead runner, written through the real Redis as a running process writes it.
    const owner = { workspaceId: p.workspaceId, ownerKey: `u:${p.userId}` };
    const store = new TurnStore(
      env.api.deps.redis,
      env.api.deps.keyPrefix,
      { maxEvents: 1_000, maxBytes: 1024 * 1024, ttlMs: 60_000 },
      (err) => {
        throw err;
      },
    );
    const dead = 'turn_dead-0001';
    expect(await store.claimMessage(owner, 'chat:dead-0001', dead)).toBeNull();
    const log = store.log(dead, owner);
    log.append(1, JSON.stringify({ type: 'message_start', threadId: 't', turnId: dead, seq: 1 }), false);
    log.append(2, JSON.stringify({ type: 'token', text: 'Hel', turnId: dead, seq: 2 }), false);
    await log.flushed();

    const body = { message: 'hi', clientMessageId: 'dead-0001' };
    const sse = await stream(bases[0]!, p, body);
    expect(sse.events.map((e) => e.event)).toEqual(['message_start', 'token', 'error']);
    expect(sse.events[2]!.data).toMatchObject({
      error: { code: 'invalid_state', details: { reason: 'turn_interrupted', turnId: dead, lastSeq: 2 } },
    });
    // The claim was released: the same id now starts a new turn, which runs to its end.
    const again = await stream(bases[1]!, p, body);
    expect(again.events[0]!.data.turnId).not.toBe(dead);
    expect(again.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
    // A second retry that found the dead turn releases only the dead turn's claim, never the new one's.
    await store.releaseMessage(owner, 'chat:dead-0001', dead);
    expect(await store.claimMessage(owner, 'chat:dead-0001', 'turn_other')).toBe(again.events[0]!.data.turnId);

    // JSON: a 409 with the same error, and the id free again.
    expect(await store.claimMessage(owner, 'chat:dead-0002', 'turn_dead-0002')).toBeNull();
    const json = await fetch(`${bases[1]}/v1/chat`, {
      method: 'POST',
      headers: { ...p.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hi', clientMessageId: 'dead-0002' }),
    });
    expect(json.status).toBe(409);
    expect(await json.json()).toMatchObject({
      error: { code: 'invalid_state', details: { reason: 'turn_interrupted' } },
    });
    const retry = await fetch(`${bases[1]}/v1/chat`, {
      method: 'POST',
      headers: { ...p.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hi', clientMessageId: 'dead-0002' }),
    });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ reply: 'Hello again.' });
  }, 60_000);

  it('a claim is one step: a release landing while it runs never makes it "mine" unless Redis holds it', async () => {
    const redis = env.api.deps.redis;
    const store = new TurnStore(
      redis,
      env.api.deps.keyPrefix,
      { maxEvents: 1_000, maxBytes: 1024 * 1024, ttlMs: 60_000 },
      (err) => {
        throw err;
      },
    );
    const owner = { workspaceId: 'ws_claim-race', ownerKey: 'u:claim-race' };
    const key = `${env.api.deps.keyPrefix}:ws:msg:${owner.workspaceId}:${owner.ownerKey}:chat:race-0001`;
    expect(await store.claimMessage(owner, 'chat:race-0001', 'turn_a')).toBeNull();
    // Another retry releases turn_a's claim while turn_b claims. One connection: Redis runs the
    // commands in the order sent, so the release lands right after the claim's first command
    // (sent before that command's reply comes back) — between a SET NX and a GET, say.
    const [claimed] = await Promise.all([
      store.claimMessage(owner, 'chat:race-0001', 'turn_b'),
      store.releaseMessage(owner, 'chat:race-0001', 'turn_a'),
    ]);
    // Found turn_a's claim (then released): not turn_b's, and nothing of turn_b's recorded.
    expect(claimed).toBe('turn_a');
    expect(await redis.get(key)).toBeNull();
    // Free again: the next claim is recorded, with the TTL, and a claim after it finds it.
    expect(await store.claimMessage(owner, 'chat:race-0001', 'turn_c')).toBeNull();
    expect(await redis.get(key)).toBe('turn_c');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await store.claimMessage(owner, 'chat:race-0001', 'turn_d')).toBe('turn_c');
    expect(await redis.get(key)).toBe('turn_c');
    await store.releaseMessage(owner, 'chat:race-0001', 'turn_c');
  }, 60_000);

  it('ended turns stay in memory only within their byte bound; one no longer there is read from Redis', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = () => ({ text: 'Kept in Redis.' });
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(f()).toBe(true);
    };
    // The default bound keeps an ended turn in memory for followers on this process.
    const kept = turnsOf[0]!;
    const endedBefore = kept.inMemory.ended;
    await stream(bases[0]!, p, { message: 'hi', clientMessageId: 'mem-0001' });
    await until(() => kept.inMemory.ended === endedBefore + 1);
    expect(kept.inMemory.endedBytes).toBeGreaterThan(0);

    // A process whose bound is smaller than any turn keeps none of them once ended...
    const tight = turnsOf[3]!;
    const first = await stream(bases[3]!, p, { message: 'hi', clientMessageId: 'mem-0002' });
    expect(first.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
    await until(() => tight.inMemory.running === 0);
    expect(tight.inMemory).toMatchObject({ ended: 0, endedBytes: 0 });
    // ...and a retry there still gets the turn's events, from Redis.
    const retry = await stream(
      bases[3]!,
      p,
      { message: 'hi', clientMessageId: 'mem-0002' },
      {
        lastEventId: first.events[0]!.id,
      },
    );
    expect(retry.events.map((e) => e.id)).toEqual(first.events.slice(1).map((e) => e.id));
  }, 60_000);

  it('an ended turn whose Redis write failed stays in memory however small the bound: a retry gets its result, it never runs again', async () => {
    // A Redis of its own, made to refuse writes (reads still work) once the turn has started.
    const own = await startOwnRedis();
    const redis = own.redis;
    try {
      const errors: string[] = [];
      // Ended turns' bound smaller than any turn: a journaled one is not kept (as bases[3]).
      const turns = new RestTurns(env.handler, {
        redis,
        keyPrefix: env.api.deps.keyPrefix,
        endedMaxBytes: 1,
        onError: (err) => errors.push(String(err)),
      });
      const base = await serve(turns);
      const { p } = await env.personWithMastodon();
      // Claim and liveness are in Redis by the time the model is asked; the log's writes fail from here.
      env.brain = (async () => {
        await redis.config('SET', 'maxmemory', '1');
        return { text: 'Said once.' };
      }) as unknown as AgentEnv['brain'];
      const callsBefore = modelCalls();
      const body = { message: 'hi', clientMessageId: 'lost-0001' };
      const first = await stream(base, p, body);
      expect(first.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
      const turnId = first.events[0]!.data.turnId;
      for (let i = 0; i < 200 && turns.inMemory.running > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(turns.inMemory).toMatchObject({ running: 0, ended: 0 });
      // The writes failed for real: Redis does not hold the turn's end.
      expect(errors.some((e) => /EXECABORT|OOM/.test(e))).toBe(true);
      expect(await redis.hget(`${env.api.deps.keyPrefix}:ws:turn:${turnId}:meta`, 'ended')).not.toBe('1');
      // Redis takes writes again; the client retries (it never saw the end, say).
      await redis.config('SET', 'maxmemory', '0');
      const retry = await stream(base, p, body);
      expect(retry.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
      expect(retry.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
      const json = await fetch(`${base}/v1/chat`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(json.status).toBe(200);
      expect(await json.json()).toMatchObject({ reply: 'Said once.' });
      // One turn, one model call.
      expect(modelCalls() - callsBefore).toBe(1);
    } finally {
      await own.close();
    }
  }, 60_000);

  it("a retry on another process while Redis lacks the turn's end waits for it (the runner stays alive and rewrites the log), and the turn never runs again", async () => {
    const own = await startOwnRedis();
    const redis = own.redis;
    try {
      const runner = new RestTurns(env.handler, { redis, keyPrefix: env.api.deps.keyPrefix });
      const other = new RestTurns(env.handler, { redis, keyPrefix: env.api.deps.keyPrefix });
      const runnerBase = await serve(runner);
      const otherBase = await serve(other);
      const { p } = await env.personWithMastodon();
      env.brain = (async () => {
        await own.refuseWrites();
        return { text: 'Said once, elsewhere.' };
      }) as unknown as AgentEnv['brain'];
      const callsBefore = modelCalls();
      const body = { message: 'hi', clientMessageId: 'elsewhere-0001' };
      const first = await stream(runnerBase, p, body);
      expect(first.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
      const turnId = first.events[0]!.data.turnId;
      for (let i = 0; i < 200 && runner.inMemory.running > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(runner.inMemory).toMatchObject({ running: 0, unjournaled: 1 });
      expect(await redis.hget(`${env.api.deps.keyPrefix}:ws:turn:${turnId}:meta`, 'ended')).not.toBe('1');
      // The runner is still alive for the others: its turn's end is missing from Redis, not lost.
      const alive = `${env.api.deps.keyPrefix}:chat:alive:${turnId}`;
      expect(await redis.exists(alive)).toBe(1);
      // Redis recovers; the client retries on the other process (it never saw the end, say).
      await own.allowWrites();
      const res = await fetch(`${otherBase}/v1/chat`, {
        method: 'POST',
        headers: { ...p.auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ reply: 'Said once, elsewhere.' });
      expect(modelCalls() - callsBefore).toBe(1);
      // With its end in Redis, the runner lets go of the turn.
      for (let i = 0; i < 200 && (await redis.exists(alive)) === 1; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await redis.exists(alive)).toBe(0);
      expect(await redis.hget(`${env.api.deps.keyPrefix}:ws:turn:${turnId}:meta`, 'ended')).toBe('1');
      // Whole in Redis, it is an ordinary ended turn: out of the room kept for turns Redis lacks.
      expect(runner.inMemory).toMatchObject({ unjournaled: 0, ended: 1 });
    } finally {
      await own.close();
    }
  }, 60_000);

  it('turns whose Redis write failed are bounded in bytes too: past the bound the least recently read goes, with a warning', async () => {
    const own = await startOwnRedis();
    try {
      const warnings: { fields: Record<string, unknown>; message: string }[] = [];
      // Room for one such turn (a few hundred bytes of events, counted twice, and 4 KiB overhead), not two.
      const maxBytes = 8 * 1024;
      const turns = new RestTurns(env.handler, {
        redis: own.redis,
        keyPrefix: env.api.deps.keyPrefix,
        endedMaxBytes: 1,
        unjournaledMaxBytes: maxBytes,
        log: { warn: (fields, message) => warnings.push({ fields, message }) },
      });
      const base = await serve(turns);
      const { p } = await env.personWithMastodon();
      // Claim and liveness are in Redis by the time the model is asked; the log's writes fail from here.
      env.brain = (async () => {
        await own.refuseWrites();
        return { text: 'Said once.' };
      }) as unknown as AgentEnv['brain'];
      const ended = async () => {
        for (let i = 0; i < 200 && turns.inMemory.running > 0; i++) await new Promise((r) => setTimeout(r, 25));
      };
      const first = await stream(base, p, { message: 'private words one', clientMessageId: 'bound-0001' });
      expect(first.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
      await ended();
      const firstId = first.events[0]!.data.turnId;
      expect(await own.redis.hget(`${env.api.deps.keyPrefix}:ws:turn:${firstId}:meta`, 'ended')).not.toBe('1');
      expect(turns.inMemory).toMatchObject({ running: 0, ended: 0, unjournaled: 1 });
      expect(turns.inMemory.unjournaledBytes).toBeGreaterThan(0);
      expect(turns.inMemory.unjournaledBytes).toBeLessThanOrEqual(maxBytes);
      expect(warnings).toEqual([]);

      // A second turn caught the same way: the first makes room for it.
      await own.allowWrites();
      const second = await stream(base, p, { message: 'private words two', clientMessageId: 'bound-0002' });
      expect(second.events.at(-1)!.data).toMatchObject({ type: 'message_end', reason: 'done' });
      await ended();
      expect(turns.inMemory).toMatchObject({ running: 0, ended: 0, unjournaled: 1 });
      expect(turns.inMemory.unjournaledBytes).toBeLessThanOrEqual(maxBytes);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.fields).toMatchObject({ turnId: firstId, maxBytes });
      // Says which turn, never what was said.
      expect(JSON.stringify(warnings)).not.toMatch(/private words|Said once/);

      // The kept one still answers a retry from memory; the evicted one is read from Redis, whole:
      // its log was rewritten once Redis took writes again. Neither runs again.
      await own.allowWrites();
      const retry = await stream(base, p, { message: 'private words two', clientMessageId: 'bound-0002' });
      expect(retry.events.map((e) => e.id)).toEqual(second.events.map((e) => e.id));
      const lost = await stream(base, p, { message: 'private words one', clientMessageId: 'bound-0001' });
      expect(lost.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    } finally {
      await own.close();
    }
  }, 60_000);
});
