/**
 * MP4 and QuickTime (ISO base media) files: reads the picture size and duration from the
 * `moov` box, and blanks the boxes that carry metadata — `udta` and `meta` (where phones write
 * the recording location, e.g. `©xyz` or `com.apple.quicktime.location.ISO6709`) and XMP
 * `uuid` boxes — by renaming them to `free`. Renaming keeps every size and offset, so sample
 * tables stay valid and players skip the blanked boxes, as the format requires.
 *
 * The file is changed in place; the caller owns it (a staged upload).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { HeraldError } from '../../core/index.js';

export interface VideoFacts {
  width: number | null;
  height: number | null;
  durationMs: number | null;
  /** Sample entry of the video track (`avc1`, `hvc1`, `hev1`, `av01`, `vp09`...), or null. */
  videoCodec: string | null;
  /** Sample entry of the first sound track (`mp4a`, `Opus`, `ac-3`...), or null when silent. */
  audioCodec: string | null;
  /** Degrees clockwise the video track's matrix turns the picture for display. */
  rotation: number;
  /** Frames per second from the video track's sample timing, or null. */
  frameRate: number | null;
  /** How many metadata boxes were blanked. */
  blanked: number;
}

/** Largest `moov` box read into memory (sample tables of hours of video fit well inside). */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const XMP_UUID = 'be7acfcb97a942e89c71999491e3afac';
const METADATA_BOXES = new Set(['udta', 'meta']);

interface Box {
  type: string;
  /** Offset of the box's first byte (its size field). */
  start: number;
  /** Offset of the payload. */
  body: number;
  end: number;
}

const malformed = (why: string) =>
  new HeraldError('media_invalid', { message: `The video cannot be read: ${why}`, details: { container: 'iso-bmff' } });

/** The boxes laid end to end in `buf[from, to)`; offsets are relative to `buf`. */
function childBoxes(buf: Buffer, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) throw malformed(`box ${type} is cut short`);
      size = Number(buf.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < body - at || at + size > to) throw malformed(`box ${type} runs past its parent`);
    boxes.push({ type, start: at, body, end: at + size });
    at += size;
  }
  return boxes;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** The top-level boxes, read header by header (the media data is never loaded). */
async function topLevelBoxes(handle: FileHandle, fileSize: number): Promise<Box[]> {
  const boxes: Box[] = [];
  let at = 0;
  while (at + 8 <= fileSize) {
    const head = await readAt(handle, at, 16);
    let size = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    let body = at + 8;
    if (size === 1) {
      if (head.length < 16) throw malformed(`box ${type} is cut short`);
      size = Number(head.readBigUInt64BE(8));
      body = at + 16;
    } else if (size === 0) {
      size = fileSize - at;
    }
    if (size < body - at) throw malformed(`box ${type} has an impossible size`);
    if (at + size > fileSize) throw malformed(`the file ends inside box ${type} (truncated upload?)`);
    boxes.push({ type, start: at, body, end: at + size });
    at += size;
  }
  return boxes;
}

/** Movie duration from `mvhd` (versions 0 and 1). */
function durationOf(moov: Buffer, mvhd: Box): number | null {
  const v = moov.readUInt8(mvhd.body);
  const [timescale, duration] =
    v === 1
      ? [moov.readUInt32BE(mvhd.body + 20), Number(moov.readBigUInt64BE(mvhd.body + 24))]
      : [moov.readUInt32BE(mvhd.body + 12), moov.readUInt32BE(mvhd.body + 16)];
  // All ones means "unknown" (fragmented files).
  if (!timescale || duration === 0xffffffff || !Number.isSafeInteger(duration)) return null;
  return Math.round((duration * 1000) / timescale);
}

/** Display size of a video track from `tkhd`, turned by its matrix (phones record portrait as a 90° turn). */
function sizeOf(moov: Buffer, tkhd: Box): { width: number; height: number } | null {
  const v = moov.readUInt8(tkhd.body);
  const matrixAt = tkhd.body + (v === 1 ? 52 : 40);
  if (matrixAt + 44 > tkhd.end) return null;
  const a = moov.readInt32BE(matrixAt);
  const b = moov.readInt32BE(matrixAt + 4);
  const width = Math.round(moov.readUInt32BE(matrixAt + 36) / 65536);
  const height = Math.round(moov.readUInt32BE(matrixAt + 40) / 65536);
  if (!width || !height) return null;
  return a === 0 && b !== 0 ? { width: height, height: width } : { width, height };
}

/** 0, 90, 180 or 270 from a `tkhd` matrix (a, b, c, d in 16.16 fixed point). */
function rotationOf(moov: Buffer, tkhd: Box): number {
  const v = moov.readUInt8(tkhd.body);
  const at = tkhd.body + (v === 1 ? 52 : 40);
  if (at + 16 > tkhd.end) return 0;
  const [a, b, c, d] = [0, 4, 12, 16].map((o) => Math.sign(moov.readInt32BE(at + o)));
  if (a === 0 && b === 1 && c === -1 && d === 0) return 90;
  if (a === -1 && d === -1) return 180;
  if (a === 0 && b === -1 && c === 1 && d === 0) return 270;
  return 0;
}

const child = (buf: Buffer, parent: Box | undefined, type: string) =>
  parent ? childBoxes(buf, parent.body, parent.end).find((b) => b.type === type) : undefined;

