/**
 * `GET /l/:code`, the tracked-link redirector (docs/links.md): a 302 to the link's destination
 * with its UTM parameters, once the click is in the Redis stream (`tools/links/clicks.ts`).
 * Public: no session, no cookie, no access-log line (it would keep the visitor's address), and
 * of the security headers only those that act on a redirect.
 * Rate limited per client address, in this process (`AddressLimiter`): an abuse guard needs no
 * Redis round trip per click. The click goes to this process's journal (a file append shared by
 * the clicks of one event-loop turn), so a redirect waits for no other process; only when the
 * journal cannot take it (or at a new day's first click, for its salt) does it wait for Redis,
 * and then at most `DEFAULT_REDIS_WAIT_MS` (`tools/links/clicks.ts`): a Redis that does not
 * answer in time costs the click, never the redirect. An unknown code gets a small 404 page.
 */
import type { FastifyPluginAsync } from 'fastify';
import { LRUCache } from 'lru-cache';
import { HeraldError } from '../../core/index.js';
import { ClickPastDeadline, type LinkRedirector } from '../../tools/links/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** False: no access-log line for this route (server/app.ts). */
    accessLog?: boolean;
  }
}

const NOT_FOUND_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Link not found</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}</style>
</head><body><h1>This link does not exist</h1>
<p>The short link you followed is not known here. It may have been mistyped or cut off; check the address and try again.</p>
</body></html>
`;

/** The 404 page's policy: no script, no fetch, no form, never framed (it stands in for X-Frame-Options). */
const NOT_FOUND_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Client addresses whose window one process remembers (the least recently seen go first). */
export const LIMITER_ADDRESSES = 50_000;
const WINDOW_MS = 60_000;

/**
 * Fixed one-minute windows per client address, counted in this process. Each API process
 * counts its own share, so behind a balancer of N processes an address gets up to N times the
 * limit — enough to stop one address hammering the redirector, which is all this guards.
 */
export class AddressLimiter {
  readonly #windows = new LRUCache<string, { count: number; resetAt: number }>({ max: LIMITER_ADDRESSES });
  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request; the seconds to wait when it is over the limit, else 0. */
  take(address: string): number {
    const now = this.now();
    let w = this.#windows.get(address);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + WINDOW_MS };
      this.#windows.set(address, w);
    }
    w.count++;
    return w.count > this.max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : 0;
  }
}

export interface LinkRedirectOptions {
  redirector: LinkRedirector;
  /** Redirects per minute per client address (`LINKS_RATE_LIMIT_PER_MINUTE`). */
  rateLimitPerMinute: number;
}

export const linkRedirectRoutes: FastifyPluginAsync<LinkRedirectOptions> = async (app, opts) => {
  const limiter = new AddressLimiter(opts.rateLimitPerMinute);
  app.get<{ Params: { code: string } }>(
    '/l/:code',
    {
      schema: { hide: true },
      config: {
        // No line per click: it would keep the visitor's address, and cost more than the redirect.
        accessLog: false,
        // Not the API's Redis-counted limit: the in-process AddressLimiter below.
        rateLimit: false,
        // HSTS, Referrer-Policy, nosniff: what acts on a 302 (server/plugins/security-headers.ts);
        // the 404 page sets its own policy.
        securityHeaders: 'redirect',
      },
    },
    async (req, reply) => {
      const wait = limiter.take(req.ip);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new HeraldError('rate_limited', {
          message: `Too many redirects: ${limiter.max} per minute; retry in ${wait} s`,
          details: { limit: limiter.max, retryAfterS: wait },
        });
      }
      const link = await opts.redirector.resolve(req.params.code);
      if (!link) {
        return reply
          .code(404)
          .header('cache-control', 'no-store')
          .header('content-security-policy', NOT_FOUND_CSP)
          .type('text/html; charset=utf-8')
          .send(NOT_FOUND_PAGE);
      }
      const h = req.headers;
      try {
        // Usually in this process's journal by the end of this turn of the event loop; else in
        // Redis, waited for at most its deadline.
        await opts.redirector.record(link, {
          method: req.method,
          ip: req.ip,
          userAgent: header(h['user-agent']),
          referer: header(h.referer),
          purpose: header(h['sec-purpose']) ?? header(h.purpose) ?? header(h['x-purpose']) ?? header(h['x-moz']),
        });
      } catch (err) {
        if (err instanceof ClickPastDeadline) req.log.warn('click recording past its deadline; redirecting without it');
        else req.log.error({ err }, 'click not recorded');
      }
      // Every visit reaches Herald (and is counted), none is served from a cache.
      return reply.header('cache-control', 'private, no-store').redirect(link.location, 302);
    },
  );
};
