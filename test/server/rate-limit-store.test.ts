/**
 * The leased rate-limit store on a real Redis: processes (stores) sharing a key never give the
 * same number twice, so together they never let more than the limit through in a window;
 * busy keys take larger blocks (far fewer Redis calls than requests); small limits are counted
 * request by request; a new window starts over; a Redis failure reaches every waiting request.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection } from '../../core/index.js';
import { LEASE_SHARE, LeasedRedisStore } from '../../server/plugins/rate-limit-store.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

let redis: Redis;
let leases = 0;

beforeAll(() => {
  redis = createRedisConnection(REDIS_URL);
  // The command is defined by the first store; count its calls from here on.
  new LeasedRedisStore({ redis, prefix: 'unused:' });
  const leased = redis as unknown as { heraldRateLease: (...args: unknown[]) => Promise<unknown> };
  const original = leased.heraldRateLease.bind(redis);
  leased.heraldRateLease = (...args: unknown[]) => {
    leases++;
    return original(...args);
  };
});
afterAll(async () => {
  await redis?.quit();
});

const incr = (store: LeasedRedisStore, key: string, windowMs: number, max: number) =>
  new Promise<{ current: number; ttl: number }>((resolve, reject) =>
    store.incr(key, (err, res) => (err ? reject(err) : resolve(res!)), windowMs, max),
  );

describe('leased rate-limit store', () => {
  it('two processes share one budget: no number given twice, never more than the limit, few Redis calls', async () => {
    const prefix = `test:rl:${randomUUID()}:`;
    const a = new LeasedRedisStore({ redis, prefix });
    const b = new LeasedRedisStore({ redis, prefix });
    const max = 1_000;
    const cap = Math.floor(max * LEASE_SHARE);
    leases = 0;
    const results: Array<{ current: number; ttl: number }> = [];
    // Bursts of 20 concurrent requests, alternating between the processes, 1,200 in all.
    for (let round = 0; round < 60; round++) {
      const store = round % 2 ? b : a;
      results.push(...(await Promise.all(Array.from({ length: 20 }, () => incr(store, 'user:1', 60_000, max)))));
    }
    const numbers = results.map((r) => r.current);
    expect(new Set(numbers).size).toBe(numbers.length);
    const allowed = numbers.filter((n) => n <= max).length;
    expect(allowed).toBeLessThanOrEqual(max);
    // At most one unspent block per process is lost.
    expect(allowed).toBeGreaterThanOrEqual(max - 2 * cap);
    expect(leases).toBeLessThan(results.length / 5);
    for (const r of results) expect(r.ttl).toBeGreaterThan(0);
    // Redis holds every number handed out in blocks.
    expect(Number(await redis.get(`${prefix}user:1`))).toBeGreaterThanOrEqual(Math.max(...numbers));
  });

  it('a limit of 50 or less is counted request by request, exactly', async () => {
    const prefix = `test:rl:${randomUUID()}:`;
    const stores = [new LeasedRedisStore({ redis, prefix }), new LeasedRedisStore({ redis, prefix })];
    leases = 0;
    const numbers: number[] = [];
    for (let i = 0; i < 12; i++) numbers.push((await incr(stores[i % 2]!, 'key:1', 60_000, 6)).current);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(leases).toBe(12);
  });

  it('a burst on a new key waits for one block and is served in order', async () => {
    const store = new LeasedRedisStore({ redis, prefix: `test:rl:${randomUUID()}:` });
    const burst = await Promise.all(Array.from({ length: 100 }, () => incr(store, 'k', 60_000, 100_000)));
    expect(burst.map((r) => r.current)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('a new window starts over', async () => {
    const store = new LeasedRedisStore({ redis, prefix: `test:rl:${randomUUID()}:` });
    const first = [];
    for (let i = 0; i < 5; i++) first.push((await incr(store, 'k', 300, 4)).current);
    expect(first).toEqual([1, 2, 3, 4, 5]);
    await new Promise((r) => setTimeout(r, 400));
    expect((await incr(store, 'k', 300, 4)).current).toBe(1);
  });

  it('a route with its own limit counts under keys of its own', async () => {
    const prefix = `test:rl:${randomUUID()}:`;
    const store = new LeasedRedisStore({ redis, prefix });
    const login = store.child({ routeInfo: { method: 'POST', url: '/v1/auth/login' } });
    await incr(store, 'ip:1', 60_000, 10);
    expect((await incr(login, 'ip:1', 60_000, 10)).current).toBe(1);
    expect(await redis.get(`${prefix}POST/v1/auth/login-ip:1`)).toBe('1');
  });

  it('Redis down: every waiting request gets the error', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const store = new LeasedRedisStore({ redis: down, prefix: 'x:' });
    const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => incr(store, 'k', 60_000, 10_000)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    down.disconnect();
  });
});
