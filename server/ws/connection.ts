/**
 * One WebSocket after its upgrade: the transport side of the protocol. It turns frames into
 * messages (one at a time, in order), limits their rate, hands binary frames to the voice
 * session (an error without one), keeps the connection alive with pings, refuses to buffer for a reader
 * that does not keep up (4008), and hands every valid message to its `ChatSession`. Nothing a
 * client sends can throw out of here.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { HeraldError, isHeraldError } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
import { MessageBucket } from './bucket.js';
import { wsCounters } from './metrics.js';
import {
  CLOSE_CODES,
  errorEvent,
  parseClientFrame,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  type ClientMessage,
  type ServerEvent,
} from './protocol.js';
import { ChatSession, type SessionShared, type SessionTransport } from './session.js';

/** One dropped (rate-limited) message is forgiven per this long; see `maxDroppedMessages`. */
export const DROP_FORGIVE_MS = 10_000;

export interface ConnectionInit {
  principal: Principal;
  credential: string;
  credentialExpiresAt: Date | null;
  log: FastifyBaseLogger;
  /** Called once, when the socket has closed. */
  onClosed: () => void;
}

export class ChatConnection implements SessionTransport {
  readonly id = `conn_${randomUUID()}`;
  /** Resolves when the socket has closed (handshake done or socket destroyed). */
  readonly closed: Promise<void>;
  readonly #socket: WebSocket;
  readonly #shared: SessionShared;
  readonly #init: ConnectionInit;
  readonly #log: FastifyBaseLogger;
  readonly #session: ChatSession;
  readonly #bucket: MessageBucket;
  /** Dropped messages not yet forgiven (one is forgiven every `DROP_FORGIVE_MS`). */
  #dropped = 0;
  #droppedAt = performance.now();
  /** A revalidation is queued and has not started yet. */
  #revalidating = false;
  /** Set from a voice_start until its voice_stop: binary frames are audio, with this budget. */
  #voiceFrames: MessageBucket | null = null;
  /**
   * A binary frame outside a voice session was answered: later ones are dropped unanswered
   * until the next voice_start or voice_stop (a microphone left running sends 50 a second).
   */
  #strayAudioAnswered = false;
  #missedPongs = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing = false;
  /** Set once the client broke policy: later frames are ignored while the queue drains. */
  #refusing = false;
  #queue: Promise<void> = Promise.resolve();
  #resolveClosed!: () => void;

  constructor(shared: SessionShared, socket: WebSocket, init: ConnectionInit) {
    this.#shared = shared;
    this.#socket = socket;
    this.#init = init;
    this.#log = init.log.child({ connectionId: this.id });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#bucket = new MessageBucket(shared.options.messagesPerSecond, shared.options.messageBurst);
    this.#session = new ChatSession(shared, this, init.principal, init.credential, init.credentialExpiresAt);
  }

