/**
 * Speech-to-text over OpenAI's `/audio/transcriptions` wire format, with the `openai` client
 * (OpenAI itself, or any compatible server: faster-whisper-server, LocalAI, vLLM...), and the
 * same over Groq with `groq-sdk` (Groq serves it under `/openai/v1`). The SDKs' own retries are
 * off: a voice turn cannot wait for back-off, the user is told instead.
 */
import Groq, { toFile as groqFile } from 'groq-sdk';
import OpenAI, { toFile as openaiFile } from 'openai';
import { sttHttpError, type SpeechToText, type TranscribeOptions } from './types.js';

export interface HttpSttOptions {
  /** Unset: the SDK's default host. */
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  model: string;
  timeoutMs: number;
}

export class OpenAiSpeechToText implements SpeechToText {
  readonly name = 'openai';
  readonly #client: OpenAI;
  readonly #model: string;

  constructor(options: HttpSttOptions) {
    this.#model = options.model;
    this.#client = new OpenAI({
      // Local compatible servers take no key; the SDK insists on one.
      apiKey: options.apiKey ?? 'unset',
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  async check(): Promise<void> {}

  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    try {
      const file = await openaiFile(wav, 'utterance.wav', { type: 'audio/wav' });
      const out = await this.#client.audio.transcriptions.create(
        {
          file,
          model: this.#model,
          response_format: 'json',
          ...(options.language ? { language: options.language } : {}),
        },
        { signal: options.signal },
      );
      return out.text.trim();
    } catch (err) {
      throw sttHttpError(this.name, err, options.signal);
    }
  }
}

export class GroqSpeechToText implements SpeechToText {
  readonly name = 'groq';
  readonly #client: Groq;
  readonly #model: string;

  constructor(options: HttpSttOptions) {
    this.#model = options.model;
    this.#client = new Groq({
      apiKey: options.apiKey ?? 'unset',
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  async check(): Promise<void> {}

  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    try {
      const file = await groqFile(wav, 'utterance.wav', { type: 'audio/wav' });
      const out = await this.#client.audio.transcriptions.create(
        {
          file,
          model: this.#model,
          response_format: 'json',
          ...(options.language ? { language: options.language } : {}),
        },
        { signal: options.signal },
      );
      return out.text.trim();
    } catch (err) {
      throw sttHttpError(this.name, err, options.signal);
    }
  }
}
