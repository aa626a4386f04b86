/**
 * MCP with OAuth 2.1 instead of a pasted key, against a real Herald (PGlite, Redis): the MCP
 * SDK's own client discovers the protected-resource metadata from the 401, registers itself,
 * sends the user through Herald's sign-in and consent pages (driven here as a browser would:
 * the cookie, the forms, the CSRF tokens) with PKCE, gets audience-bound tokens and calls
 * tools with the scopes the user picked. Then what must fail does: a wrong verifier, a code
 * used twice, a refresh token used twice (the grant dies), a revoked grant, a token for
 * another resource, an OAuth token on REST, forms posted without their page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { eq, sql } from 'drizzle-orm';
import { schema } from '../../../core/index.js';
import { OAUTH_LOGIN_PER_MINUTE } from '../../../server/auth/oauth/index.js';
import { createBlueskyConnector } from '../../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';

let api: ApiEnv;
let n = 0;
const clients: Client[] = [];
const REDIRECT = 'http://127.0.0.1:47999/callback';

beforeAll(async () => {
  api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
});

async function account(workspaceId: string): Promise<string> {
  const handle = `oauth${++n}.test`;
  return api.env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:oauth${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:oauth${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
}

/** An MCP client app's OAuth state, in memory, as the SDK asks a client to keep it. */
class MemoryProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Test Desktop',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

const field = (html: string, name: string) => {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no ${name} in page: ${html.slice(0, 400)}`);
  return m[1]!;
};

interface BrowserResult {
  status: number;
  location: URL | undefined;
  html: string;
}

/** A person's browser going through the sign-in and consent pages of an authorization URL. */
async function consent(
  url: URL | string,
  p: Person,
  choice: { workspaceId?: string; scopes?: string[]; decision?: 'allow' | 'deny'; password?: string } = {},
): Promise<BrowserResult & { signInStatus: number }> {
  const first = await fetch(url, { redirect: 'manual' });
  const firstHtml = await first.text();
  if (first.status !== 200) return { status: first.status, location: loc(first), html: firstHtml, signInStatus: 0 };
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
  const post = (form: URLSearchParams) =>
    fetch(`${api.baseUrl}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
  const signIn = await post(
    new URLSearchParams({
      request: field(firstHtml, 'request'),
      csrf: field(firstHtml, 'csrf'),
      step: 'login',
      email: p.email,
      password: choice.password ?? p.password,
    }),
  );
  const consentHtml = await signIn.text();
  if (signIn.status !== 200)
    return { status: signIn.status, location: undefined, html: consentHtml, signInStatus: signIn.status };
  const form = new URLSearchParams({
    request: field(consentHtml, 'request'),
    csrf: field(consentHtml, 'csrf'),
    step: 'consent',
    workspace: choice.workspaceId ?? p.workspaceId,
    decision: choice.decision ?? 'allow',
  });
  for (const s of choice.scopes ?? ['read', 'write']) form.append('scope', s);
  const done = await post(form);
  return { status: done.status, location: loc(done), html: await done.text(), signInStatus: signIn.status };
}
const loc = (r: Response) => (r.headers.get('location') ? new URL(r.headers.get('location')!) : undefined);

/** The SDK client signs in through Herald with `scopes` and connects; returns the client and its provider. */
async function signInWithSdk(p: Person, scopes: string[] = ['read', 'write']) {
  const provider = new MemoryProvider();
  const mcpUrl = new URL(`${api.baseUrl}/mcp`);
  const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const c1 = new Client({ name: 'oauth-test', version: '1.0.0' });
  await expect(c1.connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  const authUrl = provider.authorizationUrl!;
  expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authUrl.searchParams.get('resource')).toBe(`${api.baseUrl}/mcp`);
  const back = await consent(authUrl, p, { scopes });
  expect(back.status, back.html).toBe(302);
  expect(back.location!.searchParams.get('state')).toBe(authUrl.searchParams.get('state'));
  expect(back.location!.searchParams.get('iss')).toBe(api.baseUrl);
  await first.finishAuth(back.location!.searchParams.get('code')!);
  const client = new Client({ name: 'oauth-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  clients.push(client);
  return { client, provider };
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: unknown;
  _meta?: Record<string, unknown>;
};
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }) as Promise<ToolResult>;

const mcpPost = (token: string | undefined) =>
  fetch(`${api.baseUrl}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });

const tokenRequest = (form: Record<string, string>) =>
  fetch(`${api.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });

