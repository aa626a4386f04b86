/**
 * "Add to queue" for a draft: each of its draft targets takes its account's next free posting
 * slot. The slot is picked and the target moved to it in one transaction holding the
 * account's queue lock (`withQueueLocks`), the same lock `addToQueue` takes for new text, so
 * two posts queued at once on one account — from REST, the agent or two API nodes — never
 * share a slot. In a workspace that requires approval an editor's draft waits as
 * `pending_approval` with the slot as its planned time, as `schedulePostDraft` does.
 */
import { addReview, getPost, HeraldError, requireRole, transitionTarget, type PostTarget } from '../../core/index.js';
import { audit, emitStatus, type SchedulingDeps } from '../scheduling/context.js';
import { withQueueLocks } from '../scheduling/slots.js';
import { checkTargets } from '../scheduling/validation.js';
import { approvalRequired, viewPost, type PostsContext, type PostView } from './service.js';

export async function queuePostDraft(deps: SchedulingDeps, ctx: PostsContext, postId: string): Promise<PostView> {
  requireRole(ctx, 'editor');
  const found = await getPost(deps.db, ctx.workspaceId, postId);
  if (!found) throw new HeraldError('not_found', { message: `No post ${postId} in this workspace` });
  const drafts = found.targets.filter((t) => t.status === 'draft');
  if (drafts.length === 0)
    throw new HeraldError('invalid_state', {
      message: 'This post has no draft targets to queue',
      details: { statuses: found.targets.map((t) => t.status) },
    });
  const pending = await approvalRequired(deps, ctx);
  const moved = await withQueueLocks(
    deps,
    ctx,
    drafts.map((t) => t.socialAccountId),
    async (tx, times) => {
      await checkTargets(
        tx,
        deps.connectors,
        ctx.workspaceId,
        drafts.map((t) => ({ ...t, at: times.get(t.socialAccountId)! })),
      );
      const rows: PostTarget[] = [];
      for (const t of drafts) {
        const row = await transitionTarget(
          tx,
          ctx.workspaceId,
          t.id,
          ['draft'],
          pending ? 'pending_approval' : 'scheduled',
          {
            scheduledAt: times.get(t.socialAccountId)!,
          },
        );
        if (row) rows.push(row);
      }
      return rows;
    },
  );
  if (pending) await addReview(deps.db, ctx.workspaceId, { postId, actorId: ctx.userId, decision: 'submitted' });
  else await deps.queue.enqueueMany(moved);
  await audit(
    deps,
    ctx,
    pending ? 'post.submit' : 'post.queue',
    { type: 'post', id: postId },
    { targets: moved.map((r) => ({ id: r.id, scheduledAt: r.scheduledAt })) },
  );
  for (const r of moved) await emitStatus(deps.events, r, 'draft');
  const after = await getPost(deps.db, ctx.workspaceId, postId);
  return viewPost(after!.post, after!.targets, ctx.timeZone);
}
