/**
 * bench:publish — publishing throughput and lateness, against the Mastodon, X, LinkedIn,
 * Instagram, Facebook Pages and Threads fakes on loopback (30/20/20/10/10/10 % of the
 * accounts; every Instagram post an image the fake downloads from Herald's public media
 * route, served by this process as a worker serves no API), PostgreSQL and a Redis of its own
 * (AOF on, as in production), in one run:
 *
 * (a) baseline: raw BullMQ — 10,000 no-op jobs due at the same instant through one worker
 *     process on the same Redis, with the same concurrency → jobs/s;
 * (b) Herald — 10,000 targets due at the same instant through one Herald worker process
 *     (`server/main.ts`, HERALD_ROLE=worker) → posts/s, lateness p50/p99/max
 *     (published_at − scheduled_at), and the posts the fakes hold (each exactly once);
 * (c) lone posts — one at a time, due 1 s after scheduling → lateness p50/p99.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import getPort from 'get-port';
import pg from 'pg';
import {
  createLogger,
  createPost,
  createRedisConnection,
  createUser,
  createWorkspace,
  ensureRedis,
  LocalMediaStore,
  openDatabase,
  SecretCipher,
  upsertSocialAccount,
} from '../core/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { createMastodonConnector } from '../connectors/mastodon/index.js';
import { startMastodonFake } from '../connectors/mastodon/fake.js';
import { createXConnector } from '../connectors/x/index.js';
import { startXFake } from '../connectors/x/fake.js';
import { createLinkedInConnector } from '../connectors/linkedin/index.js';
import { startLinkedInFake } from '../connectors/linkedin/fake.js';
import { createInstagramConnector, instagramUrlsAt } from '../connectors/instagram/index.js';
import { startInstagramFake } from '../connectors/instagram/fake.js';
import { createFacebookConnector, FACEBOOK_GRAPH_VERSION } from '../connectors/facebook/index.js';
import { startFacebookFake } from '../connectors/facebook/fake.js';
import { createThreadsConnector, threadsUrlsAt } from '../connectors/threads/index.js';
import { startThreadsFake } from '../connectors/threads/fake.js';
import sharp from 'sharp';
import { startPublicMedia } from '../test/helpers/public-media.js';
import { uploadMedia } from '../tools/media/index.js';
import { startChroma } from '../knowledge/index.js';
import { PublishQueue } from '../tools/publishing/index.js';
import { schedulePost } from '../tools/scheduling/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const N = Number(process.env.BENCH_POSTS ?? 10_000);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const LONE = Number(process.env.BENCH_LONE ?? 30);
const LEAD_MS = 4_000;
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const logger = createLogger({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- infrastructure -------------------------------------------------------------------------
const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-publish-'));
const redisUrl = `redis://127.0.0.1:${await getPort({ host: '127.0.0.1' })}`;
const redis = await ensureRedis({ url: redisUrl, autostart: true, dataDir: dir, startTimeoutMs: 10_000, logger });
const chroma = await startChroma({ url: undefined, dataDir: dir, startTimeoutMs: 20_000, logger });
const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: 8 });
const fake = await startMastodonFake({ rateLimit: { limit: 1_000_000, windowMs: 300_000 } });
const xFake = await startXFake({ rateLimit: { limit: 1_000_000, windowMs: 900_000 } });
const liFake = await startLinkedInFake({ dailyLimit: 1_000_000 });
const igFake = await startInstagramFake();
const fbFake = await startFacebookFake();
const thFake = await startThreadsFake();
// The worker's encryption key: the public media route checks the URLs the worker signs with it.
const key = randomBytes(32);
const mediaDir = path.join(dir, 'media');
const publicMedia = await startPublicMedia(mediaDir, key, 'b1');
/**
 * Share of the accounts on X, LinkedIn, Instagram, Facebook and Threads (BENCH_X_SHARE,
 * BENCH_LINKEDIN_SHARE, BENCH_INSTAGRAM_SHARE, BENCH_FACEBOOK_SHARE, BENCH_THREADS_SHARE); the
 * rest are on Mastodon.
 */
