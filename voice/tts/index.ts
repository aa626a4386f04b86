/** Chooses the text-to-speech engine the configuration names. */
import { EspeakTextToSpeech } from './espeak.js';
import { OpenAiTextToSpeech } from './openai.js';
import type { TextToSpeech } from './types.js';

export type TtsEngineName = 'espeak' | 'openai' | 'none';

export interface TtsConfig {
  engine: TtsEngineName;
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  model: string;
  /** espeak-ng voice (e.g. `en-us`) or the OpenAI voice (e.g. `alloy`). */
  voice: string;
  timeoutMs: number;
}

export function createTextToSpeech(config: TtsConfig): TextToSpeech | null {
  switch (config.engine) {
    case 'espeak':
      return new EspeakTextToSpeech({ voice: config.voice, timeoutMs: config.timeoutMs });
    case 'openai':
      return new OpenAiTextToSpeech(config);
    case 'none':
      return null;
  }
}

export { EspeakTextToSpeech } from './espeak.js';
export { OPENAI_PCM_RATE, OpenAiTextToSpeech } from './openai.js';
export { SentenceSplitter } from './sentences.js';
export type { TextToSpeech } from './types.js';
