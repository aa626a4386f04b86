/**
 * Image normalisation with sharp. Every accepted image is decoded and re-encoded in its own
 * format, which is what lets Herald promise that no metadata survives:
 *
 * - turned upright from its EXIF orientation, then every metadata block dropped (EXIF with
 *   GPS and camera serials, XMP, IPTC, comments); colour profiles are converted to sRGB;
 * - scaled down, never up, so its long edge is at most `MAX_IMAGE_EDGE`;
 * - animated GIF and WebP keep every frame, their delays and loop count (each frame is
 *   scaled alike); an animated PNG keeps its first frame only (libvips reads no APNG frames).
 *
 * Decoding stops at `MAX_INPUT_PIXELS`, so a small file that inflates to a huge bitmap (a
 * "decompression bomb") is refused rather than exhausting memory.
 */
import sharp, { type Metadata } from 'sharp';
import { HeraldError } from '../../core/index.js';
import type { MediaFormat } from './formats.js';

/** Long-edge cap, in pixels, of a stored image. */
export const MAX_IMAGE_EDGE = 4096;
/** Largest image decoded, in pixels (all frames of an animation count). */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Lossy re-encoding quality (JPEG, WebP). */
export const IMAGE_QUALITY = 90;

const SHARP_FORMAT: Record<string, 'jpeg' | 'png' | 'webp' | 'gif'> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
};

export interface NormalisedImage {
  bytes: Buffer;
  width: number;
  /** Height of one frame. */
  height: number;
  frames: number;
}

const unreadable = (format: MediaFormat, err: unknown) =>
  new HeraldError('media_invalid', {
    message: `The ${format.mimeType} image cannot be read: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    details: { detected: format.mimeType },
  });

export async function normaliseImage(file: string, format: MediaFormat): Promise<NormalisedImage> {
  const target = SHARP_FORMAT[format.mimeType];
  if (!target) throw new Error(`not an image format: ${format.mimeType}`);
  const input = { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, animated: true } as const;

  let meta: Metadata;
  try {
    meta = await sharp(file, input).metadata();
  } catch (err) {
    throw unreadable(format, err);
  }
  // The bytes said one format; the decoder must agree, or the file is a chimera.
  if (meta.format !== target) {
    throw new HeraldError('media_invalid', {
      message: `The file starts like ${format.mimeType} but decodes as ${meta.format ?? 'nothing'}`,
      details: { detected: format.mimeType },
    });
  }
  const frames = target === 'gif' || target === 'webp' ? (meta.pages ?? 1) : 1;

  let pipeline = sharp(file, { ...input, animated: frames > 1 });
  // Animations carry no EXIF orientation in practice, and libvips cannot rotate them.
  if (frames === 1) pipeline = pipeline.rotate();
  pipeline = pipeline.resize({
    width: MAX_IMAGE_EDGE,
    height: MAX_IMAGE_EDGE,
    fit: 'inside',
    withoutEnlargement: true,
  });
  switch (target) {
    case 'jpeg':
      pipeline = pipeline.jpeg({ quality: IMAGE_QUALITY });
      break;
    case 'png':
      // A palette image stays a palette image (at most 256 colours: nothing is lost).
      pipeline = pipeline.png(meta.isPalette ? { palette: true, quality: 100, dither: 0 } : {});
      break;
    case 'webp':
      pipeline = pipeline.webp({ quality: IMAGE_QUALITY });
      break;
    case 'gif':
      pipeline = pipeline.gif();
      break;
  }
  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { bytes: data, width: info.width, height: info.pageHeight ?? info.height, frames };
  } catch (err) {
    throw unreadable(format, err);
  }
}
