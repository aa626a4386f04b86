/**
 * Mastodon's answers turned into Herald's typed connector errors. `classify` reads an HTTP
 * answer (status, JSON body, headers); `classifyNetworkError` reads a call that got no answer
 * (timeout, refused or lost connection). Messages name the call and Mastodon's own words,
 * never a token.
 */
import {
  AuthExpired,
  InvalidContent,
  PermanentError,
  RateLimited,
  TransientError,
  rateLimitRetryAt,
  classifyNetworkFailure,
  isWriteMethod,
  type ConnectorError,
  type HttpClassifyContext,
} from '../errors.js';

/** What `classify` is told about the call (shared by the HTTP connectors). */
export type ClassifyContext = HttpClassifyContext;

export const PLATFORM = 'mastodon';

/** Mastodon's error text: `{"error": "..."}`, with Doorkeeper's `error_description` when present. */
export function platformMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' || body.length > 300 ? undefined : body.trim();
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, error_description: description } = body as Record<string, unknown>;
  if (typeof error !== 'string' || error === '') return undefined;
  return typeof description === 'string' && description !== '' ? `${error}: ${description}` : error;
}

/** Doorkeeper says why a token failed in `WWW-Authenticate` (`error_description="..."`). */
function tokenProblem(headers: Headers): string | undefined {
  const header = headers.get('www-authenticate');
  return header ? /error_description="([^"]*)"/.exec(header)?.[1] : undefined;
}

/** The typed error for a Mastodon answer that is not a success. */
export function classify(status: number, body: unknown, headers: Headers, ctx: ClassifyContext = {}): ConnectorError {
  const what = ctx.what ?? 'the call';
  const platformMessage = platformMessageOf(body);
  const base = { platform: PLATFORM, status, ...(platformMessage ? { platformMessage } : {}) };
  const said = platformMessage ? `: ${platformMessage}` : '';

  if (status === 429) {
    const now = ctx.now ?? Date.now();
    const retryAt = rateLimitRetryAt(headers, now);
    const limit = headers.get('x-ratelimit-limit');
    const budget = limit ? ` (${limit} calls per period)` : '';
    return new RateLimited(
      `Mastodon rate limit reached${budget} on ${what}; retry after ${retryAt.toISOString()}`,
      retryAt,
      base,
    );
  }
  if (status === 401) {
    // Stock Mastodon answers every token failure with "The access token is invalid"; only a
    // refresh attempt can tell an expired token from a revoked one, so reconnecting is
    // demanded only when there is nothing to refresh with.
    const why = tokenProblem(headers) ?? platformMessage ?? 'unauthorized';
    const reconnect = !ctx.canRefresh;
    return new AuthExpired(
      `Mastodon refused the access token on ${what} (${why}); ${reconnect ? 'the account must be reconnected' : 'refreshing it may help'}`,
      { ...base, reconnect },
    );
  }
  if (status === 422) {
    return new InvalidContent(`Mastodon refused the content${said}`, base);
  }
  if (status >= 500) {
    return new TransientError(`Mastodon answered ${status} to ${what}${said}`, {
      ...base,
      // A server error after the request arrived may come after the write was committed.
      mayHaveSucceeded: isWriteMethod(ctx.method),
    });
  }
  if (status === 408) {
    // The server gave up reading the request: nothing was applied, and trying again is fine.
    return new TransientError(`Mastodon timed out reading ${what}`, base);
  }
  return new PermanentError(`Mastodon answered ${status} to ${what}${said}`, base);
}

/** The typed error for a call that got no (complete) answer. */
export function classifyNetworkError(
  err: unknown,
  ctx: { method: string; what: string; timeoutMs: number },
): ConnectorError {
  return classifyNetworkFailure(err, { ...ctx, platform: PLATFORM, label: 'Mastodon' });
}
