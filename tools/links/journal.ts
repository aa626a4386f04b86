/**
 * The click journal: the redirect's durable buffer in front of the Redis stream. A click is
 * appended to a file of this process with a synchronous `write` (into the kernel, so a SIGKILL
 * of the process the next instant loses nothing) before its `302` goes out. Clicks that arrive
 * in one turn of the event loop share that write (a group commit: under load one system call
 * for many clicks, at no added latency — the write runs in the same turn's check phase); a
 * shipper moves what the file holds to the Redis stream every few milliseconds, as batch
 * entries of up to `CLICKS_PER_ENTRY` clicks each (`stream.ts`: one `XADD` per batch, not per
 * click) and, once everything written is in Redis, empties the file. So a redirect never
 * waits for Redis, and Redis being slow or down costs no click: the file keeps them until it
 * answers (the shipper reads from the file, so memory stays bounded however long that is).
 *
 * Files are `<dir>/<host>-<pid>-<boot>.clicks`, one per process. A file whose process is gone
 * (same host and a dead pid, or this very pid from an earlier life, or untouched for
 * `orphanAfterMs` — owners touch theirs every few seconds) is claimed by renaming it (one
 * claimer wins) and shipped by whichever process finds it: at start and every
 * `scanIntervalMs`. A click shipped twice (the shipper died between Redis answering and the file
 * being emptied) is one click: each carries its id from the redirect and the drainer skips ids
 * already stored.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/index.js';
import type { ClickEvent } from './clicks.js';
import { clickLine, clickStreamKey, CLICKS_PER_ENTRY, parseClickLine } from './stream.js';

const SUFFIX = '.clicks';
/**
 * How long after its first unshipped click a batch goes to Redis (and between batches while
 * clicks keep coming): each batch costs a round trip whatever its size, and the file, not
 * Redis, is what keeps a click safe, so waiting a little makes batches of hundreds under load.
 */
const DEFAULT_SHIP_DELAY_MS = 20;
/** Bytes read (and so clicks shipped) per batch at most. */
const SHIP_CHUNK_BYTES = 256 * 1024;
/** Once everything written is shipped and the file is past this size, it is emptied. */
const ROTATE_BYTES = 1024 * 1024;
const DEFAULT_ORPHAN_AFTER_MS = 60_000;
const TOUCH_EVERY_MS = 5_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;

export interface ClickJournalOptions {
  /** Directory of the journal files (`LINKS_JOURNAL_DIR`, default `<DATA_DIR>/clicks`). */
  dir: string;
  /** A client connection (pipelines are sent on it). */
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  shipDelayMs?: number;
  /** A file untouched this long belongs to nobody and is shipped by whoever finds it. */
  orphanAfterMs?: number;
  /** How often other processes' files are looked at (0: only at open). */
  scanIntervalMs?: number;
}

/**
 * Click lines (a torn or foreign line is left out) as batch entries' payloads, at most
 * `CLICKS_PER_ENTRY` lines each, and how many clicks they hold.
 */
function batchesOf(lines: string[]): { batches: string[]; clicks: number } {
  const batches: string[] = [];
  let current: string[] = [];
  let clicks = 0;
  for (const line of lines) {
    if (line === '' || !parseClickLine(line)) continue;
    current.push(line);
    clicks++;
    if (current.length === CLICKS_PER_ENTRY) {
      batches.push(current.join('\n'));
      current = [];
    }
  }
  if (current.length) batches.push(current.join('\n'));
  return { batches, clicks };
}

