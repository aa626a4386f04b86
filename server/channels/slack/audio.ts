/**
 * Audio sent to Herald's Slack app — a clip recorded in Slack or an audio file shared in a
 * direct message or a mention — made into the 16 kHz mono WAV Herald's speech-to-text engines
 * take, in process (no ffmpeg). A message carrying files arrives as a `message` event with
 * subtype `file_share` and a `files` array of file objects
 * (https://api.slack.com/events/message/file_share, https://api.slack.com/types/file); the
 * bytes are at `url_private_download` (or `url_private`), which need
 * `Authorization: Bearer <token>` with the `files:read` scope
 * (https://api.slack.com/types/file#auth). A file in a Slack Connect channel comes as a stub
 * (`file_access: "check_file_info"`) whose object `files.info` gives.
 *
 * Slack's recorded clips (file `subtype` `slack_audio`) are WebM with Opus when recorded in the
 * desktop or web client and MP4 (`audio/mp4`, sometimes labelled `video/mp4`, named
 * `audio_message*.mp4`) with AAC from the phone apps. Decoding is `@audio/decode` (audiojs):
 * it reads the container and decodes with WebAssembly builds of libopus, FAAD2 (AAC, GPL-2.0),
 * mpg123, libvorbis and libFLAC. Formats it cannot read are answered with the list that works
 * (`SLACK_AUDIO_FORMATS`).
 *
 * The bot token is sent only to Slack's file host (or the origin of `SLACK_API_URL`), and a
 * redirect (Slack sends a token it does not take to its sign-in page) or an HTML page is a
 * failed download, never audio.
 */
import { decodeChunked } from '@audio/decode';
import getType from 'audio-type';
import { OGG_OPUS_PCM_RATE, resamplePcm, type Pcm } from '../../../voice/index.js';

/** What works, as the user is told when a file cannot be read. */
export const SLACK_AUDIO_FORMATS =
  'clips recorded in Slack, or audio files in WebM (Opus), MP4/M4A (AAC), MP3, WAV, Ogg (Opus or Vorbis) or FLAC';
/** Largest audio file downloaded (bytes): Telegram's limit for voice notes, and past any 5-minute clip. */
export const MAX_AUDIO_BYTES = 20 * 1024 * 1024;
/** Where Slack serves files (`url_private_download`). */
export const SLACK_FILE_ORIGIN = 'https://files.slack.com';

/** The fields of a Slack file object this channel reads. */
export interface SlackFile {
  id: string;
  name?: string | null;
  title?: string;
  mimetype?: string;
  filetype?: string;
  pretty_type?: string;
  /** `slack_audio` for a clip recorded in Slack. */
  subtype?: string;
  size?: number;
  /** Set on audio and video files (clips). */
  duration_ms?: number;
  mode?: string;
  file_access?: string;
  url_private?: string;
  url_private_download?: string;
}

const AUDIO_TYPES = new Set(['webm', 'm4a', 'mp3', 'wav', 'ogg', 'oga', 'opus', 'flac', 'aac', 'amr']);

/** Whether `file` is audio Herald should listen to: a Slack clip, an `audio/*` file, or an audio file type. */
export function isAudioFile(file: SlackFile): boolean {
  if (file.subtype === 'slack_audio') return true;
  if (file.mimetype?.startsWith('audio/')) return true;
  if (file.filetype && AUDIO_TYPES.has(file.filetype)) return true;
  // Phone clips are MP4 that Slack may label video/mp4.
  return /^audio_message/i.test(file.name ?? '') && (file.filetype === 'mp4' || file.mimetype === 'video/mp4');
}

/** A file stub (Slack Connect) or one without a download URL: its full object comes from `files.info`. */
export function needsFileInfo(file: SlackFile): boolean {
  return file.file_access === 'check_file_info' || (!file.url_private_download && !file.url_private);
}

export class AudioFormatUnsupported extends Error {}
export class AudioDownloadFailed extends Error {}

/**
 * The file's bytes with the bot token, from Slack's file host only; at most `maxBytes`.
 * `allowedOrigins` are the origins the token may be sent to.
 */
