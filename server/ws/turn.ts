/**
 * One chat turn on this node: runs the `ChatHandler`, numbers its events (`seq` 1, 2, 3...),
 * logs them for resume, fans them out to the connections subscribed to it, and keeps the
 * confirmations it is waiting for. A turn outlives the socket that started it, so a client
 * can reconnect and resume it; with nobody subscribed for `orphanTurnMs` it is cancelled.
 */
import { randomUUID } from 'node:crypto';
import { HeraldError, isHeraldError } from '../../core/index.js';
import type { ChatHandler, ChatTurn, ConfirmAction, ConfirmDecision, ConfirmEdit, TurnSink } from './chat-handler.js';
import { wsCounters } from './metrics.js';
import type { ErrorBody, TurnEventBody } from './protocol.js';
import type { BufferedEvents, TurnLog, TurnOwner } from './turn-buffer.js';
import { ENDED_TURN_OVERHEAD_BYTES, UnjournaledTurns, type WarnLog } from './unjournaled.js';

/** A connection, as a turn sees it. `deliver` must not throw. */
export interface TurnSubscriber {
  deliver(turnId: string, json: string, final: boolean): void;
}

export type CancelCause = 'client' | 'orphaned' | 'shutdown';

interface PendingConfirm {
  resolve: (d: ConfirmDecision) => void;
  timer: NodeJS.Timeout;
}

export interface TurnInit {
  chat: ChatTurn;
  owner: TurnOwner;
  log: TurnLog;
  /**
   * How long the log is kept after the turn's last event (the store's `ttlMs`, as long as a
   * retry finds the claim): an ended turn whose log did not reach Redis stays in the registry
   * this long, so `resume` here still replays it whole.
   */
  logTtlMs: number;
  confirmTimeoutMs: number;
  orphanTurnMs: number;
  /** Failures of the handler that are not Herald errors (bugs): for the log. */
  onHandlerError: (err: unknown) => void;
  /**
   * A speculative turn (voice, started before the user's turn was judged over): its events are
   * held — not numbered, logged nor delivered — until `commit`; `discard` drops it without a
   * trace. The handler sees `chat.hold`.
   */
  speculative?: boolean;
}

export class Turn {
  readonly id: string;
  readonly owner: TurnOwner;
  readonly #init: TurnInit;
  #seq = 0;
  #ended = false;
  readonly #subscribers = new Set<TurnSubscriber>();
  readonly #abort = new AbortController();
  readonly #pending = new Map<string, PendingConfirm>();
  #orphanTimer: NodeJS.Timeout | undefined;
  #settle!: () => void;
  /** Resolves once the turn has ended and its log has reached Redis. */
  readonly settled: Promise<void>;
  /** A speculative turn's events until it is committed; null once committed (or never speculative). */
  #held: TurnEventBody[] | null = null;
  #decide: ((committed: boolean) => void) | undefined;