  /** Wires the socket up and sends `ready`; call right after the upgrade, before any await. */
  open(): void {
    wsCounters.opened();
    const { options } = this.#shared;
    const { limits, events } = options.deps;
    this.#socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    this.#socket.on('pong', () => (this.#missedPongs = 0));
    this.#socket.once('close', () => this.#onClose());
    this.#heartbeat = setInterval(() => this.#beat(), limits.wsHeartbeatMs);
    const ready: ServerEvent = {
      type: 'ready',
      connectionId: this.id,
      protocol: SUBPROTOCOL,
      version: PROTOCOL_VERSION,
      heartbeatMs: limits.wsHeartbeatMs,
      workspaceId: this.#init.principal.workspaceId,
      credentialExpiresAt: this.#init.credentialExpiresAt?.toISOString() ?? null,
      limits: {
        maxFrameBytes: limits.wsMaxFrameBytes,
        messagesPerSecond: options.messagesPerSecond,
        messageBurst: options.messageBurst,
        maxConcurrentTurns: options.maxConcurrentTurns,
      },
    };
    if (!events) return this.send(ready);
    // `ready` follows the workspace's event subscription, so an event published after a client
    // saw `ready` (a post's status, a notification) reaches it. It heads the queue: frames the
    // client sent meanwhile are answered after it.
    this.#enqueue(async () => {
      await this.#session
        .followEvents(events)
        .catch((err: unknown) => this.#log.warn({ err }, 'event subscription failed'));
      this.send(ready);
    });
  }

  send(event: ServerEvent): void {
    this.sendRaw(JSON.stringify(event));
  }

  sendRaw(json: string): void {
    if (this.#closing || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(json);
    // Past the bound the reader is not keeping up: close rather than hold more in memory.
    if (this.#socket.bufferedAmount > this.#shared.options.deps.limits.wsMaxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, 'slow consumer');
    }
  }

  sendBinary(data: Buffer): void {
    if (this.#closing || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(data, { binary: true });
    if (this.#socket.bufferedAmount > this.#shared.options.deps.limits.wsMaxBufferedBytes) {
      this.close(CLOSE_CODES.slowConsumer, 'slow consumer');
    }
  }

  /** True when a principal-cache change notification (`tag`, `*` for all) may concern this connection. */
  concerns(tag: string): boolean {
    return tag === '*' || this.#session.tags.includes(tag);
  }

  /** Re-checks the credential after the messages already received (at most one waiting). */
  revalidate(): void {
    if (this.#closing || this.#revalidating) return;
    this.#revalidating = true;
    this.#enqueue(async () => {
      this.#revalidating = false;
      await this.#session.revalidate();
    });
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    wsCounters.serverClosed(code);
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.close(code, reason);
    else if (this.#socket.readyState === WebSocket.CONNECTING) this.#socket.terminate();
  }

  #beat(): void {
    if (this.#missedPongs >= 2) {
      this.#log.debug('two pings unanswered: terminating');
      this.#closing = true;
      clearInterval(this.#heartbeat);
      this.#socket.terminate();
      return;
    }
    this.#missedPongs++;
    this.#socket.ping();
  }

  /**
   * Runs `work` after everything received before it, so every answer (ack, pong, resumed,
   * error) leaves in the order its frame came in. Nothing thrown stops the queue.
   */
  #enqueue(work: () => void | Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((err: unknown) => this.#log.error({ err }, 'websocket queue failed'));
  }

  #reply(event: ServerEvent): void {
    this.#enqueue(() => this.send(event));
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#closing || this.#refusing) return;
    // Audio outside a voice session costs nothing of the message budget: dropped, answered once.
    if (isBinary && !this.#voiceFrames) return this.#strayAudio(false);
    // Audio after a voice_start has its own budget (50 frames a second is the norm). The
    // session itself may still be starting: frames wait in the queue behind its voice_start.
    const voice = isBinary && this.#voiceFrames ? this.#voiceFrames : null;
    const waitMs = voice ? voice.take() : this.#bucket.take();
    if (waitMs > 0) {
      // Drops are forgiven slowly, not reset by each accepted message: a flood just over the
      // rate (most frames accepted, some dropped) still reaches the limit and is closed.
      const now = performance.now();
      this.#dropped = Math.max(0, this.#dropped - (now - this.#droppedAt) / DROP_FORGIVE_MS);
      this.#droppedAt = now;
      if (++this.#dropped > this.#shared.options.maxDroppedMessages) {
        // Messages accepted before this one are still answered; then the socket closes.
        this.#refusing = true;
        this.#enqueue(() => this.close(CLOSE_CODES.policy, 'rate limit exceeded'));
        return;
      }
      this.#reply(
        errorEvent(
          new HeraldError('rate_limited', {
            message: voice
              ? `Too many audio frames: at most ${this.#shared.options.voiceFramesPerSecond} per second; this one was dropped`
              : `Too many messages: at most ${this.#shared.options.messagesPerSecond} per second; this one was dropped`,
            details: { retryAfterMs: waitMs },
          }),
        ),
      );
      return;
    }
    if (isBinary && voice) {
      const frame = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // In order with the control messages around it (a voice_stop right after the last frame).
      this.#enqueue(() => {
        const session = this.#session.voice;
        if (session) return session.frame(frame);
        this.#strayAudio(true);
      });
      return;
    }
    const text = (
      Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    ).toString('utf8');
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.#reply(errorEvent(parsed.error, parsed.ref));
      return;
    }
    const message = parsed.message;
    if (message.type === 'voice_start' || message.type === 'voice_stop') this.#strayAudioAnswered = false;
    if (message.type === 'voice_start') {
      this.#voiceFrames ??= new MessageBucket(
        this.#shared.options.voiceFramesPerSecond,
        this.#shared.options.voiceFrameBurst,
      );
    } else if (message.type === 'voice_stop') this.#voiceFrames = null;
    // One message at a time, so a cancel or confirm never overtakes the message before it.
    this.#enqueue(() => this.#handle(message));
  }

  /** A binary frame with no voice session to take it: the first is answered, the rest dropped quietly. */
  #strayAudio(inQueue: boolean): void {
    if (this.#strayAudioAnswered) return;
    this.#strayAudioAnswered = true;
    const error = errorEvent(
      new HeraldError('unsupported_frame', {
        message:
          'Binary frames are audio of a voice session: send voice_start first (see docs/protocol.md, Voice). Audio frames are dropped without another error until then',
      }),
    );
    if (inQueue) this.send(error);
    else this.#reply(error);
  }

  async #handle(message: ClientMessage): Promise<void> {
    try {
      await this.#session.handle(message);
    } catch (err) {
      // A refused voice_start grants no audio budget: later binary frames count as messages.
      if (message.type === 'voice_start' && !this.#session.voice) this.#voiceFrames = null;
      const ref =
        message.type === 'user_message'
          ? { id: message.id }
          : 'turnId' in message
            ? { turnId: message.turnId }
            : message.type === 'ping'
              ? { id: message.id }
              : {};
      if (isHeraldError(err)) {
        if (err.status >= 500) this.#log.warn({ err }, 'websocket message failed');
        this.send(errorEvent(err, ref));
      } else {
        this.#log.error({ err, type: message.type }, 'websocket message failed');
        this.send(errorEvent(new HeraldError('internal'), ref));
      }
    }
  }

  #onClose(): void {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    this.#session.detach();
    wsCounters.closed();
    this.#init.onClosed();
    this.#resolveClosed();
  }
}
