/**
 * Accounting: every routed call becomes one usage-ledger row (tokens in and out, cost,
 * latency, model, provider and the route reason) for its workspace and user, and the day's
 * spend is read back for the cost cap. The spend is cached briefly per workspace and bumped
 * by this process's own calls, so routing does not query the database on every call.
 */
import { recordUsage, spentSince, type Db } from '../../core/index.js';

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
  now?: () => number;
}

const startOfUtcDay = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};

export class LedgerUsageSink implements UsageSink {
  readonly #db: Db;
  readonly #cacheMs: number;
  readonly #now: () => number;
  readonly #spend = new Map<string, { day: number; usd: number; readAt: number }>();

  constructor(db: Db, options: LedgerSinkOptions = {}) {
    this.#db = db;
    this.#cacheMs = options.cacheMs ?? 5_000;
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

  async record(workspaceId: string, entry: UsageRecord): Promise<void> {
    await recordUsage(this.#db, workspaceId, { ...entry, costUsd: entry.costUsd.toFixed(8) });
    const cached = this.#spend.get(workspaceId);
    if (cached && cached.day === startOfUtcDay(this.#now())) cached.usd += entry.costUsd;
  }
}
