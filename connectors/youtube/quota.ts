/**
 * YouTube's daily quota, tracked by Herald so a call that would exceed it is refused before
 * it is sent (YouTube would answer 403 quotaExceeded and count the refused call anyway).
 * Per Google Cloud project, two buckets (developers.google.com/youtube/v3/determine_quota_cost):
 * `videos.insert` calls (100 a day by default, cost 1 each) and units for everything else
 * (10,000 a day; thumbnails.set and videos.delete 50, reads 1). Both reset at midnight
 * Pacific time. The ledger is an interface: one process keeps it in memory; processes that
 * share a project share a store.
 */
import { RateLimited } from '../errors.js';
import { nextPacificMidnight, PLATFORM } from './errors.js';

export type QuotaBucket = 'insert' | 'units';

export interface QuotaLimits {
  /** `videos.insert` calls a day. Default 100. */
  insertsPerDay: number;
  /** Units a day for every other method. Default 10,000. */
  unitsPerDay: number;
}

export const DEFAULT_QUOTA: QuotaLimits = { insertsPerDay: 100, unitsPerDay: 10_000 };

export const COST = {
  'videos.insert': { bucket: 'insert', cost: 1 },
  'thumbnails.set': { bucket: 'units', cost: 50 },
  'videos.delete': { bucket: 'units', cost: 50 },
  'videos.list': { bucket: 'units', cost: 1 },
  'channels.list': { bucket: 'units', cost: 1 },
  'playlistItems.list': { bucket: 'units', cost: 1 },
} as const satisfies Record<string, { bucket: QuotaBucket; cost: number }>;

export type QuotaMethod = keyof typeof COST;

export interface QuotaLedger {
  /** Takes `cost` from the bucket of the quota day starting at `day`; false (nothing taken) if it would exceed `limit`. */
  take(bucket: QuotaBucket, day: number, cost: number, limit: number): Promise<boolean>;
}

/** One process's ledger. */
export function memoryQuotaLedger(): QuotaLedger {
  const used = new Map<string, number>();
  return {
    async take(bucket, day, cost, limit) {
      const key = `${bucket}:${day}`;
      const now = used.get(key) ?? 0;
      if (now + cost > limit) return false;
      used.set(key, now + cost);
      return true;
    },
  };
}

/** Spends quota for one call, or throws `RateLimited` until the reset when the bucket cannot pay. */
export async function spend(
  ledger: QuotaLedger,
  limits: QuotaLimits,
  method: QuotaMethod,
  now = Date.now(),
): Promise<void> {
  const { bucket, cost } = COST[method];
  const reset = nextPacificMidnight(now);
  const day = reset.getTime() - 24 * 3600 * 1000;
  const limit = bucket === 'insert' ? limits.insertsPerDay : limits.unitsPerDay;
  if (await ledger.take(bucket, day, cost, limit)) return;
  throw new RateLimited(
    `Herald held back ${method}: the project's daily YouTube quota (${limit} ${bucket === 'insert' ? 'uploads' : 'units'}) would be exceeded; it resets at midnight Pacific time`,
    reset,
    { platform: PLATFORM, reason: 'usage_capped' },
  );
}
