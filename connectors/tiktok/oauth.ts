/**
 * TikTok Login Kit (OAuth 2.0 v2): the authorize URL (`client_key`, comma-separated scopes,
 * PKCE S256), the code exchange and refresh at `/v2/oauth/token/` (access tokens last
 * `expires_in` seconds; refresh tokens may be replaced on every refresh, so the new one is
 * returned to be stored at once), revocation, and who connected (`/v2/user/info/`) with the
 * creator's posting options (`creator_info`), kept in the account's metadata for schedule time.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountLinker } from '../connect.js';
import type { Credentials } from '../contract.js';
import { AuthExpired, isConnectorError, PermanentError } from '../errors.js';
import { DEFAULT_AUTHORIZE_URL, DEFAULT_TIMEOUT_MS, ttRequest, type Transport } from './client.js';
import { errorOf, PLATFORM } from './errors.js';
import type { CreatorInfo, PrivacyLevel } from './limits.js';

export const TIKTOK_SCOPES = [
  'user.info.basic',
  'user.info.profile',
  'user.info.stats',
  'video.publish',
  'video.upload',
  'video.list',
];

export interface TikTokApp {
  clientKey: string;
  clientSecret: string;
  redirectUri: string;
  apiUrl: string;
  authorizeUrl: string;
  timeoutMs?: number;
}

export interface TikTokCredentials {
  accessToken: string;
  refreshToken?: string;
  openId?: string;
  expiresAt?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseCredentials(credentials: Credentials): TikTokCredentials {
  const accessToken = str(credentials.accessToken);
  if (!accessToken)
    throw new AuthExpired('The stored TikTok credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  const out: TikTokCredentials = { accessToken };
  for (const k of ['refreshToken', 'openId', 'expiresAt'] as const) {
    const v = str(credentials[k]);
    if (v) out[k] = v;
  }
  return out;
}

export function appUrls(apiUrl: string | undefined): Pick<TikTokApp, 'apiUrl' | 'authorizeUrl'> {
  if (!apiUrl) return { apiUrl: 'https://open.tiktokapis.com', authorizeUrl: DEFAULT_AUTHORIZE_URL };
  const base = apiUrl.replace(/\/+$/, '');
  return { apiUrl: base, authorizeUrl: `${base}/v2/auth/authorize/` };
}

export interface TokenGrant {
  credentials: TikTokCredentials;
  expiresAt: Date | null;
  scopes: string[];
}

async function tokenCall(app: TikTokApp, form: Record<string, string>): Promise<TokenGrant> {
  const t: Transport = { apiUrl: app.apiUrl, timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  let body: Record<string, unknown>;
  try {
    const res = await ttRequest(t, {
      method: 'POST',
      path: '/v2/oauth/token/',
      form: new URLSearchParams({ ...form, client_key: app.clientKey, client_secret: app.clientSecret }),
      what: 'POST /v2/oauth/token/',
    });
    body = (res.body ?? {}) as Record<string, unknown>;
  } catch (err) {
    if (
      isConnectorError(err) &&
      (err.kind === 'invalid_content' || err.kind === 'permanent' || err.kind === 'auth_expired')
    ) {
      const why = err.platformMessage ?? err.message;
      throw form.grant_type === 'refresh_token'
        ? new AuthExpired(`TikTok refused to refresh the token (${why}); the account must be reconnected`, {
            platform: PLATFORM,
            platformMessage: why,
            reconnect: true,
          })
        : new PermanentError(`TikTok refused the authorization code (${why})`, {
            platform: PLATFORM,
            platformMessage: why,
          });
    }
    throw err;
  }
  const accessToken = str(body.access_token);
  if (!accessToken) {
    const e = errorOf(body);
    throw new AuthExpired(`TikTok's token answer could not be read${e ? ` (${e.code})` : ''}`, {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const expiresAt = typeof body.expires_in === 'number' ? new Date(Date.now() + body.expires_in * 1000) : null;
  const refreshToken = str(body.refresh_token) ?? form.refresh_token;
  const openId = str(body.open_id);
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      ...(openId ? { openId } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    scopes: (str(body.scope) ?? '').split(/[\s,]+/).filter(Boolean),
  };
}

export async function refreshCredentials(app: TikTokApp, c: TikTokCredentials): Promise<TokenGrant> {
  if (!c.refreshToken)
    throw new AuthExpired('TikTok issued no refresh token for this account; it must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  const grant = await tokenCall(app, { grant_type: 'refresh_token', refresh_token: c.refreshToken });
  return {
    ...grant,
    credentials: { ...grant.credentials, ...(c.openId && !grant.credentials.openId ? { openId: c.openId } : {}) },
  };
}

/** The creator's posting options right now (`POST /v2/post/publish/creator_info/query/`). */
export async function queryCreatorInfo(t: Transport): Promise<CreatorInfo> {
  const res = await ttRequest(t, {
    method: 'POST',
    path: '/v2/post/publish/creator_info/query/',
    json: {},
    what: 'reading the creator info',
  });
  const d = ((res.body as { data?: Record<string, unknown> } | null)?.data ?? {}) as Record<string, unknown>;
  return {
    privacyLevelOptions: (Array.isArray(d.privacy_level_options) ? d.privacy_level_options : []) as PrivacyLevel[],
    commentDisabled: d.comment_disabled === true,
    duetDisabled: d.duet_disabled === true,
    stitchDisabled: d.stitch_disabled === true,
    maxVideoPostDurationSec: typeof d.max_video_post_duration_sec === 'number' ? d.max_video_post_duration_sec : null,
    ...(str(d.creator_username) ? { username: str(d.creator_username)! } : {}),
  };
}

