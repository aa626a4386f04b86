/**
 * A local LinkedIn for tests: a real HTTP server on 127.0.0.1 speaking LinkedIn's documented
 * wire protocol (OAuth 2.0 with optional programmatic refresh, OpenID userinfo, the REST
 * Posts, Images and Documents APIs with processing states, post analytics, 429 with
 * `Retry-After`, 401 for expired tokens) and counting what was posted, so tests can assert
 * exactly-once. One server plays both hosts: `/oauth/v2/*` (www.linkedin.com) and the API.
 */
import { listen } from './fake-server.js';
import { LinkedInFakeState, type FakeCounters, type LinkedInFakeFault } from './fake-state.js';

export type { FakeCounters, LinkedInFakeFault } from './fake-state.js';

export interface LinkedInFakeOptions {
  /** Redirect URIs the fake's app accepts. */
  redirectUris?: string[];
  /** Access token lifetime. Default 60 days, as LinkedIn's. */
  tokenTtlSeconds?: number;
  /** Refresh token lifetime, not extended by refreshing. Default 365 days. */
  refreshTokenTtlSeconds?: number;
  /** The app may refresh tokens (LinkedIn allows it for approved apps only). Default true. */
  refreshTokens?: boolean;
  /** Send a new refresh token when a member who already granted access consents again. Default true. */
  reissueRefreshTokens?: boolean;
  /** Processing time after the upload PUT. Default 30 ms for images, 100 ms for documents. */
  processingMs?: (kind: 'image' | 'document') => number;
  /**
   * Authenticated calls per member per UTC day. Default 100,000. LinkedIn's limits are daily
   * and reset at midnight UTC; a throttled call gets a 429 with no documented wait header
   * (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits).
   */
  dailyLimit?: number;
  /**
   * The oldest `LinkedIn-Version` still served (YYYYMM). Default: twelve months before now,
   * as versions are "supported and stable for a minimum of one year before sunset"
   * (https://learn.microsoft.com/en-us/linkedin/marketing/versioning); older ones answer 426.
   */
  oldestVersion?: string;
}

export interface LinkedInFakePost {
  urn: string;
  author: string;
  /** As LinkedIn shows it: little text rendered (and cut at an unescaped reserved character). */
  text: string;
  commentary: string;
  visibility: string;
  content: Record<string, unknown> | null;
  altTexts: string[];
}

export interface LinkedInFakeAccount {
  memberId: string;
  name: string;
  accessToken: string;
  refreshToken: string | null;
}

export interface LinkedInFake {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** A member holding a token with the member and organization scopes. */
  /**
   * A member holding a token with `scopes` (default: the member and organization scopes a
   * self-serve app gets, without the restricted `r_member_social` and `r_member_postAnalytics`).
   */
  createAccount(input?: { name?: string; organizations?: string[]; scopes?: string[] }): LinkedInFakeAccount;
  /** A member who has not authorized Herald yet. */
  createMember(input?: { name?: string; organizations?: string[] }): { memberId: string; name: string };
  /** The signed-in member approves (or cancels) the authorize URL; returns the redirect with code or error. */
  approve(authorizeUrl: string, memberId: string, opts?: { deny?: boolean }): Promise<string>;
  /** Live posts by an author URN (`urn:li:person:<id>` or `urn:li:organization:<id>`), oldest first. */
  posts(author: string): LinkedInFakePost[];
  counters(memberId: string): FakeCounters;
  failNext(memberId: string, fault: LinkedInFakeFault): void;
  expireAccessTokens(memberId: string): void;
  revokeGrants(memberId: string): void;
  setMetrics(
    urn: string,
    metrics: Partial<Record<'reactions' | 'comments' | 'reshares' | 'impressions', number>>,
  ): void;
  /** Followers of a member (their id) or a page (`urn:li:organization:<id>`), as LinkedIn counts them. */
  setFollowers(who: string, followers: number): void;
  close(): Promise<void>;
}

const ALL_SCOPES = ['openid', 'profile', 'w_member_social', 'w_organization_social', 'r_organization_social'];

/** The YYYYMM version `months` months before now. */
function versionMonthsAgo(months: number): string {
  const d = new Date();
  d.setUTCMonth(d.getUTCMonth() - months);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export async function startLinkedInFake(options: LinkedInFakeOptions = {}): Promise<LinkedInFake> {
  const state = new LinkedInFakeState(
    {
      tokenTtlSeconds: options.tokenTtlSeconds ?? 60 * 86_400,
      refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 365 * 86_400,
      refreshTokens: options.refreshTokens ?? true,
      reissueRefreshTokens: options.reissueRefreshTokens ?? true,
      processingMs: options.processingMs ?? ((k) => (k === 'image' ? 30 : 100)),
      dailyLimit: options.dailyLimit ?? 100_000,
      oldestVersion: options.oldestVersion ?? versionMonthsAgo(12),
    },
    options.redirectUris ?? [],
  );
  const server = await listen(state);
  const tokensOf = (memberId: string) => [...state.tokens.values()].filter((t) => t.userId === memberId);
  return {
    url: state.baseUrl,
    clientId: state.app.clientId,
    clientSecret: state.app.clientSecret,
    createAccount(input = {}) {
      const m = state.createMember(input);
      const t = state.issueToken(m.id, input.scopes ?? ALL_SCOPES);
      return { memberId: m.id, name: m.name, accessToken: t.accessToken, refreshToken: t.refreshToken };
    },
    createMember(input = {}) {
      const m = state.createMember(input);
      return { memberId: m.id, name: m.name };
    },
    async approve(authorizeUrl, memberId, opts = {}) {
      const res = await fetch(authorizeUrl, {
        headers: { 'x-fake-account': memberId, ...(opts.deny ? { 'x-fake-deny': '1' } : {}) },
        redirect: 'manual',
      });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`fake LinkedIn refused to authorize: ${await res.text()}`);
      return location;
    },
    posts: (author) =>
      [...state.posts.values()]
        .filter((p) => p.author === author && !p.deleted)
        .sort((a, b) => (BigInt(a.urn.split(':').pop()!) < BigInt(b.urn.split(':').pop()!) ? -1 : 1))
        .map((p) => {
          const media = p.content?.media as { altText?: string } | undefined;
          const multi = p.content?.multiImage as { images?: Array<{ altText?: string }> } | undefined;
          return {
            urn: p.urn,
            author: p.author,
            text: p.text,
            commentary: p.commentary,
            visibility: p.visibility,
            content: p.content,
            altTexts: [media?.altText, ...(multi?.images ?? []).map((i) => i.altText)].filter(
              (a): a is string => typeof a === 'string',
            ),
          };
        }),
    counters: (memberId) => ({ ...state.countersOf(memberId) }),
    failNext(memberId, fault) {
      const list = state.faults.get(memberId) ?? [];
      list.push(fault);
      state.faults.set(memberId, list);
    },
    expireAccessTokens(memberId) {
      for (const t of tokensOf(memberId)) t.expiresAt = state.now() - 1;
    },
    revokeGrants(memberId) {
      for (const t of tokensOf(memberId)) t.revoked = true;
    },
    setMetrics(urn, metrics) {
      const p = state.posts.get(urn);
      if (!p) throw new Error(`fake LinkedIn: no post ${urn}`);
      Object.assign(p.metrics, metrics);
    },
    setFollowers(who, followers) {
      if (who.startsWith('urn:li:organization:')) {
        state.pageFollowers.set(who, followers);
        return;
      }
      const m = state.members.get(who);
      if (!m) throw new Error(`fake LinkedIn: no member ${who}`);
      m.followers = followers;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
