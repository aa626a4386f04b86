/**
 * Ogg Opus (RFC 7845) in process, no ffmpeg: voice notes from chat platforms (Telegram sends
 * and takes OGG/Opus) become the 16 kHz mono PCM the speech-to-text engines take, and spoken
 * replies become voice notes. The Ogg pages (RFC 3533: capture pattern, lacing, CRC-32 with
 * polynomial 0x04C11DB7) are read and written here; the Opus packets go through libopus
 * compiled to WebAssembly (`opusscript`). Decoding asks libopus for 16 kHz directly; granule
 * positions and pre-skip count 48 kHz samples, as the format defines.
 */
import { createRequire } from 'node:module';
import type OpusScriptType from 'opusscript';
import type { Pcm } from './audio.js';

// opusscript is CommonJS with `export =`: loaded with require so its class comes as it is.
const OpusScript = createRequire(import.meta.url)('opusscript') as typeof OpusScriptType;

/** The rate voice notes decode to and encode from (the speech engines' input rate). */
export const OGG_OPUS_PCM_RATE = 16_000;
/** 20 ms Opus frames. */
const FRAME_SAMPLES = 320;
/** 48 kHz samples per 20 ms frame (granule positions count at 48 kHz). */
const FRAME_GRANULE = 960;
/** libopus's encoder look-ahead at 48 kHz, skipped by decoders. */
const PRE_SKIP = 312;
/** Longest voice note decoded (Opus frames are at most 120 ms: 30,000 packets = one hour at 120 ms). */
export const MAX_OPUS_PACKETS = 30_000;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function oggCrc(page: Buffer): number {
  let crc = 0;
  for (const byte of page) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) & 0xff) ^ byte]!) >>> 0;
  return crc;
}

/** The packets of the first logical stream in an Ogg file; throws on a broken page. */
export function oggPackets(file: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let offset = 0;
  let serial: number | undefined;
  while (offset < file.length) {
    if (file.length - offset < 27 || file.toString('latin1', offset, offset + 4) !== 'OggS')
      throw new Error('not an Ogg page');
    const segments = file[offset + 26]!;
    const header = 27 + segments;
    if (file.length - offset < header) throw new Error('truncated Ogg page');
    const lacing = file.subarray(offset + 27, offset + header);
    const size = lacing.reduce((a, b) => a + b, 0);
    if (file.length - offset < header + size) throw new Error('truncated Ogg page');
    const page = Buffer.from(file.subarray(offset, offset + header + size));
    const crc = page.readUInt32LE(22);
    page.writeUInt32LE(0, 22);
    if (oggCrc(page) !== crc) throw new Error('Ogg page checksum mismatch');
    const pageSerial = file.readUInt32LE(offset + 14);
    serial ??= pageSerial;
    if (pageSerial === serial) {
      let at = offset + header;
      for (const len of lacing) {
        pending.push(file.subarray(at, at + len));
        at += len;
        if (len < 255) {
          packets.push(Buffer.concat(pending));
          pending = [];
          if (packets.length > MAX_OPUS_PACKETS + 2) throw new Error('voice note too long');
        }
      }
    }
    offset += header + size;
  }
  return packets;
}

