/**
 * X's answers turned into Herald's typed connector errors. X API v2 errors come as problem
 * JSON (`{title, detail, type, status}`) or `{errors: [{message}]}`; rate limits as 429 with
 * `x-rate-limit-limit`, `-remaining` and `-reset` (epoch seconds). Messages name the call and
 * X's own words, never a token.
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

export const PLATFORM = 'x';

/** X's error words from any of its error bodies (problem JSON, `errors[]`, OAuth errors). */
export function platformMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() === '' || body.length > 300 ? undefined : body.trim();
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.detail === 'string' && b.detail) return b.detail;
  if (Array.isArray(b.errors)) {
    const first = b.errors[0] as Record<string, unknown> | undefined;
    const m = first?.detail ?? first?.message;
    if (typeof m === 'string' && m) return m;
  }
  if (typeof b.error === 'string' && b.error) {
    return typeof b.error_description === 'string' && b.error_description
      ? `${b.error}: ${b.error_description}`
      : b.error;
  }
  if (typeof b.title === 'string' && b.title) return b.title;
  return undefined;
}

export function classify(status: number, body: unknown, headers: Headers, ctx: ClassifyContext = {}): ConnectorError {
  const what = ctx.what ?? 'the call';
  const platformMessage = platformMessageOf(body);
  const base = { platform: PLATFORM, status, ...(platformMessage ? { platformMessage } : {}) };
  const said = platformMessage ? `: ${platformMessage}` : '';
  const type = typeof (body as { type?: unknown } | null)?.type === 'string' ? (body as { type: string }).type : '';
  if (type.endsWith('/usage-capped')) {
    // A spent usage cap (credits or the monthly Post-read cap), not a 15-minute window: waiting
    // for x-rate-limit-reset would not help (docs.x.com/x-api/fundamentals/response-codes-and-errors).
    return new PermanentError(
      `X's usage cap for this app is reached on ${what}${said}; add credits or raise the cap in the X Developer Console (console.x.com), then publish again`,
      { ...base, reason: 'usage_capped' },
    );
  }
  if (type.endsWith('/client-forbidden')) {
    return new PermanentError(
      `X refused ${what} to this app: its API access does not include the call (client-forbidden${said}); docs/connectors.md says what an X app needs`,
      { ...base, reason: 'client_forbidden' },
    );
  }
  if (status === 429) {
    const now = ctx.now ?? Date.now();
    const retryAt = rateLimitRetryAt(headers, now);
    const limit = headers.get('x-rate-limit-limit');
    return new RateLimited(
      `X rate limit reached${limit ? ` (${limit} calls per window)` : ''} on ${what}; retry after ${retryAt.toISOString()}`,
      retryAt,
      base,
    );
  }
  if (status === 401) {
    const reconnect = !ctx.canRefresh;
    return new AuthExpired(
      `X refused the access token on ${what}${said}; ${reconnect ? 'the account must be reconnected' : 'refreshing it may help'}`,
      { ...base, reconnect },
    );
  }
  if (status === 400 || status === 403 || status === 422) {
    // 403 covers duplicate content and posting rules; 400 a post X cannot take as sent.
    const duplicate = status === 403 && /duplicate content/i.test(platformMessage ?? '');
    return new InvalidContent(`X refused the post${said}`, { ...base, ...(duplicate ? { reason: 'duplicate' } : {}) });
  }
  if (status >= 500) {
    return new TransientError(`X answered ${status} to ${what}${said}`, {
      ...base,
      mayHaveSucceeded: isWriteMethod(ctx.method),
    });
  }
  if (status === 408) return new TransientError(`X timed out reading ${what}`, base);
  return new PermanentError(`X answered ${status} to ${what}${said}`, base);
}

/** The typed error for a call that got no (complete) answer. */
export function classifyNetworkError(
  err: unknown,
  ctx: { method: string; what: string; timeoutMs: number },
): ConnectorError {
  return classifyNetworkFailure(err, { ...ctx, platform: PLATFORM, label: 'X' });
}
