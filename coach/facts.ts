/**
 * The facts of a member's morning message, every figure read from analytics: yesterday's
 * results beside the day before, the posting streak, each goal's progress and forecast, one
 * to three actions for today (a waiting draft at its best slot, a best-hour slot to post
 * in), and one insight (what sets top posts apart, else the best hour). The message — the
 * model's or the template's — may state nothing that is not here.
 */
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { listSocialAccounts } from '../core/index.js';
import { bestTimes, dailySeries, overview, suggestTimes, whatWorks } from '../tools/analytics/index.js';
import type { CoachContext, CoachDeps } from './context.js';
import { getProgress } from './progress.js';

export interface CoachAction {
  /** `a1`, `a2`, `a3` within the message. */
  id: string;
  type: 'draft' | 'slot';
  label: string;
  /** ISO instant suggested, and the same in the member's zone. */
  at: string;
  atLocal: string;
  socialAccountId: string;
  platform: string;
  /** A draft: the post and target it schedules. */
  postId?: string;
  targetId?: string;
  excerpt?: string;
  /**
   * A slot: the post the model drafted for it in the same call as the message (checked like
   * the message), accepted as is unless the member gives their own. Not in the facts: only in
   * the message's stored actions. Without it (the template wrote), accepting needs `text`.
   */
  text?: string;
  why: string;
}

export interface DailyFacts {
  day: string;
  timeZone: string;
  yesterday: {
    date: string;
    posts: number;
    engagements: number;
    engagementsDayBefore: number;
    engagementsChangePct: number | null;
    followerGrowth: number | null;
  };
  /** Days in a row, ending yesterday, with at least one post published. */
  streak: number;
  goals: Array<{
    goalId: string;
    label: string;
    current: number | null;
    target: number;
    progressPct: number | null;
    probabilityPct: number | null;
    onTrack: boolean | null;
    dueDate: string;
    nextMilestone: { value: number; due: string } | null;
  }>;
  /** Milestones reached and not celebrated yet: the message celebrates them, once. */
  reached: Array<{ goalId: string; label: string; value: number }>;
  actions: CoachAction[];
  insight: { text: string; source: 'what_works' | 'best_time' | 'none' };
  drafts: number;
}

