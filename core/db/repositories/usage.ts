/** The usage ledger: one row per model call, summed per day and model for reports and cost caps. */
import { and, eq, gte, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { usageLedger } from '../schema.js';

export type UsageEntry = typeof usageLedger.$inferSelect;
export type NewUsageEntry = Omit<typeof usageLedger.$inferInsert, 'id' | 'workspaceId'>;

export async function recordUsage(db: Db, workspaceId: string, entry: NewUsageEntry): Promise<void> {
  await db.insert(usageLedger).values({ ...entry, workspaceId });
}

export interface UsageTotals {
  day: string;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Decimal string, exact. */
  costUsd: string;
}

/** Totals per UTC day, provider and model in [from, to). */
export function summarizeUsage(db: Db, workspaceId: string, range: { from: Date; to: Date }): Promise<UsageTotals[]> {
  const day = sql<string>`to_char(${usageLedger.occurredAt} at time zone 'UTC', 'YYYY-MM-DD')`;
  return db
    .select({
      day,
      provider: usageLedger.provider,
      model: usageLedger.model,
      calls: sql<number>`count(*)::int`,
      inputTokens: sql<number>`coalesce(sum(${usageLedger.inputTokens}), 0)::int`,
      outputTokens: sql<number>`coalesce(sum(${usageLedger.outputTokens}), 0)::int`,
      costUsd: sql<string>`coalesce(sum(${usageLedger.costUsd}), 0)::text`,
    })
    .from(usageLedger)
    .where(
      and(
        eq(usageLedger.workspaceId, workspaceId),
        gte(usageLedger.occurredAt, range.from),
        lt(usageLedger.occurredAt, range.to),
      ),
    )
    .groupBy(day, usageLedger.provider, usageLedger.model)
    .orderBy(day, usageLedger.provider, usageLedger.model);
}

/** US dollars spent by the workspace since `since` (for the daily cost cap). */
export async function spentSince(db: Db, workspaceId: string, since: Date): Promise<number> {
  const [row] = await db
    .select({ cost: sql<string>`coalesce(sum(${usageLedger.costUsd}), 0)::text` })
    .from(usageLedger)
    .where(and(eq(usageLedger.workspaceId, workspaceId), gte(usageLedger.occurredAt, since)));
  return Number(row?.cost ?? 0);
}
