/**
 * Posts as a person edits them: drafts, per-account variants, scheduling and publishing
 * through the scheduling service (approvals in `approvals.ts`, the calendar in
 * `calendar.ts`). Every function is scoped to the caller's workspace and checks the caller's role;
 * every change leaves an audit record.
 *
 * Approval: when the workspace's `requireApproval` setting is on, an editor (or a `write`
 * API key) cannot schedule directly — the post's targets wait as `pending_approval` until an
 * admin or owner approves (they are then validated and queued) or rejects (back to `draft`,
 * with the reviewer's comment). Admins and owners schedule directly.
 */
import {
  addReview,
  createPost as insertPost,
  deletePost as removePost,
  getPost,
  getSocialAccount,
  getTarget,
  getWorkspace,
  HeraldError,
  requireRole,
  roleAtLeast,
  listPostsPageJson,
  listReviews,
  transitionTarget,
  updatePostFields,
  updateTargetVariant,
  type Post,
  type PostCursor,
  type PostTarget,
  type schema,
  type TargetStatus,
} from '../../core/index.js';
import { audit, emitStatus, nowOf, type SchedulingDeps, type ServiceContext } from '../scheduling/context.js';
import { createScheduled, getPostStatus, resolveFutureTime, type TargetInput } from '../scheduling/service.js';
import { parseUserTime, showInZone } from '../scheduling/time.js';
import { checkTargets } from '../scheduling/validation.js';
import { draftFor, type TargetContent } from '../publishing/draft.js';
import { pageCacheOf, pageKey } from './page-cache.js';

/** The scheduling context (it carries the caller's role). */
export type PostsContext = ServiceContext;

/** Statuses in which a target's variant can still be edited. */
export const EDITABLE: TargetStatus[] = ['draft', 'pending_approval', 'scheduled'];

export interface TargetView extends PostTarget {
  scheduledAtLocal: string | null;
}

export interface PostView extends Post {
  targets: TargetView[];
}

const viewTarget = (t: PostTarget, zone: string): TargetView => ({
  ...t,
  scheduledAtLocal: t.scheduledAt ? showInZone(t.scheduledAt, zone) : null,
});

export const viewPost = (post: Post, targets: PostTarget[], zone: string): PostView => ({
  ...post,
  targets: targets.map((t) => viewTarget(t, zone)),
});

export async function approvalRequired(deps: SchedulingDeps, ctx: PostsContext): Promise<boolean> {
  if (roleAtLeast(ctx.role, 'admin')) return false;
  const ws = await getWorkspace(deps.db, ctx.workspaceId);
  return ws?.settings.requireApproval === true;
}

export async function requirePost(deps: SchedulingDeps, ctx: PostsContext, postId: string) {
  const found = await getPost(deps.db, ctx.workspaceId, postId);
  if (!found) throw new HeraldError('not_found', { message: `No post ${postId} in this workspace` });
  return found;
}

/**
 * Runs a time parse, naming the input field in any `invalid_time` error it throws. The field
 * is named, not where it sat in an HTTP request: the agent and bots get the same error.
 */
export function timeField<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof HeraldError && err.code === 'invalid_time')
      throw new HeraldError('invalid_time', {
        message: err.message,
        details: { ...(err.details ?? {}), issues: [{ field, message: err.message }] },
      });
    throw err;
  }
}

export function invalidState(message: string, details: Record<string, unknown>): HeraldError {
  return new HeraldError('invalid_state', { message, details });
}

