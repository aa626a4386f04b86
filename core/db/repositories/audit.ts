/** The audit log: who did what, through which channel. Append-only. */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { auditLog } from '../schema.js';

export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = Omit<typeof auditLog.$inferInsert, 'id' | 'workspaceId' | 'createdAt'>;

export async function appendAudit(db: Db, workspaceId: string, entry: NewAuditEntry): Promise<void> {
  await db.insert(auditLog).values({ ...entry, workspaceId });
}

/** Newest first; pass the last id seen as `before` to page. */
export function listAudit(
  db: Db,
  workspaceId: string,
  opts: { limit?: number; before?: number } = {},
): Promise<AuditEntry[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(eq(auditLog.workspaceId, workspaceId), opts.before === undefined ? undefined : lt(auditLog.id, opts.before)),
    )
    .orderBy(desc(auditLog.id))
    .limit(Math.min(opts.limit ?? 50, 500));
}
