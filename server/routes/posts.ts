/**
 * Posts, their per-account targets, approvals, the calendar, connected social accounts,
 * usage and the audit log. Routes validate and translate; the services in `tools/` decide.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit, type SecretCipher } from '../../core/index.js';
import type { AccountLinker } from '../../connectors/connect.js';
import { disconnectAccount, getAccount, getAccountCapabilities, listAccounts } from '../../tools/accounts/index.js';
import * as posts from '../../tools/posts/index.js';
import type { SchedulingDeps } from '../../tools/scheduling/index.js';
import { usageSummary } from '../../tools/usage/index.js';
import { acceptsGzip, gzipOnce } from '../http/compression.js';
import { contextOf } from '../http/context.js';
import { FreeJsonObject, IdParams, PageQuery, TimeText, TimeZone, Uuid } from '../http/schemas.js';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../../core/index.js';

const STATUSES = [
  'draft',
  'pending_approval',
  'scheduled',
  'publishing',
  'published',
  'failed',
  'unconfirmed',
  'cancelled',
] as const;

/** `status=a,b`: targets in any of these statuses. */
const StatusList = z
  .string()
  .max(200)
  .transform((s) => s.split(',').map((x) => x.trim()))
  .pipe(z.array(z.enum(STATUSES)).max(STATUSES.length));

const Media = z.strictObject({ mediaId: Uuid, altText: z.string().max(1500).optional() });

const Variant = {
  content: z.string().max(100_000),
  threadParts: z.array(z.string().max(100_000)).max(50).optional(),
  media: z.array(Media).max(20).optional(),
  options: FreeJsonObject.optional(),
};

const TargetInput = z.strictObject({
  socialAccountId: Uuid,
  ...Variant,
  content: Variant.content.optional(),
});

const CreatePost = z
  .strictObject({
    content: z.string().max(100_000),
    tags: z.array(z.string().min(1).max(64)).max(50).optional(),
    targets: z.array(TargetInput).min(1).max(50),
    /** When to publish; omit with `draft: true` or `publishNow: true`. */
    at: TimeText.optional(),
    draft: z.boolean().optional(),
    publishNow: z.boolean().optional(),
  })
  .refine(
    (b) =>
      [b.draft === true, b.publishNow === true, b.at !== undefined && b.draft !== true].filter(Boolean).length === 1,
    {
      error:
        'Give exactly one of `at` (schedule), `publishNow: true`, or `draft: true` (a draft may also carry `at` as its planned time)',
      path: ['at'],
    },
  );

const TargetParams = z.strictObject({ id: Uuid, targetId: Uuid });

type Ctx = ReturnType<typeof contextOf> & { role: Role };
const ctxOf = (req: FastifyRequest, needed: Role = 'viewer'): Ctx => {
  const c = contextOf(req, needed);
  return { ...c, role: c.principal.role };
};

