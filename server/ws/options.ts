/**
 * What the `/v1/ws` plugin needs and the knobs it takes. The limits that operators tune
 * (frame size, buffered bytes, connection cap, heartbeat) come from `Config['api']`; the rest
 * are protocol constants with their defaults named here, overridable for tests and embedders.
 */
import type { Redis } from 'ioredis';
import type { Config, EventBus } from '../../core/index.js';
import type { VoiceEngines } from '../../voice/index.js';
import type { AuthDeps } from '../auth/service.js';
import type { ChatHandler } from './chat-handler.js';

/** The slice of `ApiDeps` the WebSocket uses (`ApiDeps` satisfies it as is). */
export interface WsDeps {
  auth: AuthDeps;
  /** Holds the resume buffers and the idempotency keys of client message ids. */
  redis: Redis;
  /** `target.status` events of the connection's workspace are forwarded as `post_status`. */
  events: EventBus | null;
  limits: Pick<Config['api'], 'wsMaxConnectionsPerUser' | 'wsMaxFrameBytes' | 'wsMaxBufferedBytes' | 'wsHeartbeatMs'>;
  /** Prefix of every Redis key written here. */
  keyPrefix: string;
}

export interface WsOptions {
  deps: WsDeps;
  /** Answers chat turns (the runtime passes the agent when a model provider is set). Default: `EchoChatHandler`. */
  handler?: ChatHandler;
  /** Speech engines for voice sessions (`voice_start`); unset or null: voice is refused (`voice_unavailable`). */
  voice?: VoiceEngines | null | undefined;
  /** Audio frames a voice session may send per second, sustained. Default 100 (twice real time). */
  voiceFramesPerSecond?: number;
  /** Audio frames a voice session may send in a burst. Default 500 (10 s of audio). */
  voiceFrameBurst?: number;
  /** Messages a connection may send per second, sustained (token bucket). Default 10. */
  messagesPerSecond?: number;
  /** Messages a connection may send in a burst. Default 20. */
  messageBurst?: number;
  /**
   * Dropped (rate-limited) messages after which the socket is closed 1008; one drop is forgiven
   * every 10 s, so a client sending steadily just over the rate is closed too. Default 200.
   */
  maxDroppedMessages?: number;
  /** Turns one connection may have running at once. Default 4. */
  maxConcurrentTurns?: number;
  /** A running turn nobody is connected to is cancelled after this long. Default 60 s. */
  orphanTurnMs?: number;
  /** An unanswered confirmation request expires after this long. Default 5 min. */
  confirmTimeoutMs?: number;
  /** Events kept per turn for `resume` (newest win). Default 1,000. */
  bufferMaxEvents?: number;
  /** Bytes of events kept per turn for `resume` (newest win). Default 1 MiB. */
  bufferMaxBytes?: number;
  /** A turn's buffer and its client message id expire this long after its last event. Default 10 min. */
  bufferTtlMs?: number;
  /** How long a close handshake may take before the socket is destroyed. Default 5 s. */
  closeTimeoutMs?: number;
  /**
   * How long an upgrade request's socket may sit idle before it is upgraded; then it is
   * destroyed. Covers stalled clients and upgrades to routes that are not WebSockets, whose
   * sockets Node no longer closes by itself. Default 10 s.
   */
  upgradeTimeoutMs?: number;
}

export const WS_DEFAULTS = {
  messagesPerSecond: 10,
  messageBurst: 20,
  maxDroppedMessages: 200,
  maxConcurrentTurns: 4,
  orphanTurnMs: 60_000,
  confirmTimeoutMs: 5 * 60_000,
  bufferMaxEvents: 1_000,
  bufferMaxBytes: 1024 * 1024,
  bufferTtlMs: 10 * 60_000,
  closeTimeoutMs: 5_000,
  upgradeTimeoutMs: 10_000,
  voiceFramesPerSecond: 100,
  voiceFrameBurst: 500,
} as const;

export type ResolvedWsOptions = Required<Omit<WsOptions, 'handler' | 'voice'>> & {
  handler: ChatHandler;
  voice: VoiceEngines | null;
};

export function resolveOptions(opts: WsOptions, defaultHandler: () => ChatHandler): ResolvedWsOptions {
  const out: ResolvedWsOptions = {
    ...WS_DEFAULTS,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    deps: opts.deps,
    handler: opts.handler ?? defaultHandler(),
    voice: opts.voice ?? null,
  };
  for (const [name, value] of Object.entries(out)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`wsRoutes: ${name} must be a positive number, got ${value}`);
    }
  }
  return Object.freeze(out);
}
