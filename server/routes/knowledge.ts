/**
 * The knowledge base over REST: source CRUD under `/v1/knowledge/sources` (adding or
 * replacing a source queues its ingestion and answers at once with status `pending`) and
 * hybrid search at `/v1/knowledge/search`. Routes translate; `knowledge/` decides.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createSource,
  deleteSource,
  DOC_TYPES,
  getSource,
  listSources,
  replaceSource,
  searchKnowledge,
  SOURCE_FORMATS,
  type KnowledgeContext,
  type KnowledgeDeps,
} from '../../knowledge/index.js';
import { contextOf } from '../http/context.js';
import { IdParams, Uuid } from '../http/schemas.js';

const DocType = z.enum(DOC_TYPES);

const commaList = <T extends z.ZodType<unknown, string>>(item: T, max: number) =>
  z
    .string()
    .max(4000)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).max(max));

const SourceBody = z.strictObject({
  docType: DocType,
  title: z.string().trim().min(1).max(300),
  format: z.enum(SOURCE_FORMATS),
  /** For `text` and `markdown`. */
  text: z.string().optional(),
  /** For `url` and `feed`: fetched by the ingestion job. */
  url: z.string().max(2000).optional(),
  metadata: z.record(z.string().max(64), z.unknown()).optional(),
});

const Instant = z.iso.datetime({ offset: true });

function ctxOf(req: FastifyRequest): KnowledgeContext {
  const c = contextOf(req, 'viewer');
  return {
    workspaceId: c.workspaceId,
    userId: c.userId,
    role: c.principal.role,
    channel: c.channel,
    actorKind: c.actorKind,
    actorId: c.actorKind === 'api_key' ? c.principal.apiKeyId : c.userId,
  };
}

export const knowledgeRoutes: FastifyPluginAsyncZod<{ knowledge: KnowledgeDeps }> = async (
  app,
  { knowledge: deps },
) => {
  // Text sources may be larger than ordinary JSON bodies; the service enforces the real cap.
  const bodyLimit = deps.limits.maxBytes + 64 * 1024;

  app.get(
    '/knowledge/search',
    {
      schema: {
        tags: ['knowledge'],
        summary: 'Hybrid (vector + keyword) search of the knowledge base; each chunk comes with its source',
        querystring: z.strictObject({
          q: z.string().trim().min(1).max(500),
          type: commaList(DocType, DOC_TYPES.length).optional(),
          source: commaList(Uuid, 50).optional(),
          from: Instant.optional(),
          to: Instant.optional(),
          limit: z.coerce.number().int().min(1).max(50).default(8),
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const items = await searchKnowledge(
        deps,
        ctxOf(req),
        q.q,
        {
          types: q.type,
          sourceIds: q.source,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
        },
        q.limit,
      );
      return { items };
    },
  );

  app.get(
    '/knowledge/sources',
    {
      schema: {
        tags: ['knowledge'],
        summary: 'Knowledge sources, newest first, with their ingestion status',
        querystring: z.strictObject({
          type: commaList(DocType, DOC_TYPES.length).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
      },
    },
    async (req) => ({ items: await listSources(deps, ctxOf(req), { types: req.query.type, limit: req.query.limit }) }),
  );

  app.post(
    '/knowledge/sources',
    {
      bodyLimit,
      schema: {
        tags: ['knowledge'],
        summary: 'Add a source (text, Markdown, a web page or an RSS/Atom feed) and queue its ingestion (editor)',
        body: SourceBody,
      },
    },
    async (req, reply) => reply.status(202).send(await createSource(deps, ctxOf(req), req.body)),
  );

  app.get(
    '/knowledge/sources/:id',
    { schema: { tags: ['knowledge'], summary: 'A source and its ingestion status', params: IdParams } },
    (req) => getSource(deps, ctxOf(req), req.params.id),
  );

  app.put(
    '/knowledge/sources/:id',
    {
      bodyLimit,
      schema: {
        tags: ['knowledge'],
        summary:
          "Replace a source's content and re-ingest it; its old chunks are replaced when the new ones are in (editor)",
        params: IdParams,
        body: SourceBody,
      },
    },
    async (req, reply) => reply.status(202).send(await replaceSource(deps, ctxOf(req), req.params.id, req.body)),
  );

  app.delete(
    '/knowledge/sources/:id',
    { schema: { tags: ['knowledge'], summary: 'Delete a source and its chunks (editor)', params: IdParams } },
    async (req, reply) => {
      await deleteSource(deps, ctxOf(req), req.params.id);
      return reply.status(204).send();
    },
  );
};
