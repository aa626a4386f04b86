/**
 * The coach's history: every message it sent a member, the facts it stated, its actions and
 * whether each was acted on — a draft it offered that was then scheduled or published, a
 * slot in which something was posted — and from that its effectiveness. Accepting an
 * action (one tap in the console, one confirm in chat) runs the same posts service every
 * channel uses: the draft is scheduled at the suggested time, or a post is scheduled in
 * the slot with the post the coach drafted for it (or the member's own text).
 */
import { and, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, requireRole, schema } from '../core/index.js';
import { suggestTimes } from '../tools/analytics/index.js';
import { createPost, getPostView, schedulePostDraft, type PostView } from '../tools/posts/index.js';
import { memberOf, nowOf, type CoachContext, type CoachDeps } from './context.js';
import type { CoachAction } from './facts.js';

/** How close to a slot a post counts as posted in it. */
export const SLOT_TOLERANCE_MS = 3 * 3_600_000;

export interface HistoryItem {
  id: string;
  kind: string;
  topic: string | null;
  day: string;
  text: string;
  source: string;
  model: string | null;
  rejected: { text: string | null; reason: string } | null;
  facts: Record<string, unknown>;
  actions: Array<CoachAction & { acted: boolean }>;
  createdAt: string;
}

export interface History {
  items: HistoryItem[];
  effectiveness: { messages: number; actions: number; acted: number; actedPct: number | null };
}

async function actedOn(
  deps: CoachDeps,
  workspaceId: string,
  rows: Array<{ createdAt: Date; actions: CoachAction[] }>,
): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  const t = schema.postTargets;
  const draftTargets = rows.flatMap((r) =>
    r.actions.filter((a) => a.type === 'draft' && a.targetId).map((a) => a.targetId!),
  );
  const statuses = draftTargets.length
    ? await deps.db
        .select({ id: t.id, status: t.status })
        .from(t)
        .where(and(eq(t.workspaceId, workspaceId), inArray(t.id, draftTargets)))
    : [];
  const status = new Map(statuses.map((s) => [s.id, s.status]));
  for (const r of rows)
    for (const a of r.actions) {
      const key = `${r.createdAt.toISOString()}|${a.id}`;
      if (a.type === 'draft') {
        const s = status.get(a.targetId ?? '');
        out.set(key, !!s && ['pending_approval', 'scheduled', 'publishing', 'published'].includes(s));
      } else {
        const at = new Date(a.at).getTime();
        const [hit] = await deps.db
          .select({ id: t.id })
          .from(t)
          .where(
            and(
              eq(t.workspaceId, workspaceId),
              eq(t.socialAccountId, a.socialAccountId),
              gte(t.createdAt, r.createdAt),
              inArray(t.status, ['pending_approval', 'scheduled', 'publishing', 'published']),
              sql`coalesce(${t.publishedAt}, ${t.scheduledAt}) between ${new Date(at - SLOT_TOLERANCE_MS).toISOString()}::timestamptz and ${new Date(at + SLOT_TOLERANCE_MS).toISOString()}::timestamptz`,
            ),
          )
          .limit(1);
        out.set(key, !!hit);
      }
    }
  return out;
}

/** The caller's messages, newest first, with whether their actions were acted on. */
export async function coachHistory(
  deps: CoachDeps,
  ctx: CoachContext,
  opts: { limit?: number | undefined; before?: Date | undefined } = {},
): Promise<History> {
  const userId = memberOf(ctx);
  const m = schema.coachMessages;
  const rows = await deps.db
    .select()
    .from(m)
    .where(
      and(
        eq(m.workspaceId, ctx.workspaceId),
        eq(m.userId, userId),
        opts.before ? lt(m.createdAt, opts.before) : undefined,
      ),
    )
    .orderBy(desc(m.createdAt))
    .limit(Math.min(Math.max(opts.limit ?? 30, 1), 200));
  const typed = rows.map((r) => ({ ...r, actions: r.actions as unknown as CoachAction[] }));
  const acted = await actedOn(deps, ctx.workspaceId, typed);
  const items = typed.map((r) => ({
    id: r.id,
    kind: r.kind,
    topic: r.topic,
    day: r.day,
    text: r.text,
    source: r.source,
    model: r.model,
    rejected: r.rejectedReason ? { text: r.rejectedText, reason: r.rejectedReason } : null,
    facts: r.facts,
    actions: r.actions.map((a) => ({ ...a, acted: acted.get(`${r.createdAt.toISOString()}|${a.id}`) ?? false })),
    createdAt: r.createdAt.toISOString(),
  }));
  const actions = items.reduce((n, i) => n + i.actions.length, 0);
  const done = items.reduce((n, i) => n + i.actions.filter((a) => a.acted).length, 0);
  return {
    items,
    effectiveness: {
      messages: items.length,
      actions,
      acted: done,
      actedPct: actions ? Math.round((done / actions) * 100) : null,
    },
  };
}

export const AcceptInput = z.strictObject({
  /** A slot's post text (instead of the one the coach drafted for it; required when it drafted none). */
  text: z.string().trim().min(1).max(20_000).optional(),
});

