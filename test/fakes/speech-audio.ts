/**
 * Real speech for voice tests: sentences spoken by `espeak-ng` and resampled by `sox` to the
 * voice channel's format (16 kHz, 16-bit, mono), plus silence and a little deterministic
 * noise to lay them on, and 20 ms framing.
 */
import { execFileSync } from 'node:child_process';
import { decodeWav, FRAME_BYTES, framesOf } from '../../voice/index.js';

const cache = new Map<string, Buffer>();

/** `text` spoken by espeak-ng, as 16 kHz 16-bit mono PCM (no header). */
export function speech(text: string, opts: { wpm?: number } = {}): Buffer {
  const key = `${opts.wpm ?? 175}:${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const wav = execFileSync('espeak-ng', ['--stdout', '-s', String(opts.wpm ?? 175), '-v', 'en-us'], { input: text });
  const resampled = execFileSync('sox', ['-t', 'wav', '-', '-t', 'wav', '-r', '16000', '-b', '16', '-c', '1', '-'], {
    input: wav,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const pcm = decodeWav(resampled).data;
  cache.set(key, pcm);
  return pcm;
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
