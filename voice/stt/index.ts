/**
 * Chooses the speech-to-text engine the configuration names. Every engine answers the same
 * interface (`SpeechToText`), so the voice session never knows which one runs.
 */
import { GroqSpeechToText, OpenAiSpeechToText } from './openai.js';
import { OpenAiRealtimeSpeechToText } from './openai-realtime.js';
import type { SpeechToText } from './types.js';
import { WhisperCliSpeechToText, WhisperServerSpeechToText } from './whisper-cpp.js';

export type SttEngineName = 'openai' | 'openai-realtime' | 'groq' | 'whisper-server' | 'whisper-cli' | 'none';

export interface SttConfig {
  engine: SttEngineName;
  /** openai, openai-realtime: OPENAI_BASE_URL (or VOICE_STT_URL); groq: GROQ_BASE_URL; whisper-server: its URL. */
  url?: string | undefined;
  apiKey?: string | undefined;
  /** Model name for openai / groq. */
  model: string;
  timeoutMs: number;
  whisperBin: string;
  whisperModel: string;
}

export function createSpeechToText(config: SttConfig): SpeechToText | null {
  // Spelled out field by field: the SDK engines call their URL `baseUrl`, and handing them the
  // whole config once sent audio meant for a local server to the cloud (its `url` went unread).
  const http = { baseUrl: config.url, apiKey: config.apiKey, model: config.model, timeoutMs: config.timeoutMs };
  switch (config.engine) {
    case 'openai':
      return new OpenAiSpeechToText(http);
    case 'openai-realtime':
      return new OpenAiRealtimeSpeechToText({
        baseUrl: config.url ?? 'https://api.openai.com/v1',
        apiKey: config.apiKey,
        model: config.model,
        timeoutMs: config.timeoutMs,
      });
    case 'groq':
      return new GroqSpeechToText(http);
    case 'whisper-server':
      return new WhisperServerSpeechToText({ url: config.url ?? 'http://127.0.0.1:8080', timeoutMs: config.timeoutMs });
    case 'whisper-cli':
      return new WhisperCliSpeechToText({
        bin: config.whisperBin,
        model: config.whisperModel,
        timeoutMs: config.timeoutMs,
      });
    case 'none':
      return null;
  }
}

export { GroqSpeechToText, OpenAiSpeechToText } from './openai.js';
export { OpenAiRealtimeSpeechToText, REALTIME_PCM_RATE, realtimeUrl, Upsampler } from './openai-realtime.js';
export {
  WhisperCliSpeechToText,
  WhisperServerSpeechToText,
  WHISPER_BUILD_HELP,
  WHISPER_MODEL_HELP,
} from './whisper-cpp.js';
export {
  isStreaming,
  type SpeechSegment,
  type SpeechStream,
  type SpeechToText,
  type StreamingSpeechToText,
  type TranscribeOptions,
} from './types.js';
