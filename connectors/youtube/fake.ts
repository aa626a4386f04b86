/**
 * A local YouTube for tests: a real HTTP server on 127.0.0.1 speaking the documented wire
 * protocol of the Data API v3 and Google OAuth 2.0 — resumable uploads (session URI in
 * `Location`, chunk PUTs with `Content-Range`, `308 Resume Incomplete` with `Range`, the empty
 * PUT with `bytes * /N` to ask how much arrived, 404 for an expired session), videos
 * (list, delete), channels and the uploads playlist, thumbnails, Google's error bodies
 * (`quotaExceeded`, `authError`, `backendError`), 401 for expired tokens, `invalid_grant`.
 * Uploaded bytes are counted and hashed, never kept, so a 200 MB upload costs no memory here.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { approve, FaultQueue, readSmallBody, reply, serve, TokenBook, type Reply } from '../fake-kit.js';

export type YouTubeFakeFault =
  | 'rate_limited'
  | 'server_error'
  | 'invalid_content'
  | 'timeout_after_apply'
  | 'quota_exceeded'
  /** The next chunk PUT answers 503 without keeping its bytes. */
  | 'chunk_503'
  /** The next final chunk is applied (the video exists) and the connection cut before the answer. */
  | 'drop_after_last_chunk';

export interface FakeVideo {
  id: string;
  channelId: string;
  title: string;
  description: string;
  privacyStatus: string;
  publishAt: string | null;
  tags: string[];
  sizeBytes: number;
  sha256: string;
  thumbnail: boolean;
  publishedAt: string;
  deleted: boolean;
  stats: { viewCount: number; likeCount: number; commentCount: number };
}

interface Session {
  id: string;
  channelId: string;
  size: number;
  mimeType: string;
  received: number;
  hash: Hash;
  resource: { snippet?: Record<string, unknown>; status?: Record<string, unknown> };
  expiresAt: number;
  videoId: string | null;
}

export interface YouTubeFakeOptions {
  redirectUris?: string[];
  /** Access token lifetime. Default 3599 s, as Google's. */
  tokenTtlSeconds?: number;
  /** How long an upload session lives. Default one week, as Google's. */
  sessionTtlMs?: number;
  /** Wait before answering each chunk PUT (to land a SIGKILL mid-upload). Default 0. */
  chunkDelayMs?: number;
}

export interface YouTubeFake {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  createChannel(title?: string): { channelId: string; accessToken: string; refreshToken: string };
  /** A Google user with a channel who has not authorized Herald yet. */
  createUser(title?: string): { channelId: string };
  approve(authorizeUrl: string, channelId: string): Promise<string>;
  videos(channelId: string): FakeVideo[];
  /** Upload sessions opened for the channel, and how many bytes each holds. */
  sessions(channelId: string): Array<{ received: number; size: number; done: boolean }>;
  /** Chunk PUTs answered so far (all channels). */
  chunkPuts(): number;
  failNext(channelId: string, fault: YouTubeFakeFault): void;
  /** The channel's data chunk PUT after the next `okChunks` ones answers 503 (its bytes not kept). */
  failChunkAfter(channelId: string, okChunks: number): void;
  expireAccessTokens(channelId: string): void;
  /** Refresh tokens stop working (`invalid_grant`), as Google's for apps in testing after 7 days. */
  revokeRefreshTokens(channelId: string): void;
  expireSessions(channelId: string): void;
  setChunkDelay(ms: number): void;
  close(): Promise<void>;
}

const googleError = (code: number, reason: string, message: string, status: string): Reply =>
  reply(code, { error: { code, message, errors: [{ message, domain: 'youtube', reason }], status } });

