/**
 * A local Mastodon for tests: a real HTTP server on 127.0.0.1 that speaks the documented API
 * (instance, statuses with Idempotency-Key, media with asynchronous processing, OAuth with
 * PKCE) and Mastodon's failures (429 with X-RateLimit-*, 401, 5xx, hangs, answers lost after
 * the write). Tests drive it in-process through the methods below; another process can use
 * the `/__fake/*` endpoints (create accounts, inject faults, read statuses and counters).
 */
import { DEFAULT_LIMITS } from './limits.js';
import { listen } from './fake/server.js';
import {
  FakeState,
  type FailNextOptions,
  type FakeCounters,
  type FakeFault,
  type FakeInstanceConfig,
  type FakeRequestRecord,
  type RateBudget,
} from './fake/state.js';
import { trendsOf, type FakeTrendLink, type FakeTrendStatus, type FakeTrendTag } from './fake/trend-routes.js';
import { createAccountWithToken, statusView, type FakeAccountCredentials, type FakeStatusView } from './fake/views.js';

export type {
  FailNextOptions,
  FakeCounters,
  FakeFault,
  FakeInstanceConfig,
  FakeRequestRecord,
  FaultTarget,
  RateBudget,
} from './fake/state.js';
export type { FakeAccountCredentials, FakeStatusView } from './fake/views.js';
export type { FakeTrendLink, FakeTrendStatus, FakeTrendTag } from './fake/trend-routes.js';

/** Mastodon's own budget: 300 calls per account per 5 minutes. */
export const FAKE_DEFAULT_RATE_LIMIT: RateBudget = { limit: 300, windowMs: 5 * 60_000 };
/** Doorkeeper's default access token lifetime, for servers that expire tokens. */
export const FAKE_DEFAULT_TOKEN_TTL_SECONDS = 7_200;
/** Videos, audio and GIFs process in the background for this long; other images at once. */
export const FAKE_DEFAULT_LARGE_MEDIA_PROCESSING_MS = 1_000;

export interface MastodonFakeOptions {
  /** What `GET /api/v2/instance` reports and the server enforces. Default: Mastodon's defaults. */
  instance?: Partial<FakeInstanceConfig>;
  /**
   * Processing time of an upload, ms: 0 answers 200 at once, more answers 202 and `GET
   * /api/v1/media/:id` gives 206 until done; `Infinity` never finishes. Default: images 0,
   * GIF, video and audio {@link FAKE_DEFAULT_LARGE_MEDIA_PROCESSING_MS}.
   */
  mediaProcessingMs?: (file: { mimeType: string; sizeBytes: number }) => number;
  /** Access token lifetime (`expires_in`), or null for tokens that never expire. Default 7200 s. */
  accessTokenTtlSeconds?: number | null;
  /** Issue refresh tokens (Doorkeeper `use_refresh_token`). Stock Mastodon does not. Default true. */
  refreshTokens?: boolean;
  /** Serve RFC 8414 metadata and take PKCE S256 (Mastodon 4.3+). Default true. */
  pkce?: boolean;
  /** Serve `GET /api/v2/instance` (Mastodon 4.0+). Default true. */
  instanceV2?: boolean;
  /** Per-account call budget. Default {@link FAKE_DEFAULT_RATE_LIMIT}. */
  rateLimit?: RateBudget;
  /** Port to listen on; default a free one. */
  port?: number;
}

export interface MastodonFake {
  /** Base URL, e.g. `http://127.0.0.1:41234`: the account's `metadata.instanceUrl`. */
  readonly url: string;
  /** Registers an app (client id and secret) with these redirect URIs. */
  createApp(input?: { redirectUris?: string[]; scopes?: string[] }): { clientId: string; clientSecret: string };
  /** A new account holding a `read write` token, under its own app or the given one. */
  createAccount(input?: { username?: string; clientId?: string }): FakeAccountCredentials;
  /** The account's statuses that are not deleted, oldest first. */
  statuses(accountId: string): FakeStatusView[];
  counters(accountId: string): FakeCounters;
  /** The account's next matching calls fail this way (status creation unless `on` says otherwise). */
  failNext(accountId: string, fault: FakeFault, options?: FailNextOptions): void;
  /** The account's access tokens expire; their refresh tokens keep working. */
  expireAccessToken(accountId: string): void;
  /** The account's grants are revoked: access and refresh tokens stop working. */
  revokeGrants(accountId: string): void;
  /** Overrides the call budget for one account; null restores the instance's. */
  setRateLimit(accountId: string, budget: RateBudget | null): void;
  setMediaProcessing(fn: (file: { mimeType: string; sizeBytes: number }) => number): void;
  setMetrics(
    statusId: string,
    metrics: { favourites?: number; reblogs?: number; replies?: number; quotes?: number },
  ): void;
  /** Sets the account's followers and following counts (as people follow it over time). */
  setAudience(accountId: string, audience: { followers?: number; following?: number }): void;
  /** Moves the fake's clock (token expiry, Idempotency-Key window, media processing, rate windows). */
  advanceClock(ms: number): void;
  /** Every request answered so far, in order. */
  requests(): FakeRequestRecord[];
  /** What `GET /api/v1/trends/*` serve (replaces the kinds given); `rawStatuses` are served as they are. */
  setTrends(trends: {
    tags?: FakeTrendTag[];
    statuses?: FakeTrendStatus[];
    links?: FakeTrendLink[];
    rawStatuses?: unknown[];
  }): void;
  /** The next `count` trends calls answer 429 with `Retry-After: retryAfterSeconds`. */
  throttleTrends(count: number, retryAfterSeconds: number): void;
  /** The user signs in as `accountId` and approves the authorize URL; returns the redirect URL with the code. */
  approve(authorizeUrl: string, accountId: string): Promise<string>;
  close(): Promise<void>;
}