export function createTikTokLinker(app: TikTokApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      const codeVerifier = randomBytes(32).toString('base64url');
      const url = new URL(app.authorizeUrl);
      url.searchParams.set('client_key', app.clientKey);
      url.searchParams.set('scope', TIKTOK_SCOPES.join(','));
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('redirect_uri', app.redirectUri);
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', createHash('sha256').update(codeVerifier).digest('hex'));
      url.searchParams.set('code_challenge_method', 'S256');
      return { authorizeUrl: url.toString(), carry: {}, secrets: { codeVerifier } };
    },
    async complete({ code, secrets }) {
      const grant = await tokenCall(app, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: app.redirectUri,
        code_verifier: secrets.codeVerifier ?? '',
      });
      const t: Transport = {
        apiUrl: app.apiUrl,
        timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        accessToken: grant.credentials.accessToken,
      };
      const res = await ttRequest(t, {
        method: 'GET',
        path: '/v2/user/info/',
        query: { fields: 'open_id,avatar_url,display_name,username,follower_count,following_count,video_count' },
        what: 'reading who connected',
      });
      const u = ((res.body as { data?: { user?: Record<string, unknown> } } | null)?.data?.user ?? {}) as Record<
        string,
        unknown
      >;
      const openId = str(u.open_id) ?? grant.credentials.openId;
      if (!openId) throw new PermanentError("TikTok's user info could not be read", { platform: PLATFORM });
      const creatorInfo = await queryCreatorInfo(t);
      return {
        externalId: openId,
        handle: str(u.username) ?? creatorInfo.username ?? openId,
        displayName: str(u.display_name) ?? null,
        avatarUrl: str(u.avatar_url) ?? null,
        credentials: { ...grant.credentials, openId },
        expiresAt: grant.expiresAt,
        scopes: grant.scopes,
        metadata: { creatorInfo: { ...creatorInfo, readAt: new Date().toISOString() } },
      };
    },
    async revoke(credentials) {
      const c = parseCredentials(credentials);
      await ttRequest(
        { apiUrl: app.apiUrl, timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS },
        {
          method: 'POST',
          path: '/v2/oauth/revoke/',
          form: new URLSearchParams({
            client_key: app.clientKey,
            client_secret: app.clientSecret,
            token: c.accessToken,
          }),
        },
      );
    },
  };
}
