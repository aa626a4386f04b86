/**
 * The shape every trend source shares (docs/trends.md): it fetches items (a trending hashtag,
 * a status, a link, a story) for a workspace's niche, keeps its own rate budget — after a 429
 * it stays quiet until the platform's Retry-After has passed, and it never spends more than
 * its calls per window — and says why it failed with a {@link TrendSourceError}. The caller
 * runs the sources side by side, so one failing source never stops the others.
 */
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { outboundRefusal } from '../core/index.js';

/** One item a source returned; the text in it is outside text (untrusted). */
export interface TrendItem {
  /** Stable within the source (a status id, a URL, a story id). */
  externalId: string;
  title: string;
  url: string | null;
  /** Hashtags or other terms the source itself names (without `#`). */
  tags: string[];
  /** Favourites + boosts + replies, points + comments, uses: whatever the source counts. */
  engagement: number;
  publishedAt: Date | null;
}

/**
 * An outside address kept only when it is http(s), as an absolute URL of at most 2,000
 * characters: a `javascript:` or `data:` link (or anything else) from a source never reaches
 * the console, the agent or a draft.
 */
export function httpUrlOrNull(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > 2_000) return null;
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  const out = u.toString();
  return out.length <= 2_000 ? out : null;
}

/** What a source is asked for: the niche's keywords and languages, and the instances to read. */
export interface TrendQuery {
  keywords: string[];
  languages: string[];
  mastodonInstances: string[];
  /** Subreddit names (without `r/`) whose hot and top posts are read. */
  subreddits?: string[] | undefined;
  /** ISO 3166-1 alpha-2 countries whose Google Trends daily trending searches are read. */
  regions?: string[] | undefined;
  /** Whose niche this is: a source shared by every workspace (Reddit) splits its budget by it. */
  workspaceId?: string | undefined;
}

export interface TrendSource {
  /** `mastodon`, `hackernews`: the name stored with each item and its health. */
  readonly name: string;
  fetch(query: TrendQuery): Promise<TrendItem[]>;
}

export type TrendSourceFailure = 'rate_limited' | 'unavailable' | 'malformed';

export class TrendSourceError extends Error {
  constructor(
    readonly source: string,
    readonly kind: TrendSourceFailure,
    message: string,
    /** When the source may be asked again (from Retry-After or the budget's window). */
    readonly retryAt: Date | null = null,
  ) {
    super(message);
    this.name = 'TrendSourceError';
  }
}

/** Calls per window a source may spend; default for public APIs read without a key. */
export interface RateBudgetOptions {
  calls: number;
  windowMs: number;
}

export const DEFAULT_TREND_BUDGET: RateBudgetOptions = { calls: 60, windowMs: 60_000 };

/** What a GET spends: one call, or a pause after the platform said 429. */
export interface CallBudget {
  readonly source: string;
  take(): void;
  pause(retryAfter: string | null): Date;
}

/** When a 429 says calls may resume (RFC 9110 seconds or an HTTP date; 60 s when absent). */
function resumeAt(t: number, retryAfter: string | null): number {
  if (retryAfter && /^\d+$/.test(retryAfter.trim())) return t + Number(retryAfter.trim()) * 1000;
  if (retryAfter && !Number.isNaN(Date.parse(retryAfter))) return Date.parse(retryAfter);
  return t + 60_000;
}

/**
 * A source's own rate budget: a fixed window of calls, and a pause the platform asked for
 * (429 Retry-After) that holds every later call until it passes.
 */
export class RateBudget implements CallBudget {
  #windowStart = 0;
  #used = 0;
  #pausedUntil = 0;

  constructor(
    readonly source: string,
    readonly options: RateBudgetOptions = DEFAULT_TREND_BUDGET,
    readonly now: () => number = Date.now,
  ) {}