/** An Ogg Opus file as 16 kHz mono 16-bit PCM; throws when it is not Ogg Opus. */
export function decodeOggOpus(file: Buffer): Pcm {
  const [head, tags, ...audio] = oggPackets(file);
  if (!head || head.length < 19 || head.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('not an Opus stream');
  if (!tags || tags.toString('latin1', 0, 8) !== 'OpusTags') throw new Error('Opus stream without its tags');
  const channels = head[9]!;
  if (channels < 1 || channels > 2 || head[18] !== 0) throw new Error('only mono and stereo Opus are read');
  const preSkip = Math.round((head.readUInt16LE(10) * OGG_OPUS_PCM_RATE) / 48_000);
  const decoder = new OpusScript(OGG_OPUS_PCM_RATE, channels, OpusScript.Application.VOIP);
  try {
    const out: Buffer[] = [];
    for (const packet of audio) {
      if (packet.length === 0) continue;
      const pcm = decoder.decode(packet);
      if (channels === 1) {
        out.push(Buffer.from(pcm));
        continue;
      }
      const mono = Buffer.alloc(pcm.length / 2);
      for (let i = 0; i < mono.length / 2; i++)
        mono.writeInt16LE((pcm.readInt16LE(i * 4) + pcm.readInt16LE(i * 4 + 2)) >> 1, i * 2);
      out.push(mono);
    }
    return { sampleRate: OGG_OPUS_PCM_RATE, data: Buffer.concat(out).subarray(preSkip * 2) };
  } finally {
    decoder.delete();
  }
}

function page(serial: number, seq: number, granule: bigint, flags: number, packets: Buffer[]): Buffer {
  const lacing: number[] = [];
  for (const p of packets) {
    for (let n = p.length; ; n -= 255) {
      lacing.push(Math.min(n, 255));
      if (n < 255) break;
    }
  }
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[5] = flags;
  header.writeBigInt64LE(granule, 6);
  header.writeUInt32LE(serial, 14);
  header.writeUInt32LE(seq, 18);
  header[26] = lacing.length;
  Buffer.from(lacing).copy(header, 27);
  const out = Buffer.concat([header, ...packets]);
  out.writeUInt32LE(oggCrc(out), 22);
  return out;
}

/** 16-bit mono PCM at 16 kHz as an Ogg Opus voice note (20 ms frames, 24 kbit/s). */
export function encodeOggOpus(pcm: Pcm): Buffer {
  if (pcm.sampleRate !== OGG_OPUS_PCM_RATE) throw new Error(`expected ${OGG_OPUS_PCM_RATE} Hz PCM`);
  const encoder = new OpusScript(OGG_OPUS_PCM_RATE, 1, OpusScript.Application.VOIP);
  try {
    encoder.setBitrate(24_000);
    const serial = (Math.random() * 0xffffffff) >>> 0;
    const head = Buffer.alloc(19);
    head.write('OpusHead', 0, 'latin1');
    head[8] = 1;
    head[9] = 1;
    head.writeUInt16LE(PRE_SKIP, 10);
    head.writeUInt32LE(OGG_OPUS_PCM_RATE, 12);
    const vendor = Buffer.from('Herald (libopus via opusscript)');
    const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
    tags.write('OpusTags', 0, 'latin1');
    tags.writeUInt32LE(vendor.length, 8);
    vendor.copy(tags, 12);
    const pages = [page(serial, 0, 0n, 0x02, [head]), page(serial, 1, 0n, 0, [tags])];
    const frameBytes = FRAME_SAMPLES * 2;
    const frames = Math.max(1, Math.ceil(pcm.data.length / frameBytes));
    let packets: Buffer[] = [];
    let granule = 0n;
    for (let i = 0; i < frames; i++) {
      const frame = Buffer.alloc(frameBytes);
      pcm.data.copy(frame, 0, i * frameBytes, Math.min(pcm.data.length, (i + 1) * frameBytes));
      packets.push(Buffer.from(encoder.encode(frame, FRAME_SAMPLES)));
      granule += BigInt(FRAME_GRANULE);
      const last = i === frames - 1;
      // About one second of audio a page.
      if (packets.length === 50 || last) {
        const end = last ? BigInt(PRE_SKIP) + BigInt(Math.round((pcm.data.length / 2) * 3)) : granule;
        pages.push(page(serial, pages.length, end < granule ? end : granule, last ? 0x04 : 0, packets));
        packets = [];
      }
    }
    return Buffer.concat(pages);
  } finally {
    encoder.delete();
  }
}

/** 16-bit mono PCM at another rate, by linear interpolation (speech from a TTS engine into a voice note). */
export function resamplePcm(pcm: Pcm, rate: number): Pcm {
  if (pcm.sampleRate === rate) return pcm;
  const inN = pcm.data.length >> 1;
  const outN = Math.floor((inN * rate) / pcm.sampleRate);
  const out = Buffer.alloc(outN * 2);
  for (let i = 0; i < outN; i++) {
    const x = (i * pcm.sampleRate) / rate;
    const j = Math.floor(x);
    const a = pcm.data.readInt16LE(Math.min(j, inN - 1) * 2);
    const b = pcm.data.readInt16LE(Math.min(j + 1, inN - 1) * 2);
    out.writeInt16LE(Math.round(a + (b - a) * (x - j)), i * 2);
  }
  return { sampleRate: rate, data: out };
}
