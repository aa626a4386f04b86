/**
 * Analytics over REST against the Mastodon and X fakes: posts published by the real worker,
 * counters read by the collector from the fakes, and the figures on every route equal to the
 * fakes' counters (with the period before beside them, impressions only where X reports
 * them); another workspace sees none of it on any route.
 */
import { eq } from 'drizzle-orm';
import { XMLValidator } from 'fast-xml-parser';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, getTarget, schema } from '../../core/index.js';
import { createMastodonConnector, readInstanceLimits } from '../../connectors/mastodon/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { collectTargetMetrics, type CollectDeps } from '../../tools/analytics/index.js';
import { publishNow, type ServiceContext } from '../../tools/scheduling/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { eventually } from '../helpers/publishing-env.js';

let masto: MastodonFake;
let x: XFake;
let api: ApiEnv;
let owner: Person;
let stranger: Person;
let ctx: ServiceContext;
let collect: CollectDeps;
const ZONE = 'Europe/Paris';
const targets: Record<string, { id: string; platformPostId: string; accountId: string }> = {};

async function publishOn(accountId: string, content: string) {
  const { targets: made } = await publishNow(api.env.deps, ctx, { content, targets: [{ socialAccountId: accountId }] });
  const id = made[0]!.id;
  const t = await eventually(async () => {
    const row = await getTarget(api.env.deps.db, ctx.workspaceId, id);
    return row?.status === 'published' ? row : undefined;
  });
  return { id, platformPostId: t.platformPostId!, accountId };
}

const read = (t: { id: string }, stage: string) =>
  collectTargetMetrics(collect, { workspaceId: ctx.workspaceId, targetId: t.id, stage, holder: 'test', lastTry: true });

beforeAll(async () => {
  masto = await startMastodonFake();
  x = await startXFake();
  api = await startApiEnv({
    connectors: [
      createMastodonConnector({ timeoutMs: 2_000 }),
      createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url }),
    ],
  });
  api.env.startWorker();
  collect = { ...api.env.workerDeps, logger: createLogger({ level: 'silent' }) };
  owner = await api.signUp({ timeZone: ZONE });
  stranger = await api.signUp({ timeZone: ZONE });
  ctx = { workspaceId: owner.workspaceId, userId: owner.userId, role: 'owner', timeZone: ZONE, channel: 'rest' };
  const m = masto.createAccount();
  const mastoId = await api.env.addAccount(owner.workspaceId, {
    platform: 'mastodon',
    externalId: m.accountId,
    handle: m.username,
    credentials: { accessToken: m.accessToken, clientId: m.clientId, clientSecret: m.clientSecret },
    metadata: { instanceUrl: masto.url, limits: await readInstanceLimits(masto.url) },
  });
  const xa = x.createAccount();
  const xId = await api.env.addAccount(owner.workspaceId, {
    platform: 'x',
    externalId: xa.userId,
    handle: xa.username,
    credentials: { accessToken: xa.accessToken, refreshToken: xa.refreshToken },
  });
  targets.masto = await publishOn(mastoId, 'Mastodon post this week');
  targets.x = await publishOn(xId, 'X post this week');
  targets.old = await publishOn(mastoId, 'Mastodon post the week before');
  // The third post went out ten days ago: it belongs to the period before the last 7 days.
  await api.env.deps.db
    .update(schema.postTargets)
    .set({ publishedAt: new Date(Date.now() - 10 * 86_400_000) })
    .where(eq(schema.postTargets.id, targets.old.id));

  masto.setMetrics(targets.masto.platformPostId, { favourites: 2 });
  await read(targets.masto, '1h');
  // Later counters: the latest snapshot is what counts.
  masto.setMetrics(targets.masto.platformPostId, { favourites: 11, reblogs: 4, replies: 3 });
  await read(targets.masto, '6h');
  x.setMetrics(targets.x.platformPostId, {
    like_count: 7,
    retweet_count: 2,
    reply_count: 1,
    quote_count: 1,
    impression_count: 500,
  });
  await read(targets.x, '1h');
  masto.setMetrics(targets.old.platformPostId, { favourites: 5, reblogs: 1 });
  await read(targets.old, '1h');
});
afterAll(async () => {
  await api?.close();
  await masto?.close();
  await x?.close();
});

const get = async (who: Person, url: string) => {
  const res = await api.app.inject({ method: 'GET', url, headers: who.auth });
  // The answers of five routes, read loosely: each test states the shape it expects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.statusCode, body: res.json() as Record<string, any> };
};