/** The track's first sample entry (its codec) and frame rate from `mdhd` and `stts`. */
function sampleFactsOf(moov: Buffer, trak: Box): { codec: string | null; frameRate: number | null } {
  const mdia = child(moov, trak, 'mdia');
  const stbl = child(moov, child(moov, mdia, 'minf'), 'stbl');
  const stsd = child(moov, stbl, 'stsd');
  // stsd: version/flags (4), entry count (4), then sample entries (size, format).
  const codec =
    stsd && stsd.body + 16 <= stsd.end && moov.readUInt32BE(stsd.body + 4) > 0
      ? moov.toString('latin1', stsd.body + 12, stsd.body + 16)
      : null;
  let frameRate: number | null = null;
  const mdhd = child(moov, mdia, 'mdhd');
  const stts = child(moov, stbl, 'stts');
  if (mdhd && stts && stts.body + 8 <= stts.end) {
    const timescale = moov.readUInt32BE(mdhd.body + (moov.readUInt8(mdhd.body) === 1 ? 20 : 12));
    let frames = 0;
    let ticks = 0;
    const entries = moov.readUInt32BE(stts.body + 4);
    for (let i = 0, at = stts.body + 8; i < entries && at + 8 <= stts.end; i++, at += 8) {
      frames += moov.readUInt32BE(at);
      ticks += moov.readUInt32BE(at) * moov.readUInt32BE(at + 4);
    }
    if (timescale && ticks) frameRate = Math.round(((frames * timescale) / ticks) * 1000) / 1000;
  }
  return { codec: codec ? codec.replace(/\0+$/, '') : null, frameRate };
}

function handlerOf(moov: Buffer, trak: Box): string | null {
  const mdia = childBoxes(moov, trak.body, trak.end).find((b) => b.type === 'mdia');
  const hdlr = mdia && childBoxes(moov, mdia.body, mdia.end).find((b) => b.type === 'hdlr');
  return hdlr && hdlr.body + 12 <= hdlr.end ? moov.toString('latin1', hdlr.body + 8, hdlr.body + 12) : null;
}

const isXmp = (buf: Buffer, box: Box) =>
  box.type === 'uuid' && box.body + 16 <= box.end && buf.toString('hex', box.body, box.body + 16) === XMP_UUID;

export async function inspectAndScrubIsoBmff(file: string): Promise<VideoFacts> {
  const handle = await open(file, 'r+');
  try {
    return await inspect(handle);
  } catch (err) {
    // A header field that points past its box: the file is damaged, not Herald.
    if (err instanceof RangeError) throw malformed('a box is cut short');
    throw err;
  } finally {
    await handle.close();
  }
}

async function inspect(handle: FileHandle): Promise<VideoFacts> {
  const { size: fileSize } = await handle.stat();
  const top = await topLevelBoxes(handle, fileSize);
  const moovBox = top.find((b) => b.type === 'moov');
  if (!moovBox) throw malformed('it has no movie header (moov box)');
  if (moovBox.end - moovBox.start > MAX_MOOV_BYTES) throw malformed('its movie header is implausibly large');

  // Type fields to overwrite with `free`, as absolute file offsets.
  const blank: number[] = [];
  for (const box of top) {
    const xmp =
      box.type === 'uuid' &&
      box.body + 16 <= box.end &&
      (await readAt(handle, box.body, 16)).toString('hex') === XMP_UUID;
    if (METADATA_BOXES.has(box.type) || xmp) blank.push(box.start + 4);
  }

  const moov = await readAt(handle, moovBox.start, moovBox.end - moovBox.start);
  const rel = moovBox.body - moovBox.start;
  let durationMs: number | null = null;
  let size: { width: number; height: number } | null = null;
  let video: { codec: string | null; frameRate: number | null; rotation: number } | null = null;
  let audioCodec: string | null = null;
  for (const box of childBoxes(moov, rel, moov.length)) {
    if (box.type === 'mvhd') durationMs = durationOf(moov, box);
    else if (METADATA_BOXES.has(box.type) || isXmp(moov, box)) blank.push(moovBox.start + box.start + 4);
    else if (box.type === 'trak') {
      const children = childBoxes(moov, box.body, box.end);
      for (const child of children) {
        if (METADATA_BOXES.has(child.type) || isXmp(moov, child)) blank.push(moovBox.start + child.start + 4);
      }
      const tkhd = children.find((c) => c.type === 'tkhd');
      const handler = handlerOf(moov, box);
      if (!size && tkhd && (handler === 'vide' || handler === null)) size = sizeOf(moov, tkhd);
      if (!video && tkhd && handler === 'vide')
        video = { ...sampleFactsOf(moov, box), rotation: rotationOf(moov, tkhd) };
      if (!audioCodec && handler === 'soun') audioCodec = sampleFactsOf(moov, box).codec;
    }
  }

  const free = Buffer.from('free', 'latin1');
  for (const at of blank) await handle.write(free, 0, 4, at);
  return {
    width: size?.width ?? null,
    height: size?.height ?? null,
    durationMs,
    videoCodec: video?.codec ?? null,
    audioCodec,
    rotation: video?.rotation ?? 0,
    frameRate: video?.frameRate ?? null,
    blanked: blank.length,
  };
}
