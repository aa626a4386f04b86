/**
 * A check-in in conversation ("how am I doing?", "what should I post today?"): each goal's
 * progress and forecast, yesterday and the streak, today's actions and the insight — the
 * same facts as the morning message, for the agent to answer from (voice reaches it through
 * the same agent). Nothing is sent or stored.
 */
import { nowOf, memberOf, type CoachContext, type CoachDeps } from './context.js';
import { dailyFacts, type DailyFacts } from './facts.js';
import { renderTemplate } from './message.js';
import { getProgress, type GoalProgress } from './progress.js';

export interface CheckIn {
  progress: Array<
    Pick<GoalProgress, 'goal' | 'current' | 'progressPct' | 'forecast' | 'onTrack' | 'nextMilestone' | 'summary'> & {
      plan: GoalProgress['plan'];
    }
  >;
  today: Pick<DailyFacts, 'yesterday' | 'streak' | 'actions' | 'insight' | 'drafts'>;
  /** The facts in sentences (the template message). */
  text: string;
}

export async function coachCheckin(deps: CoachDeps, ctx: CoachContext): Promise<CheckIn> {
  memberOf(ctx);
  const now = nowOf(deps);
  const progress = await getProgress(deps, ctx);
  const facts = await dailyFacts(deps, ctx, now, progress);
  return {
    progress: progress.goals.map((p) => ({
      goal: p.goal,
      current: p.current,
      progressPct: p.progressPct,
      forecast: p.forecast,
      onTrack: p.onTrack,
      nextMilestone: p.nextMilestone,
      summary: p.summary,
      plan: p.plan,
    })),
    today: {
      yesterday: facts.yesterday,
      streak: facts.streak,
      actions: facts.actions,
      insight: facts.insight,
      drafts: facts.drafts,
    },
    text: renderTemplate({ ...facts, reached: [] }).replace(/^Good morning!\n/, ''),
  };
}
