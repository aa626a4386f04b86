/**
 * A local X for tests: a real HTTP server on 127.0.0.1 speaking the documented API v2 wire
 * protocol (OAuth 2.0 PKCE with rotating refresh tokens, posts, timelines, chunked media
 * with processing states, `x-rate-limit-*` headers, 401 for expired tokens) and counting
 * what was posted, so tests can assert exactly-once. Tests drive it through these methods.
 */
import { listen } from './fake-server.js';
import { XFakeState, type FakeCounters, type XFakeAccess, type XFakeFault } from './fake-state.js';

export type { FakeCounters, XFakeAccess, XFakeFault } from './fake-state.js';

export interface XFakeOptions {
  /** Redirect URIs the fake's app accepts. */
  redirectUris?: string[];
  /** Access token lifetime. Default 7200 s, as X's. */
  tokenTtlSeconds?: number;
  /** Processing time of videos and GIFs after FINALIZE. Default 1500 ms; images are ready at once. */
  mediaProcessingMs?: (mimeType: string) => number;
  /** Calls per user per window. Default 900 per 15 minutes. */
  rateLimit?: { limit: number; windowMs: number };
  /**
   * Send a new refresh token when a user who already granted access consents again. Default
   * true; false behaves like providers that send one only on first consent.
   */
  reissueRefreshTokens?: boolean;
  /** The app's API access. Default `self-serve`: replies only where summoned, no quote posts. */
  access?: XFakeAccess;
  /** The app may read posts. Default true; false answers reads `403 client-forbidden`. */
  reads?: boolean;
  /**
   * A self-serve app may reply to the account's own posts. Default true, as X's refusal reads
   * ("…where you are mentioned or are the author"); false is the strict reading of the docs
   * ("only permitted if the replying account has been explicitly summoned by the original
   * post's author"), under which a thread stops after its first post.
   */
  selfReplies?: boolean;
}

export interface XFakePost {
  id: string;
  text: string;
  replyToId: string | null;
  quoteId: string | null;
  mediaIds: string[];
  altTexts: string[];
}

export interface XFakeAccount {
  userId: string;
  username: string;
  accessToken: string;
  refreshToken: string;
}

export interface XFake {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** A user holding a token with every scope Herald asks for (`offline.access` included). */
  createAccount(input?: { username?: string; subscriptionType?: string }): XFakeAccount;
  /** A user who has not authorized Herald yet. */
  createUser(input?: { username?: string; subscriptionType?: string }): { userId: string; username: string };
  /** The signed-in user approves (or denies) the authorize URL; returns the redirect with code or error. */
  approve(authorizeUrl: string, userId: string, opts?: { deny?: boolean }): Promise<string>;
  posts(userId: string): XFakePost[];
  counters(userId: string): FakeCounters;
  /** The next create by the user fails so; `null` lets one through (a later part of a thread fails). */
  failNext(userId: string, fault: XFakeFault | null): void;
  expireAccessTokens(userId: string): void;
  /** Every token of the user stops working, refresh tokens included. */
  revokeGrants(userId: string): void;
  setMetrics(
    postId: string,
    metrics: Partial<
      Record<'like_count' | 'retweet_count' | 'reply_count' | 'quote_count' | 'impression_count', number>
    >,
  ): void;
  /** The user's followers and following as `GET /2/users/me?user.fields=public_metrics` reports them. */
  setAudience(userId: string, audience: Partial<{ followers_count: number; following_count: number }>): void;
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

const ALL_SCOPES = ['tweet.read', 'tweet.write', 'users.read', 'media.write', 'offline.access'];

export async function startXFake(options: XFakeOptions = {}): Promise<XFake> {
  const state = new XFakeState(
    {
      tokenTtlSeconds: options.tokenTtlSeconds ?? 7_200,
      mediaProcessingMs:
        options.mediaProcessingMs ?? ((t) => (t.startsWith('video/') || t === 'image/gif' ? 1_500 : 0)),
      rateLimit: options.rateLimit ?? { limit: 900, windowMs: 15 * 60_000 },
      reissueRefreshTokens: options.reissueRefreshTokens ?? true,
      access: options.access ?? 'self-serve',
      reads: options.reads ?? true,
      selfReplies: options.selfReplies ?? true,
    },
    options.redirectUris ?? [],
  );
  const server = await listen(state);
  const tokensOf = (userId: string) => [...state.tokens.values()].filter((t) => t.userId === userId);
  return {
    url: state.baseUrl,
    clientId: state.app.clientId,
    clientSecret: state.app.clientSecret,
    createAccount(input = {}) {
      const user = state.createUser(input);
      const token = state.issueToken(user.id, ALL_SCOPES);
      return {
        userId: user.id,
        username: user.username,
        accessToken: token.accessToken,
        refreshToken: token.refreshToken!,
      };
    },
    createUser(input = {}) {
      const user = state.createUser(input);
      return { userId: user.id, username: user.username };
    },
    async approve(authorizeUrl, userId, opts = {}) {
      const res = await fetch(authorizeUrl, {
        headers: { 'x-fake-account': userId, ...(opts.deny ? { 'x-fake-deny': '1' } : {}) },
        redirect: 'manual',
      });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`fake X refused to authorize: ${await res.text()}`);
      return location;
    },
    posts: (userId) =>
      [...state.tweets.values()]
        .filter((t) => t.authorId === userId && !t.deleted)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .map((t) => ({
          id: t.id,
          text: t.text,
          replyToId: t.replyToId,
          quoteId: t.quoteId,
          mediaIds: t.mediaIds,
          altTexts: t.mediaIds.map((m) => state.media.get(m)?.altText ?? '').filter(Boolean),
        })),
    counters: (userId) => ({ ...state.countersOf(userId) }),
    failNext(userId, fault) {
      const list = state.faults.get(userId) ?? [];
      list.push(fault);
      state.faults.set(userId, list);
    },
    expireAccessTokens(userId) {
      for (const t of tokensOf(userId)) t.expiresAt = state.now() - 1;
    },
    revokeGrants(userId) {
      for (const t of tokensOf(userId)) t.revoked = true;
    },
    setMetrics(postId, metrics) {
      const t = state.tweets.get(postId);
      if (!t) throw new Error(`fake X: no post ${postId}`);
      Object.assign(t.metrics, metrics);
    },
    setAudience(userId, audience) {
      const u = state.users.get(userId);
      if (!u) throw new Error(`fake X: no user ${userId}`);
      Object.assign(u.audience, audience);
    },
    advanceClock(ms) {
      state.offsetMs += ms;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
