/**
 * A local Instagram (tests only), written from Meta's documentation of the Instagram Platform
 * (content publishing, IG Container, IG User media / media_publish / content_publishing_limit,
 * IG Media insights, error codes, Business Login for Instagram tokens):
 * - containers are created by `POST /{ig-user-id}/media`; the fake downloads `image_url` at
 *   once (refusing a failed download with 9004/2207052) and `video_url` in the background,
 *   and a container is IN_PROGRESS for `processingMs`, then FINISHED (or ERROR when its video
 *   could not be fetched), EXPIRED 24 h after creation, PUBLISHED once published;
 * - `media_publish` refuses a container that is not FINISHED (9007/2207027), one already
 *   published, and posts past the rolling quota (9/2207042);
 * - tokens: short-lived from the code, 60-day from `ig_exchange_token`, refreshed by
 *   `ig_refresh_token` only when at least 24 h old and not expired (190/463 once expired);
 * - faults for the next write: throttling (80002 with `X-Business-Use-Case-Usage`), 5xx, a
 *   refusal, and a publish applied whose answer is an error, a 5xx or never comes.
 */
import {
  authorizeDialog,
  crawl,
  VIDEO_CRAWL_MS,
  expiredToken,
  graphError,
  invalidToken,
  newToken,
  nextId,
  noSuchObject,
  ok,
  serverError,
  startFakeHttp,
  throttled,
  type FakeRequest,
  type Reply,
} from '../meta/fake-server.js';
import { approve } from '../fake-kit.js';

export type InstagramFault =
  | 'rate_limited'
  | 'server_error'
  | 'invalid_content'
  | 'timeout_after_apply'
  /** The publish goes live; the answer is Meta's "Instagram server error" (-1/2207001). */
  | 'error_after_apply'
  /** The publish goes live; the answer is a 500. */
  | 'server_error_after_apply';

interface Account {
  userId: string;
  username: string;
  quota: number;
  followers: number;
}

interface Token {
  userId: string;
  issuedAt: number;
  expiresAt: number;
  longLived: boolean;
  expired: boolean;
}

interface Container {
  id: string;
  owner: string;
  createdAt: number;
  readyAt: number;
  state: 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'PUBLISHED';
  error?: string;
  /** Meta is still fetching the video: the container stays IN_PROGRESS until it has it all. */
  downloading?: boolean;
  /** Bytes of the video Meta fetched. */
  videoBytes?: number;
  mediaType: 'IMAGE' | 'VIDEO' | 'REELS' | 'STORIES' | 'CAROUSEL';
  isCarouselItem: boolean;
  video: boolean;
  caption: string;
  altText: string | null;
  children: string[];
  collaborators: string[];
}

export interface InstagramFakePost {
  id: string;
  caption: string;
  mediaType: string;
  productType: string;
  altTexts: string[];
  children: number;
  collaborators: string[];
  timestamp: number;
  containerId: string;
  /** Bytes of the video fetched from Herald's URL (reels, stories, videos), else null. */
  videoBytes: number | null;
}

export interface InstagramFake {
  url: string;
  clientId: string;
  clientSecret: string;
  createAccount(opts?: { username?: string; quota?: number }): {
    userId: string;
    username: string;
    accessToken: string;
  };
  /** The user approves the authorize URL; returns the redirect to Herald with `code` and `state`. */
  approve(authorizeUrl: string, userId: string): Promise<string>;
  posts(userId: string): InstagramFakePost[];
  failNext(userId: string, fault: InstagramFault): void;
  expireTokens(userId: string): void;
  setInsights(mediaId: string, values: Partial<Record<'likes' | 'comments' | 'shares' | 'views', number>>): void;
  /** Moves the fake's clock (containers expire after 24 h; tokens age). */
  advance(ms: number): void;
  counters(): { containersCreated: number; publishCalls: number; statusReads: number };
  close(): Promise<void>;
}

export interface InstagramFakeOptions {
  /** How long a container stays IN_PROGRESS, ms. Default 0 for images, 300 for videos. */
  processingMs?: (mediaType: string) => number;
  redirectUris?: string[];
}

const DAY = 24 * 60 * 60_000;
const CAPTION_MAX = 2200;

