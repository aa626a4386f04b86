/** The audit log: who did what, through which channel. Append-only. */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { auditLog } from '../schema.js';

export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = Omit<typeof auditLog.$inferInsert, 'id' | 'workspaceId' | 'createdAt'>;

export async function appendAudit(db: Db, workspaceId: string, entry: NewAuditEntry): Promise<void> {
  await db.insert(auditLog).values({ ...entry, workspaceId });
}

/** Who acts, as the service contexts (media, knowledge...) carry it. */
export interface AuditActor {
  workspaceId: string;
  /** The person acting, when there is one. */
  userId: string | null;
  channel: string;
  actorKind?: 'user' | 'api_key' | 'agent' | 'system';
  /** Who the entry names: the API key's id for keys, else the user. Default: `userId`. */
  actorId?: string | null;
}

/** Appends an entry for `actor` acting on `subject` (kind defaults to user when there is one, else system). */
export async function auditAs(
  db: Db,
  actor: AuditActor,
  action: string,
  subject: { type: string; id: string },
  details: Record<string, unknown> = {},
): Promise<void> {
  await appendAudit(db, actor.workspaceId, {
    actorKind: actor.actorKind ?? (actor.userId ? 'user' : 'system'),
    actorId: actor.actorId === undefined ? actor.userId : actor.actorId,
    channel: actor.channel,
    action,
    subjectType: subject.type,
    subjectId: subject.id,
    details,
  });
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
