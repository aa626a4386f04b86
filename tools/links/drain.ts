/**
 * Moves clicks from the Redis stream into `link_clicks` in batches. Entries (one click, or a
 * journal's batch of clicks: `stream.ts`) are read through a consumer group and acknowledged
 * (and deleted) only after their clicks are committed, so a drainer killed mid-batch leaves
 * them pending; another drainer claims them once they have been idle `claimIdleMs`. Each
 * click's id comes from the redirect, so a batch written twice adds nothing. Whether a human
 * click is unique is decided here, in time order, under a transaction-scoped advisory lock:
 * the visitor's first click on a link counts, and so does the first after `uniqueWindowMs` has
 * passed since the last one that counted. A batch costs PostgreSQL a fixed handful of
 * statements whatever its size: the rows go in as arrays (`unnest`), and the window is looked
 * up in the partial index of counted clicks, so a visitor clicking thousands of times an hour
 * (a click farm on one address) costs no more per click than anyone else.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { inArray, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { createRedisConnection, schema, type Db, type Logger } from '../../core/index.js';
import type { ClickEvent } from './clicks.js';
import { clickStreamKey, CLICKS_PER_ENTRY, parseClickEntry } from './stream.js';

/** Stream entries read at once, at most: up to 64 × 500 clicks when they are journal batches. */
export const MAX_ENTRIES_PER_READ = 64;

export const DRAIN_GROUP = 'drain';
/** Default unique window: repeat clicks by one visitor on one link within it count once. */
export const DEFAULT_UNIQUE_WINDOW_MS = 60 * 60_000;
/** Clicks written per transaction at most. */
export const DEFAULT_DRAIN_BATCH = 2_000;
/** How long an entry read by a drainer that went away waits before another claims it. */
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
const BLOCK_MS = 1_000;
/**
 * After a batch of fewer than half `batchSize` clicks, how long the drainer lets the stream
 * gather more before reading again: a batch costs a transaction of a few statements whatever
 * its size, so a trickle is written every quarter second in one instead of in many.
 */
export const DEFAULT_DRAIN_LINGER_MS = 250;
/** While draining continuously, how often idle entries of other drainers are looked for. */
const CLAIM_EVERY_MS = 1_000;
const RETRY_MS = 1_000;
/** Any constant: drainers of one database take turns on it. */
const DRAIN_LOCK = 0x6c696e6b; // "link"

export interface ClickDrainerOptions {
  db: Db;
  /** A connection of its own: reads block on it. */
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  uniqueWindowMs?: number;
  batchSize?: number;
  claimIdleMs?: number;
  /** Default `DEFAULT_DRAIN_LINGER_MS`. */
  lingerMs?: number;
}

type Entry = [id: string, fields: string[]];

