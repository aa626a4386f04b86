/**
 * Audio clips as Slack's clients record them, made in process for tests: the desktop and web
 * clients record WebM with Opus (MediaRecorder), the phone apps MP4 with AAC
 * (`audio_message.mp4`, `audio/mp4`). Speech (16 kHz mono PCM, e.g. espeak's from
 * `speech-audio.ts`) is encoded to Opus by libopus (`encodeOggOpus`, then its packets) and put
 * in a WebM by mediabunny with the `OpusHead` as CodecPrivate, as a browser's recorder writes
 * it; AAC is FFmpeg's encoder in WebAssembly (`@mediabunny/aac-encoder`) in an MP4 by mediabunny.
 */
import { registerAacEncoder } from '@mediabunny/aac-encoder';
import {
  AudioSample,
  AudioSampleSource,
  BufferTarget,
  EncodedAudioPacketSource,
  EncodedPacket,
  Mp4OutputFormat,
  Output,
  WebMOutputFormat,
} from 'mediabunny';
import { encodeOggOpus, oggPackets, type Pcm } from '../../voice/index.js';

let aacRegistered = false;

/** `pcm` as a WebM/Opus clip (20 ms packets). */
export async function webmOpusClip(pcm: Pcm): Promise<Buffer> {
  const [head, , ...packets] = oggPackets(encodeOggOpus(pcm));
  const output = new Output({ format: new WebMOutputFormat(), target: new BufferTarget() });
  const source = new EncodedAudioPacketSource('opus');
  output.addAudioTrack(source);
  await output.start();
  for (const [i, packet] of packets.entries()) {
    await source.add(
      new EncodedPacket(new Uint8Array(packet), 'key', i * 0.02, 0.02),
      i === 0
        ? { decoderConfig: { codec: 'opus', numberOfChannels: 1, sampleRate: 48_000, description: head } }
        : undefined,
    );
  }
  await output.finalize();
  return Buffer.from(output.target.buffer!);
}

/** `pcm` as an MP4/AAC-LC clip, as Slack's phone apps record one. */
export async function mp4AacClip(pcm: Pcm): Promise<Buffer> {
  if (!aacRegistered) {
    registerAacEncoder();
    aacRegistered = true;
  }
  const output = new Output({ format: new Mp4OutputFormat(), target: new BufferTarget() });
  const source = new AudioSampleSource({ codec: 'aac', bitrate: 64_000 });
  output.addAudioTrack(source);
  await output.start();
  const n = pcm.data.length / 2;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = pcm.data.readInt16LE(i * 2) / 32768;
  const sample = new AudioSample({
    data,
    format: 'f32',
    numberOfChannels: 1,
    sampleRate: pcm.sampleRate,
    timestamp: 0,
  });
  await source.add(sample);
  sample.close();
  await output.finalize();
  return Buffer.from(output.target.buffer!);
}

/** How alike two recordings of the same speech are: correlation of their 20 ms loudness envelopes (1: same shape). */
export function envelopeCorrelation(a: Pcm, b: Pcm): number {
  const env = (p: Pcm) => {
    const frame = p.sampleRate / 50;
    const out: number[] = [];
    for (let i = 0; i + frame <= p.data.length / 2; i += frame) {
      let sum = 0;
      for (let k = 0; k < frame; k++) sum += p.data.readInt16LE((i + k) * 2) ** 2;
      out.push(Math.sqrt(sum / frame));
    }
    return out;
  };
  const x = env(a);
  const y = env(b);
  const n = Math.min(x.length, y.length);
  const mean = (v: number[]) => v.slice(0, n).reduce((s, t) => s + t, 0) / n;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
