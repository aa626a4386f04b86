/**
 * Trend research over REST (docs/trends.md): the workspace's niche, rising topics with their
 * sources and evidence, content ideas for a topic, and an idea turned into a draft. Routes
 * translate; `tools/trends` checks the caller's workspace and role, as it does for the agent.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DraftingDeps } from '../../tools/drafting/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import {
  contentIdeas,
  draftFromIdea,
  getNiche,
  MAX_WINDOW_HOURS,
  NicheInput,
  risingTopics,
  setNiche,
} from '../../tools/trends/index.js';
import { serviceContextOf } from '../http/context.js';

const ctxOf = (req: FastifyRequest): ServiceContext => serviceContextOf(req);

const Window = z.coerce.number().int().min(1).max(MAX_WINDOW_HOURS).optional().describe('Window in hours (default 24)');
const Term = z.string().trim().min(1).max(100);

export const trendRoutes: FastifyPluginAsyncZod<{ drafting: DraftingDeps }> = async (app, { drafting }) => {
  const db = drafting.scheduling.db;

  app.get(
    '/trends/niche',
    { schema: { tags: ['trends'], summary: "The workspace's niche: keywords, languages, Mastodon instances" } },
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
};
