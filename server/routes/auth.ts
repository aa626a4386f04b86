/**
 * Public auth routes: sign-up, login, refresh and invitation lookup; logout needs a token.
 * Login and sign-up have their own, stricter, per-address rate limit.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';
import { login, logout, refresh, signUp, type AuthDeps } from '../auth/service.js';
import { principalOf } from '../http/context.js';
import { Email, TimeZone, Uuid } from '../http/schemas.js';

const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `expected at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH);

const TokenPair = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number(),
  refreshToken: z.string(),
  workspaceId: z.string(),
  userId: z.string(),
});

/** Attempts per minute per client address on sign-up and login. */
export const AUTH_RATE_PER_MINUTE = 20;

export const authRoutes: FastifyPluginAsyncZod<{ deps: AuthDeps }> = async (app, { deps }) => {
  const strict = { config: { rateLimit: { max: AUTH_RATE_PER_MINUTE, timeWindow: 60_000 } } };

  app.post(
    '/auth/signup',
    {
      ...strict,
      schema: {
        tags: ['auth'],
        summary: 'Create an account (and a workspace, or join one with an invitation token)',
        body: z.strictObject({
          email: Email,
          password: Password,
          displayName: z.string().min(1).max(100).optional(),
          timeZone: TimeZone.optional(),
          workspaceName: z.string().min(1).max(100).optional(),
          invitationToken: z.string().max(100).optional(),
        }),
        response: { 201: TokenPair },
      },
    },
    async (request, reply) => {
      const { tokens } = await signUp(deps, { ...request.body, userAgent: request.headers['user-agent'] ?? null });
      return reply.status(201).send(tokens);
    },
  );

  app.post(
    '/auth/login',
    {
      ...strict,
      schema: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        body: z.strictObject({
          email: z.string().max(254),
          password: z.string().max(PASSWORD_MAX_LENGTH),
          workspaceId: Uuid.optional(),
        }),
        response: { 200: TokenPair },
      },
    },
    async (request) => login(deps, { ...request.body, userAgent: request.headers['user-agent'] ?? null }),
  );

  app.post(
    '/auth/refresh',
    {
      ...strict,
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token; optionally switch workspace',
        description: 'Each refresh token works once. Presenting a used one revokes the whole session.',
        body: z.strictObject({ refreshToken: z.string().max(200), workspaceId: Uuid.optional() }),
        response: { 200: TokenPair },
      },
    },
    async (request) => refresh(deps, request.body),
  );

  app.post(
    '/auth/logout',
    {
      onRequest: app.authenticate,
      schema: { tags: ['auth'], summary: 'End this session (every token of it)', response: { 204: z.null() } },
    },
    async (request, reply) => {
      await logout(deps, principalOf(request));
      return reply.status(204).send(null);
    },
  );
};
