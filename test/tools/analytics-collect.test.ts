/**
 * Metrics collection over time against the Mastodon and X fakes (real HTTP servers on
 * loopback), real Redis and PGlite: publishing schedules the decaying stages, each stage
 * stores a new snapshot of the fake's current counters, a 429 defers the read until the
 * platform's reset without losing it, a deleted post is recorded once and its later stages
 * are dropped, and the daily job snapshots the account's audience.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection, createLogger, schema, getTarget } from '../../core/index.js';
import { createMastodonConnector, readInstanceLimits } from '../../connectors/mastodon/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { createLinkedInConnector } from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake } from '../../connectors/linkedin/fake.js';
import {
  MetricsQueue,
  runDaily,
  startMetricsWorker,
  type CollectDeps,
  type MeasuredPost,
} from '../../tools/analytics/index.js';
import { publishNow, type ServiceContext } from '../../tools/scheduling/index.js';
import { eventually, REDIS_URL, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

/** Short stages so the schedule plays out in seconds; the real ones are 1h ... 30d. */
const STAGES = [
  { name: 's1', afterMs: 1_000 },
  { name: 's2', afterMs: 3_000 },
  { name: 's3', afterMs: 5_000 },
];

let masto: MastodonFake;
let x: XFake;
let li: LinkedInFake;
let env: PublishingEnv;
let metrics: MetricsQueue;
let worker: Worker;
let bull: ReturnType<typeof createRedisConnection>;
let collectDeps: CollectDeps;
/** What the worker told `onMeasured` (the runtime passes knowledge's past-post update there). */
const measured: MeasuredPost[] = [];

beforeAll(async () => {
  masto = await startMastodonFake();
  x = await startXFake();
  li = await startLinkedInFake();
  env = await startPublishingEnv({
    connectors: [
      createMastodonConnector({ timeoutMs: 2_000 }),
      createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url }),
      createLinkedInConnector({
        clientId: li.clientId,
        clientSecret: li.clientSecret,
        apiUrl: li.url,
        oauthUrl: li.url,
        timeoutMs: 2_000,
      }),
    ],
  });
  bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
  metrics = new MetricsQueue({ connection: bull, prefix: env.prefix, stages: STAGES, maxAttempts: 3, backoffMs: 100 });
  env.workerDeps.onPublished = (t) => metrics.scheduleTarget(env.deps.db, t);
  collectDeps = {
    ...env.workerDeps,
    logger: createLogger({ level: 'silent' }),
    onMeasured: async (m) => {
      measured.push(m);
      // A failing listener must not fail or repeat the read.
      if (m.metrics.likes === 8) throw new Error('listener down');
    },
  };
  worker = startMetricsWorker(collectDeps, metrics, { connection: bull, prefix: env.prefix });
  env.startWorker();
});
afterAll(async () => {
  await worker?.close();
  await metrics?.queue.obliterate({ force: true }).catch(() => undefined);
  await metrics?.close();
  await bull?.quit();
  await env?.close();
  await masto?.close();
  await x?.close();
  await li?.close();
});

async function mastodonWorkspace() {
  const { ctx, workspaceId } = await env.newWorkspace();
  const creds = masto.createAccount();
  const accountId = await env.addAccount(workspaceId, {
    platform: 'mastodon',
    externalId: creds.accountId,
    handle: creds.username,
    credentials: { accessToken: creds.accessToken, clientId: creds.clientId, clientSecret: creds.clientSecret },
    metadata: { instanceUrl: masto.url, limits: await readInstanceLimits(masto.url) },
  });
  return { ctx, workspaceId, accountId, creds };
}

async function publish(ctx: ServiceContext, accountId: string, content: string) {
  const { targets } = await publishNow(env.deps, ctx, { content, targets: [{ socialAccountId: accountId }] });
  const id = targets[0]!.id;
  return eventually(async () => {
    const t = await getTarget(env.deps.db, ctx.workspaceId, id);
    return t?.status === 'published' ? t : undefined;
  });
}

const snapshots = (targetId: string) =>
  env.deps.db
    .select()
    .from(schema.metricSnapshots)
    .where(eq(schema.metricSnapshots.targetId, targetId))
    .orderBy(asc(schema.metricSnapshots.fetchedAt));

const snapshotCount = (targetId: string, n: number) =>
  eventually(
    async () => ((await snapshots(targetId)).length >= n ? snapshots(targetId) : undefined),
    20_000,
    `${n} snapshots`,
  );

