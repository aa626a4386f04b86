/**
 * A local Threads (tests only), written from Meta's Threads API documentation (posts, reply
 * management, publishing limits, troubleshooting, long-lived tokens, insights):
 * - `POST /{user}/threads` makes a container (TEXT, IMAGE, VIDEO, CAROUSEL of 2-20 items;
 *   `reply_to_id`, `quote_post_id`, `reply_control`); text over 500 (emojis counted as their
 *   UTF-8 bytes) or with more than 5 links is refused at creation; image URLs are fetched at
 *   once, videos in the background (ERROR with `FAILED_DOWNLOADING_VIDEO`);
 * - a container is IN_PROGRESS for `processingMs`, then FINISHED, EXPIRED after 24 h,
 *   PUBLISHED once published; `threads_publish` refuses one not FINISHED and past the 250
 *   posts / 24 h quota;
 * - tokens: code -> short-lived -> `th_exchange_token` (60 days) -> `th_refresh_token` (only
 *   when 24 h old and unexpired);
 * - faults on the next write: throttling, 5xx, refusal, publish applied then error/5xx/hang.
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

export type ThreadsFault =
  | 'rate_limited'
  | 'server_error'
  | 'invalid_content'
  | 'timeout_after_apply'
  | 'error_after_apply'
  | 'server_error_after_apply';

export interface ThreadsFakePost {
  id: string;
  text: string;
  mediaType: string;
  replyToId: string | null;
  quoteId: string | null;
  replyControl: string;
  altTexts: string[];
  children: number;
  timestamp: number;
  containerId: string;
  /** Bytes of the video fetched from Herald's URL, else null. */
  videoBytes: number | null;
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
  videoBytes?: number;
  mediaType: string;
  isItem: boolean;
  text: string;
  altText: string | null;
  children: string[];
  replyToId: string | null;
  quoteId: string | null;
  replyControl: string;
}

interface Token {
  userId: string;
  issuedAt: number;
  expiresAt: number;
  longLived: boolean;
  expired: boolean;
}

export interface ThreadsFake {
  url: string;
  clientId: string;
  clientSecret: string;
  createAccount(opts?: { username?: string; quota?: number }): {
    userId: string;
    username: string;
    accessToken: string;
  };
  approve(authorizeUrl: string, userId: string): Promise<string>;
  posts(userId: string): ThreadsFakePost[];
  /** The next write fails this way; `skipPublishes` lets that many publishes through first (a fault mid-thread). */
  failNext(userId: string, fault: ThreadsFault, skipPublishes?: number): void;
  expireTokens(userId: string): void;
  setInsights(id: string, values: Partial<Record<'views' | 'likes' | 'replies' | 'reposts' | 'quotes', number>>): void;
  advance(ms: number): void;
  counters(): { containersCreated: number; publishCalls: number };
  close(): Promise<void>;
}

const DAY = 24 * 60 * 60_000;
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** An emoji's code point, or one of the joiners, selectors and skin tones that build emojis. */
const isEmojiPart = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return PICTOGRAPH.test(ch) || cp === 0x200d || cp === 0xfe0f || cp === 0x20e3 || (cp >= 0x1f3fb && cp <= 0x1f3ff);
};
const threadsLength = (s: string) => [...s].reduce((n, ch) => n + (isEmojiPart(ch) ? Buffer.byteLength(ch) : 1), 0);

