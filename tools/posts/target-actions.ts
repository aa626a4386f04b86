/**
 * Actions on one target named with its post (`/posts/:id/targets/:targetId/...`): the role is
 * checked first, then that the target is on that post in the caller's workspace, then the
 * scheduling service acts. A viewer is told `forbidden` whether or not the target exists.
 */
import { getTarget, HeraldError, requireRole } from '../../core/index.js';
import type { SchedulingDeps } from '../scheduling/context.js';
import { cancel, type ScheduledTarget } from '../scheduling/service.js';
import type { PostsContext } from './service.js';

export async function cancelTarget(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  targetId: string,
): Promise<ScheduledTarget> {
  requireRole(ctx, 'editor');
  const target = await getTarget(deps.db, ctx.workspaceId, targetId);
  if (!target || target.postId !== postId)
    throw new HeraldError('not_found', { message: `No target ${targetId} on post ${postId} in this workspace` });
  return cancel(deps, ctx, targetId);
}
