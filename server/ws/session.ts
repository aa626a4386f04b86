/**
 * The chat protocol for one authenticated connection: starts turns (once per client message
 * id), cancels, answers confirmations, resumes, forwards post and account status changes, and applies the
 * credential policy — a credential that expires or is revoked refuses new turns at once and
 * closes the socket (4001) once the turns it is following have ended. Transport concerns
 * (frames, rate, heartbeats, backpressure) belong to `connection.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { HeraldError, isHeraldError, type EventBus, type HeraldEvent } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
import { authenticate } from '../auth/service.js';
import type { ResolvedWsOptions } from './options.js';
import {
  CLOSE_CODES,
  errorEvent,
  type ClientMessage,
  type ClientMessageOf,
  type ErrorRef,
  type ServerEvent,
} from './protocol.js';
import type { TurnStore, TurnOwner } from './turn-buffer.js';
import { Turn, type TurnRegistry, type TurnSubscriber } from './turn.js';
import { VoiceBinding } from './voice-binding.js';

export interface SessionShared {
  options: ResolvedWsOptions;
  store: TurnStore;
  turns: TurnRegistry;
  log: FastifyBaseLogger;
}

/** What a session needs from its socket. */
export interface SessionTransport {
  send(event: ServerEvent): void;
  sendRaw(json: string): void;
  /** One binary frame (voice audio out). */
  sendBinary(data: Buffer): void;
  close(code: number, reason: string): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Redis errors become the catalogue's retryable `redis_unavailable`. */
async function viaRedis<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new HeraldError('redis_unavailable', { cause: err });
  }
}

export class ChatSession implements TurnSubscriber {
  readonly owner: TurnOwner;
  #principal: Principal;
  readonly #credential: string;
  /** Turns whose events this connection receives live, by id. */
  readonly #live = new Map<string, Turn>();
  #lapsed: HeraldError | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #unsubscribeEvents: (() => Promise<void>) | undefined;
  #detached = false;
  #voice: VoiceBinding | null = null;

