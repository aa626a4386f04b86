/**
 * The voice session's options, defaults and the interfaces it needs from the process (the
 * engines) and from the channel that carries it (the host). See `session.ts`.
 */
import type { HeraldError } from '../core/index.js';
import type { VoiceEvent } from './events.js';
import type { SpeechToText } from './stt/types.js';
import type { TextToSpeech } from './tts/types.js';
import type { TurnDetectorOptions } from './turn-detector.js';
import type { InferenceSession } from 'onnxruntime-node';

export interface VoiceOptions {
  detector: Partial<TurnDetectorOptions>;
  /** Deadline of one speech-to-text request. Default 10 s. */
  sttTimeoutMs: number;
  /** While the user speaks, a partial transcript every this many ms of speech; 0: none. Default 0. */
  partialIntervalMs: number;
  /** How far ahead of real time spoken audio is sent. Default 200 ms. */
  outputLeadMs: number;
  language?: string | undefined;
  /** Speech over an answer that interrupts it must last this long (a click, a cough does not). Default 250 ms. */
  bargeInMinSpeechMs: number;
  /**
   * With speculative turns (`detector.pauseMs` > 0): the silence that ends a turn whose
   * transcript reads complete ("...for tomorrow."). Default 400 ms.
   */
  completeSilenceMs: number;
  /** ...for one that reads unfinished ("Schedule a post about"). Default 1500 ms. */
  incompleteSilenceMs: number;
  /** ...and the upper bound for any turn, whatever its transcript reads. Default 1500 ms. */
  maxEndSilenceMs: number;
}

/** Default of `bargeInMinSpeechMs`: Pipecat interrupts after about 0.2 s of speech. */
export const BARGE_IN_MIN_SPEECH_MS = 250;
/**
 * Speech that starts less than this after the answer became audible was not a reaction to it
 * (people need longer to react to what they hear): it continues the user's own turn.
 */
export const CONTINUATION_GRACE_MS = 300;

export const VOICE_DEFAULTS: Omit<VoiceOptions, 'detector'> = Object.freeze({
  sttTimeoutMs: 10_000,
  partialIntervalMs: 0,
  outputLeadMs: 200,
  bargeInMinSpeechMs: BARGE_IN_MIN_SPEECH_MS,
  completeSilenceMs: 400,
  incompleteSilenceMs: 1500,
  maxEndSilenceMs: 1500,
});

/** What a voice session needs from the process: the engines and the VAD model, shared by all sessions. */
export interface VoiceEngines {
  stt: SpeechToText;
  tts: TextToSpeech | null;
  vad: InferenceSession;
  options: VoiceOptions;
}

export type VoiceDecision =
  { confirmed: true; edit?: { text?: string; at?: string } } | { confirmed: false; message?: string };

/** A turn event as the client receives it (only the fields voice reads). */
export interface TurnEventLike {
  type: string;
  turnId?: string;
  text?: string;
  requestId?: string;
  clientMessageId?: string;
  action?: { summary?: string; details?: unknown };
  reason?: string;
  error?: { message?: string };
}

/** A speculative turn, held until the user's turn is judged over. */
export interface Speculation {
  commit(): void;
  discard(): void;
}

/** What the session needs from the channel that carries it. */
export interface VoiceHost {
  send(event: VoiceEvent): void;
  sendAudio(frame: Buffer): void;
  error(err: HeraldError, ref?: { id?: string; turnId?: string }): void;
  /**
   * Starts a chat turn on the session's thread; its events must then reach `onTurnEvent`.
   * `speculative`: the turn is held (nothing of it reaches the client nor the conversation)
   * until `commit`, and `discard` drops it without a trace; the handle is returned.
   */
  startTurn(
    text: string,
    clientMessageId: string,
    threadId: string,
    speculative?: boolean,
  ): Promise<Speculation | undefined>;
  cancelTurn(turnId: string): void;
  /** Answers the confirmation `requestId` of `turnId`; false when it is not waiting. */
  answer(turnId: string, requestId: string, decision: VoiceDecision): boolean;
  /** A reply was cut short: the conversation should keep only `spoken` of it. */
  keepSpoken(turnId: string, spoken: string): void;
  warn(err: unknown, msg: string): void;
}
