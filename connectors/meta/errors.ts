/**
 * Meta's Graph errors turned into Herald's typed connector errors, for Instagram, Facebook
 * Pages and Threads alike. Every error is `{error: {message, type, code, error_subcode,
 * error_user_msg, is_transient, fbtrace_id}}` (developers.facebook.com/docs/graph-api/guides/
 * error-handling, .../instagram-platform/instagram-graph-api/reference/error-codes). What
 * decides the kind is the code, not the HTTP status (throttling comes as 400 or 403):
 * - 190 (and 102): the token is expired, revoked or the password changed: reconnect, since
 *   Meta cannot refresh an expired token;
 * - 4, 17, 32, 613, 80001-80014: throttled; the wait comes from `X-Business-Use-Case-Usage`
 *   (`estimated_time_to_regain_access`, minutes), else `Retry-After`, else a minute;
 * - 9 / 2207042: the account's publishing quota for 24 h is spent; 368: blocked for posting
 *   too fast: both rate limits measured in hours;
 * - 10, 200-299: a permission the account no longer grants;
 * - 506: a duplicate post (Pages); 1, 2, -1, -2, `is_transient`, 5xx: transient.
 * Messages carry the user-facing text Meta gives (`error_user_msg`) and the `fbtrace_id`,
 * never a token.
 */
import {
  AuthExpired,
  InvalidContent,
  PermanentError,
  RateLimited,
  TransientError,
  classifyNetworkFailure,
  isWriteMethod,
  MIN_RETRY_DELAY_MS,
  retryAtFromHeaders,
  type ConnectorError,
} from '../errors.js';

export type MetaPlatform = 'instagram' | 'facebook' | 'threads';

export const LABELS: Record<MetaPlatform, string> = {
  instagram: 'Instagram',
  facebook: 'Facebook',
  threads: 'Threads',
};

export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_user_title?: string;
  error_user_msg?: string;
  is_transient?: boolean;
  fbtrace_id?: string;
}

export function graphErrorOf(body: unknown): GraphError | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = (body as { error?: unknown }).error;
  return typeof e === 'object' && e !== null ? (e as GraphError) : undefined;
}

/** The most readable words Meta gave, or undefined. */
export function platformMessageOf(body: unknown): string | undefined {
  const e = graphErrorOf(body);
  if (!e) return typeof body === 'string' && body.trim() && body.length <= 300 ? body.trim() : undefined;
  return e.error_user_msg || e.message || undefined;
}

const THROTTLE_CODES = new Set([4, 17, 32, 613]);
/** The daily publishing quota (Instagram's code 9 / 2207042, Threads alike). */
const QUOTA_WAIT_MS = 60 * 60_000;
/** 368 "temporarily blocked for policy violations" (posting too fast). */
const BLOCK_WAIT_MS = 60 * 60_000;

/**
 * When throttling ends: the largest `estimated_time_to_regain_access` (minutes) in
 * `X-Business-Use-Case-Usage`, else `Retry-After`, else a minute; never sooner than a second.
 */
export function throttledUntil(headers: Headers, now = Date.now()): Date {
  let minutes = 0;
  const buc = headers.get('x-business-use-case-usage');
  if (buc) {
    try {
      const parsed = JSON.parse(buc) as Record<string, Array<{ estimated_time_to_regain_access?: unknown }>>;
      for (const entries of Object.values(parsed)) {
        for (const e of Array.isArray(entries) ? entries : []) {
          const m = Number(e.estimated_time_to_regain_access);
          if (Number.isFinite(m) && m > minutes) minutes = m;
        }
      }
    } catch {
      // unreadable header: fall through to Retry-After
    }
  }
  const at = minutes > 0 ? new Date(now + minutes * 60_000) : retryAtFromHeaders(headers, now);
  return new Date(Math.max(at.getTime(), now + MIN_RETRY_DELAY_MS));
}

export interface GraphClassifyContext {
  method?: string;
  what?: string;
  now?: number;
  /** For an unreadable 2xx answer: the status Meta sent. */
  status?: number;
}

