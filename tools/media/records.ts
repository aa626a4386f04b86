/**
 * The media queries the service needs beyond the basic repository in `core/db`: lookup by
 * content, keyset pages, alt text, references from post targets, and the advisory lock that
 * serialises everything touching one piece of content across workspaces and processes.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { schema, type Db, type Media, type TargetStatus } from '../../core/index.js';

const { media, postTargets } = schema;

/** Target statuses that can still publish, so their media must stay. */
export const PUBLISHABLE_STATUSES: readonly TargetStatus[] = ['draft', 'pending_approval', 'scheduled', 'publishing'];

/**
 * Holds, until the transaction ends, the lock on one content hash. Upload (check, store,
 * insert) and delete (remove row, count the key's other rows, delete bytes) both take it, so
 * an upload can never insert a row for bytes a concurrent delete is about to remove.
 */
export async function lockContent(tx: Db, sha256: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`herald:media:${sha256}`}, 0))`);
}

/** Takes the media row's update lock until the transaction ends (no-op if it is gone). */
export async function lockMediaRow(tx: Db, workspaceId: string, mediaId: string): Promise<void> {
  await tx
    .select({ id: media.id })
    .from(media)
    .where(and(eq(media.workspaceId, workspaceId), eq(media.id, mediaId)))
    .for('update');
}

export async function findBySha(db: Db, workspaceId: string, sha256: string): Promise<Media | undefined> {
  const [row] = await db
    .select()
    .from(media)
    .where(and(eq(media.workspaceId, workspaceId), eq(media.sha256, sha256)))
    .orderBy(media.createdAt)
    .limit(1);
  return row;
}

export interface MediaCursor {
  /** `created_at` in UTC with its microseconds (`2026-05-01T12:00:00.123456Z`); a JS Date would lose them. */
  createdAt: string;
  id: string;
}

/** Newest first, keyset on `(created_at, id)`: pages stay stable while uploads arrive. */
export async function listPage(
  db: Db,
  workspaceId: string,
  opts: { limit: number; after?: MediaCursor | undefined },
): Promise<{ rows: Media[]; next: MediaCursor | null }> {
  const page = await db
    .select({
      row: media,
      cursorAt: sql<string>`to_char(${media.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(media)
    .where(
      and(
        eq(media.workspaceId, workspaceId),
        opts.after
          ? sql`(${media.createdAt}, ${media.id}) < (${opts.after.createdAt}::timestamptz, ${opts.after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(media.createdAt), desc(media.id))
    .limit(opts.limit + 1);
  const more = page.length > opts.limit;
  const rows = more ? page.slice(0, opts.limit) : page;
  const last = rows.at(-1);
  return { rows: rows.map((r) => r.row), next: more && last ? { createdAt: last.cursorAt, id: last.row.id } : null };
}

export async function setAltText(
  db: Db,
  workspaceId: string,
  mediaId: string,
  altText: string | null,
): Promise<Media | undefined> {
  const [row] = await db
    .update(media)
    .set({ altText })
    .where(and(eq(media.workspaceId, workspaceId), eq(media.id, mediaId)))
    .returning();
  return row;
}

/** Targets of this workspace that can still publish and carry this media. */
export function publishableReferences(
  db: Db,
  workspaceId: string,
  mediaId: string,
): Promise<Array<{ targetId: string; postId: string; status: TargetStatus }>> {
  return db
    .select({ targetId: postTargets.id, postId: postTargets.postId, status: postTargets.status })
    .from(postTargets)
    .where(
      and(
        eq(postTargets.workspaceId, workspaceId),
        inArray(postTargets.status, [...PUBLISHABLE_STATUSES]),
        sql`${postTargets.media} @> ${JSON.stringify([{ mediaId }])}::jsonb`,
      ),
    )
    .limit(50);
}

/** Whether any row, in any workspace, still names this storage key. */
export async function storageKeyInUse(db: Db, storageKey: string): Promise<boolean> {
  const [row] = await db.select({ id: media.id }).from(media).where(eq(media.storageKey, storageKey)).limit(1);
  return !!row;
}
