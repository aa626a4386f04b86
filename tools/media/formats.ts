/**
 * The media Herald accepts, as data, and how an upload's real type is found: from its first
 * bytes (magic numbers), never from the file name or the declared `Content-Type`, which the
 * client controls.
 */
import { fileTypeFromFile } from 'file-type';
import { HeraldError } from '../../core/index.js';

export interface MediaFormat {
  mimeType: string;
  kind: 'image' | 'video';
  /** Extension of the storage key and of the download's file name. */
  extension: string;
}

export const ACCEPTED_FORMATS = [
  { mimeType: 'image/jpeg', kind: 'image', extension: 'jpg' },
  { mimeType: 'image/png', kind: 'image', extension: 'png' },
  { mimeType: 'image/webp', kind: 'image', extension: 'webp' },
  { mimeType: 'image/gif', kind: 'image', extension: 'gif' },
  { mimeType: 'video/mp4', kind: 'video', extension: 'mp4' },
  { mimeType: 'video/quicktime', kind: 'video', extension: 'mov' },
  { mimeType: 'video/webm', kind: 'video', extension: 'webm' },
] as const satisfies readonly MediaFormat[];

export const ACCEPTED_MIME_TYPES: readonly string[] = ACCEPTED_FORMATS.map((f) => f.mimeType);

/** Detected types stored as another accepted type: an animated PNG is a PNG (kept as its first frame). */
const ALIASES: Record<string, string> = { 'image/apng': 'image/png' };

export function formatOf(mimeType: string): MediaFormat | undefined {
  return ACCEPTED_FORMATS.find((f) => f.mimeType === mimeType);
}

/** The accepted format of the file's bytes; `unsupported_media_type` for anything else. */
export async function sniffFormat(file: string): Promise<MediaFormat> {
  const detected = await fileTypeFromFile(file);
  const format = detected ? formatOf(ALIASES[detected.mime] ?? detected.mime) : undefined;
  if (!format) {
    throw new HeraldError('unsupported_media_type', {
      message: detected
        ? `The file is ${detected.mime}; Herald accepts ${ACCEPTED_MIME_TYPES.join(', ')}`
        : `The file's type could not be recognised from its content; Herald accepts ${ACCEPTED_MIME_TYPES.join(', ')}`,
      details: { detected: detected?.mime ?? null, accepted: ACCEPTED_MIME_TYPES },
    });
  }
  return format;
}
