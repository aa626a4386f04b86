/**
 * REST chat turns as a stream of the WebSocket's turn events (docs/protocol.md#rest-chat):
 * `message_start`, `token`, `tool_start`, `tool_end`, `confirm_request`, `message_end`, each
 * with `turnId` and `seq`. A turn is started once per client message id and runs to its end
 * whether or not anyone is reading (a dropped stream does not stop it); its events go to the
 * WebSocket's resume journal (`TurnStore`: kept in memory here and mirrored to Redis for 10
 * minutes after the last event). A retry of the same `clientMessageId` attaches to that turn
 * instead of starting another, and with `Last-Event-ID: <turnId>:<seq>` gets only the events
 * after it — from this process's memory while the turn runs here, else from Redis (another
 * API process, or after the turn ended).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { HeraldError, isHeraldError } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
import { TurnStore, type TurnBufferLimits, type TurnLog, type TurnOwner } from '../ws/turn-buffer.js';
import { ENDED_TURN_OVERHEAD_BYTES, UnjournaledTurns, type WarnLog } from '../ws/unjournaled.js';
import type { ChatHandler } from '../ws/index.js';
import { runTurn, type TurnResult } from './chat.js';

/** How often a turn running elsewhere is read again from Redis. */
export const POLL_MS = 200;
/** Turns are kept (memory and Redis) this long after their last event: as the WebSocket's. */
export const KEEP_MS = 10 * 60_000;
/**
 * While a turn runs, the process running it keeps `<prefix>:chat:alive:<turnId>` in Redis,
 * refreshed every `ALIVE_EVERY_MS` with this TTL: a follower on another process that finds the
 * turn unfinished and this key gone knows the runner died (`turn_interrupted`).
 */
export const ALIVE_TTL_MS = 15_000;
export const ALIVE_EVERY_MS = 5_000;
/**
 * Ended turns stay in this process's memory for followers here (Redis holds them too) for
 * `KEEP_MS`, the least recently read going first once they come to more than this many bytes
 * (their events counted twice, for the strings in memory, plus a fixed overhead per turn):
 * memory stays bounded however many turns end in ten minutes. A turn whose write to Redis
 * failed is not among them: this process may hold its only whole copy, so it is kept for its
 * full `ttlMs` under a bound of its own (`RestTurns#unjournaled`, server/ws/unjournaled.ts).
 */
export const ENDED_TURNS_MAX_BYTES = 64 * 1024 * 1024;

export interface StreamEvent {
  seq: number;
  type: string;
  /** The event as sent, JSON. */
  json: string;
}

interface Live {
  log: TurnLog;
  events: EventEmitter;
}

const ownerOf = (p: Principal): TurnOwner => ({ workspaceId: p.workspaceId, ownerKey: p.limitKey });

/**
 * The events after `afterSeq` are no longer all kept (the log keeps the newest 1,000 / 1 MiB):
 * said as a typed error rather than sending a turn with a hole in it (the WebSocket's `resume`
 * says it with `firstSeq`).
 */
function checkKept(turnId: string, afterSeq: number, firstSeq: number | null): void {
  if (firstSeq !== null && firstSeq > afterSeq + 1)
    throw new HeraldError('invalid_state', {
      message: `The turn's events after seq ${afterSeq} are no longer all kept (oldest kept: ${firstSeq})`,
      details: { reason: 'events_gone', turnId, afterSeq, firstSeq },
    });
}

