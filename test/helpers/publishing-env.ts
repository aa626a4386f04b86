/**
 * A real publishing stack for tests: a database (in-memory PGlite unless given one), the
 * Redis at 127.0.0.1:6379 under a queue prefix of its own, the publish queue, an in-process
 * publish worker, the event bus and a local media store — wired exactly as the runtime does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import {
  addMember,
  createLogger,
  createRedisConnection,
  createUser,
  createWorkspace,
  EventBus,
  LocalMediaStore,
  openDatabase,
  SecretCipher,
  upsertSocialAccount,
  type Database,
  type HeraldEvent,
  type UpsertSocialAccount,
} from '../../core/index.js';
import { ConnectorRegistry, type Connector } from '../../connectors/index.js';
import { AccountGate, PublishQueue, startPublishWorker, type PublishWorkerDeps } from '../../tools/publishing/index.js';
import type { SchedulingDeps, ServiceContext } from '../../tools/scheduling/index.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface PublishingEnv {
  database: Database;
  cipher: SecretCipher;
  deps: SchedulingDeps;
  workerDeps: PublishWorkerDeps;
  queue: PublishQueue;
  events: EventBus;
  mediaStore: LocalMediaStore;
  prefix: string;
  /** Starts the in-process publish worker (tests that only schedule leave it off). */
  startWorker(opts?: { concurrency?: number }): Worker;
  newWorkspace(timeZone?: string): Promise<{ workspaceId: string; userId: string; ctx: ServiceContext }>;
  addAccount(workspaceId: string, account: UpsertSocialAccount): Promise<string>;
  /** Every event published from now on. */
  recordEvents(): Promise<HeraldEvent[]>;
  close(): Promise<void>;
}

export interface PublishingEnvOptions {
  connectors: Connector[];
  /** Defaults to a new in-memory PGlite (closed with the env). */
  database?: Database;
  maxAttempts?: number;
  backoffMs?: number;
  /** Defaults to REDIS_URL. */
  redisUrl?: string;
  /** Defaults to a random key, id `t1`. */
  encryptionKey?: Buffer;
}

export async function startPublishingEnv(opts: PublishingEnvOptions): Promise<PublishingEnv> {
  const database = opts.database ?? (await openDatabase({ kind: 'pglite' }));
  const cipher = new SecretCipher(new Map([['t1', opts.encryptionKey ?? randomBytes(32)]]), 't1');
  const prefix = `htest-${randomUUID().slice(0, 8)}`;
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const redis = createRedisConnection(redisUrl);
  const bull = createRedisConnection(redisUrl, { purpose: 'worker' });
  const events = new EventBus(redis, () => createRedisConnection(redisUrl, { purpose: 'worker' }));
  const queue = new PublishQueue({
    connection: bull,
    prefix,
    maxAttempts: opts.maxAttempts ?? 4,
    backoffMs: opts.backoffMs ?? 200,
  });
  const mediaDir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-'));
  const mediaStore = new LocalMediaStore(mediaDir);
  const connectors = new ConnectorRegistry(opts.connectors);
  const logger = createLogger({ level: 'silent' });
  const deps: SchedulingDeps = { db: database.db, connectors, queue, events };
  const workerDeps: PublishWorkerDeps = {
    db: database.db,
    cipher,
    connectors,
    mediaStore,
    events,
    logger,
    gate: new AccountGate(redis, 5_000, prefix),
  };
  const workers: Worker[] = [];
  const unsubscribers: Array<() => Promise<void>> = [];

  return {
    database,
    cipher,
    deps,
    workerDeps,
    queue,
    events,
    mediaStore,
    prefix,
    startWorker(o = {}) {
      const w = startPublishWorker(workerDeps, {
        connection: bull,
        prefix,
        concurrency: o.concurrency ?? 8,
        lockDurationMs: 5_000,
        stalledIntervalMs: 2_000,
      });
      workers.push(w);
      return w;
    },
    async newWorkspace(timeZone = 'Europe/Paris') {
      const ws = await createWorkspace(database.db, { name: 'Test', slug: `t-${randomUUID().slice(0, 12)}`, timeZone });
      const user = await createUser(database.db, { email: `${randomUUID()}@example.com`, timeZone });
      await addMember(database.db, ws.id, user.id, 'owner');
      return {
        workspaceId: ws.id,
        userId: user.id,
        ctx: { workspaceId: ws.id, userId: user.id, role: 'owner' as const, timeZone, channel: 'rest' },
      };
    },
    async addAccount(workspaceId, account) {
      return (await upsertSocialAccount(database.db, cipher, workspaceId, account)).id;
    },
    async recordEvents() {
      const seen: HeraldEvent[] = [];
      unsubscribers.push(await events.subscribe('*', (e) => seen.push(e)));
      return seen;
    },
    async close() {
      for (const w of workers) await w.close();
      for (const u of unsubscribers) await u();
      await queue.queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await events.close();
      await bull.quit();
      await redis.quit();
      if (!opts.database) await database.close();
      await rm(mediaDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `fn` returns a value that is not undefined/false. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
