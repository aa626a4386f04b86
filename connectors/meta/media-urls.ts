/**
 * Meta downloads media itself ("We cURL media used in publishing attempts, so the media must
 * be hosted on a publicly accessible server at the time of the attempt": Instagram content
 * publishing guide; Threads and Pages photo `url` alike). Herald stores media under its
 * SHA-256 (`core/storage/keys.ts`), so a URL names the stored file by its content: the
 * connector hashes the file it was handed — read from storage as a stream when it can be
 * (`MediaInput.open`: videos are never loaded whole), else the bytes in memory — and Herald's
 * API streams `<PUBLIC_URL>/v1/public-media/<sha256>.<ext>?exp=<unix s>&sig=<HMAC>` from the
 * store until `exp` when the signature holds (`server/routes/public-media.ts`). Without
 * `PUBLIC_URL` there is no such URL, and drafts for Meta are refused at schedule time
 * (`media_url_unavailable`).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { MediaInput } from '../contract.js';

export const PUBLIC_MEDIA_PATH = '/v1/public-media';
/** Long enough for Meta to fetch a video and for a container's retries; short enough to leak little. */
export const DEFAULT_MEDIA_URL_TTL_MS = 6 * 60 * 60_000;

export interface MediaUrls {
  /** A URL Meta can download this file from, valid for a few hours. */
  urlFor(media: MediaInput): Promise<string>;
}

/**
 * The file's SHA-256 (hex). A file that can be read from storage is hashed as it streams by
 * (a 200 MB reel costs a stream buffer, not 200 MB); `bytes` is read only when there is no
 * `open` (media handed in memory, as in tests), since a streamed video's `bytes` throws.
 */
export async function sha256Of(media: Pick<MediaInput, 'open'> & { bytes?: Buffer }): Promise<string> {
  const hash = createHash('sha256');
  if (media.open) for await (const piece of await media.open()) hash.update(piece as Buffer);
  else hash.update(media.bytes!);
  return hash.digest('hex');
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
};

export const extensionOf = (mimeType: string): string => EXTENSIONS[mimeType] ?? 'bin';

const signatureOf = (secret: Buffer, file: string, exp: number) =>
  createHmac('sha256', secret).update(`${file}\n${exp}`).digest('base64url');

/** Signed URLs under `publicUrl` for files Herald's API serves from the media store. */
export function signedMediaUrls(opts: {
  publicUrl: string;
  secret: Buffer;
  ttlMs?: number;
  now?: () => number;
}): MediaUrls {
  const base = opts.publicUrl.replace(/\/+$/, '');
  const ttl = opts.ttlMs ?? DEFAULT_MEDIA_URL_TTL_MS;
  return {
    async urlFor(media) {
      const sha = await sha256Of(media);
      const file = `${sha}.${extensionOf(media.mimeType)}`;
      const exp = Math.floor(((opts.now?.() ?? Date.now()) + ttl) / 1000);
      return `${base}${PUBLIC_MEDIA_PATH}/${file}?exp=${exp}&sig=${signatureOf(opts.secret, file, exp)}`;
    },
  };
}

/** Whether a signed media URL's parts hold: the signature matches and `exp` is not past. */
export function verifyMediaUrl(
  secret: Buffer,
  file: string,
  exp: string | undefined,
  sig: string | undefined,
  now = Date.now(),
): boolean {
  if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return false;
  const expS = Number(exp);
  if (expS * 1000 < now) return false;
  const want = Buffer.from(signatureOf(secret, file, expS));
  const got = Buffer.from(sig);
  return want.length === got.length && timingSafeEqual(want, got);
}
