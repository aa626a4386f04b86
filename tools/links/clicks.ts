/**
 * The redirect's side of click recording: find a code's link (cached, unknown codes too, so a
 * flood of made-up codes does not reach the database), tell humans from bots and prefetchers,
 * hash the visitor under a salt that rotates every UTC day, and hand the click to the journal
 * (`journal.ts`: a synchronous append to a file, shared by the clicks of one event-loop turn,
 * shipped to the Redis stream in batches), so the 302 waits for no other process and every
 * answered click survives this process being killed the next instant. Without a journal (or
 * when its disk refuses) the click is appended to the Redis stream directly and that is
 * awaited, at most `redisWaitMs` (as is the day's salt at its first click): a Redis that does
 * not answer in time costs the click, never the redirect. `ClickDrainer` moves clicks into
 * PostgreSQL. Nothing personal is kept: no address, no user agent, and the salt of a day
 * expires after it.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';
import { schema, type Db } from '../../core/index.js';
import { CODE_PATTERN } from './codes.js';
import { withUtm } from './destination.js';
import type { ClickJournal } from './journal.js';
import { clickStreamKey } from './stream.js';

/** Longest wait for Redis (the click's `XADD` without a journal, the day's salt) before the redirect goes without the click. */
export const DEFAULT_REDIS_WAIT_MS = 500;

/** The click was not recorded because Redis did not answer within `redisWaitMs`; the redirect goes out regardless. */
export class ClickPastDeadline extends Error {
  constructor(ms: number) {
    super(`Redis did not take the click within ${ms} ms`);
    this.name = 'ClickPastDeadline';
  }
}

const saltKey = (keyPrefix: string, day: string) => `${keyPrefix}:links:salt:${day}`;
/** A day's salt outlives its day by one more, then Redis forgets it (and the hashes become unlinkable). */
const SALT_TTL_S = 2 * 86_400;
/** How long before midnight (UTC) the next day's salt is fetched. */
const SALT_PREFETCH_MS = 10 * 60_000;

/** Codes remembered per process; a link's destination never changes, so entries stay right. */
export const DEFAULT_LINK_CACHE_SIZE = 10_000;
/** How long an unknown code is remembered as unknown. */
export const UNKNOWN_CODE_TTL_MS = 30_000;

export interface ResolvedLink {
  linkId: string;
  /** The destination with the link's UTM parameters added. */
  location: string;
}

export interface ClickRequest {
  method: string;
  ip: string;
  userAgent: string | undefined;
  referer: string | undefined;
  /** `Sec-Purpose` / `Purpose` / `X-Purpose` / `X-Moz`: set by browsers that prefetch or preview. */
  purpose: string | undefined;
}

/** One click as it travels through the stream. */
export interface ClickEvent {
  id: string;
  linkId: string;
  at: Date;
  bot: boolean;
  visitor: string;
  /** From the referrer, when it names a known platform. */
  platform: string | null;
}

/** Hosts whose referrer says which platform a click came from. */
const REFERRER_PLATFORMS: Array<[RegExp, string]> = [
  [/(^|\.)(t\.co|x\.com|twitter\.com)$/, 'x'],
  [/(^|\.)(bsky\.app|bsky\.social)$/, 'bluesky'],
  [/(^|\.)(linkedin\.com|lnkd\.in)$/, 'linkedin'],
  [/(^|\.)(facebook\.com|fb\.me|fb\.com)$/, 'facebook'],
  [/(^|\.)instagram\.com$/, 'instagram'],
  [/(^|\.)threads\.(net|com)$/, 'threads'],
  [/(^|\.)(tiktok\.com)$/, 'tiktok'],
  [/(^|\.)(youtube\.com|youtu\.be)$/, 'youtube'],
  [/(^|\.)(pinterest\.[a-z.]+|pin\.it)$/, 'pinterest'],
  [/(^|\.)(reddit\.com)$/, 'reddit'],
];

export function platformOfReferrer(referer: string | undefined): string | null {
  if (!referer) return null;
  let host: string;
  try {
    host = new URL(referer).hostname.toLowerCase();
  } catch {
    return null;
  }
  for (const [re, name] of REFERRER_PLATFORMS) if (re.test(host)) return name;
  return null;
}

/** isbot's pattern is long; a burst of clicks comes from few user agents, so answers are kept. */
const botAgents = new LRUCache<string, boolean>({ max: 2_000 });

