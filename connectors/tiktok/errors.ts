/**
 * TikTok's answers as Herald's typed connector errors. Every v2 answer carries
 * `error: {code, message, log_id}`, and `code` other than `ok` is a failure whatever the HTTP
 * status says: spam-risk refusals in particular arrive with HTTP 200
 * (developers.tiktok.com/doc/tiktok-api-v2-error-handling, …/content-posting-api-reference-direct-post).
 * The code decides: `access_token_invalid` refreshes, `rate_limit_exceeded` waits (TikTok's
 * windows are a minute), `spam_risk_*` and the posting rules are refusals the user must read,
 * `unaudited_client_can_only_post_to_private_accounts` names the audit.
 */
import {
  AuthExpired,
  InvalidContent,
  PermanentError,
  RateLimited,
  networkClassifier,
  rateLimitedOn,
  serverFailed,
  tokenRefused,
  type ConnectorError,
  type HttpClassifyContext,
} from '../errors.js';

export const PLATFORM = 'tiktok';

export interface TikTokError {
  code: string;
  message: string;
  logId: string | undefined;
}

export function errorOf(body: unknown): TikTokError | null {
  const e = (body as { error?: unknown } | null)?.error;
  if (e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') {
    const x = e as { code: string; message?: string; log_id?: string };
    return { code: x.code, message: x.message ?? '', logId: x.log_id };
  }
  // OAuth endpoints: {error, error_description, log_id}.
  const b = body as { error?: unknown; error_description?: unknown; log_id?: unknown } | null;
  if (typeof b?.error === 'string')
    return {
      code: b.error,
      message: typeof b.error_description === 'string' ? b.error_description : '',
      logId: typeof b.log_id === 'string' ? b.log_id : undefined,
    };
  return null;
}

/** What each posting refusal means for the user, in words. */
const REFUSALS: Record<string, string> = {
  spam_risk_too_many_posts: 'the account reached the number of posts TikTok allows it per day',
  spam_risk_user_banned_from_posting: 'TikTok has banned the account from posting',
  spam_risk_too_many_pending_share:
    'the account has too many uploads waiting in its TikTok inbox; post or delete some first',
  spam_risk_text: 'TikTok took the caption for spam',
  spam_risk: 'TikTok took the request for spam',
  reached_active_user_cap: "the app reached TikTok's daily cap of active posting users",
  unaudited_client_can_only_post_to_private_accounts:
    'TikTok lets an app that has not passed its content-posting audit post only to private accounts, as SELF_ONLY; make the account private and choose "Only me", or have the app audited',
  privacy_level_option_mismatch: "the chosen privacy level is not one the creator's account offers now",
  url_ownership_unverified: "the video's URL is on a domain not verified for the app in the TikTok developer portal",
  duration_check_failed: 'the video is longer than the account may post',
  file_format_check_failed: 'TikTok does not accept the file format',
  frame_rate_check_failed: 'the frame rate is outside 23-60 fps',
  picture_size_check_failed: 'the picture size is outside what TikTok accepts',
  video_pull_failed: 'TikTok could not download the video from its URL',
  photo_pull_failed: 'TikTok could not download a photo from its URL',
  invalid_file_upload: "the uploaded file does not meet TikTok's specifications",
};

export function describeRefusal(code: string): string | undefined {
  return REFUSALS[code];
}

export function classify(
  status: number,
  body: unknown,
  headers: Headers,
  ctx: HttpClassifyContext = {},
): ConnectorError {
  const what = ctx.what ?? 'the call';
  const e = errorOf(body);
  const code = e?.code ?? '';
  const platformMessage = e ? `${e.code}${e.message ? `: ${e.message}` : ''}` : undefined;
  const base = {
    platform: PLATFORM,
    status,
    ...(platformMessage ? { platformMessage } : {}),
    ...(code ? { reason: code } : {}),
  };
  const now = ctx.now ?? Date.now();
  if (code === 'rate_limit_exceeded' || status === 429) return rateLimitedOn('TikTok', what, headers, now, base);
  if (code === 'access_token_invalid' || (status === 401 && !code.startsWith('scope_')))
    return tokenRefused('TikTok', what, ctx.canRefresh, base);
  if (code === 'scope_not_authorized' || code === 'scope_permission_missed') {
    return new AuthExpired(
      `The TikTok account did not grant Herald what ${what} needs (${code}); reconnect it and approve every permission`,
      { ...base, reconnect: true },
    );
  }
  const refusal = REFUSALS[code];
  if (code === 'spam_risk_too_many_posts') {
    // A daily cap: waiting helps, posting again now does not.
    return new RateLimited(`TikTok refused the post: ${refusal}`, new Date(now + 24 * 3600 * 1000), base);
  }
  if (refusal || code.startsWith('spam_risk') || code === 'invalid_params' || code === 'invalid_param') {
    return new InvalidContent(`TikTok refused the post: ${refusal ?? e?.message ?? code}`, base);
  }
  if (status >= 500 || code === 'internal_error')
    return serverFailed('TikTok', `${status} (${code || 'no code'})`, what, ctx.method, base);
  if (status === 400)
    return new InvalidContent(`TikTok refused ${what}${platformMessage ? `: ${platformMessage}` : ''}`, base);
  return new PermanentError(`TikTok answered ${status} (${code || 'no code'}) to ${what}`, base);
}

export const classifyNetworkError = networkClassifier(PLATFORM, 'TikTok');
