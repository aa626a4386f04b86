/**
 * Idempotency keys for creating calls (MCP tools now; any channel can use it): the first call
 * with a key runs and its result is kept in Redis for a day; a retry with the same key and the
 * same arguments gets that result without running again — also from another process, and
 * while the first is still running (it waits for it). The same key with other arguments is
 * refused (`idempotency_key_reused`). A call that fails with a Herald error keeps nothing, so
 * the caller may fix the input and retry with the same key. Keys are per workspace and person:
 * two callers never see each other's results.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { HeraldError } from '../../core/index.js';

/** How long a result answers retries. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** A first call that died mid-way frees its key after this long. */
const PENDING_TTL_MS = 2 * 60 * 1000;
/** How long a retry waits for a first call still running before saying so. */
const WAIT_MS = 15_000;

interface Kept {
  state: 'pending' | 'done';
  fingerprint: string;
  result?: unknown;
}

export interface IdempotencyScope {
  workspaceId: string;
  userId: string | null;
  /** What is being done (a tool name): the same key on two tools is two keys. */
  operation: string;
}

/** A canonical fingerprint of the arguments (keys sorted), without the key itself. */
export function fingerprintOf(args: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object' && !(v instanceof Date))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(args)))
    .digest('base64url');
}

export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly opts: { waitMs?: number; pollMs?: number } = {},
  ) {}

  #key(scope: IdempotencyScope, key: string): string {
    const hashed = createHash('sha256').update(key).digest('base64url');
    return `${this.keyPrefix}:idem:${scope.workspaceId}:${scope.userId ?? '-'}:${scope.operation}:${hashed}`;
  }

  /**
   * Runs `fn` once per (scope, key): the result (as JSON) is what every call with the key
   * answers. Without a key, just runs `fn`.
   */
  async run<T>(scope: IdempotencyScope, key: string | undefined, args: unknown, fn: () => Promise<T>): Promise<T> {
    if (key === undefined) return fn();
    const redisKey = this.#key(scope, key);
    const fingerprint = fingerprintOf(args);
    const pending: Kept = { state: 'pending', fingerprint };
    const claimed = await this.redis.set(redisKey, JSON.stringify(pending), 'PX', PENDING_TTL_MS, 'NX');
    if (claimed === 'OK') {
      let result: T;
      try {
        result = await fn();
      } catch (err) {
        await this.redis.del(redisKey);
        throw err;
      }
      // The result as every retry will see it (dates as ISO text).
      const json = JSON.parse(JSON.stringify(result ?? null)) as T;
      const done: Kept = { state: 'done', fingerprint, result: json };
      await this.redis.set(redisKey, JSON.stringify(done), 'PX', IDEMPOTENCY_TTL_MS);
      return json;
    }
    const deadline = Date.now() + (this.opts.waitMs ?? WAIT_MS);
    for (;;) {
      const raw = await this.redis.get(redisKey);
      // Gone: the first call failed (or expired) meanwhile; this one runs.
      if (raw === null) return this.run(scope, key, args, fn);
      const kept = JSON.parse(raw) as Kept;
      if (kept.fingerprint !== fingerprint) {
        throw new HeraldError('idempotency_key_reused', {
          message: `The idempotency key was used for a different ${scope.operation} call; use a new key for new arguments`,
          details: { operation: scope.operation },
        });
      }
      if (kept.state === 'done') return kept.result as T;
      if (Date.now() > deadline) {
        throw new HeraldError('invalid_state', {
          message: `A ${scope.operation} call with this idempotency key is still running; retry later with the same key`,
          details: { operation: scope.operation, retryAfterMs: 1_000 },
        });
      }
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 100));
    }
  }
}