export function classifyGraph(
  platform: MetaPlatform,
  status: number,
  body: unknown,
  headers: Headers,
  ctx: GraphClassifyContext = {},
): ConnectorError {
  const label = LABELS[platform];
  const what = ctx.what ?? 'the call';
  const e = graphErrorOf(body);
  const code = typeof e?.code === 'number' ? e.code : undefined;
  const sub = typeof e?.error_subcode === 'number' ? e.error_subcode : undefined;
  const platformMessage = platformMessageOf(body);
  const trace = e?.fbtrace_id ? ` (fbtrace_id ${e.fbtrace_id})` : '';
  const said = platformMessage ? `: ${platformMessage}` : '';
  const base = {
    platform,
    status: ctx.status ?? status,
    ...(platformMessage ? { platformMessage } : {}),
  };
  const now = ctx.now ?? Date.now();
  const codes = code === undefined ? '' : ` [code ${code}${sub === undefined ? '' : `/${sub}`}]`;

  if (code === 190 || code === 102 || (status === 401 && code === undefined)) {
    return new AuthExpired(
      `${label} refused the access token on ${what}${said}${codes}; the account must be reconnected`,
      { ...base, reconnect: true },
    );
  }
  if ((code !== undefined && (THROTTLE_CODES.has(code) || (code >= 80001 && code <= 80014))) || status === 429) {
    const retryAt = throttledUntil(headers, now);
    return new RateLimited(
      `${label} rate limit reached on ${what}${codes}; retry after ${retryAt.toISOString()}`,
      retryAt,
      base,
    );
  }
  if (code === 9 || sub === 2207042) {
    const retryAt = new Date(now + QUOTA_WAIT_MS);
    return new RateLimited(
      `${label} says the account has published as many posts as it may in 24 hours${said}${codes}; Herald tries again after ${retryAt.toISOString()}`,
      retryAt,
      { ...base, reason: 'publishing_quota' },
    );
  }
  if (code === 368) {
    const retryAt = new Date(now + BLOCK_WAIT_MS);
    return new RateLimited(
      `${label} blocked posting for now (too fast or against its rules)${said}${codes}; Herald tries again after ${retryAt.toISOString()}`,
      retryAt,
      { ...base, reason: 'too_fast' },
    );
  }
  if (code === 10 || (code !== undefined && code >= 200 && code <= 299)) {
    return new PermanentError(
      `${label} refused ${what}: the account no longer grants a permission Herald needs${said}${codes}; reconnect it and grant every permission asked`,
      { ...base, reason: 'permission_missing' },
    );
  }
  if (code === 506) {
    return new InvalidContent(`${label} refused a duplicate post${said}${codes}`, { ...base, reason: 'duplicate' });
  }
  if (code === 9007 || sub === 2207027) {
    // Publishing a container that is not FINISHED: nothing was published; poll, then publish.
    return new TransientError(`${label} has not finished processing the media yet${said}${codes}`, {
      ...base,
      reason: 'not_ready',
    });
  }
  const transient = status >= 500 || e?.is_transient === true || code === 1 || code === 2 || code === -1 || code === -2;
  if (transient) {
    return new TransientError(`${label} answered ${status} to ${what}${said}${codes}${trace}`, {
      ...base,
      mayHaveSucceeded: isWriteMethod(ctx.method),
    });
  }
  if (status === 404) return new PermanentError(`${label} has no such object (${what})${said}${codes}`, base);
  if (status >= 400 && status < 500) {
    return new InvalidContent(`${label} refused ${what}${said}${codes}${trace}`, base);
  }
  return new PermanentError(`${label} answered ${status} to ${what}${said}${codes}${trace}`, base);
}

export function classifyGraphNetworkError(
  platform: MetaPlatform,
  err: unknown,
  ctx: { method: string; what: string; timeoutMs: number },
): ConnectorError {
  return classifyNetworkFailure(err, { ...ctx, platform, label: LABELS[platform] });
}
