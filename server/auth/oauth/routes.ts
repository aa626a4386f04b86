/**
 * Herald's own OAuth 2.1 authorization server for MCP clients (docs/mcp.md#oauth), and the
 * protected-resource metadata of `/mcp` (RFC 9728):
 *
 * - `GET /.well-known/oauth-protected-resource[/mcp]`: the MCP endpoint as a resource, naming
 *   this server as its authorization server.
 * - `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata.
 * - `POST /oauth/register`: dynamic client registration (RFC 7591), public clients only.
 * - `GET|POST /oauth/authorize`: the authorization code flow with PKCE (S256 only). The user
 *   signs in with their Herald email and password (a Herald session, as `POST /v1/auth/login`
 *   makes), then picks the workspace and the scopes (those of `hk_` API keys).
 * - `POST /oauth/token`: code → tokens, refresh with rotation (a refresh token used twice
 *   revokes the grant). Tokens are audience-bound to the `resource` (RFC 8707).
 * - `POST /oauth/revoke`: RFC 7009.
 *
 * Errors on the JSON endpoints are RFC 6749 `{ error, error_description }`, each a catalogue
 * code (`oauth_*`, docs/errors.md). Errors before the client and redirect URI are known are an
 * HTML page, never a redirect (so Herald is no open redirector).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import {
  appendAudit,
  createSession,
  findUserByEmail,
  getRole,
  HeraldError,
  isHeraldError,
  listWorkspacesOfUser,
  resolveMemberSession,
  roleAtLeast,
  type Db,
  type ErrorCode,
} from '../../../core/index.js';
import { verifyPassword } from '../passwords.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../principal.js';
import { consentPage, errorPage, signInPage, type PageRequest } from './pages.js';
import { createGrant, findClient, grantOfToken, insertClient, revokeGrant, rotateRefresh } from './store.js';

export interface OAuthServerOptions {
  db: Db;
  redis: Redis;
  keyPrefix: string;
  /** `PUBLIC_URL`: the issuer and the base of the resource. Unset: the request's own origin. */
  publicUrl: string | undefined;
  /** Path of the protected MCP endpoint. */
  mcpPath: string;
  accessTtlS: number;
  refreshTtlS: number;
  now?: () => Date;
}

export const OAUTH_SCOPES = Object.keys(API_KEY_SCOPES) as ApiKeyScope[];
/** Lifetimes of what lives in Redis: the consent page, an authorization code. */
const REQUEST_TTL_S = 600;
/** Sign-in attempts on the authorization page per minute, per client address and per email (as `/v1/auth/login`). */
export const OAUTH_LOGIN_PER_MINUTE = 20;
/** Client registrations per minute per address (anyone may register: RFC 7591 without an initial token). */
export const OAUTH_REGISTER_PER_MINUTE = 20;
const CODE_TTL_S = 60;
const COOKIE = 'herald_oauth';
const MAX_REDIRECT_URIS = 10;
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

/** Catalogue code → the RFC's error name. */
const RFC_ERROR: Partial<Record<ErrorCode, string>> = {
  oauth_invalid_request: 'invalid_request',
  oauth_invalid_client: 'invalid_client',
  oauth_invalid_grant: 'invalid_grant',
  oauth_unsupported_grant_type: 'unsupported_grant_type',
  oauth_bad_response_type: 'unsupported_response_type',
  oauth_invalid_scope: 'invalid_scope',
  oauth_invalid_target: 'invalid_target',
  oauth_invalid_redirect_uri: 'invalid_redirect_uri',
  oauth_invalid_metadata: 'invalid_client_metadata',
  oauth_access_denied: 'access_denied',
  rate_limited: 'temporarily_unavailable',
};

/** The base URL everything is named under: `PUBLIC_URL`, else the request's origin. */
export function baseUrlOf(opts: Pick<OAuthServerOptions, 'publicUrl'>, request: FastifyRequest): string {
  return opts.publicUrl ?? `${request.protocol}://${request.host}`;
}

