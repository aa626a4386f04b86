/**
 * Bluesky OAuth's public routes (docs/connectors.md#bluesky-oauth), outside `/v1` because the
 * client metadata URL is the client's identity (`client_id`) and authorization servers fetch it
 * and the keys without any Herald token:
 * - `GET /oauth/bluesky/client-metadata.json`: the client metadata document;
 * - `GET /oauth/bluesky/jwks.json`: the public keys of a confidential client (`private_key_jwt`);
 * - `GET /oauth/bluesky/callback`: the redirect back; its single-use `state` names the workspace
 *   and user that started the flow (`completeBlueskyOAuth`).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { CLIENT_METADATA_PATH, JWKS_PATH, OAUTH_CALLBACK_PATH } from '../../connectors/bluesky/index.js';
import { completeBlueskyOAuth, type ConnectDeps } from '../../tools/accounts/index.js';

export interface BlueskyOAuthRouteDeps {
  connect: ConnectDeps;
  /** Where the browser is sent after the callback; unset: the callback answers JSON. */
  doneUrl: string | undefined;
}

const CallbackQuery = z.object({
  state: z.string().min(1).max(1000),
  iss: z.string().max(1000).optional(),
  code: z.string().min(1).max(2000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

export const blueskyOAuthRoutes: FastifyPluginAsyncZod<{ deps: BlueskyOAuthRouteDeps }> = async (app, { deps }) => {
  const oauth = deps.connect.blueskyOAuth;
  if (!oauth) return;

  app.get(
    CLIENT_METADATA_PATH,
    {
      schema: {
        tags: ['social accounts'],
        summary: "Bluesky OAuth: Herald's client metadata (its client_id)",
        security: [],
      },
    },
    async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(oauth.clientMetadata),
  );

  app.get(
    JWKS_PATH,
    {
      schema: {
        tags: ['social accounts'],
        summary: 'Bluesky OAuth: public keys of the confidential client',
        security: [],
      },
    },
    async (_req, reply) => {
      const jwks = oauth.jwks;
      if (!jwks) throw new HeraldError('not_found', { message: 'A loopback (development) client has no keys' });
      return reply.header('cache-control', 'public, max-age=300').send(jwks);
    },
  );

  app.get(
    OAUTH_CALLBACK_PATH,
    {
      schema: {
        tags: ['social accounts'],
        summary: 'Bluesky OAuth redirect target: finishes connecting, then redirects to the configured page',
        security: [],
        querystring: CallbackQuery,
      },
    },
    async (req, reply) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string') params.set(k, v);
      try {
        const account = await completeBlueskyOAuth(deps.connect, params);
        if (!deps.doneUrl) return { status: 'connected', account };
        return reply.redirect(
          withQuery(deps.doneUrl, { status: 'connected', platform: account.platform, accountId: account.id }),
        );
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        // A denial or a spent link is the user's doing, not the server's: info, without a stack.
        if (err.status < 500) req.log.info({ code: err.code }, 'Bluesky account connection refused');
        else req.log.warn({ code: err.code, message: err.message }, 'Bluesky account connection failed');
        if (!deps.doneUrl) throw err;
        return reply.redirect(withQuery(deps.doneUrl, { status: 'error', code: err.code, message: err.message }));
      }
    },
  );
};

function withQuery(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}
