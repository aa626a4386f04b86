/**
 * Goals: a member's target for a metric by a date, starting from the baseline analytics
 * measures when it is set, with four milestones on the straight path between the two
 * (25%, 50%, 75%, 100%, each with the date it falls due on that path).
 */
import { and, desc, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { HeraldError, schema } from '../core/index.js';
import { resolveAccounts } from '../tools/drafting/index.js';
import { memberOf, nowOf, type CoachContext, type CoachDeps } from './context.js';
import { measure, Metric, METRIC_INFO, type MetricName } from './measure.js';

export const GoalInput = z.strictObject({
  metric: Metric,
  target: z.number().positive().max(1e9),
  /** YYYY-MM-DD in the member's zone. */
  dueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'A date as YYYY-MM-DD'),
  /** Account id, platform name or handle: required for followers, optional for the weekly figures. */
  account: z.string().trim().min(1).max(200).optional(),
});
export type GoalInput = z.infer<typeof GoalInput>;

export interface Milestone {
  value: number;
  due: string;
  reachedAt: string | null;
  celebratedAt: string | null;
}

export interface Goal {
  id: string;
  metric: MetricName;
  socialAccountId: string | null;
  account: { platform: string; handle: string } | null;
  target: number;
  baseline: number;
  baselineAt: string;
  dueDate: string;
  status: string;
  label: string;
  milestones: Milestone[];
  createdAt: string;
}

export const MAX_ACTIVE_GOALS = 10;

type Row = typeof schema.coachGoals.$inferSelect;

const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : String(n));

export function goalLabel(g: { metric: MetricName; target: number; dueDate: string }, account: Goal['account']) {
  const what =
    g.metric === 'engagement_rate'
      ? `${fmt(g.target)}% engagement rate`
      : `${fmt(g.target)} ${METRIC_INFO[g.metric].label}`;
  return `${what}${account ? ` on ${account.platform} @${account.handle}` : ''} by ${g.dueDate}`;
}

async function accountsById(deps: CoachDeps, workspaceId: string) {
  const a = schema.socialAccounts;
  const rows = await deps.db
    .select({ id: a.id, platform: a.platform, handle: a.handle })
    .from(a)
    .where(eq(a.workspaceId, workspaceId));
  return new Map(rows.map((r) => [r.id, { platform: r.platform, handle: r.handle }]));
}

export function goalOf(r: Row, accounts: Map<string, { platform: string; handle: string }>): Goal {
  const account = r.socialAccountId ? (accounts.get(r.socialAccountId) ?? null) : null;
  const metric = r.metric as MetricName;
  return {
    id: r.id,
    metric,
    socialAccountId: r.socialAccountId,
    account,
    target: Number(r.target),
    baseline: Number(r.baseline),
    baselineAt: r.baselineAt.toISOString(),
    dueDate: r.dueDate,
    status: r.status,
    label: goalLabel({ metric, target: Number(r.target), dueDate: r.dueDate }, account),
    milestones: r.milestones,
    createdAt: r.createdAt.toISOString(),
  };
}

/** Four milestones at 25/50/75/100% of the way, due on the straight path from today to the due date. */
export function milestonesOf(baseline: number, target: number, from: DateTime, due: DateTime, metric: MetricName) {
  const days = Math.max(1, Math.round(due.diff(from.startOf('day'), 'days').days));
  const integral = metric !== 'engagement_rate';
  return [0.25, 0.5, 0.75, 1].map((f) => {
    const raw = baseline + (target - baseline) * f;
    return {
      value: integral ? (target >= baseline ? Math.ceil(raw) : Math.floor(raw)) : Math.round(raw * 100) / 100,
      due: from
        .startOf('day')
        .plus({ days: Math.round(days * f) })
        .toFormat('yyyy-LL-dd'),
      reachedAt: null,
      celebratedAt: null,
    };
  });
}

