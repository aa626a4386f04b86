/**
 * Tracked links over REST (docs/links.md): create a link, list the workspace's links with
 * their click totals, read one, attach one to a post, and click statistics per link,
 * platform and day. Routes translate; `tools/links` checks the caller's workspace and role,
 * as it does for the agent and the campaigns service.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  attachLinkToPost,
  createTrackedLink,
  getTrackedLink,
  linkStats,
  listTrackedLinks,
  MAX_DESTINATION_LENGTH,
  MAX_LINKS_PER_CALL,
  MAX_UTM_LENGTH,
  type LinksDeps,
} from '../../tools/links/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import { serviceContextOf } from '../http/context.js';
import { IdParams, Instant, Uuid } from '../http/schemas.js';

const ctxOf = (req: FastifyRequest): ServiceContext => serviceContextOf(req);

const UtmValue = z.string().max(MAX_UTM_LENGTH).optional();
const CreateLink = z.strictObject({
  destinationUrl: z.string().min(1).max(MAX_DESTINATION_LENGTH).describe('http(s) URL people are sent to'),
  campaignId: Uuid.optional(),
  productId: Uuid.optional(),
  postId: Uuid.optional(),
  targetId: Uuid.optional().describe("One of the post's targets; its platform becomes the link's"),
  variant: z.string().max(40).optional().describe('A/B variant label'),
  platform: z.string().max(40).optional(),
  utm: z
    .strictObject({ source: UtmValue, medium: UtmValue, campaign: UtmValue, content: UtmValue, term: UtmValue })
    .optional()
    .describe('Added to the destination unless it already carries them'),
});

const Range = {
  from: Instant.optional().describe('Start (ISO instant); default 30 days before `to`'),
  to: Instant.optional().describe('End, exclusive; default now'),
};

export const linkRoutes: FastifyPluginAsyncZod<{ links: LinksDeps }> = async (app, { links: deps }) => {
  app.post(
    '/links',
    {
      schema: {
        tags: ['links'],
        summary: 'Creates a tracked short link (editor): `/l/<code>` redirects to the destination with UTM added',
        body: CreateLink,
      },
    },
    async (req, reply) => reply.code(201).send(await createTrackedLink(deps, ctxOf(req), req.body)),
  );

  app.get(
    '/links',
    {
      schema: {
        tags: ['links'],
        summary: "The workspace's links, newest first, with clicks, unique clicks and bot clicks",
        querystring: z.strictObject({
          campaignId: Uuid.optional(),
          postId: Uuid.optional(),
          limit: z.coerce.number().int().min(1).max(MAX_LINKS_PER_CALL).default(50),
          offset: z.coerce.number().int().min(0).max(100_000).default(0),
        }),
      },
    },
    async (req) => listTrackedLinks(deps, ctxOf(req), req.query),
  );

  app.get(
    '/links/stats',
    {
      schema: {
        tags: ['links'],
        summary:
          'Clicks, unique clicks and bot clicks per link, platform and day, for chosen links, a campaign or a post',
        querystring: z.strictObject({
          linkIds: z
            .string()
            .max(MAX_LINKS_PER_CALL * 37)
            .optional()
            .describe('Comma-separated link ids'),
          campaignId: Uuid.optional(),
          postId: Uuid.optional(),
          ...Range,
        }),
      },
    },
    async (req) => {
      const { linkIds, ...rest } = req.query;
      return linkStats(deps, ctxOf(req), {
        ...rest,
        ...(linkIds !== undefined
          ? {
              linkIds: linkIds
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            }
          : {}),
      });
    },
  );

  app.get('/links/:id', { schema: { tags: ['links'], summary: 'One tracked link', params: IdParams } }, async (req) =>
    getTrackedLink(deps, ctxOf(req), req.params.id),
  );

  app.get(
    '/links/:id/stats',
    {
      schema: {
        tags: ['links'],
        summary: "One link's clicks per platform and day",
        params: IdParams,
        querystring: z.strictObject(Range),
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      await getTrackedLink(deps, ctx, req.params.id);
      const { links } = await linkStats(deps, ctx, { linkIds: [req.params.id], ...req.query });
      return links[0];
    },
  );

  app.post(
    '/links/:id/attach',
    {
      schema: {
        tags: ['links'],
        summary: "Points the link at one of the workspace's posts (and one of its targets) (editor)",
        params: IdParams,
        body: z.strictObject({ postId: Uuid, targetId: Uuid.optional() }),
      },
    },
    async (req) => attachLinkToPost(deps, ctxOf(req), req.params.id, req.body),
  );
};
