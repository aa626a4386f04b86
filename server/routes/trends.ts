/**
 * Trend research over REST (docs/trends.md): the workspace's niche, rising topics with their
 * sources, evidence and why they are relevant, alerts (settings, mute, recent), hashtag
 * suggestions for a draft, content ideas for a topic, an idea turned into a draft, and a post
 * that worked adapted into a draft, tracked against the account's baseline. Routes
 * translate; `tools/trends` checks the caller's workspace and role, as it does for the agent.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DraftingDeps } from '../../tools/drafting/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import {
  adaptationResults,
  AdaptInput,
  adaptPost,
  AlertSettingsInput,
  contentIdeas,
  draftFromIdea,
  getAlerts,
  getNiche,
  HASHTAGS_PER_PLATFORM,
  MAX_WINDOW_HOURS,
  NicheInput,
  risingTopics,
  setAlertSettings,
  setNiche,
  suggestHashtags,
} from '../../tools/trends/index.js';
import { serviceContextOf } from '../http/context.js';

const ctxOf = (req: FastifyRequest): ServiceContext => serviceContextOf(req);

const Window = z.coerce.number().int().min(1).max(MAX_WINDOW_HOURS).optional().describe('Window in hours (default 24)');
const Term = z.string().trim().min(1).max(100);

export const trendRoutes: FastifyPluginAsyncZod<{ drafting: DraftingDeps }> = async (app, { drafting }) => {
  const db = drafting.scheduling.db;

  app.get(
    '/trends/niche',
    {
      schema: {
        tags: ['trends'],
        summary: "The workspace's niche: keywords, languages, Mastodon instances, subreddits, countries",
      },
    },
    async (req) => getNiche({ db }, ctxOf(req)),
  );

  app.put(
    '/trends/niche',
    {
      schema: {
        tags: ['trends'],
        summary: 'Sets the niche (editor); collection reads it from the next tick',
        body: NicheInput,
      },
    },
    async (req) => setNiche({ db }, ctxOf(req), req.body),
  );

  app.get(
    '/trends',
    {
      schema: {
        tags: ['trends'],
        summary: 'Rising topics in the niche with their sources and evidence (outside text), and each source’s health',
        querystring: z.strictObject({
          topic: z.string().trim().min(1).max(100).optional().describe('Only topics with this word'),
          windowHours: Window,
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
      },
    },
    async (req) =>
      risingTopics({ db, now: drafting.scheduling.now }, ctxOf(req), {
        topic: req.query.topic,
        windowHours: req.query.windowHours,
        limit: req.query.limit,
      }),
  );

  app.get(
    '/trends/alerts',
    {
      schema: {
        tags: ['trends'],
        summary: 'Trend alert settings (mute, muted terms, daily cap, cool-down) and the alerts of the last 7 days',
      },
    },
    async (req) => getAlerts({ db, now: drafting.scheduling.now }, ctxOf(req)),
  );

  app.put(
    '/trends/alerts',
    {
      schema: {
        tags: ['trends'],
        summary: 'Mutes or unmutes trend alerts, sets muted terms, the daily cap and the per-term cool-down (editor)',
        body: AlertSettingsInput,
      },
    },
    async (req) => setAlertSettings({ db, now: drafting.scheduling.now }, ctxOf(req), req.body),
  );

  app.get(
    '/trends/hashtags',
    {
      schema: {
        tags: ['trends'],
        summary: 'Hashtags for a draft: rising in the niche and what worked in your own posts, each with why',
        querystring: z.strictObject({
          platform: z
            .enum(Object.keys(HASHTAGS_PER_PLATFORM) as [string, ...string[]])
            .optional()
            .describe('Fits the count to the platform and favours what rises there'),
          text: z.string().max(5000).optional().describe('The draft: hashtags already in it are not suggested'),
          limit: z.coerce.number().int().min(1).max(20).optional(),
        }),
      },
    },
    async (req) => suggestHashtags({ db, now: drafting.scheduling.now }, ctxOf(req), req.query),
  );

  app.get(
    '/trends/ideas',
    {
      schema: {
        tags: ['trends'],
        summary: 'Content ideas for a rising topic, each with its potential and attribution',
        querystring: z.strictObject({ term: Term, windowHours: Window }),
      },
    },
    async (req) => contentIdeas(drafting, ctxOf(req), req.query),
  );

  app.post(
    '/trends/ideas/draft',
    {
      schema: {
        tags: ['trends'],
        summary: 'Turns one idea into a draft post for the given accounts (editor); nothing is scheduled',
        body: z.strictObject({
          term: Term,
          idea: z.number().int().min(0).max(10),
          accounts: z.array(z.string().min(1).max(200)).min(1).max(20),
          windowHours: Window,
        }),
      },
    },
    async (req, reply) => reply.code(201).send(await draftFromIdea(drafting, ctxOf(req), req.body)),
  );

  app.post(
    '/trends/adapt',
    {
      schema: {
        tags: ['trends'],
        summary:
          'Adapts a post that worked (a public Bluesky, Mastodon or X post, or your own best) into a draft with its structure about your topic (editor); quotes at most a short attributed part',
        body: AdaptInput,
      },
    },
    async (req, reply) => reply.code(201).send(await adaptPost(drafting, ctxOf(req), req.body)),
  );

  app.get(
    '/trends/adaptations',
    {
      schema: {
        tags: ['trends'],
        summary: "Adapted posts and how each does against its account's baseline (its other posts of the last 90 days)",
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).optional() }),
      },
    },
    async (req) => adaptationResults({ db, now: drafting.scheduling.now }, ctxOf(req), req.query),
  );
};
