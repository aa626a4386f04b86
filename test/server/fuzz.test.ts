/**
 * Fuzzing of the REST API against every route in the OpenAPI document, on embedded PGlite and
 * on PostgreSQL: a seeded run of random and malformed requests (random JSON, mutated valid
 * bodies, broken JSON, wrong content types, hostile keys, odd ids and query strings, bad
 * credentials), a property-based run (fast-check: deep nesting, NUL, unpaired surrogates,
 * extreme dates and numbers, odd content types; a failure shrinks to the smallest request),
 * and raw garbage over real TCP. No answer may be a 5xx, every error has the one error shape
 * with no stack trace or file path, and the server — and its database — keep serving
 * afterwards. Seeds are printed on failure; set FUZZ_SEED to replay a run.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import {
  bodyArbitrary,
  contentType,
  encode as encodeArb,
  hostileValue,
  leafPaths,
  queryString,
  replaceAt,
  sampleOf,
} from './fuzz-arbitraries.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
/** Per database; with the property runs below the file stays under a minute. */
const REQUESTS = 800;
const PROPERTY_RUNS = 600;

/** Optional fields a sample needs to be valid where the schema alone cannot say so. */
const EXTRA_FIELDS: Record<string, Record<string, unknown>> = {
  'POST /v1/posts': { draft: true, tags: ['fuzz'] },
  'PATCH /v1/workspace': { name: 'Fuzzed' },
  'PATCH /v1/posts/{id}': { content: 'edited' },
};

const databases = [
  { name: 'PGlite', open: openPgliteForTest },
  ...(TEST_DATABASE_URL ? [{ name: 'PostgreSQL', open: () => openPostgresForTest(TEST_DATABASE_URL!) }] : []),
];

/** mulberry32: small, fast, deterministic. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

let api: ApiEnv;
let me: Person;
let accountId: string;
let postId: string;
let targetId: string;

async function setUp(open: (typeof databases)[number]['open']): Promise<() => Promise<void>> {
  const db = await open();
  api = await startApiEnv({ database: db.database, connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
  me = await api.signUp();
  accountId = await api.env.addAccount(me.workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:fuzz${Date.now()}`,
    handle: 'fuzz.test',
    credentials: { service: 'http://127.0.0.1:9', did: 'did:plc:fuzz', handle: 'fuzz.test' },
  });
  const post = await api.app.inject({
    method: 'POST',
    url: '/v1/posts',
    headers: me.auth,
    payload: { content: 'seed post', draft: true, targets: [{ socialAccountId: accountId }] },
  });
  postId = post.json().id;
  targetId = post.json().targets[0].id;
  return async () => {
    await api.close();
    await db.dispose();
  };
}

const STRINGS = [
  '',
  ' ',
  'a',
  'null',
  '0',
  '-1',
  '1e309',
  'NaN',
  'true',
  '2026-13-45T25:61',
  '2026-03-08T02:30',
  'tomorrow at 9',
  'Europe/Paris',
  'Mars/Olympus',
  '00000000-0000-0000-0000-000000000000',
  "'; drop table posts; --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\uD800',
  '🚀'.repeat(200),
  'x'.repeat(5000),
  '${jndi:ldap://x}',
  'draft,scheduled',
  'hk_not_a_key',
];

function randomValue(r: ReturnType<typeof prng>, depth = 0): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, 42]);
    case 3:
    case 4:
      return r.pick(STRINGS);
    case 5:
      return r.pick([postId, targetId, accountId, crypto.randomUUID()]);
    case 6:
      return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
    default: {
      const keys = [
        'content',
        'at',
        'draft',
        'publishNow',
        'targets',
        'socialAccountId',
        'media',
        'mediaId',
        'tags',
        'comment',
        'role',
        'email',
        'name',
        'scopes',
        'scheduledAt',
        'version',
        'now',
        '__proto__',
        'constructor',
        'prototype',
        'options',
      ];
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(keys)] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/** A valid body for the route, then one random mutation of it. */
function mutatedValid(r: ReturnType<typeof prng>): Record<string, unknown> {
  const valid: Record<string, unknown> = {
    content: 'hello',
    draft: true,
    targets: [{ socialAccountId: accountId, content: 'hi' }],
  };
  const key = r.pick(['content', 'draft', 'targets', 'at', 'publishNow', 'tags', 'extra']);
  valid[key] = randomValue(r);
  return valid;
}

