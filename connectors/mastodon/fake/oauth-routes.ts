/**
 * The fake Mastodon's OAuth 2 side, as Doorkeeper answers it: app registration, RFC 8414
 * metadata, the authorize step (PKCE S256), the token endpoint (authorization_code,
 * refresh_token with rotation, client_credentials) and revocation. The signed-in browser user
 * of a real authorize page is stood in for by the test-only `X-Fake-Account` header.
 */
import { createHash } from 'node:crypto';
import { clientCredentials, error, json, type Ctx, type Reply, type Route } from './http.js';
import type { FakeApp, TokenRecord } from './state.js';

const SCOPES_SUPPORTED = ['read', 'write', 'follow', 'push', 'profile'];
const INVALID_CLIENT =
  'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.';
const INVALID_GRANT =
  'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.';

const oauthError = (status: number, code: string, description: string): Reply =>
  json(status, { error: code, error_description: description });

const scopesOf = (s: string | undefined) => (s ?? 'read').split(/[\s+]+/).filter(Boolean);

function registerApp(c: Ctx): Reply {
  const name = c.params.get('client_name');
  const redirectUris = c.params
    .all('redirect_uris')
    .flatMap((u) => u.split('\n'))
    .filter(Boolean);
  if (!name) return error(422, "Validation failed: Application name can't be blank");
  if (redirectUris.length === 0) return error(422, "Validation failed: Redirect URI can't be blank");
  const app = c.state.createApp({
    name,
    redirectUris,
    scopes: scopesOf(c.params.get('scopes')),
    website: c.params.get('website') ?? null,
  });
  return json(200, {
    id: app.id,
    name: app.name,
    website: app.website,
    scopes: app.scopes,
    redirect_uri: app.redirectUris.join('\n'),
    redirect_uris: app.redirectUris,
    client_id: app.clientId,
    client_secret: app.clientSecret,
    client_secret_expires_at: 0,
  });
}

function metadata(c: Ctx): Reply {
  const { state } = c;
  // Servers before Mastodon 4.3 serve no metadata and take no PKCE.
  if (!state.options.pkce) return error(404, 'Not Found');
  const base = state.baseUrl;
  return json(200, {
    issuer: `${base}/`,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    app_registration_endpoint: `${base}/api/v1/apps`,
    scopes_supported: SCOPES_SUPPORTED,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: [
      'authorization_code',
      'client_credentials',
      ...(state.options.refreshTokens ? ['refresh_token'] : []),
    ],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  });
}

function authorize(c: Ctx): Reply {
  const { state, params } = c;
  const app = state.apps.get(params.get('client_id') ?? '');
  if (!app) return oauthError(401, 'invalid_client', INVALID_CLIENT);
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!app.redirectUris.includes(redirectUri)) {
    return oauthError(
      400,
      'invalid_redirect_uri',
      "The requested redirect uri is malformed or doesn't match client redirect URI.",
    );
  }
  const back = (query: Record<string, string>) => {
    const url = new URL(redirectUri);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const echo = params.get('state');
    if (echo) url.searchParams.set('state', echo);
    return json(302, undefined, { location: url.toString() });
  };
  if (params.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
  const scopes = scopesOf(params.get('scope'));
  if (!scopes.every((s) => app.scopes.includes(s) || app.scopes.includes(s.split(':')[0]!))) {
    return back({ error: 'invalid_scope' });
  }
  let challenge: string | null = null;
  if (state.options.pkce && params.get('code_challenge')) {
    if (params.get('code_challenge_method') !== 'S256') return back({ error: 'invalid_request' });
    challenge = params.get('code_challenge')!;
  }
  const accountId = c.req.headers['x-fake-account'];
  if (typeof accountId !== 'string' || !state.accounts.has(accountId)) {
    return error(401, 'Sign in first: the fake takes the signed-in account from the X-Fake-Account header');
  }
  const code = state.createCode({ clientId: app.clientId, accountId, redirectUri, scopes, challenge });
  return back({ code: code.code });
}

function tokenReply(record: TokenRecord): Reply {
  return json(200, {
    access_token: record.accessToken,
    token_type: 'Bearer',
    scope: record.scopes.join(' '),
    created_at: Math.floor(record.createdAt / 1000),
    ...(record.expiresAt === null ? {} : { expires_in: Math.round((record.expiresAt - record.createdAt) / 1000) }),
    ...(record.refreshToken ? { refresh_token: record.refreshToken } : {}),
  });
}

function authenticatedClient(c: Ctx): FakeApp | null {
  const { clientId, clientSecret } = clientCredentials(c.req, c.params);
  const app = clientId ? c.state.apps.get(clientId) : undefined;
  return app && app.clientSecret === clientSecret ? app : null;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

function token(c: Ctx): Reply {
  const { state, params } = c;
  const app = authenticatedClient(c);
  if (!app) return oauthError(401, 'invalid_client', INVALID_CLIENT);
  switch (params.get('grant_type')) {
    case 'authorization_code': {
      const code = state.codes.get(params.get('code') ?? '');
      if (
        !code ||
        code.used ||
        code.expiresAt <= state.now() ||
        code.clientId !== app.clientId ||
        code.redirectUri !== params.get('redirect_uri')
      ) {
        return oauthError(400, 'invalid_grant', INVALID_GRANT);
      }
      if (code.challenge !== null) {
        const verifier = params.get('code_verifier');
        if (!verifier || s256(verifier) !== code.challenge) return oauthError(400, 'invalid_grant', INVALID_GRANT);
      }
      code.used = true;
      return tokenReply(state.issueToken(app.clientId, code.accountId, code.scopes));
    }
    case 'refresh_token': {
      if (!state.options.refreshTokens) {
        return oauthError(
          400,
          'unsupported_grant_type',
          'The authorization grant type is not supported by the authorization server.',
        );
      }
      const fresh = state.refresh(params.get('refresh_token') ?? '', app.clientId);
      return fresh ? tokenReply(fresh) : oauthError(400, 'invalid_grant', INVALID_GRANT);
    }
    case 'client_credentials':
      return tokenReply(state.issueToken(app.clientId, null, scopesOf(params.get('scope'))));
    default:
      return oauthError(
        400,
        'unsupported_grant_type',
        'The authorization grant type is not supported by the authorization server.',
      );
  }
}

function revoke(c: Ctx): Reply {
  const app = authenticatedClient(c);
  if (!app) return oauthError(403, 'unauthorized_client', 'You are not authorized to revoke this token');
  const record = c.state.findToken(c.params.get('token') ?? '');
  // RFC 7009: an unknown token is not an error.
  if (!record) return json(200, {});
  if (record.clientId !== app.clientId) {
    return oauthError(403, 'unauthorized_client', 'You are not authorized to revoke this token');
  }
  record.revoked = true;
  return json(200, {});
}

export const oauthRoutes: Route[] = [
  { method: 'POST', path: /^\/api\/v1\/apps$/, handle: registerApp },
  { method: 'GET', path: /^\/\.well-known\/oauth-authorization-server$/, handle: metadata },
  { method: 'GET', path: /^\/oauth\/authorize$/, handle: authorize },
  { method: 'POST', path: /^\/oauth\/token$/, handle: token },
  { method: 'POST', path: /^\/oauth\/revoke$/, handle: revoke },
];
