/**
 * The one interface every text-to-speech engine implements: a sentence in, 16-bit mono PCM
 * out at the engine's own rate (stated to the client with the audio). Failures are
 * `text_to_speech_failed`.
 */
import { HeraldError } from '../../core/index.js';
import type { Pcm } from '../audio.js';

export interface TextToSpeech {
  readonly name: string;
  /** Checks the engine can run here; throws `voice_unavailable` naming the fix. */
  check(): Promise<void>;
  synthesize(text: string, signal: AbortSignal): Promise<Pcm>;
}

export function ttsFailed(engine: string, message: string, cause?: unknown): HeraldError {
  return new HeraldError('text_to_speech_failed', { message, details: { engine }, cause });
}
