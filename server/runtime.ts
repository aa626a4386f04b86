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
  loadOrCreateKeyFile,
  openDatabase,
  SecretCipher,
  type Config,
  type Database,
  type Logger,
  type RedisHandle,
} from '../core/index.js';
import { startChroma, type ChromaHandle } from '../knowledge/index.js';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly cipher: SecretCipher;
  readonly database: Database;
  readonly redisHandle: RedisHandle;
  /** General-purpose client connection (commands fail fast when Redis is down). */
  readonly redis: Redis;
  readonly chroma: ChromaHandle;
  close(): Promise<void>;
}

export async function startRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const closers: Array<{ name: string; close: () => Promise<unknown> }> = [];
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
    const redis = createRedisConnection(redisHandle.url, { connectionName: 'herald-client' });
    closers.push({ name: 'redis-client', close: () => redis.quit().catch(() => redis.disconnect()) });

    return { config, logger, cipher, database, redisHandle, redis, chroma, close };
  } catch (err) {
    await close();
    throw err;
  }
}
