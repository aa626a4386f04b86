/**
 * A local Facebook Graph API for Pages (tests only), written from Meta's docs (Facebook Login
 * manual flow and long-lived tokens, `/me/accounts`, Page feed / photos / videos, comments,
 * error handling): the login dialog and code exchange, `fb_exchange_token`, the Pages a user
 * manages with their Page tokens, photos fetched from their URL (unpublished ones attached to a
 * feed post with `attached_media`), videos, comments, reactions and shares, and Meta's
 * refusals: a duplicate post (506), posting too fast (368), a lost permission (200), throttling
 * (32 with `X-Business-Use-Case-Usage`), 5xx, and a post applied whose answer never comes.
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
  type FakeRequest,
  type Reply,
} from '../meta/fake-server.js';
import { approve } from '../fake-kit.js';

export type FacebookFault =
  'rate_limited' | 'server_error' | 'invalid_content' | 'timeout_after_apply' | 'too_fast' | 'permission_lost';

export interface FacebookFakePost {
  id: string;
  message: string;
  link: string | null;
  photos: Array<{ id: string; altText: string | null }>;
  video: boolean;
  /** Bytes of the video fetched from Herald's URL, else null. */
  videoBytes: number | null;
  comments: string[];
  createdAt: number;
}

export interface FacebookFake {
  url: string;
  clientId: string;
  clientSecret: string;
  /** A user managing `pages` (names); returns their ids and Page tokens. */
  createUser(pages: string[]): { userId: string; pages: Array<{ id: string; name: string; accessToken: string }> };
  approve(authorizeUrl: string, userId: string): Promise<string>;
  posts(pageId: string): FacebookFakePost[];
  failNext(pageId: string, fault: FacebookFault): void;
  revokePageTokens(pageId: string): void;
  close(): Promise<void>;
}

