import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger, HeraldError } from '../../core/index.js';
import { buildApp } from '../../server/app.js';

let draining = false;
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    isDraining: () => draining,
    bodyLimitBytes: 1024,
    checks: [
      { name: 'db', run: async () => undefined },
      { name: 'slow', run: () => new Promise((r) => setTimeout(r, 5_000)) },
      { name: 'ollama', optional: true, run: () => Promise.reject(new Error('ECONNREFUSED')) },
    ],
  });
  // Routes that exercise the shared error handling the real routes will use.
  app.post(
    '/echo',
    { schema: { body: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } } },
    async (req) => req.body,
  );
  app.get('/boom', async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/gone', async () => {
    throw new HeraldError('not_found', { message: 'No post 42 in this workspace' });
  });
  await app.ready();
});
afterAll(() => app.close());

describe('HTTP basics', () => {
  it('/ready names each failing check with its reason; a check that hangs fails by its deadline; an optional one is reported but does not count', async () => {
    const res = await app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.status).toBe('failing');
    expect(body.checks.db).toMatchObject({ ok: true });
    expect(body.checks.slow).toMatchObject({ ok: false, reason: 'no answer within 1000 ms' });
    expect(body.checks.ollama).toMatchObject({ ok: false, optional: true, reason: 'ECONNREFUSED' });
  });

  it('malformed JSON, oversize bodies, wrong types and schema violations get typed errors', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"text":',
    });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'malformed_json']);
    const big = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'x'.repeat(2000) }),
    });
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'payload_too_large']);
    const type = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-foo' },
      payload: 'x',
    });
    expect([type.statusCode, type.json().error.code]).toEqual([415, 'unsupported_media_type']);
    const invalid = await app.inject({ method: 'POST', url: '/echo', payload: { nope: 1 } });
    expect([invalid.statusCode, invalid.json().error.code]).toEqual([400, 'validation_failed']);
    expect(invalid.json().error.details.issues[0]).toMatchObject({ in: 'body', field: 'text' });
    const ok = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'hi' } });
    expect(ok.json()).toEqual({ text: 'hi' });
  });

  it('unexpected errors answer `internal` without leaking their message; Herald errors keep their code', async () => {
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({ error: { code: 'internal', message: 'Internal error' } });
    const gone = await app.inject({ method: 'GET', url: '/gone' });
    expect(gone.json()).toEqual({ error: { code: 'not_found', message: 'No post 42 in this workspace' } });
    const none = await app.inject({ method: 'GET', url: '/v1/nothing?x=1' });
    expect(none.json()).toEqual({ error: { code: 'not_found', message: 'No route GET /v1/nothing' } });
  });

  it('rejects an unsafe x-request-id and generates one instead', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'bad id\nwith newline' },
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('while draining, refuses new work with shutting_down but still answers probes', async () => {
    draining = true;
    try {
      const work = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'hi' } });
      expect([work.statusCode, work.json().error.code]).toEqual([503, 'shutting_down']);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expect([ready.statusCode, ready.json().status]).toEqual([503, 'draining']);
    } finally {
      draining = false;
    }
  });
});
