/**
 * What every media service function receives: its dependencies (database, store, upload
 * limit) and the caller's context (workspace, actor, role, channel). Channels build the
 * context; the service checks the role, so every channel gets the same answer.
 */
import { auditAs, type AuditActor, type Db, type MediaStore, type Role } from '../../core/index.js';

export interface MediaDeps {
  db: Db;
  store: MediaStore;
  /** Largest upload in bytes (`MEDIA_MAX_BYTES`). */
  maxBytes: number;
  /** Where uploads are spooled while they are checked. Default: the OS temp directory. */
  stagingDir?: string;
  /** ffprobe, which reads WebM videos (`FFPROBE_PATH`). Default `ffprobe` on the PATH; null: never run it. */
  ffprobePath?: string | null;
}

/** The caller: workspace, person, role, channel, and who the audit log names. */
export interface MediaContext extends AuditActor {
  role: Role;
}

export { requireRole } from '../../core/index.js';

export function audit(
  db: Db,
  ctx: MediaContext,
  action: string,
  mediaId: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  return auditAs(db, ctx, action, { type: 'media', id: mediaId }, details);
}