async function register(redirectUris = [REDIRECT]) {
  const res = await fetch(`${api.baseUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Raw client', redirect_uris: redirectUris }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A code for `p` by hand (raw client, own PKCE pair). */
async function codeFor(p: Person, opts: { scopes?: string[]; resource?: string } = {}) {
  const { body } = await register();
  const clientId = body.client_id as string;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${api.baseUrl}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'xyz',
    resource: opts.resource ?? `${api.baseUrl}/mcp`,
    scope: (opts.scopes ?? ['read']).join(' '),
  }).toString();
  const back = await consent(url, p, { scopes: opts.scopes ?? ['read'] });
  return { clientId, verifier, back, code: back.location?.searchParams.get('code') ?? '' };
}

async function tokensFor(p: Person, scopes: string[] = ['read']) {
  const c = await codeFor(p, { scopes });
  const res = await tokenRequest({
    grant_type: 'authorization_code',
    code: c.code,
    code_verifier: c.verifier,
    client_id: c.clientId,
    redirect_uri: REDIRECT,
    resource: `${api.baseUrl}/mcp`,
  });
  expect(res.status).toBe(200);
  return { ...c, tokens: (await res.json()) as { access_token: string; refresh_token: string; scope: string } };
}

describe('MCP OAuth: discovery and metadata', () => {
  it('a request without credentials gets 401 naming the resource metadata, which names Herald as the authorization server', async () => {
    const res = await mcpPost(undefined);
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    const metaUrl = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    expect(metaUrl).toBe(`${api.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    const prm = (await (await fetch(metaUrl)).json()) as Record<string, unknown>;
    expect(prm).toMatchObject({ resource: `${api.baseUrl}/mcp`, authorization_servers: [api.baseUrl] });
    expect(await (await fetch(`${api.baseUrl}/.well-known/oauth-protected-resource`)).json()).toEqual(prm);
    const as = (await (await fetch(`${api.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(as).toMatchObject({
      issuer: api.baseUrl,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      registration_endpoint: `${api.baseUrl}/oauth/register`,
    });
    // A bad token is told apart from no token.
    const bad = await mcpPost('hoa_not-a-real-token');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('registration refuses redirect URIs that are not https, loopback http or a private-use scheme', async () => {
    expect((await register(['http://evil.example.com/cb'])).body.error).toBe('invalid_redirect_uri');
    expect((await register([])).body.error).toBe('invalid_client_metadata');
    const ok = await register(['https://app.example.com/cb', 'com.example.app:/cb']);
    expect(ok.status).toBe(201);
    expect(ok.body.token_endpoint_auth_method).toBe('none');
  });
});

describe('MCP OAuth: the SDK client signs in and calls tools', () => {
  it('discovers, registers, authorizes with PKCE, and calls tools with the scopes the user picked', async () => {
    const me = await api.signUp();
    const accountId = await account(me.workspaceId);
    const { client, provider } = await signInWithSdk(me, ['read', 'write']);
    expect(provider.saved!.scope).toBe('read write');

    const accounts = await call(client, 'list_accounts');
    expect((accounts.structuredContent!.items as Array<{ id: string }>).map((a) => a.id)).toEqual([accountId]);
    const draft = await call(client, 'create_draft', { text: 'Signed in over OAuth', accounts: [accountId] });
    expect(draft.isError, JSON.stringify(draft.content)).toBeFalsy();

    // Stored hashed: the token itself is nowhere in the database.
    const rows = await api.env.database.db.select().from(schema.oauthTokens);
    expect(rows.some((r) => r.tokenHash === provider.saved!.access_token)).toBe(false);
    expect(
      rows.some((r) => r.tokenHash === createHash('sha256').update(provider.saved!.access_token).digest('hex')),
    ).toBe(true);

    // The grant is listed as a connected app, and the audit log names it.
    const grants = await api.app.inject({ method: 'GET', url: '/v1/oauth/grants', headers: me.auth });
    expect(grants.json().items).toMatchObject([{ clientName: 'Test Desktop', scopes: ['read', 'write'] }]);
  });

  it('a read-only grant reads but a writing tool is refused with forbidden', async () => {
    const me = await api.signUp();
    const accountId = await account(me.workspaceId);
    const { client } = await signInWithSdk(me, ['read']);
    expect((await call(client, 'list_accounts')).isError).toBeFalsy();
    const draft = await call(client, 'create_draft', { text: 'nope', accounts: [accountId] });
    expect(draft.isError).toBe(true);
    expect((draft._meta?.['herald/error'] as { code: string }).code).toBe('forbidden');
  });

  it('another workspace sees nothing of it: its ids find nothing, its grants are not listed or revocable', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const otherAccount = await account(other.workspaceId);
    const { client } = await signInWithSdk(me, ['read', 'write']);
    const draft = await call(client, 'create_draft', { text: 'x', accounts: [otherAccount] });
    expect(draft.isError).toBe(true);
    const mine = (await api.app.inject({ method: 'GET', url: '/v1/oauth/grants', headers: me.auth })).json().items;
    const theirs = await api.app.inject({ method: 'GET', url: '/v1/oauth/grants', headers: other.auth });
    expect(theirs.json().items).toEqual([]);
    const revoke = await api.app.inject({
      method: 'DELETE',
      url: `/v1/oauth/grants/${mine[0].id}`,
      headers: other.auth,
    });
    expect(revoke.statusCode).toBe(404);
  });
});

describe('MCP OAuth: what must fail', () => {
  it('PKCE: a wrong verifier is invalid_grant; a code works once', async () => {
    const me = await api.signUp();
    const c = await codeFor(me);
    const wrong = await tokenRequest({
      grant_type: 'authorization_code',
      code: c.code,
      code_verifier: randomBytes(32).toString('base64url'),
      client_id: c.clientId,
      redirect_uri: REDIRECT,
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_grant');
    // The code was spent by the failed attempt too: a code is single-use whatever happens.
    const again = await tokenRequest({
      grant_type: 'authorization_code',
      code: c.code,
      code_verifier: c.verifier,
      client_id: c.clientId,
      redirect_uri: REDIRECT,
    });
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('an authorization request without S256 PKCE, or for another resource, is an error page: no code, and no redirect before the person acted', async () => {
    const me = await api.signUp();
    const { body } = await register();
    const base = { response_type: 'code', client_id: body.client_id as string, redirect_uri: REDIRECT, state: 's1' };
    const plain = await fetch(
      `${api.baseUrl}/oauth/authorize?${new URLSearchParams({ ...base, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })}`,
      { redirect: 'manual' },
    );
    // Anyone can register a client with any https redirect: bouncing straight to it would make
    // Herald's address an open redirector (RFC 9700 §4.11.2).
    expect(plain.status).toBe(400);
    expect(plain.headers.get('location')).toBeNull();
    expect(await plain.text()).toContain('invalid_request');
    const c = await codeFor(me, { resource: 'https://other.example.com/mcp' });
    expect(c.back.status).toBe(400);
    expect(c.back.location).toBeUndefined();
    expect(c.back.html).toContain('invalid_target');
    expect(c.code).toBe('');
    // An unknown client or a redirect URI it did not register is a page, never a redirect.
    const unknown = await fetch(
      `${api.baseUrl}/oauth/authorize?${new URLSearchParams({ ...base, client_id: 'hc_nope' })}`,
      {
        redirect: 'manual',
      },
    );
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    const elsewhere = await fetch(
      `${api.baseUrl}/oauth/authorize?${new URLSearchParams({ ...base, redirect_uri: 'https://evil.example.com/cb' })}`,
      { redirect: 'manual' },
    );
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('location')).toBeNull();
  });

  it('refresh rotates; a refresh token used twice revokes the grant and its access token', async () => {
    const me = await api.signUp();
    const t = await tokensFor(me, ['read']);
    expect((await mcpPost(t.tokens.access_token)).status).toBe(200);
    const r1 = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: t.tokens.refresh_token,
      client_id: t.clientId,
    });
    expect(r1.status).toBe(200);
    const next = (await r1.json()) as { access_token: string; refresh_token: string };
    expect(next.refresh_token).not.toBe(t.tokens.refresh_token);
    expect((await mcpPost(next.access_token)).status).toBe(200);
    const reused = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: t.tokens.refresh_token,
      client_id: t.clientId,
    });
    expect(((await reused.json()) as { error: string }).error).toBe('invalid_grant');
    expect((await mcpPost(next.access_token)).status).toBe(401);
    const later = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: next.refresh_token,
      client_id: t.clientId,
    });
    expect(later.status).toBe(400);
  });

  it('revoking the connected app ends its tokens at once; RFC 7009 revocation too', async () => {
    const me = await api.signUp();
    const t = await tokensFor(me);
    const [grant] = (await api.app.inject({ method: 'GET', url: '/v1/oauth/grants', headers: me.auth })).json().items;
    const del = await api.app.inject({ method: 'DELETE', url: `/v1/oauth/grants/${grant.id}`, headers: me.auth });
    expect(del.statusCode).toBe(204);
    expect((await mcpPost(t.tokens.access_token)).status).toBe(401);

    const t2 = await tokensFor(me);
    const res = await fetch(`${api.baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t2.tokens.refresh_token, client_id: t2.clientId }),
    });
    expect(res.status).toBe(200);
    expect((await mcpPost(t2.tokens.access_token)).status).toBe(401);
  });

  it('a token is bound to its audience: not for another resource, and not on REST', async () => {
    const me = await api.signUp();
    const t = await tokensFor(me);
    const rest = await fetch(`${api.baseUrl}/v1/posts`, {
      headers: { authorization: `Bearer ${t.tokens.access_token}` },
    });
    expect(rest.status).toBe(401);
    await api.env.database.db
      .update(schema.oauthGrants)
      .set({ resource: 'https://other.example.com/mcp' })
      .where(eq(schema.oauthGrants.userId, me.userId));
    expect((await mcpPost(t.tokens.access_token)).status).toBe(401);
  });

  it('expired access tokens are refused', async () => {
    const me = await api.signUp();
    const t = await tokensFor(me);
    await api.env.database.db.execute(
      sql`update oauth_tokens set expires_at = now() - interval '1 second' where token_hash = ${createHash('sha256').update(t.tokens.access_token).digest('hex')}`,
    );
    expect((await mcpPost(t.tokens.access_token)).status).toBe(401);
  });

  it('forms posted without their page are refused; a wrong password or a scope above the role grants nothing', async () => {
    const me = await api.signUp();
    const { body } = await register();
    const url = `${api.baseUrl}/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: body.client_id as string,
      redirect_uri: REDIRECT,
      code_challenge: 'b'.repeat(43),
      code_challenge_method: 'S256',
    })}`;
    const page = await fetch(url);
    const html = await page.text();
    // No cookie (a cross-site post): refused.
    const noCookie = await fetch(`${api.baseUrl}/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        request: field(html, 'request'),
        csrf: field(html, 'csrf'),
        step: 'login',
        email: me.email,
        password: me.password,
      }),
    });
    expect(noCookie.status).toBe(403);
    // The cookie but a forged token: refused.
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const forged = await fetch(`${api.baseUrl}/oauth/authorize`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        request: field(html, 'request'),
        csrf: 'forged',
        step: 'login',
        email: me.email,
        password: me.password,
      }),
    });
    expect(forged.status).toBe(403);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const wrong = await consent(url, me, { password: 'wrong password!!' });
    expect(wrong.signInStatus).toBe(401);

    // A viewer of a workspace cannot grant write there.
    const owner = await api.signUp();
    const inv = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: owner.auth,
      payload: { email: me.email, role: 'viewer' },
    });
    expect(inv.statusCode, inv.body).toBe(201);
    const accept = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations/accept',
      headers: me.auth,
      payload: { token: inv.json().token },
    });
    expect(accept.statusCode, accept.body).toBeLessThan(300);
    const beyond = await consent(url, me, { workspaceId: owner.workspaceId, scopes: ['write'] });
    expect(beyond.status).toBe(400);
    expect(beyond.html).toContain('does not allow');
  });

  // Last in the file: it spends this address's sign-in budget for the minute.
  it('password guessing on the sign-in page is limited as at /v1/auth/login: then even the right password waits', async () => {
    const me = await api.signUp();
    const { body } = await register();
    const url = `${api.baseUrl}/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: body.client_id as string,
      redirect_uri: REDIRECT,
      code_challenge: 'c'.repeat(43),
      code_challenge_method: 'S256',
    })}`;
    const page = await fetch(url);
    const html = await page.text();
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const attempt = (password: string) =>
      fetch(`${api.baseUrl}/oauth/authorize`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          request: field(html, 'request'),
          csrf: field(html, 'csrf'),
          step: 'login',
          email: me.email,
          password,
        }),
      });
    // Earlier sign-ins in this minute from this address count too, and a minute boundary may
    // reset the count once: at most two windows' worth of guesses get an answer.
    let limited: Response | undefined;
    let answered = 0;
    for (let i = 0; i < 3 * OAUTH_LOGIN_PER_MINUTE && !limited; i++) {
      const r = await attempt(`guess number ${i}`);
      if (r.status === 429) limited = r;
      else {
        expect(r.status).toBe(401);
        answered++;
      }
    }
    expect(answered).toBeLessThanOrEqual(2 * OAUTH_LOGIN_PER_MINUTE);
    if (!limited) throw new Error('never limited');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await limited.text()).toContain('Too many sign-in attempts');
    // Within the same minute the right password is refused too: guessing gains nothing.
    expect((await attempt(me.password)).status).toBe(429);
  });
});
