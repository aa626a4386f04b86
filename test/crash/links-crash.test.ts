/**
 * The click crash test: a burst of real HTTP clicks on `/l/:code` at a Herald API process
 * (clicks through its journal, with its click drainer running) that is SIGKILLed in the middle
 * of the burst. Afterwards the journal is opened in this process as a restarted Herald opens
 * it (shipping what the dead one had not yet sent to Redis), and a drainer here (claiming what
 * the dead one had read and not acknowledged) must leave every click that was answered with a
 * 302 in `link_clicks`, none twice, and nothing behind in the journal or the Redis stream.
 *
 * Needs PostgreSQL (two processes share it): runs when TEST_DATABASE_URL is set.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { count, eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createRedisConnection, createUser, createWorkspace, schema } from '../../core/index.js';
import { ClickDrainer, ClickJournal, clickStreamKey, createTrackedLink, DRAIN_GROUP } from '../../tools/links/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { REPO_ROOT } from '../helpers/herald-process.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

const CLICKS = 3_000;
const KILL_AFTER = 1_200;
const CONCURRENCY = 48;
const BROWSERS = Array.from(
  { length: 40 },
  (_, i) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.${i} Safari/537.36`,
);

describe.runIf(!!TEST_DATABASE_URL)('click crash test: a SIGKILL during a click burst loses no click', () => {
  let scratch: Awaited<ReturnType<typeof openPostgresForTest>>;
  let redis: Redis;
  let prefix = '';

  beforeAll(async () => {
    scratch = await openPostgresForTest(TEST_DATABASE_URL!);
    redis = createRedisConnection(REDIS_URL);
  }, 60_000);
  afterAll(async () => {
    if (redis) {
      if (prefix) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length) await redis.del(...keys);
      }
      await redis.quit();
    }
    await scratch?.dispose();
  });

  it('every answered click is stored once after the API process is killed mid-burst', async () => {
    const db = scratch.database.db;
    const ws = await createWorkspace(db, { name: 'Crash', slug: `crash-${Date.now()}`, timeZone: 'UTC' });
    const user = await createUser(db, { email: `crash-${Date.now()}@example.com`, timeZone: 'UTC' });
    const ctx = { workspaceId: ws.id, userId: user.id, role: 'owner' as const, timeZone: 'UTC', channel: 'test' };
    const link = await createTrackedLink({ db, baseUrl: 'https://go.example.test' }, ctx, {
      destinationUrl: 'https://shop.example/kettle',
      utm: { source: 'crash' },
    });

    const journalDir = await mkdtemp(path.join(os.tmpdir(), 'herald-click-journal-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/crash/link-server.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        LINK_CRASH_DATABASE_URL: scratch.url,
        LINK_CRASH_JOURNAL_DIR: journalDir,
        TEST_REDIS_URL: REDIS_URL,
        TEST_LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout! });
    const ready = await Promise.race([
      (async () => {
        for await (const line of lines)
          if (line.startsWith('{')) return JSON.parse(line) as { url: string; prefix: string };
        throw new Error(`link server exited before listening: ${stderr}`);
      })(),
      exited.then(() => {
        throw new Error(`link server exited: ${stderr}`);
      }),
    ]);
    prefix = ready.prefix;

    let sent = 0;
    let redirected = 0;
    let failed = 0;
    let killed = false;
    const clicker = async () => {
      while (sent < CLICKS) {
        const i = sent++;
        try {
          const res = await fetch(`${ready.url}/l/${link.code}`, {
            redirect: 'manual',
            headers: { 'user-agent': BROWSERS[i % BROWSERS.length]! },
          });
          await res.arrayBuffer();
          if (res.status === 302) redirected++;
          else failed++;
        } catch {
          failed++; // the process is gone: the click was never answered
        }
        if (!killed && redirected >= KILL_AFTER) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, clicker));
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    expect(redirected).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(failed).toBeGreaterThan(0); // the kill landed during the burst

    const stream = clickStreamKey(prefix);
    const pendingAtKill = ((await redis.xpending(stream, DRAIN_GROUP)) as [number])[0];
    const inStreamAtKill = await redis.xlen(stream);
    // Herald starts again on the same journal directory: the dead process's file is shipped.
    const [leftFile] = await readdir(journalDir);
    expect(leftFile).toMatch(/\.clicks$/);
    const restarted = await new ClickJournal({
      dir: journalDir,
      redis,
      keyPrefix: prefix,
      logger: createLogger({ level: 'silent' }),
      scanIntervalMs: 0,
    }).open();
    await restarted.recoverOrphans();
    await restarted.close();
    expect(await readdir(journalDir)).toEqual([]);
    await rm(journalDir, { recursive: true, force: true });
    const drainRedis = createRedisConnection(REDIS_URL);
    const drainer = new ClickDrainer({
      db,
      redis: drainRedis,
      keyPrefix: prefix,
      logger: createLogger({ level: 'silent' }),
      claimIdleMs: 300,
    });
    try {
      const deadline = Date.now() + 30_000;
      while ((await drainer.backlog()) > 0 && Date.now() < deadline) {
        await drainer.drainOnce();
        if ((await drainer.backlog()) > 0) await new Promise((r) => setTimeout(r, 350));
      }
    } finally {
      await drainRedis.quit();
    }
    expect(await redis.xlen(stream)).toBe(0);
    expect(((await redis.xpending(stream, DRAIN_GROUP)) as [number])[0]).toBe(0);

    const [{ n }] = (await db
      .select({ n: count() })
      .from(schema.linkClicks)
      .where(eq(schema.linkClicks.linkId, link.id))) as [{ n: number }];
    // Every 302 was sent after its click was in Redis; a click in flight at the kill may be
    // stored without its answer having arrived, never the other way round.
    expect(Number(n)).toBeGreaterThanOrEqual(redirected);
    expect(Number(n)).toBeLessThanOrEqual(sent);
    console.info(
      `links crash: sent ${sent}, redirected ${redirected}, stored ${n}, in the stream at kill ${inStreamAtKill} (${pendingAtKill} read, not acknowledged)`,
    );
  }, 180_000);
});
