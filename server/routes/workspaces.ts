/**
 * The caller's workspace, its members, invitations and API keys. Everything acts on the
 * workspace the credential names; an id from another workspace is simply "not found".
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../../core/index.js';
import { AgentSettingsSchema } from '../../agent/index.js';
import { ModelPolicySchema } from '../../agent/models/index.js';
import { API_KEY_SCOPES } from '../auth/principal.js';
import * as ws from '../auth/workspaces.js';
import { contextOf } from '../http/context.js';
import { IdParams, Instant, RoleName, TimeZone } from '../http/schemas.js';

const Scope = z.enum(Object.keys(API_KEY_SCOPES) as [keyof typeof API_KEY_SCOPES]);

export const workspaceRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get('/workspace', { schema: { tags: ['workspaces'], summary: 'The workspace this credential acts in' } }, (req) =>
    ws.currentWorkspace(db, contextOf(req, 'viewer')),
  );

  app.patch(
    '/workspace',
    {
      schema: {
        tags: ['workspaces'],
        summary:
          'Rename, change the time zone, require approval before scheduling, set the model policy and daily cost cap, or the agent autopilot (admin)',
        body: z.strictObject({
          name: z.string().min(1).max(100).optional(),
          timeZone: TimeZone.optional(),
          requireApproval: z.boolean().optional(),
          models: ModelPolicySchema.partial().optional(),
          agent: AgentSettingsSchema.optional(),
        }),
      },
    },
    (req) => ws.updateWorkspace(db, contextOf(req, 'viewer'), req.body),
  );

  app.get(
    '/workspaces',
    { schema: { tags: ['workspaces'], summary: 'Workspaces you belong to, with your role' } },
    async (req) => ({
      items: await ws.myWorkspaces(db, contextOf(req, 'viewer')),
    }),
  );

  app.post(
    '/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Create a workspace you own (switch to it with /v1/auth/refresh)',
        body: z.strictObject({ name: z.string().min(1).max(100), timeZone: TimeZone.optional() }),
      },
    },
    async (req, reply) => reply.status(201).send(await ws.createOwnWorkspace(db, contextOf(req, 'viewer'), req.body)),
  );

  app.get('/members', { schema: { tags: ['members'], summary: 'Members and their roles' } }, async (req) => ({
    items: await ws.members(db, contextOf(req, 'viewer')),
  }));

  app.patch(
    '/members/:id',
    {
      schema: {
        tags: ['members'],
        summary: "Change a member's role (admin; owner role: owner)",
        params: IdParams,
        body: z.strictObject({ role: RoleName }),
      },
    },
    (req) => ws.changeMemberRole(db, contextOf(req, 'viewer'), req.params.id, req.body.role),
  );

  app.delete(
    '/members/:id',
    { schema: { tags: ['members'], summary: 'Remove a member, or leave (your own id)', params: IdParams } },
    async (req, reply) => {
      await ws.removeMemberFrom(db, contextOf(req, 'viewer'), req.params.id);
      return reply.status(204).send();
    },
  );

  app.get('/invitations', { schema: { tags: ['members'], summary: 'Open invitations (admin)' } }, async (req) => ({
    items: await ws.invitations(db, contextOf(req, 'viewer')),
  }));

  app.post(
    '/invitations',
    {
      schema: {
        tags: ['members'],
        summary:
          'Invite someone by email; the token is shown once (admin). Only that address can accept, unless `bearer: true` makes the token a link anyone holding it can use',
        body: z.strictObject({
          email: z.email().max(254),
          role: RoleName.default('editor'),
          bearer: z.boolean().default(false),
        }),
      },
    },
    async (req, reply) => reply.status(201).send(await ws.invite(db, contextOf(req, 'viewer'), req.body)),
  );

  app.delete(
    '/invitations/:id',
    { schema: { tags: ['members'], summary: 'Revoke an open invitation (admin)', params: IdParams } },
    async (req, reply) => {
      await ws.cancelInvitation(db, contextOf(req, 'viewer'), req.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/invitations/accept',
    {
      schema: {
        tags: ['members'],
        summary: 'Accept an invitation as the signed-in user',
        body: z.strictObject({ token: z.string().min(1).max(100) }),
      },
    },
    (req) => ws.acceptAsUser(db, contextOf(req, 'viewer'), req.body.token),
  );

  app.get(
    '/api-keys',
    { schema: { tags: ['api-keys'], summary: 'API keys of this workspace (admin)' } },
    async (req) => ({
      items: await ws.apiKeys(db, contextOf(req, 'viewer')),
    }),
  );

  app.post(
    '/api-keys',
    {
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key; the secret is shown once (admin)',
        body: z.strictObject({
          name: z.string().min(1).max(100),
          scopes: z.array(Scope).min(1).max(3),
          expiresAt: Instant.optional(),
        }),
      },
    },
    async (req, reply) => {
      const { expiresAt, ...rest } = req.body;
      const created = await ws.issueApiKey(db, contextOf(req, 'viewer'), {
        ...rest,
        ...(expiresAt ? { expiresAt: new Date(expiresAt) } : {}),
      });
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: { tags: ['api-keys'], summary: 'Revoke an API key; it stops working at once (admin)', params: IdParams },
    },
    async (req, reply) => {
      await ws.revokeKey(db, contextOf(req, 'viewer'), req.params.id);
      return reply.status(204).send();
    },
  );
};
