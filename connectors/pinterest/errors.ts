/**
 * Pinterest's answers (API v5) as Herald's typed connector errors. Errors come as
 * `{code, message}`; rate limits as 429 with `Retry-After` and the `X-RateLimit-*` headers;
 * an expired or revoked token as 401 (code 2, "Authentication failed").
 */
import {
  InvalidContent,
  PermanentError,
  networkClassifier,
  rateLimitedOn,
  serverFailed,
  tokenRefused,
  type ConnectorError,
  type HttpClassifyContext,
} from '../errors.js';

export const PLATFORM = 'pinterest';

export function messageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim().slice(0, 300) || undefined;
  const b = body as { message?: unknown; error?: unknown; error_description?: unknown } | null;
  if (typeof b?.message === 'string' && b.message) return b.message;
  if (typeof b?.error === 'string')
    return typeof b.error_description === 'string' ? `${b.error}: ${b.error_description}` : b.error;
  return undefined;
}

export function classify(
  status: number,
  body: unknown,
  headers: Headers,
  ctx: HttpClassifyContext = {},
): ConnectorError {
  const what = ctx.what ?? 'the call';
  const platformMessage = messageOf(body);
  const base = { platform: PLATFORM, status, ...(platformMessage ? { platformMessage } : {}) };
  const said = platformMessage ? `: ${platformMessage}` : '';
  if (status === 429) return rateLimitedOn('Pinterest', what, headers, ctx.now ?? Date.now(), base);
  if (status === 401) return tokenRefused('Pinterest', what, ctx.canRefresh, base, said);
  if (status === 400 || status === 409 || status === 422)
    return new InvalidContent(`Pinterest refused the Pin${said}`, base);
  if (status === 403 || status === 404)
    return new PermanentError(`Pinterest answered ${status} to ${what}${said}`, base);
  if (status >= 500) return serverFailed('Pinterest', String(status), what, ctx.method, base, said);
  return new PermanentError(`Pinterest answered ${status} to ${what}${said}`, base);
}

export const classifyNetworkError = networkClassifier(PLATFORM, 'Pinterest');
