/**
 * Connecting social accounts: which platforms can be connected (and what to set for those
 * that cannot), starting the OAuth flow, the platform's redirect back, and connecting with an
 * app password (Bluesky). The callback is public — the browser arriving from the platform
 * carries no Herald token — so the single-use `state` is what binds it to the user and
 * workspace that started the flow.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import {
  completeConnect,
  connectWithPassword,
  listPlatforms,
  startConnect,
  type ConnectDeps,
} from '../../tools/accounts/index.js';
import { contextOf } from '../http/context.js';

export interface ConnectRouteDeps {
  connect: ConnectDeps;
  /** Where the browser is sent after the callback; unset: the callback answers JSON. */
  doneUrl: string | undefined;
}

const Platform = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9-]+$/, 'expected a platform name such as x or mastodon');

/** Authenticated: listing platforms and starting a connection. */
export const connectRoutes: FastifyPluginAsyncZod<{ deps: ConnectRouteDeps }> = async (app, { deps }) => {
  app.get(
    '/social-accounts/platforms',
    {
      schema: {
        tags: ['social accounts'],
        summary: 'Platforms accounts can be connected to; those without app credentials say what to set',
      },
    },
    (req) => {
      contextOf(req, 'viewer');
      return { items: listPlatforms(deps.connect) };
    },
  );

  app.post(
    '/social-accounts/connect',
    {
      schema: {
        tags: ['social accounts'],
        summary: "Start connecting an account (admin): returns the platform's authorize URL, valid 10 minutes, once",
        body: z.strictObject({
          platform: Platform,
          /** Mastodon: the instance, e.g. https://mastodon.social */
          instanceUrl: z
            .url({ protocol: /^https?$/ })
            .max(300)
            .optional(),
          /** Bluesky (OAuth): the handle or DID to connect; unset, the account is chosen on Bluesky's page. */
          handle: z.string().min(3).max(2100).optional(),
        }),
      },
    },
    async (req, reply) => {
      const c = contextOf(req, 'admin');
      const started = await startConnect(
        deps.connect,
        { workspaceId: c.workspaceId, userId: c.userId, role: c.principal.role },
        req.body,
      );
      return reply.status(201).send(started);
    },
  );

  app.post(
    '/social-accounts/app-password',
    {
      schema: {
        tags: ['social accounts'],
        summary:
          'Connect an account with a handle (or DID) and an app password (admin; Bluesky): resolves the account, signs in on its PDS, stores the session encrypted',
        body: z.strictObject({
          platform: Platform,
          /** A handle such as alice.bsky.social (an @ in front is fine) or a DID (did:plc:…, did:web:…). */
          identifier: z.string().min(3).max(2100),
          /** An app password from Bluesky's settings (never the account's main password). */
          appPassword: z.string().min(1).max(200),
        }),
      },
    },
    async (req, reply) => {
      const c = contextOf(req, 'admin');
      const connected = await connectWithPassword(
        deps.connect,
        { workspaceId: c.workspaceId, userId: c.userId, role: c.principal.role, channel: 'rest' },
        req.body,
      );
      return reply.status(201).send({ status: 'connected', account: connected });
    },
  );
};

const CallbackQuery = z.object({
  state: z.string().min(1).max(200),
  code: z.string().min(1).max(2000).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});

/** Public: the platform's redirect back to Herald. */
export const connectCallbackRoutes: FastifyPluginAsyncZod<{ deps: ConnectRouteDeps }> = async (app, { deps }) => {
  app.get(
    '/social-accounts/callback',
    {
      schema: {
        tags: ['social accounts'],
        summary: 'OAuth redirect target: finishes connecting, then redirects to the configured page',
        security: [],
        querystring: CallbackQuery,
      },
    },
    async (req, reply) => {
      const q = req.query;
      try {
        const account = await completeConnect(deps.connect, {
          state: q.state,
          code: q.code,
          error: q.error,
          errorDescription: q.error_description,
        });
        if (!deps.doneUrl) return { status: 'connected', account };
        return reply.redirect(
          withQuery(deps.doneUrl, { status: 'connected', platform: account.platform, accountId: account.id }),
        );
      } catch (err) {
        if (!(err instanceof HeraldError)) throw err;
        // A denial or a bad link is the user's doing, not the server's: info, without a stack.
        if (err.status < 500) req.log.info({ code: err.code }, 'account connection refused');
        if (!deps.doneUrl) throw err;
        if (err.status >= 500) req.log.warn({ code: err.code, message: err.message }, 'account connection failed');
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
