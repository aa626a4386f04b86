/**
 * bench:analytics — analytics queries over one million metric snapshots (10,000 posts in
 * 20 accounts, 100 snapshots each) on PostgreSQL, against the same question asked of a bare
 * table without Herald (one flat table, no workspace, no joins) as the baseline; then
 * collection throughput: snapshots read from the Mastodon fake and stored per second.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test; a scratch database is created and dropped) and
 * Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379, under a key prefix of its own).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import {
  addMember,
  createLogger,
  createRedisConnection,
  createUser,
  createWorkspace,
  openDatabase,
  schema,
  SecretCipher,
  upsertSocialAccount,
} from '../core/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { createMastodonConnector, readInstanceLimits } from '../connectors/mastodon/index.js';
import { startMastodonFake } from '../connectors/mastodon/fake.js';
import { collectTargetMetrics, dailySeries, overview } from '../tools/analytics/index.js';
import { AccountGate } from '../tools/publishing/index.js';
import type { ServiceContext } from '../tools/scheduling/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const POSTS = Number(process.env.BENCH_POSTS ?? 10_000);
const ACCOUNTS = 20;
const PER_POST = Number(process.env.BENCH_SNAPSHOTS_PER_POST ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const COLLECT_POSTS = 300;
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger({ level: 'silent' });

const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: 8 });
const db = database.db;
const cipher = new SecretCipher(new Map([['b1', randomBytes(32)]]), 'b1');
const redis = createRedisConnection(redisUrl);
const fake = await startMastodonFake({ rateLimit: { limit: 1_000_000, windowMs: 300_000 } });

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

try {
  // --- data: 10,000 published targets in 20 accounts, 100 snapshots each ---------------------
  const ws = await createWorkspace(db, {
    name: 'Bench',
    slug: `b-${randomUUID().slice(0, 8)}`,
    timeZone: 'Europe/Paris',
  });
  const user = await createUser(db, { email: `${randomUUID()}@bench.test`, timeZone: 'Europe/Paris' });
  await addMember(db, ws.id, user.id, 'owner');
  const ctx: ServiceContext = {
    workspaceId: ws.id,
    userId: user.id,
    role: 'owner',
    timeZone: 'Europe/Paris',
    channel: 'bench',
  };
  const accounts: string[] = [];
  for (let i = 0; i < ACCOUNTS; i++)
    accounts.push(
      (
        await upsertSocialAccount(db, cipher, ws.id, {
          platform: i % 2 ? 'x' : 'mastodon',
          externalId: `a${i}`,
          handle: `a${i}`,
          credentials: { accessToken: 'x' },
        })
      ).id,
    );
  const t0 = performance.now();
  await db.execute(sql`
    with acc as (select id, platform, row_number() over (order by id) - 1 as n from social_accounts where workspace_id = ${ws.id}),
    p as (insert into posts (workspace_id, content) select ${ws.id}, 'post ' || g from generate_series(1, ${POSTS}) g returning id),
    np as (select id, row_number() over () - 1 as n from p)
    insert into post_targets (workspace_id, post_id, social_account_id, platform, content, status, scheduled_at, published_at, platform_post_id)
    select ${ws.id}, np.id, acc.id, acc.platform, 'post', 'published',
           now() - (np.n * interval '13 minutes'), now() - (np.n * interval '13 minutes'), 'p' || np.n
    from np join acc on acc.n = np.n % ${ACCOUNTS}`);
  await db.execute(sql`
    insert into metric_snapshots (workspace_id, target_id, social_account_id, platform, stage, status, likes, reposts, replies, impressions, fetched_at)
    select t.workspace_id, t.id, t.social_account_id, t.platform, 's' || g, 'ok', g, g / 4, g / 8,
           case when t.platform = 'x' then g * 40 end, t.published_at + g * interval '7 hours'
    from post_targets t cross join generate_series(1, ${PER_POST}) g where t.workspace_id = ${ws.id}`);
  // Baseline: the same rows in two bare tables (posts, snapshots): no workspace, no status, no roles.
  await db.execute(sql`create table bare_posts as select id, platform, published_at from post_targets`);
  await db.execute(sql`
    create table bare_snapshots as
    select target_id, fetched_at, likes, reposts, replies, quotes, impressions from metric_snapshots`);
  await db.execute(sql`create index bare_target_fetched on bare_snapshots (target_id, fetched_at)`);
  await db.execute(sql`create index bare_published on bare_posts (published_at)`);
  await db.execute(sql`analyze`);
  const loadS = (performance.now() - t0) / 1000;

  // --- queries --------------------------------------------------------------------------------
  const to = new Date();
  const from = new Date(to.getTime() - 7 * 86_400_000);
  const herald = await time(() => overview({ db }, ctx, { from, to }));
  const heraldDaily = await time(() => dailySeries({ db }, ctx, { from, to }));
  // The same question as the overview (this period and the one before, latest snapshot per post).
  const bare = (a: Date, b: Date) =>
    db.execute(sql`
      select p.platform, count(*), sum(l.likes), sum(l.reposts), sum(l.replies), sum(l.quotes), sum(l.impressions)
      from bare_posts p
      left join lateral (
        select s.likes, s.reposts, s.replies, s.quotes, s.impressions from bare_snapshots s
        where s.target_id = p.id order by s.fetched_at desc limit 1) l on true
      where p.published_at >= ${a.toISOString()}::timestamptz and p.published_at < ${b.toISOString()}::timestamptz
      group by p.platform`);
  const before = new Date(from.getTime() - (to.getTime() - from.getTime()));
  const baseline = await time(() => Promise.all([bare(from, to), bare(before, from)]));

  // --- collection against the Mastodon fake ---------------------------------------------------
  const connector = createMastodonConnector({ timeoutMs: 5_000 });
  const creds = fake.createAccount();
  const limits = await readInstanceLimits(fake.url);
  const mastodonCredentials = {
    accessToken: creds.accessToken,
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
  };
  const account = await upsertSocialAccount(db, cipher, ws.id, {
    platform: 'mastodon',
    externalId: creds.accountId,
    handle: creds.username,
    credentials: mastodonCredentials,
    metadata: { instanceUrl: fake.url, limits },
  });
  const ctxAccount = {
    accountId: account.id,
    externalId: creds.accountId,
    handle: creds.username,
    credentials: mastodonCredentials,
    metadata: { instanceUrl: fake.url, limits },
  };
  const targetIds: string[] = [];
  for (let i = 0; i < COLLECT_POSTS; i++) {
    const res = await connector.publish(
      ctxAccount,
      { parts: [{ text: `measured ${i}`, media: [] }], options: {} },
      randomUUID(),
    );
    fake.setMetrics(res.platformPostId, { favourites: i, reblogs: i % 7 });
    const [post] = await db.insert(schema.posts).values({ workspaceId: ws.id, content: 'c' }).returning();
    const [t] = await db
      .insert(schema.postTargets)
      .values({
        workspaceId: ws.id,
        postId: post!.id,
        socialAccountId: account.id,
        platform: 'mastodon',
        content: 'c',
        status: 'published',
        publishedAt: new Date(),
        platformPostId: res.platformPostId,
      })
      .returning();
    targetIds.push(t!.id);
  }
  const deps = {
    db,
    cipher,
    connectors: new ConnectorRegistry([connector]),
    gate: new AccountGate(redis, 5_000, `bench-${randomUUID().slice(0, 8)}`),
    logger,
  };
  const c0 = performance.now();
  let stored = 0;
  for (const stage of ['1h', '6h']) {
    const queue = [...targetIds];
    await Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let id = queue.shift(); id; id = queue.shift()) {
          const out = await collectTargetMetrics(deps, {
            workspaceId: ws.id,
            targetId: id,
            stage,
            holder: `bench-${w}`,
            lastTry: true,
          });
          if (out.kind === 'stored') stored++;
          else if (out.kind === 'defer') queue.push(id);
        }
      }),
    );
  }
  const snapshotsPerS = stored / ((performance.now() - c0) / 1000);

  const overviewP99 = percentile(herald, 99);
  const baselineP99 = percentile(baseline, 99);
  printTable(
    `analytics: ${POSTS} posts x ${PER_POST} snapshots in ${ACCOUNTS} accounts (loaded in ${round(loadS, 1)} s), ${RUNS} runs`,
    [
      {
        query: 'overview (Herald, + previous period)',
        p50_ms: round(percentile(herald, 50), 2),
        p99_ms: round(overviewP99, 2),
      },
      {
        query: 'daily series (Herald)',
        p50_ms: round(percentile(heraldDaily, 50), 2),
        p99_ms: round(percentile(heraldDaily, 99), 2),
      },
      {
        query: 'baseline: latest per post on a bare table',
        p50_ms: round(percentile(baseline, 50), 2),
        p99_ms: round(baselineP99, 2),
      },
    ],
  );
  printTable('collection against the Mastodon fake', [{ snapshots: stored, snapshots_per_s: round(snapshotsPerS, 1) }]);
  printResult({
    bench: 'analytics',
    overview_p50_ms: round(percentile(herald, 50), 2),
    overview_p99_ms: round(overviewP99, 2),
    daily_p99_ms: round(percentile(heraldDaily, 99), 2),
    baseline_p99_ms: round(baselineP99, 2),
    ratio: round(overviewP99 / baselineP99, 2),
    snapshots_per_s: round(snapshotsPerS, 1),
  });
} finally {
  await fake.close();
  await redis.quit();
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
