/**
 * The fake X's HTTP side: OAuth 2.0 (authorize with PKCE S256, token with code and rotating
 * refresh, revoke), `GET /2/users/me`, posts (create, read, delete, a user's timeline), the
 * chunked media upload and alt text — with X's error bodies, `x-rate-limit-*` headers on
 * every authenticated answer, 401 for expired tokens and injected faults.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import twitterText from 'twitter-text';
import { snowflake, type FakeToken, type FakeTweet, type XFakeState } from './fake-state.js';
import { fieldsOf, renderTweet } from './fake-render.js';
import { json, oauthError, problem, type Ctx, type Params, type Reply, type Route } from './fake-http.js';
import { MEDIA_ROUTES } from './fake-media-routes.js';

async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const values = new Map<string, string>();
  const files = new Map<string, Blob>();
  let parsedJson: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) values.set(k, v);
  const type = req.headers['content-type'] ?? '';
  if (body.length > 0) {
    if (type.includes('application/json')) {
      try {
        parsedJson = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        parsedJson = {};
      }
    } else if (type.includes('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) values.set(k, v);
    } else if (type.includes('multipart/form-data')) {
      const form = await new Request('http://fake.invalid/', {
        method: 'POST',
        headers: { 'content-type': type },
        body: new Uint8Array(body),
      }).formData();
      for (const [k, v] of form) {
        if (typeof v === 'string') values.set(k, v);
        else files.set(k, v);
      }
    }
  }
  return { get: (n) => values.get(n), json: parsedJson, files };
}

const s256 = (v: string) => createHash('sha256').update(v).digest('base64url');

function basicClient(req: IncomingMessage): { id?: string; secret?: string } {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return {};
  const [id, secret] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
  return { id: id && decodeURIComponent(id), secret: secret && decodeURIComponent(secret) };
}

function tokenReply(t: FakeToken, ttl: number): Reply {
  return json(200, {
    token_type: 'bearer',
    expires_in: ttl,
    access_token: t.accessToken,
    scope: t.scopes.join(' '),
    ...(t.refreshToken ? { refresh_token: t.refreshToken } : {}),
  });
}

const ROUTES: Route[] = [
  {
    method: 'GET',
    path: /^\/i\/oauth2\/authorize$/,
    handle: ({ state, params, req }) => {
      const redirectUri = params.get('redirect_uri') ?? '';
      if (params.get('client_id') !== state.app.clientId || !state.app.redirectUris.includes(redirectUri)) {
        return problem(400, 'Invalid Request', 'Something went wrong: the client or redirect URI is not valid');
      }
      const back = new URL(redirectUri);
      back.searchParams.set('state', params.get('state') ?? '');
      const challenge = params.get('code_challenge');
      if (params.get('code_challenge_method') !== 'S256' || !challenge) {
        back.searchParams.set('error', 'invalid_request');
        return json(302, undefined, { location: back.toString() });
      }
      const userId = req.headers['x-fake-account'];
      if (typeof userId !== 'string' || !state.users.has(userId))
        return problem(401, 'Unauthorized', 'Sign in first (X-Fake-Account)');
      if (req.headers['x-fake-deny']) {
        back.searchParams.set('error', 'access_denied');
        return json(302, undefined, { location: back.toString() });
      }
      const code = snowflake() + 'c';
      state.codes.set(code, {
        userId,
        redirectUri,
        challenge,
        scopes: (params.get('scope') ?? '').split(' ').filter(Boolean),
        used: false,
        expiresAt: state.now() + 30_000,
      });
      back.searchParams.set('code', code);
      return json(302, undefined, { location: back.toString() });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/oauth2\/token$/,
    handle: ({ state, params, req }) => {
      const client = basicClient(req);
      if (client.id !== state.app.clientId || client.secret !== state.app.clientSecret) {
        return oauthError(401, 'unauthorized_client', 'Missing valid authorization header');
      }
      const ttl = state.options.tokenTtlSeconds;
      if (params.get('grant_type') === 'authorization_code') {
        const code = state.codes.get(params.get('code') ?? '');
        const verifier = params.get('code_verifier') ?? '';
        if (
          !code ||
          code.used ||
          code.expiresAt <= state.now() ||
          code.redirectUri !== params.get('redirect_uri') ||
          s256(verifier) !== code.challenge
        ) {
          return oauthError(400, 'invalid_request', 'Value passed for the authorization code was invalid.');
        }
        code.used = true;
        return tokenReply(state.issueToken(code.userId, code.scopes, { consent: true }), ttl);
      }
      if (params.get('grant_type') === 'refresh_token') {
        const fresh = state.refresh(params.get('refresh_token') ?? '');
        return fresh
          ? tokenReply(fresh, ttl)
          : oauthError(400, 'invalid_request', 'Value passed for the token was invalid.');
      }
      return oauthError(400, 'unsupported_grant_type', 'grant_type not supported');
    },
  },
  {
    method: 'POST',
    path: /^\/2\/oauth2\/revoke$/,
    handle: ({ state, params }) => {
      const t = params.get('token') ?? '';
      const record = state.tokens.get(t) ?? state.refreshTokens.get(t);
      if (record) record.revoked = true;
      return json(200, { revoked: true });
    },
  },
  {
    method: 'GET',
    path: /^\/2\/users\/me$/,
    auth: true,
    handle: ({ state, token, params }) => {
      // Only id, name and username by default; anything else when asked for in `user.fields`
      // (https://docs.x.com/x-api/fundamentals/fields).
      const u = state.users.get(token!.userId)!;
      const want = fieldsOf(params.get('user.fields'));
      const posts = [...state.tweets.values()].filter((t) => t.authorId === u.id && !t.deleted).length;
      return json(200, {
        data: {
          id: u.id,
          username: u.username,
          name: u.name,
          ...(want.has('profile_image_url') ? { profile_image_url: `${state.baseUrl}/avatars/${u.id}.png` } : {}),
          ...(want.has('subscription_type') ? { subscription_type: u.subscriptionType } : {}),
          ...(want.has('public_metrics') ? { public_metrics: { ...u.audience, tweet_count: posts } } : {}),
        },
      });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/tweets$/,
    auth: true,
    creates: true,
    handle: ({ state, params, token }) => {
      const user = state.users.get(token!.userId)!;
      const b = params.json;
      // X keeps text in Unicode NFC (https://docs.x.com/fundamentals/counting-characters).
      const text = typeof b.text === 'string' ? b.text.normalize('NFC') : '';
      const mediaIds = ((b.media as { media_ids?: unknown } | undefined)?.media_ids as string[] | undefined) ?? [];
      const replyTo = (b.reply as { in_reply_to_tweet_id?: string } | undefined)?.in_reply_to_tweet_id ?? null;
      const quoteId = typeof b.quote_tweet_id === 'string' ? b.quote_tweet_id : null;
      if (!text && mediaIds.length === 0)
        return problem(400, 'Invalid Request', 'One or more parameters to your request was invalid.');
      const max = user.subscriptionType === 'Premium' || user.subscriptionType === 'PremiumPlus' ? 25_000 : 280;
      if (twitterText.parseTweet(text).weightedLength > max)
        return problem(403, 'Forbidden', 'Your Tweet text is too long.');
      for (const id of mediaIds) {
        const m = state.media.get(id);
        if (!m || m.ownerId !== user.id || !m.finalized || state.now() < m.readyAt) {
          return problem(400, 'Invalid Request', `Your media IDs are invalid.`);
        }
      }
      const parent = replyTo ? state.tweets.get(replyTo) : undefined;
      if (replyTo && (!parent || parent.deleted))
        return problem(403, 'Forbidden', 'You attempted to reply to a Tweet that is deleted or not visible to you.');
      if (quoteId && !state.tweets.get(quoteId))
        return problem(400, 'Invalid Request', 'The quoted Tweet does not exist.');
      if (state.options.access === 'self-serve') {
        // Apr 20, 2026: "Following, Likes, and Quote-Posts via the API have been removed from
        // all self-serve tiers" (https://docs.x.com/changelog). X documents no body for it.
        if (quoteId) return problem(403, 'Forbidden', 'Quote Posts are not available to your app.');
        // Feb 23, 2026: a reply only where the original Post's author "summoned" the replier
        // by @mentioning them or quoting one of their Posts
        // (https://docs.x.com/x-api/posts/manage-tweets/integrate, "Post creation restrictions");
        // one's own Post may be replied to, so threads still work (X's refusal reads "You can
        // only reply to or quote posts where you are mentioned or are the author").
        if (parent && !summoned(state, parent, user))
          return problem(
            403,
            'Forbidden',
            'You can only reply to or quote posts where you are mentioned or are the author.',
          );
      }
      const live = [...state.tweets.values()].filter((t) => t.authorId === user.id && !t.deleted);
      if (live.some((t) => t.text === text && t.replyToId === replyTo && text !== '')) {
        return problem(403, 'Forbidden', 'You are not allowed to create a Tweet with duplicate content.');
      }
      const tweet: FakeTweet = {
        id: snowflake(),
        authorId: user.id,
        text,
        createdAt: state.now(),
        replyToId: replyTo,
        quoteId,
        mediaIds,
        deleted: false,
        metrics: { like_count: 0, retweet_count: 0, reply_count: 0, quote_count: 0, impression_count: 0 },
      };
      state.tweets.set(tweet.id, tweet);
      state.countersOf(user.id).tweetsCreated++;
      return json(201, { data: { id: tweet.id, text: tweet.text, edit_history_tweet_ids: [tweet.id] } });
    },
  },
  {
    method: 'GET',
    path: /^\/2\/tweets\/(\d+)$/,
    auth: true,
    reads: true,
    handle: ({ state, match, params, token }) => {
      const t = state.tweets.get(match[1]!);
      if (!t || t.deleted) {
        return json(200, {
          errors: [
            {
              value: match[1],
              detail: `Could not find tweet with id: [${match[1]}].`,
              title: 'Not Found Error',
              resource_type: 'tweet',
              parameter: 'id',
              resource_id: match[1],
              type: 'https://api.twitter.com/2/problems/resource-not-found',
            },
          ],
        });
      }
      state.countersOf(token!.userId).postsRead++;
      return json(200, { data: renderTweet(t, state, fieldsOf(params.get('tweet.fields'))) });
    },
  },
  {
    method: 'DELETE',
    path: /^\/2\/tweets\/(\d+)$/,
    auth: true,
    handle: ({ state, match, token }) => {
      const t = state.tweets.get(match[1]!);
      if (!t || t.deleted) return problem(404, 'Not Found Error', `Could not find tweet with id: [${match[1]}].`);
      if (t.authorId !== token!.userId)
        return problem(403, 'Forbidden', 'You are not authorized to delete this Tweet.');
      t.deleted = true;
      state.countersOf(t.authorId).tweetsDeleted++;
      return json(200, { data: { deleted: true } });
    },
  },
  {
    method: 'GET',
    path: /^\/2\/users\/(\d+)\/tweets$/,
    auth: true,
    reads: true,
    handle: ({ state, match, params, token }) => {
      // GET /2/users/:id/tweets: newest first, `max_results` 5-100 (default 10), `start_time`,
      // `pagination_token` from `meta.next_token` (https://docs.x.com/x-api/users/get-posts).
      const since = params.get('start_time') ? Date.parse(params.get('start_time')!) : 0;
      const max = Number(params.get('max_results') ?? 10);
      if (!Number.isInteger(max) || max < 5 || max > 100)
        return problem(400, 'Invalid Request', 'The `max_results` query parameter value is not between 5 and 100');
      const all = [...state.tweets.values()]
        .filter((t) => t.authorId === match[1] && !t.deleted && t.createdAt >= since)
        .sort((a, b) => b.createdAt - a.createdAt || (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
      const from = Number(params.get('pagination_token') ?? 0) || 0;
      const list = all.slice(from, from + max);
      state.countersOf(token!.userId).postsRead += list.length;
      const fields = fieldsOf(params.get('tweet.fields'));
      return json(200, {
        ...(list.length ? { data: list.map((t) => renderTweet(t, state, fields)) } : {}),
        meta: { result_count: list.length, ...(from + max < all.length ? { next_token: String(from + max) } : {}) },
      });
    },
  },
  ...MEDIA_ROUTES,
];

/** Whether `parent`'s author summoned `user`: it is theirs, mentions them, or quotes one of theirs. */
function summoned(state: XFakeState, parent: FakeTweet, user: { id: string; username: string }): boolean {
  if (parent.authorId === user.id) return state.options.selfReplies;
  const mentions = twitterText.extractMentions(parent.text).map((m) => m.toLowerCase());
  if (mentions.includes(user.username.toLowerCase())) return true;
  return !!parent.quoteId && state.tweets.get(parent.quoteId)?.authorId === user.id;
}

