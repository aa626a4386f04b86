/**
 * LinkedIn's OAuth 2.0 (authorization code; LinkedIn takes no PKCE from standard apps, so
 * the confidential client's secret is the proof): the authorize URL, the code exchange,
 * refresh (only apps LinkedIn approved for programmatic refresh get refresh tokens; the
 * refresh token keeps its one-year lifetime and is not rotated), revocation, and reading who
 * connected (OpenID `GET /v2/userinfo`) and which pages they administer
 * (`GET /rest/organizationAcls`, when the organization scopes were granted).
 */
import type { AccountLinker } from '../connect.js';
import type { Credentials } from '../contract.js';
import { AuthExpired, InvalidContent, PermanentError } from '../errors.js';
import { DEFAULT_LINKEDIN_VERSION, DEFAULT_TIMEOUT_MS, liRequest, type LiResponse, type Transport } from './client.js';
import { PLATFORM, platformMessageOf } from './errors.js';

export const MEMBER_SCOPES = ['openid', 'profile', 'w_member_social'];
/** Add these to post as pages the member administers (LinkedIn must approve the app for them). */
export const ORGANIZATION_SCOPES = ['w_organization_social', 'r_organization_social', 'rw_organization_admin'];

export interface LinkedInApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Default `https://api.linkedin.com`. */
  apiUrl: string;
  /** Where `/oauth/v2/*` lives. Default `https://www.linkedin.com`. */
  oauthUrl: string;
  scopes: string[];
  version?: string;
  timeoutMs?: number;
}

