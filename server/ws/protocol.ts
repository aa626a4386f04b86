/**
 * The `herald.v1` chat protocol as data: the messages a client may send (zod schemas, the
 * single source of their validation), the events the server sends (types), close codes and
 * the parser that turns one text frame into a message or a catalogue error. `docs/protocol.md`
 * is the prose of this file; keep the two in step.
 */
import { z } from 'zod';
import { inspectJson } from '../http/input-guard.js';
import { HeraldError, type ErrorCode } from '../../core/index.js';
import type { VoiceEvent } from '../../voice/index.js';

/** The subprotocol the server selects; browsers must offer it. */
export const SUBPROTOCOL = 'herald.v1';
/** Browsers, which cannot set headers, send the credential as the subprotocol `herald.auth.<token>`. */
export const AUTH_SUBPROTOCOL_PREFIX = 'herald.auth.';
export const PROTOCOL_VERSION = 1;

export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  authEnded: 4001,
  slowConsumer: 4008,
  tooManyConnections: 4029,
} as const;

const ClientMessageId = z.string().min(1).max(128);
const TurnId = z.string().min(1).max(64);
const RequestId = z.string().min(1).max(64);
const ThreadId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'A thread id is 1 to 128 letters, digits or . _ : -');

// Objects are not strict: a newer client's extra fields are ignored by an older server.
const SCHEMAS = {
  user_message: z.object({
    type: z.literal('user_message'),
    id: ClientMessageId,
    text: z.string().min(1),
    threadId: ThreadId.optional(),
  }),
  cancel: z.object({ type: z.literal('cancel'), turnId: TurnId }),
  confirm: z.object({
    type: z.literal('confirm'),
    turnId: TurnId,
    requestId: RequestId,
    /** Approve with changes: the post's text and/or its time (words or ISO, read in the user's zone). */
    edit: z
      .object({ text: z.string().min(1).max(20_000).optional(), at: z.string().min(1).max(200).optional() })
      .optional(),
  }),
  reject: z.object({
    type: z.literal('reject'),
    turnId: TurnId,
    requestId: RequestId,
    reason: z.string().max(1000).optional(),
  }),
  ping: z.object({ type: z.literal('ping'), id: z.string().max(128).optional() }),
  resume: z.object({ type: z.literal('resume'), turnId: TurnId, afterSeq: z.number().int().min(0) }),
  /** Opens the voice session of this connection; the rate and encoding must be the accepted ones (16000, pcm_s16le). */
  voice_start: z.object({
    type: z.literal('voice_start'),
    sampleRate: z.number().int().positive(),
    encoding: z.string().max(32).default('pcm_s16le'),
    threadId: ThreadId.optional(),
  }),
  voice_mute: z.object({
    type: z.literal('voice_mute'),
    input: z.boolean().optional(),
    output: z.boolean().optional(),
  }),
  voice_stop: z.object({ type: z.literal('voice_stop') }),
} as const;

export type ClientMessageType = keyof typeof SCHEMAS;
export type ClientMessage = { [K in ClientMessageType]: z.infer<(typeof SCHEMAS)[K]> }[ClientMessageType];
export type ClientMessageOf<K extends ClientMessageType> = z.infer<(typeof SCHEMAS)[K]>;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** Events of a turn: each carries the turn id and its `seq` (1, 2, 3, ... within the turn). */
export type TurnEvent = { turnId: string; seq: number } & TurnEventBody;

export type TurnEventBody =
  | { type: 'message_start'; threadId: string; clientMessageId: string }
  | { type: 'token'; text: string }
  | { type: 'tool_start'; toolCallId: string; name: string; input?: unknown }
  | {
      type: 'tool_end';
      toolCallId: string;
      name: string;
      ok: boolean;
      output?: unknown;
      error?: { code: string; message: string };
    }
  | {
      type: 'confirm_request';
      requestId: string;
      action: { summary: string; details?: unknown };
      /** ISO instant after which the request counts as rejected (`expired`). */
      expiresAt: string;
    }
  | {
      type: 'confirm_result';
      requestId: string;
      outcome: 'confirmed' | 'rejected' | 'expired';
      reason?: string;
      /** Set when the user approved with changes. */
      edit?: { text?: string | undefined; at?: string | undefined };
    }
  | { type: 'message_end'; reason: 'done' | 'cancelled' | 'error'; error?: ErrorBody };

