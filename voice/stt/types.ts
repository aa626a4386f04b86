/**
 * The one interface every speech-to-text engine implements. An engine takes a whole
 * utterance as a WAV file and answers its text; it throws `speech_to_text_failed` (engine
 * down, slow, refusing) or `voice_unavailable` (not installed here), never anything else.
 */
import { HeraldError } from '../../core/index.js';

export interface TranscribeOptions {
  /** Aborts the request (the caller's deadline, or the session ending). */
  signal: AbortSignal;
  /** ISO-639-1 language hint, when known. */
  language?: string | undefined;
}

export interface SpeechToText {
  /** Short name for logs and error details: `openai`, `openai-realtime`, `groq`, `whisper-server`, `whisper-cli`. */
  readonly name: string;
  /** Checks the engine can run here (binary and model present); throws `voice_unavailable` naming the fix. */
  check(): Promise<void>;
  transcribe(wav: Buffer, options: TranscribeOptions): Promise<string>;
}

/**
 * An engine that takes audio while it is spoken (`VOICE_STT=openai-realtime`): each utterance's
 * frames go out as they arrive, and its final transcript is ready soon after the utterance
 * ends instead of only starting then. `transcribe` still works (one segment at once).
 */
export interface StreamingSpeechToText extends SpeechToText {
  /** The stream of one voice session; its utterances are segments, begun one at a time. */
  stream(options?: { language?: string | undefined }): SpeechStream;
}

export interface SpeechStream {
  /** Starts an utterance; `partial` gets its transcript so far each time the engine revises it. */
  begin(partial: (textSoFar: string) => void): SpeechSegment;
  /** Ends the stream: segments still waiting fail. */
  close(): void;
}

export interface SpeechSegment {
  /** 16 kHz 16-bit mono PCM, in order. */
  push(pcm: Buffer): void;
  /** The utterance is over: its final transcript (`speech_to_text_failed` when the engine fails or `signal` fires). */
  finish(signal: AbortSignal): Promise<string>;
  /** Not an utterance after all (too short): its audio is dropped. */
  cancel(): void;
}

export function isStreaming(stt: SpeechToText): stt is StreamingSpeechToText {
  return typeof (stt as Partial<StreamingSpeechToText>).stream === 'function';
}

export type SttFailureReason = 'timeout' | 'unreachable' | 'status' | 'failed';

export function sttFailed(engine: string, reason: SttFailureReason, message: string, cause?: unknown): HeraldError {
  return new HeraldError('speech_to_text_failed', { message, details: { engine, reason }, cause });
}

/** Maps what an HTTP client threw onto the catalogue: timeouts, refused connections, bad statuses. */
export function sttHttpError(engine: string, err: unknown, signal: AbortSignal): HeraldError {
  if (err instanceof HeraldError) return err;
  const e = err as { status?: unknown; name?: string; message?: string; cause?: { code?: string } };
  if (signal.aborted || e.name === 'AbortError' || /timed? ?out/i.test(e.message ?? '')) {
    return sttFailed(engine, 'timeout', `The ${engine} speech-to-text engine did not answer in time`, err);
  }
  if (typeof e.status === 'number') {
    return sttFailed(engine, 'status', `The ${engine} speech-to-text engine answered HTTP ${e.status}`, err);
  }
  return sttFailed(engine, 'unreachable', `The ${engine} speech-to-text engine cannot be reached`, err);
}
