/**
 * WebSocket limits a client cannot talk its way around: a refused `voice_start` grants no
 * audio budget (audio frames outside a voice session are dropped with one error, and take
 * nothing of the message budget, so a microphone left running cannot get the next
 * `voice_start` refused), a flood just above the
 * message rate is closed 1008 even though most of its frames are accepted, and message text
 * holding NUL or an unpaired surrogate is refused like on REST.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { authPlugin } from '../../server/plugins/auth.js';
import { errorsPlugin } from '../../server/plugins/errors.js';
import { wsRoutes } from '../../server/ws/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let api: ApiEnv;
let app: FastifyInstance;
let url: string;
let me: Person;

beforeAll(async () => {
  api = await startApiEnv();
  me = await api.signUp();
  app = Fastify();
  await app.register(errorsPlugin);
  await app.register(authPlugin, { deps: api.deps.auth });
  // No voice engines: voice_start is refused. A small budget keeps the test short.
  await app.register(wsRoutes, {
    prefix: '/v1',
    deps: api.deps,
    messagesPerSecond: 5,
    messageBurst: 5,
    maxDroppedMessages: 10,
  });
  url = `${(await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/v1/ws`;
});
afterAll(async () => {
  await app?.close();
  await api?.close();
});

type Ev = { type: string; error?: { code: string }; id?: string };

async function open() {
  const ws = new WebSocket(url, ['herald.v1'], { headers: me.auth });
  const events: Ev[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('message', (d, binary) => events.push(binary ? { type: '(binary)' } : (JSON.parse(String(d)) as Ev)));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve) => ws.once('message', () => resolve()));
  return { ws, events, closed };
}

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('WebSocket limits', () => {
  it('audio frames outside a voice session are dropped with one error and cost nothing of the message budget', async () => {
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'voice_start', sampleRate: 16_000 }));
    await until(() => c.events.some((e) => e.error?.code === 'voice_unavailable'), 'voice_unavailable');
    // The bucket refills (5 a second) before the microphone's frames and the burst of pings.
    await new Promise((r) => setTimeout(r, 1200));
    // A microphone left running after the refusal: far more frames than the 5 a second allowed.
    const frame = Buffer.alloc(640);
    for (let i = 0; i < 40; i++) c.ws.send(frame);
    // A full burst of messages right after is still answered: the frames took none of it.
    for (let i = 0; i < 5; i++) c.ws.send(JSON.stringify({ type: 'ping', id: `after-${i}` }));
    await until(() => c.events.filter((e) => e.type === 'pong').length >= 5, 'five pongs');
    const errors = c.events.filter((e) => e.type === 'error').map((e) => e.error!.code);
    expect(errors).toEqual(['voice_unavailable', 'unsupported_frame']);
    // A later voice_start is answered, not rate limited (and frames after it are answered once more).
    await new Promise((r) => setTimeout(r, 1200));
    c.ws.send(JSON.stringify({ type: 'voice_start', sampleRate: 16_000 }));
    for (let i = 0; i < 20; i++) c.ws.send(frame);
    c.ws.send(JSON.stringify({ type: 'ping', id: 'last' }));
    await until(() => c.events.some((e) => e.type === 'pong' && e.id === 'last'), 'the last pong');
    expect(c.events.filter((e) => e.type === 'error').map((e) => e.error!.code)).toEqual([
      'voice_unavailable',
      'unsupported_frame',
      'voice_unavailable',
      'unsupported_frame',
    ]);
    c.ws.close();
  });

  it('a steady flood just above the rate is closed 1008, though most of its messages are accepted', async () => {
    const c = await open();
    let n = 0;
    const timer = setInterval(() => {
      if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify({ type: 'ping', id: `p${n++}` }));
    }, 1000 / 7);
    try {
      const code = await Promise.race([
        c.closed,
        new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 20_000)),
      ]);
      expect(code).toBe(1008);
      expect(c.events.filter((e) => e.type === 'pong').length).toBeGreaterThan(
        c.events.filter((e) => e.error?.code === 'rate_limited').length,
      );
    } finally {
      clearInterval(timer);
    }
  });

  it('message text with NUL or an unpaired surrogate is validation_failed', async () => {
    const c = await open();
    c.ws.send(JSON.stringify({ type: 'user_message', id: 'm1', text: 'a\u0000b' }));
    c.ws.send(`{"type":"user_message","id":"m2","text":"\\ud800"}`);
    await until(() => c.events.filter((e) => e.type === 'error').length >= 2, 'two errors');
    const errors = c.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => [e.error!.code, e.id])).toEqual([
      ['validation_failed', 'm1'],
      ['validation_failed', 'm2'],
    ]);
    expect(c.events.some((e) => e.type === 'ack')).toBe(false);
    c.ws.close();
  });
});
