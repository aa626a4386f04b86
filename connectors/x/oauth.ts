/**
 * X's OAuth 2.0 with PKCE (S256) and offline access: the authorize URL, the code exchange,
 * refresh (X rotates refresh tokens: every refresh returns a new one), revocation and reading
 * who connected (`GET /2/users/me`, whose `subscription_type` tells whether long posts are
 * allowed). Herald is a confidential client: the token endpoints take HTTP Basic credentials.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountLinker } from '../connect.js';
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS, xRequest, type Transport, type XResponse } from './client.js';
import { PLATFORM, platformMessageOf } from './errors.js';

export const X_SCOPES = ['tweet.read', 'tweet.write', 'users.read', 'media.write', 'offline.access'];
export const DEFAULT_AUTHORIZE_URL = 'https://x.com/i/oauth2/authorize';

export interface XApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Default `https://api.x.com`. */
  apiUrl: string;
  /** Default {@link DEFAULT_AUTHORIZE_URL}. */
  authorizeUrl: string;
  timeoutMs?: number;
}

export interface XCredentials {
  accessToken: string;
  refreshToken?: string;
  /** ISO instant the access token expires. */
  expiresAt?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseCredentials(credentials: Credentials): XCredentials {
  const accessToken = text(credentials.accessToken);
  if (!accessToken) {
    throw new AuthExpired('The stored X credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const refreshToken = text(credentials.refreshToken);
  const expiresAt = text(credentials.expiresAt);
  return { accessToken, ...(refreshToken ? { refreshToken } : {}), ...(expiresAt ? { expiresAt } : {}) };
}

const tokenTransport = (app: XApp): Transport => ({
  apiUrl: app.apiUrl,
  timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  basic: { clientId: app.clientId, clientSecret: app.clientSecret },
});

export function buildAuthorizeUrl(app: XApp, state: string, codeChallenge: string): string {
  const url = new URL(app.authorizeUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', app.clientId);
  url.searchParams.set('redirect_uri', app.redirectUri);
  url.searchParams.set('scope', X_SCOPES.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

export interface TokenGrant {
  credentials: XCredentials;
  expiresAt: Date | null;
  scopes: string[];
}

function grantFrom(res: XResponse<Record<string, unknown> | null>, previousRefreshToken?: string): TokenGrant {
  const accessToken = text(res.body?.access_token);
  if (!accessToken)
    throw new PermanentError("X's answer to POST /2/oauth2/token could not be read", { platform: PLATFORM });
  const refreshToken = text(res.body?.refresh_token) ?? previousRefreshToken;
  const expiresIn = res.body?.expires_in;
  const expiresAt = typeof expiresIn === 'number' && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null;
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    scopes: (text(res.body?.scope) ?? '').split(/\s+/).filter(Boolean),
  };
}

const tokenCall = (app: XApp, form: Record<string, string>) =>
  xRequest<Record<string, unknown> | null>(tokenTransport(app), {
    method: 'POST',
    path: '/2/oauth2/token',
    form: new URLSearchParams({ ...form, client_id: app.clientId }),
    accept: [400, 401],
  });

export async function exchangeCode(app: XApp, code: string, codeVerifier: string): Promise<TokenGrant> {
  const res = await tokenCall(app, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: app.redirectUri,
    code_verifier: codeVerifier,
  });
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new PermanentError(`X refused the authorization code (${why})`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
    });
  }
  return grantFrom(res);
}

export async function refreshCredentials(app: XApp, credentials: XCredentials): Promise<TokenGrant> {
  if (!credentials.refreshToken) {
    throw new AuthExpired('X issued no refresh token for this account; it must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const res = await tokenCall(app, { grant_type: 'refresh_token', refresh_token: credentials.refreshToken });
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new AuthExpired(`X refused to refresh the token (${why}); the account must be reconnected`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
      reconnect: true,
    });
  }
  return grantFrom(res, credentials.refreshToken);
}

export async function revokeToken(app: XApp, token: string, hint: 'access_token' | 'refresh_token'): Promise<void> {
  await xRequest(tokenTransport(app), {
    method: 'POST',
    path: '/2/oauth2/revoke',
    form: new URLSearchParams({ token, token_type_hint: hint, client_id: app.clientId }),
  });
}

export interface XUser {
  id: string;
  username: string;
  name: string | null;
  profileImageUrl: string | null;
  /** `None`, `Basic`, `Premium`, `PremiumPlus`. */
  subscriptionType: string;
}

export async function readMe(app: Pick<XApp, 'apiUrl' | 'timeoutMs'>, accessToken: string): Promise<XUser> {
  const res = await xRequest<{ data?: Record<string, unknown> }>(
    { apiUrl: app.apiUrl, timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS, accessToken },
    { method: 'GET', path: '/2/users/me', query: { 'user.fields': 'profile_image_url,subscription_type' } },
  );
  const d = res.body?.data;
  const id = text(d?.id);
  const username = text(d?.username);
  if (!id || !username)
    throw new PermanentError("X's answer to GET /2/users/me could not be read", { platform: PLATFORM });
  return {
    id,
    username,
    name: text(d?.name) ?? null,
    profileImageUrl: text(d?.profile_image_url) ?? null,
    subscriptionType: text(d?.subscription_type) ?? 'None',
  };
}

/** Premium subscribers may post up to 25,000 weighted characters. */
export const hasLongPosts = (subscriptionType: string) =>
  subscriptionType === 'Premium' || subscriptionType === 'PremiumPlus';

export function createXLinker(app: XApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      const codeVerifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
      return { authorizeUrl: buildAuthorizeUrl(app, state, challenge), carry: {}, secrets: { codeVerifier } };
    },
    async complete({ code, secrets }) {
      const grant = await exchangeCode(app, code, secrets.codeVerifier ?? '');
      const me = await readMe(app, grant.credentials.accessToken);
      return {
        externalId: me.id,
        handle: me.username,
        displayName: me.name,
        avatarUrl: me.profileImageUrl,
        credentials: { ...grant.credentials },
        expiresAt: grant.expiresAt,
        scopes: grant.scopes,
        metadata: { subscriptionType: me.subscriptionType, longPosts: hasLongPosts(me.subscriptionType) },
      };
    },
    async revoke(credentials) {
      const creds = parseCredentials(credentials);
      if (creds.refreshToken) await revokeToken(app, creds.refreshToken, 'refresh_token');
      await revokeToken(app, creds.accessToken, 'access_token');
    },
  };
}
