/**
 * YouTube's answers as Herald's typed connector errors. Google APIs answer errors as
 * `{error: {code, message, errors: [{domain, reason, message}], status}}`; the `reason`
 * decides (https://developers.google.com/youtube/v3/docs/errors): `quotaExceeded` (403) waits
 * for the daily reset at midnight Pacific time, `uploadLimitExceeded` (400) for the channel's
 * 24-hour upload cap, `rateLimitExceeded` (403/429) a short while; 401 is an expired token.
 */
import {
  InvalidContent,
  PermanentError,
  RateLimited,
  TransientError,
  networkClassifier,
  rateLimitedOn,
  serverFailed,
  tokenRefused,
  type ConnectorError,
  type HttpClassifyContext,
} from '../errors.js';

export const PLATFORM = 'youtube';

interface GoogleError {
  code?: number;
  message?: string;
  errors?: Array<{ reason?: string; message?: string; domain?: string }>;
  status?: string;
}

export function googleErrorOf(body: unknown): { reason: string | undefined; message: string | undefined } {
  if (typeof body === 'string') return { reason: undefined, message: body.trim().slice(0, 300) || undefined };
  const b = body as { error?: GoogleError | string; error_description?: string } | null;
  if (!b || typeof b !== 'object') return { reason: undefined, message: undefined };
  if (typeof b.error === 'string') {
    // OAuth endpoint: {error, error_description}.
    return { reason: b.error, message: b.error_description ? `${b.error}: ${b.error_description}` : b.error };
  }
  const e = b.error;
  return { reason: e?.errors?.[0]?.reason ?? e?.status, message: e?.message ?? e?.errors?.[0]?.message };
}

/** The next midnight in America/Los_Angeles, when YouTube's daily quotas reset. */
export function nextPacificMidnight(now = Date.now()): Date {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    hour12: false,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(now));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const sinceMidnight = ((get('hour') % 24) * 3600 + get('minute') * 60 + get('second')) * 1000;
  return new Date(now - sinceMidnight + 24 * 3600 * 1000 - (now % 1000));
}

export function classify(
  status: number,
  body: unknown,
  headers: Headers,
  ctx: HttpClassifyContext = {},
): ConnectorError {
  const what = ctx.what ?? 'the call';
  const now = ctx.now ?? Date.now();
  const { reason, message } = googleErrorOf(body);
  const base = { platform: PLATFORM, status, ...(message ? { platformMessage: message } : {}) };
  const said = message ? `: ${message}` : '';
  if (reason === 'quotaExceeded' || reason === 'dailyLimitExceeded') {
    return new RateLimited(
      `The app's daily YouTube API quota is spent (${what}${said}); it resets at midnight Pacific time`,
      nextPacificMidnight(now),
      { ...base, reason: 'usage_capped' },
    );
  }
  if (reason === 'uploadLimitExceeded') {
    return new RateLimited(
      `The channel has reached YouTube's upload limit for the day${said}; YouTube asks to try again in 24 hours`,
      new Date(now + 24 * 3600 * 1000),
      { ...base, reason: 'usage_capped' },
    );
  }
  if (status === 429 || reason === 'rateLimitExceeded' || reason === 'userRateLimitExceeded')
    return rateLimitedOn('YouTube', what, headers, now, base);
  if (status === 401) return tokenRefused('YouTube', what, ctx.canRefresh, base, said);
  if (status === 400 || status === 422) return new InvalidContent(`YouTube refused the video${said}`, base);
  if (status === 403) {
    return new PermanentError(`YouTube forbade ${what}${said}`, { ...base, ...(reason ? { reason } : {}) });
  }
  if (status >= 500) return serverFailed('YouTube', String(status), what, ctx.method, base, said);
  if (status === 408) return new TransientError(`YouTube timed out reading ${what}`, base);
  return new PermanentError(`YouTube answered ${status} to ${what}${said}`, base);
}

export const classifyNetworkError = networkClassifier(PLATFORM, 'YouTube');
