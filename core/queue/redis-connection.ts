/**
 * Redis connections for BullMQ. Workers need `maxRetriesPerRequest: null` (BullMQ blocks on
 * Redis and must not have commands fail during a reconnect); other connections retry a
 * command twice, so a dead Redis surfaces as an error instead of a hang.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  /** `worker` connections retry forever (required by BullMQ workers); `client` ones fail fast. */
  purpose?: 'worker' | 'client';
  connectionName?: string;
  /**
   * Send commands issued in the same tick as one write (ioredis auto-pipelining): many
   * concurrent jobs then cost far fewer syscalls. Not for BullMQ's own connections. Default false.
   */
  autoPipelining?: boolean;
  lazyConnect?: boolean;
}

export function createRedisConnection(url: string, options: RedisConnectionOptions = {}): Redis {
  const purpose = options.purpose ?? 'client';
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName ?? `herald-${purpose}`,
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: purpose === 'worker' ? null : 2,
    connectTimeout: 5_000,
    enableAutoPipelining: options.autoPipelining ?? false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  const redis = new Redis(url, redisOptions);
  // Errors also reach whoever awaits a command; without a listener ioredis logs to stderr.
  redis.on('error', () => undefined);
  return redis;
}

/** One PING on a fresh connection with a deadline; resolves true when Redis answered. */
export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
