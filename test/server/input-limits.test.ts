/**
 * Input limits at the edge, on both databases: JSON nested past the limit (which corrupted
 * embedded PGlite for every tenant), free-form objects over their bounds, text PostgreSQL
 * cannot store (NUL, unpaired surrogates) in bodies, queries and upload forms, and years
 * outside 1900–9999 are all `400 validation_failed` naming the field — and the database keeps
 * answering afterwards. Non-JSON bodies are 415.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { fileField, upload } from '../helpers/media-upload.js';
import { solidPng } from '../helpers/media-fixtures.js';
import { inspectJson } from '../../server/http/input-guard.js';

/** `{"a":{"a":...}}` nested `depth` levels, with `leaf` innermost. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

const databases = [
  { name: 'PGlite', open: openPgliteForTest },
  ...(TEST_DATABASE_URL ? [{ name: 'PostgreSQL', open: () => openPostgresForTest(TEST_DATABASE_URL!) }] : []),
];

describe.each(databases)('input limits on $name', ({ open }) => {
  let api: ApiEnv;
  let dispose: () => Promise<void>;
  let me: Person;
  let accountId: string;

  beforeAll(async () => {
    const db = await open();
    dispose = db.dispose;
    api = await startApiEnv({ database: db.database, connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
    me = await api.signUp();
    accountId = await api.env.addAccount(me.workspaceId, {
      platform: 'bluesky',
      externalId: `did:plc:limits${Date.now()}`,
      handle: 'limits.test',
      credentials: { service: 'http://127.0.0.1:9', did: 'did:plc:limits', handle: 'limits.test' },
    });
  });
  afterAll(async () => {
    await api?.close();
    await dispose?.();
  });

  const post = (target: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: me.auth,
      payload: { content: 'hi', draft: true, targets: [{ socialAccountId: accountId, ...target }], ...extra },
    });

  const stillServes = async () => {
    const res = await post({ options: { fine: { deep: true } } });
    expect(res.statusCode, res.body).toBe(201);
    const list = await api.app.inject({ method: 'GET', url: '/v1/posts?limit=5', headers: me.auth });
    expect(list.statusCode).toBe(200);
  };

  it('a target option nested 1,200 levels is refused, and the database keeps answering every tenant', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await post({ options: nested(1_200) as Record<string, unknown> });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
      expect(res.json().error.message).toMatch(/nested deeper than 32 levels/);
    }
    await stillServes();
    const other = await api.signUp();
    expect((await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: other.auth })).statusCode).toBe(200);
  });

  it('free-form objects are bounded: 8 levels, 500 keys, 16 KiB', async () => {
    expect((await post({ options: nested(7) as Record<string, unknown> })).statusCode).toBe(201);
    const deep = await post({ options: nested(9) as Record<string, unknown> });
    expect(deep.statusCode).toBe(400);
    expect(deep.json().error.details.issues[0]).toMatchObject({ field: 'targets.0.options' });
    const manyKeys = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`k${i}`, i]));
    expect((await post({ options: manyKeys })).json().error.message).toMatch(/more than 500 keys/);
    const big = await post({ options: { text: 'x'.repeat(17 * 1024) } });
    expect(big.statusCode).toBe(400);
    expect(big.json().error.message).toMatch(/larger than 16384 bytes/);
  });

  it('NUL and unpaired surrogates are validation_failed naming the field, before and after login', async () => {
    const signup = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'nul@example.com', password: 'correct horse battery staple', displayName: 'a\u0000b' },
    });
    expect(signup.statusCode).toBe(400);
    expect(signup.json().error).toMatchObject({
      code: 'validation_failed',
      details: { issues: [{ in: 'body', field: 'displayName' }] },
    });
    const login = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: '\u0000', password: 'x' },
    });
    expect(login.statusCode).toBe(400);
    expect(login.json().error.details.issues[0]).toMatchObject({ field: 'email' });

    const parts = await post({ threadParts: ['fine', '\ud800'] });
    expect(parts.statusCode).toBe(400);
    expect(parts.json().error.details.issues[0]).toMatchObject({ field: 'targets.0.threadParts.1' });
    const key = await post({ options: { 'bad\u0000key': 1 } });
    expect(key.statusCode).toBe(400);
    expect(key.json().error.message).toMatch(/key/);
    const query = await api.app.inject({ method: 'GET', url: '/v1/posts?cursor=%00', headers: me.auth });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.details.issues[0]).toMatchObject({ in: 'query', field: 'cursor' });
    await stillServes();
  });

  it('an upload whose alt text or file name holds NUL is refused and leaves no record', async () => {
    const png = await solidPng(8, 8);
    const alt = await upload(api, me, [fileField(png, 'a.png', 'image/png'), { name: 'altText', value: 'x\u0000y' }]);
    expect(alt.statusCode).toBe(400);
    expect(alt.json().error.code).toBe('validation_failed');
    const name = await upload(api, me, [fileField(png, 'a\u0000.png', 'image/png')]);
    expect(name.statusCode).toBe(400);
    const list = await api.app.inject({ method: 'GET', url: '/v1/media', headers: me.auth });
    expect(list.json().items).toEqual([]);
  });

  it('years outside 1900–9999 are refused', async () => {
    for (const from of ['0000-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', '1899-12-31T23:00:00Z']) {
      const res = await api.app.inject({
        method: 'GET',
        url: `/v1/usage?from=${encodeURIComponent(from)}&to=2026-01-01T00:00:00Z`,
        headers: me.auth,
      });
      expect(res.statusCode, from).toBe(400);
      expect(res.json().error.details.issues[0]).toMatchObject({ field: 'from' });
    }
    const ok = await api.app.inject({
      method: 'GET',
      url: '/v1/usage?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
      headers: me.auth,
    });
    expect(ok.statusCode).toBe(200);
    const scheduled = await post({}, { draft: undefined, at: '0000-01-01T09:00' });
    expect(scheduled.statusCode).toBe(400);
  });

  it('a text/plain body is 415, as docs/api.md says', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: { ...me.auth, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('unsupported_media_type');
  });
});

describe('the input check of flat objects (path parameters, queries)', () => {
  it('finds what the full walk finds, in the same order', () => {
    const cases: Array<Record<string, unknown>> = [
      { code: 'Ab3dEf6hIj', n: 3, ok: true, none: null },
      { a: 'fine', b: 'nul\u0000here' },
      { a: 'lone \ud800 surrogate', b: 'nul\u0000here' }, // two problems: the walk reports the last
      { 'bad\u0000key': 'x', other: 'nul\u0000' }, // keys are looked at before values
      {},
    ];
    for (const flat of cases) {
      // Wrapped one level down it is not flat, so the full walk inspects it.
      const walked = inspectJson({ w: flat });
      const fast = inspectJson(flat);
      expect(fast && { ...fast, field: `w.${fast.field}` }).toEqual(walked);
    }
    expect(inspectJson({ a: '1', b: '2', c: '3' }, { maxDepth: 32, maxValues: 2 })).toEqual({
      field: '',
      message: 'holds more than 2 values in all',
    });
  });
});