export class ClickDrainer {
  private readonly stream: string;
  private readonly consumer = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly window: number;
  private readonly batch: number;
  private readonly claimIdle: number;
  private closed = false;
  private loop: Promise<void> | null = null;
  private groupReady = false;
  /** Clicks per entry in the last read, so a read asks for about `batch` clicks (journal entries hold hundreds). */
  private perEntry = CLICKS_PER_ENTRY;
  /** Entries this drainer read may be unacknowledged: at start, and after a batch failed. */
  private ownPending = true;
  private lastClaimAt = 0;
  /** Clicks in the last batch read, and whether the read got as many entries as it asked for. */
  private lastRead = 0;
  private lastReadFull = false;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: ClickDrainerOptions) {
    this.stream = clickStreamKey(opts.keyPrefix);
    this.window = opts.uniqueWindowMs ?? DEFAULT_UNIQUE_WINDOW_MS;
    this.batch = opts.batchSize ?? DEFAULT_DRAIN_BATCH;
    this.claimIdle = opts.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
  }

  /** Drains until `close()`, blocking on the stream between batches. */
  start(): this {
    this.loop ??= (async () => {
      while (!this.closed) {
        try {
          await this.step(true);
          // A small batch from a read that emptied the stream: wait for more clicks to gather.
          // A read that got all the entries it asked for (one-click entries, 64 a read) goes on.
          if (this.lastRead > 0 && this.lastRead < this.batch / 2 && !this.lastReadFull) await this.linger();
        } catch (err) {
          if (this.closed) break;
          this.opts.logger.warn({ err }, 'click drain failed; retrying');
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    })();
    return this;
  }

  /** Drains what is in the stream now (and what idle drainers left), without blocking; the count written. */
  async drainOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.step(false);
      if (n < 0) return total;
      total += n;
    }
  }

  /** Entries waiting in the stream (read or not; an entry holds one click or a journal's batch). */
  async backlog(): Promise<number> {
    return this.opts.redis.xlen(this.stream);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.loop;
  }

  /** Waits `lingerMs`, or until `close()`. */
  private linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.opts.lingerMs ?? DEFAULT_DRAIN_LINGER_MS);
      this.wake = done;
    });
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.opts.redis.xgroup('CREATE', this.stream, DRAIN_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.groupReady = true;
  }

  /**
   * One batch: this drainer's own unacknowledged entries, else idle ones of others, else new
   * ones. -1: nothing. Draining continuously, its own are looked for only after a failure and
   * others' at most every `CLAIM_EVERY_MS`, so a busy stream costs one read per batch.
   */
  private async step(block: boolean): Promise<number> {
    await this.ensureGroup();
    const r = this.opts.redis;
    // Entries per read from the clicks the last entries held; at most MAX_ENTRIES_PER_READ, so
    // a guess made on one-click entries cannot read thousands of 500-click batches at once.
    const count = Math.min(MAX_ENTRIES_PER_READ, Math.max(1, Math.floor(this.batch / this.perEntry)));
    let entries: Entry[] = [];
    if (this.ownPending || !block) {
      entries = entriesOf(
        await r.xreadgroup('GROUP', DRAIN_GROUP, this.consumer, 'COUNT', count, 'STREAMS', this.stream, '0'),
      );
      if (entries.length === 0) this.ownPending = false;
    }
    if (entries.length === 0 && (!block || Date.now() - this.lastClaimAt >= CLAIM_EVERY_MS)) {
      this.lastClaimAt = Date.now();
      const claimed = (await r.xautoclaim(
        this.stream,
        DRAIN_GROUP,
        this.consumer,
        this.claimIdle,
        '0-0',
        'COUNT',
        count,
      )) as [string, Array<Entry | null>];
      entries = (claimed[1] ?? []).filter((e): e is Entry => Array.isArray(e) && Array.isArray(e[1]));
    }
    if (entries.length === 0) {
      const fresh = block
        ? await r.xreadgroup(
            'GROUP',
            DRAIN_GROUP,
            this.consumer,
            'COUNT',
            count,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            this.stream,
            '>',
          )
        : await r.xreadgroup('GROUP', DRAIN_GROUP, this.consumer, 'COUNT', count, 'STREAMS', this.stream, '>');
      entries = entriesOf(fresh);
    }
    this.lastRead = 0;
    this.lastReadFull = entries.length >= count;
    if (entries.length === 0) return -1;
    // Read and not acknowledged until written: a failure below leaves them to the next step.
    this.ownPending = true;
    const events: ClickEvent[] = [];
    let dropped = 0;
    for (const [, fields] of entries) {
      const parsed = parseClickEntry(fields);
      for (const e of parsed.clicks) events.push(e);
      dropped += parsed.dropped;
    }
    if (dropped > 0) this.opts.logger.warn({ dropped }, 'click stream entries that are not clicks dropped');
    this.lastRead = events.length;
    if (events.length > 0) this.perEntry = Math.max(1, Math.round(events.length / entries.length));
    events.sort((a, b) => a.at.getTime() - b.at.getTime());
    let written = 0;
    for (let i = 0; i < events.length; i += this.batch)
      written += await writeClicks(this.opts.db, events.slice(i, i + this.batch), this.window);
    const ids = entries.map(([id]) => id);
    await r
      .pipeline()
      .xack(this.stream, DRAIN_GROUP, ...ids)
      .xdel(this.stream, ...ids)
      .exec();
    this.ownPending = false;
    return written;
  }
}

function entriesOf(reply: unknown): Entry[] {
  const streams = reply as Array<[string, Entry[]]> | null;
  if (!streams) return [];
  return streams.flatMap(([, entries]) => entries).filter((e) => Array.isArray(e[1]));
}

/** A PostgreSQL array literal: one parameter (drizzle would expand a JS array into a row of them). */
function pgArray(values: ReadonlyArray<string | null>): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows;

/**
 * Writes one batch (ids already written are skipped) and returns how many rows are new.
 * Clicks on links deleted since are dropped with their link.
 */
