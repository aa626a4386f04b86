/**
 * The fake Mastodon's memory: apps, accounts, OAuth grants and tokens, statuses, media,
 * Idempotency-Keys, per-account rate budgets, injected faults and counters. Every method is
 * synchronous, so concurrent requests (one event loop) never interleave inside a change.
 */
import { randomBytes } from 'node:crypto';

export type FakeFault =
  /** 429 with Mastodon's rate-limit headers; nothing applied. */
  | 'rate_limited'
  /** 500; nothing applied. */
  | 'server_error'
  /** 422 with Mastodon's validation message; nothing applied. */
  | 'invalid_content'
  /** The request is applied, then no answer ever comes. */
  | 'timeout_after_apply'
  /** No answer ever comes; nothing applied. */
  | 'hang'
  /** The connection is dropped before anything is applied. */
  | 'reset';

/** Which calls a fault hits: status creation, media upload, or any authenticated API call. */
export type FaultTarget = 'statuses' | 'media' | 'any';

export interface FailNextOptions {
  on?: FaultTarget;
  /** Matching calls let through before the fault starts. Default 0. */
  after?: number;
  /** Consecutive matching calls that fail. Default 1. */
  times?: number;
}

export interface FakeInstanceConfig {
  title: string;
  version: string;
  maxCharacters: number;
  maxMediaAttachments: number;
  charactersReservedPerUrl: number;
  supportedMimeTypes: string[];
  imageSizeLimit: number;
  videoSizeLimit: number;
  descriptionLimit: number;
}

export interface RateBudget {
  limit: number;
  windowMs: number;
}

export interface FakeStateOptions {
  instance: FakeInstanceConfig;
  mediaProcessingMs: (file: { mimeType: string; sizeBytes: number }) => number;
  accessTokenTtlSeconds: number | null;
  refreshTokens: boolean;
  pkce: boolean;
  instanceV2: boolean;
  rateLimit: RateBudget;
}

export interface FakeApp {
  id: string;
  name: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  scopes: string[];
  website: string | null;
}

export interface FakeAccount {
  id: string;
  username: string;
  createdAt: number;
  /** Audience counters served by verify_credentials (`setAudience` moves them). */
  followers?: number;
  following?: number;
}

export interface TokenRecord {
  accessToken: string;
  refreshToken: string | null;
  clientId: string;
  /** null for app-only (client_credentials) tokens. */
  accountId: string | null;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  revoked: boolean;
}

export interface AuthorizationCode {
  code: string;
  clientId: string;
  accountId: string;
  redirectUri: string;
  scopes: string[];
  challenge: string | null;
  expiresAt: number;
  used: boolean;
}

export interface FakeMedia {
  id: string;
  accountId: string;
  mimeType: string;
  sizeBytes: number;
  description: string | null;
  focus: string | null;
  readyAt: number;
  statusId: string | null;
}

export interface FakeStatus {
  id: string;
  accountId: string;
  text: string;
  spoilerText: string;
  visibility: string;
  sensitive: boolean;
  language: string | null;
  inReplyToId: string | null;
  inReplyToAccountId: string | null;
  mediaIds: string[];
  idempotencyKey: string | null;
  applicationName: string | null;
  createdAt: number;
  deletedAt: number | null;
  favourites: number;
  reblogs: number;
  quotes: number;
  /** Set by tests; null means the real count of replies. */
  repliesOverride: number | null;
}

export interface FakeCounters {
  statusesCreated: number;
  statusesDeleted: number;
  /** Status creations answered from an Idempotency-Key instead of creating. */
  idempotentReplays: number;
  mediaUploaded: number;
}

export interface FakeRequestRecord {
  method: string;
  /** Path and query. */
  url: string;
  status: number | 'hang' | 'reset';
  accountId: string | null;
}

interface FaultPlan {
  fault: FakeFault;
  on: FaultTarget;
  after: number;
  times: number;
}

/** Mastodon keeps an Idempotency-Key for one hour. */
export const IDEMPOTENCY_TTL_MS = 3_600_000;
const CODE_TTL_MS = 10 * 60_000;

const secret = () => randomBytes(32).toString('base64url');