export interface LinkedInCredentials {
  accessToken: string;
  refreshToken?: string;
  /** ISO instant the access token expires. */
  expiresAt?: string;
  /** ISO instant the refresh token expires (it is not extended by refreshing). */
  refreshTokenExpiresAt?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseCredentials(credentials: Credentials): LinkedInCredentials {
  const accessToken = text(credentials.accessToken);
  if (!accessToken) {
    throw new AuthExpired('The stored LinkedIn credentials are incomplete; the account must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  const out: LinkedInCredentials = { accessToken };
  for (const k of ['refreshToken', 'expiresAt', 'refreshTokenExpiresAt'] as const) {
    const v = text(credentials[k]);
    if (v) out[k] = v;
  }
  return out;
}

const transport = (app: Pick<LinkedInApp, 'oauthUrl' | 'timeoutMs' | 'version'>): Transport => ({
  apiUrl: app.oauthUrl,
  timeoutMs: app.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  version: app.version ?? DEFAULT_LINKEDIN_VERSION,
});

export function buildAuthorizeUrl(app: LinkedInApp, state: string): string {
  const url = new URL(`${app.oauthUrl.replace(/\/+$/, '')}/oauth/v2/authorization`);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', app.clientId);
  url.searchParams.set('redirect_uri', app.redirectUri);
  url.searchParams.set('state', state);
  url.searchParams.set('scope', app.scopes.join(' '));
  return url.toString();
}

export interface TokenGrant {
  credentials: LinkedInCredentials;
  expiresAt: Date | null;
  scopes: string[];
}

const inSeconds = (v: unknown, now: number) =>
  typeof v === 'number' && v > 0 ? new Date(now + v * 1000).toISOString() : undefined;

function grantFrom(res: LiResponse<Record<string, unknown> | null>, previous?: LinkedInCredentials): TokenGrant {
  const accessToken = text(res.body?.access_token);
  if (!accessToken)
    throw new PermanentError("LinkedIn's answer to POST /oauth/v2/accessToken could not be read", {
      platform: PLATFORM,
    });
  const now = Date.now();
  const sent = text(res.body?.refresh_token);
  const refreshToken = sent ?? previous?.refreshToken;
  const refreshTokenExpiresAt = sent
    ? inSeconds(res.body?.refresh_token_expires_in, now)
    : previous?.refreshTokenExpiresAt;
  const expiresAt = inSeconds(res.body?.expires_in, now);
  return {
    credentials: {
      accessToken,
      ...(refreshToken ? { refreshToken } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      ...(refreshToken && refreshTokenExpiresAt ? { refreshTokenExpiresAt } : {}),
    },
    expiresAt: expiresAt ? new Date(expiresAt) : null,
    scopes: (text(res.body?.scope) ?? '').split(/[\s,]+/).filter(Boolean),
  };
}

const tokenCall = (app: LinkedInApp, form: Record<string, string>) =>
  liRequest<Record<string, unknown> | null>(transport(app), {
    method: 'POST',
    path: '/oauth/v2/accessToken',
    form: new URLSearchParams({ ...form, client_id: app.clientId, client_secret: app.clientSecret }),
    accept: [400, 401],
  });

export async function exchangeCode(app: LinkedInApp, code: string): Promise<TokenGrant> {
  const res = await tokenCall(app, { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri });
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new PermanentError(`LinkedIn refused the authorization code (${why})`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
    });
  }
  return grantFrom(res);
}

export async function refreshCredentials(app: LinkedInApp, credentials: LinkedInCredentials): Promise<TokenGrant> {
  if (!credentials.refreshToken) {
    throw new AuthExpired(
      'LinkedIn gave this app no refresh token (programmatic refresh needs LinkedIn to approve the app); the account must be reconnected',
      { platform: PLATFORM, reconnect: true },
    );
  }
  const res = await tokenCall(app, { grant_type: 'refresh_token', refresh_token: credentials.refreshToken });
  if (res.status !== 200) {
    const why = platformMessageOf(res.body) ?? `status ${res.status}`;
    throw new AuthExpired(`LinkedIn refused to refresh the token (${why}); the account must be reconnected`, {
      platform: PLATFORM,
      status: res.status,
      platformMessage: why,
      reconnect: true,
    });
  }
  return grantFrom(res, credentials);
}

export async function revokeToken(app: LinkedInApp, token: string): Promise<void> {
  await liRequest(transport(app), {
    method: 'POST',
    path: '/oauth/v2/revoke',
    form: new URLSearchParams({ token, client_id: app.clientId, client_secret: app.clientSecret }),
  });
}

export interface LinkedInMember {
  /** The member id of `urn:li:person:<id>`. */
  id: string;
  name: string;
  pictureUrl: string | null;
}

export async function readUserInfo(
  app: Pick<LinkedInApp, 'apiUrl' | 'timeoutMs' | 'version'>,
  accessToken: string,
): Promise<LinkedInMember> {
  const res = await liRequest<Record<string, unknown> | null>(
    { ...transport({ ...app, oauthUrl: app.apiUrl }), accessToken },
    { method: 'GET', path: '/v2/userinfo' },
  );
  const id = text(res.body?.sub);
  if (!id) throw new PermanentError("LinkedIn's answer to GET /v2/userinfo could not be read", { platform: PLATFORM });
  const name =
    text(res.body?.name) ?? ([text(res.body?.given_name), text(res.body?.family_name)].filter(Boolean).join(' ') || id);
  return { id, name, pictureUrl: text(res.body?.picture) ?? null };
}

/** Pages (`urn:li:organization:<id>`) the member may post as. */
export async function readAdministeredOrganizations(
  app: Pick<LinkedInApp, 'apiUrl' | 'timeoutMs' | 'version'>,
  accessToken: string,
): Promise<string[]> {
  const res = await liRequest<{ elements?: Array<Record<string, unknown>> }>(
    { ...transport({ ...app, oauthUrl: app.apiUrl }), accessToken },
    {
      method: 'GET',
      path: '/rest/organizationAcls',
      query: { q: 'roleAssignee', role: 'ADMINISTRATOR', state: 'APPROVED', count: 100 },
    },
  );
  return (res.body?.elements ?? []).map((e) => text(e.organization)).filter((o): o is string => !!o);
}

export function createLinkedInLinker(app: LinkedInApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      return { authorizeUrl: buildAuthorizeUrl(app, state), carry: {}, secrets: {} };
    },
    async complete({ code }) {
      const grant = await exchangeCode(app, code);
      const token = grant.credentials.accessToken;
      const me = await readUserInfo(app, token);
      const scopes = grant.scopes.length > 0 ? grant.scopes : app.scopes;
      // A refused page listing leaves the pages unknown (not checked at schedule time) rather than failing the connect.
      const organizations = scopes.includes('rw_organization_admin')
        ? await readAdministeredOrganizations(app, token).catch((err: unknown) => {
            if (err instanceof InvalidContent) return undefined;
            throw err;
          })
        : undefined;
      return {
        externalId: me.id,
        handle: me.name,
        displayName: me.name,
        avatarUrl: me.pictureUrl,
        credentials: { ...grant.credentials },
        expiresAt: grant.expiresAt,
        scopes,
        metadata: { ...(organizations ? { organizations } : {}) },
      };
    },
    async revoke(credentials) {
      // Revoking the access token ends the grant, refresh token included.
      await revokeToken(app, parseCredentials(credentials).accessToken);
    },
  };
}