  constructor(init: TurnInit) {
    this.#init = init;
    this.id = init.chat.turnId;
    this.owner = init.owner;
    this.settled = new Promise((resolve) => (this.#settle = resolve));
    if (init.speculative) {
      this.#held = [];
      const hold = new Promise<boolean>((resolve) => (this.#decide = resolve));
      this.#init = { ...init, chat: { ...init.chat, hold } };
    }
  }

  /** True while the turn is speculative (neither committed nor discarded). */
  get held(): boolean {
    return this.#held !== null;
  }

  /** A speculative turn becomes a real one: what it held goes out in order, the rest live. */
  commit(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    this.#decide?.(true);
    for (const body of held) {
      if (body.type === 'message_end') this.#end(body);
      else this.#emit(body);
    }
  }

  /** A speculative turn is dropped: its handler is aborted and nothing of it is sent or logged. */
  discard(): void {
    if (!this.#held || this.#ended) return;
    this.#held = null;
    this.#ended = true;
    this.#decide?.(false);
    wsCounters.turnEnded();
    this.#subscribers.clear();
    clearTimeout(this.#orphanTimer);
    this.#abort.abort();
    for (const [, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.resolve({ confirmed: false, reason: 'cancelled' });
    }
    this.#pending.clear();
    this.#settle();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Every write of the turn's log reached Redis (so far): otherwise this node may hold its only whole copy. */
  get journaled(): boolean {
    return this.#init.log.journaled;
  }

  /** Resolves true once Redis holds the turn's log whole again after a failed write (`TurnLog.rejournaled`). */
  rejournaled(): Promise<boolean> {
    return this.#init.log.rejournaled();
  }

  /** How long its log is kept after its last event (`TurnInit.logTtlMs`). */
  get logTtlMs(): number {
    return this.#init.logTtlMs;
  }

  /**
   * Bytes an ended turn holds, counted generously: its kept events' JSON as UTF-8 and the
   * user's text, twice over for the strings' in-memory form, plus its own objects.
   */
  get heldBytes(): number {
    return 2 * (this.#init.log.bytes + this.#init.chat.text.length) + ENDED_TURN_OVERHEAD_BYTES;
  }

  /** What the handler was given for this turn. */
  get chat(): ChatTurn {
    return this.#init.chat;
  }

  ownedBy(owner: TurnOwner): boolean {
    return this.owner.workspaceId === owner.workspaceId && this.owner.ownerKey === owner.ownerKey;
  }

  /** Starts the handler; `message_start` is sent before this returns. */
  start(handler: ChatHandler): void {
    wsCounters.turnStarted();
    this.#armOrphanTimer();
    this.#emit({
      type: 'message_start',
      threadId: this.#init.chat.threadId,
      clientMessageId: this.#init.chat.clientMessageId,
    });
    void (async () => {
      try {
        await handler.handle(this.#init.chat, this.#sink(), this.#abort.signal);
        this.#end({ type: 'message_end', reason: 'done' });
      } catch (err) {
        if (!isHeraldError(err)) this.#init.onHandlerError(err);
        const error: ErrorBody = (isHeraldError(err) ? err : new HeraldError('internal')).toJSON().error;
        this.#end({ type: 'message_end', reason: 'error', error });
      }
    })();
  }

  /** Returns false when the turn has ended (nothing more will come). */
  subscribe(sub: TurnSubscriber): boolean {
    if (this.#ended) return false;
    this.#subscribers.add(sub);
    clearTimeout(this.#orphanTimer);
    this.#orphanTimer = undefined;
    return true;
  }

  unsubscribe(sub: TurnSubscriber): void {
    if (this.#subscribers.delete(sub)) this.#armOrphanTimer();
  }

  #armOrphanTimer(): void {
    if (this.#ended || this.#subscribers.size > 0 || this.#orphanTimer) return;
    this.#orphanTimer = setTimeout(() => this.cancel('orphaned'), this.#init.orphanTurnMs);
    this.#orphanTimer.unref();
  }

  replay(afterSeq: number): BufferedEvents {
    return this.#init.log.since(afterSeq);
  }

  cancel(cause: CancelCause): void {
    if (this.#ended) return;
    if (this.#held) return this.discard();
    // Only a shutdown says why: the client did not ask for it and may want to retry elsewhere.
    const error = cause === 'shutdown' ? new HeraldError('shutting_down').toJSON().error : undefined;
    this.#end({ type: 'message_end', reason: 'cancelled', ...(error ? { error } : {}) });
  }

  /** The user's answer to a confirmation request; false when no such request is waiting. */
  answer(
    requestId: string,
    decision: { confirmed: true; edit?: ConfirmEdit } | { confirmed: false; message?: string },
  ): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending || this.#ended) return false;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    if (decision.confirmed) {
      const edit = decision.edit;
      this.#emit({ type: 'confirm_result', requestId, outcome: 'confirmed', ...(edit ? { edit } : {}) });
      pending.resolve({ confirmed: true, ...(edit ? { edit } : {}) });
    } else {
      const message = decision.message;
      this.#emit({ type: 'confirm_result', requestId, outcome: 'rejected', ...(message ? { reason: message } : {}) });
      pending.resolve({ confirmed: false, reason: 'rejected', ...(message ? { message } : {}) });
    }
    return true;
  }

  #sink(): TurnSink {
    return {
      token: (text) => this.#emit({ type: 'token', text }),
      toolStart: ({ toolCallId, name, input }) => this.#emit({ type: 'tool_start', toolCallId, name, input }),
      toolEnd: ({ toolCallId, name, ok, output, error }) =>
        this.#emit({ type: 'tool_end', toolCallId, name, ok, output, ...(error ? { error } : {}) }),
      confirm: (action) => this.#confirm(action),
    };
  }

  #confirm(action: ConfirmAction): Promise<ConfirmDecision> {
    if (this.#ended) return Promise.resolve({ confirmed: false, reason: 'cancelled' });
    const requestId = `cfm_${randomUUID()}`;
    const expiresAt = new Date(Date.now() + this.#init.confirmTimeoutMs).toISOString();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(requestId)) return;
        this.#emit({ type: 'confirm_result', requestId, outcome: 'expired' });
        resolve({ confirmed: false, reason: 'expired' });
      }, this.#init.confirmTimeoutMs);
      timer.unref();
      this.#pending.set(requestId, { resolve, timer });
      const shown = { summary: action.summary, ...(action.details === undefined ? {} : { details: action.details }) };
      this.#emit({ type: 'confirm_request', requestId, action: shown, expiresAt });
    });
  }

  #emit(body: TurnEventBody): void {
    if (this.#ended) return;
    if (this.#held) {
      this.#held.push(body);
      return;
    }
    const seq = this.#seq + 1;
    // Serialised before the seq is taken: a handler value JSON cannot carry fails the call, not the turn's numbering.
    // Assigned last too, so nothing in the body can replace the turn id or seq.
    const json = JSON.stringify(
      Object.assign({ type: body.type, turnId: this.id, seq }, body, { turnId: this.id, seq }),
    );
    this.#seq = seq;
    const final = body.type === 'message_end';
    if (final) this.#ended = true;
    this.#init.log.append(seq, json, final);
    for (const sub of [...this.#subscribers]) sub.deliver(this.id, json, final);
  }

  #end(body: Extract<TurnEventBody, { type: 'message_end' }>): void {
    if (this.#ended) return;
    // Held: the end goes out (and the turn is cleaned up) when it is committed.
    if (this.#held) return void this.#held.push(body);
    this.#emit(body);
    wsCounters.turnEnded();
    this.#subscribers.clear();
    clearTimeout(this.#orphanTimer);
    this.#abort.abort();
    for (const [, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.resolve({ confirmed: false, reason: 'cancelled' });
    }
    this.#pending.clear();
    void this.#init.log.flushed().then(this.#settle);
  }
}

/**
 * The turns running on this node (and those whose log is still being written), and the ended
 * turns whose log did not reach Redis (a write failed). Those stay until the log's rewrite
 * lands or its TTL passes, within `unjournaledMaxBytes` (unjournaled.ts): gone from here before, a `resume` would read Redis's partial copy
 * (`ended: false, live: false`) while the claim of their client message id only gives the
 * same turn id again, so the client could neither get the result nor send the message anew.
 */
export class TurnRegistry {
  readonly #turns = new Map<string, Turn>();
  readonly #unjournaled: UnjournaledTurns<Turn>;

  constructor(opts: { unjournaledMaxBytes?: number; log?: WarnLog } = {}) {
    this.#unjournaled = new UnjournaledTurns<Turn>({
      sizeOf: (turn) => turn.heldBytes,
      maxBytes: opts.unjournaledMaxBytes,
      log: opts.log,
      describe: (turn) => ({ workspaceId: turn.owner.workspaceId }),
    });
  }

  add(turn: Turn): void {
    this.#turns.set(turn.id, turn);
    void turn.settled.then(() => {
      this.#turns.delete(turn.id);
      // Kept until the log's rewrite lands (Redis holds it whole: `resume` anywhere reads it there).
      if (!turn.journaled) void this.#unjournaled.keep(turn.id, turn, turn.rejournaled(), { ttlMs: turn.logTtlMs });
    });
  }

  /** The turn if it is here and `owner` owns it (ended, when its log did not reach Redis). */
  get(turnId: string, owner: TurnOwner): Turn | undefined {
    const turn = this.#turns.get(turnId) ?? this.#unjournaled.get(turnId);
    return turn?.ownedBy(owner) ? turn : undefined;
  }

  /** Ended turns kept because Redis lacks their log: how many, and their bytes (`heldBytes`). */
  get unjournaled(): { turns: number; bytes: number } {
    return this.#unjournaled.size;
  }

  /** Cancels every running turn and waits until their logs are written. */
  async shutdown(): Promise<void> {
    const all = [...this.#turns.values()];
    for (const turn of all) turn.cancel('shutdown');
    await Promise.all(all.map((t) => t.settled));
  }
}
