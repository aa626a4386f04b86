/**
 * Google's OAuth 2.0 for YouTube: the authorize URL (offline access, PKCE S256, consent
 * prompt so a refresh token is issued), the code exchange, refresh, revocation and reading
 * the channel that connected. Google's access tokens last an hour (`expires_in`); a refresh
 * token of an app whose consent screen is in "Testing" expires after 7 days, so an
 * `invalid_grant` on refresh is reported with that cause named.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccountLinker } from '../connect.js';
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError } from '../errors.js';
import { DEFAULT_AUTHORIZE_URL, DEFAULT_TIMEOUT_MS, DEFAULT_TOKEN_URL, ytRequest, type Transport } from './client.js';
import { googleErrorOf, PLATFORM } from './errors.js';

export const YOUTUBE_SCOPES = [
  'https://www.googleapis.com/auth/youtube.upload',
  'https://www.googleapis.com/auth/youtube.force-ssl',
];

export interface YouTubeApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  apiUrl: string;
  tokenUrl: string;
  authorizeUrl: string;
  timeoutMs?: number;
}

export interface YouTubeCredentials {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseCredentials(credentials: Credentials): YouTubeCredentials {
  const accessToken = str(credentials.accessToken);
  if (!accessToken)
    throw new AuthExpired('The stored YouTube credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  const refreshToken = str(credentials.refreshToken);
  const expiresAt = str(credentials.expiresAt);
  return { accessToken, ...(refreshToken ? { refreshToken } : {}), ...(expiresAt ? { expiresAt } : {}) };
}

/** With a test double at `apiUrl`, OAuth is served there too. */
export function appUrls(apiUrl: string | undefined): Pick<YouTubeApp, 'apiUrl' | 'tokenUrl' | 'authorizeUrl'> {
  if (!apiUrl)
    return { apiUrl: 'https://www.googleapis.com', tokenUrl: DEFAULT_TOKEN_URL, authorizeUrl: DEFAULT_AUTHORIZE_URL };
  const base = apiUrl.replace(/\/+$/, '');
  return { apiUrl: base, tokenUrl: `${base}/token`, authorizeUrl: `${base}/o/oauth2/v2/auth` };
}

export interface TokenGrant {
  credentials: YouTubeCredentials;
  expiresAt: Date | null;
  scopes: string[];
}

async function tokenCall(app: YouTubeApp, form: Record<string, string>) {
  const t: Transport = { apiUrl: app.apiUrl, timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  return ytRequest(t, {
    method: 'POST',
    path: app.tokenUrl,
    form: new URLSearchParams({ ...form, client_id: app.clientId, client_secret: app.clientSecret }),
    accept: [400, 401],
    what: 'POST /token',
  });
}

function grantFrom(body: unknown, previousRefreshToken?: string): TokenGrant {
  const b = (body ?? {}) as Record<string, unknown>;
  const accessToken = str(b.access_token);
  if (!accessToken) throw new PermanentError("Google's token answer could not be read", { platform: PLATFORM });
  const refreshToken = str(b.refresh_token) ?? previousRefreshToken;
  const expiresAt = typeof b.expires_in === 'number' ? new Date(Date.now() + b.expires_in * 1000) : null;
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    scopes: (str(b.scope) ?? '').split(/\s+/).filter(Boolean),
  };
}

export async function refreshCredentials(app: YouTubeApp, credentials: YouTubeCredentials): Promise<TokenGrant> {
  if (!credentials.refreshToken)
    throw new AuthExpired('Google issued no refresh token for this channel; it must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  const res = await tokenCall(app, { grant_type: 'refresh_token', refresh_token: credentials.refreshToken });
  if (res.status !== 200) {
    const { reason, message } = googleErrorOf(res.body);
    const testing =
      reason === 'invalid_grant'
        ? ' (Google expires the refresh tokens of apps whose OAuth consent screen is in "Testing" after 7 days: publish the app to "In production" to keep channels connected)'
        : '';
    throw new AuthExpired(
      `Google refused to refresh the YouTube token (${message ?? res.status})${testing}; the channel must be reconnected`,
      {
        platform: PLATFORM,
        status: res.status,
        ...(message ? { platformMessage: message } : {}),
        reconnect: true,
      },
    );
  }
  return grantFrom(res.body, credentials.refreshToken);
}

export interface Channel {
  id: string;
  title: string;
  customUrl: string | null;
  thumbnailUrl: string | null;
}

export async function readChannel(t: Transport): Promise<Channel> {
  const res = await ytRequest(t, {
    method: 'GET',
    path: '/youtube/v3/channels',
    query: { part: 'snippet', mine: 'true' },
  });
  const item = ((res.body as { items?: unknown[] } | null)?.items?.[0] ?? null) as {
    id?: string;
    snippet?: { title?: string; customUrl?: string; thumbnails?: { default?: { url?: string } } };
  } | null;
  if (!item?.id)
    throw new PermanentError('The Google account has no YouTube channel; create one, then connect again', {
      platform: PLATFORM,
    });
  return {
    id: item.id,
    title: item.snippet?.title ?? item.id,
    customUrl: item.snippet?.customUrl ?? null,
    thumbnailUrl: item.snippet?.thumbnails?.default?.url ?? null,
  };
}

export function createYouTubeLinker(app: YouTubeApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      const codeVerifier = randomBytes(32).toString('base64url');
      const url = new URL(app.authorizeUrl);
      url.searchParams.set('client_id', app.clientId);
      url.searchParams.set('redirect_uri', app.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', YOUTUBE_SCOPES.join(' '));
      url.searchParams.set('access_type', 'offline');
      url.searchParams.set('prompt', 'consent');
      url.searchParams.set('include_granted_scopes', 'true');
      url.searchParams.set('state', state);
      url.searchParams.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
      url.searchParams.set('code_challenge_method', 'S256');
      return { authorizeUrl: url.toString(), carry: {}, secrets: { codeVerifier } };
    },
    async complete({ code, secrets }) {
      const res = await tokenCall(app, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: app.redirectUri,
        code_verifier: secrets.codeVerifier ?? '',
      });
      if (res.status !== 200) {
        const { message } = googleErrorOf(res.body);
        throw new PermanentError(`Google refused the authorization code (${message ?? res.status})`, {
          platform: PLATFORM,
          status: res.status,
          ...(message ? { platformMessage: message } : {}),
        });
      }
      const grant = grantFrom(res.body);
      const channel = await readChannel({
        apiUrl: app.apiUrl,
        timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        accessToken: grant.credentials.accessToken,
      });
      return {
        externalId: channel.id,
        handle: channel.customUrl?.replace(/^@/, '') ?? channel.id,
        displayName: channel.title,
        avatarUrl: channel.thumbnailUrl,
        credentials: { ...grant.credentials },
        expiresAt: grant.expiresAt,
        scopes: grant.scopes,
        metadata: {},
      };
    },
    async revoke(credentials) {
      const c = parseCredentials(credentials);
      await ytRequest(
        { apiUrl: app.apiUrl, timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS },
        {
          method: 'POST',
          path: app.tokenUrl.replace(/\/token$/, '/revoke'),
          form: new URLSearchParams({ token: c.refreshToken ?? c.accessToken }),
          accept: [400],
        },
      );
    },
  };
}
