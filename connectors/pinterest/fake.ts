/**
 * A local Pinterest for tests: a real HTTP server on 127.0.0.1 speaking the documented wire
 * protocol of API v5 — OAuth (authorize, `/v5/oauth/token` with Basic client credentials,
 * 30-day access tokens), `/v5/user_account`, boards and their Pins, `POST /v5/pins` from
 * `image_url`, `image_base64`, `multiple_image_base64` or `video_id`, Pin analytics, and the
 * video flow: `POST /v5/media` registers an upload and answers an S3-style upload URL with
 * form fields, the multipart POST to it (204), `GET /v5/media/{id}` (registered → processing
 * → succeeded). Errors are `{code, message}`; 429 carries `Retry-After` and `X-RateLimit-*`.
 * Uploaded video bytes are counted, never kept.
 */
import { randomBytes } from 'node:crypto';
import { approve, FaultQueue, readSmallBody, reply, serve, TokenBook, type Reply } from '../fake-kit.js';

export type PinterestFakeFault = 'rate_limited' | 'server_error' | 'invalid_content' | 'timeout_after_apply';

export interface FakePin {
  id: string;
  userId: string;
  boardId: string;
  title: string | null;
  description: string;
  link: string | null;
  altText: string | null;
  sourceType: string;
  images: number;
  mediaId: string | null;
  createdAt: string;
  deleted: boolean;
}

export interface PinterestFake {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  createAccount(input?: { username?: string; boards?: string[] }): {
    userId: string;
    username: string;
    accessToken: string;
    refreshToken: string;
    boards: Array<{ id: string; name: string }>;
  };
  createUser(input?: { username?: string; boards?: string[] }): { userId: string };
  approve(authorizeUrl: string, userId: string): Promise<string>;
  pins(userId: string): FakePin[];
  /** Videos registered by the user: bytes received and state. */
  media(userId: string): Array<{ mediaId: string; bytes: number; status: string }>;
  failNext(userId: string, fault: PinterestFakeFault): void;
  expireAccessTokens(userId: string): void;
  close(): Promise<void>;
}

const error = (status: number, code: number, message: string, headers?: Record<string, string>): Reply =>
  reply(status, { code, message }, headers);

