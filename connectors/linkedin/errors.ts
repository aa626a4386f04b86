/**
 * LinkedIn's answers turned into Herald's typed connector errors. The REST API answers
 * errors as `{status, serviceErrorCode, code, message}`; the OAuth endpoints as
 * `{error, error_description}`. Throttling is a 429 (LinkedIn counts calls per member and
 * per app per day); the wait comes from `Retry-After` or a reset header when present.
 * Messages name the call and LinkedIn's own words, never a token.
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

export const PLATFORM = 'linkedin';

/** LinkedIn's error words from a REST or OAuth error body. */
export function platformMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' || body.length > 300 ? undefined : body.trim();
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.error === 'string' && b.error) {
    return typeof b.error_description === 'string' && b.error_description
      ? `${b.error}: ${b.error_description}`
      : b.error;
  }
  if (typeof b.message === 'string' && b.message) return b.message;
  if (typeof b.code === 'string' && b.code) return b.code;
  return undefined;
}

export function classify(status: number, body: unknown, headers: Headers, ctx: ClassifyContext = {}): ConnectorError {
  const what = ctx.what ?? 'the call';
  const platformMessage = platformMessageOf(body);
  const base = { platform: PLATFORM, status, ...(platformMessage ? { platformMessage } : {}) };
  const said = platformMessage ? `: ${platformMessage}` : '';
  if (status === 429) {
    const now = ctx.now ?? Date.now();
    // LinkedIn's limits are per day and reset at midnight UTC, and its 429 documents no wait
    // header (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits):
    // without one, waiting less than the day out only spends more of tomorrow's calls.
    const told = ['retry-after', 'x-ratelimit-reset', 'ratelimit-reset'].some((h) => headers.has(h));
    const retryAt = told ? rateLimitRetryAt(headers, now) : nextUtcMidnight(now);
    return new RateLimited(
      `LinkedIn throttled ${what}${told ? '' : ' (its daily limit, which resets at midnight UTC)'}; retry after ${retryAt.toISOString()}`,
      retryAt,
      base,
    );
  }
  if (status === 426) {
    return new PermanentError(
      `LinkedIn no longer serves the API version Herald sends (LINKEDIN_VERSION)${said}; set LINKEDIN_VERSION to a version LinkedIn still supports`,
      { ...base, reason: 'version_retired' },
    );
  }
  if (status === 403 && !isWriteMethod(ctx.method)) {
    // A read the app's permissions do not cover (r_member_social is granted to approved apps only).
    return new PermanentError(`LinkedIn did not let Herald read ${what}${said}`, {
      ...base,
      reason: 'permission_missing',
    });
  }
  if (status === 401) {
    const reconnect = !ctx.canRefresh;
    return new AuthExpired(
      `LinkedIn refused the access token on ${what}${said}; ${reconnect ? 'the account must be reconnected' : 'refreshing it may help'}`,
      { ...base, reconnect },
    );
  }
  if (status === 400 || status === 403 || status === 409 || status === 413 || status === 422) {
    // 422 is duplicate content, 403 a missing permission (e.g. posting as a page one does not administer).
    return new InvalidContent(`LinkedIn refused the post${said}`, base);
  }
  if (status >= 500) {
    return new TransientError(`LinkedIn answered ${status} to ${what}${said}`, {
      ...base,
      mayHaveSucceeded: isWriteMethod(ctx.method),
    });
  }
  if (status === 408) return new TransientError(`LinkedIn timed out reading ${what}`, base);
  return new PermanentError(`LinkedIn answered ${status} to ${what}${said}`, base);
}

/** The typed error for a call that got no (complete) answer. */
export function classifyNetworkError(
  err: unknown,
  ctx: { method: string; what: string; timeoutMs: number },
): ConnectorError {
  return classifyNetworkFailure(err, { ...ctx, platform: PLATFORM, label: 'LinkedIn' });
}

/** The next midnight UTC after `now`, when LinkedIn's daily limits reset (plus a minute). */
export function nextUtcMidnight(now: number): Date {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1, 0, 1));
}