const defaultProcessing = (file: { mimeType: string }) =>
  file.mimeType.startsWith('image/') && file.mimeType !== 'image/gif' ? 0 : FAKE_DEFAULT_LARGE_MEDIA_PROCESSING_MS;

export async function startMastodonFake(options: MastodonFakeOptions = {}): Promise<MastodonFake> {
  const state = new FakeState({
    instance: {
      title: 'Fake Mastodon',
      version: '4.4.0',
      ...DEFAULT_LIMITS,
      supportedMimeTypes: [...DEFAULT_LIMITS.supportedMimeTypes],
      ...options.instance,
    },
    mediaProcessingMs: options.mediaProcessingMs ?? defaultProcessing,
    accessTokenTtlSeconds:
      options.accessTokenTtlSeconds === undefined ? FAKE_DEFAULT_TOKEN_TTL_SECONDS : options.accessTokenTtlSeconds,
    refreshTokens: options.refreshTokens ?? true,
    pkce: options.pkce ?? true,
    instanceV2: options.instanceV2 ?? true,
    rateLimit: options.rateLimit ?? FAKE_DEFAULT_RATE_LIMIT,
  });
  const server = await listen(state, options.port);
  const status = (id: string) => {
    const s = state.statuses.get(id);
    if (!s) throw new Error(`fake Mastodon: no status ${id}`);
    return s;
  };

  return {
    url: state.baseUrl,
    createApp: (input = {}) => {
      const app = state.createApp(input);
      return { clientId: app.clientId, clientSecret: app.clientSecret };
    },
    createAccount: (input = {}) => createAccountWithToken(state, input.username, input.clientId),
    statuses: (accountId) => state.liveStatuses(accountId).map((s) => statusView(state, s)),
    counters: (accountId) => ({ ...state.counters(accountId) }),
    failNext: (accountId, fault, opts) => state.failNext(accountId, fault, opts),
    expireAccessToken: (accountId) => state.expireAccessToken(accountId),
    revokeGrants: (accountId) => state.revokeGrants(accountId),
    setRateLimit: (accountId, budget) => state.setRateLimit(accountId, budget),
    setMediaProcessing: (fn) => {
      state.options.mediaProcessingMs = fn;
    },
    setMetrics: (statusId, metrics) => {
      const s = status(statusId);
      s.favourites = metrics.favourites ?? s.favourites;
      s.reblogs = metrics.reblogs ?? s.reblogs;
      s.quotes = metrics.quotes ?? s.quotes;
      s.repliesOverride = metrics.replies ?? s.repliesOverride;
    },
    setAudience: (accountId, audience) => {
      const a = state.accounts.get(accountId);
      if (!a) throw new Error(`fake Mastodon: no account ${accountId}`);
      a.followers = audience.followers ?? a.followers;
      a.following = audience.following ?? a.following;
    },
    advanceClock: (ms) => state.advanceClock(ms),
    requests: () => [...state.requests],
    setTrends: (trends) => Object.assign(trendsOf(state), trends),
    throttleTrends: (count, retryAfterSeconds) => {
      trendsOf(state).throttle = { count, retryAfterSeconds };
    },
    approve: async (authorizeUrl, accountId) => {
      const res = await fetch(authorizeUrl, { headers: { 'x-fake-account': accountId }, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`fake Mastodon refused to authorize: ${await res.text()}`);
      return location;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Hanging answers and idle keep-alive connections would hold close() open.
        server.closeAllConnections();
      }),
  };
}