describe("figures on REST equal the fakes' counters", () => {
  it('overview: this period beside the one before, impressions only from X', async () => {
    const { status, body } = await get(owner, '/v1/analytics/overview?period=last_7_days');
    expect(status).toBe(200);
    expect(body.current).toMatchObject({
      posts: 2,
      measured: 2,
      likes: 11 + 7,
      reposts: 4 + 2,
      replies: 3 + 1,
      quotes: 1,
      engagements: 18 + 4 + 2 + 1 + 1 + 1 + 2,
      impressions: 500,
      includes: { engagements: ['mastodon', 'x'], impressions: ['x'], followerGrowth: [] },
    });
    // Engagement rate counts only the posts whose platform reports impressions (X: 11 / 500).
    expect(body.current.engagementRate).toBeCloseTo(11 / 500, 4);
    expect(body.previous).toMatchObject({ posts: 1, engagements: 6, impressions: null });
    expect(body.changePct.posts).toBe(100);
    expect(body.notReported).toContainEqual(expect.objectContaining({ platform: 'mastodon', metric: 'impressions' }));
  });

  it('one post: latest counters and every snapshot in order', async () => {
    const { body } = await get(owner, `/v1/analytics/posts/${targets.masto!.id}`);
    expect(body).toMatchObject({ likes: 11, reposts: 4, replies: 3, engagements: 18, impressions: null });
    expect(body.snapshots.map((s: { stage: string; likes: number }) => [s.stage, s.likes])).toEqual([
      ['1h', 2],
      ['6h', 11],
    ]);
  });

  it("top and bottom posts, daily series in the caller's zone, one account", async () => {
    const top = await get(owner, '/v1/analytics/posts?order=top&limit=1');
    expect(top.body.items.map((p: { targetId: string }) => p.targetId)).toEqual([targets.masto!.id]);
    const bottom = await get(owner, '/v1/analytics/posts?order=bottom&limit=1');
    expect(bottom.body.items[0]).toMatchObject({ targetId: targets.x!.id, engagements: 11 });
    const daily = await get(owner, '/v1/analytics/daily?period=last_7_days');
    expect(daily.body.timeZone).toBe(ZONE);
    expect(daily.body.days.length).toBeGreaterThanOrEqual(7);
    expect(daily.body.days.reduce((n: number, d: { engagements: number }) => n + d.engagements, 0)).toBe(29);
    const account = await get(owner, `/v1/analytics/accounts/${targets.masto!.accountId}?period=last_7_days`);
    expect(account.body).toMatchObject({
      platform: 'mastodon',
      current: { posts: 1, engagements: 18 },
      previous: { engagements: 6 },
    });
  });

  it('refuses a period that is not one, and from without to', async () => {
    expect((await get(owner, '/v1/analytics/overview?period=forever')).status).toBe(400);
    expect((await get(owner, '/v1/analytics/overview?from=2026-01-01T00:00:00Z')).status).toBe(400);
  });
});

