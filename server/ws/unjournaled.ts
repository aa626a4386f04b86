/**
 * Ended chat turns whose log Redis lacks (a write failed: Redis out of memory, say), kept in
 * this process's memory — for REST chat (server/routes/chat-stream.ts) and the WebSocket's
 * `resume` (turn.ts) alike. This process may hold the only whole copy, so such a turn stays
 * until the log's rewrite lands in Redis (turn-buffer.ts `TurnLog.rejournaled`) or the log's
 * TTL passes. Bounded by bytes: a Redis that takes the small writes a turn needs to start (the
 * claim, liveness) but refuses the logs' (near `maxmemory` with `noeviction`) would otherwise
 * bring every turn here for ten minutes, up to ~2 MiB each. Beyond the bound the least recently
 * read goes first, logged as a warning (which turn, never what was said).
 */
import { LRUCache } from 'lru-cache';

/** The default bound, in bytes (as the owner's `sizeOf` counts them). */
export const UNJOURNALED_TURNS_MAX_BYTES = 64 * 1024 * 1024;
/** Counted per ended turn kept in memory beyond its events and text (its objects). */
export const ENDED_TURN_OVERHEAD_BYTES = 4 * 1024;

/** Where a dropped turn is reported (a pino or Fastify logger fits). */
export interface WarnLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Without a logger, warnings still show: as process warnings (stderr). */
const processWarnings: WarnLog = {
  warn: (fields, message) =>
    process.emitWarning(message, { code: 'HERALD_CHAT_TURN_DROPPED', detail: JSON.stringify(fields) }),
};

export class UnjournaledTurns<T extends object> {
  readonly #turns: LRUCache<string, T>;
  readonly #log: WarnLog;

  constructor(
    private readonly opts: {
      sizeOf: (turn: T) => number;
      /** How long a turn is kept at most (the log's TTL), unless `keep` says. */
      ttlMs?: number;
      maxBytes?: number | undefined;
      log?: WarnLog | undefined;
      /** Fields of a turn said in the warning beside its id and size (never its content). */
      describe?: (turn: T) => Record<string, unknown>;
    },
  ) {
    this.#log = opts.log ?? processWarnings;
    this.#turns = new LRUCache<string, T>({
      maxSize: opts.maxBytes ?? UNJOURNALED_TURNS_MAX_BYTES,
      sizeCalculation: opts.sizeOf,
      ...(opts.ttlMs !== undefined ? { ttl: opts.ttlMs } : {}),
      ttlAutopurge: true,
      dispose: (turn, id, reason) => {
        if (reason === 'evict') this.#dropped(id, turn, 'evicted for room');
      },
    });
  }

  /**
   * Keeps `turn` until `whole` resolves (its log's rewrite landed, or the retries gave up) or
   * its TTL passes. Once Redis holds it whole it leaves, and `then` runs if it was still here.
   * Resolves when `whole` has.
   */
  async keep(id: string, turn: T, whole: Promise<boolean>, opts: { ttlMs?: number; then?: () => void } = {}) {
    const status: LRUCache.Status<string, T> = {};
    this.#turns.set(id, turn, { ...(opts.ttlMs !== undefined ? { ttl: opts.ttlMs } : {}), status });
    if (status.maxEntrySizeExceeded) this.#dropped(id, turn, 'larger than the bound alone');
    if ((await whole) && this.#turns.peek(id) === turn) {
      this.#turns.delete(id);
      opts.then?.();
    }
  }

  get(id: string): T | undefined {
    return this.#turns.get(id);
  }

  /** How many are kept, and their bytes. */
  get size(): { turns: number; bytes: number } {
    return { turns: this.#turns.size, bytes: this.#turns.calculatedSize };
  }

  #dropped(id: string, turn: T, why: string): void {
    this.#log.warn(
      { turnId: id, bytes: this.opts.sizeOf(turn), maxBytes: this.#turns.maxSize, ...this.opts.describe?.(turn) },
      `A chat turn whose log Redis lacks was dropped from memory (${why}): a retry or resume reads what Redis holds`,
    );
  }
}