export async function startPinterestFake(
  options: { redirectUris?: string[]; videoProcessingMs?: number } = {},
): Promise<PinterestFake> {
  const clientId = String(1_480_000 + Math.floor(Math.random() * 10_000));
  const clientSecret = randomBytes(20).toString('hex');
  const redirectUris = options.redirectUris ?? [];
  const processingMs = options.videoProcessingMs ?? 50;
  const book = new TokenBook(30 * 86_400, 365 * 86_400, false);
  const users = new Map<string, { id: string; username: string; boards: Array<{ id: string; name: string }> }>();
  const pins = new Map<string, FakePin>();
  const media = new Map<
    string,
    { id: string; userId: string; bytes: number; uploadedAt: number | null; key: string }
  >();
  const codes = new Map<string, { userId: string; redirectUri: string }>();
  const faults = new FaultQueue<PinterestFakeFault>();
  let base = '';
  const id19 = () => String(BigInt(`0x${randomBytes(7).toString('hex')}`) + 1_000_000_000_000_000_000n).slice(0, 18);

  const newUser = (input: { username?: string; boards?: string[] } = {}) => {
    const id = id19();
    users.set(id, {
      id,
      username: input.username ?? `pinner${randomBytes(3).toString('hex')}`,
      boards: (input.boards ?? ['Ideas', 'Recipes']).map((name) => ({ id: id19(), name })),
    });
    return id;
  };
  const mediaStatus = (m: { uploadedAt: number | null }) =>
    m.uploadedAt === null ? 'registered' : book.now() - m.uploadedAt < processingMs ? 'processing' : 'succeeded';
  const pinJson = (p: FakePin) => ({
    id: p.id,
    created_at: p.createdAt,
    board_id: p.boardId,
    title: p.title,
    description: p.description,
    link: p.link,
    alt_text: p.altText,
    media: { media_type: p.sourceType === 'video_id' ? 'video' : p.images > 1 ? 'multiple_images' : 'image' },
  });

  const server = await serve(async (req, url) => {
    const path = url.pathname;
    const q = (k: string) => url.searchParams.get(k);
    if (req.method === 'GET' && path === '/oauth/') {
      const redirectUri = q('redirect_uri') ?? '';
      if (q('client_id') !== clientId || !redirectUris.includes(redirectUri)) return reply(400, 'Invalid redirect_uri');
      const userId = String(req.headers['x-fake-account'] ?? '');
      const back = new URL(redirectUri);
      back.searchParams.set('state', q('state') ?? '');
      if (!users.has(userId)) back.searchParams.set('error', 'access_denied');
      else {
        const code = randomBytes(20).toString('hex');
        codes.set(code, { userId, redirectUri });
        back.searchParams.set('code', code);
      }
      return reply(302, undefined, { location: back.toString() });
    }
    if (req.method === 'POST' && path === '/v5/oauth/token') {
      const { form } = await readSmallBody(req);
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
      if (basic !== `${clientId}:${clientSecret}`) return error(401, 2, 'Authentication failed.');
      let t;
      if (form.get('grant_type') === 'authorization_code') {
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        if (!c || c.redirectUri !== form.get('redirect_uri')) return error(400, 1, 'Invalid authorization code.');
        t = book.issue(c.userId);
      } else if (form.get('grant_type') === 'refresh_token') {
        t = book.refresh(form.get('refresh_token') ?? '');
        if (!t) return error(400, 1, 'Invalid refresh token.');
        return reply(200, {
          access_token: t.accessToken,
          response_type: 'refresh_token',
          token_type: 'bearer',
          expires_in: book.ttlSeconds,
          scope: 'boards:read,pins:read,pins:write,user_accounts:read',
        });
      } else return error(400, 1, 'Unsupported grant_type.');
      return reply(200, {
        access_token: t.accessToken,
        refresh_token: t.refreshToken,
        response_type: 'authorization_code',
        token_type: 'bearer',
        expires_in: book.ttlSeconds,
        refresh_token_expires_in: book.refreshTtlSeconds,
        scope: 'boards:read,pins:read,pins:write,user_accounts:read',
      });
    }
    // The S3-style upload URL: a multipart POST with the registered fields and the file.
    if (req.method === 'POST' && path === '/media-upload/') {
      let bytes = 0;
      let head = '';
      for await (const piece of req as AsyncIterable<Buffer>) {
        bytes += piece.length;
        if (head.length < 65_536) head += piece.subarray(0, 65_536).toString('latin1');
      }
      const key = /name="key"\r\n\r\n([^\r]+)/.exec(head)?.[1];
      const m = [...media.values()].find((x) => x.key === key);
      if (!m || !/name="file"/.test(head)) return reply(400, '<Error><Code>InvalidArgument</Code></Error>');
      m.bytes = bytes;
      m.uploadedAt = book.now();
      return reply(204);
    }
    const userId = book.bearer(req);
    if (!userId) {
      req.resume();
      return error(401, 2, 'Authentication failed.');
    }
    const u = users.get(userId)!;
    const mine = () => [...pins.values()].filter((p) => p.userId === userId && !p.deleted);
    if (req.method === 'GET' && path === '/v5/user_account')
      return reply(200, {
        id: u.id,
        username: u.username,
        account_type: 'BUSINESS',
        business_name: u.username,
        profile_image: `${base}/img/${u.id}.jpg`,
        follower_count: 77,
        following_count: 5,
        pin_count: mine().length,
      });
    if (req.method === 'GET' && path === '/v5/boards')
      return reply(200, { items: u.boards.map((b) => ({ ...b, privacy: 'PUBLIC' })), bookmark: null });
    let m = /^\/v5\/boards\/([^/]+)\/pins$/.exec(path);
    if (req.method === 'GET' && m) {
      if (!u.boards.some((b) => b.id === m![1])) return error(404, 40, 'Board not found.');
      return reply(200, {
        items: mine()
          .filter((p) => p.boardId === m![1])
          .reverse()
          .map(pinJson),
        bookmark: null,
      });
    }
    if (req.method === 'POST' && path === '/v5/media') {
      const { json } = await readSmallBody(req);
      if (json.media_type !== 'video') return error(400, 1, 'media_type must be video.');
      const id = id19();
      const key = `uploads/${id}/video:${randomBytes(8).toString('hex')}`;
      media.set(id, { id, userId, bytes: 0, uploadedAt: null, key });
      return reply(201, {
        media_id: id,
        media_type: 'video',
        upload_url: `${base}/media-upload/`,
        upload_parameters: {
          'x-amz-date': '20261207T000000Z',
          'x-amz-signature': randomBytes(16).toString('hex'),
          'x-amz-security-token': 'token',
          'x-amz-algorithm': 'AWS4-HMAC-SHA256',
          key,
          policy: 'cG9saWN5',
          'x-amz-credential': 'cred',
          'Content-Type': 'multipart/form-data',
        },
      });
    }
    m = /^\/v5\/media\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const x = media.get(m[1]!);
      if (!x || x.userId !== userId) return error(404, 1, 'Media not found.');
      return reply(200, { media_id: x.id, media_type: 'video', status: mediaStatus(x) });
    }
    if (req.method === 'POST' && path === '/v5/pins') {
      const { json } = await readSmallBody(req, 64 << 20);
      const fault = faults.take(userId, ['rate_limited', 'server_error', 'invalid_content', 'timeout_after_apply']);
      if (fault === 'rate_limited')
        return error(429, 8, 'You have exceeded your rate limit. Try again later.', {
          'retry-after': '60',
          'x-ratelimit-limit': '1000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': '60',
        });
      if (fault === 'server_error') return error(503, 16, 'Service unavailable.');
      if (fault === 'invalid_content') return error(400, 1, 'Sorry, this link is blocked by Pinterest (spam).');
      const boardId = String(json.board_id ?? '');
      if (!u.boards.some((b) => b.id === boardId)) return error(404, 40, 'Board not found.');
      const src = (json.media_source ?? {}) as Record<string, unknown>;
      let images = 0;
      let mediaId: string | null = null;
      if (src.source_type === 'image_base64' || src.source_type === 'image_url') images = 1;
      else if (src.source_type === 'multiple_image_base64' || src.source_type === 'multiple_image_urls') {
        images = Array.isArray(src.items) ? src.items.length : 0;
        if (images < 2 || images > 5) return error(400, 1, 'Carousels hold 2 to 5 images.');
      } else if (src.source_type === 'video_id') {
        const x = media.get(String(src.media_id ?? ''));
        if (!x || x.userId !== userId || mediaStatus(x) !== 'succeeded')
          return error(400, 1, 'The media is not ready.');
        mediaId = x.id;
      } else return error(400, 1, 'Invalid media_source.');
      const title = typeof json.title === 'string' ? json.title : null;
      if (title && title.length > 100) return error(400, 1, 'Title is too long.');
      const p: FakePin = {
        id: id19(),
        userId,
        boardId,
        title,
        description: String(json.description ?? ''),
        link: typeof json.link === 'string' ? json.link : null,
        altText: typeof json.alt_text === 'string' ? json.alt_text : null,
        sourceType: String(src.source_type),
        images,
        mediaId,
        createdAt: new Date(book.now()).toISOString(),
        deleted: false,
      };
      pins.set(p.id, p);
      if (fault === 'timeout_after_apply') return 'hang';
      return reply(201, pinJson(p));
    }
    m = /^\/v5\/pins\/([^/]+)(\/analytics)?$/.exec(path);
    if (m) {
      const p = pins.get(m[1]!);
      if (!p || p.deleted || p.userId !== userId) return error(404, 50, 'Pin not found.');
      if (m[2])
        return reply(200, {
          all: {
            summary_metrics: {
              IMPRESSION: 250,
              SAVE: 4,
              PIN_CLICK: 9,
              OUTBOUND_CLICK: 3,
              TOTAL_COMMENTS: 1,
              TOTAL_REACTIONS: 6,
            },
          },
        });
      if (req.method === 'DELETE') {
        p.deleted = true;
        return reply(204);
      }
      return reply(200, pinJson(p));
    }
    req.resume();
    return error(404, 404, `No route ${req.method} ${path}`);
  });
  base = server.url;
  return {
    url: server.url,
    clientId,
    clientSecret,
    createAccount(input) {
      const id = newUser(input);
      const t = book.issue(id);
      const u = users.get(id)!;
      return {
        userId: id,
        username: u.username,
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        boards: u.boards,
      };
    },
    createUser: (input) => ({ userId: newUser(input) }),
    approve: (authorizeUrl, userId) => approve(authorizeUrl, userId),
    pins: (userId) => [...pins.values()].filter((p) => p.userId === userId && !p.deleted),
    media: (userId) =>
      [...media.values()]
        .filter((x) => x.userId === userId)
        .map((x) => ({ mediaId: x.id, bytes: x.bytes, status: mediaStatus(x) })),
    failNext: (userId, fault) => faults.push(userId, fault),
    expireAccessTokens: (userId) => book.expireAccess(userId),
    close: () => server.close(),
  };
}
