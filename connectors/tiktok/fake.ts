/**
 * A local TikTok for tests: a real HTTP server on 127.0.0.1 speaking the documented wire
 * protocol of the Open API v2 — Login Kit OAuth (authorize, `/v2/oauth/token/` with refresh
 * tokens that rotate, revoke), `/v2/user/info/`, `creator_info/query`, direct post and inbox
 * `video/init` with FILE_UPLOAD (chunks of 5-64 MB in order, the last up to 128 MB, 206 then
 * 201) or PULL_FROM_URL, photo posts (`content/init`), `status/fetch` (PROCESSING_UPLOAD /
 * PROCESSING_DOWNLOAD / SEND_TO_USER_INBOX / PUBLISH_COMPLETE / FAILED with `fail_reason`),
 * `video/list` and `video/query`. Errors come as `{error: {code, message, log_id}}` —
 * spam-risk refusals with HTTP 200, as TikTok sends them — and an app not audited may post
 * only SELF_ONLY to private accounts. Uploaded bytes are counted and hashed, never kept.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { approve, FaultQueue, readSmallBody, reply, serve, TokenBook, type Reply } from '../fake-kit.js';

export type TikTokFakeFault =
  | 'rate_limited'
  | 'server_error'
  | 'invalid_content'
  | 'timeout_after_apply'
  /** The next init is refused with `spam_risk_too_many_posts`, HTTP 200. */
  | 'spam_risk_too_many_posts'
  /** The next chunk PUT answers 500 without keeping its bytes. */
  | 'chunk_500'
  /** The next post stays in processing (moderation) until `release`. */
  | 'hold_processing'
  /** The next post fails processing (`frame_rate_check_failed`). */
  | 'fail_processing';

export interface FakeTikTokPost {
  publishId: string;
  openId: string;
  kind: 'video' | 'photo';
  mode: 'direct' | 'inbox';
  source: 'FILE_UPLOAD' | 'PULL_FROM_URL';
  title: string;
  privacyLevel: string | null;
  postInfo: Record<string, unknown>;
  size: number;
  received: number;
  sha256: string | null;
  chunkSize: number;
  count: number;
  nextChunk: number;
  status: 'PROCESSING_UPLOAD' | 'PROCESSING_DOWNLOAD' | 'SEND_TO_USER_INBOX' | 'PUBLISH_COMPLETE' | 'FAILED';
  failReason: string | null;
  videoId: string | null;
  createdAt: number;
  held: boolean;
  failOnComplete: boolean;
  urls: string[];
  stats: { like_count: number; comment_count: number; share_count: number; view_count: number };
}

interface FakeUser {
  openId: string;
  username: string;
  private: boolean;
  maxDurationSec: number;
}

export interface TikTokFakeOptions {
  redirectUris?: string[];
  /** Access token lifetime (`expires_in`). Default 86400 s, as TikTok documents. */
  tokenTtlSeconds?: number;
  /** The app passed the content-posting audit. Default false: SELF_ONLY to private accounts only. */
  audited?: boolean;
  /** Wait before answering each chunk PUT (to land a SIGKILL mid-upload). Default 0. */
  chunkDelayMs?: number;
}