/** Events about the connection, not of a turn: no `seq`. */
export type ConnectionEvent =
  | {
      type: 'ready';
      connectionId: string;
      protocol: typeof SUBPROTOCOL;
      version: typeof PROTOCOL_VERSION;
      heartbeatMs: number;
      workspaceId: string;
      /** When the credential stops being valid (user access tokens), as an ISO instant. */
      credentialExpiresAt: string | null;
      limits: { maxFrameBytes: number; messagesPerSecond: number; messageBurst: number; maxConcurrentTurns: number };
    }
  | { type: 'ack'; id: string; turnId: string; duplicate: boolean }
  | {
      type: 'resumed';
      turnId: string;
      afterSeq: number;
      /** Seq of the oldest event still buffered (null: none); above `afterSeq + 1` means a gap. */
      firstSeq: number | null;
      lastSeq: number;
      /** The turn's later events will follow on this socket. */
      live: boolean;
      /** `message_end` has been sent. */
      ended: boolean;
    }
  | { type: 'pong'; id?: string }
  | { type: 'error'; error: ErrorBody; id?: string; turnId?: string; requestId?: string }
  | {
      type: 'post_status';
      postId: string;
      targetId: string;
      socialAccountId: string;
      platform: string;
      from: string | null;
      to: string;
      at: string;
      scheduledAt?: string | null;
      platformPostId?: string | null;
      url?: string | null;
      error?: { kind: string; message: string; part?: number } | null;
    }
  | {
      type: 'model_pull';
      model: string;
      status: string;
      completedBytes: number | null;
      totalBytes: number | null;
      percent: number | null;
      error: string | null;
      at: string;
    }
  | {
      /** A social account of the workspace was connected, reconnected, needs reconnecting or was disconnected. */
      type: 'account_status';
      socialAccountId: string;
      platform: string;
      status: 'active' | 'needs_reconnect' | 'disconnected';
      /** `connected`, `reconnected`, or the platform's refusal in words. */
      reason: string;
      at: string;
    }
  | {
      /** A message Herald sent this member outside a turn (a coaching message, a nudge); stored, listed at /v1/notifications. */
      type: 'notification';
      notificationId: string;
      /** `coach.daily`, `coach.intervention`, `coach.milestone`, ... */
      kind: string;
      text: string;
      /** The kind's structured part (the coach's facts and actions). */
      data: Record<string, unknown>;
      at: string;
    };

export type ServerEvent = TurnEvent | ConnectionEvent | VoiceEvent;

/** Which message an error answers, so the client can match it. */
export interface ErrorRef {
  id?: string | undefined;
  turnId?: string | undefined;
  requestId?: string | undefined;
}

export function errorEvent(err: HeraldError, ref: ErrorRef = {}): ConnectionEvent {
  return {
    type: 'error',
    error: err.toJSON().error,
    ...(ref.id === undefined ? {} : { id: ref.id }),
    ...(ref.turnId === undefined ? {} : { turnId: ref.turnId }),
    ...(ref.requestId === undefined ? {} : { requestId: ref.requestId }),
  };
}

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: HeraldError; ref: ErrorRef };

const TYPES = Object.keys(SCHEMAS) as ClientMessageType[];

/** The ids a malformed message named, if they look sane, so its error can point back at it. */
function refOf(obj: Record<string, unknown>): ErrorRef {
  const pick = (k: string) => {
    const v = obj[k];
    return typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined;
  };
  return { id: pick('id'), turnId: pick('turnId'), requestId: pick('requestId') };
}

/** One text frame → a client message, or the error to send back (never throws). */
export function parseClientFrame(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      error: new HeraldError('malformed_json', { message: `The frame is not valid JSON: ${(err as Error).message}` }),
      ref: {},
    };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      error: new HeraldError('validation_failed', {
        message: 'A message is a JSON object with a "type"',
        details: [{ path: '', message: 'Expected an object' }],
      }),
      ref: {},
    };
  }
  const obj = raw as Record<string, unknown>;
  const ref = refOf(obj);
  // The same input limits as REST: nesting, and text PostgreSQL cannot store (the text of a
  // message ends up in checkpoints and threads).
  const unsafe = inspectJson(obj);
  if (unsafe) {
    return {
      ok: false,
      error: new HeraldError('validation_failed', {
        message: `${unsafe.field || 'The message'} ${unsafe.message}`,
        details: [{ path: unsafe.field, message: unsafe.message }],
      }),
      ref,
    };
  }
  const type = obj.type;
  if (typeof type !== 'string') {
    return {
      ok: false,
      error: new HeraldError('validation_failed', {
        message: 'A message is a JSON object with a string "type"',
        details: [{ path: 'type', message: `Expected one of ${TYPES.join(', ')}` }],
      }),
      ref,
    };
  }
  if (!(TYPES as string[]).includes(type)) {
    // Its own code, so a newer client can tell "this server does not know that message" apart
    // from "I sent it wrong". The name is echoed only in part: a frame may be 256 KiB.
    const shown = type.length > 64 ? `${type.slice(0, 64)}...` : type;
    return {
      ok: false,
      error: new HeraldError('unknown_message_type', {
        message: `Unknown message type ${JSON.stringify(shown)}; this server (${SUBPROTOCOL}) takes ${TYPES.join(', ')}`,
        details: { supported: TYPES },
      }),
      ref,
    };
  }
  const parsed = SCHEMAS[type as ClientMessageType].safeParse(obj);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    return {
      ok: false,
      error: new HeraldError('validation_failed', {
        message: `Invalid ${type}: ${details.map((d) => `${d.path || '(message)'}: ${d.message}`).join('; ')}`,
        details,
      }),
      ref,
    };
  }
  return { ok: true, message: parsed.data as ClientMessage };
}