export async function writeClicks(db: Db, events: ClickEvent[], uniqueWindowMs: number): Promise<number> {
  const valid = events.filter((e) => UUID.test(e.id) && UUID.test(e.linkId));
  if (valid.length === 0) return 0;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${DRAIN_LOCK})`);
    const l = schema.trackedLinks;
    const linkIds = [...new Set(valid.map((e) => e.linkId))];
    const links = new Map(
      (
        await tx
          .select({
            id: l.id,
            workspaceId: l.workspaceId,
            postId: l.postId,
            targetId: l.targetId,
            campaignId: l.campaignId,
            platform: l.platform,
          })
          .from(l)
          .where(linkIds.length === 1 ? sql`${l.id} = ${linkIds[0]}` : inArray(l.id, linkIds))
      ).map((r) => [r.id, r]),
    );
    const known = valid.filter((e) => links.has(e.linkId));
    if (known.length === 0) return 0;
    // Clicks of this batch a drainer that died before acknowledging has written already.
    const stored = new Set(
      rowsOf<{ id: string }>(
        await tx.execute(sql`select id from link_clicks where id = any(${pgArray(known.map((e) => e.id))}::uuid[])`),
      ).map((r) => r.id),
    );
    const fresh = known.filter((e) => !stored.has(e.id));
    if (fresh.length === 0) return 0;
    // The last counted click of each visitor of this batch that could still hold a window
    // open: from the partial index of counted clicks, one row per link and visitor.
    const humans = fresh.filter((e) => !e.bot);
    const lastUnique = new Map<string, number>();
    if (humans.length > 0) {
      const earliest = Math.min(...humans.map((e) => e.at.getTime())) - uniqueWindowMs;
      const last = rowsOf<{ link_id: string; visitor_hash: string; at: string | Date }>(
        await tx.execute(sql`
          select link_id, visitor_hash, max(clicked_at) as at from link_clicks
          where is_unique
            and link_id = any(${pgArray([...new Set(humans.map((e) => e.linkId))])}::uuid[])
            and visitor_hash = any(${pgArray([...new Set(humans.map((e) => e.visitor))])}::text[])
            and clicked_at > ${new Date(earliest).toISOString()}::timestamptz
          group by link_id, visitor_hash`),
      );
      for (const r of last) lastUnique.set(`${r.link_id}|${r.visitor_hash}`, new Date(r.at).getTime());
    }
    const cols = {
      id: [] as string[],
      workspaceId: [] as string[],
      linkId: [] as string[],
      at: [] as string[],
      platform: [] as Array<string | null>,
      postId: [] as Array<string | null>,
      targetId: [] as Array<string | null>,
      campaignId: [] as Array<string | null>,
      bot: [] as string[],
      visitor: [] as string[],
      unique: [] as string[],
    };
    fresh.sort((a, b) => a.at.getTime() - b.at.getTime());
    for (const e of fresh) {
      let unique = false;
      if (!e.bot) {
        const key = `${e.linkId}|${e.visitor}`;
        const last = lastUnique.get(key);
        // |Δ|: a click stamped before the last counted one (clocks of two API nodes) opens no new window.
        unique = last === undefined || Math.abs(e.at.getTime() - last) >= uniqueWindowMs;
        if (unique) lastUnique.set(key, Math.max(last ?? -Infinity, e.at.getTime()));
      }
      const link = links.get(e.linkId)!;
      cols.id.push(e.id);
      cols.workspaceId.push(link.workspaceId);
      cols.linkId.push(e.linkId);
      cols.at.push(e.at.toISOString());
      cols.platform.push(e.platform ?? link.platform);
      cols.postId.push(link.postId);
      cols.targetId.push(link.targetId);
      cols.campaignId.push(link.campaignId);
      cols.bot.push(e.bot ? 't' : 'f');
      cols.visitor.push(e.visitor);
      cols.unique.push(unique ? 't' : 'f');
    }
    // Eleven array parameters whatever the batch's size: one statement text, planned once.
    const [inserted] = rowsOf<{ n: number }>(
      await tx.execute(sql`
        with ins as (
          insert into link_clicks
            (id, workspace_id, link_id, clicked_at, platform, post_id, target_id, campaign_id, is_bot, visitor_hash, is_unique)
          select * from unnest(
            ${pgArray(cols.id)}::uuid[], ${pgArray(cols.workspaceId)}::uuid[], ${pgArray(cols.linkId)}::uuid[],
            ${pgArray(cols.at)}::timestamptz[], ${pgArray(cols.platform)}::text[], ${pgArray(cols.postId)}::uuid[],
            ${pgArray(cols.targetId)}::uuid[], ${pgArray(cols.campaignId)}::uuid[], ${pgArray(cols.bot)}::boolean[],
            ${pgArray(cols.visitor)}::text[], ${pgArray(cols.unique)}::boolean[])
          on conflict do nothing
          returning 1)
        select count(*)::int as n from ins`),
    );
    return Number(inserted?.n ?? 0);
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StartClickDrainerOptions extends Omit<ClickDrainerOptions, 'redis'> {
  redisUrl: string;
}

/** A drainer on a blocking connection of its own, started; `close` stops it and the connection. */
export function startClickDrainer(opts: StartClickDrainerOptions): { drainer: ClickDrainer; close(): Promise<void> } {
  const redis = createRedisConnection(opts.redisUrl, { purpose: 'worker', connectionName: 'herald-click-drain' });
  const drainer = new ClickDrainer({ ...opts, redis }).start();
  return {
    drainer,
    close: async () => {
      await drainer.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