function normaliseTargets(input: { content: string; targets: TargetInput[] }) {
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

export interface CreatePostInput {
  content: string;
  tags?: string[] | undefined;
  targets: TargetInput[];
  /** `draft` keeps it unscheduled (an optional planned time shows on the calendar). */
  mode: 'draft' | 'schedule' | 'now';
  /** Required for `schedule`: an instant with offset, or a wall-clock time in the caller's zone. */
  at?: string | undefined;
}

/**
 * Creates a post. Drafts are checked only for their accounts (they may still be too long);
 * scheduled and immediate posts are validated against every platform and queued — or, when
 * approval is required, wait as `pending_approval`, validated but not queued.
 */
export async function createPost(deps: SchedulingDeps, ctx: PostsContext, input: CreatePostInput): Promise<PostView> {
  requireRole(ctx, 'editor');
  const tags = input.tags ?? [];
  if (input.mode === 'schedule' && !input.at)
    throw new HeraldError('validation_failed', {
      message: 'A scheduled post needs `at`',
      details: { issues: [{ field: 'at', message: 'required when scheduling' }] },
    });

  if (input.mode !== 'draft' && !(await approvalRequired(deps, ctx))) {
    const at = input.mode === 'now' ? nowOf(deps) : timeField('at', () => resolveFutureTime(deps, ctx, input.at!));
    const { postId } = await createScheduled(deps, ctx, { ...input, tags }, () => at, {
      action: input.mode === 'now' ? 'post.publish_now' : 'post.schedule',
    });
    const found = await requirePost(deps, ctx, postId);
    return viewPost(found.post, found.targets, ctx.timeZone);
  }

  const targets = normaliseTargets(input);
  const pending = input.mode !== 'draft';
  const at =
    input.mode === 'now'
      ? null
      : input.at
        ? timeField('at', () =>
            pending ? resolveFutureTime(deps, ctx, input.at!) : parseUserTime(input.at!, ctx.timeZone),
          )
        : null;
  // A post waiting for approval is validated now, so the reviewer sees something publishable.
  const checked = pending
    ? await checkTargets(
        deps.db,
        deps.connectors,
        ctx.workspaceId,
        targets.map((t) => ({ ...t, at })),
      )
    : null;
  const { post, targets: rows } = await insertPost(deps.db, ctx.workspaceId, {
    authorId: ctx.userId,
    content: input.content,
    tags,
    targets: await Promise.all(
      targets.map(async (t, i) => ({
        ...t,
        platform: checked ? checked[i]!.account.platform : await draftPlatformOf(deps, ctx, t),
        status: pending ? ('pending_approval' as const) : ('draft' as const),
        scheduledAt: at,
      })),
    ),
  });
  if (pending)
    await addReview(deps.db, ctx.workspaceId, { postId: post.id, actorId: ctx.userId, decision: 'submitted' });
  await audit(
    deps,
    ctx,
    pending ? 'post.submit' : 'post.draft',
    { type: 'post', id: post.id },
    {
      targets: rows.map((r) => ({ id: r.id, platform: r.platform, socialAccountId: r.socialAccountId })),
      scheduledAt: at,
    },
  );
  for (const r of rows) await emitStatus(deps.events, r, null);
  return viewPost(post, rows, ctx.timeZone);
}

/**
 * For a draft (whose text is not validated yet): its account's platform, after checking the
 * account and every media id belong to this workspace — another workspace's are not found.
 */
async function draftPlatformOf(
  deps: SchedulingDeps,
  ctx: PostsContext,
  target: TargetContent & { socialAccountId: string },
): Promise<string> {
  const socialAccountId = target.socialAccountId;
  await draftFor(deps.db, ctx.workspaceId, target);
  const account = await getSocialAccount(deps.db, ctx.workspaceId, socialAccountId);
  if (!account)
    throw new HeraldError('not_found', {
      message: `No social account ${socialAccountId} in this workspace`,
      details: { socialAccountId },
    });
  return account.platform;
}

export async function getPostView(deps: SchedulingDeps, ctx: PostsContext, postId: string) {
  requireRole(ctx, 'viewer');
  const status = await getPostStatus(deps, ctx, postId);
  return {
    ...status.post,
    targets: status.targets,
    reviews: await listReviews(deps.db, ctx.workspaceId, postId),
  };
}

const encodeCursor = (c: PostCursor) => Buffer.from(`${c.createdAt}|${c.id}`, 'utf8').toString('base64url');

function decodeCursor(cursor: string): PostCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = text.lastIndexOf('|');
  const createdAt = text.slice(0, bar);
  const id = text.slice(bar + 1);
  if (
    bar < 0 ||
    !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:?\d{2}){0,2}$/.test(createdAt) ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
  ) {
    throw new HeraldError('validation_failed', {
      message: 'The cursor is not one this API returned',
      details: { issues: [{ field: 'cursor', message: 'invalid cursor' }] },
    });
  }
  return { createdAt, id };
}

/**
 * A page of posts, newest first, each with a summary of its targets (id, account, platform,
 * status, times, URL, last error message) — the full variants are in `getPostView`. The page
 * comes back as JSON text built by the database (`json`), ready to send.
 */
