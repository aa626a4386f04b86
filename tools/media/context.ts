/**
 * What every media service function receives: its dependencies (database, store, upload
 * limit) and the caller's context (workspace, actor, role, channel). Channels build the
 * context; the service checks the role, so every channel gets the same answer.
 */
import { appendAudit, type Db, type MediaStore, type Role } from '../../core/index.js';

export interface MediaDeps {
  db: Db;
  store: MediaStore;
  /** Largest upload in bytes (`MEDIA_MAX_BYTES`). */
  maxBytes: number;
  /** Where uploads are spooled while they are checked. Default: the OS temp directory. */
  stagingDir?: string;
}

export interface MediaContext {
  workspaceId: string;
  /** The person acting, when there is one. */
  userId: string | null;
  role: Role;
  /** rest | ws | slack | telegram | mcp | agent | system */
  channel: string;
  actorKind?: 'user' | 'api_key' | 'agent' | 'system';
  /** Who the audit log names: the API key's id for keys, else the user. Default: `userId`. */
  actorId?: string | null;
}

export { requireRole } from '../../core/index.js';

export async function audit(
  db: Db,
  ctx: MediaContext,
  action: string,
  mediaId: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await appendAudit(db, ctx.workspaceId, {
    actorKind: ctx.actorKind ?? (ctx.userId ? 'user' : 'system'),
    actorId: ctx.actorId === undefined ? ctx.userId : ctx.actorId,
    channel: ctx.channel,
    action,
    subjectType: 'media',
    subjectId: mediaId,
    details,
  });
}
