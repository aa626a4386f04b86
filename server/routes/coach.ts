/**
 * The success coach over REST (docs/coach.md): the caller's goals (set from a measured
 * baseline, listed, dropped), their progress with forecasts and weekly plans, when the coach
 * writes to them, a check-in, the history of what it sent and whether its actions were
 * acted on, and accepting an action. Routes translate; `coach/` checks the caller itself.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AcceptInput,
  acceptAction,
  coachCheckin,
  coachHistory,
  dropGoal,
  getProgress,
  getSettings,
  GoalInput,
  listGoals,
  setGoal,
  SettingsInput,
  updateSettings,
  type CoachDeps,
} from '../../coach/index.js';
import { serviceContextOf } from '../http/context.js';

const Id = z.string().min(1).max(64);

export const coachRoutes: FastifyPluginAsyncZod<{ coach: CoachDeps }> = async (app, { coach }) => {
  const tags = ['coach'];
  app.get(
    '/coach/goals',
    {
      schema: {
        tags,
        summary: "The caller's goals (active unless status=all)",
        querystring: z.strictObject({ status: z.enum(['active', 'all']).default('active') }),
      },
    },
    async (req) => ({ items: await listGoals(coach, serviceContextOf(req), { status: req.query.status }) }),
  );

  app.post(
    '/coach/goals',
    {
      schema: {
        tags,
        summary: 'Sets a goal: a metric, a target and a due date, starting from the figure analytics measures now',
        body: GoalInput,
      },
    },
    async (req, reply) => reply.code(201).send(await setGoal(coach, serviceContextOf(req), req.body)),
  );

  app.delete(
    '/coach/goals/:id',
    { schema: { tags, summary: 'Drops a goal (kept in history as abandoned)', params: z.object({ id: Id }) } },
    async (req) => dropGoal(coach, serviceContextOf(req), req.params.id),
  );

  app.get(
    '/coach/progress',
    {
      schema: {
        tags,
        summary: 'Each active goal: current figure, forecast with its interval and chance, milestones, weekly plan',
        querystring: z.strictObject({ goalId: Id.optional() }),
      },
    },
    async (req) => getProgress(coach, serviceContextOf(req), { goalId: req.query.goalId }),
  );

  app.get('/coach/settings', { schema: { tags, summary: 'When the coach writes to the caller' } }, async (req) =>
    getSettings(coach, serviceContextOf(req)),
  );

  app.put(
    '/coach/settings',
    {
      schema: {
        tags,
        summary: 'Daily message time (HH:MM, own zone), quiet weekdays, muted intervention kinds, on/off',
        body: SettingsInput,
      },
    },
    async (req) => updateSettings(coach, serviceContextOf(req), req.body),
  );

  app.post(
    '/coach/checkin',
    { schema: { tags, summary: 'How am I doing: progress, forecast, yesterday, streak, actions for today, insight' } },
    async (req) => coachCheckin(coach, serviceContextOf(req)),
  );

  app.get(
    '/coach/history',
    {
      schema: {
        tags,
        summary: 'Messages the coach sent the caller, their facts, actions acted on, and its effectiveness',
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(200).default(30),
          before: z.iso.datetime({ offset: true }).optional(),
        }),
      },
    },
    async (req) =>
      coachHistory(coach, serviceContextOf(req), {
        limit: req.query.limit,
        before: req.query.before ? new Date(req.query.before) : undefined,
      }),
  );

  app.post(
    '/coach/messages/:messageId/actions/:actionId/accept',
    {
      schema: {
        tags,
        summary: "Does what a message's action offered (editor): schedules the draft, or posts `text` in the slot",
        params: z.object({ messageId: Id, actionId: z.string().regex(/^a\d$/) }),
        body: AcceptInput.optional(),
      },
    },
    async (req) =>
      acceptAction(coach, serviceContextOf(req), req.params.messageId, req.params.actionId, req.body ?? {}),
  );
};
