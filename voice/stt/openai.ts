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

/** What both SDKs take for a transcription, past the file. */
interface TranscriptionRequest {
  model: string;
  response_format: 'json';
  language?: string;
}

/** The shared part: one request per utterance, errors turned into Herald's words. */
abstract class SdkSpeechToText implements SpeechToText {
  abstract readonly name: string;
  readonly #model: string;

  constructor(model: string) {
    this.#model = model;
  }

  /** Sends `wav` with `request` through the engine's SDK. */
  protected abstract send(wav: Buffer, request: TranscriptionRequest, signal: AbortSignal): Promise<{ text: string }>;

  async check(): Promise<void> {}

  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    try {
      const out = await this.send(
        wav,
        { model: this.#model, response_format: 'json', ...(options.language ? { language: options.language } : {}) },
        options.signal,
      );
      return out.text.trim();
    } catch (err) {
      throw sttHttpError(this.name, err, options.signal);
    }
  }
}

export class OpenAiSpeechToText extends SdkSpeechToText {
  readonly name = 'openai';
  readonly #client: OpenAI;

  constructor(options: HttpSttOptions) {
    super(options.model);
    this.#client = new OpenAI({
      // Local compatible servers take no key; the SDK insists on one.
      apiKey: options.apiKey ?? 'unset',
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  protected async send(wav: Buffer, request: TranscriptionRequest, signal: AbortSignal): Promise<{ text: string }> {
    const file = await openaiFile(wav, 'utterance.wav', { type: 'audio/wav' });
    return this.#client.audio.transcriptions.create({ file, ...request }, { signal });
  }
}

export class GroqSpeechToText extends SdkSpeechToText {
  readonly name = 'groq';
  readonly #client: Groq;

  constructor(options: HttpSttOptions) {
    super(options.model);
    this.#client = new Groq({
      apiKey: options.apiKey ?? 'unset',
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: 0,
    });
  }

  protected async send(wav: Buffer, request: TranscriptionRequest, signal: AbortSignal): Promise<{ text: string }> {
    const file = await groqFile(wav, 'utterance.wav', { type: 'audio/wav' });
    return this.#client.audio.transcriptions.create({ file, ...request }, { signal });
  }
}
