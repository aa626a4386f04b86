/**
 * Typed connector errors. Each platform's `errors.ts` classifies its responses into these
 * kinds; the publishing worker decides retries from the kind alone:
 * - `rate_limited`: wait until `retryAt`, then retry (the post was not created);
 * - `auth_expired`: refresh credentials once and retry; `reconnect` means refreshing cannot help;
 * - `invalid_content`: the platform refused the content; `platformMessage` says why, readably;
 * - `transient`: retry with backoff; `mayHaveSucceeded` when the request may have been applied
 *   (timeout, connection lost or 5xx after sending), so the worker looks the post up first;
 * - `permanent`: do not retry.
 */
import { outboundRefusal } from '../core/index.js';

export type ConnectorErrorKind = 'rate_limited' | 'auth_expired' | 'invalid_content' | 'transient' | 'permanent';

export interface ConnectorErrorOptions {
  platform: string;
  status?: number;
  platformMessage?: string;
  /** Thread part that failed. */
  part?: number;
  /** Parts published before the failure. */
  publishedParts?: Array<{ index: number; platformPostId: string; url: string | null }>;
  mayHaveSucceeded?: boolean;
  /**
   * The platform's own reason, where Herald acts on it or the user must: `duplicate` (the
   * platform already holds this content), `reply_restricted`, `quote_restricted`,
   * `client_forbidden` and `usage_capped` (the app's API access), `permission_missing` (a
   * scope LinkedIn grants only to approved apps), `version_retired`, `lookup_unavailable`.
   */
  reason?: string;
  cause?: unknown;
}

export class ConnectorError extends Error {
  readonly kind: ConnectorErrorKind;
  readonly platform: string;
  readonly status: number | undefined;
  readonly platformMessage: string | undefined;
  readonly part: number | undefined;
  readonly publishedParts: ConnectorErrorOptions['publishedParts'];
  readonly mayHaveSucceeded: boolean;
  readonly reason: string | undefined;

  constructor(kind: ConnectorErrorKind, message: string, opts: ConnectorErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.platform = opts.platform;
    this.status = opts.status;
    this.platformMessage = opts.platformMessage;
    this.part = opts.part;
    this.publishedParts = opts.publishedParts;
    this.mayHaveSucceeded = opts.mayHaveSucceeded ?? false;
    this.reason = opts.reason;
  }

  /** A copy that says which thread part failed and what was already published. */
  inPart(part: number, publishedParts: NonNullable<ConnectorErrorOptions['publishedParts']>): ConnectorError {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as ConnectorError;
    Object.assign(copy, this, { part, publishedParts, message: `part ${part + 1}: ${this.message}` });
    return copy;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      platform: this.platform,
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.platformMessage === undefined ? {} : { platformMessage: this.platformMessage }),
      ...(this.part === undefined ? {} : { part: this.part }),
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      ...(this instanceof RateLimited ? { retryAt: this.retryAt.toISOString() } : {}),
    };
  }
}

export class RateLimited extends ConnectorError {
  readonly retryAt: Date;
  constructor(message: string, retryAt: Date, opts: ConnectorErrorOptions) {
    super('rate_limited', message, opts);
    this.retryAt = retryAt;
  }
}

export class AuthExpired extends ConnectorError {
  /** True when refreshing cannot help: the user must reconnect the account. */
  readonly reconnect: boolean;
  constructor(message: string, opts: ConnectorErrorOptions & { reconnect?: boolean }) {
    super('auth_expired', message, opts);
    this.reconnect = opts.reconnect ?? false;
  }
}

export class InvalidContent extends ConnectorError {
  constructor(message: string, opts: ConnectorErrorOptions) {
    super('invalid_content', message, opts);
  }
}

export class TransientError extends ConnectorError {
  constructor(message: string, opts: ConnectorErrorOptions) {
    super('transient', message, opts);
  }
}

export class PermanentError extends ConnectorError {
  constructor(message: string, opts: ConnectorErrorOptions) {
    super('permanent', message, opts);
  }
}

export function isConnectorError(err: unknown): err is ConnectorError {
  return err instanceof ConnectorError;
}

/**
 * Reads a retry instant from rate-limit headers: `Retry-After` (seconds or HTTP date), or a
 * reset header holding epoch seconds or an ISO date (`x-ratelimit-reset`, `ratelimit-reset`,
 * `x-rate-limit-reset`). Falls back to `fallbackMs` from now.
 */
export function retryAtFromHeaders(headers: Headers, now = Date.now(), fallbackMs = 60_000): Date {
  const retryAfter = headers.get('retry-after');
  if (retryAfter) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) return new Date(now + secs * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return new Date(date);
  }
  for (const name of ['x-ratelimit-reset', 'ratelimit-reset', 'x-rate-limit-reset']) {
    const v = headers.get(name);
    if (!v) continue;
    const n = Number(v);
    if (Number.isFinite(n)) {
      // Epoch seconds are large; small numbers are "seconds from now" (IETF RateLimit draft).
      return new Date(n > 1e9 ? n * 1000 : now + n * 1000);
    }
    const date = Date.parse(v);
    if (!Number.isNaN(date)) return new Date(date);
  }
  return new Date(now + fallbackMs);
}

