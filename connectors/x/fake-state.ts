/**
 * State of the fake X: the app, users and their tokens, authorization codes, posts, media
 * uploads, per-user rate windows, injected faults and the exactly-once counters.
 */
import { randomBytes } from 'node:crypto';

export type XFakeFault = 'rate_limited' | 'server_error' | 'invalid_content' | 'timeout_after_apply' | 'usage_capped';

/**
 * The developer app's API access. Self-serve (pay-per-use, and the Basic and Pro plans) has
 * the reply and quote restrictions of Feb 23 and Apr 20, 2026; Enterprise has neither
 * (https://docs.x.com/changelog). A legacy free app may also be refused reads
 * (`client-forbidden`, https://docs.x.com/x-api/fundamentals/response-codes-and-errors).
 */
export type XFakeAccess = 'self-serve' | 'enterprise';

export interface FakeUser {
  id: string;
  username: string;
  name: string;
  subscriptionType: string;
  /** The audience X counts for the user (public_metrics; `tweet_count` is counted from their posts). */
  audience: { followers_count: number; following_count: number; listed_count: number };
}

export interface FakeToken {
  accessToken: string;
  refreshToken: string | null;
  userId: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

export interface FakeTweet {
  id: string;
  authorId: string;
  text: string;
  createdAt: number;
  replyToId: string | null;
  quoteId: string | null;
  mediaIds: string[];
  deleted: boolean;
  metrics: {
    like_count: number;
    retweet_count: number;
    reply_count: number;
    quote_count: number;
    impression_count: number;
  };
}

export interface FakeMedia {
  id: string;
  ownerId: string;
  mimeType: string;
  totalBytes: number;
  chunks: Map<number, number>;
  finalized: boolean;
  readyAt: number;
  altText: string | null;
}

export interface FakeCounters {
  tweetsCreated: number;
  tweetsDeleted: number;
  mediaFinalized: number;
  tokensRefreshed: number;
  /** Posts returned by reads (X bills reads per post returned: docs.x.com/x-api/getting-started/pricing). */
  postsRead: number;
}

/**
 * The `media_key` X gives an upload and shows in a post's `attachments`: the media type's
 * number and the media id, `3_` a photo, `7_` a video, `16_` an animated GIF
 * (https://docs.x.com/x-api/fundamentals/data-dictionary, Media object).
 */
export function mediaKeyOf(mimeType: string | undefined, id: string): string {
  const type = mimeType === 'image/gif' ? 16 : mimeType?.startsWith('video/') ? 7 : 3;
  return `${type}_${id}`;
}

let seq = 1_900_000_000_000_000_000n;
export const snowflake = () => String(++seq);
export const secret = () => randomBytes(24).toString('base64url');

export class XFakeState {
  baseUrl = '';
  offsetMs = 0;
  readonly app: { clientId: string; clientSecret: string; redirectUris: string[] };
  readonly users = new Map<string, FakeUser>();
  readonly tokens = new Map<string, FakeToken>();
  readonly refreshTokens = new Map<string, FakeToken>();
  readonly codes = new Map<
    string,
    { userId: string; redirectUri: string; challenge: string; scopes: string[]; used: boolean; expiresAt: number }
  >();
  readonly tweets = new Map<string, FakeTweet>();
  readonly media = new Map<string, FakeMedia>();
  /** Per user, the faults of the next creates in order; null lets one create through. */
  readonly faults = new Map<string, Array<XFakeFault | null>>();
  readonly counters = new Map<string, FakeCounters>();
  readonly rate = new Map<string, { windowStart: number; used: number }>();
  /** Users who have granted the app offline access before. */
  readonly granted = new Set<string>();

  constructor(
    readonly options: {
      tokenTtlSeconds: number;
      mediaProcessingMs: (mimeType: string) => number;
      rateLimit: { limit: number; windowMs: number };
      /** Issue a new refresh token when a user who already granted access consents again. */
      reissueRefreshTokens: boolean;
      access: XFakeAccess;
      /** The app may read posts (false: a legacy free app, answered `client-forbidden`). */
      reads: boolean;
      /** A self-serve app may reply to the account's own posts (threads). */
      selfReplies: boolean;
    },
    redirectUris: string[],
  ) {
    this.app = { clientId: secret(), clientSecret: secret(), redirectUris };
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  countersOf(userId: string): FakeCounters {
    let c = this.counters.get(userId);
    if (!c)
      this.counters.set(
        userId,
        (c = { tweetsCreated: 0, tweetsDeleted: 0, mediaFinalized: 0, tokensRefreshed: 0, postsRead: 0 }),
      );
    return c;
  }

  createUser(input: { username?: string; subscriptionType?: string } = {}): FakeUser {
    const id = snowflake();
    const user = {
      id,
      username: input.username ?? `user${id.slice(-6)}`,
      name: input.username ?? `User ${id.slice(-6)}`,
      subscriptionType: input.subscriptionType ?? 'None',
      audience: { followers_count: 0, following_count: 0, listed_count: 0 },
    };
    this.users.set(id, user);
    return user;
  }

  issueToken(userId: string, scopes: string[], opts: { consent?: boolean } = {}): FakeToken {
    const again = opts.consent === true && this.granted.has(userId) && !this.options.reissueRefreshTokens;
    if (scopes.includes('offline.access')) this.granted.add(userId);
    const token: FakeToken = {
      accessToken: secret(),
      refreshToken: scopes.includes('offline.access') && !again ? secret() : null,
      userId,
      scopes,
      expiresAt: this.now() + this.options.tokenTtlSeconds * 1000,
      revoked: false,
    };
    this.tokens.set(token.accessToken, token);
    if (token.refreshToken) this.refreshTokens.set(token.refreshToken, token);
    return token;
  }

  /** X rotates refresh tokens: the old one stops working once used. */
  refresh(refreshToken: string): FakeToken | null {
    const old = this.refreshTokens.get(refreshToken);
    if (!old || old.revoked) return null;
    this.refreshTokens.delete(refreshToken);
    old.revoked = true;
    this.countersOf(old.userId).tokensRefreshed++;
    return this.issueToken(old.userId, old.scopes);
  }

  takeFault(userId: string): XFakeFault | undefined {
    return this.faults.get(userId)?.shift() ?? undefined;
  }

  consumeRate(userId: string): { limit: number; remaining: number; reset: number; exceeded: boolean } {
    const { limit, windowMs } = this.options.rateLimit;
    const now = this.now();
    let w = this.rate.get(userId);
    if (!w || now - w.windowStart >= windowMs) this.rate.set(userId, (w = { windowStart: now, used: 0 }));
    w.used++;
    return {
      limit,
      remaining: Math.max(0, limit - w.used),
      reset: Math.ceil((w.windowStart + windowMs) / 1000),
      exceeded: w.used > limit,
    };
  }
}