export const resourceOf = (base: string, mcpPath: string) => `${base}${mcpPath}`;
export const resourceMetadataUrlOf = (base: string, mcpPath: string) =>
  `${base}/.well-known/oauth-protected-resource${mcpPath}`;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string) => {
  const x = sha256(a);
  const y = sha256(b);
  return timingSafeEqual(x, y);
};
const fail = (code: ErrorCode, message?: string) => new HeraldError(code, message ? { message } : {});

/** One value of a form or query field; repeated single-valued parameters are refused (RFC 6749 §3.1). */
function one(params: Record<string, unknown>, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw fail('oauth_invalid_request', `The parameter ${name} is repeated`);
  return v;
}

function parseScopes(raw: string | undefined, fallback: ApiKeyScope[]): ApiKeyScope[] {
  if (raw === undefined || raw.trim() === '') return fallback;
  const parts = [...new Set(raw.trim().split(/\s+/))];
  for (const p of parts)
    if (!OAUTH_SCOPES.includes(p as ApiKeyScope)) throw fail('oauth_invalid_scope', `Unknown scope ${p.slice(0, 40)}`);
  return parts as ApiKeyScope[];
}

/** https anywhere; http only to a loopback host; a private-use scheme (RFC 8252) for native apps. */
export function redirectUriAllowed(uri: string): boolean {
  if (uri.length > 2000) return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.hash || u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  if (u.protocol === 'http:') return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(u.protocol) || /^(cursor|claude|vscode|windsurf):$/.test(u.protocol);
}

function cookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

/** A pending authorization: the validated request, then who signed in. Kept in Redis. */
interface Pending {
  clientId: string;
  clientPublicId: string;
  clientName: string;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scopes: ApiKeyScope[];
  resource: string;
  issuer: string;
  csrf: string;
  userId?: string;
  sessionId?: string;
}

interface CodeRecord {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  userId: string;
  sessionId: string;
  workspaceId: string;
  scopes: ApiKeyScope[];
  resource: string;
}