  constructor(
    private readonly shared: SessionShared,
    private readonly transport: SessionTransport,
    principal: Principal,
    credential: string,
    credentialExpiresAt: Date | null,
  ) {
    this.#principal = principal;
    this.#credential = credential;
    this.owner = { workspaceId: principal.workspaceId, ownerKey: principal.limitKey };
    if (credentialExpiresAt) {
      const ms = Math.min(Math.max(0, credentialExpiresAt.getTime() - Date.now()), MAX_TIMER_MS);
      this.#expiryTimer = setTimeout(
        () =>
          this.#lapse(
            new HeraldError('token_expired', {
              message: 'The access token has expired; refresh it, reconnect and resume',
            }),
          ),
        ms,
      );
      this.#expiryTimer.unref();
    }
  }

  /**
   * Forwards this workspace's `target.status` events as `post_status`, `account.status` as
   * `account_status`, `model.pull` as `model_pull`, and this member's `notification`s.
   */
  async followEvents(events: EventBus): Promise<void> {
    const unsubscribe = await events.subscribe(this.owner.workspaceId, (e) => this.#onEvent(e));
    if (this.#detached) await unsubscribe();
    else this.#unsubscribeEvents = unsubscribe;
  }

  async handle(msg: ClientMessage): Promise<void> {
    switch (msg.type) {
      case 'ping':
        return this.transport.send({ type: 'pong', ...(msg.id === undefined ? {} : { id: msg.id }) });
      case 'user_message':
        return this.#userMessage(msg);
      case 'cancel':
        return this.#cancel(msg);
      case 'confirm':
      case 'reject':
        return this.#answer(msg);
      case 'resume':
        return this.#resume(msg);
      case 'voice_start':
        return this.#voiceBinding().start(msg);
      case 'voice_mute':
        return this.#voiceBinding().mute(msg);
      case 'voice_stop':
        return this.#voiceBinding().stop();
    }
  }

  /** The voice session's side of this connection, when one is running (it takes the binary frames). */
  get voice(): VoiceBinding | null {
    return this.#voice?.active ? this.#voice : null;
  }

  deliver(turnId: string, json: string, final: boolean): void {
    this.transport.sendRaw(json);
    this.#voice?.onTurnEvent(turnId, json, final);
    if (final) {
      this.#live.delete(turnId);
      this.#closeIfLapsed();
    }
  }

  /** The socket has closed: stop following turns (they run on, and can be resumed) and events. */
  detach(): void {
    this.#detached = true;
    this.#voice?.close();
    clearTimeout(this.#expiryTimer);
    for (const turn of this.#live.values()) turn.unsubscribe(this);
    this.#live.clear();
    const unsubscribe = this.#unsubscribeEvents;
    this.#unsubscribeEvents = undefined;
    if (unsubscribe) void unsubscribe().catch((err: unknown) => this.shared.log.warn({ err }, 'unsubscribe failed'));
  }

  #error(err: HeraldError, ref: ErrorRef): void {
    this.transport.send(errorEvent(err, ref));
  }

  #lapse(err: HeraldError, ref: ErrorRef = {}): void {
    if (!this.#lapsed) this.#lapsed = err;
    this.#error(err, ref);
    this.#closeIfLapsed();
  }

  #closeIfLapsed(): void {
    if (this.#lapsed && this.#live.size === 0) {
      this.transport.close(
        CLOSE_CODES.authEnded,
        this.#lapsed.code === 'token_expired' ? 'token expired' : 'unauthorized',
      );
    }
  }

  async #userMessage(msg: ClientMessageOf<'user_message'>): Promise<void> {
    if (this.#lapsed) return this.#error(this.#lapsed, { id: msg.id });
    if (!(await this.#recheck({ id: msg.id }))) return;
    const { store, options } = this.shared;
    const turnId = `turn_${randomUUID()}`;
    const existing = await viaRedis(store.claimMessage(this.owner, msg.id, turnId));
    if (existing) return this.transport.send({ type: 'ack', id: msg.id, turnId: existing, duplicate: true });
    if (this.#live.size >= options.maxConcurrentTurns) {
      await viaRedis(store.releaseMessage(this.owner, msg.id, turnId));
      return this.#error(this.#tooManyTurns(), { id: msg.id });
    }
    this.transport.send({ type: 'ack', id: msg.id, turnId, duplicate: false });
    this.#startTurn(turnId, msg.id, msg.text, msg.threadId ?? `thread_${randomUUID()}`);
  }

  /**
   * Re-checks the credential now (a change to this user, key, session or workspace was
   * notified). Lapsed — removed, key revoked, logged out — the connection stops at once: its
   * running turns are cancelled and the socket closes 4001. Still valid, the principal is
   * refreshed, so a demotion applies to the next turn.
   */
  async revalidate(): Promise<void> {
    if (this.#lapsed || this.#detached) return;
    try {
      this.#principal = await authenticate(this.shared.options.deps.auth, this.#credential);
    } catch (err) {
      if (!isHeraldError(err, 'unauthorized') && !isHeraldError(err, 'token_expired')) throw err;
      this.#lapsed = err;
      this.#error(err, {});
      for (const turn of this.#live.values()) turn.cancel('client');
      this.transport.close(CLOSE_CODES.authEnded, err.code === 'token_expired' ? 'token expired' : 'unauthorized');
    }
  }

  /** The principal-cache tags whose change may end or alter this connection's rights. */
  get tags(): string[] {
    const p = this.#principal;
    return [
      `w:${p.workspaceId}`,
      ...(p.userId ? [`u:${p.userId}`] : []),
      ...(p.apiKeyId ? [`k:${p.apiKeyId}`] : []),
      ...(p.sessionId ? [`s:${p.sessionId}`] : []),
    ];
  }

  /**
   * Every new turn re-checks the credential, so a logout, a revoked key or a removal from the
   * workspace stops new work without waiting for the token to expire. False when it lapsed.
   */
  async #recheck(ref: ErrorRef): Promise<boolean> {
    try {
      this.#principal = await authenticate(this.shared.options.deps.auth, this.#credential);
      return true;
    } catch (err) {
      if (isHeraldError(err, 'unauthorized') || isHeraldError(err, 'token_expired')) {
        this.#lapse(err, ref);
        return false;
      }
      throw err;
    }
  }

  #tooManyTurns(): HeraldError {
    const max = this.shared.options.maxConcurrentTurns;
    return new HeraldError('rate_limited', {
      message: `At most ${max} turns may run at once on one connection; wait for one to end`,
      details: { maxConcurrentTurns: max },
    });
  }

  #startTurn(
    turnId: string,
    clientMessageId: string,
    text: string,
    threadId: string,
    voice = false,
    speculative = false,
  ): Turn {
    const { store, turns, options } = this.shared;
    const turn = new Turn({
      speculative,
      chat: { principal: this.#principal, turnId, threadId, clientMessageId, text },
      owner: this.owner,
      log: store.log(turnId, this.owner),
      logTtlMs: store.limits.ttlMs,
      confirmTimeoutMs: options.confirmTimeoutMs,
      orphanTurnMs: options.orphanTurnMs,
      onHandlerError: (err) => this.shared.log.error({ err, turnId }, 'chat handler failed'),
    });
    turns.add(turn);
    if (voice) this.#voice?.adopt(turn.chat);
    // A message received before the socket dropped still runs: a retry with the same id
    // after reconnecting gets its turn id (duplicate ack) and can resume it.
    if (!this.#detached && turn.subscribe(this)) this.#live.set(turnId, turn);
    turn.start(options.handler);
    return turn;
  }

  #voiceBinding(): VoiceBinding {
    const engines = this.shared.options.voice;
    if (!engines) {
      throw new HeraldError('voice_unavailable', {
        message: 'Voice is not configured on this server: set VOICE_STT (see the README, "Voice")',
      });
    }
    this.#voice ??= new VoiceBinding(engines, {
      send: (e) => this.transport.send(e),
      sendAudio: (f) => this.transport.sendBinary(f),
      startTurn: async (text, clientMessageId, threadId, speculative) => {
        if (this.#lapsed) throw this.#lapsed;
        if (!(await this.#recheck({ id: clientMessageId }))) return null; // the lapse was reported
        if (this.#live.size >= this.shared.options.maxConcurrentTurns) throw this.#tooManyTurns();
        const turnId = `turn_${randomUUID()}`;
        const turn = this.#startTurn(turnId, clientMessageId, text, threadId, true, speculative);
        return {
          turnId,
          commit: () => turn.commit(),
          discard: () => {
            turn.discard();
            this.#live.delete(turnId);
          },
        };
      },
      cancelTurn: (turnId) => this.shared.turns.get(turnId, this.owner)?.cancel('client'),
      answer: (turnId, requestId, decision) => {
        const turn = this.shared.turns.get(turnId, this.owner);
        return !!turn && !turn.ended && turn.answer(requestId, decision);
      },
      keepSpoken: (chat, spoken) => {
        const keep = this.shared.options.handler.keepSpoken;
        if (!keep) return;
        // Once the turn has ended, so a cancelled run has stopped writing the conversation.
        const turn = this.shared.turns.get(chat.turnId, this.owner);
        void (turn ? turn.settled : Promise.resolve())
          .then(() => keep.call(this.shared.options.handler, chat, spoken))
          .catch((err: unknown) =>
            this.shared.log.warn({ err, turnId: chat.turnId }, 'keeping the spoken part failed'),
          );
      },
      log: this.shared.log,
    });
    return this.#voice;
  }

  async #cancel(msg: ClientMessageOf<'cancel'>): Promise<void> {
    // Its spoken answer stops too, even when the text of the reply has already ended.
    this.#voice?.cancelled(msg.turnId);
    const turn = this.shared.turns.get(msg.turnId, this.owner);
    if (turn) return turn.cancel('client');
    const meta = await viaRedis(this.shared.store.meta(msg.turnId, this.owner));
    if (!meta) return this.#notFound(msg.turnId);
    // Already ended: nothing to do (a cancel racing message_end is not an error).
    if (!meta.ended) this.#elsewhere(msg.turnId);
  }

  async #answer(msg: ClientMessageOf<'confirm'> | ClientMessageOf<'reject'>): Promise<void> {
    const ref = { turnId: msg.turnId, requestId: msg.requestId };
    const turn = this.shared.turns.get(msg.turnId, this.owner);
    if (turn && !turn.ended) {
      const decision =
        msg.type === 'confirm'
          ? ({ confirmed: true, ...(msg.edit ? { edit: msg.edit } : {}) } as const)
          : ({ confirmed: false, ...(msg.reason ? { message: msg.reason } : {}) } as const);
      if (!turn.answer(msg.requestId, decision)) {
        this.#error(
          new HeraldError('not_found', { message: `No confirmation request ${msg.requestId} is waiting in this turn` }),
          ref,
        );
      }
      return;
    }
    const meta = turn ? { ended: true } : await viaRedis(this.shared.store.meta(msg.turnId, this.owner));
    if (!meta) return this.#notFound(msg.turnId);
    if (meta.ended) {
      return this.#error(
        new HeraldError('invalid_state', { message: 'The turn has ended', details: { ended: true } }),
        ref,
      );
    }
    this.#elsewhere(msg.turnId);
  }

  async #resume(msg: ClientMessageOf<'resume'>): Promise<void> {
    if (this.#lapsed) return this.#error(this.#lapsed, { turnId: msg.turnId });
    const turn = this.shared.turns.get(msg.turnId, this.owner);
    // Same node: replay from memory and subscribe in the same tick, so no event falls between.
    const buffered = turn
      ? turn.replay(msg.afterSeq)
      : await viaRedis(this.shared.store.read(msg.turnId, this.owner, msg.afterSeq));
    if (!buffered) return this.#notFound(msg.turnId);
    const live = !!turn && !this.#detached && turn.subscribe(this);
    if (live) this.#live.set(turn.id, turn);
    this.transport.send({
      type: 'resumed',
      turnId: msg.turnId,
      afterSeq: msg.afterSeq,
      firstSeq: buffered.firstSeq,
      lastSeq: buffered.lastSeq,
      live,
      ended: buffered.ended,
    });
    for (const json of buffered.events) this.transport.sendRaw(json);
  }

  /** Unknown, expired, and someone else's turns all read the same. */
  #notFound(turnId: string): void {
    this.#error(new HeraldError('not_found', { message: `No turn ${turnId}` }), { turnId });
  }

  #elsewhere(turnId: string): void {
    this.#error(
      new HeraldError('invalid_state', {
        message: 'The turn is running on another server (or its server stopped); resume it to follow it',
        details: { ended: false },
      }),
      { turnId },
    );
  }

  #onEvent(e: HeraldEvent): void {
    if (e.workspaceId !== this.owner.workspaceId) return;
    if (e.type === 'model.pull') {
      this.transport.send({
        type: 'model_pull',
        model: e.model,
        status: e.status,
        completedBytes: e.completedBytes,
        totalBytes: e.totalBytes,
        percent: e.percent,
        error: e.error,
        at: e.at,
      });
      return;
    }
    if (e.type === 'account.status') {
      this.transport.send({
        type: 'account_status',
        socialAccountId: e.socialAccountId,
        platform: e.platform,
        status: e.status,
        reason: e.reason,
        at: e.at,
      });
      return;
    }
    if (e.type === 'notification') {
      // Only the member it is for, signed in as themself (not an API key they created).
      if (this.#principal.kind !== 'user' || this.#principal.userId !== e.userId) return;
      this.transport.send({
        type: 'notification',
        notificationId: e.notificationId,
        kind: e.kind,
        text: e.text,
        data: e.data,
        at: e.at,
      });
      return;
    }
    if (e.type !== 'target.status') return;
    this.transport.send({
      type: 'post_status',
      postId: e.postId,
      targetId: e.targetId,
      socialAccountId: e.socialAccountId,
      platform: e.platform,
      from: e.from,
      to: e.to,
      at: e.at,
      ...(e.scheduledAt === undefined ? {} : { scheduledAt: e.scheduledAt }),
      ...(e.platformPostId === undefined ? {} : { platformPostId: e.platformPostId }),
      ...(e.url === undefined ? {} : { url: e.url }),
      ...(e.error === undefined ? {} : { error: e.error }),
    });
  }
}
