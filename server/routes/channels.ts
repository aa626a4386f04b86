/**
 * Linking chats on messaging platforms (docs/channels.md): a signed-in member makes a one-time
 * code to send to the bot, or removes their links. Routes translate; `tools/channels` decides.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../core/index.js';
import { CHANNELS, createLinkCode, unlinkChannel } from '../../tools/channels/index.js';
import { actorContextOf } from '../http/context.js';

const Channel = z.enum(CHANNELS).describe('telegram or slack');

export const channelRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/channels/link-codes',
    {
      schema: {
        tags: ['channels'],
        summary:
          'A one-time code (10 minutes) that links the chat it is sent from (`/start <code>`) to you in this workspace',
        body: z.strictObject({ channel: Channel }),
        response: {
          201: z.object({ code: z.string(), channel: Channel, expiresAt: z.string() }),
        },
      },
    },
    async (req, reply) => {
      const out = await createLinkCode({ db }, actorContextOf(req, 'viewer'), req.body.channel);
      return reply.status(201).send(out);
    },
  );

  app.delete(
    '/channels/:channel/links',
    {
      schema: {
        tags: ['channels'],
        summary: 'Unlinks your chats on this platform in this workspace',
        params: z.strictObject({ channel: Channel }),
        response: { 200: z.object({ removed: z.number().int() }) },
      },
    },
    async (req) => unlinkChannel({ db }, actorContextOf(req, 'viewer'), req.params.channel),
  );
};
