/**
 * Audio as the voice channel carries it: 16-bit little-endian PCM, mono. The client sends
 * 16 kHz in 20 ms frames (640 bytes); the speech engines take WAV; Silero VAD takes float
 * samples. This module holds those constants and the small conversions between them, and
 * reads WAV files as speech programs write them (their header sizes may be bogus when they
 * write to a pipe, so the data chunk runs to the end of the buffer then).
 */

/** The only input format a voice session accepts. */
export const INPUT_SAMPLE_RATE = 16_000;
export const INPUT_ENCODING = 'pcm_s16le';
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (INPUT_SAMPLE_RATE * FRAME_MS) / 1000;
export const FRAME_BYTES = FRAME_SAMPLES * 2;

/** PCM of one channel with its rate. */
export interface Pcm {
  sampleRate: number;
  /** 16-bit little-endian samples. */
  data: Buffer;
}

export function pcmMs(pcm: Pcm): number {
  return (pcm.data.length / 2 / pcm.sampleRate) * 1000;
}

/** Bytes of a frame of `ms` milliseconds at `sampleRate` (whole samples). */
export function frameBytesAt(sampleRate: number, ms = FRAME_MS): number {
  return Math.round((sampleRate * ms) / 1000) * 2;
}

/** 16-bit PCM → floats in [-1, 1), as Silero VAD wants. */
export function pcm16ToFloat32(data: Buffer, out = new Float32Array(data.length >> 1)): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = data.readInt16LE(i * 2) / 32768;
  return out;
}

/** A mono 16-bit WAV file around `pcm`. */
export function encodeWav(pcm: Pcm): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(pcm.sampleRate, 24);
  header.writeUInt32LE(pcm.sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.data.length, 40);
  return Buffer.concat([header, pcm.data]);
}

/** Reads a mono 16-bit PCM WAV; throws on anything else. */
export function decodeWav(wav: Buffer): Pcm {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = wav.readUInt16LE(body);
      const channels = wav.readUInt16LE(body + 2);
      sampleRate = wav.readUInt32LE(body + 4);
      const bits = wav.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(`expected mono 16-bit PCM, got format ${format}, ${channels} channels, ${bits} bits`);
      }
    } else if (id === 'data') {
      if (!sampleRate) throw new Error('WAV data chunk before its fmt chunk');
      // Written to a pipe, the size is a placeholder (0 or 0x7fffffff): the data runs to the end.
      const end = size === 0 || body + size > wav.length ? wav.length : body + size;
      const data = wav.subarray(body, end - ((end - body) % 2));
      return { sampleRate, data };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

/** Splits PCM into frames of `bytes` (the last one padded with silence). */
export function framesOf(data: Buffer, bytes: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at < data.length; at += bytes) {
    const frame = data.subarray(at, at + bytes);
    frames.push(frame.length === bytes ? frame : Buffer.concat([frame, Buffer.alloc(bytes - frame.length)]));
  }
  return frames;
}