async function answer(state: XFakeState, req: IncomingMessage, url: URL): Promise<Reply> {
  const route = ROUTES.find((r) => r.method === req.method && r.path.test(url.pathname));
  const params = await readParams(req, url);
  if (!route) return problem(404, 'Not Found', `No route ${req.method} ${url.pathname}`);
  const c: Ctx = { state, req, url, params, match: route.path.exec(url.pathname)!, token: null };
  if (!route.auth) return route.handle(c);
  const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
  const token = state.tokens.get(bearer);
  if (!token || token.revoked || token.expiresAt <= state.now()) return problem(401, 'Unauthorized', 'Unauthorized');
  c.token = token;
  const rate = state.consumeRate(token.userId);
  const headers = {
    'x-rate-limit-limit': String(rate.limit),
    'x-rate-limit-remaining': String(rate.remaining),
    'x-rate-limit-reset': String(rate.reset),
  };
  if (rate.exceeded)
    return json(
      429,
      { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      { ...headers, 'x-rate-limit-remaining': '0' },
    );
  if (route.reads && !state.options.reads) {
    // The body X sends an app whose access does not include the call.
    return json(403, {
      title: 'Client Forbidden',
      detail:
        'This request must be made using an approved developer account that is enrolled in the requested endpoint.',
      reason: 'client-not-enrolled',
      type: 'https://api.twitter.com/2/problems/client-forbidden',
      required_enrollment: 'Appropriate Level of API Access',
    });
  }
  const fault = route.creates ? state.takeFault(token.userId) : undefined;
  if (fault === 'usage_capped')
    // A 429 of type usage-capped: the app's credits or monthly cap are spent
    // (https://docs.x.com/x-api/fundamentals/response-codes-and-errors, "Error types").
    return json(429, {
      title: 'UsageCapExceeded',
      detail: 'Usage cap exceeded: Monthly product cap',
      type: 'https://api.twitter.com/2/problems/usage-capped',
      period: 'Monthly',
      scope: 'Product',
    });
  if (fault === 'rate_limited')
    return json(
      429,
      { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      { ...headers, 'x-rate-limit-remaining': '0' },
    );
  if (fault === 'server_error') return problem(503, 'Service Unavailable', 'Service Unavailable');
  if (fault === 'invalid_content')
    return problem(403, 'Forbidden', 'You are not allowed to create a Tweet with duplicate content.');
  const reply = await route.handle(c);
  if (fault === 'timeout_after_apply' || reply === 'hang') return 'hang';
  return { ...reply, headers: { ...headers, ...reply.headers } };
}

async function dispatch(state: XFakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  let reply: Reply;
  try {
    reply = await answer(state, req, url);
  } catch {
    reply = problem(500, 'Internal Error', 'Internal Error');
  }
  if (reply === 'hang') return;
  const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res
    .writeHead(reply.status, {
      ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...reply.headers,
    })
    .end(payload);
}

export async function listen(state: XFakeState, port = 0): Promise<Server> {
  const server = createServer((req, res) => void dispatch(state, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake X: no TCP address');
  state.baseUrl = `http://127.0.0.1:${address.port}`;
  return server;
}
