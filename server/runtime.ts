/**
 * Boots the things every Herald process needs, in order — config is already loaded; then
 * the key ring, the database (migrated), Redis, Chroma — and closes them in reverse. A step
 * that fails closes what was already started, so a failed boot leaves no child behind.
 */
import path from 'node:path';
import type { Redis } from 'ioredis';
import {
  createRedisConnection,
  ensureRedis,
  EventBus,
  LocalMediaStore,
  type MediaStore,
  loadOrCreateKeyFile,
  openDatabase,
  SecretCipher,
  type Config,
  type Database,
  type Logger,
  type RedisHandle,
} from '../core/index.js';
import { startChroma, type ChromaHandle } from '../knowledge/index.js';
import { AccountGate, PublishQueue, startMaintenance, startPublishWorker } from '../tools/publishing/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { createConnectors } from './connectors.js';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly cipher: SecretCipher;
  readonly database: Database;
  readonly redisHandle: RedisHandle;
  /** General-purpose client connection (commands fail fast when Redis is down). */
  readonly redis: Redis;
  readonly chroma: ChromaHandle;
  /** What the scheduling service functions need; every channel passes this to them. */
  readonly scheduling: SchedulingDeps;
  readonly mediaStore: MediaStore;
  readonly events: EventBus;
  close(): Promise<void>;
}

type Closer = { name: string; close: () => Promise<unknown> };

/**
 * The publish queue and event bus for every role, and — for `all` and `worker` — the publish
 * worker and the maintenance jobs (reconciler, recurring posts).
 */
async function startPublishing(
  config: Config,
  logger: Logger,
  database: Database,
  cipher: SecretCipher,
  redisUrl: string,
  redis: Redis,
  closers: Closer[],
): Promise<Pick<Runtime, 'scheduling' | 'mediaStore' | 'events'>> {
  const bull = createRedisConnection(redisUrl, { purpose: 'worker', connectionName: 'herald-bullmq' });
  closers.push({ name: 'bullmq-connection', close: () => bull.quit().catch(() => bull.disconnect()) });
  const events = new EventBus(redis, () =>
    createRedisConnection(redisUrl, { purpose: 'worker', connectionName: 'herald-events' }),
  );
  closers.push({ name: 'events', close: () => events.close() });
  const queue = new PublishQueue({
    connection: bull,
    prefix: config.queuePrefix,
    maxAttempts: config.publish.maxAttempts,
    backoffMs: config.publish.backoffMs,
  });
  closers.push({ name: 'publish-queue', close: () => queue.close() });
  const mediaStore = new LocalMediaStore(path.join(config.dataDir, 'media'));
  const connectors = createConnectors({ timeoutMs: config.publish.connectorTimeoutMs });
  const scheduling: SchedulingDeps = { db: database.db, connectors, queue, events };

  if (config.role !== 'api') {
    const worker = startPublishWorker(
      {
        db: database.db,
        cipher,
        connectors,
        mediaStore,
        events,
        logger,
        gate: new AccountGate(redis, config.publish.accountLeaseMs, config.queuePrefix),
      },
      {
        connection: bull,
        prefix: config.queuePrefix,
        concurrency: config.publish.concurrency,
        lockDurationMs: config.publish.jobLockMs,
        stalledIntervalMs: config.publish.stalledIntervalMs,
      },
    );
    // Closed first (closers run in reverse): in-flight publishes finish before connections go.
    const maintenance = await startMaintenance(
      { ...scheduling, logger },
      { connection: bull, prefix: config.queuePrefix, reconcileEveryMs: config.publish.reconcileIntervalMs },
    );
    closers.push({ name: 'maintenance', close: () => maintenance.close() });
    closers.push({ name: 'publish-worker', close: () => worker.close() });
  }
  return { scheduling, mediaStore, events };
}

export async function startRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const closers: Closer[] = [];
  const close = async () => {
    for (const { name, close: fn } of closers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error({ err, component: name }, 'error while closing');
      }
    }
  };
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    logger.info({ step: name, ms: Math.round(performance.now() - started) }, 'boot step done');
    return value;
  };

  try {
    const cipher = await step('keys', async () => {
      if (config.encryption) return new SecretCipher(config.encryption.keys, config.encryption.activeKeyId);
      const { cipher, file, created } = await loadOrCreateKeyFile(config.dataDir);
      if (created) logger.warn({ file }, 'generated an encryption key for stored tokens; back this file up');
      return cipher;
    });

    // The three services are independent: start them side by side. allSettled, not all: a
    // fast failure must wait for the others so their closers are registered before closing.
    const settled = await Promise.allSettled([
      step('database', async () => {
        const db = await openDatabase(
          config.databaseUrl
            ? { kind: 'postgres', url: config.databaseUrl, poolMax: config.databasePoolMax }
            : { kind: 'pglite', dir: path.join(config.dataDir, 'pg') },
        );
        closers.push({ name: 'database', close: () => db.close() });
        return db;
      }),
      step('redis', async () => {
        const handle = await ensureRedis({
          url: config.redisUrl,
          autostart: config.redisAutostart,
          dataDir: config.dataDir,
          startTimeoutMs: config.childStartTimeoutMs,
          logger,
        });
        closers.push({ name: 'redis-server', close: () => handle.stop() });
        return handle;
      }),
      step('chroma', async () => {
        const handle = await startChroma({
          url: config.chromaUrl,
          dataDir: config.dataDir,
          startTimeoutMs: config.childStartTimeoutMs,
          logger,
        });
        closers.push({ name: 'chroma', close: () => handle.stop() });
        return handle;
      }),
    ] as const);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [database, redisHandle, chroma] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      Database,
      RedisHandle,
      ChromaHandle,
    ];
    const redis = createRedisConnection(redisHandle.url, { connectionName: 'herald-client', autoPipelining: true });
    closers.push({ name: 'redis-client', close: () => redis.quit().catch(() => redis.disconnect()) });

    const publishing = await step('publishing', () =>
      startPublishing(config, logger, database, cipher, redisHandle.url, redis, closers),
    );
    return { config, logger, cipher, database, redisHandle, redis, chroma, ...publishing, close };
  } catch (err) {
    await close();
    throw err;
  }
}
