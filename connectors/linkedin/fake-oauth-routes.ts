/**
 * The fake LinkedIn's OAuth side (www.linkedin.com): the authorize page (the signed-in member
 * is the `X-Fake-Account` header), the access token by code or refresh token (refresh only when
 * the fake app is allowed it), revoke and introspect; and who connected: OpenID `userinfo` and
 * the pages a member administers (`organizationAcls`).
 */
import { nextId, type FakeToken } from './fake-state.js';
import { oauthError, reply, restError, type Ctx, type Reply, type Route } from './fake-http.js';

function tokenReply(c: Ctx, t: FakeToken): Reply {
  const now = c.state.now();
  return reply(200, {
    access_token: t.accessToken,
    expires_in: Math.round((t.expiresAt - now) / 1000),
    scope: t.scopes.join(','),
    ...(t.refreshToken
      ? { refresh_token: t.refreshToken, refresh_token_expires_in: Math.round((t.refreshExpiresAt - now) / 1000) }
      : {}),
  });
}

const clientOk = (c: Ctx) =>
  c.form.get('client_id') === c.state.app.clientId && c.form.get('client_secret') === c.state.app.clientSecret;

export const OAUTH_ROUTES: Route[] = [
  {
    method: 'GET',
    path: /^\/oauth\/v2\/authorization$/,
    handle: ({ state, url, req }) => {
      const p = url.searchParams;
      const redirectUri = p.get('redirect_uri') ?? '';
      if (p.get('client_id') !== state.app.clientId || !state.app.redirectUris.includes(redirectUri))
        return oauthError(400, 'invalid_request', 'The redirect_uri does not match the registered value');
      const back = new URL(redirectUri);
      back.searchParams.set('state', p.get('state') ?? '');
      const userId = req.headers['x-fake-account'];
      if (typeof userId !== 'string' || !state.members.has(userId))
        return oauthError(401, 'unauthorized', 'Sign in first (X-Fake-Account)');
      if (req.headers['x-fake-deny']) {
        back.searchParams.set('error', 'user_cancelled_authorize');
        back.searchParams.set('error_description', 'The user cancelled the authorization');
        return reply(302, undefined, { location: back.toString() });
      }
      const code = `AQ${nextId()}`;
      state.codes.set(code, {
        userId,
        redirectUri,
        scopes: (p.get('scope') ?? '').split(/[\s,]+/).filter(Boolean),
        used: false,
        expiresAt: state.now() + 30 * 60_000,
      });
      back.searchParams.set('code', code);
      return reply(302, undefined, { location: back.toString() });
    },
  },
  {
    method: 'POST',
    path: /^\/oauth\/v2\/accessToken$/,
    handle: (c) => {
      if (!clientOk(c)) return oauthError(401, 'invalid_client', 'Client authentication failed');
      const grant = c.form.get('grant_type');
      if (grant === 'authorization_code') {
        const code = c.state.codes.get(c.form.get('code') ?? '');
        if (!code || code.used || code.expiresAt <= c.state.now() || code.redirectUri !== c.form.get('redirect_uri'))
          return oauthError(
            400,
            'invalid_request',
            'Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired.',
          );
        code.used = true;
        return tokenReply(c, c.state.issueToken(code.userId, code.scopes, { consent: true }));
      }
      if (grant === 'refresh_token') {
        if (!c.state.options.refreshTokens)
          return oauthError(400, 'invalid_request', 'This application is not allowed to refresh tokens');
        const fresh = c.state.refresh(c.form.get('refresh_token') ?? '');
        return fresh ? tokenReply(c, fresh) : oauthError(400, 'invalid_grant', 'The provided refresh token is invalid');
      }
      return oauthError(400, 'unsupported_grant_type', 'grant_type not supported');
    },
  },
  {
    method: 'POST',
    path: /^\/oauth\/v2\/revoke$/,
    handle: (c) => {
      if (!clientOk(c)) return oauthError(401, 'invalid_client', 'Client authentication failed');
      const t = c.state.tokens.get(c.form.get('token') ?? '');
      // Revoking a token ends the member's grant to the app.
      if (t) for (const other of c.state.tokens.values()) if (other.userId === t.userId) other.revoked = true;
      return reply(200);
    },
  },
  {
    method: 'POST',
    path: /^\/oauth\/v2\/introspectToken$/,
    handle: (c) => {
      if (!clientOk(c)) return oauthError(401, 'invalid_client', 'Client authentication failed');
      const t = c.state.tokens.get(c.form.get('token') ?? '');
      const active = !!t && !t.revoked && t.expiresAt > c.state.now();
      if (!t) return reply(200, { active: false });
      return reply(200, {
        active,
        client_id: c.state.app.clientId,
        status: t.revoked ? 'revoked' : active ? 'active' : 'expired',
        scope: t.scopes.join(','),
        auth_type: '3L',
        expires_at: Math.floor(t.expiresAt / 1000),
      });
    },
  },
  {
    method: 'GET',
    path: /^\/v2\/userinfo$/,
    auth: true,
    handle: ({ state, token }) => {
      const m = state.members.get(token!.userId)!;
      const [given, ...family] = m.name.split(' ');
      return reply(200, {
        sub: m.id,
        name: m.name,
        given_name: given,
        family_name: family.join(' '),
        picture: `${state.baseUrl}/media/${m.id}.jpg`,
        locale: { country: 'US', language: 'en' },
      });
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/organizationAcls$/,
    auth: true,
    handle: ({ state, token, url }) => {
      if (url.searchParams.get('q') !== 'roleAssignee' || !token!.scopes.includes('rw_organization_admin'))
        return restError(403, 'ACCESS_DENIED', 'Not enough permissions to access: organizationAcls');
      const m = state.members.get(token!.userId)!;
      return reply(200, {
        elements: m.organizations.map((o) => ({
          organization: o,
          role: 'ADMINISTRATOR',
          state: 'APPROVED',
          roleAssignee: `urn:li:person:${m.id}`,
        })),
        paging: { count: 100, start: 0, total: m.organizations.length },
      });
    },
  },
];