function bodyFor(r: ReturnType<typeof prng>): { payload?: string; contentType?: string } {
  switch (r.int(8)) {
    case 0:
      return {};
    case 1:
      return {
        payload: r.pick(['{', '{"a":', '[1,2', 'nul', '{"content": "x"}}', '\u0000', '{"a":1,"a":2}']),
        contentType: 'application/json',
      };
    case 2:
      return {
        payload: 'content=hi',
        contentType: r.pick([
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
        ]),
      };
    case 3:
      return { payload: JSON.stringify('{"__proto__":{"polluted":true}}'), contentType: 'application/json' };
    case 4:
      return {
        payload: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
        contentType: 'application/json',
      };
    case 5:
      return { payload: JSON.stringify(mutatedValid(r)), contentType: 'application/json' };
    default:
      return {
        payload: JSON.stringify(randomValue(r)),
        contentType: r.pick(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON']),
      };
  }
}

function headersFor(r: ReturnType<typeof prng>): Record<string, string> {
  switch (r.int(10)) {
    case 0:
      return {};
    case 1:
      return {
        authorization: r.pick([
          'Bearer',
          'Bearer x.y.z',
          'Basic dXNlcjpwYXNz',
          `Bearer ${me.accessToken}x`,
          'Bearer hk_zzz',
        ]),
      };
    case 2:
      return { 'x-api-key': r.pick(STRINGS) };
    default:
      return { ...me.auth };
  }
}

function operations() {
  const doc = api.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({ method: m.toUpperCase(), path })),
  );
}

/** Any generated value as text (objects may have a null prototype, so no String()). */
const str = (v: unknown): string => (typeof v === 'object' && v !== null ? JSON.stringify(v) : `${v as string}`);

