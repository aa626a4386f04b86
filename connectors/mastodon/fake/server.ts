/**
 * The fake Mastodon's HTTP server: routes each request, checks the bearer token and its
 * scope, counts the account's rate budget (sending Mastodon's X-RateLimit-* headers), applies
 * injected faults, and serves the test-only `/__fake/*` control endpoints that let another
 * process create accounts, inject faults and read the exactly-once counters.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiRoutes } from './api-routes.js';
import { BodyTooLarge, error, json, readBody, readParams, write, type Ctx, type Reply, type Route } from './http.js';
import { oauthRoutes } from './oauth-routes.js';
import { trendRoutes } from './trend-routes.js';
import { createAccountWithToken, statusView } from './views.js';
import type { FakeFault, FakeState, FaultTarget } from './state.js';

const FAULTS: readonly FakeFault[] = [
  'rate_limited',
  'server_error',
  'invalid_content',
  'timeout_after_apply',
  'hang',
  'reset',
];
const TARGETS: readonly FaultTarget[] = ['statuses', 'media', 'any'];

function knownAccount(c: Ctx): string | null {
  const id = c.match[1]!;
  return c.state.accounts.has(id) ? id : null;
}

const controlRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/__fake\/accounts$/,
    handle: (c) => json(201, createAccountWithToken(c.state, c.params.get('username'))),
  },
  {
    method: 'GET',
    path: /^\/__fake\/accounts\/([^/]+)\/statuses$/,
    handle: (c) => {
      const id = knownAccount(c);
      if (!id) return error(404, 'no such account');
      return json(200, {
        statuses: c.state.liveStatuses(id).map((s) => statusView(c.state, s)),
        counters: c.state.counters(id),
      });
    },
  },
  {
    method: 'POST',
    path: /^\/__fake\/accounts\/([^/]+)\/fail-next$/,
    handle: (c) => {
      const id = knownAccount(c);
      if (!id) return error(404, 'no such account');
      const fault = c.params.get('fault') as FakeFault;
      const on = (c.params.get('on') ?? 'statuses') as FaultTarget;
      if (!FAULTS.includes(fault) || !TARGETS.includes(on))
        return error(422, `fault must be one of ${FAULTS.join(', ')}`);
      const after = Number(c.params.get('after') ?? 0);
      const times = Number(c.params.get('times') ?? 1);
      c.state.failNext(id, fault, { on, after, times });
      return json(200, {});
    },
  },
  {
    method: 'POST',
    path: /^\/__fake\/accounts\/([^/]+)\/expire-token$/,
    handle: (c) => {
      const id = knownAccount(c);
      if (!id) return error(404, 'no such account');
      c.state.expireAccessToken(id);
      return json(200, {});
    },
  },
];

const ROUTES: Route[] = [...apiRoutes, ...trendRoutes, ...oauthRoutes, ...controlRoutes];

const hasScope = (granted: string[], needed: string) =>
  granted.includes(needed) || granted.includes(needed.split(':')[0]!);

/** Rack::Attack's reset header: ISO 8601 with microseconds. */
const resetHeader = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

function faultReply(c: Ctx, fault: FakeFault, rateHeaders: Record<string, string>): Reply | null {
  switch (fault) {
    case 'rate_limited':
      return error(429, 'Too many requests', { ...rateHeaders, 'x-ratelimit-remaining': '0' });
    case 'server_error':
      return error(500, "We're sorry, but something went wrong on our end.");
    case 'invalid_content':
      return error(
        422,
        `Validation failed: Text character limit of ${c.state.options.instance.maxCharacters} exceeded`,
      );
    case 'hang':
      return 'hang';
    case 'reset':
      return 'reset';
    case 'timeout_after_apply':
      return null;
  }
}

async function answer(
  state: FakeState,
  req: IncomingMessage,
  url: URL,
  seen: { accountId: string | null },
): Promise<Reply> {
  const body = await readBody(req);
  const route = ROUTES.find((r) => r.method === req.method && r.path.test(url.pathname));
  if (!route) {
    return ROUTES.some((r) => r.path.test(url.pathname)) ? error(405, 'Method Not Allowed') : error(404, 'Not Found');
  }
  const c: Ctx = {
    state,
    req,
    url,
    params: await readParams(req, url, body),
    match: route.path.exec(url.pathname)!,
    account: null,
    token: null,
  };
  const token = bearer(req);
  if (route.auth === 'required' || (route.auth === 'optional' && token)) {
    const auth = state.authenticate(token);
    if ('problem' in auth) {
      return error(401, 'The access token is invalid', {
        'www-authenticate': `Bearer realm="Doorkeeper", error="invalid_token", error_description="${auth.problem}"`,
      });
    }
    c.token = auth;
    c.account = auth.accountId ? (state.accounts.get(auth.accountId) ?? null) : null;
    if (route.auth === 'required' && !c.account) return error(422, 'This method requires an authenticated user');
    if (route.scope && !hasScope(auth.scopes, route.scope))
      return error(403, 'This action is outside the authorized scopes');
  }
  if (!c.account) return route.handle(c);

  seen.accountId = c.account.id;
  const rate = state.consumeRate(c.account.id);
  const rateHeaders = {
    'x-ratelimit-limit': String(rate.limit),
    'x-ratelimit-remaining': String(rate.remaining),
    'x-ratelimit-reset': resetHeader(rate.resetAt),
  };
  if (rate.exceeded) return error(429, 'Too many requests', rateHeaders);
  const fault = state.takeFault(c.account.id, route.faultTarget ?? null);
  const injected = fault ? faultReply(c, fault, rateHeaders) : null;
  if (injected) return injected;
  const reply = route.handle(c);
  // timeout_after_apply: the change is made, the answer never sent.
  if (fault === 'timeout_after_apply') return 'hang';
  if (typeof reply === 'string') return reply;
  return { ...reply, headers: { ...rateHeaders, ...reply.headers } };
}

async function dispatch(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const seen = { accountId: null as string | null };
  let reply: Reply;
  try {
    reply = await answer(state, req, url, seen);
  } catch (err) {
    reply =
      err instanceof BodyTooLarge
        ? error(413, 'Payload Too Large')
        : error(500, "We're sorry, but something went wrong on our end.");
  }
  state.requests.push({
    method: req.method ?? 'GET',
    url: url.pathname + url.search,
    status: typeof reply === 'string' ? reply : reply.status,
    accountId: seen.accountId,
  });
  if (reply === 'hang') return; // the client's timeout ends it; close() destroys what is left
  if (reply === 'reset') {
    req.socket.destroy();
    return;
  }
  write(res, reply);
}

/** Starts the server on 127.0.0.1 (a free port unless one is given) and records its base URL. */
export async function listen(state: FakeState, port = 0): Promise<Server> {
  const server = createServer((req, res) => void dispatch(state, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake Mastodon: no TCP address');
  state.baseUrl = `http://127.0.0.1:${address.port}`;
  return server;
}
