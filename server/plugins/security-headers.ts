/**
 * Security headers on every response: exactly the set Helmet's defaults give (CSP, HSTS,
 * `X-Content-Type-Options`, frame and referrer policies, ...), computed once at start.
 * `@fastify/helmet` rebuilt Helmet's middleware — parsing every CSP directive — on each
 * request, which cost about a tenth of the server's time on `GET /v1/posts`. The headers do
 * not depend on the request (no CSP nonces are used), so one frozen table is enough. Routes
 * that need another policy set their own header after this hook (`/docs` sets Swagger UI's
 * CSP, media downloads a sandbox). A route whose config says `securityHeaders: 'redirect'`
 * (the tracked-link redirector, which answers a bodiless `302`) gets only the headers that act
 * on a redirect — `Strict-Transport-Security`, `Referrer-Policy` (it decides what referrer the
 * destination sees) and `X-Content-Type-Options` — not the ones about rendering a document
 * (CSP, framing, cross-origin isolation), which a browser following a `Location` never does.
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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `redirect`: only the security headers that act on a redirect (above); default: all of them. */
    securityHeaders?: 'redirect';
  }
}

/** The security headers that still act when the answer is a redirect. */
export const REDIRECT_SECURITY_HEADERS = ['strict-transport-security', 'referrer-policy', 'x-content-type-options'];

export const securityHeadersPlugin = fp(
  async (app: FastifyInstance, options: { helmet?: HelmetOptions }) => {
    const headers = securityHeadersOf(options.helmet);
    const forRedirect = Object.freeze(
      Object.fromEntries(Object.entries(headers).filter(([name]) => REDIRECT_SECURITY_HEADERS.includes(name))),
    );
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(request.routeOptions.config.securityHeaders === 'redirect' ? forRedirect : headers);
      done();
    });
  },
  { name: 'herald-security-headers' },
);
