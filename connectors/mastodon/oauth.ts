/**
 * Connecting a Mastodon account over OAuth 2: registering Herald as an app on the instance,
 * the authorize URL (PKCE S256 when the server advertises it, Mastodon 4.3+), exchanging the
 * code, refreshing and revoking tokens, and reading who connected. The credentials these
 * produce are what the connector receives as `account.credentials`; `metadata.instanceUrl`
 * holds the instance's base URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError, type ConnectorError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS, instanceBase, mastodonRequest, type MastodonResponse } from './client.js';
import { PLATFORM, platformMessageOf } from './errors.js';

/** Herald reads the timeline and account, and writes statuses and media. */
export const MASTODON_SCOPES = 'read write';

/** What the connector keeps for an account (encrypted at rest by the caller). */
export interface MastodonCredentials {
  accessToken: string;
  /** Stock Mastodon issues none (its tokens do not expire); some servers and forks do. */
  refreshToken?: string;
  clientId: string;
  clientSecret: string;
  /** ISO 8601 instant the access token expires, when the server says. */
  expiresAt?: string;
}

export interface OAuthCallOptions {
  /** Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The stored credentials, checked; incomplete ones mean the account must be connected again. */
export function parseCredentials(credentials: Credentials): MastodonCredentials {
  const accessToken = text(credentials.accessToken);
  const clientId = text(credentials.clientId);
  const clientSecret = text(credentials.clientSecret);
  if (!accessToken || !clientId || !clientSecret) {
    throw new AuthExpired('The stored Mastodon credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const refreshToken = text(credentials.refreshToken);
  const expiresAt = text(credentials.expiresAt);
  return {
    accessToken,
    clientId,
    clientSecret,
    ...(refreshToken ? { refreshToken } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
}

export interface RegisterAppInput {
  clientName: string;
  redirectUris: string[];
  scopes?: string;
  website?: string;
}

/** `POST /api/v1/apps`: Herald's client id and secret on this instance. */
export async function registerApp(
  instanceUrl: string,
  input: RegisterAppInput,
  options: OAuthCallOptions = {},
): Promise<{ clientId: string; clientSecret: string }> {
  const res = await mastodonRequest<Record<string, unknown>>(
    { instanceUrl, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    {
      method: 'POST',
      path: '/api/v1/apps',
      json: {
        client_name: input.clientName,
        // A newline-separated string: every Mastodon version takes it (arrays only from 4.3).
        redirect_uris: input.redirectUris.join('\n'),
        scopes: input.scopes ?? MASTODON_SCOPES,
        ...(input.website ? { website: input.website } : {}),
      },
    },
  );
  const clientId = text(res.body?.client_id);
  const clientSecret = text(res.body?.client_secret);
  if (!clientId || !clientSecret) throw unreadable('POST /api/v1/apps');
  return { clientId, clientSecret };
}

/** Whether the server takes PKCE with S256 (RFC 8414 metadata, served by Mastodon 4.3+). */
export async function supportsPkce(instanceUrl: string, options: OAuthCallOptions = {}): Promise<boolean> {
  const res = await mastodonRequest<Record<string, unknown>>(
    { instanceUrl, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    { method: 'GET', path: '/.well-known/oauth-authorization-server', accept: [404] },
  );
  const methods = res.status === 200 ? res.body?.code_challenge_methods_supported : undefined;
  return Array.isArray(methods) && methods.includes('S256');
}

const base64url = (b: Buffer) => b.toString('base64url');

/** A fresh PKCE verifier (43 characters) and its S256 challenge (RFC 7636). */
export function createPkcePair(): { codeVerifier: string; codeChallenge: string } {
  const codeVerifier = base64url(randomBytes(32));
  return { codeVerifier, codeChallenge: base64url(createHash('sha256').update(codeVerifier).digest()) };
}

export interface AuthorizeUrlInput {
  clientId: string;
  redirectUri: string;
  /** Opaque value the callback must echo (CSRF protection). */
  state: string;
  scopes?: string;
  /** S256 challenge; omit for servers without PKCE. */
  codeChallenge?: string;
  /** Ask the user to sign in again (to connect a second account on the same instance). */
  forceLogin?: boolean;
}

/** `GET /oauth/authorize` URL the user is sent to. */
export function buildAuthorizeUrl(instanceUrl: string, input: AuthorizeUrlInput): string {
  const url = new URL(`${instanceBase(instanceUrl)}/oauth/authorize`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('scope', input.scopes ?? MASTODON_SCOPES);
  url.searchParams.set('state', input.state);
  if (input.codeChallenge) {
    url.searchParams.set('code_challenge', input.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  if (input.forceLogin) url.searchParams.set('force_login', 'true');
  return url.toString();
}

/**
 * The authorize URL, with PKCE when the server supports it. Keep `codeVerifier` (null without
 * PKCE) with the state until the callback, then pass it to {@link exchangeCode}.
 */
export async function beginAuthorization(
  instanceUrl: string,
  input: Omit<AuthorizeUrlInput, 'codeChallenge'>,
  options: OAuthCallOptions = {},
): Promise<{ url: string; codeVerifier: string | null }> {
  if (!(await supportsPkce(instanceUrl, options)))
    return { url: buildAuthorizeUrl(instanceUrl, input), codeVerifier: null };
  const { codeVerifier, codeChallenge } = createPkcePair();
  return { url: buildAuthorizeUrl(instanceUrl, { ...input, codeChallenge }), codeVerifier };
}

export interface TokenGrant {
  credentials: MastodonCredentials;
  expiresAt: Date | null;
  scope: string;
}

function unreadable(what: string): ConnectorError {
  return new PermanentError(`Mastodon's answer to ${what} could not be read`, { platform: PLATFORM });
}

function grantFrom(
  res: MastodonResponse<Record<string, unknown> | null>,
  client: { clientId: string; clientSecret: string },
  previousRefreshToken?: string,
): TokenGrant {
  const accessToken = text(res.body?.access_token);
  if (!accessToken) throw unreadable('POST /oauth/token');
  const refreshToken = text(res.body?.refresh_token) ?? previousRefreshToken;
  const expiresIn = res.body?.expires_in;
  const createdAt = res.body?.created_at;
  const issued = typeof createdAt === 'number' ? createdAt * 1000 : Date.now();
  const expiresAt = typeof expiresIn === 'number' && expiresIn > 0 ? new Date(issued + expiresIn * 1000) : null;
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    },
    expiresAt,
    scope: text(res.body?.scope) ?? '',
  };
}

/** `POST /oauth/token`, with 400/401 (OAuth errors) answered as data. */
function tokenRequest(instanceUrl: string, form: Record<string, string>, options: OAuthCallOptions) {
  return mastodonRequest<Record<string, unknown> | null>(
    { instanceUrl, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    { method: 'POST', path: '/oauth/token', form: new URLSearchParams(form), accept: [400, 401] },
  );
}

export interface ExchangeCodeInput {
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  /** From {@link beginAuthorization}, when PKCE was used. */
  codeVerifier?: string | null;
  scopes?: string;
}

/** Trades the authorization code from the callback for the account's credentials. */
export async function exchangeCode(
  instanceUrl: string,
  input: ExchangeCodeInput,
  options: OAuthCallOptions = {},
): Promise<TokenGrant> {
  const res = await tokenRequest(
    instanceUrl,
    {
      grant_type: 'authorization_code',
      code: input.code,
      client_id: input.clientId,
      client_secret: input.clientSecret,
      redirect_uri: input.redirectUri,
      scope: input.scopes ?? MASTODON_SCOPES,
      ...(input.codeVerifier ? { code_verifier: input.codeVerifier } : {}),
    },
    options,
  );
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new PermanentError(`Mastodon refused the authorization code (${why})`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
    });
  }
  return grantFrom(res, input);
}

/**
 * New credentials from the refresh token. Without one (stock Mastodon), or when the server
 * refuses it (revoked, or the app was removed), the account must be reconnected.
 */
export async function refreshCredentials(
  instanceUrl: string,
  credentials: MastodonCredentials,
  options: OAuthCallOptions = {},
): Promise<TokenGrant> {
  if (!credentials.refreshToken) {
    throw new AuthExpired('Mastodon issued no refresh token for this account; it must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const res = await tokenRequest(
    instanceUrl,
    {
      grant_type: 'refresh_token',
      refresh_token: credentials.refreshToken,
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    },
    options,
  );
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new AuthExpired(`Mastodon refused to refresh the token (${why}); the account must be reconnected`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
      reconnect: true,
    });
  }
  return grantFrom(res, credentials, credentials.refreshToken);
}

/** `POST /oauth/revoke`: the token (access or refresh) stops working. Revoking twice is fine. */
export async function revokeToken(
  instanceUrl: string,
  input: { clientId: string; clientSecret: string; token: string },
  options: OAuthCallOptions = {},
): Promise<void> {
  await mastodonRequest(
    { instanceUrl, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    {
      method: 'POST',
      path: '/oauth/revoke',
      form: new URLSearchParams({ client_id: input.clientId, client_secret: input.clientSecret, token: input.token }),
    },
  );
}

export interface ConnectedAccount {
  /** The account id on the instance (the connector's `externalId`). */
  id: string;
  username: string;
  /** `username` for local accounts. */
  acct: string;
  url: string | null;
}

/** `GET /api/v1/accounts/verify_credentials`: whose token this is. */
export async function verifyCredentials(
  instanceUrl: string,
  accessToken: string,
  options: OAuthCallOptions = {},
): Promise<ConnectedAccount> {
  const res = await mastodonRequest<Record<string, unknown>>(
    { instanceUrl, accessToken, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    { method: 'GET', path: '/api/v1/accounts/verify_credentials' },
  );
  const id = text(res.body?.id);
  const username = text(res.body?.username);
  if (!id || !username) throw unreadable('GET /api/v1/accounts/verify_credentials');
  return { id, username, acct: text(res.body?.acct) ?? username, url: text(res.body?.url) ?? null };
}
