/**
 * Connected apps over REST: the OAuth grants people gave MCP clients (docs/mcp.md#oauth).
 * `GET /v1/oauth/grants` lists the caller's own (an admin sees every member's);
 * `DELETE /v1/oauth/grants/:id` revokes one, ending its tokens at once.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../core/index.js';
import { listGrantsFor, revokeGrantFor } from '../auth/oauth/index.js';
import { actorContextOf } from '../http/context.js';

const Grant = z.object({
  id: z.string(),
  clientName: z.string().nullable(),
  clientId: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  resource: z.string(),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

export const oauthGrantRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/oauth/grants',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Apps connected over OAuth (MCP clients): your own, or every member’s for an admin',
        response: { 200: z.object({ items: z.array(Grant) }) },
      },
    },
    async (req) => ({ items: await listGrantsFor(db, actorContextOf(req, 'viewer')) }),
  );

  app.delete(
    '/oauth/grants/:id',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Revokes a connected app: its access and refresh tokens stop working at once',
        params: z.object({ id: z.guid() }),
      },
    },
    async (req, reply) => {
      await revokeGrantFor(db, actorContextOf(req, 'viewer'), req.params.id);
      return reply.status(204).send();
    },
  );
};
