/**
 * The weekly plan toward a goal: how many posts this week, on which accounts, at which
 * hours (each account's best hours from its engagement history) and in which formats (what
 * sets the member's top posts apart) — with the arithmetic behind the number in words.
 * Every input is an analytics figure; the plan is redrawn when reality drifts from it.
 */
import { DateTime } from 'luxon';
import { listSocialAccounts } from '../core/index.js';
import { bestTimes, dailySeries, overview, whatWorks } from '../tools/analytics/index.js';
import type { CoachContext, CoachDeps } from './context.js';
import type { Goal } from './goals.js';
import type { Measured } from './measure.js';

export interface WeeklyPlan {
  weekOf: string;
  postsPerWeek: number;
  /** Posts published in the last 28 days, per week (analytics). */
  currentPostsPerWeek: number;
  accounts: Array<{
    socialAccountId: string;
    platform: string;
    handle: string;
    posts: number;
    hours: string[];
    hoursBasis: string;
  }>;
  formats: string[];
  formatsBasis: string;
  reason: string;
  /** Whether the goal was on track when the plan was drawn (a change redraws it). */
  onTrack: boolean | null;
  drawnAt: string;
}

/** Posts per week the plan stays within. */
export const MIN_PLAN_POSTS = 1;
export const MAX_PLAN_POSTS = 21;
const clamp = (n: number) => Math.min(MAX_PLAN_POSTS, Math.max(MIN_PLAN_POSTS, n));

export async function drawPlan(
  deps: CoachDeps,
  ctx: CoachContext,
  goal: Goal,
  measured: Measured,
  onTrack: boolean | null,
  now: Date,
): Promise<WeeklyPlan> {
  const zone = ctx.timeZone;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const month = { from: today.minus({ days: 27 }).toJSDate(), to: now };
  const all = await listSocialAccounts(deps.db, ctx.workspaceId, { includeDisconnected: false });
  const accounts = goal.socialAccountId
    ? all.filter((a) => a.id === goal.socialAccountId)
    : all.filter((a) => a.status === 'active');
  const [series, month4] = await Promise.all([
    dailySeries({ db: deps.db }, ctx, month),
    overview({ db: deps.db }, ctx, month),
  ]);
  const posts28 = series.days.reduce((s, d) => s + d.posts, 0);
  const currentPostsPerWeek = Math.round((posts28 / 4) * 10) / 10;
  const next = goal.milestones.find((m) => !m.reachedAt) ?? goal.milestones.at(-1);
  const weeksLeft = Math.max(1, DateTime.fromISO(goal.dueDate, { zone }).diff(today, 'weeks').weeks);
  const current = measured.current ?? goal.baseline;
  const gapPerWeek = (goal.target - current) / weeksLeft;
  let postsPerWeek: number;
  let reason: string;
  if (goal.metric === 'posts_per_week') {
    postsPerWeek = clamp(Math.ceil(next?.value ?? goal.target));
    reason = `next milestone is ${next?.value ?? goal.target} posts per week; you published ${currentPostsPerWeek} a week over the last 4 weeks`;
  } else if (goal.metric === 'engagement_rate') {
    postsPerWeek = clamp(Math.round(currentPostsPerWeek) || 3);
    reason =
      'an engagement rate grows with what you post, not how much: keep your pace and lean on the formats that work';
  } else {
    // Gain per post over the last 28 days: followers gained (series) or engagements per post (overview).
    let perPost: number | null = null;
    if (goal.metric === 'followers') {
      const old = measured.points.find((p) => p.x >= -28);
      const gained = old && measured.current !== null ? measured.current - old.value : null;
      perPost = gained !== null && posts28 > 0 ? gained / posts28 : null;
    } else perPost = month4.current.engagementsPerPost;
    if (perPost !== null && perPost > 0) {
      postsPerWeek = clamp(Math.ceil(gapPerWeek / perPost));
      reason = `${Math.round(gapPerWeek * 10) / 10} more ${goal.metric === 'followers' ? 'followers' : 'engagements'} a week are needed to arrive on time; a post brought ${Math.round(perPost * 100) / 100} over the last 4 weeks`;
    } else {
      postsPerWeek = clamp(Math.max(3, Math.ceil(currentPostsPerWeek) + 1));
      reason = `no measured gain per post in the last 4 weeks yet, so a steady pace a little above your ${currentPostsPerWeek} a week`;
    }
  }
  const n = Math.max(1, accounts.length);
  const planned = await Promise.all(
    accounts.map(async (a, i) => {
      const best = await bestTimes({ db: deps.db }, ctx, a.id, now);
      const posts = Math.floor(postsPerWeek / n) + (i < postsPerWeek % n ? 1 : 0);
      return {
        socialAccountId: a.id,
        platform: a.platform,
        handle: a.handle,
        posts,
        hours: best.best.slice(0, Math.max(1, Math.min(3, posts))).map((b) => b.label),
        hoursBasis: best.basis,
      };
    }),
  );
  const works = await whatWorks({ db: deps.db }, ctx, { socialAccountId: goal.socialAccountId ?? undefined, now });
  const formats = works.findings
    .filter((f) => f.certainty !== 'unclear' && f.effectSize > 0)
    .slice(0, 3)
    .map((f) => f.label);
  return {
    weekOf: today.startOf('week').toFormat('yyyy-LL-dd'),
    postsPerWeek,
    currentPostsPerWeek,
    accounts: planned,
    formats,
    formatsBasis: works.summary,
    reason,
    onTrack,
    drawnAt: now.toISOString(),
  };
}
