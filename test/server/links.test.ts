/**
 * Tracked links over real HTTP: a link made over REST answers `GET /l/:code` with a 302 to its
 * destination plus UTM (the destination's own kept); people, bots (by user agent), a link
 * preview's HEAD and a browser prefetch are counted apart once the drainer has run, a
 * visitor's repeat clicks count once as unique, the referrer names the platform; an unknown
 * or malformed code gets the 404 page; redirects past the per-address limit get 429 and no
 * click leaves an access-log line; another workspace sees none of it. Stats over REST are exactly the clicks sent.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, type ToolEnv } from '../../agent/index.js';
import { createLogger, createRedisConnection } from '../../core/index.js';
import { ClickDrainer } from '../../tools/links/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read freely in assertions
type Json = Record<string, any>;

let api: ApiEnv;
let owner: Person;
let stranger: Person;
let drainRedis: Redis;
let drainer: ClickDrainer;
const BROWSER =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const PHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';

beforeAll(async () => {
  api = await startApiEnv();
  owner = await api.signUp({ timeZone: 'UTC' });
  stranger = await api.signUp();
  drainRedis = createRedisConnection(REDIS_URL);
  drainer = new ClickDrainer({
    db: api.env.database.db,
    redis: drainRedis,
    keyPrefix: api.env.prefix,
    logger: createLogger({ level: 'silent' }),
  });
});
afterAll(async () => {
  await drainRedis?.quit();
  if (api) {
    const keys = await api.deps.redis.keys(`${api.env.prefix}:links:*`);
    if (keys.length) await api.deps.redis.del(...keys);
  }
  await api?.close();
});

const call = async (p: Person, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: { ...p.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Json };
};

const follow = (code: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${api.baseUrl}/l/${code}`, { method, headers, redirect: 'manual' });

describe('tracked links over HTTP', () => {
  it('redirects with UTM, counts people, bots, previews and prefetches apart, and reports them over REST', async () => {
    const made = await call(owner, 'POST', '/v1/links', {
      destinationUrl: 'https://shop.example/kettle?ref=7&utm_source=mail',
      utm: { source: 'herald', medium: 'social', campaign: 'winter' },
      platform: 'mastodon',
    });
    expect(made.status).toBe(201);
    const link = made.body;
    expect(link.shortUrl).toBe(`https://go.example.test/l/${link.code}`);

    const first = await follow(link.code, { 'user-agent': BROWSER, referer: 'https://t.co/xyz' });
    expect(first.status).toBe(302);
    expect(first.headers.get('cache-control')).toContain('no-store');
    // Of the security headers, those that act on a redirect; none about rendering a document.
    expect(first.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    expect(first.headers.get('content-security-policy')).toBeNull();
    expect(first.headers.get('x-frame-options')).toBeNull();
    const location = new URL(first.headers.get('location')!);
    expect(location.origin + location.pathname).toBe('https://shop.example/kettle');
    expect(location.searchParams.get('ref')).toBe('7');
    expect(location.searchParams.getAll('utm_source')).toEqual(['mail']);
    expect(location.searchParams.get('utm_medium')).toBe('social');
    expect(location.searchParams.get('utm_campaign')).toBe('winter');

    // The same person twice more, another person once: 4 clicks, 2 unique.
    expect((await follow(link.code, { 'user-agent': BROWSER, referer: 'https://t.co/xyz' })).status).toBe(302);
    expect((await follow(link.code, { 'user-agent': BROWSER })).status).toBe(302);
    expect((await follow(link.code, { 'user-agent': PHONE })).status).toBe(302);
    // Bots, a preview's HEAD, a prefetch and no user agent at all: 5 bot clicks, still redirected.
    const unusual: Array<Record<string, string>> = [
      { 'user-agent': 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)' },
      { 'user-agent': 'Twitterbot/1.0' },
      { 'user-agent': BROWSER, 'sec-purpose': 'prefetch' },
      {},
    ];
    for (const headers of unusual) expect((await follow(link.code, headers)).status).toBe(302);
    expect((await follow(link.code, { 'user-agent': BROWSER }, 'HEAD')).status).toBe(302);

    expect(await drainer.drainOnce()).toBe(9);
    const stats = await call(owner, 'GET', `/v1/links/${link.id}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ linkId: link.id, clicks: 4, uniqueClicks: 2, botClicks: 5 });
    expect(stats.body.byPlatform).toEqual({
      x: { clicks: 2, uniqueClicks: 1, botClicks: 0 },
      mastodon: { clicks: 2, uniqueClicks: 1, botClicks: 5 },
    });
    expect(stats.body.byDay).toEqual([
      { day: new Date().toISOString().slice(0, 10), clicks: 4, uniqueClicks: 2, botClicks: 5 },
    ]);
    const list = await call(owner, 'GET', '/v1/links');
    expect(list.body.links.find((l: Json) => l.id === link.id)).toMatchObject({
      clicks: 4,
      uniqueClicks: 2,
      botClicks: 5,
    });
    const all = await call(owner, 'GET', `/v1/links/stats?linkIds=${link.id}`);
    expect(all.body.totals).toEqual({ clicks: 4, uniqueClicks: 2, botClicks: 5 });
  });

  it('answers an unknown or malformed code with the 404 page, and keeps answering', async () => {
    for (const code of ['Zz9Zz9Zz9Z', 'no-such-code!', 'x'.repeat(90), '..%2F..%2Fv1%2Flinks']) {
      const res = await follow(code);
      expect(res.status, code).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      // A page: its own policy (no script, never framed) beside HSTS and nosniff.
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toContain('This link does not exist');
    }
    // Not even a URL: the one error shape, not a crash.
    for (const code of ['%E0%A4%A', '%00%01']) {
      const broken = await follow(code);
      expect(broken.status, code).toBe(400);
      expect(((await broken.json()) as Json).error.code).toBe('validation_failed');
    }
    const made = await call(owner, 'POST', '/v1/links', { destinationUrl: 'https://shop.example/' });
    expect((await follow(made.body.code, { 'user-agent': BROWSER })).status).toBe(302);
    await drainer.drainOnce();
  });

  it('refuses a destination that is not http(s) with link_destination_invalid, and nothing is made', async () => {
    const before = (await call(owner, 'GET', '/v1/links?limit=200')).body.links.length;
    for (const destinationUrl of [
      'javascript:alert(document.cookie)',
      'file:///etc/passwd',
      'https://a:b@shop.example/',
    ]) {
      const res = await call(owner, 'POST', '/v1/links', { destinationUrl });
      expect(res.status, destinationUrl).toBe(400);
      expect(res.body.error.code).toBe('link_destination_invalid');
    }
    expect((await call(owner, 'GET', '/v1/links?limit=200')).body.links.length).toBe(before);
  });

  it('shows another workspace none of it: not the link, its stats, nor attaching to it', async () => {
    const link = (await call(owner, 'POST', '/v1/links', { destinationUrl: 'https://shop.example/secret' })).body;
    expect((await call(stranger, 'GET', `/v1/links/${link.id}`)).status).toBe(404);
    expect((await call(stranger, 'GET', `/v1/links/${link.id}/stats`)).status).toBe(404);
    expect((await call(stranger, 'POST', `/v1/links/${link.id}/attach`, { postId: randomUUID() })).status).toBe(404);
    const stats = await call(stranger, 'GET', `/v1/links/stats?linkIds=${link.id}`);
    expect(stats.body.links).toEqual([]);
    expect(JSON.stringify((await call(stranger, 'GET', '/v1/links')).body)).not.toContain(link.id);
  });
});

describe('agent tools', () => {
  const toolEnv = (p: Person, role: 'owner' | 'viewer' = 'owner'): ToolEnv => ({
    deps: api.env.deps,
    links: api.deps.links!.deps,
    session: { workspaceId: p.workspaceId, userId: p.userId, role, timeZone: 'UTC', channel: 'test' },
    now: () => new Date(),
  });

  it('create_tracked_link makes a link that redirects; link_stats reads its clicks; a viewer may read but not make', async () => {
    const made = await runTool(toolEnv(owner), 'create_tracked_link', {
      destinationUrl: 'https://shop.example/grinder',
      utm: { source: 'herald' },
    });
    expect(made.ok).toBe(true);
    const out = (made as { output: Json }).output;
    expect(out.shortUrl).toMatch(/^https:\/\/go\.example\.test\/l\/[0-9A-Za-z]{10}$/);
    const code = (out.shortUrl as string).split('/').pop()!;
    expect((await follow(code, { 'user-agent': BROWSER })).headers.get('location')).toBe(
      'https://shop.example/grinder?utm_source=herald',
    );
    await drainer.drainOnce();
    const stats = await runTool(toolEnv(owner, 'viewer'), 'link_stats', { linkIds: [out.linkId] });
    expect((stats as { output: Json }).output.totals).toEqual({ clicks: 1, uniqueClicks: 1, botClicks: 0 });
    const refused = await runTool(toolEnv(owner, 'viewer'), 'create_tracked_link', {
      destinationUrl: 'https://a.example/',
    });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const bad = await runTool(toolEnv(owner), 'create_tracked_link', { destinationUrl: 'javascript:alert(1)' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'link_destination_invalid' } });
    const theirs = await runTool(toolEnv(stranger), 'link_stats', { linkIds: [out.linkId] });
    expect((theirs as { output: Json }).output.links).toEqual([]);
  });
});

describe('abuse', () => {
  let limited: ApiEnv;
  afterAll(() => limited?.close());

  it('limits redirects per client address in the process (no Redis counter): past the limit, 429 with retry-after', async () => {
    const lines: string[] = [];
    limited = await startApiEnv({
      linksRateLimitPerMinute: 5,
      logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
    });
    const p = await limited.signUp();
    const res = await limited.app.inject({
      method: 'POST',
      url: '/v1/links',
      headers: p.auth,
      payload: { destinationUrl: 'https://shop.example/' },
    });
    const code = res.json().code as string;
    const answers: Response[] = [];
    for (let i = 0; i < 7; i++) answers.push(await fetch(`${limited.baseUrl}/l/${code}`, { redirect: 'manual' }));
    expect(answers.map((r) => r.status)).toEqual([302, 302, 302, 302, 302, 429, 429]);
    expect(Number(answers[6]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await answers[6]!.json()) as Json).error.code).toBe('rate_limited');
    // Counted in the API process: the clicks took no rate-limit round trip to Redis.
    const counters = await limited.deps.redis.keys(`${limited.deps.keyPrefix}:rl:*`);
    expect(counters.filter((k) => k.includes('/l/'))).toEqual([]);
    // Clicks leave no access-log line (it would keep the visitor's address); other requests do.
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.some((l) => l.includes('/v1/links'))).toBe(true);
    expect(lines.filter((l) => l.includes('/l/'))).toEqual([]);
    const keys = await limited.deps.redis.keys(`${limited.env.prefix}:links:*`);
    if (keys.length) await limited.deps.redis.del(...keys);
  });
});