export async function startYouTubeFake(options: YouTubeFakeOptions = {}): Promise<YouTubeFake> {
  const clientId = `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`;
  const clientSecret = `GOCSPX-${randomBytes(12).toString('base64url')}`;
  const redirectUris = options.redirectUris ?? [];
  const book = new TokenBook(options.tokenTtlSeconds ?? 3599, 3600 * 24 * 365, false);
  const sessionTtl = options.sessionTtlMs ?? 7 * 24 * 3600 * 1000;
  let chunkDelayMs = options.chunkDelayMs ?? 0;
  const channels = new Map<string, { id: string; title: string }>();
  const videos = new Map<string, FakeVideo>();
  const sessions = new Map<string, Session>();
  const codes = new Map<string, { channelId: string; challenge: string; redirectUri: string }>();
  const faults = new FaultQueue<YouTubeFakeFault>();
  const chunkFailures = new Map<string, number>();
  let puts = 0;
  let base = '';

  const newChannel = (title?: string) => {
    const id = `UC${randomBytes(11).toString('base64url')}`;
    channels.set(id, { id, title: title ?? `Channel ${id.slice(2, 8)}` });
    return id;
  };
  const unauthorized = () =>
    googleError(401, 'authError', 'Request had invalid authentication credentials.', 'UNAUTHENTICATED');
  const videoJson = (v: FakeVideo, parts: string) => ({
    kind: 'youtube#video',
    id: v.id,
    ...(parts.includes('snippet')
      ? {
          snippet: {
            title: v.title,
            description: v.description,
            channelId: v.channelId,
            publishedAt: v.publishedAt,
            tags: v.tags,
          },
        }
      : {}),
    ...(parts.includes('status')
      ? {
          status: {
            uploadStatus: 'processed',
            privacyStatus: v.privacyStatus,
            ...(v.publishAt ? { publishAt: v.publishAt } : {}),
          },
        }
      : {}),
    ...(parts.includes('statistics')
      ? {
          statistics: {
            viewCount: String(v.stats.viewCount),
            likeCount: String(v.stats.likeCount),
            commentCount: String(v.stats.commentCount),
          },
        }
      : {}),
  });

  function finish(s: Session): FakeVideo {
    const snippet = s.resource.snippet ?? {};
    const status = s.resource.status ?? {};
    const v: FakeVideo = {
      id: randomBytes(8).toString('base64url').slice(0, 11),
      channelId: s.channelId,
      title: String(snippet.title ?? ''),
      description: String(snippet.description ?? ''),
      privacyStatus: String(status.privacyStatus ?? 'public'),
      publishAt: typeof status.publishAt === 'string' ? status.publishAt : null,
      tags: Array.isArray(snippet.tags) ? (snippet.tags as string[]) : [],
      sizeBytes: s.size,
      sha256: s.hash.digest('hex'),
      thumbnail: false,
      publishedAt: new Date(book.now()).toISOString(),
      deleted: false,
      stats: { viewCount: 0, likeCount: 0, commentCount: 0 },
    };
    videos.set(v.id, v);
    s.videoId = v.id;
    return v;
  }

  /** 308 with what the session holds (no Range header when it holds nothing). */
  const incomplete = (s: Session): Reply =>
    reply(308, undefined, s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {});

  async function chunkPut(req: IncomingMessage, s: Session, channelId: string): Promise<Reply> {
    puts++;
    const range = req.headers['content-range'] ?? '';
    const status = /^bytes \*\/(\d+)$/.exec(range);
    if (status) {
      req.resume();
      if (s.expiresAt <= book.now()) return reply(404, 'Not Found');
      if (s.videoId) return reply(200, videoJson(videos.get(s.videoId)!, 'snippet,status'));
      return incomplete(s);
    }
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
    if (!m || Number(m[3]) !== s.size) {
      req.resume();
      return googleError(
        400,
        'badContent',
        'Content-Range is missing or does not match the upload.',
        'INVALID_ARGUMENT',
      );
    }
    if (s.expiresAt <= book.now()) {
      req.resume();
      return reply(404, 'Not Found');
    }
    const [start, end] = [Number(m[1]), Number(m[2])];
    const last = end === s.size - 1;
    const unit = 256 * 1024;
    if (!last && (end - start + 1) % unit !== 0) {
      req.resume();
      return googleError(
        400,
        'badContent',
        'Chunks other than the last must be multiples of 256 KiB.',
        'INVALID_ARGUMENT',
      );
    }
    const countdown = chunkFailures.get(channelId);
    if (countdown !== undefined) {
      if (countdown === 0) chunkFailures.delete(channelId);
      else chunkFailures.set(channelId, countdown - 1);
    }
    if (faults.take(channelId, ['chunk_503']) || countdown === 0) {
      req.resume();
      return googleError(503, 'backendError', 'Backend Error', 'UNAVAILABLE');
    }
    if (start > s.received) {
      req.resume();
      return incomplete(s);
    }
    // Bytes it already holds are skipped; the rest are hashed as they stream in.
    let at = start;
    for await (const piece of req as AsyncIterable<Buffer>) {
      const skip = Math.max(0, s.received - at);
      if (skip < piece.length) {
        s.hash.update(skip ? piece.subarray(skip) : piece);
        s.received += piece.length - skip;
      }
      at += piece.length;
    }
    if (chunkDelayMs) await new Promise((r) => setTimeout(r, chunkDelayMs));
    if (s.received < s.size) return incomplete(s);
    const v = s.videoId ? videos.get(s.videoId)! : finish(s);
    const fault = faults.take(channelId, ['timeout_after_apply', 'drop_after_last_chunk']);
    if (fault === 'timeout_after_apply') return 'hang';
    if (fault === 'drop_after_last_chunk') return 'drop';
    return reply(201, videoJson(v, 'snippet,status'));
  }

  const server = await serve(async (req, url) => {
    const path = url.pathname;
    const q = (k: string) => url.searchParams.get(k);
    // Google OAuth 2.0.
    if (req.method === 'GET' && path === '/o/oauth2/v2/auth') {
      const redirectUri = q('redirect_uri') ?? '';
      if (q('client_id') !== clientId || !redirectUris.includes(redirectUri))
        return reply(400, 'Error 400: redirect_uri_mismatch');
      const channelId = String(req.headers['x-fake-account'] ?? '');
      const back = new URL(redirectUri);
      back.searchParams.set('state', q('state') ?? '');
      if (!channels.has(channelId)) back.searchParams.set('error', 'access_denied');
      else {
        const code = `4/${randomBytes(16).toString('base64url')}`;
        codes.set(code, { channelId, challenge: q('code_challenge') ?? '', redirectUri });
        back.searchParams.set('code', code);
        back.searchParams.set('scope', q('scope') ?? '');
      }
      return reply(302, undefined, { location: back.toString() });
    }
    if (req.method === 'POST' && path === '/token') {
      const { form } = await readSmallBody(req);
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret)
        return reply(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
      const grant = form.get('grant_type');
      if (grant === 'authorization_code') {
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (
          !c ||
          c.redirectUri !== form.get('redirect_uri') ||
          createHash('sha256').update(verifier).digest('base64url') !== c.challenge
        )
          return reply(400, { error: 'invalid_grant', error_description: 'Bad Request' });
        const t = book.issue(c.channelId);
        return reply(200, {
          access_token: t.accessToken,
          expires_in: book.ttlSeconds,
          refresh_token: t.refreshToken,
          scope: 'https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.force-ssl',
          token_type: 'Bearer',
        });
      }
      if (grant === 'refresh_token') {
        const t = book.refresh(form.get('refresh_token') ?? '');
        if (!t) return reply(400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
        return reply(200, { access_token: t.accessToken, expires_in: book.ttlSeconds, token_type: 'Bearer' });
      }
      return reply(400, { error: 'unsupported_grant_type' });
    }
    if (req.method === 'POST' && path === '/revoke') {
      await readSmallBody(req);
      return reply(200, {});
    }

    // Upload sessions: the session URI is a capability of its own, as Google's (no bearer needed).
    if (path === '/upload/youtube/v3/videos' && req.method === 'PUT') {
      const s = sessions.get(q('upload_id') ?? '');
      if (!s) {
        req.resume();
        return reply(404, 'Not Found');
      }
      return chunkPut(req, s, s.channelId);
    }

    const channelId = book.bearer(req);
    if (!channelId) {
      req.resume();
      return unauthorized();
    }
    if (req.method === 'POST' && path === '/upload/youtube/v3/videos') {
      const { json } = await readSmallBody(req);
      const fault = faults.take(channelId, ['rate_limited', 'server_error', 'invalid_content', 'quota_exceeded']);
      if (fault === 'rate_limited')
        return googleError(
          429,
          'rateLimitExceeded',
          'The request cannot be completed because you have exceeded your quota.',
          'RESOURCE_EXHAUSTED',
        );
      if (fault === 'quota_exceeded')
        return googleError(
          403,
          'quotaExceeded',
          'The request cannot be completed because you have exceeded your quota.',
          'PERMISSION_DENIED',
        );
      if (fault === 'server_error') return googleError(503, 'backendError', 'Backend Error', 'UNAVAILABLE');
      const snippet = (json.snippet ?? {}) as Record<string, unknown>;
      const title = String(snippet.title ?? '');
      if (fault === 'invalid_content' || !title || title.length > 100 || /[<>]/.test(title))
        return googleError(
          400,
          'invalidTitle',
          'The request metadata specifies an invalid or empty video title.',
          'INVALID_ARGUMENT',
        );
      const size = Number(req.headers['x-upload-content-length']);
      if (q('uploadType') !== 'resumable' || !Number.isSafeInteger(size) || size <= 0)
        return googleError(400, 'badRequest', 'X-Upload-Content-Length is required.', 'INVALID_ARGUMENT');
      const id = randomBytes(24).toString('base64url');
      sessions.set(id, {
        id,
        channelId,
        size,
        mimeType: String(req.headers['x-upload-content-type'] ?? 'application/octet-stream'),
        received: 0,
        hash: createHash('sha256'),
        resource: json as Session['resource'],
        expiresAt: book.now() + sessionTtl,
        videoId: null,
      });
      return reply(200, undefined, {
        location: `${base}/upload/youtube/v3/videos?uploadType=resumable&upload_id=${id}`,
      });
    }
    if (req.method === 'POST' && path === '/upload/youtube/v3/thumbnails/set') {
      const { raw } = await readSmallBody(req, 3 << 20);
      const v = videos.get(q('videoId') ?? '');
      if (!v || v.deleted || v.channelId !== channelId)
        return googleError(404, 'videoNotFound', 'Video not found.', 'NOT_FOUND');
      if (raw.length > 2 * 1024 * 1024)
        return googleError(400, 'mediaBodyRequired', 'The thumbnail is too large.', 'INVALID_ARGUMENT');
      v.thumbnail = true;
      return reply(200, {
        kind: 'youtube#thumbnailSetResponse',
        items: [{ default: { url: `${base}/vi/${v.id}/default.jpg` } }],
      });
    }
    if (req.method === 'GET' && path === '/youtube/v3/videos') {
      const ids = (q('id') ?? '').split(',');
      const items = ids
        .map((id) => videos.get(id))
        .filter((v): v is FakeVideo => !!v && !v.deleted)
        .map((v) => videoJson(v, q('part') ?? ''));
      return reply(200, { kind: 'youtube#videoListResponse', items, pageInfo: { totalResults: items.length } });
    }
    if (req.method === 'DELETE' && path === '/youtube/v3/videos') {
      const v = videos.get(q('id') ?? '');
      if (!v || v.deleted || v.channelId !== channelId)
        return googleError(404, 'videoNotFound', 'Video not found.', 'NOT_FOUND');
      v.deleted = true;
      return reply(204);
    }
    if (req.method === 'GET' && path === '/youtube/v3/channels' && q('mine') === 'true') {
      const ch = channels.get(channelId)!;
      const mine = [...videos.values()].filter((v) => v.channelId === channelId && !v.deleted);
      return reply(200, {
        items: [
          {
            id: ch.id,
            snippet: { title: ch.title, customUrl: `@${ch.title.toLowerCase().replace(/\W+/g, '')}` },
            contentDetails: { relatedPlaylists: { uploads: `UU${ch.id.slice(2)}` } },
            statistics: { subscriberCount: '42', videoCount: String(mine.length), hiddenSubscriberCount: false },
          },
        ],
      });
    }
    if (req.method === 'GET' && path === '/youtube/v3/playlistItems') {
      const owner = `UC${(q('playlistId') ?? '').slice(2)}`;
      const items = [...videos.values()]
        .filter((v) => v.channelId === owner && !v.deleted)
        .reverse()
        .slice(0, Number(q('maxResults') ?? 5))
        .map((v) => ({
          snippet: {
            title: v.title,
            description: v.description,
            publishedAt: v.publishedAt,
            resourceId: { kind: 'youtube#video', videoId: v.id },
          },
        }));
      return reply(200, { items });
    }
    req.resume();
    return googleError(404, 'notFound', `No route ${req.method} ${path}`, 'NOT_FOUND');
  });
  base = server.url;

  return {
    url: server.url,
    clientId,
    clientSecret,
    createChannel(title) {
      const id = newChannel(title);
      const t = book.issue(id);
      return { channelId: id, accessToken: t.accessToken, refreshToken: t.refreshToken };
    },
    createUser: (title) => ({ channelId: newChannel(title) }),
    approve: (authorizeUrl, channelId) => approve(authorizeUrl, channelId),
    videos: (channelId) => [...videos.values()].filter((v) => v.channelId === channelId && !v.deleted),
    sessions: (channelId) =>
      [...sessions.values()]
        .filter((s) => s.channelId === channelId)
        .map((s) => ({ received: s.received, size: s.size, done: !!s.videoId })),
    chunkPuts: () => puts,
    failNext: (channelId, fault) => faults.push(channelId, fault),
    failChunkAfter: (channelId, okChunks) => chunkFailures.set(channelId, okChunks),
    expireAccessTokens: (channelId) => book.expireAccess(channelId),
    revokeRefreshTokens(channelId) {
      for (const t of book.byRefresh.values()) if (t.userId === channelId) t.refreshExpiresAt = 0;
    },
    expireSessions(channelId) {
      for (const s of sessions.values()) if (s.channelId === channelId) s.expiresAt = 0;
    },
    setChunkDelay(ms) {
      chunkDelayMs = ms;
    },
    close: () => server.close(),
  };
}
