/**
 * The knowledge base over REST: source CRUD under `/v1/knowledge/sources` (adding or
 * replacing a source queues its ingestion and answers at once with status `pending`), a
 * source's whole text at `/v1/knowledge/sources/{id}/text`, hybrid search at
 * `/v1/knowledge/search`, and the workspace's embedder at `/v1/knowledge/embedder`. Routes
 * translate; `knowledge/` decides.
 */
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  changeEmbedder,
  createSource,
  deleteSource,
  embedderStatus,
  DOC_TYPES,
  getSource,
  getSourceText,
  listSources,
  MAX_FEED_INTERVAL_MINUTES,
  MIN_FEED_INTERVAL_MINUTES,
  replaceSource,
  searchKnowledge,
  SOURCE_FORMATS,
  uploadSource,
  type KnowledgeContext,
  type KnowledgeDeps,
  type UploadInput,
} from '../../knowledge/index.js';
import { HeraldError, requireRole } from '../../core/index.js';
import { actorContextOf } from '../http/context.js';
import { multipartError } from '../http/multipart.js';
import { inspectJson } from '../http/input-guard.js';
import { FreeJsonObject, IdParams, Instant, Uuid } from '../http/schemas.js';

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
  metadata: FreeJsonObject.optional(),
  /** For `feed`: poll it on a schedule and ingest what is new (docs/knowledge.md, Followed feeds). */
  follow: z
    .strictObject({
      intervalMinutes: z.number().int().min(MIN_FEED_INTERVAL_MINUTES).max(MAX_FEED_INTERVAL_MINUTES).optional(),
      removedItems: z.enum(['keep', 'drop']).optional(),
    })
    .nullable()
    .optional(),
});

// The service checks each action's role; any member may reach these routes.
const ctxOf = (req: FastifyRequest): KnowledgeContext => actorContextOf(req, 'viewer');

/** Default `KNOWLEDGE_UPLOAD_MAX_BYTES`. */
const DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024;

/** The upload form's fields besides `file`. */
const UploadFields = z.strictObject({
  docType: DocType.optional(),
  title: z.string().trim().min(1).max(300).optional(),
  /** A JSON object, as a string. */
  metadata: z
    .string()
    .max(8192)
    .transform((s, ctx) => {
      try {
        const v: unknown = JSON.parse(s);
        if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'metadata must be a JSON object' });
      return z.NEVER;
    })
    .pipe(FreeJsonObject)
    .optional(),
});

/** Reads the form: one `file` (kept in memory, at most `maxBytes`) and the fields of `UploadFields`. */
async function readUploadForm(req: FastifyRequest, maxBytes: number): Promise<UploadInput> {
  if (!req.isMultipart())
    throw new HeraldError('unsupported_media_type', {
      message: 'Send the file as multipart/form-data, in a field named "file"',
    });
  let file: UploadInput['file'] | undefined;
  const fields: Record<string, string> = {};
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file' || file) {
          part.file.resume();
          throw new HeraldError('validation_failed', { message: 'Send one file, in the "file" field' });
        }
        file = { fileName: part.filename, contentType: part.mimetype, bytes: await part.toBuffer() };
      } else fields[part.fieldname] = String(part.value);
    }
  } catch (err) {
    throw multipartError(
      err,
      () =>
        new HeraldError('knowledge_input_too_large', {
          message: `The file is larger than the ${maxBytes} bytes allowed (KNOWLEDGE_UPLOAD_MAX_BYTES)`,
          details: { maxBytes },
        }),
    );
  }
  if (!file) throw new HeraldError('validation_failed', { message: 'The form has no "file" field' });
  const unsafe = inspectJson({ ...fields, fileName: file.fileName });
  if (unsafe) throw new HeraldError('validation_failed', { message: `${unsafe.field} ${unsafe.message}` });
  const parsed = UploadFields.safeParse(fields);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '),
    });
  return { file, ...parsed.data };
}