/** encodeURIComponent, but a lone surrogate becomes its raw UTF-8 bytes instead of a throw. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

const LEAK = /\bat [\w.<>]+ \(|node_modules|\/work\/|\.ts:\d+|Error: |stack/;

function checkResponse(label: string, status: number, body: string): void {
  expect(status, label).toBeLessThan(500);
  if (status >= 400 && body) {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof parsed.error?.code, `${label} → ${body.slice(0, 300)}`).toBe('string');
    expect(typeof parsed.error?.message, label).toBe('string');
  }
  expect(LEAK.test(body), `${label} leaks internals: ${body.slice(0, 300)}`).toBe(false);
}

describe.each(databases)(`REST fuzz on $name (seed ${SEED})`, ({ open }) => {
  let tearDown: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    tearDown = await setUp(open);
  });
  afterAll(() => tearDown?.());

  it(`${REQUESTS} random requests: no 5xx, one error shape, no stack traces`, async () => {
    const r = prng(SEED);
    // Logging out would end this run's own session; everything else is fair game.
    const ops = operations().filter((o) => o.path !== '/v1/auth/logout');
    expect(ops.length).toBeGreaterThan(20);
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const op = r.pick(ops);
      const url =
        op.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
          encode(
            str(
              r.next() < 0.6
                ? name === 'targetId'
                  ? targetId
                  : op.path.includes('social-accounts')
                    ? accountId
                    : postId
                : randomValue(r),
            ),
          ),
        ) +
        (r.next() < 0.4
          ? `?${r.pick(['limit', 'cursor', 'status', 'from', 'to', 'zone', 'before', 'x'])}=${encode(str(randomValue(r)))}`
          : '');
      const { payload, contentType } =
        op.method === 'GET' || op.method === 'DELETE' ? (r.next() < 0.9 ? {} : bodyFor(r)) : bodyFor(r);
      const res = await api.app.inject({
        method: op.method as 'GET',
        url,
        headers: { ...headersFor(r), ...(contentType ? { 'content-type': contentType } : {}) },
        ...(payload !== undefined ? { payload } : {}),
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      checkResponse(`#${i} ${op.method} ${url}`, res.statusCode, res.body);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The run exercised both success and rejection, not just one kind of answer.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(4);

    const health = await api.app.inject({ method: 'GET', url: '/v1/posts?limit=1', headers: me.auth });
    expect(health.statusCode).toBe(200);
  });

  it(`property: ${PROPERTY_RUNS} requests built from hostile values on every route answer below 500 in the one shape`, async () => {
    const ops = operations().filter((o) => o.path !== '/v1/auth/logout');
    // A valid body for each route, from its schema in the OpenAPI document, with one leaf made hostile.
    const doc = api.app.swagger() as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: object }> } }>>;
    };
    const samples = new Map(
      ops.map((o) => {
        const schema = doc.paths[o.path]?.[o.method.toLowerCase()]?.requestBody?.content?.['application/json']?.schema;
        const key = `${o.method} ${o.path}`;
        const sample = schema ? sampleOf(schema, { uuid: accountId }) : undefined;
        return [key, sample && EXTRA_FIELDS[key] ? { ...(sample as object), ...EXTRA_FIELDS[key] } : sample] as const;
      }),
    );
    const request = fc.record({
      op: fc.constantFrom(...ops),
      leaf: fc.nat(),
      hostile: hostileValue,
      mutateValid: fc.boolean(),
      ids: fc.array(fc.oneof(fc.constant('known'), hostileValue), { minLength: 3, maxLength: 3 }),
      query: fc.option(queryString, { nil: '' }),
      body: fc.option(bodyArbitrary({ accountId }), { nil: undefined }),
      type: contentType,
      credential: fc.constantFrom('me', 'me', 'me', 'none', 'bad'),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let n = 0;
        const url =
          r.op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
            const v = r.ids[n++ % 3];
            if (v !== 'known') return encodeArb(str(v));
            return name === 'targetId' ? targetId : r.op.path.includes('social-accounts') ? accountId : postId;
          }) + r.query;
        const headers: Record<string, string> =
          r.credential === 'me' ? { ...me.auth } : r.credential === 'bad' ? { authorization: 'Bearer hk_bad' } : {};
        const sample = samples.get(`${r.op.method} ${r.op.path}`);
        let body = r.body;
        let type = r.type;
        if (r.mutateValid && sample !== undefined) {
          const paths = leafPaths(sample);
          body = JSON.stringify(replaceAt(sample, paths[r.leaf % paths.length]!, r.hostile));
          type = 'application/json';
        }
        const res = await api.app.inject({
          method: r.op.method as 'GET',
          url,
          headers: { ...headers, ...(body !== undefined ? { 'content-type': type } : {}) },
          ...(body !== undefined ? { payload: body } : {}),
        });
        checkResponse(`${r.op.method} ${url}`, res.statusCode, res.body);
      }),
      { seed: SEED, numRuns: PROPERTY_RUNS },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The database still answers every tenant (deep JSON once broke embedded PGlite for all).
    await api.env.database.ping();
    expect((await api.app.inject({ method: 'GET', url: '/v1/posts?limit=1', headers: me.auth })).statusCode).toBe(200);
    const other = await api.signUp().catch(() => undefined); // sign-ups are rate limited per address
    if (other)
      expect((await api.app.inject({ method: 'GET', url: '/v1/workspace', headers: other.auth })).statusCode).toBe(200);
  });

  it('raw garbage over TCP: connections are refused or answered 4xx, the server keeps serving', async () => {
    const r = prng(SEED + 1);
    const { port } = new URL(api.baseUrl);
    const garbage = () => {
      const kind = r.int(5);
      if (kind === 0) return Buffer.from(Array.from({ length: 1 + r.int(2000) }, () => r.int(256)));
      if (kind === 1) return Buffer.from(`GET /v1/posts HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n`);
      if (kind === 2)
        return Buffer.from(
          `POST /v1/posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nAuthorization: Bearer ${me.accessToken}\r\n\r\nzz\r\n{}\r\n`,
        );
      if (kind === 3) return Buffer.from(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return Buffer.from(
        `POST /v1/posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nAuthorization: Bearer ${me.accessToken}\r\n\r\n{"a":`,
      );
    };
    for (let i = 0; i < 80; i++) {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1');
        let data = '';
        socket.setTimeout(300, () => socket.destroy());
        socket.on('data', (d) => (data += d.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.write(garbage());
      });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      expect(status === 0 || (status >= 400 && status < 500), `#${i}: ${answer.slice(0, 200)}`).toBe(true);
      expect(LEAK.test(answer), answer.slice(0, 300)).toBe(false);
    }
    const ok = await fetch(`${api.baseUrl}/v1/posts?limit=1`, { headers: me.auth });
    expect(ok.status).toBe(200);
  });
});
