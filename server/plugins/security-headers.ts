/**
 * Security headers on every response: exactly the set Helmet's defaults give (CSP, HSTS,
 * `X-Content-Type-Options`, frame and referrer policies, ...), computed once at start.
 * `@fastify/helmet` rebuilt Helmet's middleware — parsing every CSP directive — on each
 * request, which cost about a tenth of the server's time on `GET /v1/posts`. The headers do
 * not depend on the request (no CSP nonces are used), so one frozen table is enough. Routes
 * that need another policy set their own header after this hook (`/docs` sets Swagger UI's
 * CSP, media downloads a sandbox).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

/** The headers Helmet would set for `options`, lower-cased, read off its middleware once. */
export function securityHeadersOf(options: Readonly<HelmetOptions> = {}): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as never, res as never, () => {});
  return Object.freeze(headers);
}

export const securityHeadersPlugin = fp(
  async (app: FastifyInstance, options: { helmet?: HelmetOptions }) => {
    const headers = securityHeadersOf(options.helmet);
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: 'herald-security-headers' },
);