/** Sets a goal from the member's measured baseline. */
export async function setGoal(deps: CoachDeps, ctx: CoachContext, input: GoalInput): Promise<Goal> {
  const userId = memberOf(ctx);
  const parsed = GoalInput.safeParse(input);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.') || '(goal)'}: ${i.message}`).join('; '),
    });
  const g = parsed.data;
  const now = nowOf(deps);
  const zone = ctx.timeZone;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const due = DateTime.fromISO(g.dueDate, { zone });
  if (!due.isValid) throw new HeraldError('validation_failed', { message: `${g.dueDate} is not a date` });
  if (due <= today) throw new HeraldError('validation_failed', { message: 'The due date must be after today' });
  if (due > today.plus({ years: 3 }))
    throw new HeraldError('validation_failed', { message: 'A goal is due within three years' });
  if (g.metric === 'engagement_rate' && g.target > 100)
    throw new HeraldError('validation_failed', { message: 'An engagement rate is a percentage (0–100)' });
  if (METRIC_INFO[g.metric].needsAccount && !g.account)
    throw new HeraldError('validation_failed', { message: `A ${g.metric} goal names its account` });
  const account = g.account ? (await resolveAccounts(deps.db, ctx, [g.account]))[0]! : null;
  const t = schema.coachGoals;
  const active = await deps.db
    .select({ id: t.id })
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId), eq(t.status, 'active')));
  if (active.length >= MAX_ACTIVE_GOALS)
    throw new HeraldError('invalid_state', {
      message: `You have ${active.length} active goals; drop one first (at most ${MAX_ACTIVE_GOALS})`,
      details: { active: active.length },
    });
  const measured = await measure(deps, ctx, { metric: g.metric, socialAccountId: account?.id ?? null }, now);
  if (measured.current === null)
    throw new HeraldError('goal_unmeasurable', {
      message:
        g.metric === 'followers'
          ? `No follower count measured yet for ${account!.platform} @${account!.handle}: analytics reads it once a day (or the platform does not report it)`
          : 'No impressions measured yet on any account, so there is no engagement rate to start from',
      details: { metric: g.metric },
    });
  const [row] = await deps.db
    .insert(t)
    .values({
      workspaceId: ctx.workspaceId,
      userId,
      metric: g.metric,
      socialAccountId: account?.id ?? null,
      target: g.target,
      baseline: measured.current,
      baselineAt: now,
      dueDate: g.dueDate,
      milestones: milestonesOf(measured.current, g.target, today, due, g.metric),
    })
    .returning();
  return goalOf(row!, await accountsById(deps, ctx.workspaceId));
}

/** The caller's goals (active first, newest first). */
export async function listGoals(
  deps: CoachDeps,
  ctx: CoachContext,
  opts: { status?: 'active' | 'all' } = {},
): Promise<Goal[]> {
  const userId = memberOf(ctx);
  const t = schema.coachGoals;
  const rows = await deps.db
    .select()
    .from(t)
    .where(
      and(
        eq(t.workspaceId, ctx.workspaceId),
        eq(t.userId, userId),
        opts.status === 'all' ? undefined : eq(t.status, 'active'),
      ),
    )
    .orderBy(desc(t.createdAt));
  const accounts = await accountsById(deps, ctx.workspaceId);
  return rows.map((r) => goalOf(r, accounts));
}

export async function getGoalRow(deps: CoachDeps, ctx: CoachContext, id: string): Promise<Row> {
  const userId = memberOf(ctx);
  const t = schema.coachGoals;
  const [row] = z.guid().safeParse(id).success
    ? await deps.db
        .select()
        .from(t)
        .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId), eq(t.id, id)))
    : [];
  if (!row) throw new HeraldError('not_found', { message: `No goal ${id} of yours in this workspace` });
  return row;
}

/** Drops a goal (kept in history as `abandoned`). */
export async function dropGoal(deps: CoachDeps, ctx: CoachContext, id: string): Promise<Goal> {
  const row = await getGoalRow(deps, ctx, id);
  const t = schema.coachGoals;
  const [updated] = await deps.db
    .update(t)
    .set({ status: 'abandoned', updatedAt: nowOf(deps) })
    .where(and(eq(t.workspaceId, row.workspaceId), eq(t.id, row.id)))
    .returning();
  return goalOf(updated!, await accountsById(deps, ctx.workspaceId));
}

export { accountsById };
