/**
 * Applies `server/http/input-guard.ts` to every route: before a route's schema runs, the
 * parsed body, query and path parameters are checked for text PostgreSQL cannot store and for
 * JSON nested or sized past `INPUT_LIMITS`. A problem is `400 validation_failed` naming the
 * field, in the same shape as schema errors. Bodies other than JSON (and multipart on the
 * upload routes) are `415 unsupported_media_type`.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { HeraldError } from '../../core/index.js';
import { inspectJson } from '../http/input-guard.js';

const PARTS = ['params', 'query', 'body'] as const;

export const inputGuardPlugin = fp(
  async (app: FastifyInstance) => {
    // Fastify parses text/plain by default; no route takes it, and docs/api.md promises 415
    // for anything but JSON (and multipart where a route says so).
    app.removeContentTypeParser('text/plain');
    app.addHook('preValidation', (request, _reply, done) => {
      for (const part of PARTS) {
        const value: unknown = request[part];
        if (value === undefined || value === null) continue;
        const issue = inspectJson(value);
        if (issue) {
          const where = issue.field ? `${part}.${issue.field}` : part;
          done(
            new HeraldError('validation_failed', {
              message: `${where} ${issue.message}`,
              details: { issues: [{ in: part, field: issue.field, message: issue.message }] },
            }),
          );
          return;
        }
      }
      done();
    });
  },
  { name: 'herald-input-guard' },
);
