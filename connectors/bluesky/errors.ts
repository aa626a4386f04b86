/**
 * Turns what a PDS (or the network on the way to it) answered into Herald's connector error
 * kinds. XRPC errors carry an HTTP status and an error name (`RateLimitExceeded`,
 * `ExpiredToken`, `InvalidRequest`...); network failures carry a cause that says whether the
 * request left this process, which decides `mayHaveSucceeded` for writes.
 */
import { XRPCError } from '@atproto/api';
import { outboundRefusal } from '../../core/index.js';
import {
  AuthExpired,
  type ConnectorError,
  InvalidContent,
  isConnectorError,
  PermanentError,
  RateLimited,
  retryAtFromHeaders,
  TransientError,
} from '../errors.js';

export const PLATFORM = 'bluesky';

export interface ClassifyContext {
  /** The call creates, changes or deletes something (so a lost answer may hide an applied write). */
  write?: boolean;
  /** The call is `createSession` or `refreshSession`: an auth refusal means the user must reconnect. */
  session?: boolean;
  /** The client timeout, for the message. */
  timeoutMs?: number;
}

/** `ResponseType.InvalidResponse` in @atproto/xrpc (network failures are `Unknown`, 1). */
const INVALID_RESPONSE = 2;

/** XRPC error names meaning the bearer token no longer works; a refresh may fix it. */
const TOKEN_ERRORS = new Set(['ExpiredToken', 'InvalidToken', 'AuthMissing', 'AuthRequired', 'AuthenticationRequired']);
/** The account itself cannot act until its owner does something on Bluesky. */
const ACCOUNT_ERRORS = new Set(['AccountTakedown', 'AccountDeactivated', 'AccountNotFound']);
/** Network failures before the request was sent: nothing can have been applied. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function classify(err: unknown, ctx: ClassifyContext = {}): ConnectorError {
  if (isConnectorError(err)) return err;
  if (err instanceof XRPCError && err.status >= 100) return classifyResponse(err, ctx);
  if (err instanceof XRPCError && err.status === INVALID_RESPONSE) {
    // A success status with a body that does not match the lexicon: a write was applied.
    const message = 'Bluesky answered in a form this client cannot read';
    return ctx.write
      ? new TransientError(message, { platform: PLATFORM, mayHaveSucceeded: true, cause: err })
      : new PermanentError(message, { platform: PLATFORM, cause: err });
  }
  return classifyNetwork(err, ctx);
}

/** `getRecord` answers this for a record key that holds nothing. */
export function isRecordNotFound(err: unknown): boolean {
  if (!(err instanceof XRPCError)) return false;
  // Older PDS versions answered a plain InvalidRequest with this message.
  return err.error === 'RecordNotFound' || (err.status === 400 && /could not locate record/i.test(err.message));
}

function classifyResponse(err: XRPCError, ctx: ClassifyContext): ConnectorError {
  const status = err.status;
  const name = err.error ?? '';
  const platformMessage = err.message || name;
  const base = { platform: PLATFORM, status, platformMessage, cause: err };
  const write = ctx.write ?? false;

  if (status === 429 || name === 'RateLimitExceeded') {
    const headers = new Headers();
    for (const [k, v] of Object.entries(err.headers ?? {})) if (v !== undefined) headers.set(k, v);
    const retryAt = retryAtFromHeaders(headers);
    const policy = headers.get('ratelimit-policy');
    return new RateLimited(
      `Bluesky rate limit reached${policy ? ` (policy ${policy})` : ''}; retry after ${retryAt.toISOString()}`,
      retryAt,
      base,
    );
  }
  if (ACCOUNT_ERRORS.has(name)) {
    return new AuthExpired(`The Bluesky account cannot act: ${platformMessage}`, { ...base, reconnect: true });
  }
  if (TOKEN_ERRORS.has(name) || status === 401) {
    return ctx.session
      ? new AuthExpired(`The Bluesky session cannot be renewed: ${platformMessage}`, { ...base, reconnect: true })
      : new AuthExpired(`The Bluesky access token was refused: ${platformMessage}`, { ...base, reconnect: false });
  }
  if (status >= 500) {
    return new TransientError(`Bluesky answered ${status} ${name}: ${platformMessage}`, {
      ...base,
      mayHaveSucceeded: write,
    });
  }
  if (write && (status === 400 || status === 413)) {
    return new InvalidContent(`Bluesky refused the post: ${platformMessage}`, base);
  }
  return new PermanentError(`Bluesky answered ${status} ${name}: ${platformMessage}`, base);
}

function classifyNetwork(err: unknown, ctx: ClassifyContext): ConnectorError {
  const write = ctx.write ?? false;
  // Refused by the outbound guard before connecting: nothing was sent, and asking again will
  // not help (the account's PDS resolves to a loopback or private address).
  const refused = outboundRefusal(err);
  if (refused)
    return new PermanentError(`Bluesky was not reached: ${refused.message}`, {
      platform: PLATFORM,
      mayHaveSucceeded: false,
      cause: err,
    });
  const causes = causeChain(err);
  const timedOut = causes.some((c) => c instanceof Error && (c.name === 'TimeoutError' || c.name === 'AbortError'));
  if (timedOut) {
    const after = ctx.timeoutMs === undefined ? '' : ` after ${ctx.timeoutMs} ms`;
    return new TransientError(`Bluesky did not answer${after}`, {
      platform: PLATFORM,
      mayHaveSucceeded: write,
      cause: err,
    });
  }
  const code = causes.map(errorCode).find((c) => c !== undefined);
  if (code !== undefined) {
    const sent = !NOT_SENT_CODES.has(code);
    return new TransientError(
      sent ? `The connection to Bluesky was lost (${code})` : `Bluesky could not be reached (${code})`,
      { platform: PLATFORM, mayHaveSucceeded: write && sent, cause: err },
    );
  }
  if (causes.some((c) => c instanceof TypeError && /fetch failed/i.test(c.message))) {
    return new TransientError('The request to Bluesky failed', {
      platform: PLATFORM,
      mayHaveSucceeded: write,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new PermanentError(`Unexpected error talking to Bluesky: ${message}`, { platform: PLATFORM, cause: err });
}

function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function errorCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const code = (e as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