  /** Spends one call, or throws `rate_limited` saying when calls may resume. */
  take(): void {
    const t = this.now();
    if (t < this.#pausedUntil)
      throw new TrendSourceError(
        this.source,
        'rate_limited',
        'paused after the source answered 429',
        new Date(this.#pausedUntil),
      );
    if (t - this.#windowStart >= this.options.windowMs) {
      this.#windowStart = t;
      this.#used = 0;
    }
    if (this.#used >= this.options.calls)
      throw new TrendSourceError(
        this.source,
        'rate_limited',
        `own budget of ${this.options.calls} calls per ${this.options.windowMs / 1000} s spent`,
        new Date(this.#windowStart + this.options.windowMs),
      );
    this.#used += 1;
  }

  /** The platform said 429: no calls until `retryAfter` (RFC 9110 seconds or HTTP date; 60 s when absent). */
  pause(retryAfter: string | null): Date {
    this.#pausedUntil = Math.max(this.#pausedUntil, resumeAt(this.now(), retryAfter));
    return new Date(this.#pausedUntil);
  }
}

export interface FairShareOptions extends RateBudgetOptions {
  /** The most of the window's calls one workspace may spend, even alone (0–1). Default 0.5. */
  maxShare?: number;
  /** A workspace counts among those sharing for this long after its last call. Default 1 h. */
  activeMs?: number;
  /** Workspaces tracked at once (least recently used dropped). Default 10,000. */
  maxKeys?: number;
}

/** One workspace as the shared budget tracks it. */
interface Workspace {
  /** The budget's window (counted from its first) the figures below are for. */
  window: number;
  /** Calls made in that window. */
  used: number;
  /** Unused share carried into that window (only while the share is below `need`). */
  carry: number;
  /** What it could spend in that window when last seen, carry included (0 while its share covers `need`). */
  credit: number;
  /** Calls its smallest collection makes ({@link FairShareBudget.begin}): unused share is saved up to this. */
  need: number;
}

/** What one workspace may spend in the current window. */
interface View extends Workspace {
  share: number;
  /** Below `need`: the share is saved from window to window. */
  saving: boolean;
  /** Calls it earns each window while saving. */
  rate: number;
  /** Calls it may make in this window (share, or the whole calls of its credit), used ones included. */
  allowance: number;
}

/** Floating error when shares of a third are added up (1/3 + 1/3 + 1/3 must be 1). */
const CREDIT_EPSILON = 1e-9;

/**
 * One platform budget shared by every workspace (a source read without a key is limited per
 * IP: Reddit), split fairly: in each window a workspace may spend at most
 * `max(1, min(calls × maxShare, calls / active workspaces))` calls, so a niche with many
 * targets never starves the others, and the platform's own limit (`calls` per window, and any
 * 429 pause, which holds everyone) is never passed. Workspaces seen in the last `activeMs`
 * count as active; the map of them is bounded (LRU).
 *
 * When that share is smaller than the workspace's smallest collection (`need`, told by
 * {@link begin}: Reddit's 2 calls a subreddit, from the 6th active workspace on 10 calls), it is
 * saved instead: each window in which the source is used, the workspace earns
 * `min(calls × maxShare, usable / active)` calls — `usable` being the window's calls in whole
 * collections — and keeps what it leaves unused up to `need`, so it collects every few
 * windows rather than never. What all workspaces earn in a window is at most what the window
 * holds, so each one's turn comes even when they all collect in the same order.
 */
export class FairShareBudget {
  #windowStart = 0;
  /** Windows begun so far: a saving workspace earns its share once per window. */
  #window = 0;
  #used = 0;
  #pausedUntil = 0;
  readonly #keys: LRUCache<string, Workspace>;

  constructor(
    readonly source: string,
    readonly options: FairShareOptions,
    readonly now: () => number = Date.now,
  ) {
    this.#keys = new LRUCache({
      max: options.maxKeys ?? 10_000,
      ttl: options.activeMs ?? 3_600_000,
      ttlAutopurge: false,
      // Staleness read from the budget's own clock, every time.
      ttlResolution: 0,
      perf: { now },
    });
  }

  #roll(t: number) {
    if (t - this.#windowStart >= this.options.windowMs) {
      this.#windowStart = t;
      this.#window += 1;
      this.#used = 0;
      // Workspaces quiet for longer than activeMs stop counting from this window on.
      this.#keys.purgeStale();
    }
  }

  #active(key: string): number {
    return this.#keys.size + (this.#keys.has(key) ? 0 : 1);
  }

  /** This workspace's calls per window now. */
  shareOf(key: string): number {
    this.#roll(this.now());
    const cap = Math.floor(this.options.calls * (this.options.maxShare ?? 0.5));
    return Math.max(1, Math.min(cap, Math.floor(this.options.calls / this.#active(key))));
  }

  /** The workspace in the current window, its saved share brought forward; changes nothing. */
  #view(key: string, need?: number): View {
    const share = this.shareOf(key);
    const k = this.#keys.get(key, { updateAgeOnGet: false });
    need = Math.max(1, need ?? k?.need ?? 1);
    const { calls } = this.options;
    const cap = Math.max(1, Math.floor(calls * (this.options.maxShare ?? 0.5)));
    const rate = Math.min(cap, (Math.floor(calls / need) * need) / this.#active(key));
    const saving = share < need;
    let used = 0;
    let carry = 0;
    if (k && k.window === this.#window) {
      used = k.used;
      carry = k.carry;
    } else if (k) {
      // What it left unused in its last window, and what it earned in the windows it sat out.
      carry = Math.min(need, Math.max(0, k.credit - k.used) + (this.#window - k.window - 1) * rate);
    }
    const credit = saving ? Math.min(need, carry + rate) : 0;
    const allowance = saving ? Math.floor(credit + CREDIT_EPSILON) : share;
    return { window: this.#window, used, carry, credit, need, share, saving, rate, allowance };
  }

  #save(key: string, v: View) {
    const { window, used, carry, credit, need } = v;
    this.#keys.set(key, { window, used, carry, credit, need });
  }

  /** Calls this workspace may still make in the current window (0 while paused). */
  remaining(key: string): number {
    const t = this.now();
    if (t < this.#pausedUntil) return 0;
    const v = this.#view(key);
    return Math.max(0, Math.min(v.allowance - v.used, this.options.calls - this.#used));
  }

  /** The budget as one workspace spends it. */
  for(key: string): CallBudget {
    return { source: this.source, take: () => this.take(key), pause: (r) => this.pause(r) };
  }

  /**
   * A collection whose smallest form makes `needed` calls asks to start: the workspace counts
   * as active from now on, even when refused, and while its share is below `needed` it saves
   * the share up to `needed`. Returns {@link refusal} for `needed` calls; spends nothing.
   */
  begin(key: string, needed: number): TrendSourceError | null {
    this.#save(key, this.#view(key, needed));
    return this.refusal(key, needed);
  }

  /**
   * Why `needed` calls cannot be made now for this workspace (paused, the source's own budget
   * spent, the workspace's share spent, or fewer calls left than needed), saying when to try
   * again; null when they can. Spends nothing.
   */
  refusal(key: string, needed = 1): TrendSourceError | null {
    const t = this.now();
    if (t < this.#pausedUntil)
      return new TrendSourceError(
        this.source,
        'rate_limited',
        'paused after the source answered 429',
        new Date(this.#pausedUntil),
      );
    const stored = this.#keys.get(key, { updateAgeOnGet: false })?.need ?? 1;
    const v = this.#view(key, Math.max(needed, stored));
    const next = new Date(this.#windowStart + this.options.windowMs);
    const per = `per ${this.options.windowMs / 1000} s`;
    const budgetLeft = this.options.calls - this.#used;
    if (budgetLeft <= 0)
      return new TrendSourceError(
        this.source,
        'rate_limited',
        `own budget of ${this.options.calls} calls ${per} spent`,
        next,
      );
    if (v.saving) {
      const own = v.allowance - v.used;
      if (own >= needed && budgetLeft >= needed) return null;
      const why =
        own < needed
          ? `${Math.max(0, own)} saved of this workspace's fair share of ${+v.rate.toFixed(2)} of ` +
            `${this.options.calls} calls ${per}; the share is saved up to ${v.need} calls, growing each window`
          : `${budgetLeft} left of the source's own budget of ${this.options.calls} calls ${per}`;
      return new TrendSourceError(
        this.source,
        'rate_limited',
        `${needed} calls needed, ${why}; retry next window`,
        next,
      );
    }
    const share = v.share;
    if (v.used >= share)
      return new TrendSourceError(
        this.source,
        'rate_limited',
        `this workspace's fair share of ${share} of ${this.options.calls} calls ${per} spent`,
        next,
      );
    const left = Math.min(share - v.used, budgetLeft);
    if (left < needed)
      return new TrendSourceError(
        this.source,
        'rate_limited',
        `${needed} calls needed, ${left} left of this workspace's fair share of ${share} ${per}`,
        next,
      );
    return null;
  }

  take(key: string): void {
    const refused = this.refusal(key);
    if (refused) throw refused;
    const v = this.#view(key);
    this.#save(key, { ...v, used: v.used + 1 });
    this.#used += 1;
  }

  /** A 429 holds every workspace: the platform's limit is the IP's. */
  pause(retryAfter: string | null): Date {
    this.#pausedUntil = Math.max(this.#pausedUntil, resumeAt(this.now(), retryAfter));
    return new Date(this.#pausedUntil);
  }
}

/**
 * Which of a workspace's targets (subreddits, keywords, countries) a collection reads under a
 * {@link FairShareBudget}: as many as the workspace's share of the window still allows, going
 * on from where its last collection stopped, so every target is read in turn when the share
 * is smaller than the niche. Throws `rate_limited` (saying when) when nothing is left; a share
 * smaller than the shared list and one target is saved from window to window until it covers
 * them, so every workspace collects in turn.
 */
export class FairRotation {
  readonly #next = new LRUCache<string, number>({ max: 10_000 });

  constructor(readonly budget: FairShareBudget) {}

  /** `callsPerTarget` per target read, plus `fixedCalls` made once per collection (a shared list). */
  pick<T>(key: string, targets: T[], callsPerTarget: number, fixedCalls = 0): T[] {
    if (targets.length === 0) return [];
    // Not even the shared list and one whole target: rate_limited, saying when, nothing spent
    // (the workspace counts as active, and a share too small for them is saved).
    const refused = this.budget.begin(key, fixedCalls + callsPerTarget);
    if (refused) throw refused;
    // At least one whole target fits (a window rolling over since only adds room).
    const room = this.budget.remaining(key) - fixedCalls;
    const count = Math.min(targets.length, Math.max(1, Math.floor(room / callsPerTarget)));
    const start = (this.#next.get(key) ?? 0) % targets.length;
    this.#next.set(key, (start + count) % targets.length);
    return Array.from({ length: count }, (_, i) => targets[(start + i) % targets.length]!);
  }
}

/** How one GET is made: a deadline, extra headers (Reddit wants a descriptive User-Agent). */
export interface GetOptions {
  timeoutMs?: number | undefined;
  headers?: Record<string, string> | undefined;
  /**
   * When a 429 may be retried, as Retry-After would say it (seconds or an HTTP date). Default:
   * Retry-After, else `X-RateLimit-Reset` (Mastodon sends an ISO time, Reddit seconds).
   */
  retryAfter?: ((headers: Headers) => string | null) | undefined;
  /**
   * The connection policy for an address a user gave (a Mastodon instance the niche names):
   * `userUrlDispatcher()` from core/net/outbound, checking every hop after DNS. Unset: a host
   * Herald is configured with (Reddit, Hacker News, Google Trends), fetched as it is.
   */
  dispatcher?: Dispatcher | undefined;
}

const defaultRetryAfter = (h: Headers) => h.get('retry-after') ?? h.get('x-ratelimit-reset');

/**
 * One GET of a source's document with a deadline, spending the budget; 429 pauses it, any
 * other failure is `unavailable`. Returns the body's text for the source to parse.
 */
export async function getText(budget: CallBudget, url: URL, opts: GetOptions | number = {}): Promise<string> {
  const o: GetOptions = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  budget.take();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json', ...o.headers },
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    text = await res.text();
  } catch (err) {
    const refused = outboundRefusal(err);
    throw new TrendSourceError(budget.source, 'unavailable', `${url.host}: ${(refused ?? (err as Error)).message}`);
  }
  if (res.status === 429) {
    const until = budget.pause((o.retryAfter ?? defaultRetryAfter)(res.headers));
    throw new TrendSourceError(budget.source, 'rate_limited', `${url.host} answered 429`, until);
  }
  if (!res.ok) throw new TrendSourceError(budget.source, 'unavailable', `${url.host} answered ${res.status}`);
  return text;
}

/** {@link getText} parsed as JSON; something else is `malformed`. */
export async function getJson(budget: CallBudget, url: URL, opts: GetOptions | number = {}): Promise<unknown> {
  const text = await getText(budget, url, opts);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TrendSourceError(budget.source, 'malformed', `${url.host} answered something other than JSON`);
  }
}

/**
 * Runs one fetch per target (an instance, a subreddit, a country) side by side: the targets
 * that answer are kept; only when every one fails does the source fail, with the first reason.
 */
export async function eachTarget<T>(targets: T[], run: (t: T) => Promise<TrendItem[]>): Promise<TrendItem[]> {
  if (targets.length === 0) return [];
  const results = await Promise.allSettled(targets.map(run));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === results.length) throw failed[0]!.reason;
  return results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
}
