/**
 * Where a turn's events are kept so a client can `resume` after a reconnect: a bounded ring
 * in memory (exact, for the node running the turn) mirrored to a Redis list (for a reconnect
 * that lands after the turn left memory, or on another node). Both keep the newest
 * `maxEvents` / `maxBytes`; Redis keys expire `ttlMs` after the last event. The turn's owner
 * (workspace and user or API key) is recorded beside the list and checked on every read, so
 * another owner's turn id reads exactly like a missing one.
 *
 * Keys: `<prefix>:ws:turn:<turnId>` (list of event JSON), `<prefix>:ws:turn:<turnId>:meta`
 * (hash: ws, owner, lastSeq, ended), `<prefix>:ws:msg:<workspaceId>:<owner>:<clientMessageId>`
 * (the turn a client message id started).
 */
import type { Redis } from 'ioredis';

export interface TurnOwner {
  workspaceId: string;
  /** `Principal.limitKey`: the user (`u:<id>`) or API key (`k:<id>`) that started the turn. */
  ownerKey: string;
}

export interface TurnBufferLimits {
  maxEvents: number;
  maxBytes: number;
  ttlMs: number;
}

export interface BufferedEvents {
  /** Serialised events with seq > afterSeq, oldest first, exactly as first sent. */
  events: string[];
  /** Seq of the oldest event still kept (null: none kept). */
  firstSeq: number | null;
  lastSeq: number;
  ended: boolean;
}

interface Entry {
  seq: number;
  json: string;
}

/** Backoff of the whole-window rewrite after a failed write: 250 ms, doubling, at most 5 s. */
const REWRITE_FIRST_DELAY_MS = 250;
const REWRITE_MAX_DELAY_MS = 5_000;

/**
 * One turn's log: appends in order, trims to the limits, and mirrors the kept window to Redis
 * with at most one write in flight. Events appended while a write is in flight go out together
 * in the next one, so a fast stream costs a few Redis round trips rather than one per token,
 * and what waits to be written is never more than the kept window.
 */
export class TurnLog {
  readonly #entries: Entry[] = [];
  #bytes = 0;
  #lastSeq = 0;
  #ended = false;
  /** Highest seq handed to Redis (written, or lost to a failed write). */
  #writtenSeq = 0;
  #writing: Promise<void> | null = null;
  /**
   * A write to Redis failed: Redis may lack some of the turn's events, or its end, until a
   * rewrite of the whole kept window succeeds. Appending after the failure would leave Redis a
   * log with a hole in it (events 1, 2, 4 and the end: a reader on another node would take it
   * for the whole turn), so nothing is appended while lost: the window is rewritten instead,
   * retried with backoff until the log's TTL has passed.
   */
  #lost = false;
  #lostSince = 0;
  #retries = 0;
  #retry: NodeJS.Timeout | null = null;
  /** The retries stopped (the log's TTL passed since the failure) with Redis still lacking the window. */
  #gaveUp = false;
  readonly #whole = new Set<(whole: boolean) => void>();

  constructor(
    private readonly store: TurnStore,
    private readonly turnId: string,
    private readonly owner: TurnOwner,
  ) {}

  append(seq: number, json: string, final: boolean): void {
    const limits = this.store.limits;
    this.#entries.push({ seq, json });
    this.#bytes += Buffer.byteLength(json);
    this.#lastSeq = seq;
    if (final) this.#ended = true;
    // Newest win; the newest event is always kept, however large.
    while (this.#entries.length > 1 && (this.#entries.length > limits.maxEvents || this.#bytes > limits.maxBytes)) {
      this.#bytes -= Buffer.byteLength(this.#entries.shift()!.json);
    }
    this.#pump();
  }

  /** Bytes of the events held in memory now (bounded by the store's `maxBytes`, newest always kept). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Events with seq > afterSeq still in memory. */
  since(afterSeq: number): BufferedEvents {
    return {
      events: this.#entries.filter((e) => e.seq > afterSeq).map((e) => e.json),
      firstSeq: this.#entries[0]?.seq ?? null,
      lastSeq: this.#lastSeq,
      ended: this.#ended,
    };
  }

  /** Resolves when every event appended so far has reached Redis (or failed to). */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /**
   * Redis holds the kept window as this process does. False from a failed write until a
   * rewrite of the whole window succeeds (see {@link rejournaled}).
   */
  get journaled(): boolean {
    return !this.#lost;
  }

