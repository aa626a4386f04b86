/**
 * Pinterest's OAuth 2.0 (API v5): the authorize URL, the code exchange and refresh at
 * `/v5/oauth/token` with the app's Basic credentials (access tokens last 30 days,
 * `expires_in`; refresh tokens a year), and who connected (`/v5/user_account`) with the
 * boards to save Pins to, kept in the account's metadata (the first is the default).
 */
import type { AccountLinker } from '../connect.js';
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError } from '../errors.js';
import { DEFAULT_AUTHORIZE_URL, DEFAULT_TIMEOUT_MS, pinRequest, type Transport } from './client.js';
import { messageOf, PLATFORM } from './errors.js';
import type { Board } from './limits.js';

export const PINTEREST_SCOPES = ['boards:read', 'pins:read', 'pins:write', 'user_accounts:read'];

export interface PinterestApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  apiUrl: string;
  authorizeUrl: string;
  timeoutMs?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseCredentials(credentials: Credentials): { accessToken: string; refreshToken?: string } {
  const accessToken = str(credentials.accessToken);
  if (!accessToken)
    throw new AuthExpired('The stored Pinterest credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  const refreshToken = str(credentials.refreshToken);
  return { accessToken, ...(refreshToken ? { refreshToken } : {}) };
}

export function appUrls(apiUrl: string | undefined): Pick<PinterestApp, 'apiUrl' | 'authorizeUrl'> {
  if (!apiUrl) return { apiUrl: 'https://api.pinterest.com', authorizeUrl: DEFAULT_AUTHORIZE_URL };
  const base = apiUrl.replace(/\/+$/, '');
  return { apiUrl: base, authorizeUrl: `${base}/oauth/` };
}

export interface TokenGrant {
  credentials: { accessToken: string; refreshToken?: string; expiresAt?: string };
  expiresAt: Date | null;
  scopes: string[];
}

async function tokenCall(
  app: PinterestApp,
  form: Record<string, string>,
  previousRefresh?: string,
): Promise<TokenGrant> {
  const res = await pinRequest(
    {
      apiUrl: app.apiUrl,
      timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      basic: { clientId: app.clientId, clientSecret: app.clientSecret },
    },
    {
      method: 'POST',
      path: '/v5/oauth/token',
      form: new URLSearchParams(form),
      accept: [400, 401],
      what: 'POST /v5/oauth/token',
    },
  );
  const b = (res.body ?? {}) as Record<string, unknown>;
  const accessToken = str(b.access_token);
  if (res.status !== 200 || !accessToken) {
    const why = messageOf(res.body) ?? `status ${res.status}`;
    throw form.grant_type === 'refresh_token'
      ? new AuthExpired(`Pinterest refused to refresh the token (${why}); the account must be reconnected`, {
          platform: PLATFORM,
          status: res.status,
          platformMessage: why,
          reconnect: true,
        })
      : new PermanentError(`Pinterest refused the authorization code (${why})`, {
          platform: PLATFORM,
          status: res.status,
          platformMessage: why,
        });
  }
  const refreshToken = str(b.refresh_token) ?? previousRefresh;
  const expiresAt = typeof b.expires_in === 'number' ? new Date(Date.now() + b.expires_in * 1000) : null;
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    scopes: (str(b.scope) ?? '').split(/[\s,]+/).filter(Boolean),
  };
}

export function refreshCredentials(app: PinterestApp, c: { refreshToken?: string }): Promise<TokenGrant> {
  if (!c.refreshToken)
    return Promise.reject(
      new AuthExpired('Pinterest issued no refresh token for this account; it must be reconnected', {
        platform: PLATFORM,
        reconnect: true,
      }),
    );
  return tokenCall(app, { grant_type: 'refresh_token', refresh_token: c.refreshToken }, c.refreshToken);
}

/** The account's boards (`GET /v5/boards`, every page). */
export async function listBoards(t: Transport): Promise<Board[]> {
  const out: Board[] = [];
  let bookmark: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await pinRequest(t, { method: 'GET', path: '/v5/boards', query: { page_size: 100, bookmark } });
    const b = (res.body ?? {}) as { items?: Array<{ id?: string; name?: string }>; bookmark?: string | null };
    for (const i of b.items ?? []) if (i.id) out.push({ id: i.id, name: i.name ?? i.id });
    bookmark = b.bookmark ?? undefined;
    if (!bookmark) break;
  }
  return out;
}

export function createPinterestLinker(app: PinterestApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      const url = new URL(app.authorizeUrl);
      url.searchParams.set('client_id', app.clientId);
      url.searchParams.set('redirect_uri', app.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', PINTEREST_SCOPES.join(','));
      url.searchParams.set('state', state);
      return { authorizeUrl: url.toString(), carry: {}, secrets: {} };
    },
    async complete({ code }) {
      const grant = await tokenCall(app, { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri });
      const t: Transport = {
        apiUrl: app.apiUrl,
        timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        accessToken: grant.credentials.accessToken,
      };
      const me = (await pinRequest(t, { method: 'GET', path: '/v5/user_account' })).body as Record<
        string,
        unknown
      > | null;
      const username = str(me?.username);
      if (!username)
        throw new PermanentError("Pinterest's user account answer could not be read", { platform: PLATFORM });
      const boards = await listBoards(t);
      return {
        externalId: str(me?.id) ?? username,
        handle: username,
        displayName: str(me?.business_name) ?? username,
        avatarUrl: str(me?.profile_image) ?? null,
        credentials: { ...grant.credentials },
        expiresAt: grant.expiresAt,
        scopes: grant.scopes,
        metadata: {
          boards,
          ...(boards[0] ? { defaultBoardId: boards[0].id } : {}),
          accountType: str(me?.account_type) ?? null,
        },
      };
    },
  };
}