export const STREAK_DAYS = 60;
const clip = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 1)}…` : s).replace(/\s+/g, ' ');

/** Draft targets waiting in the workspace, the member's own first, oldest first. */
export async function waitingDrafts(deps: CoachDeps, ctx: CoachContext, limit = 3) {
  const rows = (await deps.db.execute(sql`
    select t.id as target_id, t.post_id, t.platform, t.social_account_id, t.content,
           count(*) over () as total
    from post_targets t join posts p on p.workspace_id = t.workspace_id and p.id = t.post_id
    join social_accounts a on a.workspace_id = t.workspace_id and a.id = t.social_account_id and a.status = 'active'
    where t.workspace_id = ${ctx.workspaceId} and t.status = 'draft'
    order by (p.author_id is not distinct from ${ctx.userId}) desc, t.created_at asc, t.id asc
    limit ${limit}`)) as { rows: Array<Record<string, unknown>> };
  return {
    total: Number(rows.rows[0]?.total ?? 0),
    items: rows.rows.map((r) => ({
      targetId: String(r.target_id),
      postId: String(r.post_id),
      platform: String(r.platform),
      socialAccountId: String(r.social_account_id),
      content: String(r.content),
    })),
  };
}

/** The ranges a member's facts read, in their zone: yesterday, and the days the streak looks back over. */
export function factRanges(zone: string, now: Date) {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const yesterday = today.minus({ days: 1 });
  return {
    today,
    yesterday,
    day: { from: yesterday.toJSDate(), to: today.toJSDate() },
    streak: { from: today.minus({ days: STREAK_DAYS }).toJSDate(), to: today.toJSDate() },
  };
}

/** What the facts are drawn from: read per member here, or for a whole batch at once (`facts-batch.ts`). */
export interface FactsInput {
  day: Awaited<ReturnType<typeof overview>>;
  streakSeries: Awaited<ReturnType<typeof dailySeries>>;
  progress: Awaited<ReturnType<typeof getProgress>>;
  drafts: Awaited<ReturnType<typeof waitingDrafts>>;
  accounts: Array<{ id: string; platform: string; handle: string; status: string }>;
}

export async function dailyFacts(
  deps: CoachDeps,
  ctx: CoachContext,
  now: Date,
  known?: Awaited<ReturnType<typeof getProgress>>,
): Promise<DailyFacts> {
  const a = { db: deps.db };
  const r = factRanges(ctx.timeZone, now);
  const [day, streakSeries, progress, drafts, accounts] = await Promise.all([
    overview(a, ctx, r.day),
    dailySeries(a, ctx, r.streak),
    known ?? getProgress(deps, ctx),
    waitingDrafts(deps, ctx, 2),
    listSocialAccounts(deps.db, ctx.workspaceId, { includeDisconnected: false }),
  ]);
  return factsFrom(deps, ctx, now, { day, streakSeries, progress, drafts, accounts });
}

/** The facts from what was read: the actions (best times), the insight (what works) and the message's figures. */
export async function factsFrom(deps: CoachDeps, ctx: CoachContext, now: Date, input: FactsInput): Promise<DailyFacts> {
  const zone = ctx.timeZone;
  const a = { db: deps.db };
  const { today, yesterday } = factRanges(zone, now);
  const { day, streakSeries, progress, drafts, accounts } = input;
  let streak = 0;
  for (let i = streakSeries.days.length - 1; i >= 0 && streakSeries.days[i]!.posts > 0; i--) streak++;

  const actions: CoachAction[] = [];
  const active = accounts.filter((x) => x.status === 'active');
  const suggestionsFor = async (ids: string[]) =>
    ids.length
      ? (await suggestTimes(deps.scheduling, ctx, { socialAccountIds: ids, after: now, accounts: active })).suggestions
      : [];
  const draftSuggestions = await suggestionsFor([...new Set(drafts.items.map((d) => d.socialAccountId))]);
  for (const d of drafts.items) {
    const s = draftSuggestions.find((x) => x.socialAccountId === d.socialAccountId);
    if (!s) continue;
    actions.push({
      id: `a${actions.length + 1}`,
      type: 'draft',
      label: `Schedule your ${d.platform} draft "${clip(d.content)}" for ${s.atLocal}`,
      at: s.at,
      atLocal: s.atLocal,
      socialAccountId: d.socialAccountId,
      platform: d.platform,
      postId: d.postId,
      targetId: d.targetId,
      excerpt: clip(d.content),
      why: s.reason,
    });
  }
  const used = new Set(actions.map((x) => x.socialAccountId));
  const free = active.filter((x) => !used.has(x.id)).slice(0, 3 - actions.length);
  const slotSuggestions = await suggestionsFor(free.map((x) => x.id));
  for (const s of slotSuggestions) {
    if (actions.length >= 3) break;
    actions.push({
      id: `a${actions.length + 1}`,
      type: 'slot',
      label: `Post on ${s.platform} at ${s.atLocal}`,
      at: s.at,
      atLocal: s.atLocal,
      socialAccountId: s.socialAccountId,
      platform: s.platform,
      why: s.reason,
    });
  }

  let insight: DailyFacts['insight'] = {
    text: 'Not enough measured posts yet for an insight: every post measured sharpens the advice.',
    source: 'none',
  };
  const works = await whatWorks(a, ctx, { now });
  const sure = works.findings.find((f) => f.certainty !== 'unclear');
  if (sure) insight = { text: sure.text, source: 'what_works' };
  else {
    // Best hours already read with the suggestions are not read again.
    const known = new Map([...draftSuggestions, ...slotSuggestions].map((x) => [x.socialAccountId, x.bestHours]));
    for (const acct of active) {
      const best = known.get(acct.id) ?? (await bestTimes(a, ctx, acct.id, now));
      const top = best.best[0];
      if (best.confidence !== 'weak' && top) {
        insight = {
          text: `${top.label} is your best hour on ${acct.platform}: ${top.liftPct >= 0 ? '+' : ''}${top.liftPct}% engagement against your typical post (${best.basis})`,
          source: 'best_time',
        };
        break;
      }
    }
  }
  return {
    day: today.toFormat('yyyy-LL-dd'),
    timeZone: zone,
    yesterday: {
      date: yesterday.toFormat('ccc d LLL'),
      posts: day.current.posts,
      engagements: day.current.engagements,
      engagementsDayBefore: day.previous.engagements,
      engagementsChangePct: day.changePct.engagements,
      followerGrowth: day.current.followerGrowth,
    },
    streak,
    goals: progress.goals.map((p) => ({
      goalId: p.goal.id,
      label: p.goal.label,
      current: p.current,
      target: p.goal.target,
      progressPct: p.progressPct,
      probabilityPct: p.forecast?.probabilityPct ?? null,
      onTrack: p.onTrack,
      dueDate: p.goal.dueDate,
      nextMilestone: p.nextMilestone ? { value: p.nextMilestone.value, due: p.nextMilestone.due } : null,
    })),
    reached: progress.goals.flatMap((p) =>
      p.goal.milestones
        .filter((m) => m.reachedAt && !m.celebratedAt)
        .map((m) => ({ goalId: p.goal.id, label: p.goal.label, value: m.value })),
    ),
    actions,
    insight,
    drafts: drafts.total,
  };
}
