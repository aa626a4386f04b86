/**
 * Resolves each request's credentials into `request.principal`. Routes in an authenticated
 * scope add the `authenticate` hook; public routes (sign-up, login, refresh, health) do not.
 * Credentials: `Authorization: Bearer <access token | API key>` or `X-Api-Key: <API key>`.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HeraldError } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
import { authenticate, type AuthDeps } from '../auth/service.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** onRequest hook: fails with 401 unless the request carries valid credentials. */
    authenticate: (request: FastifyRequest) => Promise<void>;
  }
}

/** The credential in a request's headers, if any (never logged). */
export function credentialOf(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new HeraldError('unauthorized', { message: 'Authorization must be "Bearer <token>"' });
    return m[1];
  }
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { deps: AuthDeps }) => {
    app.decorateRequest('principal', null);
    app.decorate('authenticate', async (request: FastifyRequest) => {
      request.principal = await authenticate(opts.deps, credentialOf(request));
    });
  },
  { name: 'herald-auth' },
);
