/**
 * What the HTTP server does with connections, over real TCP: header, body and idle deadlines
 * (a client sending one byte at a time cannot hold a connection), errors Node raises before
 * any route (malformed HTTP, a 20 KB URL) in the one error shape with `Connection: close`,
 * `/health` failing when a liveness check (embedded PGlite) stops answering, and the shutdown
 * drain: new and kept-alive requests get `503 shutting_down` while in-flight ones finish.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { PGlite } from '@electric-sql/pglite';
import { createLogger } from '../../core/index.js';
import { buildApp } from '../../server/app.js';
import { drainAndClose } from '../../server/http/drain.js';
import type { ReadinessCheck } from '../../server/routes/health.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close().catch(() => undefined);
});

async function serve(opts: { checks?: ReadinessCheck[]; draining?: () => boolean } = {}) {
  const app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    checks: opts.checks ?? [],
    isDraining: opts.draining ?? (() => false),
    timeouts: { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 600, checkIntervalMs: 100 },
  });
  app.post('/echo', async (req) => req.body);
  app.get('/slow', async (_req, reply) => {
    await new Promise((r) => setTimeout(r, 700));
    return reply.send({ done: true });
  });
  app.get('/stuck', (_req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.write('streaming...');
    // never ends
    return reply;
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return { app, port: Number(new URL(url).port) };
}

/** Opens a socket, runs `talk`, and resolves with everything received and when it closed. */
function exchange(port: number, talk: (s: net.Socket) => void, maxMs = 5_000) {
  return new Promise<{ data: string; closedAfterMs: number }>((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const guard = setTimeout(() => socket.destroy(), maxMs);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ data, closedAfterMs: Date.now() - started });
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => talk(socket));
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };

describe('connection deadlines', () => {
  it('a body trickled one byte at a time is cut at the request deadline with 408 request_timeout', async () => {
    const { port } = await serve();
    const { data, closedAfterMs } = await exchange(port, (s) => {
      s.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
      const t = setInterval(() => (s.writable ? s.write(' ') : clearInterval(t)), 150);
      s.on('close', () => clearInterval(t));
    });
    expect(closedAfterMs).toBeLessThan(4_000); // the guard would end it at 5 s
    expect(data).toMatch(/^HTTP\/1\.1 408/);
    expect(data.toLowerCase()).toContain('connection: close');
    expect(bodyOf(data).error.code).toBe('request_timeout');
  });

  it('headers that never finish are cut at the headers deadline', async () => {
    const { port } = await serve();
    const { data, closedAfterMs } = await exchange(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n'));
    expect(closedAfterMs).toBeLessThan(4_000);
    expect(data).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an idle kept-alive connection is closed after the idle timeout', async () => {
    const { port } = await serve();
    const { data, closedAfterMs } = await exchange(port, (s) => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(data).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAfterMs).toBeLessThan(4_000);
  });
});

describe('errors before any route', () => {
  it('malformed HTTP and a 20 KB URL get the one error shape and Connection: close', async () => {
    const { port } = await serve();
    const garbage = await exchange(port, (s) => s.write('GARBAGE\r\n\r\n'));
    expect(garbage.data).toMatch(/^HTTP\/1\.1 400/);
    expect(garbage.data.toLowerCase()).toContain('connection: close');
    expect(bodyOf(garbage.data).error.code).toBe('validation_failed');
    const long = await exchange(port, (s) => s.write(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(long.data).toMatch(/^HTTP\/1\.1 431/);
    expect(long.data.toLowerCase()).toContain('connection: close');
    expect(bodyOf(long.data).error.code).toBe('headers_too_large');
  });
});

describe('/health', () => {
  it('fails when a liveness check (embedded PGlite) stops answering; /ready says why', async () => {
    // A bare embedded PGlite (no migrations needed to answer `select 1`).
    const database = await PGlite.create();
    const { app } = await serve({
      checks: [{ name: 'db', liveness: true, run: async () => void (await database.query('select 1')) }],
    });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    await database.close();
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'failing', checks: { db: { ok: false } } });
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
  });

  it('a failing check that is not a liveness check leaves /health at 200', async () => {
    const { app } = await serve({ checks: [{ name: 'redis', run: () => Promise.reject(new Error('down')) }] });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('shutdown drain', () => {
  it('during the drain new requests get 503 shutting_down with Connection: close, probes answer draining, in-flight ones finish', async () => {
    let draining = false;
    const { app, port } = await serve({ draining: () => draining });
    const base = `http://127.0.0.1:${port}`;
    const slow = fetch(`${base}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    draining = true;
    const closed = drainAndClose(app, { drainMs: 500, deadlineMs: 2_000, log: createLogger({ level: 'silent' }) });
    const refused = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
    const ready = await fetch(`${base}/ready`);
    expect([ready.status, ((await ready.json()) as { status: string }).status]).toEqual([503, 'draining']);
    const done = await slow;
    expect([done.status, await done.json()]).toEqual([200, { done: true }]);
    await closed;
  });

  it('a reply still streaming at the deadline is cut, and the close completes', async () => {
    let draining = false;
    const { app, port } = await serve({ draining: () => draining });
    const warnings: string[] = [];
    const received = exchange(port, (s) => s.write('GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n'), 10_000);
    await new Promise((r) => setTimeout(r, 100));
    draining = true;
    await drainAndClose(app, {
      drainMs: 0,
      deadlineMs: 300,
      log: { info: () => undefined, warn: (_o: unknown, msg?: string) => void warnings.push(msg ?? '') } as never,
    });
    const { data } = await received;
    expect(data).toContain('streaming...');
    expect(warnings).toHaveLength(1);
  });
});
