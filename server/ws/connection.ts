/**
 * One WebSocket after its upgrade: the transport side of the protocol. It turns frames into
 * messages (one at a time, in order), limits their rate, answers binary frames (reserved for
 * voice) with an error, keeps the connection alive with pings, refuses to buffer for a reader
 * that does not keep up (4008), and hands every valid message to its `ChatSession`. Nothing a
 * client sends can throw out of here.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { HeraldError, isHeraldError } from '../../core/index.js';
import type { Principal } from '../auth/principal.js';
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

/** A token bucket: `burst` messages at once, refilled at `perSecond`. */
export class MessageBucket {
  #tokens: number;
  #at = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** Takes one token; returns 0 when allowed, else the milliseconds until one is available. */
  take(): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.perSecond) * 1000);
  }
}

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
  #dropped = 0;
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
    this.send({
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
    });
    if (events) {
      this.#session.followEvents(events).catch((err: unknown) => this.#log.warn({ err }, 'event subscription failed'));
    }
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
    const waitMs = this.#bucket.take();
    if (waitMs > 0) {
      if (++this.#dropped > this.#shared.options.maxDroppedMessages) {
        // Messages accepted before this one are still answered; then the socket closes.
        this.#refusing = true;
        this.#enqueue(() => this.close(CLOSE_CODES.policy, 'rate limit exceeded'));
        return;
      }
      this.#reply(
        errorEvent(
          new HeraldError('rate_limited', {
            message: `Too many messages: at most ${this.#shared.options.messagesPerSecond} per second; this one was dropped`,
            details: { retryAfterMs: waitMs },
          }),
        ),
      );
      return;
    }
    this.#dropped = 0;
    if (isBinary) {
      this.#reply(
        errorEvent(
          new HeraldError('unsupported_frame', {
            message:
              'Binary frames are reserved for voice, which this server does not accept yet; send JSON text frames',
          }),
        ),
      );
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
    // One message at a time, so a cancel or confirm never overtakes the message before it.
    this.#enqueue(() => this.#handle(message));
  }

  async #handle(message: ClientMessage): Promise<void> {
    try {
      await this.#session.handle(message);
    } catch (err) {
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