describe('collection on a decaying schedule', () => {
  it('stores one new row per stage holding the counters Mastodon served at that time', async () => {
    const { ctx, accountId } = await mastodonWorkspace();
    const target = await publish(ctx, accountId, 'measure me over time');
    masto.setMetrics(target.platformPostId!, { favourites: 3, reblogs: 1 });
    const first = await snapshotCount(target.id, 1);
    masto.setMetrics(target.platformPostId!, { favourites: 8, reblogs: 2, replies: 1 });
    await snapshotCount(target.id, 2);
    masto.setMetrics(target.platformPostId!, { favourites: 13 });
    const all = await snapshotCount(target.id, 3);
    expect(all.map((r) => [r.stage, r.status, r.likes, r.reposts])).toEqual([
      ['s1', 'ok', 3, 1],
      ['s2', 'ok', 8, 2],
      ['s3', 'ok', 13, 2],
    ]);
    // Earlier rows are never overwritten.
    expect(all[0]).toEqual(first[0]);
    // Each stored snapshot was passed on once, the failing listener included.
    expect(measured.filter((m) => m.targetId === target.id).map((m) => [m.stage, m.metrics])).toEqual([
      ['s1', { likes: 3, reposts: 1, replies: 0, quotes: 0 }],
      ['s2', { likes: 8, reposts: 2, replies: 1, quotes: 0 }],
      ['s3', { likes: 13, reposts: 2, replies: 1, quotes: 0 }],
    ]);
    expect(all.every((r) => r.impressions === null && r.platform === 'mastodon')).toBe(true);
  });

  it('defers a read answered 429 until the reset and still stores it', async () => {
    const { ctx, accountId, creds } = await mastodonWorkspace();
    const target = await publish(ctx, accountId, 'rate limited read');
    // Mastodon's reset header names the end of the window: a 1.5 s window keeps the test short.
    masto.setRateLimit(creds.accountId, { limit: 300, windowMs: 1_500 });
    masto.failNext(creds.accountId, 'rate_limited', { on: 'any' });
    masto.setMetrics(target.platformPostId!, { favourites: 5 });
    const rows = await snapshotCount(target.id, 1);
    expect(rows[0]).toMatchObject({ stage: 's1', status: 'ok', likes: 5 });
    const answered429 = masto
      .requests()
      .filter((r) => r.url.includes(`/statuses/${target.platformPostId}`) && r.status === 429);
    expect(answered429).toHaveLength(1);
  });

  it('records a deleted post once and drops its later stages', async () => {
    const { ctx, accountId } = await mastodonWorkspace();
    const target = await publish(ctx, accountId, 'here today');
    masto.setMetrics(target.platformPostId!, { favourites: 2 });
    await snapshotCount(target.id, 1);
    const connector = env.deps.connectors.get('mastodon');
    const found = await (
      await import('../../core/index.js')
    ).getAccountWithCredentials(env.deps.db, env.cipher, ctx.workspaceId, accountId);
    await connector.delete(
      {
        accountId,
        externalId: found!.account.externalId,
        handle: found!.account.handle,
        credentials: found!.credentials,
        metadata: found!.account.metadata,
      },
      target.platformPostId!,
    );
    const rows = await snapshotCount(target.id, 2);
    expect(rows.map((r) => [r.stage, r.status])).toEqual([
      ['s1', 'ok'],
      ['s2', 'deleted'],
    ]);
    await eventually(async () => (await metrics.queue.getJob(`${target.id}.s3`)) === undefined, 5_000, 's3 dropped');
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await snapshots(target.id)).toHaveLength(2);
  });

  it("reads X's impressions along with likes, reposts, replies and quotes", async () => {
    const { ctx, workspaceId } = await env.newWorkspace();
    const creds = x.createAccount();
    const accountId = await env.addAccount(workspaceId, {
      platform: 'x',
      externalId: creds.userId,
      handle: creds.username,
      credentials: { accessToken: creds.accessToken, refreshToken: creds.refreshToken },
    });
    const target = await publish(ctx, accountId, `x counters ${randomUUID()}`);
    x.setMetrics(target.platformPostId!, { like_count: 4, retweet_count: 1, impression_count: 120 });
    const rows = await snapshotCount(target.id, 1);
    expect(rows[0]).toMatchObject({ status: 'ok', likes: 4, reposts: 1, impressions: 120, platform: 'x' });
  });
});

