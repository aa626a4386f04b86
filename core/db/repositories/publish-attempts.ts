/**
 * The publish journal. An attempt is written (outcome `pending`) before a platform is called,
 * so after a crash the worker can tell "never tried" from "tried, result unknown" and look
 * the post up instead of publishing blindly.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { postTargets, publishAttempts } from '../schema.js';
import type { PostTarget } from './posts.js';
import { mapConstraintErrors } from '../pg-errors.js';

export type PublishAttempt = typeof publishAttempts.$inferSelect;
export type AttemptOutcome = PublishAttempt['outcome'];

/** Records a new attempt, numbered after the target's last one; `conflict` if another writer took that number first. */
export function startAttempt(
  db: Db,
  workspaceId: string,
  targetId: string,
  idempotencyKey: string,
): Promise<PublishAttempt> {
  return mapConstraintErrors(async () => {
    const [row] = await db
      .insert(publishAttempts)
      .values({
        workspaceId,
        targetId,
        idempotencyKey,
        attemptNo: sql`(select coalesce(max(${publishAttempts.attemptNo}), 0) + 1 from ${publishAttempts} where ${publishAttempts.targetId} = ${targetId})`,
      })
      .returning();
    return row!;
  }, `Publish attempt ${idempotencyKey}`);
}

/**
 * Whether an attempt is still open (`pending`): false once anyone recorded an outcome for it —
 * in particular a worker that took the target over and marked it `unknown` (connectors/fence.ts).
 */
export async function attemptStillPending(db: Db, workspaceId: string, attemptId: string): Promise<boolean> {
  const [row] = await db
    .select({ outcome: publishAttempts.outcome })
    .from(publishAttempts)
    .where(and(eq(publishAttempts.workspaceId, workspaceId), eq(publishAttempts.id, attemptId)));
  return row?.outcome === 'pending';
}

export async function finishAttempt(
  db: Db,
  workspaceId: string,
  attemptId: string,
  result: {
    outcome: Exclude<AttemptOutcome, 'pending'>;
    platformPostId?: string;
    error?: { kind: string; message: string };
  },
): Promise<PublishAttempt | undefined> {
  const [row] = await db
    .update(publishAttempts)
    .set({
      outcome: result.outcome,
      platformPostId: result.platformPostId ?? null,
      error: result.error ?? null,
      finishedAt: new Date(),
    })
    .where(and(eq(publishAttempts.workspaceId, workspaceId), eq(publishAttempts.id, attemptId)))
    .returning();
  return row;
}

export function listAttempts(db: Db, workspaceId: string, targetId: string): Promise<PublishAttempt[]> {
  return db
    .select()
    .from(publishAttempts)
    .where(and(eq(publishAttempts.workspaceId, workspaceId), eq(publishAttempts.targetId, targetId)))
    .orderBy(desc(publishAttempts.attemptNo));
}

/**
 * Records a successful publish in one round trip: the attempt becomes `succeeded` and the
 * target moves `publishing → published` with the platform's ids. Undefined if the target was
 * no longer `publishing`.
 */
export async function completePublished(
  db: Db,
  workspaceId: string,
  attemptId: string,
  targetId: string,
  result: { platformPostId: string; url: string | null },
): Promise<PostTarget | undefined> {
  const attempt = db.$with('attempt').as(
    db
      .update(publishAttempts)
      .set({ outcome: 'succeeded', platformPostId: result.platformPostId, error: null, finishedAt: new Date() })
      .where(and(eq(publishAttempts.workspaceId, workspaceId), eq(publishAttempts.id, attemptId)))
      .returning({ id: publishAttempts.id }),
  );
  const [row] = await db
    .with(attempt)
    .update(postTargets)
    .set({
      status: 'published',
      publishedAt: new Date(),
      platformPostId: result.platformPostId,
      platformUrl: result.url,
      lastError: null,
      updatedAt: new Date(),
      version: sql`${postTargets.version} + 1`,
    })
    .where(
      and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId), eq(postTargets.status, 'publishing')),
    )
    .returning();
  return row;
}