  /**
   * Resolves true once Redis holds the whole kept window again (at once when it does now),
   * false when the retries stopped at the log's TTL without it.
   */
  rejournaled(): Promise<boolean> {
    if (!this.#lost) return Promise.resolve(true);
    if (this.#gaveUp) return Promise.resolve(false);
    return new Promise((resolve) => this.#whole.add(resolve));
  }

  #pump(): void {
    if (this.#writing || this.#writtenSeq === this.#lastSeq) return;
    // While lost only the retry writes (the whole window), never an append; an event after the
    // retries gave up starts them over (the log's TTL runs from its last event).
    if (this.#lost) {
      if (this.#gaveUp) {
        [this.#gaveUp, this.#lostSince, this.#retries] = [false, Date.now(), 0];
        this.#scheduleRetry();
      }
      return;
    }
    // Redis already holds everything up to #writtenSeq; pushing the newer kept events and
    // trimming to the kept count leaves it holding exactly the window kept in memory.
    this.#write(this.#entries.filter((e) => e.seq > this.#writtenSeq));
  }

  /** Writes `entries` (the whole window when `replace`) and the turn's state. */
  #write(entries: Entry[], replace = false): void {
    const meta = {
      ws: this.owner.workspaceId,
      owner: this.owner.ownerKey,
      lastSeq: this.#lastSeq,
      ended: this.#ended ? 1 : 0,
    };
    this.#writtenSeq = this.#lastSeq;
    const batch = entries.map((e) => e.json);
    this.#writing = this.store.write(this.turnId, batch, this.#entries.length, meta, replace).then((written) => {
      this.#writing = null;
      if (!written) {
        if (!this.#lost) [this.#lost, this.#lostSince, this.#retries] = [true, Date.now(), 0];
        this.#scheduleRetry();
      } else if (replace) {
        this.#lost = false;
        this.#answerWaiters(true);
      }
      this.#pump();
    });
  }

  /** Answers the `rejournaled()` calls waiting. */
  #answerWaiters(whole: boolean): void {
    for (const resolve of this.#whole) resolve(whole);
    this.#whole.clear();
  }

  #scheduleRetry(): void {
    if (this.#retry) return;
    // Jittered, so turns that lost writes together do not all rewrite at the same instant.
    const base = Math.min(REWRITE_MAX_DELAY_MS, REWRITE_FIRST_DELAY_MS * 2 ** this.#retries++);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    if (Date.now() + delay - this.#lostSince > this.store.limits.ttlMs) {
      // Given up: a later `rejournaled()` answers false at once, and a later event starts over.
      this.#gaveUp = true;
      this.#answerWaiters(false);
      return;
    }
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#write(this.#entries, true);
    }, delay).unref();
  }
}

export class TurnStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    readonly limits: TurnBufferLimits,
    private readonly onError: (err: unknown) => void,
  ) {}

  #listKey(turnId: string): string {
    return `${this.keyPrefix}:ws:turn:${turnId}`;
  }

  #messageKey(owner: TurnOwner, clientMessageId: string): string {
    return `${this.keyPrefix}:ws:msg:${owner.workspaceId}:${owner.ownerKey}:${clientMessageId}`;
  }

  log(turnId: string, owner: TurnOwner): TurnLog {
    return new TurnLog(this, turnId, owner);
  }

  /**
   * Records that `clientMessageId` started `turnId`, unless it already started a turn: then
   * that turn's id is returned and nothing is recorded. One script, so null always means this
   * call recorded `turnId`: setting and then reading in two steps let a release between them
   * make a lost claim read as won, with no claim recorded (a further retry then started yet
   * another turn). A script rather than `SET NX GET`, which needs Redis 7.
   */
  async claimMessage(owner: TurnOwner, clientMessageId: string, turnId: string): Promise<string | null> {
    const found = await this.redis.eval(
      "local v = redis.call('get', KEYS[1]) if v then return v end " +
        "redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return false",
      1,
      this.#messageKey(owner, clientMessageId),
      turnId,
      this.limits.ttlMs,
    );
    return typeof found === 'string' ? found : null;
  }

  /**
   * Forgets the claim of `turnId` (a turn that never started, or whose process died). Only
   * while the claim is still that turn's: a second retry that found the same dead turn must not
   * drop the claim a fresh send has made since (a third retry would then start a second turn).
   */
  async releaseMessage(owner: TurnOwner, clientMessageId: string, turnId: string): Promise<void> {
    await this.redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
      1,
      this.#messageKey(owner, clientMessageId),
      turnId,
    );
  }

  /**
   * Called by TurnLog; never throws (a lost write only costs resume, not the live turn). True
   * when Redis took the whole write.
   */
  async write(
    turnId: string,
    batch: string[],
    keep: number,
    meta: { ws: string; owner: string; lastSeq: number; ended: number },
    replace = false,
  ): Promise<boolean> {
    const list = this.#listKey(turnId);
    const metaKey = `${list}:meta`;
    try {
      const tx = this.redis.multi();
      // A rewrite of the whole window after a failed write: what Redis holds is replaced.
      if (replace) tx.del(list);
      const replies = await tx
        .rpush(list, ...batch)
        .ltrim(list, -keep, -1)
        .pexpire(list, this.limits.ttlMs)
        .hset(metaKey, meta)
        .pexpire(metaKey, this.limits.ttlMs)
        .exec();
      // A command that failed when run (rather than when queued) fails alone, in its reply.
      const failed = replies === null ? new Error('Redis discarded the transaction') : replies.find(([e]) => e)?.[0];
      if (failed) throw failed;
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }

  /** The turn's state if `owner` owns it; null when it is unknown, expired or someone else's. */
  async meta(turnId: string, owner: TurnOwner): Promise<{ lastSeq: number; ended: boolean } | null> {
    const m = await this.redis.hgetall(`${this.#listKey(turnId)}:meta`);
    if (m.ws !== owner.workspaceId || m.owner !== owner.ownerKey) return null;
    return { lastSeq: Number(m.lastSeq ?? 0), ended: m.ended === '1' };
  }

  async read(turnId: string, owner: TurnOwner, afterSeq: number): Promise<BufferedEvents | null> {
    const meta = await this.meta(turnId, owner);
    if (!meta) return null;
    const all = await this.redis.lrange(this.#listKey(turnId), 0, -1);
    const seqOf = (json: string) => (JSON.parse(json) as { seq: number }).seq;
    return {
      events: all.filter((json) => seqOf(json) > afterSeq),
      firstSeq: all.length ? seqOf(all[0]!) : null,
      lastSeq: meta.lastSeq,
      ended: meta.ended,
    };
  }
}
