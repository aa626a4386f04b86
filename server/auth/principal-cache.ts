/**
 * Principals resolved recently, so a request whose session, membership and workspace have not
 * changed skips the database. What keeps it right:
 *
 * - Database triggers (migration 0007) `NOTIFY herald_auth` when a change commits to a
 *   session, user, API key, membership or workspace (a workspace's content version is bumped
 *   by any change to its posts, so that too); every API process listens and drops the
 *   principals the change concerns. Notifications arrive within milliseconds of the commit.
 * - While the subscription is not in place (starting, or its connection lost), nothing is
 *   cached and nothing is served from the cache; when it comes back, the cache starts empty,
 *   since notifications sent meanwhile are gone.
 * - A change made through this process clears its cache before the response goes out (see
 *   `server/api.ts`), so the caller's next request never sees the state before it.
 * - A lookup that raced an invalidation is not stored: each store carries the epoch read
 *   before its database query, and any invalidation moves the epoch on.
 * - Entries expire after `ttlMs` regardless (a bound on anything missed).
 */
import { LRUCache } from 'lru-cache';
import type { Database } from '../../core/index.js';
import type { Principal } from './principal.js';

export const AUTH_CHANNEL = 'herald_auth';

interface Entry {
  principal: Principal;
  tags: readonly string[];
  /** API keys: when it stops being valid (ms), if ever. */
  expiresAtMs: number | null;
  /** API keys: last-used time as stored (ms), to know when to touch it again. */
  lastUsedAtMs: number | null;
}

export class PrincipalCache {
  #up = false;
  #epoch = 0;
  readonly #byTag = new Map<string, Set<string>>();
  readonly #listeners = new Set<(tag: string) => void>();
  readonly #entries: LRUCache<string, Entry>;

  constructor(opts: { max?: number; ttlMs?: number } = {}) {
    this.#entries = new LRUCache<string, Entry>({
      max: opts.max ?? 50_000,
      ttl: opts.ttlMs ?? 60_000,
      dispose: (entry, key) => {
        for (const tag of entry.tags) {
          const keys = this.#byTag.get(tag);
          keys?.delete(key);
          if (keys?.size === 0) this.#byTag.delete(tag);
        }
      },
    });
  }

  /** Subscribes to the database's change notifications; until then the cache stays off. */
  static async listening(database: Pick<Database, 'listen'>, opts?: { max?: number; ttlMs?: number }) {
    const cache = new PrincipalCache(opts);
    const unlisten = await database.listen(
      AUTH_CHANNEL,
      (payload) => cache.invalidate(payload),
      (up) => cache.setAvailable(up),
    );
    return { cache, unlisten };
  }

  get available(): boolean {
    return this.#up;
  }

  /** Moves on with every invalidation; a store made with an older epoch is dropped. */
  get epoch(): number {
    return this.#epoch;
  }

  get(key: string): Entry | undefined {
    return this.#up ? this.#entries.get(key) : undefined;
  }

  /** `tags`: `w:<workspace>`, `u:<user>`, `s:<session>`, `k:<api key>` — what invalidates it. */
  set(key: string, epoch: number, entry: Entry): void {
    if (!this.#up || epoch !== this.#epoch) return;
    this.#entries.set(key, entry);
    for (const tag of entry.tags) {
      let keys = this.#byTag.get(tag);
      if (!keys) this.#byTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every principal carrying `tag` (a notification's payload), then tells the listeners. */
  invalidate(tag: string): void {
    this.#epoch++;
    const keys = this.#byTag.get(tag);
    if (keys) for (const key of [...keys]) this.#entries.delete(key);
    for (const listener of this.#listeners) listener(tag);
  }

  /**
   * Calls `listener` with the tag of every change notification, and with `*` when the
   * subscription comes back (changes made meanwhile were not heard). Long-lived holders of a
   * principal (WebSocket connections) re-check theirs. Returns the unsubscribe function.
   */
  onChange(listener: (tag: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  clear(): void {
    this.#epoch++;
    this.#entries.clear();
  }

  setAvailable(up: boolean): void {
    this.clear();
    this.#up = up;
    if (up) for (const listener of this.#listeners) listener('*');
  }
}
