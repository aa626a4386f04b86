/**
 * Tracked links as a service, on PGlite and a real Redis: links are created with unguessable
 * codes and only with http(s) destinations, UTM parameters are added without overwriting the
 * destination's own, posts and targets must be the workspace's, roles are checked in the
 * service; the click stream's drainer counts a visitor once per unique window, writes a batch
 * drained twice once, picks up clicks a killed drainer had read but not acknowledged, and the
 * visitor hash changes with the day's salt.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createPost, createRedisConnection, schema } from '../../core/index.js';
import {
  attachLinkToPost,
  ClickDrainer,
  clickLine,
  clickStreamKey,
  CODE_LENGTH,
  createTrackedLink,
  DRAIN_GROUP,
  isBotRequest,
  LinkRedirector,
  linkStats,
  listTrackedLinks,
  MAX_ENTRIES_PER_READ,
  platformOfReferrer,
  resolveClickContext,
  withUtm,
  writeClicks,
  type ClickEvent,
  type LinksDeps,
} from '../../tools/links/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import { REDIS_URL, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
let redis: Redis;
let deps: LinksDeps;
const logger = createLogger({ level: 'silent' });
const MIN = 60_000;
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
  redis = createRedisConnection(REDIS_URL, { autoPipelining: true });
  deps = { db: env.database.db, baseUrl: 'https://go.example.test/' };
});
afterAll(async () => {
  if (redis) {
    const keys = await redis.keys(`${env.prefix}:links:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
  await env?.close();
});

async function postWithTarget(workspaceId: string, userId: string, platform = 'bluesky') {
  const accountId = await env.addAccount(workspaceId, {
    platform,
    externalId: `did:plc:${randomUUID()}`,
    handle: `a${randomUUID().slice(0, 6)}.test`,
    credentials: { service: 'http://127.0.0.1:9', did: 'did:plc:x', handle: 'x', accessJwt: 'a', refreshJwt: 'r' },
  });
  const { post, targets } = await createPost(env.database.db, workspaceId, {
    authorId: userId,
    content: 'Try it',
    targets: [{ socialAccountId: accountId, platform, content: 'Try it' }],
  });
  return { postId: post.id, targetId: targets[0]!.id };
}

async function campaignOf(workspaceId: string) {
  const [c] = await env.database.db
    .insert(schema.campaigns)
    .values({
      workspaceId,
      name: 'Spring',
      startsAt: new Date(),
      endsAt: new Date(Date.now() + 86_400_000),
      postsPerWeek: 1,
    })
    .returning();
  return c!.id;
}

async function productOf(workspaceId: string) {
  const [p] = await env.database.db.insert(schema.products).values({ workspaceId, name: 'Glaze' }).returning();
  return p!.id;
}

const as = (ctx: ServiceContext, role: ServiceContext['role']): ServiceContext => ({ ...ctx, role });

describe('creating links', () => {
  it('gives each link a random base62 code and a short URL on the configured domain', async () => {
    const { ctx } = await env.newWorkspace();
    const links = await Promise.all(
      Array.from({ length: 20 }, () => createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/p/1' })),
    );
    const codes = new Set(links.map((l) => l.code));
    expect(codes.size).toBe(20);
    for (const l of links) {
      expect(l.code).toMatch(new RegExp(`^[0-9A-Za-z]{${CODE_LENGTH}}$`));
      expect(l.shortUrl).toBe(`https://go.example.test/l/${l.code}`);
    }
  });

  it('refuses destinations that are not absolute http(s) URLs, or that carry credentials', async () => {
    const { ctx } = await env.newWorkspace();
    for (const destinationUrl of [
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'ftp://files.example/x',
      '/relative/path',
      'https://user:pw@shop.example/',
      `https://shop.example/${'a'.repeat(2100)}`,
      '',
    ])
      await expect(createTrackedLink(deps, ctx, { destinationUrl })).rejects.toMatchObject({
        code: 'link_destination_invalid',
      });
    await expect(
      createTrackedLink(deps, ctx, {
        destinationUrl: 'https://shop.example/',
        utm: { source: 'x', bogus: 'y' } as never,
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('adds UTM parameters without overwriting the ones the destination already has', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, ctx, {
      destinationUrl: 'https://shop.example/p?id=7&utm_source=newsletter#top',
      utm: { source: 'herald', medium: 'social', campaign: 'spring sale' },
    });
    const url = new URL(link.redirectsTo);
    expect(url.searchParams.get('id')).toBe('7');
    expect(url.searchParams.getAll('utm_source')).toEqual(['newsletter']);
    expect(url.searchParams.get('utm_medium')).toBe('social');
    expect(url.searchParams.get('utm_campaign')).toBe('spring sale');
    expect(url.hash).toBe('#top');
    expect(withUtm('https://a.example/', {})).toBe('https://a.example/');
  });

  it('takes the post and platform from a target of the workspace, and refuses another workspace’s post', async () => {
    const a = await env.newWorkspace();
    const b = await env.newWorkspace();
    const place = await postWithTarget(a.workspaceId, a.userId, 'linkedin');
    const campaignId = await campaignOf(a.workspaceId);
    const link = await createTrackedLink(deps, a.ctx, {
      destinationUrl: 'https://shop.example/',
      targetId: place.targetId,
      campaignId,
      variant: 'B',
    });
    expect(link).toMatchObject({
      postId: place.postId,
      targetId: place.targetId,
      platform: 'linkedin',
      campaignId,
      variant: 'B',
    });
    expect(await resolveClickContext(deps, a.ctx, link.id)).toMatchObject({
      linkId: link.id,
      workspaceId: a.workspaceId,
      postId: place.postId,
      targetId: place.targetId,
      campaignId,
      platform: 'linkedin',
    });
    await expect(
      createTrackedLink(deps, b.ctx, { destinationUrl: 'https://shop.example/', postId: place.postId }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(resolveClickContext(deps, b.ctx, link.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(attachLinkToPost(deps, b.ctx, link.id, { postId: place.postId })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await listTrackedLinks(deps, b.ctx)).links).toEqual([]);
  });

  it('refuses a campaign or product of another workspace exactly like a missing one', async () => {
    const a = await env.newWorkspace();
    const b = await env.newWorkspace();
    const aCampaign = await campaignOf(a.workspaceId);
    const aProduct = await productOf(a.workspaceId);
    const ok = await createTrackedLink(deps, a.ctx, {
      destinationUrl: 'https://shop.example/',
      campaignId: aCampaign,
      productId: aProduct,
    });
    expect(ok).toMatchObject({ campaignId: aCampaign, productId: aProduct });
    for (const [field, id] of [
      ['campaignId', aCampaign],
      ['campaignId', randomUUID()],
      ['productId', aProduct],
      ['productId', randomUUID()],
    ] as const) {
      const err = await createTrackedLink(deps, b.ctx, { destinationUrl: 'https://shop.example/', [field]: id }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'not_found', status: 404, details: { [field]: id } });
      expect((err as Error).message).toBe(`No such ${field.slice(0, -2)} in this workspace`);
    }
    expect((await listTrackedLinks(deps, b.ctx)).links).toEqual([]);
  });

  it('attaches a link to a post later; a target of another post is refused', async () => {
    const { ctx, workspaceId, userId } = await env.newWorkspace();
    const one = await postWithTarget(workspaceId, userId, 'bluesky');
    const two = await postWithTarget(workspaceId, userId, 'mastodon');
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    expect(link.postId).toBeNull();
    const attached = await attachLinkToPost(deps, ctx, link.id, { postId: one.postId, targetId: one.targetId });
    expect(attached).toMatchObject({ postId: one.postId, targetId: one.targetId, platform: 'bluesky' });
    await expect(
      attachLinkToPost(deps, ctx, link.id, { postId: one.postId, targetId: two.targetId }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect((await listTrackedLinks(deps, ctx, { postId: one.postId })).links.map((l) => l.id)).toEqual([link.id]);
  });

  it('checks roles in the service: viewers read, editors write', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, as(ctx, 'editor'), { destinationUrl: 'https://shop.example/' });
    await expect(
      createTrackedLink(deps, as(ctx, 'viewer'), { destinationUrl: 'https://shop.example/' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(attachLinkToPost(deps, as(ctx, 'viewer'), link.id, { postId: randomUUID() })).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await listTrackedLinks(deps, as(ctx, 'viewer'))).links).toHaveLength(1);
    expect((await linkStats(deps, as(ctx, 'viewer'), { linkIds: [link.id] })).links).toHaveLength(1);
  });
});

describe('telling clicks apart', () => {
  it('counts bots, link previews, prefetches and HEAD probes apart from people', () => {
    const person = { method: 'GET', userAgent: BROWSER, purpose: undefined };
    expect(isBotRequest(person)).toBe(false);
    expect(isBotRequest({ ...person, userAgent: 'facebookexternalhit/1.1' })).toBe(true);
    expect(isBotRequest({ ...person, userAgent: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' })).toBe(
      true,
    );
    expect(isBotRequest({ ...person, userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' })).toBe(true);
    expect(isBotRequest({ ...person, userAgent: undefined })).toBe(true);
    expect(isBotRequest({ ...person, purpose: 'prefetch;prerender' })).toBe(true);
    expect(isBotRequest({ ...person, method: 'HEAD' })).toBe(true);
  });

  it('names the platform from the referrer', () => {
    expect(platformOfReferrer('https://t.co/abc')).toBe('x');
    expect(platformOfReferrer('https://bsky.app/profile/a')).toBe('bluesky');
    expect(platformOfReferrer('https://www.linkedin.com/feed/')).toBe('linkedin');
    expect(platformOfReferrer('https://evil-linkedin.com/')).toBeNull();
    expect(platformOfReferrer('not a url')).toBeNull();
  });
});

describe('draining clicks', () => {
  const click = (linkId: string, at: number, visitor = 'v1', bot = false): ClickEvent => ({
    id: randomUUID(),
    linkId,
    at: new Date(at),
    bot,
    visitor,
    platform: null,
  });

  it('counts a visitor once per unique window, bots never, and writes a batch drained twice once', async () => {
    const { ctx } = await env.newWorkspace('UTC');
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/', platform: 'x' });
    const t0 = Date.parse('2026-11-02T10:00:00Z');
    const batch = [
      click(link.id, t0),
      click(link.id, t0 + 10 * MIN),
      click(link.id, t0 + 59 * MIN),
      click(link.id, t0 + 61 * MIN), // 61 minutes after the click that counted
      click(link.id, t0 + 5 * MIN, 'v2'),
      click(link.id, t0 + 6 * MIN, 'v1', true),
    ];
    expect(await writeClicks(env.database.db, batch.slice(0, 3), 60 * MIN)).toBe(3);
    // The whole batch again, as a drainer killed before acknowledging would leave it.
    expect(await writeClicks(env.database.db, batch, 60 * MIN)).toBe(3);
    expect(await writeClicks(env.database.db, batch, 60 * MIN)).toBe(0);
    const stats = await linkStats(deps, ctx, {
      linkIds: [link.id],
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-03T00:00:00Z',
    });
    expect(stats.links[0]).toMatchObject({ clicks: 5, uniqueClicks: 3, botClicks: 1 });
    expect(stats.links[0]!.byPlatform).toEqual({ x: { clicks: 5, uniqueClicks: 3, botClicks: 1 } });
    expect(stats.links[0]!.byDay).toEqual([{ day: '2026-11-02', clicks: 5, uniqueClicks: 3, botClicks: 1 }]);
  });

  it("ties a click to its link's workspace: another workspace is refused, and deleting the workspace takes the clicks", async () => {
    const { ctx } = await env.newWorkspace('UTC');
    const other = await env.newWorkspace('UTC');
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    const db = env.database.db;
    expect(await writeClicks(db, [click(link.id, Date.parse('2026-11-02T10:00:00Z'))], 60 * MIN)).toBe(1);
    await expect(
      db.insert(schema.linkClicks).values({
        id: randomUUID(),
        workspaceId: other.workspaceId,
        linkId: link.id,
        clickedAt: new Date(),
        visitorHash: 'v',
      }),
    ).rejects.toThrow();
    await db.delete(schema.workspaces).where(eq(schema.workspaces.id, ctx.workspaceId));
    expect(await db.select().from(schema.linkClicks).where(eq(schema.linkClicks.linkId, link.id))).toEqual([]);
  });

  it('reads at most MAX_ENTRIES_PER_READ entries at once, even after one-click entries made it expect small ones', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    const stream = clickStreamKey(env.prefix);
    const click = (i: number): ClickEvent => ({
      id: randomUUID(),
      linkId: link.id,
      at: new Date(Date.now() - 60_000 + i),
      bot: false,
      visitor: `visitor-${String(i).padStart(14, '0')}`,
      platform: null,
    });
    // One click sent without a journal (an entry of its own), then journal batches of 10.
    const one = click(0);
    await redis.xadd(
      stream,
      '*',
      'i',
      one.id,
      'l',
      one.linkId,
      't',
      String(one.at.getTime()),
      'b',
      '0',
      'v',
      one.visitor,
      'p',
      '',
    );
    const drainRedis = createRedisConnection(REDIS_URL);
    // What each read asks Redis for, seen on the drainer's own connection.
    const counts: number[] = [];
    const read = drainRedis.xreadgroup.bind(drainRedis) as (...args: unknown[]) => Promise<unknown>;
    (drainRedis as unknown as { xreadgroup: (...args: unknown[]) => Promise<unknown> }).xreadgroup = (...args) => {
      counts.push(Number(args[args.indexOf('COUNT') + 1]));
      return read(...args);
    };
    const drainer = new ClickDrainer({
      db: env.database.db,
      redis: drainRedis,
      keyPrefix: env.prefix,
      logger,
      batchSize: 1_000,
    });
    try {
      expect(await drainer.drainOnce()).toBe(1);
      for (let b = 0; b < MAX_ENTRIES_PER_READ + 6; b++)
        await redis.xadd(
          stream,
          '*',
          'c',
          Array.from({ length: 10 }, (_, i) => clickLine(click(1 + b * 10 + i))).join(''),
        );
      counts.length = 0;
      expect(await drainer.drainOnce()).toBe((MAX_ENTRIES_PER_READ + 6) * 10);
      // After the one-click entry it expected 1,000 entries' worth; it asked for no more than the cap.
      expect(counts.length).toBeGreaterThan(0);
      expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_ENTRIES_PER_READ);
    } finally {
      await drainRedis.quit();
    }
  });

  it('keeps reading while one-click entries (no journal) fill every read, instead of waiting between reads of 64', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    const stream = clickStreamKey(env.prefix);
    const n = 1_000;
    const pipeline = redis.pipeline();
    for (let i = 0; i < n; i++)
      pipeline.xadd(
        stream,
        '*',
        'i',
        randomUUID(),
        'l',
        link.id,
        't',
        String(Date.now() - 60_000 + i),
        'b',
        '0',
        'v',
        `visitor-${String(i).padStart(14, '0')}`,
        'p',
        '',
      );
    await pipeline.exec();
    const drainRedis = createRedisConnection(REDIS_URL);
    // A linger far longer than this test: a drainer that waits after a full read of 64 one-click
    // entries stores 64 clicks here and no more.
    const drainer = new ClickDrainer({
      db: env.database.db,
      redis: drainRedis,
      keyPrefix: env.prefix,
      logger,
      batchSize: 1_000,
      lingerMs: 600_000,
    }).start();
    const stored = async () =>
      (await env.database.db.select().from(schema.linkClicks).where(eq(schema.linkClicks.linkId, link.id))).length;
    try {
      const deadline = Date.now() + 20_000;
      while ((await stored()) < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await stored()).toBe(n);
    } finally {
      await drainer.close();
      await drainRedis.quit();
    }
  });

  it('records through Redis: the drainer claims what a killed drainer read, and every click lands once', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    const redirector = new LinkRedirector({ db: env.database.db, redis, keyPrefix: env.prefix });
    const resolved = (await redirector.resolve(link.code))!;
    expect(resolved.location).toBe('https://shop.example/');
    expect(await redirector.resolve('nope0000000')).toBeNull();
    expect(await redirector.resolve('../../etc')).toBeNull();
    const req = {
      method: 'GET',
      ip: '203.0.113.9',
      userAgent: BROWSER,
      referer: 'https://bsky.app/',
      purpose: undefined,
    };
    for (let i = 0; i < 30; i++) await redirector.record(resolved, { ...req, ip: `203.0.113.${i % 10}` });

    // A drainer that read 20 of them and died before writing or acknowledging.
    const stream = clickStreamKey(env.prefix);
    await redis.xgroup('CREATE', stream, DRAIN_GROUP, '0', 'MKSTREAM').catch(() => undefined);
    await redis.xreadgroup('GROUP', DRAIN_GROUP, 'dead-consumer', 'COUNT', 20, 'STREAMS', stream, '>');

    const drainRedis = createRedisConnection(REDIS_URL);
    const drainer = new ClickDrainer({
      db: env.database.db,
      redis: drainRedis,
      keyPrefix: env.prefix,
      logger,
      claimIdleMs: 200,
    });
    try {
      expect(await drainer.drainOnce()).toBe(10); // the 10 nobody read
      await new Promise((r) => setTimeout(r, 250));
      expect(await drainer.drainOnce()).toBe(20); // the dead consumer's, once idle
      expect(await drainer.backlog()).toBe(0);
    } finally {
      await drainRedis.quit();
    }
    const rows = await env.database.db.select().from(schema.linkClicks).where(eq(schema.linkClicks.linkId, link.id));
    expect(rows).toHaveLength(30);
    expect(rows.filter((r) => r.isUnique)).toHaveLength(10);
    expect(new Set(rows.map((r) => r.platform))).toEqual(new Set(['bluesky']));
    // Nothing personal: the address and user agent appear nowhere in a row.
    for (const r of rows) expect(JSON.stringify(r)).not.toMatch(/203\.0\.113|Mozilla/);
  });

  it('hashes visitors under a salt of the day: the same person on another day is another hash', async () => {
    const { ctx } = await env.newWorkspace();
    const link = await createTrackedLink(deps, ctx, { destinationUrl: 'https://shop.example/' });
    let now = new Date('2026-11-02T23:59:00Z');
    const redirector = new LinkRedirector({ db: env.database.db, redis, keyPrefix: env.prefix, now: () => now });
    const resolved = (await redirector.resolve(link.code))!;
    const req = { method: 'GET', ip: '198.51.100.1', userAgent: BROWSER, referer: undefined, purpose: undefined };
    const a = await redirector.record(resolved, req);
    const b = await redirector.record(resolved, req);
    now = new Date('2026-11-03T00:01:00Z');
    const c = await redirector.record(resolved, req);
    expect(a.visitor).toBe(b.visitor);
    expect(c.visitor).not.toBe(a.visitor);
    const ttl = await redis.ttl(`${env.prefix}:links:salt:2026-11-02`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);
  });
});