/** What a platform's `classify` is told about the HTTP call whose answer it reads. */
export interface HttpClassifyContext {
  /** HTTP method of the call: a failed write (not GET) may have been applied. */
  method?: string;
  /** What was called, for the message, e.g. `POST /api/v1/statuses`. */
  what?: string;
  /** The account holds a refresh token, so a 401 is worth one refresh before reconnecting. */
  canRefresh?: boolean;
  now?: number;
}

/** A retry instant never earlier than this far ahead, whatever the server's clock says. */
export const MIN_RETRY_DELAY_MS = 1_000;

/** When to retry after a 429: what the headers say, never sooner than `MIN_RETRY_DELAY_MS`. */
export function rateLimitRetryAt(headers: Headers, now: number): Date {
  return new Date(Math.max(retryAtFromHeaders(headers, now).getTime(), now + MIN_RETRY_DELAY_MS));
}

/** Whether a call of this HTTP method may have changed something at the platform. */
export const isWriteMethod = (method: string | undefined): boolean =>
  method !== undefined && method !== 'GET' && method !== 'HEAD';

/** Codes meaning no connection was made, so the request never reached the platform. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** The first `code` on the error or its causes (fetch wraps the socket's error). */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface NetworkFailureContext {
  /** Herald's platform id, e.g. `x`. */
  platform: string;
  /** The platform's name in messages, e.g. `X`. */
  label: string;
  method: string;
  /** The call, in words: `creating the post`. */
  what: string;
  timeoutMs: number;
}

/**
 * The typed error for an HTTP call that got no (complete) answer: a timeout or a lost
 * connection may have succeeded if the call was a write; a refused connection never did.
 */
export function classifyNetworkFailure(err: unknown, ctx: NetworkFailureContext): ConnectorError {
  const { platform, label, what } = ctx;
  // A user-given address (a Mastodon instance) that leads somewhere Herald does not connect
  // to: refused before connecting, so nothing was sent, and asking again will not help.
  const refused = outboundRefusal(err);
  if (refused)
    return new PermanentError(`${label} was not reached for ${what}: ${refused.message}`, {
      platform,
      mayHaveSucceeded: false,
      cause: err,
    });
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(`${label} did not answer ${what} within ${ctx.timeoutMs} ms`, {
      platform,
      mayHaveSucceeded: isWriteMethod(ctx.method),
      cause: err,
    });
  }
  const code = networkErrorCode(err);
  if (code && NOT_CONNECTED.has(code)) {
    return new TransientError(`Could not connect to ${label} for ${what} (${code})`, {
      platform,
      mayHaveSucceeded: false,
      cause: err,
    });
  }
  return new TransientError(`The connection to ${label} was lost during ${what}${code ? ` (${code})` : ''}`, {
    platform,
    mayHaveSucceeded: isWriteMethod(ctx.method),
    cause: err,
  });
}

/*
 * Answers most platforms word alike: a rate limit, a refused token, a server failure, a call
 * that got no answer. Each platform's `classify` decides which one an answer is; these only
 * build the error in Herald's words, with the platform's name (`label`: `YouTube`).
 */

/** 429 or the platform's rate-limit code: retry when the headers say (at least a short while). */
export function rateLimitedOn(
  label: string,
  what: string,
  headers: Headers,
  now: number,
  opts: ConnectorErrorOptions,
): RateLimited {
  const retryAt = rateLimitRetryAt(headers, now);
  return new RateLimited(`${label} rate limit reached on ${what}; retry after ${retryAt.toISOString()}`, retryAt, opts);
}

/** The access token was refused: refreshing may help when the account has a refresh token, else reconnect. */
export function tokenRefused(
  label: string,
  what: string,
  canRefresh: boolean | undefined,
  opts: ConnectorErrorOptions,
  said = '',
): AuthExpired {
  const reconnect = !canRefresh;
  return new AuthExpired(
    `${label} refused the access token on ${what}${said}; ${reconnect ? 'the account must be reconnected' : 'refreshing it may help'}`,
    { ...opts, reconnect },
  );
}

/** A 5xx: worth retrying; a write may have gone through. `answered` is what it said (`503`, `500 (internal_error)`). */
export function serverFailed(
  label: string,
  answered: string,
  what: string,
  method: string | undefined,
  opts: ConnectorErrorOptions,
  said = '',
): TransientError {
  return new TransientError(`${label} answered ${answered} to ${what}${said}`, {
    ...opts,
    mayHaveSucceeded: isWriteMethod(method),
  });
}

/** A platform's network classifier: `classifyNetworkFailure` with its id and name filled in. */
export const networkClassifier =
  (platform: string, label: string) =>
  (err: unknown, ctx: { method: string; what: string; timeoutMs: number }): ConnectorError =>
    classifyNetworkFailure(err, { ...ctx, platform, label });