describe('LinkedIn member analytics', () => {
  async function linkedInAccount(scopes: string[]) {
    const { ctx, workspaceId } = await env.newWorkspace();
    const creds = li.createAccount({ scopes });
    const accountId = await env.addAccount(workspaceId, {
      platform: 'linkedin',
      externalId: creds.memberId,
      handle: creds.name,
      credentials: { accessToken: creds.accessToken },
    });
    return { ctx, accountId };
  }

  it('stores forbidden, saying which permission is missing, without r_member_postAnalytics', async () => {
    const { ctx, accountId } = await linkedInAccount(['openid', 'profile', 'w_member_social']);
    const target = await publish(ctx, accountId, `linkedin without analytics ${randomUUID()}`);
    const rows = await snapshotCount(target.id, 1);
    expect(rows[0]).toMatchObject({ stage: 's1', status: 'forbidden', likes: null });
    expect(rows[0]!.detail).toContain('r_member_postAnalytics');
  });

  it('stores reactions, comments, reshares and impressions with it', async () => {
    const { ctx, accountId } = await linkedInAccount([
      'openid',
      'profile',
      'w_member_social',
      'r_member_postAnalytics',
    ]);
    const target = await publish(ctx, accountId, `linkedin with analytics ${randomUUID()}`);
    li.setMetrics(target.platformPostId!, { reactions: 6, comments: 2, reshares: 1, impressions: 90 });
    const rows = await snapshotCount(target.id, 1);
    expect(rows[0]).toMatchObject({ status: 'ok', likes: 6, replies: 2, reposts: 1, impressions: 90 });
  });
});

describe('daily account snapshots', () => {
  it("stores each active account's followers, following and posts once a day", async () => {
    const { workspaceId, accountId, creds } = await mastodonWorkspace();
    masto.setAudience(creds.accountId, { followers: 42, following: 7 });
    await runDaily(collectDeps, metrics);
    const row = await eventually(async () => {
      const [r] = await env.deps.db
        .select()
        .from(schema.accountSnapshots)
        .where(eq(schema.accountSnapshots.socialAccountId, accountId));
      return r;
    });
    expect(row).toMatchObject({ workspaceId, status: 'ok', followers: 42, following: 7, platform: 'mastodon' });
    // A second run the same day stores nothing new.
    await runDaily(collectDeps, metrics);
    await new Promise((r) => setTimeout(r, 500));
    const rows = await env.deps.db
      .select()
      .from(schema.accountSnapshots)
      .where(eq(schema.accountSnapshots.socialAccountId, accountId));
    expect(rows).toHaveLength(1);
  });

  it("stores an X account's followers, following and posts from its public_metrics", async () => {
    const { ctx, workspaceId } = await env.newWorkspace();
    const creds = x.createAccount();
    const accountId = await env.addAccount(workspaceId, {
      platform: 'x',
      externalId: creds.userId,
      handle: creds.username,
      credentials: { accessToken: creds.accessToken, refreshToken: creds.refreshToken },
    });
    await publish(ctx, accountId, `counted in tweet_count ${randomUUID()}`);
    x.setAudience(creds.userId, { followers_count: 1_200, following_count: 80 });
    await runDaily(collectDeps, metrics);
    const row = await eventually(async () => {
      const [r] = await env.deps.db
        .select()
        .from(schema.accountSnapshots)
        .where(eq(schema.accountSnapshots.socialAccountId, accountId));
      return r;
    });
    expect(row).toMatchObject({ status: 'ok', followers: 1_200, following: 80, posts: 1, platform: 'x' });
  });

  it('re-schedules the stages a published target misses, but not those long overdue', async () => {
    const { workspaceId, accountId } = await mastodonWorkspace();
    const [post] = await env.deps.db.insert(schema.posts).values({ workspaceId, content: 'hook lost' }).returning();
    // A target published just now whose hook was lost gets every stage; one published three
    // days ago gets none (each of its stages is more than a day overdue).
    const [fresh] = await env.deps.db
      .insert(schema.postTargets)
      .values({
        workspaceId,
        postId: post!.id,
        socialAccountId: accountId,
        platform: 'mastodon',
        content: 'hook lost',
        status: 'published',
        publishedAt: new Date(),
        platformPostId: 'none',
      })
      .returning();
    await runDaily(collectDeps, metrics);
    for (const s of STAGES) expect(await metrics.queue.getJob(`${fresh!.id}.${s.name}`)).toBeDefined();
    const [old] = await env.deps.db.insert(schema.posts).values({ workspaceId, content: 'old' }).returning();
    const [stale] = await env.deps.db
      .insert(schema.postTargets)
      .values({
        workspaceId,
        postId: old!.id,
        socialAccountId: accountId,
        platform: 'mastodon',
        content: 'old',
        status: 'published',
        publishedAt: new Date(Date.now() - 3 * 86_400_000),
        platformPostId: 'none',
      })
      .returning();
    await runDaily(collectDeps, metrics);
    for (const s of STAGES) expect(await metrics.queue.getJob(`${stale!.id}.${s.name}`)).toBeUndefined();
  });
});