export async function startFacebookFake(options: { redirectUris?: string[] } = {}): Promise<FacebookFake> {
  const clientId = nextId();
  const clientSecret = newToken('fbsecret_');
  const users = new Map<string, { pages: string[] }>();
  const pages = new Map<string, { id: string; name: string; followers: number }>();
  const tokens = new Map<
    string,
    { kind: 'user' | 'page'; userId?: string; pageId?: string; longLived: boolean; revoked: boolean }
  >();
  const codes = new Map<string, string>();
  const photos = new Map<string, { id: string; pageId: string; altText: string | null; published: boolean }>();
  const posts = new Map<
    string,
    FacebookFakePost & { pageId: string; deleted: boolean; reactions: number; shares: number }
  >();
  const faults = new Map<string, FacebookFault[]>();

  const take = (pageId: string) => faults.get(pageId)?.shift();
  const write = (pageId: string, apply: () => Reply): Reply => {
    const fault = take(pageId);
    if (fault === 'rate_limited') {
      return graphError(
        400,
        { message: 'Page request limit reached', code: 32 },
        {
          'x-business-use-case-usage': JSON.stringify({
            [pageId]: [
              { type: 'pages', call_count: 100, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: 3 },
            ],
          }),
        },
      );
    }
    if (fault === 'server_error') return serverError();
    if (fault === 'invalid_content') {
      return graphError(400, {
        message: '(#100) The URL is not properly formatted',
        code: 100,
        userMsg: 'The link in this post is not valid.',
      });
    }
    if (fault === 'too_fast') {
      return graphError(400, {
        message:
          'It looks like you were misusing this feature by going too fast. You’ve been temporarily blocked from using it.',
        code: 368,
        subcode: 1390008,
      });
    }
    if (fault === 'permission_lost') {
      return graphError(403, {
        message: "(#200) The user hasn't authorized the application to perform this action",
        code: 200,
      });
    }
    const reply = apply();
    return fault === 'timeout_after_apply' ? 'hang' : reply;
  };

  const http = await startFakeHttp(async (r: FakeRequest) => {
    const { method, path, params } = r;
    if (method === 'GET' && path === '/dialog/oauth') {
      return authorizeDialog(r, {
        clientId,
        redirectUris: options.redirectUris,
        knows: (id) => users.has(id),
        codes,
        invalid: { message: 'Invalid login request', code: 100 },
        unregistered: {
          message: 'URL Blocked: This redirect failed because the redirect URI is not whitelisted',
          code: 191,
        },
      });
    }
    if (method === 'GET' && path === '/oauth/access_token') {
      if (params.get('client_id') !== clientId || params.get('client_secret') !== clientSecret) {
        return graphError(400, { message: 'Error validating client secret.', code: 1 });
      }
      if (params.get('grant_type') === 'fb_exchange_token') {
        const tk = tokens.get(params.get('fb_exchange_token') ?? '');
        if (!tk || tk.kind !== 'user' || tk.revoked) return invalidToken();
        const long = newToken('EAAL');
        tokens.set(long, { kind: 'user', userId: tk.userId!, longLived: true, revoked: false });
        return ok({ access_token: long, token_type: 'bearer', expires_in: 5_183_944 });
      }
      const userId = codes.get(params.get('code') ?? '');
      if (!userId)
        return graphError(400, { message: 'This authorization code has been used.', code: 100, subcode: 36009 });
      codes.delete(params.get('code')!);
      const short = newToken('EAAS');
      tokens.set(short, { kind: 'user', userId, longLived: false, revoked: false });
      return ok({ access_token: short, token_type: 'bearer', expires_in: 5_400 });
    }
    const tk = tokens.get(params.get('access_token') ?? '');
    if (!tk) return invalidToken();
    if (tk.revoked) return expiredToken();
    const m = /^\/([^/]+)(?:\/([a-z_]+))?$/.exec(path);
    if (!m) return graphError(400, { message: `Unknown path ${path}`, code: 100 });
    const [, id, edge] = m as unknown as [string, string, string | undefined];
    if (id === 'me' && edge === 'accounts' && tk.kind === 'user') {
      const data = users.get(tk.userId!)!.pages.map((pid) => {
        const pageToken = newToken('EAAP');
        tokens.set(pageToken, { kind: 'page', pageId: pid, longLived: tk.longLived, revoked: false });
        return {
          id: pid,
          name: pages.get(pid)!.name,
          access_token: pageToken,
          tasks: ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MODERATE', 'MANAGE'],
        };
      });
      return ok({ data, paging: { cursors: { before: 'a', after: 'b' } } });
    }
    if (tk.kind !== 'page') return graphError(400, { message: 'A Page access token is required', code: 190 });
    const pid = tk.pageId!;
    if (id === pid) {
      if (method === 'POST' && edge === 'photos') {
        const got = await crawl(params.get('url'));
        if (!got.ok) return graphError(400, { message: `(#324) Missing or invalid image file: ${got.why}`, code: 324 });
        return write(pid, () => {
          const photo = {
            id: nextId(),
            pageId: pid,
            altText: params.get('alt_text_custom') ?? null,
            published: params.get('published') !== 'false',
          };
          photos.set(photo.id, photo);
          if (photo.published) {
            const post = {
              id: `${pid}_${nextId()}`,
              pageId: pid,
              deleted: false,
              reactions: 0,
              shares: 0,
              message: params.get('caption') ?? '',
              link: null,
              photos: [{ id: photo.id, altText: photo.altText }],
              video: false,
              videoBytes: null,
              comments: [],
              createdAt: Date.now(),
            };
            posts.set(post.id, post);
            return ok({ id: photo.id, post_id: post.id });
          }
          return ok({ id: photo.id });
        });
      }
      if (method === 'POST' && edge === 'videos') {
        const got = await crawl(params.get('file_url'), VIDEO_CRAWL_MS);
        if (!got.ok)
          return graphError(400, { message: `(#352) The video file could not be read: ${got.why}`, code: 352 });
        return write(pid, () => {
          const post = {
            id: nextId(),
            pageId: pid,
            deleted: false,
            reactions: 0,
            shares: 0,
            message: params.get('description') ?? '',
            link: null,
            photos: [],
            video: true,
            videoBytes: got.size,
            comments: [],
            createdAt: Date.now(),
          };
          posts.set(post.id, post);
          return ok({ id: post.id });
        });
      }
      if (method === 'POST' && edge === 'feed') {
        const message = params.get('message') ?? '';
        const attached: Array<{ id: string; altText: string | null }> = [];
        for (let i = 0; params.has(`attached_media[${i}]`); i++) {
          const fbid = (JSON.parse(params.get(`attached_media[${i}]`)!) as { media_fbid: string }).media_fbid;
          const photo = photos.get(fbid);
          if (!photo || photo.pageId !== pid || photo.published)
            return graphError(400, { message: `(#100) Invalid media_fbid ${fbid}`, code: 100 });
          attached.push({ id: photo.id, altText: photo.altText });
        }
        if (!message && attached.length === 0 && !params.get('link')) {
          return graphError(400, { message: '(#100) Missing message or attachment', code: 100 });
        }
        const last = [...posts.values()].filter((p) => p.pageId === pid && !p.deleted).at(-1);
        if (last && last.message === message && message && attached.length === 0) {
          return graphError(400, {
            message: '(#506) Duplicate status message',
            code: 506,
            userMsg: 'This status update is identical to the last one you posted.',
          });
        }
        return write(pid, () => {
          for (const a of attached) photos.get(a.id)!.published = true;
          const post = {
            id: `${pid}_${nextId()}`,
            pageId: pid,
            deleted: false,
            reactions: 0,
            shares: 0,
            message,
            link: params.get('link'),
            photos: attached,
            video: false,
            videoBytes: null,
            comments: [],
            createdAt: Date.now(),
          };
          posts.set(post.id, post);
          return ok({ id: post.id });
        });
      }
      if (method === 'GET' && (edge === 'posts' || edge === 'videos')) {
        const since = Number(params.get('since') ?? 0) * 1000;
        return ok({
          data: [...posts.values()]
            .filter((p) => p.pageId === pid && !p.deleted && p.createdAt >= since && p.video === (edge === 'videos'))
            .sort((a, b) => b.createdAt - a.createdAt)
            .map((p) => ({
              id: p.id,
              [edge === 'videos' ? 'description' : 'message']: p.message,
              created_time: new Date(p.createdAt).toISOString(),
            })),
        });
      }
      if (method === 'GET' && !edge)
        return ok({
          id: pid,
          name: pages.get(pid)!.name,
          followers_count: pages.get(pid)!.followers,
          fan_count: pages.get(pid)!.followers,
        });
    }
    const post = posts.get(id);
    if (post && post.pageId === pid && !post.deleted) {
      if (method === 'POST' && edge === 'comments') {
        post.comments.push(params.get('message') ?? '');
        return ok({ id: `${post.id}_${nextId()}` });
      }
      if (method === 'DELETE' && !edge) {
        post.deleted = true;
        return ok({ success: true });
      }
      if (method === 'GET' && !edge) {
        return ok({
          id: post.id,
          permalink_url: `https://www.facebook.com/${post.id}`,
          reactions: { data: [], summary: { total_count: post.reactions } },
          comments: { data: [], summary: { total_count: post.comments.length } },
          ...(post.shares ? { shares: { count: post.shares } } : {}),
        });
      }
    }
    return noSuchObject(id);
  });

  return {
    url: http.url,
    clientId,
    clientSecret,
    createUser(names) {
      const userId = nextId();
      const list = names.map((name) => {
        const id = nextId();
        pages.set(id, { id, name, followers: 4321 });
        const accessToken = newToken('EAAP');
        tokens.set(accessToken, { kind: 'page', pageId: id, longLived: true, revoked: false });
        return { id, name, accessToken };
      });
      users.set(userId, { pages: list.map((p) => p.id) });
      return { userId, pages: list };
    },
    approve: (authorizeUrl, userId) => approve(authorizeUrl, userId),
    posts: (pageId) =>
      [...posts.values()]
        .filter((p) => p.pageId === pageId && !p.deleted)
        .map(({ pageId: _p, deleted: _d, reactions: _r, shares: _s, ...p }) => p),
    failNext(pageId, fault) {
      faults.set(pageId, [...(faults.get(pageId) ?? []), fault]);
    },
    revokePageTokens(pageId) {
      for (const t of tokens.values()) if (t.pageId === pageId) t.revoked = true;
    },
    close: () => http.close(),
  };
}
