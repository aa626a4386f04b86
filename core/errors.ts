/**
 * Herald's error catalogue: every error a caller can see has a stable code, an HTTP status,
 * a default message and whether retrying can help. `docs/errors.md` documents each code and a
 * test keeps the two in step. Control-flow errors used by workers (rate limits, expired auth,
 * invalid content, unconfirmed publishes) are subclasses so they can be caught by kind.
 */

export interface ErrorSpec {
  status: number;
  message: string;
  retryable: boolean;
}

export const ERROR_CATALOGUE = {
  config_invalid: { status: 500, message: 'Invalid configuration', retryable: false },
  internal: { status: 500, message: 'Internal error', retryable: false },
  validation_failed: { status: 400, message: 'The request is invalid', retryable: false },
  malformed_json: { status: 400, message: 'The request body is not valid JSON', retryable: false },
  payload_too_large: { status: 413, message: 'The request body is larger than allowed', retryable: false },
  unsupported_media_type: { status: 415, message: 'This content type is not accepted here', retryable: false },
  not_found: { status: 404, message: 'Not found', retryable: false },
  conflict: { status: 409, message: 'The resource already exists', retryable: false },
  db_unavailable: { status: 503, message: 'The database is not answering', retryable: true },
  redis_unavailable: { status: 503, message: 'Redis is not answering', retryable: true },
  chroma_unavailable: { status: 503, message: 'Chroma is not answering', retryable: true },
  crypto_key_unknown: {
    status: 500,
    message: 'A stored secret was encrypted with a key that is not configured',
    retryable: false,
  },
  crypto_decrypt_failed: {
    status: 500,
    message: 'A stored secret failed authentication: wrong key or tampered data',
    retryable: false,
  },
  invalid_time: { status: 400, message: 'The time is not valid', retryable: false },
  target_invalid: {
    status: 422,
    message: 'One or more targets cannot be published as they are',
    retryable: false,
  },
  quota_exceeded: { status: 422, message: "The account's posting cap would be exceeded", retryable: false },
  invalid_state: { status: 409, message: 'The post is not in a state that allows this', retryable: false },
  csv_invalid: { status: 400, message: 'The CSV file cannot be read', retryable: false },
  account_unavailable: { status: 409, message: 'The social account cannot publish', retryable: false },
  shutting_down: { status: 503, message: 'The server is shutting down', retryable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface HeraldErrorOptions {
  message?: string;
  details?: unknown;
  cause?: unknown;
}

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, options: HeraldErrorOptions = {}) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HeraldError';
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.details = options.details;
  }

  /** The one error shape every channel sends: `{ error: { code, message, details? } }`. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

export function isHeraldError(err: unknown, code?: ErrorCode): err is HeraldError {
  return err instanceof HeraldError && (code === undefined || err.code === code);
}
