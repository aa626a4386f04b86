/**
 * Ollama management: is it running, which models are installed, and pulling a model on
 * request with progress events (published on the event bus, which carries them to the
 * user's WebSocket). When nothing answers at the URL the error says how to start Ollama.
 */
import { Ollama } from 'ollama';
import { HeraldError, type ModelPullEvent } from '../../core/index.js';

export interface OllamaModelInfo {
  name: string;
  sizeBytes: number;
  family: string | undefined;
  parameterSize: string | undefined;
}

export type PullEventSink = (event: ModelPullEvent) => void | Promise<void>;

export interface OllamaManagerOptions {
  baseUrl: string;
  /** Deadline for health and list calls. Default 3 s. */
  timeoutMs?: number;
}

export class OllamaManager {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: OllamaManagerOptions) {
    this.#baseUrl = options.baseUrl;
    this.#timeoutMs = options.timeoutMs ?? 3_000;
  }

  #client(signal?: AbortSignal): Ollama {
    return new Ollama({
      host: this.#baseUrl,
      ...(signal
        ? { fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, signal }) }
        : {}),
    });
  }

  #unavailable(err: unknown): HeraldError {
    return new HeraldError('ollama_unavailable', {
      message: `Ollama is not running at ${this.#baseUrl}: start it with \`ollama serve\` (or fix OLLAMA_URL)`,
      cause: err,
    });
  }

  /** `{ ok: true, version }` or `{ ok: false, message }`; never throws. */
  async health(): Promise<{ ok: true; version: string } | { ok: false; message: string }> {
    try {
      const { version } = await this.#client(AbortSignal.timeout(this.#timeoutMs)).version();
      return { ok: true, version };
    } catch (err) {
      return { ok: false, message: this.#unavailable(err).message };
    }
  }

  async list(): Promise<OllamaModelInfo[]> {
    try {
      const { models } = await this.#client(AbortSignal.timeout(this.#timeoutMs)).list();
      return models.map((m) => ({
        name: m.name,
        sizeBytes: m.size,
        family: m.details?.family,
        parameterSize: m.details?.parameter_size,
      }));
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  /**
   * Pulls a model, publishing progress for the workspace as it goes (at most one event per
   * whole percent, plus every status change). Resolves when Ollama reports success.
   */
  async pull(workspaceId: string, model: string, emit: PullEventSink, signal?: AbortSignal): Promise<void> {
    const event = (status: string, fields: Partial<ModelPullEvent> = {}): ModelPullEvent => ({
      type: 'model.pull',
      workspaceId,
      model,
      status,
      completedBytes: null,
      totalBytes: null,
      percent: null,
      error: null,
      at: new Date().toISOString(),
      ...fields,
    });
    let stream;
    try {
      stream = await this.#client(signal).pull({ model, stream: true });
    } catch (err) {
      throw this.#unavailable(err);
    }
    let lastStatus = '';
    let lastPercent = -1;
    try {
      for await (const p of stream) {
        const percent = p.total ? Math.floor((100 * (p.completed ?? 0)) / p.total) : null;
        if (p.status === lastStatus && (percent === null || percent === lastPercent)) continue;
        lastStatus = p.status;
        if (percent !== null) lastPercent = percent;
        await emit(
          event(p.status, {
            completedBytes: p.completed ?? null,
            totalBytes: p.total ?? null,
            percent,
          }),
        );
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await emit(event('failed', { error: message }));
      if (/file does not exist|not found/i.test(message))
        throw new HeraldError('model_not_found', { message: `Ollama cannot pull "${model}": ${message}`, cause: err });
      throw err instanceof TypeError ? this.#unavailable(err) : err;
    }
  }
}