/** Bots, crawlers, link-preview fetchers, prefetches and HEAD probes are not people clicking. */
export function isBotRequest(req: Pick<ClickRequest, 'method' | 'userAgent' | 'purpose'>): boolean {
  if (req.method === 'HEAD') return true;
  if (!req.userAgent) return true;
  if (req.purpose && /prefetch|prerender|preview/i.test(req.purpose)) return true;
  if (req.userAgent.length > 512) return isbot(req.userAgent);
  let bot = botAgents.get(req.userAgent);
  if (bot === undefined) botAgents.set(req.userAgent, (bot = isbot(req.userAgent)));
  return bot;
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

export interface LinkRedirectorOptions {
  db: Db;
  /** A client connection (auto-pipelined: concurrent clicks share round trips). */
  redis: Redis;
  keyPrefix: string;
  /** The durable buffer clicks go to (the runtime always gives one); else straight to Redis. */
  journal?: ClickJournal;
  /** Longest wait for Redis per click (default `DEFAULT_REDIS_WAIT_MS`). */
  redisWaitMs?: number;
  cacheSize?: number;
  now?: () => Date;
}

export class LinkRedirector {
  private readonly known: LRUCache<string, ResolvedLink>;
  private readonly unknown: LRUCache<string, true>;
  private readonly salts = new Map<string, Promise<Buffer>>();
  /** The salts Redis has given (today's, and around midnight the next day's), for clicks that need not wait. */
  private readonly readySalts = new Map<string, Buffer>();
  private readonly stream: string;

  constructor(private readonly opts: LinkRedirectorOptions) {
    this.known = new LRUCache({ max: opts.cacheSize ?? DEFAULT_LINK_CACHE_SIZE });
    this.unknown = new LRUCache({ max: opts.cacheSize ?? DEFAULT_LINK_CACHE_SIZE, ttl: UNKNOWN_CODE_TTL_MS });
    this.stream = clickStreamKey(opts.keyPrefix);
    // Today's salt from the start, so the first clicks do not wait for Redis (a failure is
    // retried by the first click).
    this.saltOf(utcDay(this.now())).catch(() => undefined);
  }

  private now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  /** The link behind a code, or null (a malformed code never reaches the database). */
  async resolve(code: string): Promise<ResolvedLink | null> {
    if (!CODE_PATTERN.test(code)) return null;
    const hit = this.known.get(code);
    if (hit) return hit;
    if (this.unknown.get(code)) return null;
    const [row] = await this.opts.db
      .select({
        id: schema.trackedLinks.id,
        destination: schema.trackedLinks.destination,
        utm: schema.trackedLinks.utm,
      })
      .from(schema.trackedLinks)
      .where(eq(schema.trackedLinks.code, code));
    if (!row) {
      this.unknown.set(code, true);
      return null;
    }
    const link = { linkId: row.id, location: withUtm(row.destination, row.utm) };
    this.known.set(code, link);
    return link;
  }

  /**
   * Records the click: resolves once the journal holds it (the same turn of the event loop)
   * or, without one, once Redis does; rejects with `ClickPastDeadline` when Redis is waited
   * for longer than `redisWaitMs`, or with the error that kept the click from being recorded.
   */
  record(link: ResolvedLink, req: ClickRequest): Promise<ClickEvent> {
    try {
      const at = this.now();
      const day = utcDay(at);
      // The next day's salt is fetched in the last minutes of this one, so midnight's clicks do not wait.
      const next = utcDay(new Date(at.getTime() + SALT_PREFETCH_MS));
      if (next !== day && !this.salts.has(next)) this.saltOf(next).catch(() => undefined);
      const ready = this.readySalts.get(day);
      if (ready) return this.keep(this.eventOf(link, req, at, ready));
      // Waiting for the salt: the redirect waits at most the deadline, and the click is kept
      // whenever the salt comes (after its 302 then, so a process dying before that loses it).
      return this.withinDeadline(this.saltOf(day).then((salt) => this.keep(this.eventOf(link, req, at, salt))));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private eventOf(link: ResolvedLink, req: ClickRequest, at: Date, salt: Buffer): ClickEvent {
    const visitor = createHmac('sha256', salt)
      .update(`${link.linkId}\n${req.ip}\n${req.userAgent ?? ''}`)
      .digest('base64url')
      .slice(0, 22);
    return {
      id: randomUUID(),
      linkId: link.linkId,
      at,
      bot: isBotRequest(req),
      visitor,
      platform: platformOfReferrer(req.referer),
    };
  }

  /** Into the journal; when there is none or its disk refuses (full, read-only), into Redis, awaited. */
  private keep(event: ClickEvent): Promise<ClickEvent> {
    const journal = this.opts.journal;
    if (journal)
      return journal.append(event).then(
        () => event,
        () => this.toRedis(event),
      );
    return this.toRedis(event);
  }

  private toRedis(event: ClickEvent): Promise<ClickEvent> {
    return this.withinDeadline(
      this.opts.redis.xadd(
        this.stream,
        '*',
        'i',
        event.id,
        'l',
        event.linkId,
        't',
        String(event.at.getTime()),
        'b',
        event.bot ? '1' : '0',
        'v',
        event.visitor,
        'p',
        event.platform ?? '',
      ),
    ).then(() => event);
  }

  private withinDeadline<T>(wait: Promise<T>): Promise<T> {
    const ms = this.opts.redisWaitMs ?? DEFAULT_REDIS_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      wait,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ClickPastDeadline(ms)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** The day's salt: made once by whichever process asks first, shared through Redis, forgotten after. */
  private saltOf(day: string): Promise<Buffer> {
    let salt = this.salts.get(day);
    if (!salt) {
      const key = saltKey(this.opts.keyPrefix, day);
      salt = (async () => {
        await this.opts.redis.set(key, randomBytes(32).toString('base64'), 'EX', SALT_TTL_S, 'NX');
        const value = await this.opts.redis.get(key);
        if (!value) throw new Error('the visitor salt vanished from Redis');
        const buf = Buffer.from(value, 'base64');
        this.readySalts.set(day, buf);
        return buf;
      })();
      salt.catch(() => this.salts.delete(day));
      // Only the salts of the day before this one on are kept in memory (today's and tomorrow's
      // around midnight, yesterday's for late clicks).
      const before = utcDay(new Date(Date.parse(day) - 86_400_000));
      for (const k of this.salts.keys()) if (k < before) this.salts.delete(k);
      for (const k of this.readySalts.keys()) if (k < before) this.readySalts.delete(k);
      this.salts.set(day, salt);
    }
    return salt;
  }
}
