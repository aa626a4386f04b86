/**
 * Real speech for voice tests: sentences spoken by eSpeak NG (the `espeak-ng` npm package,
 * WebAssembly, so no system package is needed) and resampled in process from its 22,050 Hz to
 * the voice channel's format (16 kHz, 16-bit, mono) with `wave-resampler`'s windowed sinc,
 * plus silence and a little deterministic noise to lay them on, and 20 ms framing.
 *
 * The program runs here directly, not through Herald's `EspeakTextToSpeech`, so the input the
 * voice tests feed does not depend on the engine some of them test.
 */
import { createRequire } from 'node:module';
import ESpeakNg from 'espeak-ng';
import type * as WaveResampler from 'wave-resampler';
import { decodeWav, FRAME_BYTES, framesOf, INPUT_SAMPLE_RATE } from '../../voice/index.js';

// wave-resampler is a UMD bundle: Node's ESM import sees no named exports in it.
const { resample } = createRequire(import.meta.url)('wave-resampler') as typeof WaveResampler;

/** One run of the espeak-ng program: `text` as WAV at its own rate (22,050 Hz). */
async function espeakWav(text: string, wpm: number): Promise<Buffer> {
  const run = await ESpeakNg({
    arguments: ['-v', 'en-us', '-s', String(wpm), '-w', '/tmp/out.wav', '-f', '/tmp/in.txt'],
    preRun: [(m) => m.FS.writeFile('/tmp/in.txt', text)],
    print: () => {},
    printErr: () => {},
  });
  return Buffer.from(run.FS.readFile('/tmp/out.wav'));
}

const cache = new Map<string, Promise<Buffer>>();

/** `text` spoken by espeak-ng, as 16 kHz 16-bit mono PCM (no header). */
export function speech(text: string, opts: { wpm?: number } = {}): Promise<Buffer> {
  const wpm = opts.wpm ?? 175;
  const key = `${wpm}:${text}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = espeakWav(text, wpm).then((wav) => {
      const { sampleRate, data } = decodeWav(wav);
      const samples = new Int16Array(data.buffer, data.byteOffset, data.length / 2);
      const out = resample(samples, sampleRate, INPUT_SAMPLE_RATE, { method: 'sinc' });
      const pcm = Buffer.alloc(out.length * 2);
      for (let i = 0; i < out.length; i++)
        pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(out[i]!))), i * 2);
      return pcm;
    });
    cache.set(key, hit);
  }
  return hit;
}

/** `ms` of silence with low noise (about -50 dBFS), the same every run for the same seed. */
export function quiet(ms: number, seed = 1): Buffer {
  const n = Math.round(16 * ms);
  const out = Buffer.alloc(n * 2);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out.writeInt16LE(((x >> 8) % 200) - 100, i * 2);
  }
  return out;
}

/** Milliseconds of 16 kHz 16-bit PCM. */
export const msOf = (pcm: Buffer) => pcm.length / 32;

/** 640-byte frames of `pcm` (the last padded with silence). */
export const frames = (pcm: Buffer) => framesOf(pcm, FRAME_BYTES);