export async function listPosts(
  deps: SchedulingDeps,
  ctx: PostsContext,
  opts: {
    limit: number;
    cursor?: string | undefined;
    statuses?: TargetStatus[] | undefined;
    /**
     * The workspace's content version read earlier in the same request (the principal
     * lookup reads it): with it, the rendered page is served from and kept in the page cache.
     */
    contentVersion?: number | undefined;
  },
): Promise<{ json: Buffer }> {
  requireRole(ctx, 'viewer');
  const key =
    opts.contentVersion === undefined
      ? undefined
      : pageKey(ctx.workspaceId, opts.contentVersion, { ...opts, timeZone: ctx.timeZone });
  const cached = key === undefined ? undefined : pageCacheOf(deps.db).get(key);
  if (cached) return { json: cached };
  const page = await listPostsPageJson(deps.db, ctx.workspaceId, {
    limit: opts.limit,
    timeZone: ctx.timeZone,
    ...(opts.cursor ? { after: decodeCursor(opts.cursor) } : {}),
    ...(opts.statuses?.length ? { statuses: opts.statuses } : {}),
  });
  const json = Buffer.from(
    `{"items":${page.items},"nextCursor":${JSON.stringify(page.next ? encodeCursor(page.next) : null)}}`,
  );
  if (key !== undefined) pageCacheOf(deps.db).set(key, json);
  return { json };
}

/** Replaces the post's master text and tags (each target keeps its own variant). */
export async function updatePost(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  input: { content: string; tags?: string[] | undefined },
): Promise<PostView> {
  requireRole(ctx, 'editor');
  const before = await requirePost(deps, ctx, postId);
  const post = await updatePostFields(deps.db, ctx.workspaceId, postId, {
    content: input.content,
    ...(input.tags ? { tags: input.tags } : {}),
  });
  if (!post) throw new HeraldError('not_found', { message: `No post ${postId} in this workspace` });
  await audit(
    deps,
    ctx,
    'post.update',
    { type: 'post', id: postId },
    {
      contentChanged: before.post.content !== input.content,
      tags: input.tags,
    },
  );
  return viewPost(post, before.targets, ctx.timeZone);
}

export async function getTargetView(deps: SchedulingDeps, ctx: PostsContext, postId: string, targetId: string) {
  requireRole(ctx, 'viewer');
  const target = await getTarget(deps.db, ctx.workspaceId, targetId);
  if (!target || target.postId !== postId)
    throw new HeraldError('not_found', { message: `No target ${targetId} on post ${postId} in this workspace` });
  return viewTarget(target, ctx.timeZone);
}

export interface TargetVariantInput {
  content: string;
  threadParts?: string[] | undefined;
  media?: schema.TargetMedia[] | undefined;
  options?: Record<string, unknown> | undefined;
  /** New time; `null` clears a draft's planned time. Omitted keeps the current time. */
  scheduledAt?: string | null | undefined;
  /** The version you read; a different current version is a conflict (someone else edited it). */
  version?: number | undefined;
}

/**
 * Replaces one target's variant while it is a draft, pending approval or scheduled. A
 * scheduled target is validated against its platform and cap again and its job moved to the
 * new time; an editor's change to a scheduled target in an approval workspace sends it back
 * to `pending_approval`.
 */
export async function updateTarget(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  targetId: string,
  input: TargetVariantInput,
): Promise<TargetView> {
  requireRole(ctx, 'editor');
  const target = await getTarget(deps.db, ctx.workspaceId, targetId);
  if (!target || target.postId !== postId)
    throw new HeraldError('not_found', { message: `No target ${targetId} on post ${postId} in this workspace` });
  if (!EDITABLE.includes(target.status))
    throw invalidState(`Cannot edit a post that is ${target.status.replace('_', ' ')}`, {
      targetId,
      status: target.status,
    });
  if (input.version !== undefined && input.version !== target.version)
    throw new HeraldError('conflict', {
      message: 'This post was changed since you read it; reload and try again',
      details: { targetId, yourVersion: input.version, currentVersion: target.version },
    });

  const variant = {
    content: input.content,
    threadParts: input.threadParts ?? [],
    media: input.media ?? [],
    options: input.options ?? {},
  };
  let scheduledAt: Date | null = target.scheduledAt;
  if (input.scheduledAt === null) {
    if (target.status === 'scheduled')
      throw new HeraldError('validation_failed', {
        message: 'A scheduled post needs a time; cancel it instead',
        details: { issues: [{ field: 'scheduledAt', message: 'cannot be null while scheduled' }] },
      });
    scheduledAt = null;
  } else if (input.scheduledAt !== undefined) {
    const text = input.scheduledAt;
    scheduledAt = timeField('scheduledAt', () =>
      target.status === 'draft' ? parseUserTime(text, ctx.timeZone) : resolveFutureTime(deps, ctx, text),
    );
  }

  let status = target.status;
  if (status === 'draft') await draftFor(deps.db, ctx.workspaceId, variant);
  else {
    await checkTargets(
      deps.db,
      deps.connectors,
      ctx.workspaceId,
      [{ socialAccountId: target.socialAccountId, ...variant, at: scheduledAt }],
      { excludeTargetId: target.id },
    );
    if (status === 'scheduled' && (await approvalRequired(deps, ctx))) status = 'pending_approval';
  }
  const updated = await updateTargetVariant(
    deps.db,
    ctx.workspaceId,
    targetId,
    [target.status],
    { ...variant, scheduledAt, status },
    target.version,
  );
  if (!updated)
    throw new HeraldError('conflict', {
      message: 'This post changed while you were editing it (it may be publishing); reload and try again',
      details: { targetId },
    });
  if (updated.status === 'scheduled') {
    if (scheduledAt?.getTime() !== target.scheduledAt?.getTime()) await deps.queue.reschedule(updated);
  } else if (target.status === 'scheduled') {
    await deps.queue.remove(targetId);
    await addReview(deps.db, ctx.workspaceId, { postId, actorId: ctx.userId, decision: 'submitted' });
  }
  await audit(
    deps,
    ctx,
    'post.target_update',
    { type: 'post_target', id: targetId },
    {
      postId,
      from: target.status,
      to: updated.status,
      scheduledAt,
    },
  );
  if (updated.status !== target.status) await emitStatus(deps.events, updated, target.status);
  return viewTarget(updated, ctx.timeZone);
}