export async function oauthServerPlugin(app: FastifyInstance, opts: OAuthServerOptions): Promise<void> {
  const now = () => (opts.now ? opts.now() : new Date());
  const key = (kind: string, id: string) => `${opts.keyPrefix}:oauth:${kind}:${id}`;
  const ttl = { accessS: opts.accessTtlS, refreshS: opts.refreshTtlS };

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_req, body, done) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(body as string)) {
        const prev = out[k];
        out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      done(null, out);
    },
  );

  // RFC 6749 §5.2 errors on every JSON endpoint of this scope.
  app.setErrorHandler((err, request, reply) => {
    const herald = isHeraldError(err)
      ? err
      : (err as { statusCode?: number }).statusCode && (err as { statusCode: number }).statusCode < 500
        ? fail('oauth_invalid_request', (err as Error).message)
        : undefined;
    if (!herald) request.log.error({ err }, 'oauth endpoint failed');
    const status = herald?.status ?? 500;
    void reply
      .status(status)
      .header('cache-control', 'no-store')
      .send({
        error: herald ? (RFC_ERROR[herald.code] ?? herald.code) : 'server_error',
        error_description: herald?.message ?? 'The request could not be completed',
        ...(herald ? { herald_code: herald.code } : {}),
      });
  });

  const resourceMetadata = async (request: FastifyRequest) => {
    const base = baseUrlOf(opts, request);
    return {
      resource: resourceOf(base, opts.mcpPath),
      authorization_servers: [base],
      scopes_supported: OAUTH_SCOPES,
      bearer_methods_supported: ['header'],
      resource_name: 'Herald',
      resource_documentation: 'https://github.com/herald/herald/blob/main/docs/mcp.md',
    };
  };
  app.get('/.well-known/oauth-protected-resource', { schema: { hide: true } }, resourceMetadata);
  app.get(`/.well-known/oauth-protected-resource${opts.mcpPath}`, { schema: { hide: true } }, resourceMetadata);

  app.get('/.well-known/oauth-authorization-server', { schema: { hide: true } }, async (request) => {
    const base = baseUrlOf(opts, request);
    return {
      issuer: base,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      registration_endpoint: `${base}/oauth/register`,
      revocation_endpoint: `${base}/oauth/revoke`,
      scopes_supported: OAUTH_SCOPES,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      authorization_response_iss_parameter_supported: true,
      service_documentation: 'https://github.com/herald/herald/blob/main/docs/mcp.md',
    };
  });

  // RFC 7591. Public clients: whatever auth method is asked for, the answer is `none` (PKCE).
  app.post(
    '/oauth/register',
    {
      schema: { hide: true },
      bodyLimit: 16 * 1024,
      config: { rateLimit: { max: OAUTH_REGISTER_PER_MINUTE, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      const body = request.body;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw fail('oauth_invalid_metadata', 'The body must be a JSON object of client metadata');
      const m = body as Record<string, unknown>;
      const uris = m.redirect_uris;
      if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS)
        throw fail('oauth_invalid_metadata', `redirect_uris must list 1 to ${MAX_REDIRECT_URIS} URIs`);
      for (const u of uris)
        if (typeof u !== 'string' || !redirectUriAllowed(u))
          throw fail(
            'oauth_invalid_redirect_uri',
            `${String(u).slice(0, 200)} is not allowed: use https, http on a loopback address, or a private-use scheme`,
          );
      const grantTypes = m.grant_types ?? ['authorization_code', 'refresh_token'];
      if (
        !Array.isArray(grantTypes) ||
        grantTypes.some((g) => g !== 'authorization_code' && g !== 'refresh_token') ||
        !grantTypes.includes('authorization_code')
      )
        throw fail('oauth_invalid_metadata', 'grant_types may hold authorization_code and refresh_token only');
      const responseTypes = m.response_types ?? ['code'];
      if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== 'code'))
        throw fail('oauth_invalid_metadata', 'response_types may hold code only');
      const name = typeof m.client_name === 'string' ? m.client_name.slice(0, 100) : null;
      const client = await insertClient(opts.db, { clientName: name, redirectUris: uris as string[] });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({
          client_id: client.clientId,
          client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
          ...(name ? { client_name: name } : {}),
          redirect_uris: client.redirectUris,
          grant_types: grantTypes,
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
          ...(typeof m.scope === 'string' ? { scope: parseScopes(m.scope, OAUTH_SCOPES).join(' ') } : {}),
        });
    },
  );

  const page = (reply: FastifyReply, status: number, html: string, formTarget?: string) =>
    reply
      .status(status)
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        // After the consent form, the browser is redirected to the client: form-action must allow it.
        `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${formTarget ? ` ${formTarget}` : ''}; frame-ancestors 'none'; base-uri 'none'`,
      )
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(html);

  const redirectWith = (
    reply: FastifyReply,
    p: Pick<Pending, 'redirectUri' | 'state' | 'issuer'>,
    params: Record<string, string>,
  ) => {
    const u = new URL(p.redirectUri);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    if (p.state !== undefined) u.searchParams.set('state', p.state);
    u.searchParams.set('iss', p.issuer);
    return reply.status(302).header('cache-control', 'no-store').header('location', u.toString()).send();
  };
  const redirectError = (reply: FastifyReply, p: Pick<Pending, 'redirectUri' | 'state' | 'issuer'>, err: HeraldError) =>
    redirectWith(reply, p, { error: RFC_ERROR[err.code] ?? 'invalid_request', error_description: err.message });

  const formTargetOf = (redirectUri: string) => {
    const u = new URL(redirectUri);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : u.protocol;
  };
  const pageRequest = (id: string, p: Pending): PageRequest => ({
    id,
    csrf: p.csrf,
    clientName: p.clientName,
    redirectHost: (() => {
      const u = new URL(p.redirectUri);
      return u.host || u.protocol;
    })(),
  });

  app.get('/oauth/authorize', { schema: { hide: true } }, async (request, reply) => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    let clientPublicId: string | undefined;
    let redirectParam: string | undefined;
    try {
      clientPublicId = one(q, 'client_id');
      redirectParam = one(q, 'redirect_uri');
    } catch (err) {
      return page(reply, 400, errorPage('Bad request', (err as Error).message));
    }
    const client = clientPublicId ? await findClient(opts.db, clientPublicId) : undefined;
    if (!client)
      return page(reply, 400, errorPage('Unknown application', 'This application is not registered with this Herald.'));
    const redirectUri = redirectParam ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (!redirectUri || !client.redirectUris.includes(redirectUri))
      return page(
        reply,
        400,
        errorPage('Bad redirect address', 'The redirect_uri is missing or not one the application registered.'),
      );
    const base = baseUrlOf(opts, request);
    const back = { redirectUri, state: typeof q.state === 'string' ? q.state : undefined, issuer: base };
    try {
      if (one(q, 'response_type') !== 'code') throw fail('oauth_bad_response_type');
      const codeChallenge = one(q, 'code_challenge');
      if (!codeChallenge || one(q, 'code_challenge_method') !== 'S256' || !CHALLENGE.test(codeChallenge))
        throw fail('oauth_invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
      const resource = one(q, 'resource') ?? resourceOf(base, opts.mcpPath);
      if (resource !== resourceOf(base, opts.mcpPath)) throw fail('oauth_invalid_target');
      const scopes = parseScopes(one(q, 'scope'), ['read', 'write']);
      const id = randomBytes(32).toString('base64url');
      const pending: Pending = {
        clientId: client.id,
        clientPublicId: client.clientId,
        clientName: client.clientName ?? 'An MCP client',
        redirectUri,
        state: back.state,
        codeChallenge,
        scopes,
        resource,
        issuer: base,
        csrf: randomBytes(32).toString('base64url'),
      };
      await opts.redis.set(key('req', id), JSON.stringify(pending), 'EX', REQUEST_TTL_S);
      const secure = base.startsWith('https:') ? '; Secure' : '';
      reply.header(
        'set-cookie',
        `${COOKIE}=${id}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=${REQUEST_TTL_S}${secure}`,
      );
      return page(reply, 200, signInPage(pageRequest(id, pending)));
    } catch (err) {
      // Anyone may register a client with any https redirect address, so before the person
      // has done anything Herald answers with a page, never a redirect: otherwise an
      // authorization URL would bounce visitors from Herald's address to any site
      // (RFC 9700 §4.11.2). After sign-in (a denial, say) the client gets its error redirect.
      if (isHeraldError(err))
        return page(
          reply,
          400,
          errorPage(
            'This request cannot be completed',
            `${err.message} (${RFC_ERROR[err.code] ?? 'invalid_request'}).`,
          ),
        );
      throw err;
    }
  });

  app.post('/oauth/authorize', { schema: { hide: true } }, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const id = typeof form.request === 'string' ? form.request : '';
    const csrf = typeof form.csrf === 'string' ? form.csrf : '';
    const raw = id && id.length < 100 ? await opts.redis.get(key('req', id)) : null;
    const pending = raw ? (JSON.parse(raw) as Pending) : undefined;
    const cookie = cookieOf(request);
    if (!pending || !cookie || !same(cookie, id) || !same(csrf, pending.csrf))
      return page(
        reply,
        403,
        errorPage('Start again', new HeraldError('oauth_csrf_failed').message + ' (go back to the application).'),
      );
    const pr = pageRequest(id, pending);

    if (form.step === 'login') {
      const email = typeof form.email === 'string' ? form.email.slice(0, 320) : '';
      // Password guessing costs as much here as at /v1/auth/login: per address and per email.
      const windowKey = Math.floor(Date.now() / 60_000);
      const counters = [
        key('login-ip', `${request.ip}:${windowKey}`),
        key('login-email', `${createHash('sha256').update(email.toLowerCase()).digest('base64url')}:${windowKey}`),
      ];
      const counts = await opts.redis
        .multi()
        .incr(counters[0]!)
        .pexpire(counters[0]!, 61_000)
        .incr(counters[1]!)
        .pexpire(counters[1]!, 61_000)
        .exec();
      const tries = Math.max(Number(counts?.[0]?.[1] ?? 0), Number(counts?.[2]?.[1] ?? 0));
      if (tries > OAUTH_LOGIN_PER_MINUTE)
        return page(
          reply.header('retry-after', String(60 - (Math.floor(Date.now() / 1000) % 60))),
          429,
          signInPage(pr, 'Too many sign-in attempts; wait a minute and try again.'),
        );
      const password = typeof form.password === 'string' ? form.password.slice(0, 1024) : '';
      const user = email ? await findUserByEmail(opts.db, email) : undefined;
      const ok = await verifyPassword(password, user?.passwordHash);
      if (!user || !ok) return page(reply, 401, signInPage(pr, new HeraldError('invalid_credentials').message));
      const session = await createSession(opts.db, user.id, request.headers['user-agent']?.slice(0, 300) ?? null);
      // A new CSRF token for the consent step: the sign-in page's token is spent.
      const next: Pending = {
        ...pending,
        userId: user.id,
        sessionId: session.id,
        csrf: randomBytes(32).toString('base64url'),
      };
      await opts.redis.set(key('req', id), JSON.stringify(next), 'EX', REQUEST_TTL_S);
      const workspaces = await listWorkspacesOfUser(opts.db, user.id);
      return page(
        reply,
        200,
        consentPage(
          pageRequest(id, next),
          workspaces.map((w) => ({ id: w.workspace.id, name: w.workspace.name, role: w.role })),
          pending.scopes,
        ),
        formTargetOf(pending.redirectUri),
      );
    }

    if (form.step !== 'consent' || !pending.userId || !pending.sessionId)
      return page(reply, 400, errorPage('Start again', 'Sign in first.'));
    const userId = pending.userId;
    const sessionId = pending.sessionId;
    const rerender = async (message: string) => {
      const workspaces = await listWorkspacesOfUser(opts.db, userId);
      return page(
        reply,
        400,
        consentPage(
          pr,
          workspaces.map((w) => ({ id: w.workspace.id, name: w.workspace.name, role: w.role })),
          pending.scopes,
          message,
        ),
        formTargetOf(pending.redirectUri),
      );
    };
    if (form.decision === 'deny') {
      await opts.redis.del(key('req', id));
      return redirectError(reply, pending, new HeraldError('oauth_access_denied'));
    }
    if (form.decision !== 'allow') return rerender('Choose Allow or Deny.');
    const workspaceId = typeof form.workspace === 'string' ? form.workspace : '';
    const role = /^[0-9a-f-]{36}$/i.test(workspaceId) ? await getRole(opts.db, workspaceId, userId) : undefined;
    if (!role) return rerender('Choose one of your workspaces.');
    const chosen = ([] as unknown[])
      .concat(form.scope ?? [])
      .filter((s): s is ApiKeyScope => OAUTH_SCOPES.includes(s as ApiKeyScope));
    if (chosen.length === 0) return rerender('Choose at least one permission.');
    const beyond = chosen.filter((s) => !roleAtLeast(role, API_KEY_SCOPES[s]));
    if (beyond.length > 0)
      return rerender(`Your role (${role}) in that workspace does not allow: ${beyond.join(', ')}.`);
    // Single use: a second submit of the same page finds nothing.
    if (!(await opts.redis.getdel(key('req', id))))
      return page(reply, 403, errorPage('Start again', new HeraldError('oauth_csrf_failed').message));
    const code = randomBytes(32).toString('base64url');
    const record: CodeRecord = {
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      userId,
      sessionId,
      workspaceId,
      scopes: chosen,
      resource: pending.resource,
    };
    await opts.redis.set(key('code', sha256(code).toString('hex')), JSON.stringify(record), 'EX', CODE_TTL_S);
    reply.header('set-cookie', `${COOKIE}=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0`);
    return redirectWith(reply, pending, { code });
  });

  app.post('/oauth/token', { schema: { hide: true } }, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const grantType = one(form, 'grant_type');
    const clientPublicId = one(form, 'client_id');
    const resourceParam = one(form, 'resource');
    const at = now();
    const client = clientPublicId ? await findClient(opts.db, clientPublicId) : undefined;
    if (!client) throw fail('oauth_invalid_client');
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

    if (grantType === 'authorization_code') {
      const code = one(form, 'code');
      const verifier = one(form, 'code_verifier');
      const redirectUri = one(form, 'redirect_uri');
      if (!code || code.length > 100) throw fail('oauth_invalid_request', 'code is required');
      if (!verifier || !VERIFIER.test(verifier))
        throw fail('oauth_invalid_request', 'code_verifier is required (43-128 unreserved characters)');
      const raw = await opts.redis.getdel(key('code', sha256(code).toString('hex')));
      if (!raw) throw fail('oauth_invalid_grant', 'The authorization code is unknown, used or expired');
      const rec = JSON.parse(raw) as CodeRecord;
      if (rec.clientId !== client.id) throw fail('oauth_invalid_grant', 'The code was issued to another client');
      if (redirectUri !== undefined && redirectUri !== rec.redirectUri)
        throw fail('oauth_invalid_grant', 'redirect_uri differs from the authorization request');
      const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
      if (!same(challenge, rec.codeChallenge))
        throw fail('oauth_invalid_grant', 'The PKCE code_verifier does not match');
      if (resourceParam !== undefined && resourceParam !== rec.resource) throw fail('oauth_invalid_target');
      // The user may have signed out or left the workspace in the last minute.
      const member = await resolveMemberSession(opts.db, rec);
      if (!member) throw fail('oauth_invalid_grant', 'The sign-in session ended or you left the workspace');
      const tokens = await createGrant(
        opts.db,
        {
          workspaceId: rec.workspaceId,
          clientId: client.id,
          userId: rec.userId,
          sessionId: rec.sessionId,
          scopes: rec.scopes,
          resource: rec.resource,
        },
        ttl,
        at,
      );
      await appendAudit(opts.db, rec.workspaceId, {
        actorKind: 'user',
        actorId: rec.userId,
        channel: 'mcp',
        action: 'oauth.grant',
        subjectType: 'oauth_grant',
        subjectId: tokens.grantId,
        details: { client: client.clientName, clientId: client.clientId, scopes: rec.scopes },
      });
      return tokenResponse(tokens, rec.scopes, opts.accessTtlS);
    }

    if (grantType === 'refresh_token') {
      const token = one(form, 'refresh_token');
      if (!token) throw fail('oauth_invalid_request', 'refresh_token is required');
      const result = await rotateRefresh(opts.db, token, ttl, at);
      if (result.kind === 'invalid') throw fail('oauth_invalid_grant', 'The refresh token is not valid');
      if (result.grant.clientId !== client.id)
        throw fail('oauth_invalid_grant', 'The refresh token belongs to another client');
      if (result.kind === 'reused') {
        await revokeGrant(opts.db, result.grant.workspaceId, result.grant.id, 'refresh_token_reuse', at);
        await appendAudit(opts.db, result.grant.workspaceId, {
          actorKind: 'user',
          actorId: result.grant.userId,
          channel: 'mcp',
          action: 'oauth.revoke_reuse',
          subjectType: 'oauth_grant',
          subjectId: result.grant.id,
        });
        throw fail('oauth_invalid_grant', 'This refresh token was already used; the authorization has been revoked');
      }
      if (resourceParam !== undefined && resourceParam !== result.grant.resource) throw fail('oauth_invalid_target');
      const asked = one(form, 'scope');
      if (asked !== undefined && parseScopes(asked, []).some((s) => !result.grant.scopes.includes(s)))
        throw fail('oauth_invalid_scope');
      return tokenResponse(result.tokens, result.grant.scopes, opts.accessTtlS);
    }
    throw fail('oauth_unsupported_grant_type');
  });

  // RFC 7009: always 200, whether or not the token was known; only its own client may revoke.
  app.post('/oauth/revoke', { schema: { hide: true } }, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const token = one(form, 'token');
    const clientPublicId = one(form, 'client_id');
    if (!token) throw fail('oauth_invalid_request', 'token is required');
    const client = clientPublicId ? await findClient(opts.db, clientPublicId) : undefined;
    if (!client) throw fail('oauth_invalid_client');
    const grant = await grantOfToken(opts.db, token);
    if (grant && grant.clientId === client.id)
      await revokeGrant(opts.db, grant.workspaceId, grant.id, 'client_revoked', now());
    return reply.status(200).header('cache-control', 'no-store').send({});
  });
}

function tokenResponse(t: { accessToken: string; refreshToken: string }, scopes: string[], expiresIn: number) {
  return {
    access_token: t.accessToken,
    token_type: 'Bearer',
    expires_in: expiresIn,
    refresh_token: t.refreshToken,
    scope: scopes.join(' '),
  };
}
