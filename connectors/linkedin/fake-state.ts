/**
 * State of the fake LinkedIn: the app, members (and the pages they administer), tokens,
 * authorization codes, posts, uploaded images and documents, per-member call windows,
 * injected faults and the exactly-once counters. Also the fake's own reading of "little
 * text", as LinkedIn shows it: escapes resolved, hashtag templates and mentions rendered, and
 * the text cut at the first reserved character that is not escaped.
 */
import { randomBytes } from 'node:crypto';

export type LinkedInFakeFault = 'rate_limited' | 'server_error' | 'invalid_content' | 'timeout_after_apply';

export interface FakeMember {
  id: string;
  name: string;
  organizations: string[];
  /** Members following this member (`memberFollowersCount`). */
  followers: number;
}

export interface FakeToken {
  accessToken: string;
  refreshToken: string | null;
  refreshExpiresAt: number;
  userId: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

export interface FakePost {
  urn: string;
  author: string;
  /** The member who created it. */
  userId: string;
  commentary: string;
  /** The commentary as LinkedIn shows it. */
  text: string;
  visibility: string;
  content: Record<string, unknown> | null;
  createdAt: number;
  deleted: boolean;
  metrics: { reactions: number; comments: number; reshares: number; impressions: number };
}

export interface FakeAsset {
  urn: string;
  kind: 'image' | 'document';
  owner: string;
  userId: string;
  uploadId: string;
  bytes: number;
  status: 'WAITING_UPLOAD' | 'PROCESSING' | 'AVAILABLE' | 'PROCESSING_FAILED';
  readyAt: number;
}

export interface FakeCounters {
  postsCreated: number;
  postsDeleted: number;
  assetsUploaded: number;
  tokensRefreshed: number;
}

export interface FakeOptions {
  tokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** The app may refresh tokens programmatically (LinkedIn grants this to approved apps). */
  refreshTokens: boolean;
  reissueRefreshTokens: boolean;
  processingMs: (kind: 'image' | 'document') => number;
  dailyLimit: number;
  oldestVersion: string;
}

let seq = 7_300_000_000_000_000_000n;
export const nextId = () => String(++seq);
export const secret = () => randomBytes(24).toString('base64url');

const RESERVED = '|{}@[]()<>#\\*_~';
const unescape = (s: string) => s.replace(/\\(.)/g, '$1');

/** What LinkedIn shows for a commentary: the little text rendered, cut at an unescaped reserved character. */
export function renderLittleText(commentary: string): string {
  let out = '';
  for (let i = 0; i < commentary.length; i++) {
    const c = commentary[i]!;
    const rest = commentary.slice(i);
    if (c === '\\') {
      if (i + 1 >= commentary.length) return out;
      out += commentary[++i];
      continue;
    }
    const hashtagTemplate = /^\{hashtag\|\\#\|((?:\\.|[^}\\])+)\}/.exec(rest);
    const mention = /^@\[((?:\\.|[^\]\\])*)\]\((urn:li:(?:person|organization):[^)]+)\)/.exec(rest);
    const hashtag = /^#[\p{L}\p{N}]+/u.exec(rest);
    const m = hashtagTemplate ?? mention ?? hashtag;
    if (m) {
      out += m === hashtagTemplate ? `#${unescape(m[1]!)}` : m === mention ? unescape(m[1]!) : m[0];
      i += m[0].length - 1;
      continue;
    }
    if (RESERVED.includes(c)) return out;
    out += c;
  }
  return out;
}

export class LinkedInFakeState {
  baseUrl = '';
  offsetMs = 0;
  readonly app: { clientId: string; clientSecret: string; redirectUris: string[] };
  readonly members = new Map<string, FakeMember>();
  readonly tokens = new Map<string, FakeToken>();
  readonly refreshTokens = new Map<string, FakeToken>();
  readonly codes = new Map<
    string,
    { userId: string; redirectUri: string; scopes: string[]; used: boolean; expiresAt: number }
  >();
  readonly posts = new Map<string, FakePost>();
  readonly assets = new Map<string, FakeAsset>();
  readonly faults = new Map<string, LinkedInFakeFault[]>();
  readonly counters = new Map<string, FakeCounters>();
  readonly rate = new Map<string, { windowStart: number; used: number }>();
  /** Followers of each page (`networkSizes`, edge COMPANY_FOLLOWED_BY_MEMBER), by organization URN. */
  readonly pageFollowers = new Map<string, number>();
  /** Members who have granted the app access before. */
  readonly granted = new Set<string>();

  constructor(
    readonly options: FakeOptions,
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
      this.counters.set(userId, (c = { postsCreated: 0, postsDeleted: 0, assetsUploaded: 0, tokensRefreshed: 0 }));
    return c;
  }

  createMember(input: { name?: string; organizations?: string[] } = {}): FakeMember {
    const id = `m${secret().slice(0, 9)}`;
    const member = {
      id,
      name: input.name ?? `Member ${id.slice(1, 6)}`,
      organizations: input.organizations ?? [],
      followers: 0,
    };
    this.members.set(id, member);
    return member;
  }

  issueToken(userId: string, scopes: string[], opts: { consent?: boolean } = {}): FakeToken {
    const again = opts.consent === true && this.granted.has(userId) && !this.options.reissueRefreshTokens;
    this.granted.add(userId);
    const now = this.now();
    const token: FakeToken = {
      accessToken: secret(),
      refreshToken: this.options.refreshTokens && !again ? secret() : null,
      refreshExpiresAt: now + this.options.refreshTokenTtlSeconds * 1000,
      userId,
      scopes,
      expiresAt: now + this.options.tokenTtlSeconds * 1000,
      revoked: false,
    };
    this.tokens.set(token.accessToken, token);
    if (token.refreshToken) this.refreshTokens.set(token.refreshToken, token);
    return token;
  }

  /** LinkedIn keeps the refresh token (and its expiry) across refreshes; only the access token is new. */
  refresh(refreshToken: string): FakeToken | null {
    const grant = this.refreshTokens.get(refreshToken);
    if (!grant || grant.revoked || grant.refreshExpiresAt <= this.now()) return null;
    this.countersOf(grant.userId).tokensRefreshed++;
    const token: FakeToken = {
      ...grant,
      accessToken: secret(),
      expiresAt: this.now() + this.options.tokenTtlSeconds * 1000,
    };
    this.tokens.set(token.accessToken, token);
    this.refreshTokens.set(refreshToken, token);
    return token;
  }

  takeFault(userId: string): LinkedInFakeFault | undefined {
    return this.faults.get(userId)?.shift();
  }

  /** One call of the member's daily budget, which resets at midnight UTC. */
  consumeRate(userId: string): { exceeded: boolean } {
    const day = Math.floor(this.now() / 86_400_000);
    let w = this.rate.get(userId);
    if (!w || w.windowStart !== day) this.rate.set(userId, (w = { windowStart: day, used: 0 }));
    w.used++;
    return { exceeded: w.used > this.options.dailyLimit };
  }
}
