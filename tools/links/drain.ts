/**
 * Moves clicks from the Redis stream into `link_clicks` in batches. Entries are read through a
 * consumer group and acknowledged (and deleted) only after their batch is committed, so a
 * drainer killed mid-batch leaves them pending; another drainer claims them once they have
 * been idle `claimIdleMs`. Each click's id comes from the redirect, so a batch written twice
 * adds nothing. Whether a human click is unique is decided here, in stream order, under a
 * transaction-scoped advisory lock: the visitor's first click on a link counts, and so does
 * the first after `uniqueWindowMs` has passed since the last one that counted.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { and, inArray, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { createRedisConnection, schema, type Db, type Logger } from '../../core/index.js';
import { clickStreamKey, parseClickFields, type ClickEvent } from './clicks.js';

export const DRAIN_GROUP = 'drain';
/** Default unique window: repeat clicks by one visitor on one link within it count once. */
export const DEFAULT_UNIQUE_WINDOW_MS = 60 * 60_000;
export const DEFAULT_DRAIN_BATCH = 500;
/** How long an entry read by a drainer that went away waits before another claims it. */
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
const BLOCK_MS = 1_000;
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

  /** Clicks waiting in the stream (read or not). */
  async backlog(): Promise<number> {
    return this.opts.redis.xlen(this.stream);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loop;
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

  /** One batch: this drainer's own unacknowledged entries, else idle ones of others, else new ones. -1: nothing. */
  private async step(block: boolean): Promise<number> {
    await this.ensureGroup();
    const r = this.opts.redis;
    let entries = entriesOf(
      await r.xreadgroup('GROUP', DRAIN_GROUP, this.consumer, 'COUNT', this.batch, 'STREAMS', this.stream, '0'),
    );
    if (entries.length === 0) {
      const claimed = (await r.xautoclaim(
        this.stream,
        DRAIN_GROUP,
        this.consumer,
        this.claimIdle,
        '0-0',
        'COUNT',
        this.batch,
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
            this.batch,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            this.stream,
            '>',
          )
        : await r.xreadgroup('GROUP', DRAIN_GROUP, this.consumer, 'COUNT', this.batch, 'STREAMS', this.stream, '>');
      entries = entriesOf(fresh);
    }
    if (entries.length === 0) return -1;
    const events: ClickEvent[] = [];
    for (const [, fields] of entries) {
      const e = parseClickFields(fields);
      if (e) events.push(e);
    }
    if (events.length < entries.length)
      this.opts.logger.warn(
        { dropped: entries.length - events.length },
        'click stream entries that are not clicks dropped',
      );
    const written = events.length ? await writeClicks(this.opts.db, events, this.window) : 0;
    const ids = entries.map(([id]) => id);
    await r
      .pipeline()
      .xack(this.stream, DRAIN_GROUP, ...ids)
      .xdel(this.stream, ...ids)
      .exec();
    return written;
  }
}

function entriesOf(reply: unknown): Entry[] {
  const streams = reply as Array<[string, Entry[]]> | null;
  if (!streams) return [];
  return streams.flatMap(([, entries]) => entries).filter((e) => Array.isArray(e[1]));
}

/**
 * Writes one batch (ids already written are skipped) and returns how many rows are new.
 * Clicks on links deleted since are dropped with their link.
 */
export async function writeClicks(db: Db, events: ClickEvent[], uniqueWindowMs: number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${DRAIN_LOCK})`);
    const l = schema.trackedLinks;
    const c = schema.linkClicks;
    const linkIds = [...new Set(events.map((e) => e.linkId))].filter((id) => UUID.test(id));
    if (linkIds.length === 0) return 0;
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
          .where(inArray(l.id, linkIds))
      ).map((r) => [r.id, r]),
    );
    const known = events.filter((e) => links.has(e.linkId) && UUID.test(e.id));
    if (known.length === 0) return 0;
    const humans = known.filter((e) => !e.bot);
    // Earlier clicks of the same visitors that could still hold a window open (and any of
    // this batch already written by a drainer that died before acknowledging).
    const earliest = Math.min(...known.map((e) => e.at.getTime())) - uniqueWindowMs;
    const prior = humans.length
      ? await tx
          .select({ id: c.id, linkId: c.linkId, visitor: c.visitorHash, at: c.clickedAt, unique: c.isUnique })
          .from(c)
          .where(
            and(
              inArray(c.linkId, [...new Set(humans.map((e) => e.linkId))]),
              inArray(c.visitorHash, [...new Set(humans.map((e) => e.visitor))]),
              sql`${c.clickedAt} > ${new Date(earliest).toISOString()}`,
              sql`not ${c.isBot}`,
            ),
          )
      : [];
    const stored = new Set(prior.map((p) => p.id));
    const lastUnique = new Map<string, number>();
    for (const p of prior) {
      if (!p.unique) continue;
      const key = `${p.linkId}|${p.visitor}`;
      lastUnique.set(key, Math.max(lastUnique.get(key) ?? -Infinity, p.at.getTime()));
    }
    const rows: Array<typeof c.$inferInsert> = [];
    known.sort((a, b) => a.at.getTime() - b.at.getTime());
    for (const e of known) {
      if (stored.has(e.id)) continue;
      let unique = false;
      if (!e.bot) {
        const key = `${e.linkId}|${e.visitor}`;
        const last = lastUnique.get(key);
        // |Δ|: a click stamped before the last counted one (clocks of two API nodes) opens no new window.
        unique = last === undefined || Math.abs(e.at.getTime() - last) >= uniqueWindowMs;
        if (unique) lastUnique.set(key, Math.max(last ?? -Infinity, e.at.getTime()));
      }
      const link = links.get(e.linkId)!;
      rows.push({
        id: e.id,
        workspaceId: link.workspaceId,
        linkId: e.linkId,
        clickedAt: e.at,
        platform: e.platform ?? link.platform,
        postId: link.postId,
        targetId: link.targetId,
        campaignId: link.campaignId,
        isBot: e.bot,
        visitorHash: e.visitor,
        isUnique: unique,
      });
    }
    if (rows.length === 0) return 0;
    const inserted = await tx.insert(c).values(rows).onConflictDoNothing().returning({ id: c.id });
    return inserted.length;
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
