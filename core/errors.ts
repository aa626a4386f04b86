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
  request_timeout: { status: 408, message: 'The request did not arrive in time', retryable: true },
  headers_too_large: { status: 431, message: 'The request line and headers are larger than 16 KB', retryable: false },
  not_found: { status: 404, message: 'Not found', retryable: false },
  conflict: { status: 409, message: 'The resource already exists', retryable: false },
  idempotency_key_reused: {
    status: 422,
    message: 'The idempotency key was already used with other arguments',
    retryable: false,
  },
  db_unavailable: { status: 503, message: 'The database is not answering', retryable: true },
  redis_unavailable: { status: 503, message: 'Redis is not answering', retryable: true },
  chroma_unavailable: { status: 503, message: 'Chroma is not answering', retryable: true },
  storage_unavailable: { status: 503, message: 'Media storage is not answering', retryable: true },
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
  unauthorized: { status: 401, message: 'Sign in, or send a valid access token or API key', retryable: false },
  token_expired: { status: 401, message: 'The access token has expired; refresh it', retryable: false },
  invalid_credentials: { status: 401, message: 'The email or password is wrong', retryable: false },
  refresh_reused: {
    status: 401,
    message: 'This refresh token was already used; the session has been revoked',
    retryable: false,
  },
  forbidden: { status: 403, message: 'Your role does not allow this', retryable: false },
  rate_limited: { status: 429, message: 'Too many requests; slow down', retryable: true },
  media_invalid: { status: 422, message: 'The file is not a media type Herald can use', retryable: false },
  media_fetch_failed: { status: 502, message: 'The media URL could not be fetched', retryable: true },
  media_in_use: { status: 409, message: 'The media is attached to a post that is not published yet', retryable: false },
  range_not_satisfiable: { status: 416, message: 'The requested byte range is outside the file', retryable: false },
  unsupported_frame: { status: 400, message: 'This kind of WebSocket frame is not accepted', retryable: false },
  unknown_message_type: { status: 400, message: 'This WebSocket message type is not known here', retryable: false },
  model_unavailable: { status: 503, message: 'No model can take this request now', retryable: true },
  model_context_overflow: {
    status: 422,
    message: 'The request does not fit the context window of any model allowed here',
    retryable: false,
  },
  model_cost_cap_reached: {
    status: 402,
    message: 'The workspace reached its daily model cost cap and no local model can serve',
    retryable: false,
  },
  model_stream_interrupted: { status: 502, message: 'The model stopped in the middle of its reply', retryable: true },
  model_not_found: { status: 404, message: 'No such model', retryable: false },
  model_pull_failed: { status: 502, message: 'Ollama refused or failed the model pull', retryable: false },
  ollama_unavailable: { status: 503, message: 'Ollama is not running', retryable: true },
  platform_not_configured: {
    status: 409,
    message: 'Herald has no app credentials for this platform',
    retryable: false,
  },
  oauth_state_invalid: {
    status: 400,
    message: 'This connect link is unknown, already used or expired; start connecting again',
    retryable: false,
  },
  oauth_failed: { status: 502, message: 'The platform refused to connect the account', retryable: false },
  oauth_denied: { status: 403, message: 'The account owner did not grant the authorization', retryable: false },
  platform_unsupported: { status: 400, message: 'Herald has no connector for this platform', retryable: false },
  handle_unresolved: { status: 422, message: 'The handle or DID does not resolve to an account', retryable: false },
  sign_in_refused: { status: 422, message: 'The platform refused the sign-in', retryable: false },
  platform_unreachable: { status: 502, message: 'The platform could not be reached', retryable: true },
  knowledge_input_invalid: {
    status: 422,
    message: 'The knowledge source has no usable text',
    retryable: false,
  },
  knowledge_input_too_large: { status: 413, message: 'The knowledge source is larger than allowed', retryable: false },
  knowledge_fetch_failed: { status: 502, message: 'The knowledge source could not be fetched', retryable: true },
  knowledge_embedding_mismatch: {
    status: 409,
    message: "The workspace's knowledge was embedded with another vector dimension",
    retryable: false,
  },
  knowledge_embedder_invalid: {
    status: 400,
    message: 'This embedder cannot be used by this server',
    retryable: false,
  },
  embedder_refused: { status: 502, message: 'The embedding endpoint refused the request', retryable: false },
  invalid_audio_frame: {
    status: 400,
    message: 'An audio frame must be 640 bytes: 20 ms of 16-bit PCM at 16 kHz, mono',
    retryable: false,
  },
  unsupported_audio_format: { status: 400, message: 'This audio format is not accepted', retryable: false },
  voice_unavailable: { status: 503, message: 'Voice is not configured on this server', retryable: false },
  utterance_too_long: { status: 413, message: 'The utterance is longer than allowed', retryable: false },
  speech_to_text_failed: { status: 502, message: 'Speech could not be turned into text', retryable: true },
  text_to_speech_failed: { status: 502, message: 'The answer could not be spoken', retryable: true },
  link_code_invalid: {
    status: 400,
    message: 'The link code is unknown, used or expired; make a new one in Herald',
    retryable: false,
  },
  link_destination_invalid: {
    status: 400,
    message: 'A tracked link needs an absolute http or https destination',
    retryable: false,
  },
  disclosure_missing: {
    status: 422,
    message: 'A post with an affiliate link needs its disclosure',
    retryable: false,
  },
  exchange_rate_missing: {
    status: 422,
    message: 'No exchange rate is stored for this currency on or before that date',
    retryable: false,
  },
  postback_signature_invalid: {
    status: 401,
    message: 'The postback is not signed with the program secret',
    retryable: false,
  },
  goal_unmeasurable: {
    status: 422,
    message: 'Analytics has no figure yet to start this goal from',
    retryable: false,
  },
  oauth_invalid_request: {
    status: 400,
    message: 'The request is missing a parameter, repeats one or has a bad value',
    retryable: false,
  },
  oauth_invalid_client: { status: 401, message: 'The OAuth client is unknown', retryable: false },
  oauth_invalid_grant: {
    status: 400,
    message: 'The authorization code or refresh token is not valid',
    retryable: false,
  },
  oauth_unsupported_grant_type: {
    status: 400,
    message: 'Only authorization_code and refresh_token grants are supported',
    retryable: false,
  },
  oauth_bad_response_type: {
    status: 400,
    message: 'Only the authorization code flow (response_type=code) is supported',
    retryable: false,
  },
  oauth_invalid_scope: { status: 400, message: 'The scope is unknown or beyond what was granted', retryable: false },
  oauth_invalid_target: { status: 400, message: "The resource is not this server's MCP endpoint", retryable: false },
  oauth_invalid_redirect_uri: { status: 400, message: 'A redirect URI is not allowed', retryable: false },
  oauth_invalid_metadata: { status: 400, message: 'The client metadata is not valid', retryable: false },
  oauth_access_denied: { status: 403, message: 'The user declined the authorization', retryable: false },
  oauth_csrf_failed: { status: 403, message: 'The form was not sent from its own page; start again', retryable: false },
  mcp_session_not_found: {
    status: 404,
    message: 'The MCP session is unknown or has ended; initialize a new one',
    retryable: false,
  },
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
