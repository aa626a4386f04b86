/**
 * The rate-limit counter store for `@fastify/rate-limit`: counts in Redis, shared by every API
 * process, but taken in blocks. A process asks Redis for the next `n` numbers of a key's
 * window (`INCRBY n`) and hands them to that key's requests one by one; only when the block is
 * spent does it ask again. The store counted one Lua call per request before, which was about a
 * sixth of a cached `GET /v1/posts`'s CPU.
 *
 * A block starts at one number and doubles each time a key spends a whole block within its
 * window, up to 1/50 of the limit (so a key near a limit of 50 or less per window is counted
 * request by request, exactly as before). Numbers are never given twice, so no process can
 * let more than the limit through in a window; a block not spent when the window ends is lost,
 * which can make the limit stricter by at most one block per process and key — 2 % of it.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** A block is at most this share of the limit. */
export const LEASE_SHARE = 1 / 50;
/** Keys whose blocks a process remembers (least recently used go first: their numbers are lost). */
const MAX_KEYS = 10_000;

const LEASE_LUA = `
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl}
`;

type Done = (err: Error | null, res?: { current: number; ttl: number }) => void;

interface Waiter {
  done: Done;
  timeWindow: number;
  max: number;
}

interface KeyState {
  /** Next number to give, and the last number of the block. */
  next: number;
  last: number;
  /** Local clock time at which the key's window ends in Redis. */
  endsAt: number;
  /** Size of the next block asked for. */
  size: number;
  /** Requests waiting for a block being asked for. */
  waiting: Waiter[] | null;
}

type LeasingRedis = Redis & {
  heraldRateLease(key: string, n: number, windowMs: number): Promise<[number, number]>;
};

export interface LeasedRedisStoreOptions {
  redis: Redis;
  /** Prefix of the Redis keys. */
  prefix: string;
}

export class LeasedRedisStore {
  readonly #redis: LeasingRedis;
  readonly #prefix: string;
  readonly #keys = new LRUCache<string, KeyState>({ max: MAX_KEYS });

  // @fastify/rate-limit constructs the store with its own arguments; `options` is ours.
  constructor(options: LeasedRedisStoreOptions) {
    if (!('heraldRateLease' in options.redis)) {
      options.redis.defineCommand('heraldRateLease', { numberOfKeys: 1, lua: LEASE_LUA });
    }
    this.#redis = options.redis as LeasingRedis;
    this.#prefix = options.prefix;
  }

  incr(key: string, done: Done, timeWindow: number, max: number): void {
    const now = Date.now();
    let state = this.#keys.get(key);
    if (!state) {
      state = { next: 1, last: 0, endsAt: 0, size: 1, waiting: null };
      this.#keys.set(key, state);
    } else if (state.endsAt <= now && !state.waiting) {
      // The window ended: what is left of the block belongs to it.
      state.next = 1;
      state.last = 0;
    } else if (state.next <= state.last && !state.waiting) {
      done(null, { current: state.next++, ttl: state.endsAt - now });
      return;
    }
    if (state.waiting) {
      state.waiting.push({ done, timeWindow, max });
      return;
    }
    state.waiting = [{ done, timeWindow, max }];
    this.#lease(key, state, timeWindow, max);
  }

  /** The key's count in Redis (numbers given to blocks, spent or not), without counting. */
  read(key: string, done: Done): void {
    this.#redis
      .multi()
      .get(this.#prefix + key)
      .pttl(this.#prefix + key)
      .exec()
      .then(
        (res) => {
          const current = Number(res?.[0]?.[1] ?? 0);
          const ttl = Number(res?.[1]?.[1] ?? 0);
          done(null, { current, ttl: Math.max(0, ttl) });
        },
        done as (err: Error) => void,
      );
  }

  /**
   * A store for a route with its own limit: its own keys. (The plugin passes its merged
   * parameters, which hold the route as `routeInfo`; its type declaration says otherwise.)
   */
  child(params: object): LeasedRedisStore {
    const route = (params as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
    return new LeasedRedisStore({
      redis: this.#redis,
      prefix: `${this.#prefix}${String(route?.method ?? '')}${String(route?.url ?? '')}-`,
    });
  }

  #lease(key: string, state: KeyState, timeWindow: number, max: number): void {
    const cap = Math.max(1, Math.floor(max * LEASE_SHARE));
    const size = Math.min(state.size, cap);
    this.#redis.heraldRateLease(this.#prefix + key, size, timeWindow).then(
      ([last, ttl]) => {
        const now = Date.now();
        // A block spent within its window: the key is busy, take a larger one next time.
        if (state.endsAt > now) state.size = Math.min(size * 2, cap);
        state.next = last - size + 1;
        state.last = last;
        state.endsAt = now + ttl;
        const waiting = state.waiting ?? [];
        state.waiting = null;
        let i = 0;
        for (; i < waiting.length && state.next <= state.last; i++) {
          waiting[i]!.done(null, { current: state.next++, ttl });
        }
        const rest = waiting.slice(i);
        if (rest.length > 0) {
          state.waiting = rest;
          this.#lease(key, state, rest[0]!.timeWindow, rest[0]!.max);
        }
      },
      (err: Error) => {
        const waiting = state.waiting ?? [];
        state.waiting = null;
        for (const w of waiting) w.done(err);
      },
    );
  }
}
