/**
 * The video crash test: one video scheduled for TikTok, YouTube (a scheduled release) and
 * Pinterest, published by Herald worker processes (`server/main.ts`, HERALD_ROLE=worker) that
 * are SIGKILLed while the uploads are under way — the fakes answer each chunk slowly so the
 * kills land mid-upload — and restarted. Afterwards each platform holds exactly one video,
 * uploaded through one session / publish id / media id (resumed from the journal, not
 * started again), and every target is published.
 *
 * Needs PostgreSQL (the workers and the test share it): runs when TEST_DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, ensureRedis, LocalMediaStore, type RedisHandle } from '../../core/index.js';
import { startChroma, type ChromaHandle } from '../../knowledge/index.js';
import { createTikTokConnector } from '../../connectors/tiktok/index.js';
import { startTikTokFake, type TikTokFake } from '../../connectors/tiktok/fake.js';
import { createYouTubeConnector } from '../../connectors/youtube/index.js';
import { startYouTubeFake, type YouTubeFake } from '../../connectors/youtube/fake.js';
import { createPinterestConnector } from '../../connectors/pinterest/index.js';
import { startPinterestFake, type PinterestFake } from '../../connectors/pinterest/fake.js';
import { uploadMedia } from '../../tools/media/index.js';
import { schedulePost } from '../../tools/scheduling/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { freePort } from '../helpers/processes.js';
import { writeLargeMp4 } from '../helpers/media-fixtures.js';
import { workerFleet } from './worker-chaos.js';

const MB = 1024 * 1024;
const logger = createLogger({ level: 'silent' });
const REDIRECT = 'https://herald.test/v1/social-accounts/callback';

describe.runIf(!!TEST_DATABASE_URL)('crash test: videos uploaded once through SIGKILLs mid-upload', () => {
  let scratch: Awaited<ReturnType<typeof openPostgresForTest>>;
  let dir: string;
  let redis: RedisHandle;
  let redisUrl: string;
  let chroma: ChromaHandle;
  let tiktok: TikTokFake;
  let youtube: YouTubeFake;
  let pinterest: PinterestFake;
  let env: PublishingEnv;
  const key = randomBytes(32);

  beforeAll(async () => {
    scratch = await openPostgresForTest(TEST_DATABASE_URL!);
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-video-crash-'));
    redisUrl = `redis://127.0.0.1:${await freePort()}`;
    redis = await ensureRedis({ url: redisUrl, autostart: true, dataDir: dir, startTimeoutMs: 10_000, logger });
    chroma = await startChroma({ url: undefined, dataDir: dir, startTimeoutMs: 20_000, logger });
    // Slow chunks: each answer waits, so a kill lands while bytes are still going up.
    tiktok = await startTikTokFake({ redirectUris: [REDIRECT], chunkDelayMs: 700 });
    youtube = await startYouTubeFake({ redirectUris: [REDIRECT], chunkDelayMs: 400 });
    pinterest = await startPinterestFake({ redirectUris: [REDIRECT], videoProcessingMs: 2_500 });
  }, 120_000);

  afterAll(async () => {
    await env?.close();
    await tiktok?.close();
    await youtube?.close();
    await pinterest?.close();
    await chroma?.stop();
    await redis?.stop();
    await scratch?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('each platform ends with one video, its upload resumed rather than restarted', async () => {
    env = await startPublishingEnv({
      connectors: [
        createTikTokConnector({ clientKey: tiktok.clientKey, clientSecret: tiktok.clientSecret, apiUrl: tiktok.url }),
        createYouTubeConnector({ clientId: youtube.clientId, clientSecret: youtube.clientSecret, apiUrl: youtube.url }),
        createPinterestConnector({
          clientId: pinterest.clientId,
          clientSecret: pinterest.clientSecret,
          apiUrl: pinterest.url,
        }),
      ],
      database: scratch.database,
      redisUrl,
      encryptionKey: key,
      maxAttempts: 20,
    });
    const { ctx, workspaceId } = await env.newWorkspace('UTC');
    const tt = tiktok.createAccount({ private: true });
    const yt = youtube.createChannel('Crash Channel');
    const pin = pinterest.createAccount({ boards: ['Videos'] });
    const ids = {
      tiktok: await env.addAccount(workspaceId, {
        platform: 'tiktok',
        externalId: tt.openId,
        handle: tt.username,
        credentials: { accessToken: tt.accessToken, refreshToken: tt.refreshToken, openId: tt.openId },
      }),
      youtube: await env.addAccount(workspaceId, {
        platform: 'youtube',
        externalId: yt.channelId,
        handle: 'crashchannel',
        credentials: { accessToken: yt.accessToken, refreshToken: yt.refreshToken },
      }),
      pinterest: await env.addAccount(workspaceId, {
        platform: 'pinterest',
        externalId: pin.userId,
        handle: pin.username,
        credentials: { accessToken: pin.accessToken, refreshToken: pin.refreshToken },
        metadata: { boards: pin.boards, defaultBoardId: pin.boards[0]!.id },
      }),
    };

    // A 26 MB video in the store the workers read (DATA_DIR/media): TikTok takes it in
    // chunks of 10 MB (the last 16 MB), YouTube in 8 MiB chunks, Pinterest in one stream.
    const file = path.join(dir, 'launch.mp4');
    await writeLargeMp4(file, 26 * MB + 4321, { width: 1080, height: 1920, durationMs: 30_000 });
    const { createReadStream } = await import('node:fs');
    const { media } = await uploadMedia(
      { db: env.deps.db, store: new LocalMediaStore(path.join(dir, 'media')), maxBytes: 64 * MB },
      ctx,
      { data: createReadStream(file) },
    );
    const release = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    const { targets } = await schedulePost(env.deps, ctx, {
      content: 'Launch video',
      targets: [
        { socialAccountId: ids.tiktok, media: [{ mediaId: media.id }], options: { privacyLevel: 'SELF_ONLY' } },
        {
          socialAccountId: ids.youtube,
          media: [{ mediaId: media.id }],
          options: { title: 'Launch', publishAt: release },
        },
        { socialAccountId: ids.pinterest, media: [{ mediaId: media.id }] },
      ],
      at: new Date(),
    });
    expect(targets).toHaveLength(3);

    const platformEnv = (p: string, id: string, secret: string, url: string) => ({
      [`${p}_${p === 'TIKTOK' ? 'CLIENT_KEY' : 'CLIENT_ID'}`]: id,
      [`${p}_CLIENT_SECRET`]: secret,
      [`${p}_REDIRECT_URI`]: REDIRECT,
      [`${p}_API_URL`]: url,
    });
    const fleet = workerFleet({
      HERALD_ROLE: 'worker',
      DATA_DIR: dir,
      DATABASE_URL: scratch.url,
      DATABASE_POOL_MAX: '4',
      REDIS_URL: redisUrl,
      REDIS_AUTOSTART: 'false',
      CHROMA_URL: chroma.url,
      ENCRYPTION_KEYS: `t1:${key.toString('base64')}`,
      QUEUE_PREFIX: env.prefix,
      PUBLISH_CONCURRENCY: '4',
      PUBLISH_MAX_ATTEMPTS: '20',
      PUBLISH_BACKOFF_MS: '200',
      JOB_LOCK_MS: '2000',
      JOB_STALLED_INTERVAL_MS: '1000',
      ACCOUNT_LEASE_MS: '1500',
      RECONCILE_INTERVAL_MS: '2000',
      CONNECTOR_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'error',
      ...platformEnv('TIKTOK', tiktok.clientKey, tiktok.clientSecret, tiktok.url),
      ...platformEnv('YOUTUBE', youtube.clientId, youtube.clientSecret, youtube.url),
      ...platformEnv('PINTEREST', pinterest.clientId, pinterest.clientSecret, pinterest.url),
    });

    const statuses = async () =>
      (
        (await env.deps.db.execute(
          sql`select status from post_targets where workspace_id = ${workspaceId}`,
        )) as unknown as { rows: Array<{ status: string }> }
      ).rows.map((r) => r.status);
    const mid = {
      tiktok: () => tiktok.inits(tt.openId).some((p) => p.received > 0 && p.received < p.size),
      youtube: () => youtube.sessions(yt.channelId).some((s) => s.received > 0 && !s.done),
      pinterest: () =>
        pinterest.media(pin.userId).some((m) => m.status === 'processing') && pinterest.pins(pin.userId).length === 0,
    };
    const killedDuring = new Set<string>();
    try {
      await fleet.start(1);
      const deadline = Date.now() + 210_000;
      while (Date.now() < deadline) {
        const s = await statuses();
        if (s.every((x) => x === 'published' || x === 'failed' || x === 'unconfirmed')) break;
        const busy = Object.entries(mid).filter(([name, f]) => !killedDuring.has(name) && f());
        if (busy.length > 0 && (await fleet.killOneAndReplace(0))) for (const [name] of busy) killedDuring.add(name);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await fleet.stopAll();
    }
    const final = (
      (await env.deps.db.execute(
        sql`select t.status, t.last_error, a.platform from post_targets t join social_accounts a on a.id = t.social_account_id where t.workspace_id = ${workspaceId}`,
      )) as unknown as { rows: Array<Record<string, unknown>> }
    ).rows;
    console.log(
      `video crash: ${fleet.kills} workers SIGKILLed, mid-upload on ${[...killedDuring].join(', ')}; ${JSON.stringify(final)}`,
    );
    expect(fleet.unexpectedExits).toEqual([]);
    // Every upload was cut by at least one kill.
    expect([...killedDuring].sort()).toEqual(['pinterest', 'tiktok', 'youtube']);
    expect(await statuses()).toEqual(['published', 'published', 'published']);

    // One video each, through one upload handle each (resumed, not started over).
    expect(tiktok.posts(tt.openId)).toHaveLength(1);
    expect(tiktok.inits(tt.openId)).toHaveLength(1);
    expect(tiktok.posts(tt.openId)[0]).toMatchObject({ size: media.sizeBytes, received: media.sizeBytes });
    expect(youtube.videos(yt.channelId)).toHaveLength(1);
    expect(youtube.sessions(yt.channelId)).toHaveLength(1);
    expect(youtube.videos(yt.channelId)[0]).toMatchObject({
      sizeBytes: media.sizeBytes,
      privacyStatus: 'private',
      publishAt: release,
    });
    expect(pinterest.pins(pin.userId)).toHaveLength(1);
    // An upload cut off before it finished is registered again; one that finished is not.
    expect(pinterest.media(pin.userId).filter((m) => m.status === 'succeeded')).toHaveLength(1);
  }, 300_000);
});
