/**
 * Posts and their targets (one row per platform account). Creating a post writes the post and
 * all its targets in one transaction; the composite foreign keys make a target that names
 * another workspace's account fail as `not_found`. Status moves are compare-and-set on the
 * current status, so two writers can never both move the same target.
 */
import { and, asc, eq, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { postTargets, posts, type TargetMedia } from '../schema.js';
import { mapConstraintErrors } from '../pg-errors.js';

export type Post = typeof posts.$inferSelect;
export type PostTarget = typeof postTargets.$inferSelect;
export type TargetStatus = PostTarget['status'];

export interface NewTarget {
  socialAccountId: string;
  platform: string;
  content: string;
  threadParts?: string[];
  media?: TargetMedia[];
  options?: Record<string, unknown>;
  status?: TargetStatus;
  scheduledAt?: Date | null;
}

export async function createPost(
  db: Db,
  workspaceId: string,
  input: {
    authorId?: string | null;
    content: string;
    tags?: string[];
    seriesId?: string | null;
    occurrenceAt?: Date | null;
    targets: NewTarget[];
  },
): Promise<{ post: Post; targets: PostTarget[] }> {
  return mapConstraintErrors(
    () =>
      db.transaction(async (tx) => {
        const [post] = await tx
          .insert(posts)
          .values({
            workspaceId,
            authorId: input.authorId ?? null,
            content: input.content,
            tags: input.tags ?? [],
            seriesId: input.seriesId ?? null,
            occurrenceAt: input.occurrenceAt ?? null,
          })
          .returning();
        const targets =
          input.targets.length === 0
            ? []
            : await tx
                .insert(postTargets)
                .values(input.targets.map((t) => ({ ...t, workspaceId, postId: post!.id })))
                .returning();
        return { post: post!, targets };
      }),
    'A post target',
  );
}

export async function getPost(
  db: Db,
  workspaceId: string,
  postId: string,
): Promise<{ post: Post; targets: PostTarget[] } | undefined> {
  const [post] = await db
    .select()
    .from(posts)
    .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)));
  if (!post) return undefined;
  const targets = await db
    .select()
    .from(postTargets)
    .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.postId, postId)))
    .orderBy(asc(postTargets.createdAt), asc(postTargets.id));
  return { post, targets };
}

export async function getTarget(db: Db, workspaceId: string, targetId: string): Promise<PostTarget | undefined> {
  const [row] = await db
    .select()
    .from(postTargets)
    .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId)));
  return row;
}

/** Targets scheduled in [from, to), earliest first. */
export function listTargetsInRange(
  db: Db,
  workspaceId: string,
  range: { from: Date; to: Date; statuses?: TargetStatus[] },
): Promise<PostTarget[]> {
  return db
    .select()
    .from(postTargets)
    .where(
      and(
        eq(postTargets.workspaceId, workspaceId),
        gte(postTargets.scheduledAt, range.from),
        lt(postTargets.scheduledAt, range.to),
        range.statuses ? inArray(postTargets.status, range.statuses) : undefined,
      ),
    )
    .orderBy(asc(postTargets.scheduledAt), asc(postTargets.id));
}

/**
 * Moves a target from one of `from` to `to`, applying `patch`, only if it is still in one of
 * `from`. Returns the updated row, or undefined when the target is missing or was moved by
 * someone else first.
 */
export async function transitionTarget(
  db: Db,
  workspaceId: string,
  targetId: string,
  from: TargetStatus[],
  to: TargetStatus,
  patch: Partial<Pick<PostTarget, 'publishedAt' | 'platformPostId' | 'platformUrl' | 'lastError' | 'scheduledAt'>> = {},
): Promise<PostTarget | undefined> {
  const [row] = await db
    .update(postTargets)
    .set({ ...patch, status: to, updatedAt: new Date(), version: sql`${postTargets.version} + 1` })
    .where(
      and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId), inArray(postTargets.status, from)),
    )
    .returning();
  return row;
}

export async function deletePost(db: Db, workspaceId: string, postId: string): Promise<boolean> {
  const rows = await db
    .delete(posts)
    .where(and(eq(posts.workspaceId, workspaceId), eq(posts.id, postId)))
    .returning({ id: posts.id });
  return rows.length > 0;
}

/**
 * The publishing worker's claim: moves the target `scheduled → publishing` if it is due
 * (within `earlyMs`), in one round trip. Undefined when the target is not scheduled or not due.
 */
export async function claimDueTarget(
  db: Db,
  workspaceId: string,
  targetId: string,
  earlyMs = 1_000,
): Promise<PostTarget | undefined> {
  const [row] = await db
    .update(postTargets)
    .set({ status: 'publishing', updatedAt: new Date(), version: sql`${postTargets.version} + 1` })
    .where(
      and(
        eq(postTargets.workspaceId, workspaceId),
        eq(postTargets.id, targetId),
        eq(postTargets.status, 'scheduled'),
        lte(postTargets.scheduledAt, new Date(Date.now() + earlyMs)),
      ),
    )
    .returning();
  return row;
}