/** Boot ids of this process's open journals (a file of this pid with another boot is from an earlier life). */
const openHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ClickJournal {
  readonly file: string;
  private readonly host = os.hostname().replace(/[^A-Za-z0-9.]/g, '_');
  private readonly boot = randomBytes(6).toString('hex');
  private readonly stream: string;
  private readonly shipDelay: number;
  private readonly orphanAfter: number;
  private fd: number | null = null;
  /** Lines appended in this turn of the event loop, written together at its end. */
  private group: { lines: string[]; done: Promise<void>; settle: (err?: unknown) => void } | null = null;
  /** A short write left a line without its end: the next write starts with one. */
  private torn = false;
  /** Bytes appended to the file since it was last emptied. */
  private written = 0;
  /** Bytes of it already in Redis. */
  private shipped = 0;
  private shipping: Promise<void> | null = null;
  private shipTimer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_MIN_MS;
  private touchTimer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private closed = false;
  private lastWarnAt = 0;

  constructor(private readonly opts: ClickJournalOptions) {
    this.stream = clickStreamKey(opts.keyPrefix);
    this.shipDelay = opts.shipDelayMs ?? DEFAULT_SHIP_DELAY_MS;
    this.orphanAfter = opts.orphanAfterMs ?? DEFAULT_ORPHAN_AFTER_MS;
    this.file = path.join(opts.dir, `${this.host}-${process.pid}-${this.boot}${SUFFIX}`);
  }

  /** Opens this process's file and ships what dead processes left (not awaited by the caller's redirects). */
  async open(): Promise<this> {
    await fs.promises.mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(this.file, 'a+', 0o600);
    openHere.add(this.boot);
    this.touchTimer = setInterval(() => this.touch(), TOUCH_EVERY_MS).unref();
    const every = this.opts.scanIntervalMs ?? 30_000;
    if (every > 0) this.scanTimer = setInterval(() => void this.recoverOrphans(), every).unref();
    void this.recoverOrphans();
    return this;
  }

  /**
   * Appends one click. When the promise resolves the click is in the file, durable against
   * this process dying; it rejects if the disk refuses (full, read-only) or the journal is
   * closed. Appends made in one turn of the event loop share one write, at its check phase.
   */
  append(event: ClickEvent): Promise<void> {
    if (this.fd === null || this.closed) return Promise.reject(new Error('the click journal is not open'));
    let group = this.group;
    if (!group) {
      let settle!: (err?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
      // Every append of the group awaits this one promise; the redirect handles a refusal.
      done.catch(() => undefined);
      group = this.group = { lines: [], done, settle };
      setImmediate(() => this.writeGroup());
    }
    group.lines.push(clickLine(event));
    return group.done;
  }

  /** Writes the lines appended since the last write, with one system call, and settles their promise. */
  private writeGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = null;
    try {
      if (this.fd === null) throw new Error('the click journal is not open');
      const text = (this.torn ? '\n' : '') + group.lines.join('');
      const size = Buffer.byteLength(text);
      const bytes = fs.writeSync(this.fd, text);
      if (bytes !== size) {
        // A short write (disk full): the group's clicks go to Redis instead (the redirect's
        // fallback), so what this write left is cut off again — a cut line could otherwise
        // parse as a click with its last field (the platform) cut short. Only when cutting
        // fails is the rest left, behind a newline the next write puts first.
        try {
          fs.ftruncateSync(this.fd, fs.fstatSync(this.fd).size - bytes);
        } catch {
          this.written += bytes;
          this.torn = true;
        }
        throw new Error('short write to the click journal');
      }
      this.written += bytes;
      this.torn = false;
      this.scheduleShip(this.shipDelay);
      group.settle();
    } catch (err) {
      group.settle(err);
    }
  }

  /** Clicks' bytes written and not yet in Redis. */
  get backlogBytes(): number {
    return this.written - this.shipped;
  }

  /** Ships everything appended so far (tests, shutdown); rejects if Redis refuses. */
  async flush(): Promise<void> {
    this.writeGroup();
    while (this.written > this.shipped) {
      if (this.shipping) {
        await this.shipping;
        continue;
      }
      await this.shipOnce(true);
    }
  }

  /** Ships what is left (for up to `deadlineMs`) and closes; an unshipped file stays for recovery. */
  async close(deadlineMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openHere.delete(this.boot);
    for (const t of [this.touchTimer, this.scanTimer, this.shipTimer]) if (t) clearInterval(t);
    await this.scanning;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.flush().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineMs))),
    ]);
    clearTimeout(timer);
    // A batch still in flight past the deadline may land later; it finds the file closed.
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) fs.closeSync(fd);
    if (done && this.written === this.shipped) await fs.promises.rm(this.file, { force: true });
    else
      this.opts.logger.warn(
        { file: this.file, bytes: this.written - this.shipped },
        'clicks left in the journal at shutdown; the next Herald to start ships them',
      );
  }

  private touch(): void {
    if (this.fd === null) return;
    try {
      const now = new Date();
      fs.futimesSync(this.fd, now, now);
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not touch the click journal');
    }
  }

  private scheduleShip(delay: number): void {
    if (this.shipTimer || this.shipping) return;
    this.shipTimer = setTimeout(() => {
      this.shipTimer = null;
      if (this.shipping) return; // a batch is on its way (a flush); it schedules the next
      void this.shipOnce(false).catch(() => undefined);
    }, delay);
  }

  /** One batch from the file to Redis; rethrows when `rethrow` (else logs and retries later). */
  private shipOnce(rethrow: boolean): Promise<void> {
    const run = (async () => {
      const fd = this.fd;
      if (fd === null) return;
      const from = this.shipped;
      const want = Math.min(this.written - from, SHIP_CHUNK_BYTES);
      if (want <= 0) return;
      const buf = Buffer.allocUnsafe(want);
      const got = fs.readSync(fd, buf, 0, want, from);
      const text = buf.toString('utf8', 0, got);
      const end = text.lastIndexOf('\n') + 1;
      if (end === 0) return; // cannot happen: every append ends its line
      const { batches } = batchesOf(text.slice(0, end - 1).split('\n'));
      if (batches.length) {
        const pipeline = this.opts.redis.pipeline();
        for (const batch of batches) pipeline.xadd(this.stream, '*', 'c', batch);
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      }
      this.shipped = from + Buffer.byteLength(text.slice(0, end));
      this.retryMs = RETRY_MIN_MS;
      // Everything in Redis and the file grown large: start it again (nothing is lost if this
      // process dies between the two: the file's clicks would be shipped again, and skipped).
      if (this.fd === fd && this.shipped === this.written && this.written >= ROTATE_BYTES) {
        fs.ftruncateSync(fd, 0);
        this.written = this.shipped = 0;
      }
    })();
    this.shipping = run;
    return run.then(
      () => {
        this.shipping = null;
        // More than a chunk waiting goes at once; less waits for the next batch to fill.
        const backlog = this.written - this.shipped;
        if (backlog > 0 && !this.closed) this.scheduleShip(backlog >= SHIP_CHUNK_BYTES ? 0 : this.shipDelay);
      },
      (err: unknown) => {
        this.shipping = null;
        const now = Date.now();
        if (now - this.lastWarnAt > 10_000) {
          this.lastWarnAt = now;
          this.opts.logger.warn(
            { err, backlogBytes: this.written - this.shipped },
            'clicks not shipped to Redis yet; kept in the journal, retrying',
          );
        }
        if (!this.closed) {
          this.scheduleShip(this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        }
        if (rethrow) throw err;
      },
    );
  }

  /** Ships every journal file in the directory whose process is gone. */
  recoverOrphans(): Promise<void> {
    this.scanning ??= this.scan().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.opts.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (this.closed) return;
      const full = path.join(this.opts.dir, name);
      if (full === this.file || !(name.endsWith(SUFFIX) || name.includes(`${SUFFIX}.claimed-`))) continue;
      try {
        if (!(await this.isOrphan(name, full))) continue;
        const claimed = `${full.replace(/\.claimed-[0-9a-f]+$/, '')}.claimed-${this.boot}`;
        try {
          await fs.promises.rename(full, claimed);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process claimed it
          throw err;
        }
        const clicks = await this.shipFile(claimed);
        await fs.promises.rm(claimed, { force: true });
        this.opts.logger.info({ file: name, clicks }, 'clicks of a journal left by a stopped process shipped');
      } catch (err) {
        this.opts.logger.warn({ err, file: name }, 'could not ship a journal left by a stopped process; will retry');
      }
    }
  }

  private async isOrphan(name: string, full: string): Promise<boolean> {
    const stat = await fs.promises.stat(full);
    if (Date.now() - stat.mtimeMs >= this.orphanAfter) return true;
    // A claimed file: its claimer touches it while shipping; one of ours failed earlier (Redis
    // down) and is retried now.
    if (name.includes('.claimed-')) return name.endsWith(`.claimed-${this.boot}`);
    const m = /^(.+)-(\d+)-([0-9a-f]+)\.clicks$/.exec(name);
    if (!m || m[1] !== this.host) return false;
    const pid = Number(m[2]);
    return pid === process.pid ? !openHere.has(m[3]!) : !pidAlive(pid);
  }

  /** Ships a claimed file whole, in batches; the clicks it held. */
  private async shipFile(file: string): Promise<number> {
    const text = await fs.promises.readFile(file, 'utf8');
    // Whole lines only: a line without its newline was being written when the process died.
    const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
    const { batches, clicks } = batchesOf(lines);
    const now = new Date();
    // A few entries per round trip, touching the file between them (its claimer is alive).
    for (let i = 0; i < batches.length; i += 4) {
      const pipeline = this.opts.redis.pipeline();
      for (const batch of batches.slice(i, i + 4)) pipeline.xadd(this.stream, '*', 'c', batch);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
      await fs.promises.utimes(file, now, new Date()).catch(() => undefined);
    }
    return clicks;
  }
}