/** `Last-Event-ID` of this turn (`<turnId>:<seq>`) → the seq to go on after; 0 otherwise. */
export function afterSeqOf(lastEventId: string | undefined, turnId: string): number {
  if (!lastEventId) return 0;
  const at = lastEventId.lastIndexOf(':');
  if (at < 0 || lastEventId.slice(0, at) !== turnId) return 0;
  const seq = Number(lastEventId.slice(at + 1));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

export class RestTurns {
  readonly #store: TurnStore;
  /** Turns running in this process. */
  readonly #live = new Map<string, Live>();
  /** Turns that ended here, bounded by their logs' bytes (`ENDED_TURNS_MAX_BYTES`). */
  readonly #ended: LRUCache<string, Live>;
  /**
   * Turns that ended here after a write of their log to Redis failed, kept apart from `#ended`
   * so journaled turns never push them out: evicted before Redis held their log again, a retry
   * would find no whole log in Redis. Until the log's rewrite lands, or the log's TTL.
   */
  readonly #unjournaled: UnjournaledTurns<Live>;
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #onError: (err: unknown) => void;

  constructor(
    private readonly handler: ChatHandler,
    journal: {
      redis: Redis;
      keyPrefix: string;
      onError?: (err: unknown) => void;
      /** The log's bounds (tests make them small); default 1,000 events, 1 MiB, `KEEP_MS`. */
      limits?: Partial<TurnBufferLimits>;
      /** Bytes of ended turns' logs kept in memory; default `ENDED_TURNS_MAX_BYTES`. */
      endedMaxBytes?: number;
      /**
       * Bytes of ended turns whose log Redis lacks kept in memory (apart from the ended turns);
       * default `UNJOURNALED_TURNS_MAX_BYTES` (server/ws/unjournaled.ts).
       */
      unjournaledMaxBytes?: number;
      /** Where a turn dropped from memory that Redis lacks is reported; default: process warnings. */
      log?: WarnLog;
    },
  ) {
    this.#ended = new LRUCache<string, Live>({
      maxSize: journal.endedMaxBytes ?? ENDED_TURNS_MAX_BYTES,
      sizeCalculation: sizeOf,
      ttl: KEEP_MS,
      // Gone when its 10 minutes pass, not only when newer turns need the room.
      ttlAutopurge: true,
    });
    this.#redis = journal.redis;
    this.#keyPrefix = journal.keyPrefix;
    this.#onError = journal.onError ?? (() => undefined);
    this.#store = new TurnStore(
      journal.redis,
      journal.keyPrefix,
      { maxEvents: 1_000, maxBytes: 1024 * 1024, ttlMs: KEEP_MS, ...journal.limits },
      journal.onError ?? (() => undefined),
    );
    this.#unjournaled = new UnjournaledTurns<Live>({
      sizeOf,
      ttlMs: this.#store.limits.ttlMs,
      maxBytes: journal.unjournaledMaxBytes,
      log: journal.log,
    });
  }

  #aliveKey(turnId: string): string {
    return `${this.#keyPrefix}:chat:alive:${turnId}`;
  }

  /** `Last-Event-ID` of `turnId` → the seq to go on after (`afterSeqOf`). */
  afterSeqOf(lastEventId: string | undefined, turnId: string): number {
    return afterSeqOf(lastEventId, turnId);
  }

  /**
   * Starts the turn of `clientMessageId`, or finds the turn it already started (then
   * `duplicate`: nothing new runs).
   */
  async start(
    principal: Principal,
    input: { threadId: string; message: string; clientMessageId: string },
  ): Promise<{ turnId: string; duplicate: boolean }> {
    const owner = ownerOf(principal);
    const turnId = `turn_${randomUUID()}`;
    // Alive before it is claimed, so a retry that finds the claim never finds it dead.
    const aliveKey = this.#aliveKey(turnId);
    await this.#redis.set(aliveKey, '1', 'PX', ALIVE_TTL_MS);
    const first = await this.#store.claimMessage(owner, `chat:${input.clientMessageId}`, turnId);
    if (first) {
      await this.#redis.del(aliveKey);
      return { turnId: first, duplicate: true };
    }
    const beat = setInterval(() => {
      this.#redis.set(aliveKey, '1', 'PX', ALIVE_TTL_MS).catch(this.#onError);
    }, ALIVE_EVERY_MS).unref();

    const live: Live = { log: this.#store.log(turnId, owner), events: new EventEmitter() };
    this.#live.set(turnId, live);
    let seq = 0;
    const emit = (body: { type: string } & Record<string, unknown>) => {
      const event = { seq: ++seq, type: body.type, json: JSON.stringify({ ...body, turnId, seq }) };
      live.log.append(event.seq, event.json, body.type === 'message_end');
      live.events.emit('event', event);
    };
    emit({ type: 'message_start', threadId: input.threadId, clientMessageId: input.clientMessageId });
    // Not tied to the request: the turn ends on its own, read or not.
    void runTurn(this.handler, principal, input.threadId, input.message, undefined, {
      token: (text) => emit({ type: 'token', text }),
      toolStart: (call) => emit({ type: 'tool_start', ...call }),
      toolEnd: (end) => emit({ type: 'tool_end', ...end }),
      confirmRequest: (c) =>
        emit({
          type: 'confirm_request',
          requestId: c.confirmId,
          confirmId: c.confirmId,
          action: { summary: c.summary, details: c.details },
        }),
    })
      .then(
        () => emit({ type: 'message_end', reason: 'done' }),
        (err: unknown) =>
          emit({
            type: 'message_end',
            reason: 'error',
            error: isHeraldError(err)
              ? (err.toJSON() as { error: unknown }).error
              : { code: 'internal', message: 'The turn could not be completed' },
          }),
      )
      .finally(() => {
        void live.log
          .flushed()
          .then(async () => {
            this.#live.delete(turnId);
            if (live.log.journaled) this.#ended.set(turnId, live);
            // Alive while Redis lacks the turn's end and the log retries it: a follower on
            // another process waits for the end instead of taking the turn for dead (and letting
            // the message run again). At most the log's TTL. Once Redis holds it whole it is an
            // ordinary ended turn.
            else
              await this.#unjournaled.keep(turnId, live, live.log.rejournaled(), {
                then: () => this.#ended.set(turnId, live),
              });
          })
          .catch(this.#onError)
          .finally(() => {
            clearInterval(beat);
            // Only once the end is in Redis: a follower reads liveness before the log.
            this.#redis.del(aliveKey).catch(this.#onError);
          });
      });
    return { turnId, duplicate: false };
  }

  /**
   * Turns held in this process's memory: running, ended ones still kept (within their byte
   * bound), and ended ones Redis lacks (`unjournaled`, within a bound of their own).
   */
  get inMemory(): {
    running: number;
    ended: number;
    endedBytes: number;
    unjournaled: number;
    unjournaledBytes: number;
  } {
    return {
      running: this.#live.size,
      ended: this.#ended.size,
      endedBytes: this.#ended.calculatedSize,
      unjournaled: this.#unjournaled.size.turns,
      unjournaledBytes: this.#unjournaled.size.bytes,
    };
  }

  /**
   * The turn's events after `afterSeq`, in order, through `message_end`: from memory while it
   * runs in this process, else from Redis. Unknown, expired or someone else's: `not_found`;
   * events after `afterSeq` no longer all kept: `invalid_state` (`details.reason: events_gone`),
   * before any event. Running on another process that died (its liveness key gone, the turn
   * unfinished): the events kept, then `invalid_state` (`details.reason: turn_interrupted`),
   * and the claim of `clientMessageId` is released so the message can be sent again.
   */
  async *follow(
    principal: Principal,
    turnId: string,
    afterSeq: number,
    signal: AbortSignal,
    clientMessageId?: string,
  ): AsyncGenerator<StreamEvent> {
    const live = this.#live.get(turnId) ?? this.#unjournaled.get(turnId) ?? this.#ended.get(turnId);
    const owner = ownerOf(principal);
    if (live) {
      const queue: StreamEvent[] = [];
      let wake: (() => void) | undefined;
      const onEvent = (e: StreamEvent) => {
        queue.push(e);
        wake?.();
      };
      live.events.on('event', onEvent);
      signal.addEventListener('abort', () => wake?.(), { once: true });
      try {
        // Kept events first (subscribed before reading them, so nothing falls between).
        let last = afterSeq;
        const since = live.log.since(afterSeq);
        checkKept(turnId, afterSeq, since.firstSeq);
        const kept = since.events.map((json) => parse(json));
        for (const e of [...kept, ...queue.splice(0)]) {
          if (e.seq <= last) continue;
          last = e.seq;
          yield e;
          if (e.type === 'message_end') return;
        }
        while (!signal.aborted) {
          if (queue.length === 0) await new Promise<void>((r) => (wake = r));
          for (const e of queue.splice(0)) {
            if (e.seq <= last) continue;
            last = e.seq;
            yield e;
            if (e.type === 'message_end') return;
          }
        }
      } finally {
        live.events.off('event', onEvent);
      }
      return;
    }
    let last = afterSeq;
    const deadline = Date.now() + KEEP_MS;
    while (!signal.aborted && Date.now() < deadline) {
      // Liveness first, then the log: a runner drops its key only after its end is written.
      const alive = (await this.#redis.exists(this.#aliveKey(turnId))) === 1;
      const kept = await this.#store.read(turnId, owner, last);
      if (!kept && !clientMessageId) throw new HeraldError('not_found', { message: `No chat turn ${turnId}` });
      if (kept) {
        checkKept(turnId, last, kept.firstSeq);
        for (const json of kept.events) {
          const e = parse(json);
          last = e.seq;
          yield e;
          if (e.type === 'message_end') return;
        }
      }
      if (!alive) {
        // The claim is this owner's, so its turn is theirs even when nothing of it was written.
        if (clientMessageId) await this.#store.releaseMessage(owner, `chat:${clientMessageId}`, turnId);
        throw new HeraldError('invalid_state', {
          message: 'The process running this turn stopped before it ended; send the message again',
          details: { reason: 'turn_interrupted', turnId, lastSeq: last },
        });
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** The turn's whole result, as `POST /v1/chat` answers in JSON (waits for its end). */
  async result(
    principal: Principal,
    turnId: string,
    signal: AbortSignal,
    clientMessageId?: string,
  ): Promise<TurnResult> {
    const result: TurnResult = { threadId: '', reply: '', toolCalls: [], confirmRequest: null };
    for await (const e of this.follow(principal, turnId, 0, signal, clientMessageId)) {
      const body = JSON.parse(e.json) as Record<string, unknown>;
      if (e.type === 'message_start') result.threadId = body.threadId as string;
      else if (e.type === 'token') result.reply += body.text as string;
      else if (e.type === 'tool_start')
        result.toolCalls.push({ toolCallId: body.toolCallId, name: body.name, input: body.input } as never);
      else if (e.type === 'tool_end') {
        const call = result.toolCalls.findLast((c) => c.toolCallId === body.toolCallId);
        if (call)
          Object.assign(call, { ok: body.ok, output: body.output, ...(body.error ? { error: body.error } : {}) });
      } else if (e.type === 'confirm_request') {
        const action = body.action as { summary: string; details: unknown };
        result.confirmRequest = {
          confirmId: body.confirmId as string,
          summary: action.summary,
          details: action.details,
        };
      } else if (e.type === 'message_end' && body.reason === 'error') {
        const err = body.error as { code: string; message: string };
        throw new HeraldError(err.code as never, { message: err.message });
      }
    }
    return result;
  }
}

/**
 * An ended turn's bytes in memory: its events' JSON as UTF-8, twice over for the strings'
 * in-memory form, and its own objects (log, emitter, entries): what it holds, not only what it wrote.
 */
function sizeOf(live: Live): number {
  return 2 * live.log.bytes + ENDED_TURN_OVERHEAD_BYTES;
}

function parse(json: string): StreamEvent {
  const body = JSON.parse(json) as { seq: number; type: string };
  return { seq: body.seq, type: body.type, json };
}