export class FakeState {
  baseUrl = '';
  readonly options: FakeStateOptions;
  readonly apps = new Map<string, FakeApp>();
  readonly accounts = new Map<string, FakeAccount>();
  readonly statuses = new Map<string, FakeStatus>();
  readonly media = new Map<string, FakeMedia>();
  readonly codes = new Map<string, AuthorizationCode>();
  readonly requests: FakeRequestRecord[] = [];
  readonly #tokens: TokenRecord[] = [];
  readonly #idempotency = new Map<string, { statusId: string; expiresAt: number }>();
  readonly #counters = new Map<string, FakeCounters>();
  readonly #faults = new Map<string, FaultPlan[]>();
  readonly #budgets = new Map<string, RateBudget | null>();
  readonly #usage = new Map<string, { window: number; used: number }>();
  #offsetMs = 0;
  #lastId = 0n;
  #serial = 0;

  constructor(options: FakeStateOptions) {
    this.options = options;
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  advanceClock(ms: number): void {
    this.#offsetMs += ms;
  }

  /** Snowflake-like ids as Mastodon makes them: milliseconds << 16, so they sort by time. */
  nextId(): string {
    const candidate = BigInt(this.now()) << 16n;
    this.#lastId = candidate > this.#lastId ? candidate : this.#lastId + 1n;
    return this.#lastId.toString();
  }

  createApp(
    input: { name?: string; redirectUris?: string[]; scopes?: string[]; website?: string | null } = {},
  ): FakeApp {
    const app: FakeApp = {
      id: String(++this.#serial),
      name: input.name ?? 'Herald test',
      clientId: secret(),
      clientSecret: secret(),
      redirectUris: input.redirectUris ?? ['urn:ietf:wg:oauth:2.0:oob'],
      scopes: input.scopes ?? ['read', 'write'],
      website: input.website ?? null,
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  createAccount(username?: string): FakeAccount {
    const id = this.nextId();
    const account: FakeAccount = { id, username: username ?? `user${++this.#serial}`, createdAt: this.now() };
    this.accounts.set(id, account);
    this.#counters.set(id, { statusesCreated: 0, statusesDeleted: 0, idempotentReplays: 0, mediaUploaded: 0 });
    return account;
  }

  counters(accountId: string): FakeCounters {
    const c = this.#counters.get(accountId);
    if (!c) throw new Error(`fake Mastodon: no account ${accountId}`);
    return c;
  }

  // ---- tokens ----

  issueToken(clientId: string, accountId: string | null, scopes: string[]): TokenRecord {
    const ttl = this.options.accessTokenTtlSeconds;
    const record: TokenRecord = {
      accessToken: secret(),
      refreshToken: this.options.refreshTokens && accountId ? secret() : null,
      clientId,
      accountId,
      scopes,
      createdAt: this.now(),
      expiresAt: ttl === null ? null : this.now() + ttl * 1000,
      revoked: false,
    };
    this.#tokens.push(record);
    return record;
  }

  /** The live token for a bearer string, or why it is refused (Doorkeeper's descriptions). */
  authenticate(bearer: string | undefined): TokenRecord | { problem: string } {
    const record = bearer ? this.#tokens.find((t) => t.accessToken === bearer) : undefined;
    if (!record) return { problem: 'The access token is invalid' };
    if (record.revoked) return { problem: 'The access token was revoked' };
    if (record.expiresAt !== null && record.expiresAt <= this.now()) return { problem: 'The access token expired' };
    return record;
  }

  findToken(value: string): TokenRecord | undefined {
    return this.#tokens.find((t) => t.accessToken === value || t.refreshToken === value);
  }

  #accountTokens(accountId: string): TokenRecord[] {
    return this.#tokens.filter((t) => t.accountId === accountId && !t.revoked);
  }

  /** The access tokens stop working; their refresh tokens still do. */
  expireAccessToken(accountId: string): void {
    for (const t of this.#accountTokens(accountId)) t.expiresAt = this.now() - 1;
  }

  /** Revocation hits the whole grant (access and refresh token), as in Doorkeeper. */
  revokeGrants(accountId: string): void {
    for (const t of this.#accountTokens(accountId)) t.revoked = true;
  }

  /** Rotates a refresh token: the old grant is revoked and a new one issued. */
  refresh(refreshToken: string, clientId: string): TokenRecord | null {
    const old = this.#tokens.find((t) => t.refreshToken === refreshToken);
    if (!old || old.revoked || old.clientId !== clientId) return null;
    old.revoked = true;
    return this.issueToken(clientId, old.accountId, old.scopes);
  }

  createCode(input: Omit<AuthorizationCode, 'code' | 'expiresAt' | 'used'>): AuthorizationCode {
    const code: AuthorizationCode = { ...input, code: secret(), expiresAt: this.now() + CODE_TTL_MS, used: false };
    this.codes.set(code.code, code);
    return code;
  }

  // ---- faults and rate limits ----

  failNext(accountId: string, fault: FakeFault, options: FailNextOptions = {}): void {
    this.counters(accountId);
    const plans = this.#faults.get(accountId) ?? [];
    plans.push({ fault, on: options.on ?? 'statuses', after: options.after ?? 0, times: options.times ?? 1 });
    this.#faults.set(accountId, plans);
  }

  /** The fault this call suffers, if one is planned for it. */
  takeFault(accountId: string, target: FaultTarget | null): FakeFault | null {
    const plans = this.#faults.get(accountId) ?? [];
    const plan = plans.find((p) => p.on === 'any' || p.on === target);
    if (!plan) return null;
    if (plan.after > 0) {
      plan.after--;
      return null;
    }
    if (--plan.times <= 0) plans.splice(plans.indexOf(plan), 1);
    return plan.fault;
  }

  /** A per-account budget replacing the instance's; null removes the override. */
  setRateLimit(accountId: string, budget: RateBudget | null): void {
    this.#budgets.set(accountId, budget);
  }

  /** Counts one API call, Rack::Attack style: fixed windows aligned to the period. */
  consumeRate(accountId: string): { limit: number; remaining: number; resetAt: number; exceeded: boolean } {
    const budget = this.#budgets.get(accountId) ?? this.options.rateLimit;
    const window = Math.floor(this.now() / budget.windowMs);
    const usage = this.#usage.get(accountId);
    const used = usage && usage.window === window ? usage.used + 1 : 1;
    this.#usage.set(accountId, { window, used });
    return {
      limit: budget.limit,
      remaining: Math.max(0, budget.limit - used),
      resetAt: (window + 1) * budget.windowMs,
      exceeded: used > budget.limit,
    };
  }

  // ---- statuses and media ----

  idempotentStatus(accountId: string, key: string): string | null {
    const entry = this.#idempotency.get(`${accountId}\n${key}`);
    return entry && entry.expiresAt > this.now() ? entry.statusId : null;
  }

  addStatus(
    status: Omit<
      FakeStatus,
      'id' | 'createdAt' | 'deletedAt' | 'favourites' | 'reblogs' | 'quotes' | 'repliesOverride'
    >,
  ): FakeStatus {
    const created: FakeStatus = {
      ...status,
      id: this.nextId(),
      createdAt: this.now(),
      deletedAt: null,
      favourites: 0,
      reblogs: 0,
      quotes: 0,
      repliesOverride: null,
    };
    this.statuses.set(created.id, created);
    for (const id of created.mediaIds) this.media.get(id)!.statusId = created.id;
    if (created.idempotencyKey) {
      this.#idempotency.set(`${created.accountId}\n${created.idempotencyKey}`, {
        statusId: created.id,
        expiresAt: this.now() + IDEMPOTENCY_TTL_MS,
      });
    }
    this.counters(created.accountId).statusesCreated++;
    return created;
  }

  liveStatuses(accountId: string): FakeStatus[] {
    return [...this.statuses.values()].filter((s) => s.accountId === accountId && s.deletedAt === null);
  }

  liveStatus(id: string): FakeStatus | undefined {
    const s = this.statuses.get(id);
    return s && s.deletedAt === null ? s : undefined;
  }

  deleteStatus(status: FakeStatus): void {
    status.deletedAt = this.now();
    this.counters(status.accountId).statusesDeleted++;
  }

  repliesTo(id: string): number {
    return [...this.statuses.values()].filter((s) => s.inReplyToId === id && s.deletedAt === null).length;
  }

  addMedia(media: Omit<FakeMedia, 'id' | 'readyAt' | 'statusId'>): FakeMedia {
    const ms = this.options.mediaProcessingMs({ mimeType: media.mimeType, sizeBytes: media.sizeBytes });
    const created: FakeMedia = { ...media, id: this.nextId(), readyAt: this.now() + ms, statusId: null };
    this.media.set(created.id, created);
    this.counters(media.accountId).mediaUploaded++;
    return created;
  }

  isReady(media: FakeMedia): boolean {
    return media.readyAt <= this.now();
  }
}
