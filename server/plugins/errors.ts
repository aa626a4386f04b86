/**
 * One error shape on every route: `{ error: { code, message, details? } }`. Herald errors
 * keep their catalogue code; Fastify's own errors (bad JSON, oversize bodies, schema
 * validation, unknown routes) are translated to catalogue codes; anything else is logged and
 * answered as `internal` without leaking its message.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance } from 'fastify';
import { HeraldError } from '../../core/index.js';

/** `/targets/0/content` → `targets.0.content`; the whole body or query is `""`. */
function fieldOf(instancePath: string | undefined, missing: unknown): string {
  const parts = (instancePath ?? '').split('/').filter(Boolean);
  if (typeof missing === 'string') parts.push(missing);
  return parts.join('.');
}

function translate(err: FastifyError): HeraldError | undefined {
  if (err instanceof HeraldError) return err;
  if (err.validation) {
    return new HeraldError('validation_failed', {
      message: err.message,
      details: {
        issues: err.validation.map((v) => ({
          in: err.validationContext ?? 'body',
          field: fieldOf(v.instancePath, v.params?.missingProperty),
          message: v.message ?? 'invalid',
        })),
      },
    });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HeraldError('malformed_json', { message: `The request body is not valid JSON: ${err.message}` });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HeraldError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HeraldError('unsupported_media_type', { message: err.message });
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new HeraldError('validation_failed', { message: err.message });
  }
  return undefined;
}

export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const herald = translate(err);
    // 503 is a dependency that is down or not set up (Ollama, a model provider): expected,
    // said in the answer, and no fault of this server, so it is not logged as an error.
    if (herald?.status === 503)
      request.log.warn({ code: herald.code, reason: herald.message }, 'request refused: unavailable');
    else if (!herald || herald.status >= 500) request.log.error({ err }, 'request failed');
    const out = herald ?? new HeraldError('internal');
    return reply.status(out.status).send(out.toJSON());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        new HeraldError('not_found', { message: `No route ${request.method} ${request.url.split('?')[0]}` }).toJSON(),
      ),
  );
});
