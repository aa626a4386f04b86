/**
 * Engagement analytics over REST: overview beside the previous period, daily series, top and
 * bottom posts, one post's snapshots, one account's figures. Routes translate; the functions
 * in `tools/analytics` check the caller's workspace and role, as they do for the agent.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  accountAnalytics,
  bestTimes,
  suggestSlots,
  MAX_SUGGESTED_SLOTS,
  dailySeries,
  overview,
  PERIODS,
  postAnalytics,
  rankedPosts,
  resolveRange,
  whatWorks,
  weeklyReport,
  REPORT_CHARTS,
  getReportSettings,
  updateReportSettings,
  ReportSettingsInput,
  type AnalyticsDeps,
} from '../../tools/analytics/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import { serviceContextOf } from '../http/context.js';
import { IdParams, Instant, Uuid } from '../http/schemas.js';

const ctxOf = (req: FastifyRequest): ServiceContext => serviceContextOf(req);

const Period = z.strictObject({
  period: z.enum(PERIODS).optional().describe('A named period in your zone (default last_7_days)'),
  from: Instant.optional().describe('Start (ISO instant with offset); with `to`, instead of `period`'),
  to: Instant.optional().describe('End, exclusive'),
});

const rangeOf = (q: z.infer<typeof Period>, ctx: ServiceContext, now: Date) =>
  resolveRange(
    { period: q.period, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined },
    ctx.timeZone,
    now,
  );

export const analyticsRoutes: FastifyPluginAsyncZod<{ analytics: AnalyticsDeps; now?: () => Date }> = async (
  app,
  { analytics: deps, now = () => new Date() },
) => {
  app.get(
    '/analytics/overview',
    {
      schema: {
        tags: ['analytics'],
        summary:
          'Posts, engagements, impressions, engagement rate and follower growth over a period, beside the period before; says which platforms each figure includes',
        querystring: Period,
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return overview(deps, ctx, rangeOf(req.query, ctx, now()));
    },
  );

  app.get(
    '/analytics/daily',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Posts, engagements and impressions per day of publication, in your zone',
        querystring: Period,
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return dailySeries(deps, ctx, rangeOf(req.query, ctx, now()));
    },
  );

  app.get(
    '/analytics/posts',
    {
      schema: {
        tags: ['analytics'],
        summary: "The period's top (or bottom) measured posts by engagements",
        querystring: Period.extend({
          order: z.enum(['top', 'bottom']).default('top'),
          limit: z.coerce.number().int().min(1).max(100).default(10),
          socialAccountId: Uuid.optional(),
        }),
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return rankedPosts(deps, ctx, rangeOf(req.query, ctx, now()), {
        order: req.query.order,
        limit: req.query.limit,
        socialAccountId: req.query.socialAccountId,
      });
    },
  );

  app.get(
    '/analytics/posts/:id',
    {
      schema: {
        tags: ['analytics'],
        summary: "One published post target's latest figures and every stored snapshot",
        params: IdParams,
      },
    },
    async (req) => postAnalytics(deps, ctxOf(req), req.params.id),
  );

  app.get(
    '/analytics/accounts/:id',
    {
      schema: {
        tags: ['analytics'],
        summary: "One account's figures over a period beside the period before, and its daily audience",
        params: IdParams,
        querystring: Period,
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return accountAnalytics(deps, ctx, req.params.id, rangeOf(req.query, ctx, now()));
    },
  );

  app.get(
    '/analytics/accounts/:id/best-times',
    {
      schema: {
        tags: ['analytics'],
        summary:
          'The account\'s best hours to post from its own engagement history (in your zone), with how sure: "based on 83 posts; strong"',
        params: IdParams,
      },
    },
    async (req) => bestTimes(deps, ctxOf(req), req.params.id, now()),
  );

  app.get(
    '/analytics/accounts/:id/suggested-slots',
    {
      schema: {
        tags: ['analytics', 'slots'],
        summary:
          "A weekly posting schedule from the account's best hours (in your zone), spread over the week; apply it with PUT /v1/social-accounts/{id}/slots",
        params: IdParams,
        querystring: z.strictObject({
          perWeek: z.coerce
            .number()
            .int()
            .min(1)
            .max(MAX_SUGGESTED_SLOTS)
            .default(7)
            .describe('How many slots a week (default 7)'),
        }),
      },
    },
    async (req) => suggestSlots(deps, ctxOf(req), req.params.id, { perWeek: req.query.perWeek, now: now() }),
  );

  app.get(
    '/analytics/what-works',
    {
      schema: {
        tags: ['analytics'],
        summary:
          'What sets your top quarter of posts apart from the rest (length, media, links, hashtags, questions, emoji, thread, time of day, weekend), with effect size and certainty',
        querystring: z.strictObject({ socialAccountId: Uuid.optional() }),
      },
    },
    async (req) => whatWorks(deps, ctxOf(req), { socialAccountId: req.query.socialAccountId, now: now() }),
  );

  app.get(
    '/analytics/report',
    {
      schema: {
        tags: ['analytics'],
        summary:
          "Last week's report in your zone: Markdown beside the week before, top posts, what works, and SVG charts (also served at /analytics/report/charts/daily.svg and platforms.svg)",
      },
    },
    async (req) => weeklyReport(deps, ctxOf(req), now()),
  );

  app.get(
    '/analytics/report/settings',
    {
      schema: {
        tags: ['analytics'],
        summary:
          'Whether you get the weekly report (Monday 09:00 in your zone, over the WebSocket and your linked Slack or Telegram) in this workspace',
      },
    },
    async (req) => getReportSettings(deps, ctxOf(req)),
  );

  app.put(
    '/analytics/report/settings',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Turn your weekly report in this workspace on or off',
        body: ReportSettingsInput,
      },
    },
    async (req) => updateReportSettings(deps, ctxOf(req), req.body),
  );

  // One static route per chart (no path parameter: a chart is not an id).
  for (const name of REPORT_CHARTS)
    app.get(
      `/analytics/report/charts/${name}.svg`,
      {
        schema: {
          tags: ['analytics'],
          summary: `The ${name} chart of last week's report as SVG (image/svg+xml)`,
        },
      },
      async (req, reply) =>
        reply.type('image/svg+xml').send((await weeklyReport(deps, ctxOf(req), now())).charts[name]),
    );
};
