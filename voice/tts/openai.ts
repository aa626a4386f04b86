/**
 * Text-to-speech over OpenAI's `/audio/speech` wire format with the `openai` client (OpenAI,
 * or a compatible server such as Kokoro-FastAPI or LocalAI). Asks for `pcm`: raw 16-bit mono
 * at 24 kHz, which goes to the client without decoding.
 */
import OpenAI from 'openai';
import type { Pcm } from '../audio.js';
import { ttsFailed, type TextToSpeech } from './types.js';

/** The rate of OpenAI's `pcm` response format. */
export const OPENAI_PCM_RATE = 24_000;

export interface OpenAiTtsOptions {
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  model: string;
  voice: string;
  timeoutMs: number;
}

export class OpenAiTextToSpeech implements TextToSpeech {
  readonly name = 'openai';
  readonly #client: OpenAI;
  readonly #options: OpenAiTtsOptions;

  constructor(options: OpenAiTtsOptions) {
    this.#options = options;
    this.#client = new OpenAI({
      apiKey: options.apiKey ?? 'unset',
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  async check(): Promise<void> {}

  async synthesize(text: string, signal: AbortSignal): Promise<Pcm> {
    try {
      const res = await this.#client.audio.speech.create(
        { model: this.#options.model, voice: this.#options.voice, input: text, response_format: 'pcm' },
        { signal },
      );
      const data = Buffer.from(await res.arrayBuffer());
      return { sampleRate: OPENAI_PCM_RATE, data: data.subarray(0, data.length - (data.length % 2)) };
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      throw ttsFailed(
        this.name,
        typeof status === 'number'
          ? `The text-to-speech engine answered HTTP ${status}`
          : 'The text-to-speech engine cannot be reached',
        err,
      );
    }
  }
}