/** The action of one of the caller's messages (default: their latest daily message). */
export async function findAction(deps: CoachDeps, ctx: CoachContext, messageId: string | null, actionId: string) {
  const userId = memberOf(ctx);
  const m = schema.coachMessages;
  const mine = and(eq(m.workspaceId, ctx.workspaceId), eq(m.userId, userId));
  const [row] =
    messageId === null
      ? await deps.db
          .select()
          .from(m)
          .where(and(mine, eq(m.kind, 'daily')))
          .orderBy(desc(m.createdAt))
          .limit(1)
      : z.guid().safeParse(messageId).success
        ? await deps.db
            .select()
            .from(m)
            .where(and(mine, eq(m.id, messageId)))
        : [];
  const action = (row?.actions as unknown as CoachAction[] | undefined)?.find((a) => a.id === actionId);
  if (!row || !action)
    throw new HeraldError('not_found', {
      message: `No action ${actionId} in ${messageId === null ? 'your latest coach message' : `coach message ${messageId} of yours`}`,
    });
  return { message: row, action };
}

/** Does what the action offered: schedules the draft at the suggested time, or posts the text in the slot. */
export async function acceptAction(
  deps: CoachDeps,
  ctx: CoachContext,
  messageId: string | null,
  actionId: string,
  input: { text?: string | undefined } = {},
): Promise<{ action: CoachAction; post: PostView; at: string }> {
  // Scheduling a post is an editor's act, whatever the channel (checked before anything is read).
  requireRole(ctx, 'editor');
  const { message, action } = await findAction(deps, ctx, messageId, actionId);
  if (action.type === 'slot' && !input.text && !action.text)
    throw new HeraldError('validation_failed', {
      message: 'This slot has no drafted post: give the text to post in it (`text`)',
    });
  // Accepted once: the action is claimed in its message before anything is scheduled, so a
  // second press (a double click, a Slack retry, an agent retry) gets the first post back.
  const m = schema.coachMessages;
  const index = (message.actions as unknown as CoachAction[]).findIndex((a) => a.id === action.id);
  const path = `{${index},acceptedPostId}`;
  const [claimed] = await deps.db
    .update(m)
    .set({ actions: sql`jsonb_set(${m.actions}, ${path}::text[], '"pending"'::jsonb)` })
    .where(and(eq(m.id, message.id), sql`${m.actions} -> ${index}::int ->> 'acceptedPostId' is null`))
    .returning({ id: m.id });
  if (!claimed) {
    const [row] = await deps.db.select({ actions: m.actions }).from(m).where(eq(m.id, message.id));
    const first = (row?.actions as Array<{ acceptedPostId?: string; acceptedAt?: string }> | undefined)?.[index];
    if (!first?.acceptedPostId || first.acceptedPostId === 'pending')
      throw new HeraldError('invalid_state', {
        message: 'This action is being accepted right now; look at your scheduled posts in a moment',
      });
    const post = await getPostView(deps.scheduling, ctx, first.acceptedPostId);
    return { action, post, at: first.acceptedAt ?? action.at };
  }
  try {
    const done = await scheduleAction(deps, ctx, action, input);
    await deps.db
      .update(m)
      .set({
        actions: sql`jsonb_set(jsonb_set(${m.actions}, ${path}::text[], ${JSON.stringify(done.post.id)}::jsonb), ${`{${index},acceptedAt}`}::text[], ${JSON.stringify(done.at)}::jsonb)`,
      })
      .where(eq(m.id, message.id));
    return done;
  } catch (err) {
    // Nothing was scheduled: the action may be accepted again.
    await deps.db
      .update(m)
      .set({ actions: sql`${m.actions} #- ${path}::text[]` })
      .where(eq(m.id, message.id));
    throw err;
  }
}

async function scheduleAction(
  deps: CoachDeps,
  ctx: CoachContext,
  action: CoachAction,
  input: { text?: string | undefined },
): Promise<{ action: CoachAction; post: PostView; at: string }> {
  const now = nowOf(deps);
  let at = action.at;
  if (new Date(at).getTime() <= now.getTime() + 60_000) {
    // The suggested time has passed: the account's next suggested time instead.
    const [s] = (await suggestTimes(deps.scheduling, ctx, { socialAccountIds: [action.socialAccountId], after: now }))
      .suggestions;
    at = s!.at;
  }
  if (action.type === 'draft') {
    const post = await schedulePostDraft(deps.scheduling, ctx, action.postId!, { at });
    return { action, post, at };
  }
  // The member's own text, else the post the coach drafted for the slot.
  const text = input.text ?? action.text;
  if (!text)
    throw new HeraldError('validation_failed', {
      message: 'This slot has no drafted post: give the text to post in it (`text`)',
    });
  const post = await createPost(deps.scheduling, ctx, {
    content: text,
    targets: [{ socialAccountId: action.socialAccountId }],
    mode: 'schedule',
    at,
  });
  return { action, post, at };
}
