/**
 * The voice session of one connection, bound to the chat protocol: `voice_start`,
 * `voice_mute`, `voice_stop` and binary audio frames come in here; transcripts start ordinary
 * turns on the session (so their events, resume and confirmations are the chat protocol's);
 * the turn events come back through `onTurnEvent` to be spoken. The pipeline itself lives in
 * `voice/`.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { HeraldError } from '../../core/index.js';
import {
  FRAME_BYTES,
  FRAME_MS,
  INPUT_ENCODING,
  INPUT_SAMPLE_RATE,
  VoiceSession,
  type TurnEventLike,
  type VoiceDecision,
  type VoiceEngines,
} from '../../voice/index.js';
import type { ChatTurn } from './chat-handler.js';
import { errorEvent, type ClientMessageOf, type ServerEvent } from './protocol.js';

/** What the binding needs of its `ChatSession`. */
export interface VoiceBindingHost {
  send(event: ServerEvent): void;
  sendAudio(frame: Buffer): void;
  /**
   * Starts a turn with this text (calling `adopt` before its first event), speculative (held
   * until committed) when asked; null when the credential lapsed (reported). Throws what
   * `user_message` would answer.
   */
  startTurn(
    text: string,
    clientMessageId: string,
    threadId: string,
    speculative: boolean,
  ): Promise<{ turnId: string; commit(): void; discard(): void } | null>;
  cancelTurn(turnId: string): void;
  answer(turnId: string, requestId: string, decision: VoiceDecision): boolean;
  /** A reply was cut short by the user: the conversation keeps only `spoken` of it. */
  keepSpoken(chat: ChatTurn, spoken: string): void;
  log: FastifyBaseLogger;
}

export class VoiceBinding {
  readonly #engines: VoiceEngines;
  readonly #host: VoiceBindingHost;
  #session: VoiceSession | null = null;
  /** Turns this voice session started. */
  readonly #turns = new Set<string>();
  /** The newest turns it started, kept past their end: a reply can be cut while its audio still plays. */
  readonly #recent = new Map<string, ChatTurn>();

  constructor(engines: VoiceEngines, host: VoiceBindingHost) {
    this.#engines = engines;
    this.#host = host;
  }

  get active(): boolean {
    return this.#session !== null;
  }

  async start(msg: ClientMessageOf<'voice_start'>): Promise<void> {
    if (this.#session) {
      throw new HeraldError('invalid_state', { message: 'A voice session is already running; send voice_stop first' });
    }
    if (msg.sampleRate !== INPUT_SAMPLE_RATE || msg.encoding !== INPUT_ENCODING) {
      throw new HeraldError('unsupported_audio_format', {
        message: `Voice takes ${INPUT_ENCODING} at ${INPUT_SAMPLE_RATE} Hz, mono, in ${FRAME_MS} ms frames (${FRAME_BYTES} bytes); got ${msg.encoding} at ${msg.sampleRate} Hz`,
        details: { accepted: { sampleRate: INPUT_SAMPLE_RATE, encoding: INPUT_ENCODING, frameBytes: FRAME_BYTES } },
      });
    }
    const { stt, tts } = this.#engines;
    await stt.check();
    const threadId = msg.threadId ?? `thread_${randomUUID()}`;
    const host = this.#host;
    const session = new VoiceSession(
      this.#engines,
      {
        send: (e) => host.send(e),
        sendAudio: (f) => host.sendAudio(f),
        error: (err, ref) => host.send(errorEvent(err, ref)),
        startTurn: async (text, clientMessageId, thread, speculative) => {
          const started = await host.startTurn(text, clientMessageId, thread, speculative === true);
          return started && speculative ? started : undefined;
        },
        cancelTurn: (turnId) => host.cancelTurn(turnId),
        answer: (turnId, requestId, decision) => host.answer(turnId, requestId, decision),
        keepSpoken: (turnId, spoken) => {
          const chat = this.#recent.get(turnId);
          if (chat) host.keepSpoken(chat, spoken);
        },
        warn: (err, text) => host.log.warn({ err }, text),
      },
      threadId,
    );
    this.#session = session;
    const d = session.detectorOptions;
    host.send({
      type: 'voice_started',
      threadId,
      input: {
        sampleRate: INPUT_SAMPLE_RATE,
        encoding: INPUT_ENCODING,
        channels: 1,
        frameMs: FRAME_MS,
        frameBytes: FRAME_BYTES,
      },
      output: tts ? { encoding: INPUT_ENCODING, channels: 1, frameMs: FRAME_MS, engine: tts.name } : null,
      stt: stt.name,
      vad: { endSilenceMs: d.endSilenceMs, preSpeechMs: d.preSpeechMs, maxUtteranceMs: d.maxUtteranceMs },
    });
  }

  mute(msg: ClientMessageOf<'voice_mute'>): void {
    this.#require().mute(msg.input, msg.output);
  }

  stop(): void {
    this.#require().stop();
    this.#session = null;
    this.#host.send({ type: 'voice_stopped', reason: 'client' });
  }

  frame(data: Buffer): void {
    this.#session?.frame(data);
  }

  /** The user cancelled `turnId`: stop speaking it. */
  cancelled(turnId: string): void {
    this.#session?.cancelled(turnId);
  }

  /** Marks a turn as started by this voice session before its first event is delivered. */
  adopt(chat: ChatTurn): void {
    this.#turns.add(chat.turnId);
    this.#recent.set(chat.turnId, chat);
    for (const id of this.#recent.keys()) if (this.#recent.size > 4) this.#recent.delete(id);
  }

  /** An event of a turn, as delivered to the client; spoken when the turn is a voice turn. */
  onTurnEvent(turnId: string, json: string, final: boolean): void {
    if (!this.#turns.has(turnId)) return;
    if (final) this.#turns.delete(turnId);
    this.#session?.onTurnEvent(JSON.parse(json) as TurnEventLike);
  }

  /** The socket closed. */
  close(): void {
    this.#session?.stop();
    this.#session = null;
  }

  #require(): VoiceSession {
    if (!this.#session)
      throw new HeraldError('invalid_state', { message: 'No voice session is running; send voice_start first' });
    return this.#session;
  }
}