export const postRoutes: FastifyPluginAsyncZod<{
  scheduling: SchedulingDeps;
  cipher: SecretCipher;
  /** Per platform, how to revoke an account's tokens when it is disconnected. */
  /** Linkers that can end an account's tokens at the platform when it is disconnected. */
  linkers?: ReadonlyMap<string, Pick<AccountLinker, 'revoke'>> | undefined;
}> = async (app, { scheduling: deps, cipher, linkers }) => {
  app.post(
    '/posts',
    {
      schema: {
        tags: ['posts'],
        summary: 'Create a post: a draft, scheduled at `at`, or published now (editor)',
        body: CreatePost,
      },
    },
    async (req, reply) => {
      const b = req.body;
      const view = await posts.createPost(deps, ctxOf(req), {
        content: b.content,
        tags: b.tags,
        targets: b.targets.map((t) => ({
          socialAccountId: t.socialAccountId,
          ...(t.content !== undefined ? { content: t.content } : {}),
          ...(t.threadParts ? { threadParts: t.threadParts } : {}),
          ...(t.media ? { media: t.media } : {}),
          ...(t.options ? { options: t.options } : {}),
        })),
        mode: b.draft ? 'draft' : b.publishNow ? 'now' : 'schedule',
        at: b.at,
      });
      return reply.status(201).send(view);
    },
  );

  app.get(
    '/posts',
    {
      schema: {
        tags: ['posts'],
        summary: 'Posts, newest first, with their targets (cursor pagination)',
        querystring: PageQuery.extend({ status: StatusList.optional() }),
      },
    },
    async (req, reply) => {
      const page = await posts.listPosts(deps, ctxOf(req), {
        limit: req.query.limit,
        cursor: req.query.cursor,
        statuses: req.query.status,
        contentVersion: req.principal?.contentVersion,
      });
      // The page is kept rendered (and, once asked for, gzipped): both variants cost a lookup.
      void reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (acceptsGzip(req.headers['accept-encoding'])) {
        return reply.header('content-encoding', 'gzip').send(await gzipOnce(page.json));
      }
      return reply.send(page.json);
    },
  );

  app.get(
    '/posts/:id',
    { schema: { tags: ['posts'], summary: 'A post, its targets, their attempts and its reviews', params: IdParams } },
    (req) => posts.getPostView(deps, ctxOf(req), req.params.id),
  );

  app.put(
    '/posts/:id',
    {
      schema: {
        tags: ['posts'],
        summary: "Replace the post's master text and tags (editor)",
        params: IdParams,
        body: z.strictObject({
          content: z.string().max(100_000),
          tags: z.array(z.string().min(1).max(64)).max(50).optional(),
        }),
      },
    },
    (req) => posts.updatePost(deps, ctxOf(req), req.params.id, req.body),
  );

  app.delete(
    '/posts/:id',
    { schema: { tags: ['posts'], summary: 'Delete a post and its targets (editor)', params: IdParams } },
    async (req, reply) => {
      await posts.deletePost(deps, ctxOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/posts/:id/targets/:targetId',
    { schema: { tags: ['posts'], summary: "One target: the post's variant for one account", params: TargetParams } },
    (req) => posts.getTargetView(deps, ctxOf(req), req.params.id, req.params.targetId),
  );

  app.put(
    '/posts/:id/targets/:targetId',
    {
      schema: {
        tags: ['posts'],
        summary: "Replace one target's variant and time while it is a draft, pending or scheduled (editor)",
        params: TargetParams,
        body: z.strictObject({
          ...Variant,
          scheduledAt: TimeText.nullable().optional(),
          version: z.number().int().min(1).optional(),
        }),
      },
    },
    (req) => posts.updateTarget(deps, ctxOf(req), req.params.id, req.params.targetId, req.body),
  );

  app.post(
    '/posts/:id/targets/:targetId/cancel',
    { schema: { tags: ['posts'], summary: 'Cancel one target before it publishes (editor)', params: TargetParams } },
    (req) => posts.cancelTarget(deps, ctxOf(req), req.params.id, req.params.targetId),
  );

  app.post(
    '/posts/:id/schedule',
    {
      schema: {
        tags: ['posts', 'approvals'],
        summary: "Schedule a draft (or submit it for approval): at `at`, now, or at its targets' planned times",
        params: IdParams,
        body: z.strictObject({ at: TimeText.optional(), now: z.boolean().optional() }),
      },
    },
    (req) => posts.schedulePostDraft(deps, ctxOf(req), req.params.id, req.body),
  );

  app.post(
    '/posts/:id/approve',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Approve a post waiting for approval; it is queued (admin)',
        params: IdParams,
        body: z.strictObject({ comment: z.string().max(2000).optional() }).optional(),
      },
    },
    (req) => posts.approvePost(deps, ctxOf(req), req.params.id, { comment: req.body?.comment }),
  );

  app.post(
    '/posts/:id/reject',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Reject a post waiting for approval, with a comment; it goes back to draft (admin)',
        params: IdParams,
        body: z.strictObject({ comment: z.string().trim().min(1).max(2000) }),
      },
    },
    (req) => posts.rejectPost(deps, ctxOf(req), req.params.id, req.body),
  );

  app.get(
    '/approvals',
    { schema: { tags: ['approvals'], summary: 'Posts waiting for approval', querystring: PageQuery } },
    async (req, reply) =>
      reply.type('application/json; charset=utf-8').send((await posts.listApprovals(deps, ctxOf(req), req.query)).json),
  );

  app.get(
    '/calendar',
    {
      schema: {
        tags: ['calendar'],
        summary: 'Targets with a time in [from, to), shown in your time zone (or `zone`), counted per local day',
        querystring: z.strictObject({
          from: TimeText,
          to: TimeText,
          zone: TimeZone.optional(),
          status: StatusList.optional(),
        }),
      },
    },
    (req) => posts.calendar(deps, ctxOf(req), req.query),
  );

  app.get(
    '/social-accounts',
    {
      schema: {
        tags: ['social accounts'],
        summary: 'Connected accounts (never their tokens)',
        querystring: z.strictObject({ includeDisconnected: z.enum(['true', 'false']).optional() }),
      },
    },
    async (req) => ({
      items: await listAccounts(deps, ctxOf(req), { includeDisconnected: req.query.includeDisconnected === 'true' }),
    }),
  );

  app.get(
    '/social-accounts/:id',
    { schema: { tags: ['social accounts'], summary: 'One connected account', params: IdParams } },
    (req) => getAccount(deps, ctxOf(req), req.params.id),
  );

  app.get(
    '/social-accounts/:id/capabilities',
    {
      schema: {
        tags: ['social accounts'],
        summary: "What the account's platform accepts: text rule and length, media limits, alt text, threads",
        params: IdParams,
      },
    },
    (req) => getAccountCapabilities(deps, ctxOf(req), req.params.id),
  );

  app.delete(
    '/social-accounts/:id',
    {
      schema: {
        tags: ['social accounts'],
        summary: 'Disconnect an account: forget its tokens, cancel its unpublished posts (admin)',
        params: IdParams,
      },
    },
    (req) => disconnectAccount({ ...deps, cipher, linkers }, ctxOf(req), req.params.id),
  );

  app.get(
    '/usage',
    {
      schema: {
        tags: ['usage'],
        summary: 'Model calls, tokens and cost per day, provider and model, and per provider, in [from, to)',
        querystring: z.strictObject({ from: TimeText, to: TimeText }),
      },
    },
    (req) => usageSummary(deps.db, ctxOf(req), req.query),
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit log, newest first (admin): who did what, when, from which channel',
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().min(1).optional(),
        }),
      },
    },
    async (req) => {
      const ctx = ctxOf(req, 'admin');
      const items = await listAudit(deps.db, ctx.workspaceId, req.query);
      return { items, nextBefore: items.length === req.query.limit ? (items.at(-1)?.id ?? null) : null };
    },
  );
};
