/**
 * Builds the Fastify application: request ids, the logger, the error shape, limits and the
 * feature plugins. Routes call services; nothing here decides business rules.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { HeraldError, type Logger } from '../core/index.js';
import { errorsPlugin } from './plugins/errors.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';

/** Largest JSON body accepted by default (media uploads have their own limit). */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export interface AppOptions {
  logger: Logger;
  checks: ReadinessCheck[];
  isDraining: () => boolean;
  bodyLimitBytes?: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Accept a caller's request id when it is sane, so logs line up across services.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // While draining, new work is refused with a retryable error; probes still answer.
  app.addHook('onRequest', async (request) => {
    if (opts.isDraining() && request.url !== '/health' && request.url !== '/ready') {
      throw new HeraldError('shutting_down');
    }
  });
  await app.register(errorsPlugin);
  await app.register(healthRoutes, { checks: opts.checks, isDraining: opts.isDraining });
  return app;
}