export async function startThreadsFake(
  options: { processingMs?: (mediaType: string) => number; redirectUris?: string[] } = {},
): Promise<ThreadsFake> {
  const clientId = nextId();
  const clientSecret = newToken('thsecret_');
  const processing = options.processingMs ?? ((t) => (t === 'VIDEO' ? 300 : 0));
  let offset = 0;
  const now = () => Date.now() + offset;
  const accounts = new Map<string, { userId: string; username: string; quota: number }>();
  const tokens = new Map<string, Token>();
  const codes = new Map<string, string>();
  const containers = new Map<string, Container>();
  const posts = new Map<
    string,
    ThreadsFakePost & { owner: string; deleted: boolean; insights: Record<string, number> }
  >();
  const faults = new Map<string, ThreadsFault[]>();
  const skips = new Map<string, number>();
  const counters = { containersCreated: 0, publishCalls: 0 };

  const issue = (userId: string, longLived: boolean) => {
    const tk = newToken(longLived ? 'THQL' : 'THQS');
    tokens.set(tk, {
      userId,
      issuedAt: now(),
      expiresAt: now() + (longLived ? 60 * DAY : 3600_000),
      longLived,
      expired: false,
    });
    return tk;
  };
  const statusOf = (c: Container) => {
    if (c.state === 'PUBLISHED') return 'PUBLISHED';
    if (now() - c.createdAt > DAY) return 'EXPIRED';
    if (c.state === 'IN_PROGRESS' && now() >= c.readyAt && !c.downloading) c.state = c.error ? 'ERROR' : 'FINISHED';
    return c.state;
  };
  const take = (userId: string, which: (f: ThreadsFault) => boolean) => {
    const list = faults.get(userId) ?? [];
    const i = list.findIndex(which);
    return i < 0 ? undefined : list.splice(i, 1)[0];
  };
  const json = (p: ThreadsFakePost) => ({
    id: p.id,
    text: p.text,
    media_type: p.mediaType === 'TEXT' ? 'TEXT_POST' : p.mediaType === 'CAROUSEL' ? 'CAROUSEL_ALBUM' : p.mediaType,
    timestamp: new Date(p.timestamp).toISOString().replace(/\.\d{3}Z$/, '+0000'),
    permalink: `https://www.threads.net/@x/post/${p.id}`,
    is_reply: p.replyToId !== null,
    ...(p.replyToId ? { replied_to: { id: p.replyToId } } : {}),
    ...(p.quoteId ? { is_quote_post: true } : {}),
  });

  async function create(r: FakeRequest, userId: string): Promise<Reply> {
    const fault = take(userId, (f) => f === 'rate_limited' || f === 'server_error' || f === 'invalid_content');
    if (fault === 'rate_limited') return throttled(userId);
    if (fault === 'server_error') return serverError();
    if (fault === 'invalid_content') {
      return graphError(400, {
        message: 'Param text must be at most 500 characters long.',
        code: 100,
        subcode: 4279009,
        userMsg: 'The post text is too long.',
      });
    }
    const p = r.params;
    const type = p.get('media_type') ?? '';
    const text = p.get('text') ?? '';
    if (threadsLength(text) > 500) {
      return graphError(400, {
        message: 'Param text must be at most 500 characters long.',
        code: 100,
        userMsg: 'The post text is too long.',
      });
    }
    if (new Set(text.match(/\b(?:https?:\/\/|www\.)\S+/gi) ?? []).size > 5) {
      return graphError(400, { message: 'THREADS_API__LINK_LIMIT_EXCEEDED', code: 100 });
    }
    const replyTo = p.get('reply_to_id');
    if (replyTo && !posts.get(replyTo)) return noSuchObject(replyTo);
    const c: Container = {
      id: nextId(),
      owner: userId,
      createdAt: now(),
      readyAt: now() + processing(type),
      state: 'IN_PROGRESS',
      mediaType: type,
      isItem: p.get('is_carousel_item') === 'true',
      text,
      altText: p.get('alt_text') ?? null,
      children: [],
      replyToId: replyTo ?? null,
      quoteId: p.get('quote_post_id') ?? null,
      replyControl: p.get('reply_control') ?? 'everyone',
    };
    if (type === 'TEXT') {
      if (!text) return graphError(400, { message: 'Param text is required for TEXT posts.', code: 100 });
    } else if (type === 'IMAGE') {
      const got = await crawl(p.get('image_url'));
      if (!got.ok)
        return graphError(400, { message: `The media could not be fetched: ${got.why}`, code: 100, userMsg: got.why });
    } else if (type === 'VIDEO') {
      // IN_PROGRESS until the whole video is in.
      c.downloading = true;
      void crawl(p.get('video_url'), VIDEO_CRAWL_MS).then((got) => {
        c.downloading = false;
        if (!got.ok) c.error = 'FAILED_DOWNLOADING_VIDEO';
        else c.videoBytes = got.size;
      });
    } else if (type === 'CAROUSEL') {
      const ids = (p.get('children') ?? '').split(',').filter(Boolean);
      if (ids.length < 2 || ids.length > 20)
        return graphError(400, { message: 'A carousel has 2 to 20 children.', code: 100 });
      for (const id of ids) {
        const ch = containers.get(id);
        if (!ch || ch.owner !== userId || !ch.isItem || statusOf(ch) !== 'FINISHED') {
          return graphError(400, { message: `Child ${id} is not a finished carousel item.`, code: 100 });
        }
      }
      c.children = ids;
    } else {
      return graphError(400, { message: 'Param media_type must be one of TEXT, IMAGE, VIDEO, CAROUSEL.', code: 100 });
    }
    containers.set(c.id, c);
    counters.containersCreated++;
    return ok({ id: c.id });
  }

  function publish(r: FakeRequest, account: { userId: string; quota: number }): Reply {
    counters.publishCalls++;
    const c = containers.get(r.params.get('creation_id') ?? '');
    if (!c || c.owner !== account.userId || c.isItem) return noSuchObject(r.params.get('creation_id') ?? '');
    const s = statusOf(c);
    if (s === 'PUBLISHED') return graphError(400, { message: 'The media has already been published.', code: 100 });
    if (s === 'EXPIRED') return graphError(400, { message: 'The container has expired.', code: 100 });
    if (s === 'ERROR') return graphError(400, { message: c.error ?? 'UNKNOWN', code: 100 });
    if (s !== 'FINISHED') {
      return graphError(400, {
        message: 'Media Not Found',
        code: 24,
        subcode: 4279009,
        userMsg: 'The media is not ready to be published.',
      });
    }
    const used = [...posts.values()].filter((p) => p.owner === account.userId && now() - p.timestamp < DAY).length;
    if (used >= account.quota) {
      return graphError(400, {
        message: 'You have reached the posting limit for the day.',
        code: 9,
        userMsg: 'Posting limit reached',
      });
    }
    const skip = skips.get(account.userId) ?? 0;
    if (skip > 0) skips.set(account.userId, skip - 1);
    const fault = skip > 0 ? undefined : take(account.userId, (f) => f.endsWith('after_apply'));
    const items = c.children.map((id) => containers.get(id)!);
    const post = {
      id: nextId(),
      owner: account.userId,
      deleted: false,
      insights: {},
      text: c.text,
      mediaType: c.mediaType,
      replyToId: c.replyToId,
      quoteId: c.quoteId,
      replyControl: c.replyControl,
      altTexts: (c.mediaType === 'CAROUSEL' ? items.map((i) => i.altText) : [c.altText]).filter(
        (a): a is string => !!a,
      ),
      children: items.length,
      timestamp: now(),
      containerId: c.id,
      videoBytes: c.videoBytes ?? null,
    };
    posts.set(post.id, post);
    c.state = 'PUBLISHED';
    if (fault === 'timeout_after_apply') return 'hang';
    if (fault === 'server_error_after_apply') return serverError();
    if (fault === 'error_after_apply')
      return graphError(400, { message: 'An unknown error occurred', code: 1, transient: true });
    return ok({ id: post.id });
  }

  const http = await startFakeHttp(async (r) => {
    const { method, path, params } = r;
    if (method === 'POST' && path === '/oauth/access_token') {
      const userId = codes.get(params.get('code') ?? '');
      if (params.get('client_id') !== clientId || params.get('client_secret') !== clientSecret || !userId) {
        return graphError(400, { message: 'Error validating verification code.', code: 100 });
      }
      codes.delete(params.get('code')!);
      return ok({ access_token: issue(userId, false), user_id: userId });
    }
    if (method === 'GET' && path === '/access_token') {
      const tk = tokens.get(params.get('access_token') ?? '');
      if (
        params.get('grant_type') !== 'th_exchange_token' ||
        params.get('client_secret') !== clientSecret ||
        !tk ||
        tk.longLived
      ) {
        return graphError(400, { message: 'Invalid exchange request', code: 100 });
      }
      return ok({ access_token: issue(tk.userId, true), token_type: 'bearer', expires_in: 60 * 24 * 3600 });
    }
    if (method === 'GET' && path === '/refresh_access_token') {
      const tk = tokens.get(params.get('access_token') ?? '');
      if (params.get('grant_type') !== 'th_refresh_token' || !tk || !tk.longLived) return invalidToken();
      if (tk.expired || tk.expiresAt <= now()) return expiredToken();
      if (now() - tk.issuedAt < DAY)
        return graphError(400, { message: 'The token can be refreshed 24 hours after it was issued.', code: 100 });
      return ok({ access_token: issue(tk.userId, true), token_type: 'bearer', expires_in: 60 * 24 * 3600 });
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
    const tk = tokens.get(params.get('access_token') ?? '');
    if (!tk) return invalidToken();
    if (tk.expired || tk.expiresAt <= now()) return expiredToken();
    const account = accounts.get(tk.userId)!;
    const m = /^\/([^/]+)(?:\/([a-z_]+))?$/.exec(path);
    if (!m) return graphError(400, { message: `Unknown path ${path}`, code: 100 });
    const [, id, edge] = m as unknown as [string, string, string | undefined];
    if (id === 'me' && !edge) {
      return ok({
        id: account.userId,
        username: account.username,
        name: account.username,
        threads_profile_picture_url: `https://cdn.example/${account.userId}.jpg`,
      });
    }
    if (id === account.userId) {
      if (method === 'POST' && edge === 'threads') return create(r, account.userId);
      if (method === 'POST' && edge === 'threads_publish') return publish(r, account);
      if (method === 'GET' && edge === 'threads_publishing_limit') {
        const used = [...posts.values()].filter((p) => p.owner === account.userId && now() - p.timestamp < DAY).length;
        return ok({ data: [{ quota_usage: used, config: { quota_total: account.quota, quota_duration: 86400 } }] });
      }
      if (method === 'GET' && (edge === 'threads' || edge === 'replies')) {
        const since = Number(params.get('since') ?? 0) * 1000;
        return ok({
          data: [...posts.values()]
            .filter(
              (p) =>
                p.owner === account.userId &&
                !p.deleted &&
                p.timestamp >= since &&
                (edge === 'replies') === (p.replyToId !== null),
            )
            .sort((a, b) => b.timestamp - a.timestamp)
            .slice(0, Number(params.get('limit') ?? 25))
            .map(json),
          paging: {},
        });
      }
      if (method === 'GET' && edge === 'threads_insights') {
        return ok({
          data: [
            {
              name: 'followers_count',
              period: 'day',
              total_value: { value: 321 },
              id: `${account.userId}/insights/followers_count/day`,
            },
          ],
        });
      }
    }
    const c = containers.get(id);
    if (c && c.owner === account.userId && method === 'GET' && !edge) {
      const s = statusOf(c);
      return ok({ id: c.id, status: s, ...(s === 'ERROR' ? { error_message: c.error } : {}) });
    }
    const p = posts.get(id);
    if (p && p.owner === account.userId && !p.deleted) {
      if (method === 'GET' && !edge) return ok(json(p));
      if (method === 'DELETE' && !edge) {
        p.deleted = true;
        return ok({ success: true, deleted_id: p.id });
      }
      if (method === 'GET' && edge === 'insights') {
        const names = (params.get('metric') ?? '').split(',');
        return ok({
          data: names.map((n) => ({ name: n, period: 'lifetime', values: [{ value: p.insights[n] ?? 0 }] })),
        });
      }
    }
    return noSuchObject(id);
  });

  return {
    url: http.url,
    clientId,
    clientSecret,
    createAccount(opts = {}) {
      const userId = nextId();
      const username = opts.username ?? `th_${userId.slice(-6)}`;
      accounts.set(userId, { userId, username, quota: opts.quota ?? 250 });
      return { userId, username, accessToken: issue(userId, true) };
    },
    approve: (authorizeUrl, userId) => approve(authorizeUrl, userId),
    posts: (userId) =>
      [...posts.values()]
        .filter((p) => p.owner === userId && !p.deleted)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .map(({ owner: _o, deleted: _d, insights: _i, ...p }) => p),
    failNext(userId, fault, skipPublishes = 0) {
      faults.set(userId, [...(faults.get(userId) ?? []), fault]);
      if (skipPublishes) skips.set(userId, skipPublishes);
    },
    expireTokens(userId) {
      for (const tk of tokens.values()) if (tk.userId === userId) tk.expired = true;
    },
    setInsights(id, values) {
      Object.assign(posts.get(id)!.insights, values);
    },
    advance(ms) {
      offset += ms;
    },
    counters: () => ({ ...counters }),
    close: () => http.close(),
  };
}
