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

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';
type Params = { get(name: string): string | undefined; json: Record<string, unknown>; files: Map<string, Blob> };
interface Ctx {
  state: XFakeState;
  req: IncomingMessage;
  url: URL;
  params: Params;
  match: RegExpExecArray;
  token: FakeToken | null;
}
interface Route {
  method: string;
  path: RegExp;
  auth?: boolean;
  /** Creating a post: the call injected faults apply to. */
  creates?: boolean;
  handle(c: Ctx): Reply | Promise<Reply>;
}

const json = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});
const problem = (status: number, title: string, detail: string) =>
  json(status, { title, detail, type: 'about:blank', status });
const oauthError = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description });

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

const tweetView = (t: FakeTweet, s: XFakeState) => ({
  id: t.id,
  text: t.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  edit_history_tweet_ids: [t.id],
  author_id: t.authorId,
  created_at: new Date(t.createdAt).toISOString(),
  ...(t.replyToId || t.quoteId
    ? {
        referenced_tweets: [
          ...(t.replyToId ? [{ type: 'replied_to', id: t.replyToId }] : []),
          ...(t.quoteId ? [{ type: 'quoted', id: t.quoteId }] : []),
        ],
      }
    : {}),
  ...(t.mediaIds.length ? { attachments: { media_keys: t.mediaIds.map((m) => `3_${m}`) } } : {}),
  public_metrics: t.metrics,
  ...(s ? {} : {}),
});

const mediaInfo = (s: XFakeState, id: string) => {
  const m = s.media.get(id)!;
  const ready = s.now() >= m.readyAt;
  return json(200, {
    data: {
      id,
      media_key: `3_${id}`,
      expires_after_secs: 86_400,
      ...(m.mimeType.startsWith('image/') && m.mimeType !== 'image/gif'
        ? {}
        : {
            processing_info: ready
              ? { state: 'succeeded', progress_percent: 100 }
              : { state: 'in_progress', check_after_secs: 1, progress_percent: 50 },
          }),
    },
  });
};

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
    handle: ({ state, token }) => {
      const u = state.users.get(token!.userId)!;
      return json(200, {
        data: {
          id: u.id,
          username: u.username,
          name: u.name,
          profile_image_url: `${state.baseUrl}/avatars/${u.id}.png`,
          subscription_type: u.subscriptionType,
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
      const text = typeof b.text === 'string' ? b.text : '';
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
      if (replyTo && !state.tweets.get(replyTo))
        return problem(403, 'Forbidden', 'You attempted to reply to a Tweet that is deleted or not visible to you.');
      if (quoteId && !state.tweets.get(quoteId))
        return problem(400, 'Invalid Request', 'The quoted Tweet does not exist.');
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
    handle: ({ state, match }) => {
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
      return json(200, { data: tweetView(t, state) });
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
    handle: ({ state, match, params }) => {
      const since = params.get('start_time') ? Date.parse(params.get('start_time')!) : 0;
      const max = Math.min(100, Number(params.get('max_results') ?? 10));
      const list = [...state.tweets.values()]
        .filter((t) => t.authorId === match[1] && !t.deleted && t.createdAt >= since)
        .sort((a, b) => b.createdAt - a.createdAt || (BigInt(b.id) > BigInt(a.id) ? 1 : -1))
        .slice(0, max);
      return json(200, { data: list.map((t) => tweetView(t, state)), meta: { result_count: list.length } });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/initialize$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const b = params.json;
      const mimeType = String(b.media_type ?? '');
      const total = Number(b.total_bytes);
      if (!/^(image\/(jpeg|png|webp|gif)|video\/(mp4|quicktime))$/.test(mimeType))
        return problem(400, 'Invalid Request', `media_type ${mimeType} is not supported.`);
      if (!Number.isInteger(total) || total <= 0) return problem(400, 'Invalid Request', 'total_bytes is invalid.');
      const id = snowflake();
      state.media.set(id, {
        id,
        ownerId: token!.userId,
        mimeType,
        totalBytes: total,
        chunks: new Map(),
        finalized: false,
        readyAt: Infinity,
        altText: null,
      });
      return json(200, { data: { id, media_key: `3_${id}`, expires_after_secs: 86_400 } });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/(\d+)\/append$/,
    auth: true,
    handle: async ({ state, params, match, token }) => {
      const m = state.media.get(match[1]!);
      if (!m || m.ownerId !== token!.userId || m.finalized)
        return problem(400, 'Invalid Request', 'The media_id is invalid.');
      const file = params.files.get('media');
      const segment = Number(params.get('segment_index'));
      if (!file || !Number.isInteger(segment) || segment < 0 || segment > 999)
        return problem(400, 'Invalid Request', 'media and segment_index are required.');
      if (file.size > 5 * 1024 * 1024) return problem(400, 'Invalid Request', 'Chunks may be at most 5 MB.');
      m.chunks.set(segment, file.size);
      return json(200, { data: { expires_at: Math.floor(state.now() / 1000) + 86_400 } });
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/upload\/(\d+)\/finalize$/,
    auth: true,
    handle: ({ state, match, token }) => {
      const m = state.media.get(match[1]!);
      if (!m || m.ownerId !== token!.userId) return problem(400, 'Invalid Request', 'The media_id is invalid.');
      const received = [...m.chunks.values()].reduce((a, b) => a + b, 0);
      if (received !== m.totalBytes)
        return problem(
          400,
          'Invalid Request',
          `File size mismatch: expected ${m.totalBytes} bytes, received ${received}.`,
        );
      if (!m.finalized) {
        m.finalized = true;
        m.readyAt = state.now() + state.options.mediaProcessingMs(m.mimeType);
        state.countersOf(m.ownerId).mediaFinalized++;
      }
      return mediaInfo(state, m.id);
    },
  },
  {
    method: 'GET',
    path: /^\/2\/media\/upload$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const m = state.media.get(params.get('media_id') ?? '');
      if (params.get('command') !== 'STATUS' || !m || m.ownerId !== token!.userId || !m.finalized)
        return problem(400, 'Invalid Request', 'The media_id is invalid.');
      return mediaInfo(state, m.id);
    },
  },
  {
    method: 'POST',
    path: /^\/2\/media\/metadata$/,
    auth: true,
    handle: ({ state, params, token }) => {
      const b = params.json as { id?: string; metadata?: { alt_text?: { text?: string } } };
      const m = state.media.get(b.id ?? '');
      const text = b.metadata?.alt_text?.text;
      if (!m || m.ownerId !== token!.userId) return problem(400, 'Invalid Request', 'The media id is invalid.');
      if (typeof text !== 'string' || text.length > 1000)
        return problem(400, 'Invalid Request', 'alt_text must be at most 1000 characters.');
      m.altText = text;
      return json(200, { data: { id: m.id, associated_metadata: true } });
    },
  },
];

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
  const fault = route.creates ? state.takeFault(token.userId) : undefined;
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
