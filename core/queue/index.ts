/** Queue infrastructure: Redis connections for BullMQ and the embedded-Redis fallback. */
export { createRedisConnection, pingRedis, type RedisConnectionOptions } from './redis-connection.js';
export { ensureRedis, type EnsureRedisOptions, type RedisHandle } from './local-redis.js';