export async function startInstagramFake(options: InstagramFakeOptions = {}): Promise<InstagramFake> {
  const clientId = nextId();
  const clientSecret = newToken('igsecret_');
  const processing = options.processingMs ?? ((t) => (t === 'IMAGE' || t === 'CAROUSEL' ? 0 : 300));
  let offset = 0;
  const now = () => Date.now() + offset;
  const accounts = new Map<string, Account>();
  const tokens = new Map<string, Token>();
  const codes = new Map<string, string>();
  const containers = new Map<string, Container>();
  const media = new Map<
    string,
    InstagramFakePost & { owner: string; deleted: boolean; insights: Record<string, number> }
  >();
  const faults = new Map<string, InstagramFault[]>();
  const counters = { containersCreated: 0, publishCalls: 0, statusReads: 0 };

  const issue = (userId: string, longLived: boolean) => {
    const t = newToken(longLived ? 'IGAAL' : 'IGAAS');
    tokens.set(t, {
      userId,
      issuedAt: now(),
      expiresAt: now() + (longLived ? 60 * DAY : 60 * 60_000),
      longLived,
      expired: false,
    });
    return t;
  };
  const authed = (r: FakeRequest): Token | Reply => {
    const t = tokens.get(r.params.get('access_token') ?? '');
    if (!t) return invalidToken();
    if (t.expired || t.expiresAt <= now()) return expiredToken();
    return t;
  };
  const statusOf = (c: Container): string => {
    if (c.state === 'PUBLISHED') return 'PUBLISHED';
    if (now() - c.createdAt > DAY) return 'EXPIRED';
    if (c.downloading) return c.state;
    if (c.state === 'IN_PROGRESS' && now() >= c.readyAt && !c.error) c.state = 'FINISHED';
    if (c.state === 'IN_PROGRESS' && now() >= c.readyAt && c.error) c.state = 'ERROR';
    return c.state;
  };
  const takeFault = (userId: string, which: (f: InstagramFault) => boolean): InstagramFault | undefined => {
    const list = faults.get(userId) ?? [];
    const i = list.findIndex(which);
    return i < 0 ? undefined : list.splice(i, 1)[0];
  };
  const mediaJson = (m: InstagramFakePost) => ({
    id: m.id,
    caption: m.caption,
    media_type: m.mediaType,
    media_product_type: m.productType,
    timestamp: new Date(m.timestamp).toISOString().replace(/\.\d{3}Z$/, '+0000'),
    permalink: `https://www.instagram.com/p/${m.id}/`,
  });

  async function createContainer(r: FakeRequest, userId: string): Promise<Reply> {
    const fault = takeFault(userId, (f) => f === 'rate_limited' || f === 'server_error' || f === 'invalid_content');
    if (fault === 'rate_limited') return throttled(userId);
    if (fault === 'server_error') return serverError();
    if (fault === 'invalid_content') {
      return graphError(400, {
        message:
          'The submitted image with aspect ratio (3:1) cannot be published. Please submit an image with a valid aspect ratio.',
        code: 36003,
        subcode: 2207009,
        userMsg: 'The aspect ratio is not supported.',
      });
    }
    const p = r.params;
    const type = (p.get('media_type') ?? (p.get('image_url') ? 'IMAGE' : '')) as Container['mediaType'];
    const caption = p.get('caption') ?? '';
    if (caption.length > CAPTION_MAX) {
      return graphError(400, {
        message: 'The caption is too long.',
        code: 100,
        subcode: 2207010,
        userMsg: 'The caption is too long.',
      });
    }
    const isItem = p.get('is_carousel_item') === 'true';
    const c: Container = {
      id: nextId(),
      owner: userId,
      createdAt: now(),
      readyAt: now() + processing(type),
      state: 'IN_PROGRESS',
      mediaType: type,
      isCarouselItem: isItem,
      video: !!p.get('video_url'),
      caption,
      altText: p.get('alt_text') ?? null,
      children: [],
      collaborators: p.get('collaborators') ? (JSON.parse(p.get('collaborators')!) as string[]) : [],
    };
    if (type === 'CAROUSEL') {
      const children = (p.get('children') ?? '').split(',').filter(Boolean);
      if (children.length < 2 || children.length > 10) {
        return graphError(400, {
          message: 'The carousel must contain between 2 and 10 items.',
          code: 100,
          subcode: 2207028,
        });
      }
      for (const id of children) {
        const child = containers.get(id);
        if (!child || child.owner !== userId || !child.isCarouselItem || statusOf(child) !== 'FINISHED') {
          return graphError(400, {
            message: `Carousel item ${id} is not a finished carousel item of this account.`,
            code: 100,
            subcode: 2207028,
          });
        }
      }
      c.children = children;
    } else if (type === 'IMAGE' || (type === 'STORIES' && p.get('image_url'))) {
      const got = await crawl(p.get('image_url'));
      if (!got.ok || !got.type.includes('jpeg')) {
        return graphError(400, {
          message: 'Only photo or video can be accepted as media type.',
          code: 9004,
          subcode: 2207052,
          userMsg: got.ok
            ? 'The image format is not supported (JPEG only).'
            : `The media could not be fetched from this URI: ${got.why}`,
        });
      }
    } else if (type === 'VIDEO' || type === 'REELS' || type === 'STORIES') {
      if (type === 'VIDEO' && !isItem) {
        return graphError(400, {
          message: 'The VIDEO media type is not supported for feed posts; use REELS.',
          code: 100,
        });
      }
      // Videos are fetched and processed after the answer (IN_PROGRESS until the whole file is
      // in); a failed fetch ends in ERROR.
      c.downloading = true;
      void crawl(p.get('video_url'), VIDEO_CRAWL_MS).then((got) => {
        c.downloading = false;
        if (!got.ok) c.error = `ERROR: ${got.why} (2207052)`;
        else c.videoBytes = got.size;
      });
    } else {
      return graphError(400, { message: 'The parameter image_url or video_url is required.', code: 100 });
    }
    containers.set(c.id, c);
    counters.containersCreated++;
    return ok({ id: c.id });
  }

  function publish(r: FakeRequest, account: Account): Reply {
    counters.publishCalls++;
    const c = containers.get(r.params.get('creation_id') ?? '');
    if (!c || c.owner !== account.userId || c.isCarouselItem) return noSuchObject(r.params.get('creation_id') ?? '');
    const status = statusOf(c);
    if (status === 'PUBLISHED') {
      return graphError(400, { message: 'The media has already been published.', code: 100, subcode: 2207008 });
    }
    if (status === 'EXPIRED') {
      return graphError(400, {
        message: 'The media you are trying to access has expired. Please try to upload again.',
        code: -2,
        subcode: 2207020,
      });
    }
    if (status === 'ERROR')
      return graphError(400, { message: c.error ?? 'Media upload has failed', code: -1, subcode: 2207053 });
    if (status !== 'FINISHED') {
      return graphError(400, {
        message: 'Media ID is not available',
        code: 9007,
        subcode: 2207027,
        userMsg: 'The media is not ready for publishing, please wait for a moment',
      });
    }
    const recent = [...media.values()].filter((m) => m.owner === account.userId && now() - m.timestamp < DAY).length;
    if (recent >= account.quota) {
      return graphError(400, {
        message: 'Application request limit reached',
        code: 9,
        subcode: 2207042,
        userMsg: 'You reached maximum number of posts that is allowed to be published by Content Publishing API.',
      });
    }
    const fault = takeFault(account.userId, (f) => f.endsWith('after_apply'));
    const items = c.children.map((id) => containers.get(id)!);
    const post = {
      id: nextId(),
      owner: account.userId,
      deleted: false,
      insights: {},
      caption: c.caption,
      mediaType: c.mediaType === 'CAROUSEL' ? 'CAROUSEL_ALBUM' : c.video ? 'VIDEO' : 'IMAGE',
      productType: c.mediaType === 'REELS' ? 'REELS' : c.mediaType === 'STORIES' ? 'STORY' : 'FEED',
      altTexts: (c.mediaType === 'CAROUSEL' ? items.map((i) => i.altText) : [c.altText]).filter(
        (a): a is string => !!a,
      ),
      children: items.length,
      collaborators: c.collaborators,
      timestamp: now(),
      containerId: c.id,
      videoBytes: c.videoBytes ?? null,
    };
    media.set(post.id, post);
    c.state = 'PUBLISHED';
    if (fault === 'timeout_after_apply') return 'hang';
    if (fault === 'server_error_after_apply') return serverError();
    if (fault === 'error_after_apply') {
      return graphError(400, {
        message: 'Instagram server error. Try again.',
        code: -1,
        subcode: 2207001,
        transient: true,
      });
    }
    return ok({ id: post.id });
  }

  const http = await startFakeHttp(async (r) => {
    const { method, path, params } = r;
    // Business Login for Instagram: the code, then the long-lived token, then refreshes.
    if (method === 'POST' && path === '/oauth/access_token') {
      const userId = codes.get(params.get('code') ?? '');
      if (params.get('client_id') !== clientId || params.get('client_secret') !== clientSecret || !userId) {
        return graphError(400, { message: 'Error validating verification code.', code: 100, type: 'OAuthException' });
      }
      codes.delete(params.get('code')!);
      return ok({
        data: [
          {
            access_token: issue(userId, false),
            user_id: userId,
            permissions: 'instagram_business_basic,instagram_business_content_publish',
          },
        ],
      });
    }
    if (method === 'GET' && path === '/access_token') {
      const t = tokens.get(params.get('access_token') ?? '');
      if (
        params.get('grant_type') !== 'ig_exchange_token' ||
        params.get('client_secret') !== clientSecret ||
        !t ||
        t.longLived
      ) {
        return graphError(400, { message: 'Invalid exchange request', code: 100 });
      }
      if (t.expiresAt <= now() || t.expired) return expiredToken();
      return ok({ access_token: issue(t.userId, true), token_type: 'bearer', expires_in: 60 * 24 * 3600 });
    }
    if (method === 'GET' && path === '/refresh_access_token') {
      const t = tokens.get(params.get('access_token') ?? '');
      if (params.get('grant_type') !== 'ig_refresh_token' || !t || !t.longLived) return invalidToken();
      if (t.expired || t.expiresAt <= now()) return expiredToken();
      if (now() - t.issuedAt < DAY) {
        return graphError(400, {
          message: 'The access token can only be refreshed 24 hours after it was issued.',
          code: 100,
        });
      }
      return ok({ access_token: issue(t.userId, true), token_type: 'bearer', expires_in: 60 * 24 * 3600 });
    }
    if (method === 'GET' && path === '/oauth/authorize') {
      return authorizeDialog(r, {
        clientId,
        redirectUris: options.redirectUris,
        knows: (id) => accounts.has(id),
        codes,
        invalid: { message: 'Invalid authorize request', code: 100 },
        unregistered: { message: 'redirect_uri is not registered', code: 100 },
      });
    }

    const t = authed(r);
    if (t === 'hang' || !('userId' in t)) return t;
    const account = accounts.get(t.userId)!;
    const m = /^\/([^/]+)(?:\/([a-z_]+))?$/.exec(path);
    if (!m) return graphError(400, { message: `Unknown path ${path}`, code: 100 });
    const [, id, edge] = m;
    if (id === 'me' && !edge && method === 'GET') {
      return ok({
        id: account.userId,
        user_id: account.userId,
        username: account.username,
        name: account.username,
        account_type: 'BUSINESS',
        profile_picture_url: `https://cdn.example/${account.userId}.jpg`,
      });
    }
    if (id === account.userId) {
      if (method === 'POST' && edge === 'media') return createContainer(r, account.userId);
      if (method === 'POST' && edge === 'media_publish') return publish(r, account);
      if (method === 'GET' && edge === 'content_publishing_limit') {
        const used = [...media.values()].filter((p) => p.owner === account.userId && now() - p.timestamp < DAY).length;
        return ok({ data: [{ quota_usage: used, config: { quota_total: account.quota, quota_duration: 86400 } }] });
      }
      if (method === 'GET' && edge === 'media') {
        const since = Number(params.get('since') ?? 0) * 1000;
        const limit = Number(params.get('limit') ?? 25);
        const list = [...media.values()]
          .filter((p) => p.owner === account.userId && !p.deleted && p.timestamp >= since)
          .sort((a, b) => b.timestamp - a.timestamp)
          .slice(0, limit)
          .map(mediaJson);
        return ok({ data: list, paging: {} });
      }
      if (method === 'GET' && !edge) {
        return ok({
          id: account.userId,
          followers_count: account.followers,
          follows_count: 12,
          media_count: [...media.values()].filter((p) => p.owner === account.userId && !p.deleted).length,
        });
      }
    }
    const c = containers.get(id!);
    if (c && c.owner === account.userId && method === 'GET' && !edge) {
      counters.statusReads++;
      const s = statusOf(c);
      return ok({
        id: c.id,
        status_code: s,
        status: s === 'ERROR' ? (c.error ?? 'ERROR') : s === 'EXPIRED' ? 'Expired: 2207020' : s,
      });
    }
    const p = media.get(id!);
    if (p && p.owner === account.userId && !p.deleted) {
      if (method === 'GET' && !edge) return ok(mediaJson(p));
      if (method === 'DELETE' && !edge) {
        p.deleted = true;
        return ok({ success: true });
      }
      if (method === 'GET' && edge === 'insights') {
        const names = (params.get('metric') ?? '').split(',');
        return ok({
          data: names.map((n) => ({
            name: n,
            period: 'lifetime',
            values: [{ value: p.insights[n] ?? 0 }],
            id: `${p.id}/insights/${n}/lifetime`,
          })),
        });
      }
    }
    return noSuchObject(id!);
  });

  return {
    url: http.url,
    clientId,
    clientSecret,
    createAccount(opts = {}) {
      const userId = nextId();
      const username = opts.username ?? `ig_${userId.slice(-6)}`;
      accounts.set(userId, { userId, username, quota: opts.quota ?? 50, followers: 1200 });
      return { userId, username, accessToken: issue(userId, true) };
    },
    approve: (authorizeUrl, userId) => approve(authorizeUrl, userId),
    posts: (userId) =>
      [...media.values()]
        .filter((p) => p.owner === userId && !p.deleted)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .map(({ owner: _o, deleted: _d, insights: _i, ...p }) => p),
    failNext(userId, fault) {
      faults.set(userId, [...(faults.get(userId) ?? []), fault]);
    },
    expireTokens(userId) {
      for (const t of tokens.values()) if (t.userId === userId) t.expired = true;
    },
    setInsights(mediaId, values) {
      Object.assign(media.get(mediaId)!.insights, values);
    },
    advance(ms) {
      offset += ms;
    },
    counters: () => ({ ...counters }),
    close: () => http.close(),
  };
}
