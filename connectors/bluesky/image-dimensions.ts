/**
 * Width and height of a JPEG, PNG or WebP image read from its header, for the `aspectRatio`
 * Bluesky clients use to lay out an image before it loads. A JPEG's EXIF orientation is applied
 * (a portrait photo stored sideways reports portrait). Reading headers needs no image library:
 * `sharp` is only installed here as a development dependency of the test PDS, so production
 * code cannot rely on it.
 */

export interface Dimensions {
  width: number;
  height: number;
}

/** The image's displayed size, or null when the bytes are not a JPEG, PNG or WebP image we can read. */
export function imageDimensions(bytes: Uint8Array): Dimensions | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = isPng(buf) ? png(buf) : isJpeg(buf) ? jpeg(buf) : isWebp(buf) ? webp(buf) : null;
  return found && found.width > 0 && found.height > 0 ? found : null;
}

const isPng = (b: Buffer) =>
  b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR';
const isJpeg = (b: Buffer) => b.length >= 4 && b[0] === 0xff && b[1] === 0xd8;
const isWebp = (b: Buffer) =>
  b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP';

function png(b: Buffer): Dimensions {
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Start-of-frame markers (baseline, progressive, lossless...): C0–CF except DHT (C4), JPG (C8), DAC (CC). */
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpeg(b: Buffer): Dimensions | null {
  let orientation = 1;
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return null;
    const marker = b[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, or scan data before any frame header
    const length = b.readUInt16BE(pos + 2);
    const body = pos + 4;
    if (marker === 0xe1 && body + 6 <= b.length && b.toString('latin1', body, body + 6) === 'Exif\0\0') {
      orientation = exifOrientation(b, body + 6, Math.min(b.length, pos + 2 + length)) ?? orientation;
    }
    if (SOF_MARKERS.has(marker)) {
      if (body + 5 > b.length) return null;
      const height = b.readUInt16BE(body + 1);
      const width = b.readUInt16BE(body + 3);
      // Orientations 5–8 rotate by 90°: the stored width is the displayed height.
      return orientation >= 5 ? { width: height, height: width } : { width, height };
    }
    pos += 2 + length;
  }
  return null;
}

/** The Orientation tag (0x0112) of IFD0 in a TIFF block spanning [start, end). */
function exifOrientation(b: Buffer, start: number, end: number): number | null {
  if (start + 8 > end) return null;
  const order = b.toString('latin1', start, start + 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const u16 = (at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end) return null;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return null;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}

function webp(b: Buffer): Dimensions | null {
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return null;
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  }
  return null;
}
