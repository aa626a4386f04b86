/**
 * The success coach in conversation: set a goal ("1,000 Bluesky followers by March"), read
 * progress and the forecast, check in ("how am I doing?", "what should I post today?"),
 * change when the coach writes, and accept one of the morning message's actions (confirmed
 * first). Each is a schema and one `coach/` call.
 */
import { z } from 'zod';
import {
  acceptAction,
  coachCheckin,
  findAction,
  getProgress,
  GoalInput,
  setGoal,
  SettingsInput,
  updateSettings,
  type CoachDeps,
} from '../../coach/index.js';
import { clip, ctxOf } from './common.js';
import { defineTool, type ToolEnv } from './types.js';

const coachOf = (env: ToolEnv): CoachDeps => ({ db: env.deps.db, scheduling: env.deps, now: env.now });

const AcceptArgs = z.object({
  actionId: z.string().regex(/^a\d$/).describe('The action of the message: a1, a2 or a3'),
  messageId: z.guid().optional().describe("The coach message's id; default the latest morning message"),
  text: z
    .string()
    .min(1)
    .max(20_000)
    .optional()
    .describe("For a slot: the user's own text to post in it, instead of the post the coach drafted"),
});

export const coachTools = [
  defineTool({
    name: 'set_goal',
    description:
      'Sets a goal for the user: a metric (followers of one account, posts_per_week, engagements_per_week, engagement_rate in percent), a target and a due date (YYYY-MM-DD in their zone; "by March" is the 1st of March). It starts from the figure analytics measures now and gets four milestones.',
    schema: GoalInput.extend({
      account: z.string().min(1).max(200).optional().describe('Account id or platform name (required for followers)'),
    }),
    sideEffect: false,
    run: async (env, args) => setGoal(coachOf(env), ctxOf(env), args),
  }),
  defineTool({
    name: 'get_progress',
    description:
      "Where each of the user's goals stands: the current figure, share of the way, the trend and the forecast at the due date with its 90% range and the chance of arriving on time, milestones, and this week's plan (posts, accounts, hours, formats).",
    schema: z.object({ goalId: z.guid().optional() }),
    sideEffect: false,
    run: async (env, args) => {
      const p = await getProgress(coachOf(env), ctxOf(env), { goalId: args.goalId });
      return {
        summary: p.summary,
        goals: p.goals.map((g) => ({
          goal: { id: g.goal.id, label: g.goal.label, baseline: g.goal.baseline, target: g.goal.target },
          current: g.current,
          progressPct: g.progressPct,
          forecast: g.forecast,
          onTrack: g.onTrack,
          nextMilestone: g.nextMilestone,
          plan: g.plan,
        })),
      };
    },
  }),
  defineTool({
    name: 'coach_checkin',
    description:
      '"How am I doing?" / "What should I post today?": progress and forecast of each goal, yesterday\'s results, the streak, one to three actions for today (a waiting draft at its best time, a best-hour slot) and one insight. Answer from these figures only.',
    schema: z.object({}),
    sideEffect: false,
    run: async (env) => coachCheckin(coachOf(env), ctxOf(env)),
  }),
  defineTool({
    name: 'set_coach_settings',
    description:
      "When the coach writes to the user: the morning message's time (HH:MM, their zone), weekdays off (1 Monday .. 7 Sunday), intervention kinds muted (failing_account, approvals_waiting, no_posts, falling_engagement, draft_pile), or coaching off.",
    schema: SettingsInput,
    sideEffect: false,
    run: async (env, args) => updateSettings(coachOf(env), ctxOf(env), args),
  }),
  defineTool({
    name: 'accept_coach_action',
    description:
      "Does what one of the coach's actions offered: schedules the suggested draft at its suggested time, or schedules in the suggested slot the post the coach drafted for it (or `text`, the user's own).",
    schema: AcceptArgs,
    sideEffect: true,
    describe: async (env, args) => {
      const { action, message } = await findAction(coachOf(env), ctxOf(env), args.messageId ?? null, args.actionId);
      return {
        summary:
          action.type === 'draft'
            ? `Schedule the ${action.platform} draft "${action.excerpt ?? ''}" for ${action.atLocal}`
            : `Schedule on ${action.platform} for ${action.atLocal}: "${clip(args.text ?? action.text ?? '', 120)}"`,
        details: {
          messageId: message.id,
          actionId: action.id,
          type: action.type,
          at: action.at,
          postId: action.postId,
          // The exact text that goes out (the summary shows its start).
          ...(action.type === 'draft' ? {} : { text: args.text ?? action.text ?? '' }),
        },
      };
    },
    run: async (env, args) => {
      const out = await acceptAction(coachOf(env), ctxOf(env), args.messageId ?? null, args.actionId, {
        text: args.text,
      });
      return {
        action: out.action.label,
        at: out.at,
        postId: out.post.id,
        status: out.post.targets.map((t) => t.status),
      };
    },
  }),
];
