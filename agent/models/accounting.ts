/**
 * Accounting: every routed call becomes one usage-ledger row (tokens in and out, cost,
 * latency, model, provider and the route reason) for its workspace and user, and the day's
 * spend is read back for the cost cap. The spend is cached briefly per workspace and bumped
 * by this process's own calls, so routing does not query the database on every call. Rows
 * are written in batches: the calls of the next few milliseconds (the two of a one-tool
 * turn, those of concurrent turns) go in one statement, after the reply rather than in its
 * way; `record` settles once its row is written.
 */
import { schema, spentSince, type Db } from '../../core/index.js';

export interface UsageRecord {
  userId: string | null;
  taskKind: string;
  provider: string;
  model: string;
  local: boolean;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  routeReason: string;
}

/** Where the router writes usage and reads the day's spend. */
export interface UsageSink {
  spentTodayUsd(workspaceId: string): Promise<number>;
  record(workspaceId: string, entry: UsageRecord): Promise<void>;
}

export interface LedgerSinkOptions {
  /** How long a spend read from the database is trusted. Default 5 s. */
  cacheMs?: number;
  /** How long a row waits for others to be written with. Default 20 ms; 0 writes each at once. */
  batchMs?: number;
  now?: () => number;
}

interface Queued {
  row: typeof schema.usageLedger.$inferInsert;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const startOfUtcDay = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};

export class LedgerUsageSink implements UsageSink {
  readonly #db: Db;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #batchMs: number;
  readonly #spend = new Map<string, { day: number; usd: number; readAt: number }>();
  #queued: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Batches being written now: `flush` waits for them too. */
  readonly #writing = new Set<Promise<void>>();

  constructor(db: Db, options: LedgerSinkOptions = {}) {
    this.#db = db;
    this.#cacheMs = options.cacheMs ?? 5_000;
    this.#batchMs = options.batchMs ?? 20;
    this.#now = options.now ?? Date.now;
  }

  async spentTodayUsd(workspaceId: string): Promise<number> {
    const now = this.#now();
    const day = startOfUtcDay(now);
    const cached = this.#spend.get(workspaceId);
    if (cached && cached.day === day && now - cached.readAt < this.#cacheMs) return cached.usd;
    const usd = await spentSince(this.#db, workspaceId, new Date(day));
    this.#spend.set(workspaceId, { day, usd, readAt: now });
    return usd;
  }

  record(workspaceId: string, entry: UsageRecord): Promise<void> {
    const cached = this.#spend.get(workspaceId);
    if (cached && cached.day === startOfUtcDay(this.#now())) cached.usd += entry.costUsd;
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ row: { ...entry, costUsd: entry.costUsd.toFixed(8), workspaceId }, resolve, reject });
      if (this.#batchMs <= 0) void this.flush();
      else this.#timer ??= setTimeout(() => void this.flush(), this.#batchMs);
    });
  }

  /**
   * Writes the rows waiting for their batch now, and settles once every row recorded so far
   * is written (a batch whose timer already fired may still be on its way: shutdown and
   * readers of the ledger wait for it as well).
   */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queued;
    this.#queued = [];
    if (batch.length > 0) {
      const writing = this.#write(batch);
      this.#writing.add(writing);
      void writing.finally(() => this.#writing.delete(writing));
    }
    await Promise.all(this.#writing);
  }

  async #write(batch: Queued[]): Promise<void> {
    try {
      await this.#db.insert(schema.usageLedger).values(batch.map((q) => q.row));
      for (const q of batch) q.resolve();
    } catch (err) {
      for (const q of batch) q.reject(err);
    }
  }
}
