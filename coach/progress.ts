/**
 * Where each goal stands: the current figure (analytics), how far along the way from the
 * baseline it is, the trend and the forecast at the due date with its interval and the
 * chance of arriving on time, the milestones (marked reached once), and the weekly plan —
 * redrawn when it is a week old or the goal's on-track verdict changed since it was drawn.
 */
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { schema } from '../core/index.js';
import { nowOf, type CoachContext, type CoachDeps } from './context.js';
import { forecast, MIN_FORECAST_POINTS } from './forecast.js';
import { accountsById, getGoalRow, goalOf, listGoals, type Goal, type Milestone } from './goals.js';
import { measure, type Measured, type SeriesPoint } from './measure.js';
import { drawPlan, type WeeklyPlan } from './plan.js';

export interface GoalProgress {
  goal: Goal;
  current: number | null;
  /** Share of the way from baseline to target, percent (0 at the baseline, 100 at the target). */
  progressPct: number | null;
  unit: 'day' | 'week';
  series: SeriesPoint[];
  source: string;
  forecast: {
    /** Change per day (followers) or per week (weekly figures). */
    slope: number;
    predicted: number;
    low: number;
    high: number;
    /** Chance of reaching the target by the due date, percent. */
    probabilityPct: number;
    points: number;
    method: string;
  } | null;
  /** Null without a forecast. */
  onTrack: boolean | null;
  nextMilestone: Milestone | null;
  /** Milestones reached by this reading (not before). */
  newlyReached: Milestone[];
  plan: WeeklyPlan;
  summary: string;
}

const PLAN_MAX_AGE_MS = 7 * 86_400_000;
const r1 = (n: number) => Math.round(n * 10) / 10;

export async function goalProgress(
  deps: CoachDeps,
  ctx: CoachContext,
  goal: Goal,
  now = nowOf(deps),
  /** What a batch has read already: the measured series, and the goal's stored plan. */
  known?: { measured?: Measured | undefined; planRow?: { plan: unknown; planAt: Date | null } | undefined },
): Promise<GoalProgress> {
  const zone = ctx.timeZone;
  const measured = known?.measured ?? (await measure(deps, ctx, goal, now));
  const current = measured.current;
  const rising = goal.target >= goal.baseline;
  const span = goal.target - goal.baseline;
  const progressPct = current === null ? null : span === 0 ? 100 : Math.round(((current - goal.baseline) / span) * 100);
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const daysLeft = DateTime.fromISO(goal.dueDate, { zone }).diff(today, 'days').days;
  const atX = measured.unit === 'day' ? daysLeft : daysLeft / 7;
  const f = forecast(
    measured.points.map((p) => ({ x: p.x, y: p.value })),
    atX,
    goal.target,
    rising,
  );
  const fc = f && {
    slope: r1(f.slope),
    predicted: r1(f.predicted),
    low: r1(f.low),
    high: r1(f.high),
    probabilityPct: Math.round(f.probability * 100),
    points: f.points,
    method: `least-squares line through ${f.points} ${measured.unit === 'day' ? 'daily' : 'weekly'} points, 90% prediction interval (Student's t)`,
  };
  const onTrack = fc ? fc.probabilityPct >= 50 : null;
  // Milestones reached now (marked once; celebrated by the daily job).
  const reachedNow = (m: Milestone) => current !== null && (rising ? current >= m.value : current <= m.value);
  const newlyReached = goal.milestones.filter((m) => !m.reachedAt && reachedNow(m));
  let milestones = goal.milestones;
  if (newlyReached.length) {
    milestones = goal.milestones.map((m) =>
      !m.reachedAt && reachedNow(m) ? { ...m, reachedAt: now.toISOString() } : m,
    );
  }
  const t = schema.coachGoals;
  const [row] = known?.planRow
    ? [known.planRow]
    : await deps.db
        .select({ plan: t.plan, planAt: t.planAt })
        .from(t)
        .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, goal.id)));
  let plan = row?.plan as WeeklyPlan | null | undefined;
  const stale =
    !plan || !row?.planAt || now.getTime() - row.planAt.getTime() > PLAN_MAX_AGE_MS || plan.onTrack !== onTrack;
  if (stale) plan = await drawPlan(deps, ctx, { ...goal, milestones }, measured, onTrack, now);
  if (stale || newlyReached.length) {
    const achieved = milestones.at(-1)?.reachedAt ? 'achieved' : goal.status;
    await deps.db
      .update(t)
      .set({
        milestones,
        status: achieved,
        updatedAt: now,
        ...(stale ? { plan: plan as unknown as Record<string, unknown>, planAt: now } : {}),
      })
      .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, goal.id)));
  }
  const nextMilestone = milestones.find((m) => !m.reachedAt) ?? null;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const summary =
    current === null
      ? `${goal.label}: no current figure measured yet.`
      : `${goal.label}: now ${fmt(current)} (from ${fmt(goal.baseline)}, ${progressPct}% of the way)` +
        (fc
          ? `; the trend points to ${fmt(fc.predicted)} by ${goal.dueDate} (90% range ${fmt(fc.low)}–${fmt(fc.high)}), a ${fc.probabilityPct}% chance of arriving on time`
          : `; too few measurements for a forecast yet (${measured.points.length} of ${MIN_FORECAST_POINTS})`) +
        (nextMilestone ? `; next milestone ${fmt(nextMilestone.value)} by ${nextMilestone.due}` : '') +
        '.';
  return {
    goal: { ...goal, milestones },
    current,
    progressPct,
    unit: measured.unit,
    series: measured.points,
    source: measured.source,
    forecast: fc,
    onTrack,
    nextMilestone,
    newlyReached: newlyReached.map((m) => ({ ...m, reachedAt: now.toISOString() })),
    plan: plan!,
    summary,
  };
}

/** Progress of every active goal of the caller (or one goal). */
export async function getProgress(
  deps: CoachDeps,
  ctx: CoachContext,
  opts: { goalId?: string | undefined } = {},
): Promise<{ goals: GoalProgress[]; summary: string }> {
  const goals = opts.goalId
    ? [goalOf(await getGoalRow(deps, ctx, opts.goalId), await accountsById(deps, ctx.workspaceId))]
    : await listGoals(deps, ctx);
  const now = nowOf(deps);
  const out: GoalProgress[] = [];
  for (const g of goals) out.push(await goalProgress(deps, ctx, g, now));
  return progressOf(out);
}

/** Every goal's progress with the summary of them all. */
export function progressOf(out: GoalProgress[]): { goals: GoalProgress[]; summary: string } {
  return {
    goals: out,
    summary: out.length ? out.map((p) => p.summary).join('\n') : 'No goals set yet. Set one: a target and a date.',
  };
}
