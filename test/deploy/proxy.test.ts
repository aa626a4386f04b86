/**
 * Herald behind a TLS reverse proxy: with `TRUST_PROXY` naming the proxy, per-address rate
 * limits and the access log see the client from `X-Forwarded-For`; without it, a forwarded
 * header is ignored (a client cannot pick a fresh address per request). `PUBLIC_URL` is the
 * server the OpenAPI document lists.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../core/index.js';
import { buildApp } from '../../server/app.js';
import { AUTH_RATE_PER_MINUTE } from '../../server/routes/auth.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';

let api: ApiEnv;
const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
  await api?.close();
});
beforeAll(async () => {
  api = await startApiEnv();
});

/** An API process with its own limits and a logger whose JSON lines the test reads. */
async function apiProcess(trustProxy: boolean | string[]) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = await buildApp({
    logger: createLogger({ level: 'info', destination }),
    checks: [],
    isDraining: () => false,
    api: { ...api.deps, limits: { ...api.deps.limits, trustProxy, publicUrl: 'https://herald.example.com' } },
  });
  apps.push(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const login = (client: string) =>
    fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ email: `${client}@example.com`, password: 'not the password at all' }),
    }).then((r) => r.status);
  return { base, lines, login };
}

describe('behind a reverse proxy', () => {
  it('TRUST_PROXY=loopback: each forwarded client has its own login budget and is the logged ip', async () => {
    const p = await apiProcess(['loopback']);
    const first: number[] = [];
    for (let i = 0; i <= AUTH_RATE_PER_MINUTE; i++) first.push(await p.login('203.0.113.7'));
    expect(first.at(-1)).toBe(429);
    expect(first.slice(0, -1)).not.toContain(429);
    // Another client behind the same proxy is not limited by the first one's attempts.
    expect(await p.login('203.0.113.8')).toBe(401);
    const logged = p.lines.filter((l) => l.msg === 'request').map((l) => l.ip);
    expect(logged).toContain('203.0.113.7');
    expect(logged).toContain('203.0.113.8');
    expect(logged).not.toContain('127.0.0.1');
  });

  it('without TRUST_PROXY a forwarded header changes nothing: one budget for the socket address', async () => {
    const p = await apiProcess(false);
    const statuses: number[] = [];
    // A different made-up address each time: none of them earns a fresh budget.
    for (let i = 0; i <= AUTH_RATE_PER_MINUTE; i++) statuses.push(await p.login(`198.51.100.${i + 1}`));
    expect(statuses.at(-1)).toBe(429);
    const logged = new Set(p.lines.filter((l) => l.msg === 'request').map((l) => l.ip));
    expect([...logged]).toEqual(['127.0.0.1']);
  });

  it('a proxy that is not named is not believed', async () => {
    const p = await apiProcess(['10.9.8.7']);
    await p.login('203.0.113.50');
    expect(p.lines.filter((l) => l.msg === 'request').map((l) => l.ip)).toEqual(['127.0.0.1']);
  });

  it('without METRICS_TOKEN, /metrics answers loopback scrapes but not requests forwarded by a proxy on this host', async () => {
    const app = await buildApp({
      logger: createLogger({ level: 'silent' }),
      checks: [],
      isDraining: () => false,
      metrics: { token: undefined },
      trustProxy: ['loopback'],
    });
    apps.push(app);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const forwarded: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
    ];
    for (const header of forwarded) {
      expect((await fetch(`${base}/metrics`, { headers: header })).status).toBe(404);
    }
  });

  it('PUBLIC_URL is the server of the OpenAPI document', async () => {
    const p = await apiProcess(['loopback']);
    const doc = (await (await fetch(`${p.base}/docs/json`)).json()) as { servers?: { url: string }[] };
    expect(doc.servers).toEqual([{ url: 'https://herald.example.com' }]);
  });
});
