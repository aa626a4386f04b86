/**
 * The media library over REST. Uploads are `multipart/form-data` with one `file` field and an
 * optional `altText` field (in either order); the file is spooled to disk under the size
 * limit and handed to the media service, which decides everything else. Content is served
 * with its stored type, `nosniff`, a fixed file name and single byte ranges (video players
 * need them). Another workspace's id is "not found" on every route.
 */
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HeraldError, type ByteRange, type Role } from '../../core/index.js';
import * as media from '../../tools/media/index.js';
import { actorContextOf } from '../http/context.js';
import { inspectJson } from '../http/input-guard.js';
import { multipartError } from '../http/multipart.js';
import { IdParams, PageQuery } from '../http/schemas.js';

const ctxOf = (req: FastifyRequest, needed: Role): media.MediaContext => actorContextOf(req, needed);

/** Fields a form may carry besides the file. */
const FIELD_MAX_BYTES = 8 * 1024;

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else is served whole (RFC 9110 allows it). */
function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export const mediaRoutes: FastifyPluginAsyncZod<{ deps: media.MediaDeps }> = async (app, { deps }) => {
  // Registered here, so only these routes parse multipart bodies.
  await app.register(multipart, {
    limits: {
      // One byte over the limit is enough to know the file is too large: the service refuses it.
      fileSize: deps.maxBytes + 1,
      files: 1,
      fields: 4,
      fieldSize: FIELD_MAX_BYTES,
      parts: 6,
      headerPairs: 50,
    },
  });

  app.post(
    '/media',
    {
      schema: {
        tags: ['media'],
        summary: 'Upload an image or video (editor): multipart/form-data with `file` and optional `altText`',
        description:
          'The type is read from the bytes. Images are re-encoded upright without metadata, long edge at most 4096 px. ' +
          '201 with the new record, or 200 with the existing one when this workspace already has the same bytes. See docs/media.md.',
        consumes: ['multipart/form-data'],
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req, 'editor');
      if (!req.isMultipart()) {
        throw new HeraldError('unsupported_media_type', {
          message: 'Send the file as multipart/form-data, in a field named "file"',
        });
      }
      let staged: media.StagedUpload | undefined;
      let filename: string | undefined;
      let declaredType: string | undefined;
      let altText: string | undefined;
      try {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file' || staged) {
              part.file.resume();
              throw new HeraldError('validation_failed', {
                message: `Unexpected file field "${part.fieldname}": send one file, in the "file" field`,
              });
            }
            staged = await media.stageUpload(part.file, { maxBytes: deps.maxBytes, dir: deps.stagingDir });
            if (part.file.truncated) throw new HeraldError('payload_too_large'); // belt and braces
            filename = part.filename;
            declaredType = part.mimetype;
          } else if (part.fieldname === 'altText') {
            altText = String(part.value);
          } else {
            throw new HeraldError('validation_failed', {
              message: `Unknown field "${part.fieldname}": an upload takes "file" and "altText"`,
            });
          }
        }
      } catch (err) {
        await staged?.dispose();
        throw multipartError(
          err,
          () =>
            new HeraldError('payload_too_large', {
              message: `The file is larger than the ${deps.maxBytes} bytes allowed (MEDIA_MAX_BYTES)`,
              details: { limitBytes: deps.maxBytes },
            }),
        );
      }
      if (!staged) throw new HeraldError('validation_failed', { message: 'The form has no "file" field' });
      // Text PostgreSQL cannot store is refused before anything is written (the staged file is dropped).
      const unsafe = inspectJson({ altText, filename });
      if (unsafe) {
        await staged.dispose();
        throw new HeraldError('validation_failed', {
          message: `${unsafe.field} ${unsafe.message}`,
          details: { issues: [{ in: 'body', ...unsafe }] },
        });
      }
      const result = await media.uploadMedia(deps, ctx, { data: staged, filename, declaredType, altText });
      return reply.status(result.created ? 201 : 200).send(result.media);
    },
  );

  app.post(
    '/media/from-url',
    {
      schema: {
        tags: ['media'],
        summary: 'Upload the image or video at a URL (editor)',
        description:
          'Herald fetches the URL (public addresses only unless OUTBOUND_ALLOW says more; at most MEDIA_MAX_BYTES) and stores it as an upload: ' +
          '201 with the new record, or 200 with the existing one when this workspace already has the same bytes. See docs/media.md.',
        body: z.object({
          url: z.string().min(1).max(2048),
          altText: z.string().max(media.ALT_TEXT_MAX).nullish(),
        }),
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req, 'editor');
      const result = await media.uploadMediaFromUrl(deps, ctx, { url: req.body.url, altText: req.body.altText });
      return reply.status(result.created ? 201 : 200).send(result.media);
    },
  );

  app.get(
    '/media',
    {
      schema: {
        tags: ['media'],
        summary: 'Media of this workspace, newest first (cursor pagination)',
        querystring: PageQuery,
      },
    },
    (req) => media.listMediaRecords(deps, ctxOf(req, 'viewer'), { limit: req.query.limit, cursor: req.query.cursor }),
  );

  app.get('/media/:id', { schema: { tags: ['media'], summary: 'One media record', params: IdParams } }, (req) =>
    media.getMediaRecord(deps, ctxOf(req, 'viewer'), req.params.id),
  );

  app.get(
    '/media/:id/content',
    {
      schema: {
        tags: ['media'],
        summary: 'The stored bytes, with their type; honours one `Range: bytes=...`',
        params: IdParams,
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req, 'viewer');
      const record = await media.getMediaRecord(deps, ctx, req.params.id);
      const range = parseRange(req.headers.range, record.sizeBytes);
      const etag = `"${record.sha256}"`;
      reply
        .header('x-content-type-options', 'nosniff')
        .header('accept-ranges', 'bytes')
        .header('etag', etag)
        .header('cache-control', 'private, max-age=31536000, immutable')
        // Nothing in a media response may run as a document.
        .header('content-security-policy', "default-src 'none'; sandbox");
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${record.sizeBytes}`);
        throw new HeraldError('range_not_satisfiable', { details: { sizeBytes: record.sizeBytes } });
      }
      if (!range && req.headers['if-none-match'] === etag) return reply.status(304).send();
      const opened = await media.openMediaContent(deps, ctx, req.params.id, range);
      reply
        .type(opened.media.mimeType)
        .header('content-disposition', `inline; filename="${opened.media.id}.${opened.extension}"`);
      if (range) {
        reply
          .status(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${record.sizeBytes}`)
          .header('content-length', range.end - range.start + 1);
      } else {
        reply.header('content-length', record.sizeBytes);
      }
      return reply.send(opened.stream);
    },
  );

  app.patch(
    '/media/:id',
    {
      schema: {
        tags: ['media'],
        summary: 'Set or clear (null) the alt text (editor)',
        params: IdParams,
        body: z.strictObject({ altText: z.string().max(media.ALT_TEXT_MAX).nullable() }),
      },
    },
    (req) => media.updateMediaAltText(deps, ctxOf(req, 'editor'), req.params.id, req.body.altText),
  );

  app.delete(
    '/media/:id',
    {
      schema: {
        tags: ['media'],
        summary: 'Delete (editor); refused while a post that can still publish uses it',
        params: IdParams,
      },
    },
    async (req, reply) => {
      await media.deleteMediaRecord(deps, ctxOf(req, 'editor'), req.params.id);
      return reply.status(204).send();
    },
  );
};
