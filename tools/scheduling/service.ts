/**
 * Scheduling: schedule at an instant, publish now, reschedule, cancel, list and inspect.
 * Times are stored in UTC and read/shown in the caller's time zone. Every target is
 * validated against its platform when scheduled; the post, its targets and the queue jobs
 * are written together, and every action leaves an audit record.
 */
import {
  createPost,
  getPost,
  getTarget,
  getWorkspace,
  HeraldError,
  requireRole,
  roleAtLeast,
  listAttempts,
  listTargetsInRange,
  transitionTarget,
  type PostTarget,
  type schema,
} from '../../core/index.js';
import { audit, emitStatus, nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { parseUserTime, showInZone } from './time.js';
import { checkTargets } from './validation.js';

export interface TargetInput {
  socialAccountId: string;
  /** This platform's text; defaults to the post's content. */
  content?: string;
  /** Further parts when the target is a thread. */
  threadParts?: string[];
  media?: schema.TargetMedia[];
  options?: Record<string, unknown>;
}

export interface ScheduleInput {
  content: string;
  targets: TargetInput[];
  /** An instant with offset, or a wall-clock time read in the caller's zone. */
  at: string | Date;
  tags?: string[];
}

export interface ScheduledTarget extends PostTarget {
  /** `scheduledAt` shown in the caller's zone. */
  scheduledAtLocal: string | null;
}

/** How far in the past a time may be and still count as "now" (typing and clock skew). */
export const PAST_GRACE_MS = 60_000;

const withLocal = (t: PostTarget, zone: string): ScheduledTarget => ({
  ...t,
  scheduledAtLocal: t.scheduledAt ? showInZone(t.scheduledAt, zone) : null,
});

function resolveTargets(input: { content: string; targets: TargetInput[] }) {
  if (input.targets.length === 0)
    throw new HeraldError('validation_failed', { message: 'A post needs at least one target account' });
  return input.targets.map((t) => ({
    socialAccountId: t.socialAccountId,
    content: t.content ?? input.content,
    threadParts: t.threadParts ?? [],
    media: t.media ?? [],
    options: t.options ?? {},
  }));
}

export function resolveFutureTime(deps: SchedulingDeps, ctx: ServiceContext, at: string | Date): Date {
  const instant = parseUserTime(at, ctx.timeZone);
  const now = nowOf(deps);
  if (instant.getTime() < now.getTime() - PAST_GRACE_MS) {
    throw new HeraldError('invalid_time', {
      message: `${showInZone(instant, ctx.timeZone)} is in the past (now is ${showInZone(now, ctx.timeZone)})`,
    });
  }
  return instant;
}

/**
 * For actions that put posts straight into the queue (schedule, queue, series, CSV import):
 * an editor at least, and an admin when the workspace requires approval — an editor's posts
 * there go through `tools/posts`, which sends them for approval instead.
 */
export async function requireDirectScheduling(deps: SchedulingDeps, ctx: ServiceContext): Promise<void> {
  requireRole(ctx, 'editor');
  if (roleAtLeast(ctx.role, 'admin')) return;
  const ws = await getWorkspace(deps.db, ctx.workspaceId);
  if (ws?.settings.requireApproval === true)
    throw new HeraldError('forbidden', {
      message: 'This workspace requires approval: an editor schedules one post at a time for review; ask an admin',
      details: { required: 'admin', role: ctx.role },
    });
}

/** Schedules one post on one or more accounts at the same instant. */
export async function schedulePost(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  input: ScheduleInput,
): Promise<{ postId: string; targets: ScheduledTarget[] }> {
  await requireDirectScheduling(deps, ctx);
  const at = resolveFutureTime(deps, ctx, input.at);
  return createScheduled(deps, ctx, input, () => at);
}

/** Schedules for right now: the worker picks it up at once. */
export function publishNow(deps: SchedulingDeps, ctx: ServiceContext, input: Omit<ScheduleInput, 'at'>) {
  return schedulePost(deps, ctx, { ...input, at: nowOf(deps) });
}

/**
 * Validates, writes the post and its targets as `scheduled`, then queues one job per target.
 * `timeFor` gives each target's instant (the same for all, or per-account queue slots).
 */
export async function createScheduled(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  input: { content: string; targets: TargetInput[]; tags?: string[] },
  timeFor: (socialAccountId: string) => Date,
  extra: { seriesId?: string; occurrenceAt?: Date; action?: string } = {},
): Promise<{ postId: string; targets: ScheduledTarget[] }> {
  const created = await insertScheduled(deps, deps.db, ctx, input, timeFor, extra);
  return announceScheduled(deps, ctx, created, extra.action);
}

/**
 * The database half of `createScheduled`: validates the targets and stores the post, on
 * `db` (a transaction when the caller holds locks around it). Nothing is queued yet.
 */
export async function insertScheduled(
  deps: SchedulingDeps,
  db: SchedulingDeps['db'],
  ctx: ServiceContext,
  input: { content: string; targets: TargetInput[]; tags?: string[] },
  timeFor: (socialAccountId: string) => Date,
  extra: { seriesId?: string; occurrenceAt?: Date } = {},
): Promise<{ post: { id: string }; rows: PostTarget[] }> {
  const targets = resolveTargets(input);
  const checked = await checkTargets(
    db,
    deps.connectors,
    ctx.workspaceId,
    targets.map((t) => ({ ...t, at: timeFor(t.socialAccountId) })),
  );
  const { post, targets: rows } = await createPost(db, ctx.workspaceId, {
    authorId: ctx.userId,
    content: input.content,
    tags: input.tags ?? [],
    ...(extra.seriesId ? { seriesId: extra.seriesId, occurrenceAt: extra.occurrenceAt ?? null } : {}),
    targets: targets.map((t, i) => ({
      ...t,
      platform: checked[i]!.account.platform,
      status: 'scheduled' as const,
      scheduledAt: timeFor(t.socialAccountId),
    })),
  });
  return { post, rows };
}

/** The other half, once the post is committed: queue its targets, audit, tell listeners. */
export async function announceScheduled(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  { post, rows }: { post: { id: string }; rows: PostTarget[] },
  action = 'post.schedule',
): Promise<{ postId: string; targets: ScheduledTarget[] }> {
  await deps.queue.enqueueMany(rows);
  await audit(
    deps,
    ctx,
    action,
    { type: 'post', id: post.id },
    {
      targets: rows.map((r) => ({
        id: r.id,
        platform: r.platform,
        socialAccountId: r.socialAccountId,
        scheduledAt: r.scheduledAt,
      })),
    },
  );
  for (const r of rows) await emitStatus(deps.events, r, null);
  return { postId: post.id, targets: rows.map((r) => withLocal(r, ctx.timeZone)) };
}

async function requireTarget(deps: SchedulingDeps, ctx: ServiceContext, targetId: string): Promise<PostTarget> {
  const target = await getTarget(deps.db, ctx.workspaceId, targetId);
  if (!target) throw new HeraldError('not_found', { message: `No scheduled post ${targetId} in this workspace` });
  return target;
}

/** One target by id (in the caller's workspace), with its time in the caller's zone. */
export async function getScheduledTarget(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  targetId: string,
): Promise<ScheduledTarget> {
  requireRole(ctx, 'viewer');
  return withLocal(await requireTarget(deps, ctx, targetId), ctx.timeZone);
}

function notMovable(target: PostTarget, verb: string): HeraldError {
  return new HeraldError('invalid_state', {
    message: `Cannot ${verb} a post that is ${target.status.replace('_', ' ')}`,
    details: { targetId: target.id, status: target.status },
  });
}

/** Moves one scheduled target to a new time (validated against the account's cap again). */
export async function reschedule(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  targetId: string,
  at: string | Date,
): Promise<ScheduledTarget> {
  requireRole(ctx, 'editor');
  const target = await requireTarget(deps, ctx, targetId);
  if (target.status !== 'scheduled') throw notMovable(target, 'reschedule');
  const when = resolveFutureTime(deps, ctx, at);
  await checkTargets(deps.db, deps.connectors, ctx.workspaceId, [{ ...target, at: when }], {
    excludeTargetId: target.id,
  });
  const moved = await transitionTarget(deps.db, ctx.workspaceId, targetId, ['scheduled'], 'scheduled', {
    scheduledAt: when,
  });
  if (!moved) throw notMovable(await requireTarget(deps, ctx, targetId), 'reschedule');
  await deps.queue.reschedule(moved);
  await audit(
    deps,
    ctx,
    'post.reschedule',
    { type: 'post_target', id: targetId },
    { from: target.scheduledAt, to: when },
  );
  await emitStatus(deps.events, moved, 'scheduled');
  return withLocal(moved, ctx.timeZone);
}

/** Cancels one scheduled target; it will not be published. */
export async function cancel(deps: SchedulingDeps, ctx: ServiceContext, targetId: string): Promise<ScheduledTarget> {
  requireRole(ctx, 'editor');
  const target = await requireTarget(deps, ctx, targetId);
  const cancelled = await transitionTarget(
    deps.db,
    ctx.workspaceId,
    targetId,
    ['scheduled', 'draft', 'pending_approval'],
    'cancelled',
  );
  if (!cancelled) throw notMovable(await requireTarget(deps, ctx, targetId), 'cancel');
  await deps.queue.remove(targetId);
  await audit(deps, ctx, 'post.cancel', { type: 'post_target', id: targetId }, { scheduledAt: target.scheduledAt });
  await emitStatus(deps.events, cancelled, target.status);
  return withLocal(cancelled, ctx.timeZone);
}

/** Scheduled and finished targets in [from, to), earliest first, with times in the caller's zone. */
export async function listScheduled(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  range: { from: string | Date; to: string | Date; statuses?: PostTarget['status'][] },
): Promise<ScheduledTarget[]> {
  requireRole(ctx, 'viewer');
  const from = parseUserTime(range.from, ctx.timeZone);
  const to = parseUserTime(range.to, ctx.timeZone);
  if (to <= from) throw new HeraldError('invalid_time', { message: 'The end of the range must be after its start' });
  const rows = await listTargetsInRange(deps.db, ctx.workspaceId, {
    from,
    to,
    ...(range.statuses ? { statuses: range.statuses } : {}),
  });
  return rows.map((r) => withLocal(r, ctx.timeZone));
}

/** A post with each target's status, its attempts and its last error. */
export async function getPostStatus(deps: SchedulingDeps, ctx: ServiceContext, postId: string) {
  requireRole(ctx, 'viewer');
  const found = await getPost(deps.db, ctx.workspaceId, postId);
  if (!found) throw new HeraldError('not_found', { message: `No post ${postId} in this workspace` });
  return {
    post: found.post,
    targets: await Promise.all(
      found.targets.map(async (t) => ({
        ...withLocal(t, ctx.timeZone),
        attempts: await listAttempts(deps.db, ctx.workspaceId, t.id),
      })),
    ),
  };
}
