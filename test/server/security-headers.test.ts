/**
 * Every response carries Helmet's default security headers — successes, errors the router
 * raises, errors routes raise — while `/docs` keeps Swagger UI's own CSP; CORS answers only
 * the configured origins; and `request.log`
 * (made only when a request logs) writes what a per-request pino child would: the request id,
 * with secrets redacted.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../core/index.js';
import { buildApp } from '../../server/app.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';

const HELMET_DEFAULTS = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

let api: ApiEnv;
let logged: string[];
let logging: FastifyInstance;
let withCors: FastifyInstance;

beforeAll(async () => {
  api = await startApiEnv();
  logged = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged.push(...chunk.toString().trim().split('\n'));
      done();
    },
  });
  logging = await buildApp({
    logger: createLogger({ level: 'info', destination: sink }),
    checks: [],
    isDraining: () => false,
  });
  logging.get('/logs', async (request) => {
    request.log.warn({ authorization: 'Bearer secret-token', n: 1 }, 'from the route');
    request.log.child({ step: 'inner' }).info('from a child');
    return { ok: true };
  });
  await logging.ready();
  withCors = await buildApp({
    logger: createLogger({ level: 'silent' }),
    checks: [],
    isDraining: () => false,
    api: { ...api.deps, limits: { ...api.deps.limits, corsOrigins: ['https://app.example.com'] } },
  });
});
afterAll(async () => {
  await withCors?.close();
  await logging?.close();
  await api?.close();
});

describe('security headers', () => {
  it("are Helmet's defaults on successes, on the router's errors and on the routes' errors", async () => {
    const me = await api.signUp();
    const responses = await Promise.all([
      api.app.inject({ method: 'GET', url: '/v1/workspace', headers: me.auth }),
      api.app.inject({ method: 'GET', url: '/v1/workspace' }),
      api.app.inject({ method: 'GET', url: '/v1/no-such-route', headers: me.auth }),
      api.app.inject({
        method: 'POST',
        url: '/v1/posts',
        headers: { ...me.auth, 'content-type': 'application/json' },
        payload: '{"targets":',
      }),
      api.app.inject({ method: 'GET', url: '/health' }),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 401, 404, 400, 200]);
    for (const res of responses) {
      expect(res.headers).toMatchObject(HELMET_DEFAULTS);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it("/docs keeps Swagger UI's own content security policy", async () => {
    const res = await api.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).not.toBe(HELMET_DEFAULTS['content-security-policy']);
    expect(csp).toContain("img-src 'self' data: validator.swagger.io");
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});

describe('CORS', () => {
  const preflight = {
    method: 'OPTIONS' as const,
    url: '/v1/posts',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
  };

  it('answers a configured origin, preflight included, and exposes the headers clients read', async () => {
    const me = await api.signUp();
    const pre = await withCors.inject(preflight);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const res = await withCors.inject({
      method: 'GET',
      url: '/v1/workspace',
      headers: { ...me.auth, origin: 'https://app.example.com' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(res.headers['access-control-expose-headers'])).toContain('ratelimit-remaining');
    const other = await withCors.inject({
      ...preflight,
      headers: { ...preflight.headers, origin: 'https://evil.test' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('without configured origins, no origin is answered and a preflight finds nothing', async () => {
    const pre = await api.app.inject(preflight);
    expect(pre.statusCode).toBe(404);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const me = await api.signUp();
    const res = await api.app.inject({
      method: 'GET',
      url: '/v1/workspace',
      headers: { ...me.auth, origin: 'https://app.example.com' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('request.log', () => {
  it('writes with the request id and redacts secrets, like a pino child', async () => {
    logged.length = 0;
    const res = await logging.inject({ method: 'GET', url: '/logs', headers: { 'x-request-id': 'req-abc' } });
    expect(res.statusCode).toBe(200);
    // The access line is written asynchronously in 4 KiB chunks by default; this sink is direct.
    const lines = logged.map((l) => JSON.parse(l) as Record<string, unknown>);
    const fromRoute = lines.find((l) => l.msg === 'from the route');
    expect(fromRoute).toMatchObject({ reqId: 'req-abc', level: 40, n: 1, authorization: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain('secret-token');
    expect(lines.find((l) => l.msg === 'from a child')).toMatchObject({ reqId: 'req-abc', step: 'inner' });
  });
});