/** Deletes a post and its targets; refused while one is being published. Queued jobs are removed. */
export async function deletePost(deps: SchedulingDeps, ctx: PostsContext, postId: string): Promise<void> {
  requireRole(ctx, 'editor');
  const found = await requirePost(deps, ctx, postId);
  const busy = found.targets.find((t) => t.status === 'publishing');
  if (busy)
    throw invalidState('This post is being published right now; try again in a moment', {
      targetId: busy.id,
      status: busy.status,
    });
  for (const t of found.targets) if (t.status === 'scheduled') await deps.queue.remove(t.id);
  if (!(await removePost(deps.db, ctx.workspaceId, postId)))
    throw new HeraldError('not_found', { message: `No post ${postId} in this workspace` });
  await audit(
    deps,
    ctx,
    'post.delete',
    { type: 'post', id: postId },
    {
      targets: found.targets.map((t) => ({ id: t.id, status: t.status, platformPostId: t.platformPostId })),
    },
  );
}

/**
 * Schedules a draft's targets (or sends them for approval). `at` overrides each target's
 * planned time; `now` publishes at once.
 */
export async function schedulePostDraft(
  deps: SchedulingDeps,
  ctx: PostsContext,
  postId: string,
  input: { at?: string | undefined; now?: boolean | undefined },
): Promise<PostView> {
  requireRole(ctx, 'editor');
  const found = await requirePost(deps, ctx, postId);
  const drafts = found.targets.filter((t) => t.status === 'draft');
  if (drafts.length === 0)
    throw invalidState('This post has no draft targets to schedule', {
      statuses: found.targets.map((t) => t.status),
    });
  const pending = await approvalRequired(deps, ctx);
  const at = input.at;
  const fixed = input.now ? nowOf(deps) : at ? timeField('at', () => resolveFutureTime(deps, ctx, at)) : null;
  const timeOf = (t: PostTarget): Date | null => {
    if (fixed) return fixed;
    if (t.scheduledAt) return resolveFutureTime(deps, ctx, t.scheduledAt);
    if (pending) return null; // the approver publishes it when they approve
    throw new HeraldError('validation_failed', {
      message: 'Give `at` (or `now: true`): this draft has no planned time',
      details: { issues: [{ field: 'at', message: 'required' }], targetId: t.id },
    });
  };
  const times = drafts.map(timeOf);
  await checkTargets(
    deps.db,
    deps.connectors,
    ctx.workspaceId,
    drafts.map((t, i) => ({ ...t, at: times[i] ?? null })),
  );
  const moved: PostTarget[] = [];
  for (const [i, t] of drafts.entries()) {
    const row = await transitionTarget(
      deps.db,
      ctx.workspaceId,
      t.id,
      ['draft'],
      pending ? 'pending_approval' : 'scheduled',
      {
        scheduledAt: times[i] ?? null,
      },
    );
    if (row) moved.push(row);
  }
  if (!pending) await deps.queue.enqueueMany(moved);
  else await addReview(deps.db, ctx.workspaceId, { postId, actorId: ctx.userId, decision: 'submitted' });
  await audit(
    deps,
    ctx,
    pending ? 'post.submit' : 'post.schedule',
    { type: 'post', id: postId },
    {
      targets: moved.map((r) => ({ id: r.id, scheduledAt: r.scheduledAt })),
    },
  );
  for (const r of moved) await emitStatus(deps.events, r, 'draft');
  const after = await requirePost(deps, ctx, postId);
  return viewPost(after.post, after.targets, ctx.timeZone);
}