const X_SHARE = Number(process.env.BENCH_X_SHARE ?? 0.2);
const LINKEDIN_SHARE = Number(process.env.BENCH_LINKEDIN_SHARE ?? 0.2);
const INSTAGRAM_SHARE = Number(process.env.BENCH_INSTAGRAM_SHARE ?? 0.1);
const FACEBOOK_SHARE = Number(process.env.BENCH_FACEBOOK_SHARE ?? 0.1);
const THREADS_SHARE = Number(process.env.BENCH_THREADS_SHARE ?? 0.1);
const children: ChildProcess[] = [];

function spawnChild(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}
async function stopChild(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  child.kill('SIGKILL');
}

try {
  // --- (a) baseline: raw BullMQ ------------------------------------------------------------
  const bull = createRedisConnection(redisUrl, { purpose: 'worker' });
  const noop = new Queue('bench-noop', { connection: bull, prefix: 'bench' });
  const worker0 = spawnChild('bench/fixtures/noop-worker.ts', {
    REDIS_URL: redisUrl,
    QUEUE_NAME: 'bench-noop',
    QUEUE_PREFIX: 'bench',
    PUBLISH_CONCURRENCY: String(CONCURRENCY),
  });
  const t0a = Date.now() + LEAD_MS;
  for (let i = 0; i < N; i += 1_000) {
    await noop.addBulk(
      Array.from({ length: Math.min(1_000, N - i) }, (_, j) => ({
        name: 'noop',
        data: { i: i + j },
        opts: { delay: t0a - Date.now(), removeOnComplete: false },
      })),
    );
  }
  while ((await noop.getJobCounts('completed')).completed! < N) await sleep(100);
  const finishedA = (await noop.getJobs(['completed'], 0, N)).map((j) => j.finishedOn!);
  const lastA = Math.max(...finishedA);
  const baselineJobsPerS = N / ((lastA - t0a) / 1000);
  await stopChild(worker0);
  await noop.close();

  // --- (b) Herald burst ---------------------------------------------------------------------
  const cipher = new SecretCipher(new Map([['b1', key]]), 'b1');
  const ws = await createWorkspace(database.db, { name: 'Bench', slug: `bench-${dbName}`, timeZone: 'UTC' });
  const user = await createUser(database.db, { email: `bench@${dbName}.test` });
  const ctx = { workspaceId: ws.id, userId: user.id, role: 'owner' as const, timeZone: 'UTC', channel: 'bench' };
  // The image every Instagram post carries (Instagram takes no post without media), in the
  // store the worker reads (DATA_DIR/media).
  const { media: image } = await uploadMedia(
    { db: database.db, store: new LocalMediaStore(mediaDir), maxBytes: 1 << 20 },
    ctx,
    {
      data: await sharp({ create: { width: 40, height: 40, channels: 3, background: '#336699' } })
        .jpeg()
        .toBuffer(),
    },
  );
  const mediaOf = (platform: string) => (platform === 'instagram' ? [{ mediaId: image.id }] : []);
  const accounts: string[] = [];
  const platformOf: string[] = [];
  /** Posts each account holds on its platform. */
  const heldBy: Array<() => number> = [];
  const xCount = Math.round(ACCOUNTS * X_SHARE);
  const liCount = Math.round(ACCOUNTS * LINKEDIN_SHARE);
  const igCount = Math.round(ACCOUNTS * INSTAGRAM_SHARE);
  const fbCount = Math.round(ACCOUNTS * FACEBOOK_SHARE);
  const thCount = Math.round(ACCOUNTS * THREADS_SHARE);
  const metaFrom = xCount + liCount;
  const fbPages = fbFake.createUser(Array.from({ length: fbCount }, (_, j) => `Bench Page ${j}`)).pages;
  const metaToken = (accessToken: string) => ({
    accessToken,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60 * 86_400_000).toISOString(),
  });
  for (let i = 0; i < ACCOUNTS; i++) {
    let input: Parameters<typeof upsertSocialAccount>[3];
    if (i >= metaFrom && i < metaFrom + igCount) {
      // Quotas far above the run's posts per account: Meta's own is read before each post.
      const a = igFake.createAccount({ quota: 1_000_000 });
      input = {
        platform: 'instagram',
        externalId: a.userId,
        handle: a.username,
        credentials: metaToken(a.accessToken),
        metadata: { login: 'instagram', publishingQuota: 1_000_000 },
      };
      heldBy.push(() => igFake.posts(a.userId).length);
    } else if (i >= metaFrom + igCount && i < metaFrom + igCount + fbCount) {
      const page = fbPages[i - metaFrom - igCount]!;
      input = {
        platform: 'facebook',
        externalId: page.id,
        handle: page.name,
        credentials: { accessToken: page.accessToken },
      };
      heldBy.push(() => fbFake.posts(page.id).length);
    } else if (i >= metaFrom + igCount + fbCount && i < metaFrom + igCount + fbCount + thCount) {
      const a = thFake.createAccount({ quota: 1_000_000 });
      input = {
        platform: 'threads',
        externalId: a.userId,
        handle: a.username,
        credentials: metaToken(a.accessToken),
        metadata: { publishingQuota: 1_000_000 },
      };
      heldBy.push(() => thFake.posts(a.userId).length);
    } else if (i < xCount) {
      const a = xFake.createAccount();
      input = {
        platform: 'x',
        externalId: a.userId,
        handle: a.username,
        credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken },
      };
      heldBy.push(() => xFake.posts(a.userId).length);
    } else if (i < xCount + liCount) {
      const a = liFake.createAccount();
      input = {
        platform: 'linkedin',
        externalId: a.memberId,
        handle: a.name,
        credentials: { accessToken: a.accessToken, ...(a.refreshToken ? { refreshToken: a.refreshToken } : {}) },
      };
      heldBy.push(() => liFake.posts(`urn:li:person:${a.memberId}`).length);
    } else {
      const a = fake.createAccount();
      input = {
        platform: 'mastodon',
        externalId: a.accountId,
        handle: a.username,
        credentials: {
          accessToken: a.accessToken,
          refreshToken: a.refreshToken,
          clientId: a.clientId,
          clientSecret: a.clientSecret,
        },
        metadata: { instanceUrl: fake.url },
      };
      heldBy.push(() => fake.statuses(a.accountId).length);
    }
    accounts.push((await upsertSocialAccount(database.db, cipher, ws.id, input)).id);
    platformOf.push(input.platform);
  }
  const prefix = 'hbench';
  const queue = new PublishQueue({ connection: bull, prefix });
  const workerEnv = {
    HERALD_ROLE: 'worker',
    // The fakes listen on loopback, which user-given addresses (a Mastodon instance) may then reach.
    OUTBOUND_ALLOW: 'loopback',
    PORT: String(await getPort({ host: '127.0.0.1' })),
    DATA_DIR: dir,
    DATABASE_URL: dbUrl,
    DATABASE_POOL_MAX: '16',
    REDIS_URL: redisUrl,
    CHROMA_URL: chroma.url,
    ENCRYPTION_KEYS: `b1:${key.toString('base64')}`,
    QUEUE_PREFIX: prefix,
    PUBLISH_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'warn',
    X_CLIENT_ID: xFake.clientId,
    X_CLIENT_SECRET: xFake.clientSecret,
    X_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback',
    X_API_URL: xFake.url,
    LINKEDIN_CLIENT_ID: liFake.clientId,
    LINKEDIN_CLIENT_SECRET: liFake.clientSecret,
    LINKEDIN_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback',
    LINKEDIN_API_URL: liFake.url,
    PUBLIC_URL: publicMedia.url,
    INSTAGRAM_APP_ID: igFake.clientId,
    INSTAGRAM_APP_SECRET: igFake.clientSecret,
    INSTAGRAM_API_URL: igFake.url,
    FACEBOOK_APP_ID: fbFake.clientId,
    FACEBOOK_APP_SECRET: fbFake.clientSecret,
    FACEBOOK_API_URL: fbFake.url,
    THREADS_APP_ID: thFake.clientId,
    THREADS_APP_SECRET: thFake.clientSecret,
    THREADS_API_URL: thFake.url,
  };
  // BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of the Herald worker there.
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const worker1 = spawnChild('server/main.ts', workerEnv, profile);
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${workerEnv.PORT}/health`)).ok) break;
    } catch {
      await sleep(100);
    }
  }
  const seedStart = Date.now();
  // Seeded far in the future, then all moved to one instant just before enqueuing.
  const t0b = new Date(Date.now() + 3_600_000);
  const perPost = ACCOUNTS;
  const targets: Array<{ workspaceId: string; id: string; scheduledAt: Date | null }> = [];
  for (let p = 0; p < N / perPost; p++) {
    const { targets: rows } = await createPost(database.db, ws.id, {
      authorId: user.id,
      content: `burst ${p}`,
      targets: accounts.map((accountId, i) => ({
        socialAccountId: accountId,
        platform: platformOf[i]!,
        content: `burst post ${p} on ${i}`,
        media: mediaOf(platformOf[i]!),
        status: 'scheduled' as const,
        scheduledAt: t0b,
      })),
    });
    targets.push(...rows);
  }
  // Due at one instant a few seconds after seeding, so every job is waiting in Redis.
  const due = new Date(Date.now() + LEAD_MS);
  await database.db.execute(sql`update post_targets set scheduled_at = ${due} where workspace_id = ${ws.id}`);
  await queue.enqueueMany(targets.map((t) => ({ ...t, scheduledAt: due })));
  const seedMs = Date.now() - seedStart;

  const count = async (status: string) =>
    (
      (await database.db.execute(
        sql`select count(*)::int as n from post_targets where workspace_id = ${ws.id} and status = ${status}`,
      )) as unknown as { rows: Array<{ n: number }> }
    ).rows[0]!.n;
  const burstDeadline = Date.now() + LEAD_MS + 300_000;
  while ((await count('published')) < N && Date.now() < burstDeadline) await sleep(250);
  const lateness = (
    (await database.db.execute(
      sql`select extract(epoch from (published_at - scheduled_at)) * 1000 as ms from post_targets where workspace_id = ${ws.id} and status = 'published'`,
    )) as unknown as { rows: Array<{ ms: string }> }
  ).rows
    .map((r) => Number(r.ms))
    .sort((a, b) => a - b);
  const published = lateness.length;
  if (published < N) {
    // What kept the rest back, by platform and status (the first error of each).
    const left = (await database.db.execute(
      sql`select platform, status, count(*)::int as n, min(last_error->>'message') as error from post_targets where workspace_id = ${ws.id} and status <> 'published' group by platform, status`,
    )) as unknown as { rows: Array<{ platform: string; status: string; n: number; error: string | null }> };
    for (const r of left.rows)
      console.error(`not published: ${r.n} ${r.platform} ${r.status}${r.error ? ` (${r.error})` : ''}`);
  }
  const heraldPostsPerS = published / (lateness[lateness.length - 1]! / 1000);
  const onPlatforms = heldBy.reduce((sum, held) => sum + held(), 0);

  // --- (c) lone posts -----------------------------------------------------------------------
  const connectors = new ConnectorRegistry([
    createMastodonConnector(),
    createXConnector({ clientId: xFake.clientId, clientSecret: xFake.clientSecret, apiUrl: xFake.url }),
    createLinkedInConnector({
      clientId: liFake.clientId,
      clientSecret: liFake.clientSecret,
      apiUrl: liFake.url,
      oauthUrl: liFake.url,
    }),
    createInstagramConnector({ urls: instagramUrlsAt(igFake.url), mediaUrls: publicMedia.mediaUrls }),
    createFacebookConnector({ apiUrl: `${fbFake.url}/${FACEBOOK_GRAPH_VERSION}`, mediaUrls: publicMedia.mediaUrls }),
    createThreadsConnector({ urls: threadsUrlsAt(thFake.url), mediaUrls: publicMedia.mediaUrls }),
  ]);
  const deps = { db: database.db, connectors, queue, events: null };
  const lone: number[] = [];
  for (let i = 0; i < LONE; i++) {
    const {
      targets: [t],
    } = await schedulePost(deps, ctx, {
      content: `lone ${i}`,
      targets: [{ socialAccountId: accounts[i % accounts.length]!, media: mediaOf(platformOf[i % accounts.length]!) }],
      at: new Date(Date.now() + 1_000),
    });
    for (;;) {
      const r = (
        (await database.db.execute(
          sql`select status, extract(epoch from (published_at - scheduled_at)) * 1000 as ms from post_targets where id = ${t!.id}`,
        )) as unknown as {
          rows: Array<{ status: string; ms: string | null }>;
        }
      ).rows[0]!;
      if (r.status === 'published') {
        lone.push(Number(r.ms));
        break;
      }
      await sleep(20);
    }
  }
  lone.sort((a, b) => a - b);
  await stopChild(worker1);
  await queue.close();
  await bull.quit();

  const ratio = heraldPostsPerS / baselineJobsPerS;
  printTable(
    `bench:publish — ${N} due at one instant, ${ACCOUNTS} accounts (${ACCOUNTS - metaFrom - igCount - fbCount - thCount} Mastodon, ${xCount} X, ${liCount} LinkedIn, ${igCount} Instagram, ${fbCount} Facebook, ${thCount} Threads fakes), worker concurrency ${CONCURRENCY}, ${os.cpus().length} cores`,
    [
      {
        run: '(a) raw BullMQ no-op jobs',
        'per s': round(baselineJobsPerS),
        done: N,
        'p50 ms': '',
        'p99 ms': '',
        'max ms': round(lastA - t0a),
      },
      {
        run: '(b) Herald burst publish',
        'per s': round(heraldPostsPerS),
        done: published,
        'p50 ms': round(percentile(lateness, 50)),
        'p99 ms': round(percentile(lateness, 99)),
        'max ms': round(lateness[lateness.length - 1]!),
      },
      {
        run: `(c) Herald lone post ×${LONE}`,
        'per s': '',
        done: lone.length,
        'p50 ms': round(percentile(lone, 50)),
        'p99 ms': round(percentile(lone, 99)),
        'max ms': round(lone[lone.length - 1]!),
      },
    ],
  );
  console.log(`ratio (b)/(a) = ${round(ratio, 3)}; seeding ${N} targets took ${seedMs} ms (not measured)`);
  console.log(`the fakes hold ${onPlatforms} burst posts for ${published} published targets`);
  printResult({
    bench: 'publish',
    posts_per_s: round(heraldPostsPerS),
    baseline_jobs_per_s: round(baselineJobsPerS),
    ratio: round(ratio, 3),
    burst_p50_ms: round(percentile(lateness, 50)),
    burst_p99_ms: round(percentile(lateness, 99)),
    burst_max_ms: round(lateness[lateness.length - 1]!),
    lone_p50_ms: round(percentile(lone, 50)),
    lone_p99_ms: round(percentile(lone, 99)),
    published,
    on_platforms: onPlatforms,
    posts: N,
  });
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await fake.close();
  await xFake.close();
  await liFake.close();
  await igFake.close();
  await fbFake.close();
  await thFake.close();
  await publicMedia.close();
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  await chroma.stop();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}