export async function downloadSlackFile(
  file: SlackFile,
  token: string,
  allowedOrigins: readonly string[],
  opts: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? MAX_AUDIO_BYTES;
  const where = file.url_private_download ?? file.url_private;
  if (!where) throw new AudioDownloadFailed('the file has no download URL');
  let url: URL;
  try {
    url = new URL(where);
  } catch {
    throw new AudioDownloadFailed('the file URL is not a URL');
  }
  if (!allowedOrigins.includes(url.origin)) throw new AudioDownloadFailed(`files are not fetched from ${url.origin}`);
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    redirect: 'manual',
    signal: opts.signal ?? AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new AudioDownloadFailed(`the file answered HTTP ${res.status}`);
  }
  if ((res.headers.get('content-type') ?? '').includes('text/html')) {
    await res.body?.cancel();
    throw new AudioDownloadFailed('Slack answered a page, not the file (is the files:read scope granted?)');
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new AudioDownloadFailed('the file is too large');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).length;
    if (size > maxBytes) throw new AudioDownloadFailed('the file is too large');
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

const UNSUPPORTED = /unknown audio format|no decoder|unsupported|not a webm|no audio track/i;
/**
 * Bytes handed to the decoder at a time: small, because one piece of a constant-frame FLAC can
 * expand to minutes of audio (a frame of 65,535 samples per channel fits in about 12 bytes).
 */
const DECODE_PIECE_BYTES = 256;

/** The audio decodes to more than the allowed seconds; decoding was stopped there. */
export class AudioTooLong extends Error {}

/** What one decode read, for the caller to see how far it went. */
export interface DecodeProgress {
  /** Encoded bytes handed to the decoder. */
  bytesFed: number;
  /** Decoded samples per channel. */
  samples: number;
}

/**
 * Any audio file `@audio/decode` reads, as 16 kHz mono 16-bit PCM; `AudioFormatUnsupported`
 * otherwise, and `AudioTooLong` (before the rest is decoded) once it passes `maxSeconds`.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  opts: { maxSeconds: number; progress?: DecodeProgress },
): Promise<Pcm> {
  const progress = opts.progress ?? { bytesFed: 0, samples: 0 };
  const format = getType(bytes);
  if (!format) throw new AudioFormatUnsupported('unknown audio format');
  const pieces: Float32Array[][] = [];
  let sampleRate = 0;
  async function* source() {
    for (let at = 0; at < bytes.length; at += DECODE_PIECE_BYTES) {
      const piece = bytes.subarray(at, at + DECODE_PIECE_BYTES);
      progress.bytesFed += piece.length;
      yield piece;
    }
  }
  try {
    // Leaving the loop early ends the generator, which frees the decoder.
    for await (const out of decodeChunked(source(), format as Parameters<typeof decodeChunked>[1])) {
      if (!out.sampleRate || out.channelData.length === 0) continue;
      if (sampleRate && out.sampleRate !== sampleRate)
        throw new AudioFormatUnsupported('the sample rate changes within the file');
      sampleRate = out.sampleRate;
      pieces.push(out.channelData);
      progress.samples += out.channelData[0]!.length;
      if (progress.samples / sampleRate > opts.maxSeconds)
        throw new AudioTooLong(`longer than ${opts.maxSeconds} seconds`);
    }
  } catch (err) {
    if (err instanceof AudioTooLong || err instanceof AudioFormatUnsupported) throw err;
    const message = (err as Error).message ?? '';
    if (UNSUPPORTED.test(message)) throw new AudioFormatUnsupported(message);
    throw err;
  }
  const width = Math.max(0, ...pieces.map((p) => p.length));
  const decoded = {
    sampleRate,
    channelData: Array.from({ length: width }, (_, c) => {
      const whole = new Float32Array(progress.samples);
      let at = 0;
      for (const p of pieces) {
        const ch = p[c] ?? p[0]!;
        whole.set(ch, at);
        at += p[0]!.length;
      }
      return whole;
    }),
  };
  const channels = decoded.channelData;
  const rate = decoded.sampleRate;
  if (channels.length === 0 || !rate) throw new AudioFormatUnsupported('no audio in the file');
  const n = channels[0]!.length;
  const mono = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) mono[i]! += (ch[i] ?? 0) / channels.length;
  // Whole-number ratios (48 kHz Opus, 48 or 32 kHz AAC) average each group of samples, which
  // keeps what lies above 8 kHz from folding into speech; others interpolate.
  const factor = rate / OGG_OPUS_PCM_RATE;
  const step = Number.isInteger(factor) && factor >= 1 ? factor : 1;
  const outN = Math.floor(n / step);
  const data = Buffer.alloc(outN * 2);
  for (let i = 0; i < outN; i++) {
    let sum = 0;
    for (let k = 0; k < step; k++) sum += mono[i * step + k]!;
    const v = Math.max(-1, Math.min(1, sum / step));
    data.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return resamplePcm({ sampleRate: rate / step, data }, OGG_OPUS_PCM_RATE);
}