export interface TikTokFake {
  readonly url: string;
  readonly clientKey: string;
  readonly clientSecret: string;
  createAccount(input?: { username?: string; private?: boolean; maxDurationSec?: number }): {
    openId: string;
    username: string;
    accessToken: string;
    refreshToken: string;
  };
  createUser(input?: { username?: string; private?: boolean }): { openId: string };
  approve(authorizeUrl: string, openId: string): Promise<string>;
  /** Posts whose upload finished (every chunk in) or that were pulled, failed ones included. */
  posts(openId: string): FakeTikTokPost[];
  /** Every init, finished or not. */
  inits(openId: string): FakeTikTokPost[];
  failNext(openId: string, fault: TikTokFakeFault): void;
  /** A held post finishes moderation now. */
  release(publishId: string): void;
  expireAccessTokens(openId: string): void;
  setChunkDelay(ms: number): void;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
const logId = () => `2026${randomBytes(12).toString('hex').toUpperCase()}`;
const ok = (data: unknown, status = 200): Reply =>
  reply(status, { data, error: { code: 'ok', message: '', log_id: logId() } });
const fail = (status: number, code: string, message: string): Reply =>
  reply(status, { data: {}, error: { code, message, log_id: logId() } });

export async function startTikTokFake(options: TikTokFakeOptions = {}): Promise<TikTokFake> {
  const clientKey = `aw${randomBytes(8).toString('hex')}`;
  const clientSecret = randomBytes(16).toString('hex');
  const redirectUris = options.redirectUris ?? [];
  const audited = options.audited ?? false;
  const book = new TokenBook(options.tokenTtlSeconds ?? 86_400, 365 * 86_400, true);
  let chunkDelayMs = options.chunkDelayMs ?? 0;
  const users = new Map<string, FakeUser>();
  const posts = new Map<string, FakeTikTokPost>();
  const hashes = new Map<string, Hash>();
  const codes = new Map<string, { openId: string; challenge: string; redirectUri: string }>();
  const faults = new FaultQueue<TikTokFakeFault>();
  let base = '';
  let nextVideoId = 7_300_000_000_000_000_000n;

  const newUser = (input: { username?: string; private?: boolean; maxDurationSec?: number } = {}) => {
    const openId = `-000${randomBytes(10).toString('hex')}`;
    users.set(openId, {
      openId,
      username: input.username ?? `creator${randomBytes(3).toString('hex')}`,
      private: input.private ?? false,
      maxDurationSec: input.maxDurationSec ?? 600,
    });
    return openId;
  };
  const privacyOptions = (u: FakeUser) =>
    u.private
      ? ['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']
      : ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'];

  /** Every byte is in (or it was pulled): moderation, then done, unless held or failing. */
  function settle(p: FakeTikTokPost) {
    if (p.held) return;
    if (p.failOnComplete) {
      p.status = 'FAILED';
      p.failReason = 'frame_rate_check_failed';
      return;
    }
    if (p.mode === 'inbox') {
      p.status = 'SEND_TO_USER_INBOX';
      return;
    }
    p.status = 'PUBLISH_COMPLETE';
    if (p.privacyLevel === 'PUBLIC_TO_EVERYONE') p.videoId = String(nextVideoId++);
  }

  function init(
    openId: string,
    body: Record<string, unknown>,
    mode: 'direct' | 'inbox',
    kind: 'video' | 'photo',
  ): Reply {
    const u = users.get(openId)!;
    const fault = faults.take(openId, ['rate_limited', 'server_error', 'invalid_content', 'spam_risk_too_many_posts']);
    if (fault === 'rate_limited')
      return fail(429, 'rate_limit_exceeded', 'The API rate limit was exceeded. Please try again later.');
    if (fault === 'server_error') return fail(500, 'internal_error', 'Something went wrong. Please try again later.');
    if (fault === 'invalid_content') return fail(200, 'spam_risk_text', 'The text of the post was detected as spam.');
    if (fault === 'spam_risk_too_many_posts')
      return fail(200, 'spam_risk_too_many_posts', 'The daily post cap from the API is reached for the current user.');
    const info = (body.post_info ?? {}) as Record<string, unknown>;
    const source = (body.source_info ?? {}) as Record<string, unknown>;
    const privacy = mode === 'direct' ? String(info.privacy_level ?? '') : null;
    if (privacy !== null) {
      if (!audited && (privacy !== 'SELF_ONLY' || !u.private))
        return fail(
          403,
          'unaudited_client_can_only_post_to_private_accounts',
          'Please review our integration guidelines at https://developers.tiktok.com/doc/content-sharing-guidelines',
        );
      if (!privacyOptions(u).includes(privacy))
        return fail(
          400,
          'privacy_level_option_mismatch',
          'privacy_level is not one of the privacy_level_options from creator_info.',
        );
    }
    const publishId = `v_pub_${source.source === 'PULL_FROM_URL' ? 'url' : 'file'}~v2-1.${randomBytes(9).toString('hex')}`;
    const p: FakeTikTokPost = {
      publishId,
      openId,
      kind,
      mode,
      source: source.source === 'PULL_FROM_URL' ? 'PULL_FROM_URL' : 'FILE_UPLOAD',
      title: String(kind === 'photo' ? (info.description ?? '') : (info.title ?? '')),
      privacyLevel: privacy,
      postInfo: info,
      size: 0,
      received: 0,
      sha256: null,
      chunkSize: 0,
      count: 0,
      nextChunk: 0,
      status: 'PROCESSING_UPLOAD',
      failReason: null,
      videoId: null,
      createdAt: book.now(),
      held: !!faults.take(openId, ['hold_processing']),
      failOnComplete: !!faults.take(openId, ['fail_processing']),
      urls: [],
      stats: { like_count: 3, comment_count: 1, share_count: 0, view_count: 120 },
    };
    if (p.source === 'PULL_FROM_URL') {
      p.urls = kind === 'photo' ? ((source.photo_images ?? []) as string[]) : [String(source.video_url ?? '')];
      if (p.urls.some((x) => !/^https?:\/\//.test(x))) return fail(400, 'invalid_params', 'video_url is not a URL.');
      p.status = 'PROCESSING_DOWNLOAD';
      posts.set(publishId, p);
      settle(p);
      return ok({ publish_id: publishId });
    }
    const size = Number(source.video_size);
    const chunk = Number(source.chunk_size);
    const count = Number(source.total_chunk_count);
    const rules =
      Number.isSafeInteger(size) &&
      size > 0 &&
      Number.isSafeInteger(chunk) &&
      count >= 1 &&
      count <= 1000 &&
      count === Math.max(1, Math.floor(size / chunk)) &&
      (size < 5 * MB ? chunk === size : chunk >= 5 * MB && chunk <= 64 * MB) &&
      size - (count - 1) * chunk <= 128 * MB;
    if (!rules)
      return fail(
        400,
        'invalid_params',
        'The chunk_size, total_chunk_count and video_size do not follow the media transfer rules.',
      );
    Object.assign(p, { size, chunkSize: chunk, count });
    posts.set(publishId, p);
    hashes.set(publishId, createHash('sha256'));
    return ok({
      publish_id: publishId,
      upload_url: `${base}/upload/?upload_id=${publishId}&upload_token=${randomBytes(8).toString('hex')}`,
    });
  }

  async function chunkPut(req: IncomingMessage, p: FakeTikTokPost): Promise<Reply> {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    const i = p.nextChunk;
    const start = i * p.chunkSize;
    const last = i === p.count - 1;
    const end = last ? p.size - 1 : start + p.chunkSize - 1;
    if (!m || Number(m[1]) !== start || Number(m[2]) !== end || Number(m[3]) !== p.size) {
      req.resume();
      // Chunks must come in order, exactly as the plan cut them.
      return fail(400, 'invalid_params', `Expected Content-Range bytes ${start}-${end}/${p.size}.`);
    }
    if (faults.take(p.openId, ['chunk_500'])) {
      req.resume();
      return fail(500, 'internal_error', 'Something went wrong. Please try again later.');
    }
    // Hashed as it streams in, into a copy kept only if the chunk is whole.
    const hash = hashes.get(p.publishId)!.copy();
    let got = 0;
    for await (const piece of req as AsyncIterable<Buffer>) {
      got += piece.length;
      hash.update(piece);
    }
    if (got !== end - start + 1) return fail(400, 'invalid_params', 'The chunk is not as long as its Content-Range.');
    hashes.set(p.publishId, hash);
    p.received += got;
    p.nextChunk++;
    if (chunkDelayMs) await new Promise((r) => setTimeout(r, chunkDelayMs));
    if (!last) return reply(206);
    p.sha256 = hash.digest('hex');
    settle(p);
    if (faults.take(p.openId, ['timeout_after_apply'])) return 'hang';
    return reply(201);
  }

  /** int64 ids written as JSON numbers, digit for digit, as TikTok sends them. */
  const statusOf = (p: FakeTikTokPost) =>
    JSON.stringify({
      data: {
        status: p.status,
        ...(p.failReason ? { fail_reason: p.failReason } : {}),
        publicaly_available_post_id: p.videoId ? ['@@ID@@'] : [],
        uploaded_bytes: p.received,
      },
      error: { code: 'ok', message: '', log_id: logId() },
    }).replace('"@@ID@@"', p.videoId ?? '');

  const server = await serve(async (req, url) => {
    const path = url.pathname;
    const q = (k: string) => url.searchParams.get(k);
    if (req.method === 'GET' && path === '/v2/auth/authorize/') {
      const redirectUri = q('redirect_uri') ?? '';
      if (q('client_key') !== clientKey || !redirectUris.includes(redirectUri))
        return reply(400, 'redirect_uri or client_key is invalid');
      const openId = String(req.headers['x-fake-account'] ?? '');
      const back = new URL(redirectUri);
      back.searchParams.set('state', q('state') ?? '');
      if (!users.has(openId)) back.searchParams.set('error', 'access_denied');
      else {
        const code = randomBytes(20).toString('base64url');
        codes.set(code, { openId, challenge: q('code_challenge') ?? '', redirectUri });
        back.searchParams.set('code', code);
        back.searchParams.set('scopes', q('scope') ?? '');
      }
      return reply(302, undefined, { location: back.toString() });
    }
    if (req.method === 'POST' && path === '/v2/oauth/token/') {
      const { form } = await readSmallBody(req);
      if (form.get('client_key') !== clientKey || form.get('client_secret') !== clientSecret)
        return reply(200, {
          error: 'invalid_client',
          error_description: 'Client key or secret is incorrect.',
          log_id: logId(),
        });
      const grant = form.get('grant_type');
      let t;
      if (grant === 'authorization_code') {
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (
          !c ||
          c.redirectUri !== form.get('redirect_uri') ||
          createHash('sha256').update(verifier).digest('hex') !== c.challenge
        )
          return reply(200, {
            error: 'invalid_grant',
            error_description: 'Authorization code is expired.',
            log_id: logId(),
          });
        t = book.issue(c.openId);
      } else if (grant === 'refresh_token') {
        t = book.refresh(form.get('refresh_token') ?? '');
        if (!t)
          return reply(200, {
            error: 'invalid_grant',
            error_description: 'Refresh token is invalid or expired.',
            log_id: logId(),
          });
      } else return reply(200, { error: 'unsupported_grant_type', error_description: '', log_id: logId() });
      return reply(200, {
        access_token: t.accessToken,
        expires_in: book.ttlSeconds,
        open_id: t.userId,
        refresh_expires_in: book.refreshTtlSeconds,
        refresh_token: t.refreshToken,
        scope: 'user.info.basic,user.info.profile,user.info.stats,video.publish,video.upload,video.list',
        token_type: 'Bearer',
      });
    }
    if (req.method === 'POST' && path === '/v2/oauth/revoke/') {
      await readSmallBody(req);
      return reply(200, {});
    }
    if (req.method === 'PUT' && path === '/upload/') {
      const p = posts.get(q('upload_id') ?? '');
      if (!p || p.source !== 'FILE_UPLOAD' || p.nextChunk >= p.count) {
        req.resume();
        return fail(404, 'invalid_params', 'The upload URL is not valid.');
      }
      return chunkPut(req, p);
    }
    const openId = book.bearer(req);
    if (!openId) {
      req.resume();
      return fail(401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    }
    const u = users.get(openId)!;
    if (req.method === 'GET' && path === '/v2/user/info/') {
      const mine = [...posts.values()].filter((p) => p.openId === openId && p.videoId);
      return ok({
        user: {
          open_id: openId,
          username: u.username,
          display_name: u.username.toUpperCase(),
          avatar_url: `${base}/avatar/${openId}.jpeg`,
          follower_count: 1000,
          following_count: 10,
          video_count: mine.length,
        },
      });
    }
    const { json } = await readSmallBody(req);
    switch (path) {
      case '/v2/post/publish/creator_info/query/':
        return ok({
          creator_avatar_url: `${base}/avatar/${openId}.jpeg`,
          creator_username: u.username,
          creator_nickname: u.username.toUpperCase(),
          privacy_level_options: privacyOptions(u),
          comment_disabled: false,
          duet_disabled: u.private,
          stitch_disabled: u.private,
          max_video_post_duration_sec: u.maxDurationSec,
        });
      case '/v2/post/publish/video/init/':
        return init(openId, json, 'direct', 'video');
      case '/v2/post/publish/inbox/video/init/':
        return init(openId, json, 'inbox', 'video');
      case '/v2/post/publish/content/init/':
        return init(openId, json, json.post_mode === 'MEDIA_UPLOAD' ? 'inbox' : 'direct', 'photo');
      case '/v2/post/publish/status/fetch/': {
        const p = posts.get(String(json.publish_id ?? ''));
        if (!p || p.openId !== openId) return fail(400, 'invalid_params', 'publish_id does not exist.');
        return reply(200, statusOf(p), { 'content-type': 'application/json; charset=UTF-8' });
      }
      case '/v2/video/list/': {
        const list = [...posts.values()]
          .filter((p) => p.openId === openId && p.videoId)
          .sort((a, b) => b.createdAt - a.createdAt)
          .map((p) => ({
            id: p.videoId,
            title: p.title,
            video_description: p.title,
            create_time: Math.floor(p.createdAt / 1000),
          }));
        return ok({ videos: list.slice(0, Number(json.max_count ?? 10)), cursor: 0, has_more: false });
      }
      case '/v2/video/query/': {
        const ids = (((json.filters ?? {}) as { video_ids?: string[] }).video_ids ?? []).map(String);
        const found = [...posts.values()].filter((p) => p.openId === openId && p.videoId && ids.includes(p.videoId));
        return ok({ videos: found.map((p) => ({ id: p.videoId, ...p.stats })) });
      }
    }
    return fail(404, 'invalid_params', `No route ${req.method} ${path}`);
  });
  base = server.url;

  const finished = (p: FakeTikTokPost) => p.source === 'PULL_FROM_URL' || p.received === p.size;
  return {
    url: server.url,
    clientKey,
    clientSecret,
    createAccount(input = {}) {
      const openId = newUser(input);
      const t = book.issue(openId);
      return {
        openId,
        username: users.get(openId)!.username,
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
      };
    },
    createUser: (input = {}) => ({ openId: newUser(input) }),
    approve: (authorizeUrl, openId) => approve(authorizeUrl, openId),
    posts: (openId) => [...posts.values()].filter((p) => p.openId === openId && finished(p)),
    inits: (openId) => [...posts.values()].filter((p) => p.openId === openId),
    failNext: (openId, fault) => faults.push(openId, fault),
    release(publishId) {
      const p = posts.get(publishId);
      if (!p) throw new Error(`fake TikTok: no post ${publishId}`);
      p.held = false;
      if (finished(p)) settle(p);
    },
    expireAccessTokens: (openId) => book.expireAccess(openId),
    setChunkDelay(ms) {
      chunkDelayMs = ms;
    },
    close: () => server.close(),
  };
}
