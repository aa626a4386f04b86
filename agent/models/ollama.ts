/**
 * Ollama management: is it running, which models are installed, and pulling a model on
 * request with progress events (published on the event bus, which carries them to the
 * user's WebSocket). Every pull ends with `success` or `failed`, whatever goes wrong: an
 * Ollama that is down, one that refuses the request (`400 invalid model name`) or one whose
 * stream reports an error; `failed` carries Ollama's own reason. When nothing answers at the
 * URL the error says how to start Ollama.
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
    // fetch's TypeError says only "fetch failed"; the reason (ECONNREFUSED...) is its cause.
    const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
    const why = cause?.code ?? cause?.message;
    return new HeraldError('ollama_unavailable', {
      message: `Ollama is not running at ${this.#baseUrl}${why ? ` (${why})` : ''}: start it with \`ollama serve\` (or fix OLLAMA_URL)`,
      cause: err,
    });
  }

  /** Why a pull failed, in Ollama's own words, as the error the caller gets. */
  #pullError(model: string, err: unknown): HeraldError {
    if (err instanceof HeraldError) return err;
    // The ollama client: a refused request is a ResponseError with Ollama's `error` text and
    // its status; an error line in the progress stream is a plain Error with that text; a
    // server that cannot be reached is fetch's TypeError.
    const status = (err as { status_code?: number }).status_code;
    if (err instanceof TypeError && status === undefined) return this.#unavailable(err);
    const reason = err instanceof Error ? err.message : String(err);
    const message = `Ollama cannot pull "${model}": ${reason}${status ? ` (${status})` : ''}`;
    if (status === 404 || /file does not exist|not found/i.test(reason))
      return new HeraldError('model_not_found', { message, details: { model, reason }, cause: err });
    return new HeraldError('model_pull_failed', {
      message,
      details: { model, reason, ...(status ? { status } : {}) },
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
   * whole percent, plus every status change). Resolves when Ollama reports success; otherwise
   * the last event is `failed` with Ollama's reason and the same error is thrown.
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
    let failure: HeraldError;
    try {
      const stream = await this.#client(signal).pull({ model, stream: true });
      let lastStatus = '';
      let lastPercent = -1;
      for await (const p of stream) {
        const percent = p.total ? Math.floor((100 * (p.completed ?? 0)) / p.total) : null;
        if (p.status === lastStatus && (percent === null || percent === lastPercent)) continue;
        lastStatus = p.status;
        if (percent !== null) lastPercent = percent;
        await emit(event(p.status, { completedBytes: p.completed ?? null, totalBytes: p.total ?? null, percent }));
      }
      if (lastStatus === 'success') return;
      throw new HeraldError('model_pull_failed', {
        message: `Ollama ended the pull of "${model}" without success (last status: ${lastStatus || 'none'})`,
        details: { model, reason: 'stream ended early' },
      });
    } catch (err) {
      failure = this.#pullError(model, err);
    }
    try {
      await emit(event('failed', { error: failure.message }));
    } catch {
      // The event bus is down too: the caller still gets the pull's own failure.
    }
    throw failure;
  }
}
