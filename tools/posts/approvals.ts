/**
 * Approvals, when the workspace's `requireApproval` setting is on: an admin approves a post
 * waiting as `pending_approval` (its targets are validated again and queued) or rejects it
 * (back to `draft`, with the reviewer's comment). Each decision is taken under the post's
 * row lock, so of two racing decisions one wins and the other is 409 `invalid_state`.
 */
import {
  addReview,
  HeraldError,
  requireRole,
  transitionTarget,
  withPostLocked,
  type PostTarget,
} from '../../core/index.js';
import { audit, emitStatus, nowOf, type SchedulingDeps } from '../scheduling/context.js';
import { checkTargets } from '../scheduling/validation.js';
import { invalidState, listPosts, requirePost, viewPost, type PostsContext, type PostView } from './service.js';

/** The post was approved or rejected by someone else between our read and our lock. */
const decidedMeanwhile = () =>
  new HeraldError('invalid_state', {
    message: 'Another reviewer approved or rejected this post first',
    details: { decidedMeanwhile: true },
  });

/**
 * Approves a post: its `pending_approval` targets are validated again and queued — at their
 * time, or now when that time has passed or none was set.
 */
export async function approvePost(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  input: { comment?: string | undefined },
): Promise<PostView> {
  requireRole(ctx, 'admin');
  const found = await requirePost(deps, ctx, postId);
  const waiting = found.targets.filter((t) => t.status === 'pending_approval');
  if (waiting.length === 0)
    throw invalidState('This post is not waiting for approval', { statuses: found.targets.map((t) => t.status) });
  const now = nowOf(deps);
  const times = waiting.map((t) => (t.scheduledAt && t.scheduledAt > now ? t.scheduledAt : now));
  await checkTargets(
    deps.db,
    deps.connectors,
    ctx.workspaceId,
    waiting.map((t, i) => ({ ...t, at: times[i]! })),
  );
  // Under the post's lock: of an approve and a reject racing, one decides, the other is 409.
  const moved = await withPostLocked(deps.db, ctx.workspaceId, postId, async (tx) => {
    const out: PostTarget[] = [];
    for (const [i, t] of waiting.entries()) {
      const row = await transitionTarget(tx, ctx.workspaceId, t.id, ['pending_approval'], 'scheduled', {
        scheduledAt: times[i]!,
      });
      if (row) out.push(row);
    }
    if (out.length === 0) throw decidedMeanwhile();
    await addReview(tx, ctx.workspaceId, {
      postId,
      actorId: ctx.userId,
      decision: 'approved',
      comment: input.comment ?? null,
    });
    return out;
  });
  await deps.queue.enqueueMany(moved);
  await audit(
    deps,
    ctx,
    'post.approve',
    { type: 'post', id: postId },
    {
      targets: moved.map((r) => ({ id: r.id, scheduledAt: r.scheduledAt })),
      comment: input.comment,
    },
  );
  for (const r of moved) await emitStatus(deps.events, r, 'pending_approval');
  const after = await requirePost(deps, ctx, postId);
  return viewPost(after.post, after.targets, ctx.timeZone);
}

/** Rejects a post: its waiting targets go back to `draft` with the reviewer's comment. */
export async function rejectPost(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  input: { comment: string },
): Promise<PostView> {
  requireRole(ctx, 'admin');
  const found = await requirePost(deps, ctx, postId);
  const waiting = found.targets.filter((t) => t.status === 'pending_approval');
  if (waiting.length === 0)
    throw invalidState('This post is not waiting for approval', { statuses: found.targets.map((t) => t.status) });
  const moved = await withPostLocked(deps.db, ctx.workspaceId, postId, async (tx) => {
    const out: PostTarget[] = [];
    for (const t of waiting) {
      const row = await transitionTarget(tx, ctx.workspaceId, t.id, ['pending_approval'], 'draft');
      if (row) out.push(row);
    }
    if (out.length === 0) throw decidedMeanwhile();
    await addReview(tx, ctx.workspaceId, { postId, actorId: ctx.userId, decision: 'rejected', comment: input.comment });
    return out;
  });
  await audit(deps, ctx, 'post.reject', { type: 'post', id: postId }, { comment: input.comment });
  for (const r of moved) await emitStatus(deps.events, r, 'pending_approval');
  const after = await requirePost(deps, ctx, postId);
  return viewPost(after.post, after.targets, ctx.timeZone);
}

/** Posts waiting for approval, oldest first. */
export async function listApprovals(
  deps: SchedulingDeps,
  ctx: PostsContext,
  opts: { limit: number; cursor?: string | undefined },
) {
  return listPosts(deps, ctx, { ...opts, statuses: ['pending_approval'] });
}