export const knowledgeRoutes: FastifyPluginAsyncZod<{ knowledge: KnowledgeDeps }> = async (
  app,
  { knowledge: deps },
) => {
  // Text sources may be larger than ordinary JSON bodies; the service enforces the real cap.
  const bodyLimit = deps.limits.maxBytes + 64 * 1024;
  const uploadMaxBytes = deps.limits.uploadMaxBytes ?? DEFAULT_UPLOAD_MAX_BYTES;
  // Registered here, so only these routes parse multipart bodies.
  await app.register(multipart, {
    limits: { fileSize: uploadMaxBytes, files: 1, fields: 3, fieldSize: 8192, parts: 5, headerPairs: 50 },
  });

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
          platform: commaList(z.string().min(1).max(40), 20).optional(),
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
          platforms: q.platform,
          from: q.from ? new Date(q.from) : undefined,
          to: q.to ? new Date(q.to) : undefined,
        },
        q.limit,
      );
      return { items };
    },
  );

  app.get(
    '/knowledge/embedder',
    {
      schema: {
        tags: ['knowledge'],
        summary: "The workspace's embedder (model, dimension) and the progress of a change being re-embedded",
      },
    },
    (req) => embedderStatus(deps, ctxOf(req)),
  );

  app.put(
    '/knowledge/embedder',
    {
      schema: {
        tags: ['knowledge'],
        summary:
          'Change the workspace embedder (`lexical`, `ollama:<model>`, `openai:<model>`); re-embeds in the background, search switches when done (admin)',
        body: z.strictObject({ embedder: z.string().trim().min(1).max(200) }),
      },
    },
    async (req, reply) => {
      const status = await changeEmbedder(deps, ctxOf(req), req.body.embedder);
      return reply.status(status.status === 'reembedding' ? 202 : 200).send(status);
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
        summary:
          'Add a source (text, Markdown, a web page or an RSS/Atom feed, optionally followed: polled on a schedule) and queue its ingestion (editor)',
        body: SourceBody,
      },
    },
    async (req, reply) => reply.status(202).send(await createSource(deps, ctxOf(req), req.body)),
  );

  app.post(
    '/knowledge/sources/upload',
    {
      schema: {
        tags: ['knowledge'],
        summary:
          'Add a file (PDF, CSV product catalogue, text, Markdown) and queue its ingestion (editor): multipart/form-data with `file` and optional `docType`, `title`, `metadata` (JSON)',
        description:
          'The format is read from the bytes and the file name. An empty or binary file, a PDF without text or a CSV without rows is refused (422) and nothing is stored; a file over KNOWLEDGE_UPLOAD_MAX_BYTES is 413. See docs/knowledge.md.',
        consumes: ['multipart/form-data'],
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req);
      requireRole(ctx, 'editor'); // before a byte is read
      return reply.status(202).send(await uploadSource(deps, ctx, await readUploadForm(req, uploadMaxBytes)));
    },
  );

  app.get(
    '/knowledge/sources/:id',
    { schema: { tags: ['knowledge'], summary: 'A source and its ingestion status', params: IdParams } },
    (req) => getSource(deps, ctxOf(req), req.params.id),
  );

  app.get(
    '/knowledge/sources/:id/text',
    {
      schema: {
        tags: ['knowledge'],
        summary:
          "A source's whole text in its own order, as given, uploaded or read from its URL (`text` is null until a URL is read)",
        params: IdParams,
        response: {
          200: z.object({
            id: Uuid,
            docType: DocType,
            format: z.enum(SOURCE_FORMATS),
            title: z.string(),
            url: z.string().nullable(),
            status: z.string(),
            generation: z.number().int(),
            text: z.string().nullable(),
            updatedAt: z.string(),
          }),
        },
      },
    },
    (req) => getSourceText(deps, ctxOf(req), req.params.id),
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