describe('workspace isolation', () => {
  it('another workspace sees none of it on any route', async () => {
    const overview = await get(stranger, '/v1/analytics/overview?period=last_30_days');
    expect(overview.status).toBe(200);
    expect(overview.body.current).toMatchObject({ posts: 0, engagements: 0 });
    expect((await get(stranger, '/v1/analytics/posts?order=top')).body.items).toEqual([]);
    const daily = await get(stranger, '/v1/analytics/daily');
    expect(daily.body.days.every((d: { posts: number }) => d.posts === 0)).toBe(true);
    expect((await get(stranger, `/v1/analytics/posts/${targets.masto!.id}`)).status).toBe(404);
    expect((await get(stranger, `/v1/analytics/accounts/${targets.masto!.accountId}`)).status).toBe(404);
    expect((await get(stranger, `/v1/analytics/accounts/${targets.masto!.accountId}/best-times`)).status).toBe(404);
    expect((await get(stranger, '/v1/analytics/what-works')).body).toMatchObject({ posts: 0, findings: [] });
    expect((await get(owner, '/v1/analytics/what-works')).body).toMatchObject({ posts: 3 });
    const mine = await get(owner, `/v1/analytics/accounts/${targets.masto!.accountId}/best-times`);
    expect(mine.body).toMatchObject({ posts: 2, confidence: 'weak', basis: 'based on 2 posts; weak' });
    const slotsPath = `/v1/analytics/accounts/${targets.masto!.accountId}/suggested-slots`;
    expect((await get(stranger, slotsPath)).status).toBe(404);
    const suggested = await get(owner, `${slotsPath}?perWeek=3`);
    expect(suggested.status).toBe(200);
    expect(suggested.body).toMatchObject({ confidence: 'weak', timeZone: ZONE });
    expect(suggested.body.slots).toHaveLength(3);
    expect((await get(owner, `${slotsPath}?perWeek=29`)).body).toMatchObject({ error: { code: 'validation_failed' } });
  });

  it('every analytics route is in the OpenAPI document', async () => {
    const doc = api.app.swagger() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.includes('/analytics/'))).toEqual(
      expect.arrayContaining([
        '/v1/analytics/overview',
        '/v1/analytics/daily',
        '/v1/analytics/posts',
        '/v1/analytics/posts/{id}',
        '/v1/analytics/accounts/{id}',
        '/v1/analytics/accounts/{id}/best-times',
        '/v1/analytics/accounts/{id}/suggested-slots',
        '/v1/analytics/what-works',
        '/v1/analytics/report',
        '/v1/analytics/report/charts/daily.svg',
        '/v1/analytics/report/charts/platforms.svg',
        '/v1/analytics/report/settings',
      ]),
    );
  });

  it('the weekly report delivery is each member’s own choice, on by default, per workspace', async () => {
    expect((await get(owner, '/v1/analytics/report/settings')).body).toMatchObject({
      weeklyReport: true,
      sendsAt: `Monday 09:00 ${ZONE}`,
    });
    const put = (who: Person, payload: unknown) =>
      api.app.inject({
        method: 'PUT',
        url: '/v1/analytics/report/settings',
        headers: who.auth,
        payload: payload as object,
      });
    expect((await put(owner, { weeklyReport: false })).json()).toMatchObject({ weeklyReport: false });
    expect((await get(owner, '/v1/analytics/report/settings')).body.weeklyReport).toBe(false);
    // Another workspace's member is untouched by it.
    expect((await get(stranger, '/v1/analytics/report/settings')).body.weeklyReport).toBe(true);
    expect((await put(owner, { weeklyReport: 'sometimes' })).statusCode).toBe(400);
    expect((await put(owner, { weeklyReport: true })).json()).toMatchObject({ weeklyReport: true });
  });
});

describe('weekly report', () => {
  it("renders last week in the caller's zone with real figures, beside the week before, with SVG charts", async () => {
    const lastWednesday = DateTime.now().setZone(ZONE).startOf('week').minus({ weeks: 1 }).plus({ days: 2, hours: 12 });
    const t = await publishOn(targets.masto!.accountId, 'Last week, measured');
    await api.env.deps.db
      .update(schema.postTargets)
      .set({ publishedAt: lastWednesday.toJSDate() })
      .where(eq(schema.postTargets.id, t.id));
    masto.setMetrics(t.platformPostId, { favourites: 9, reblogs: 2 });
    await read(t, '24h');

    const { status, body } = await get(owner, '/v1/analytics/report');
    expect(status).toBe(200);
    expect(body.timeZone).toBe(ZONE);
    const md = String(body.markdown);
    expect(md).toContain(`# Weekly report: ${lastWednesday.startOf('week').toFormat('ccc d LLL')}`);
    // The post of ten days ago falls in last week or the week before, depending on today.
    const [oldRow] = await api.env.deps.db
      .select({ at: schema.postTargets.publishedAt })
      .from(schema.postTargets)
      .where(eq(schema.postTargets.id, targets.old!.id));
    const weekStart = lastWednesday.startOf('week');
    const oldInLastWeek = oldRow!.at! >= weekStart.toJSDate() && oldRow!.at! < weekStart.plus({ weeks: 1 }).toJSDate();
    expect(md).toContain(`| Engagements | ${11 + (oldInLastWeek ? 6 : 0)} |`);
    expect(md).toContain('Last week, measured');
    expect(md).toContain('mastodon: impressions — Mastodon does not count views of a post');
    for (const name of ['daily', 'platforms']) {
      const svg = String(body.charts[name]);
      expect(XMLValidator.validate(svg)).toBe(true);
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    expect(String(body.charts.daily)).toMatch(/<path d="M[\d.,LMZ]+"/);
    const chart = await api.app.inject({
      method: 'GET',
      url: '/v1/analytics/report/charts/platforms.svg',
      headers: owner.auth,
    });
    expect(chart.headers['content-type']).toContain('image/svg+xml');
    expect(chart.body).toBe(body.charts.platforms);
    expect(chart.body).toContain('>mastodon</text>');
    // Another workspace's report holds none of it.
    const theirs = await get(stranger, '/v1/analytics/report');
    expect(String(theirs.body.markdown)).not.toContain('Last week, measured');
    expect(String(theirs.body.markdown)).toContain('No measured posts last week.');
  });
});
