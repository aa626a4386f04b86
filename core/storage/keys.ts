/**
 * Storage keys for media bytes: `ab/<sha256>.<ext>`, the same on every backend. Deriving the
 * key from the content is what stores identical bytes once; checking a key before use is what
 * keeps a stored (or forged) key from reaching outside the media directory or bucket prefix.
 */
import { HeraldError } from '../errors.js';

const KEY = /^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{1,8}$/;

/** The key under which bytes with this SHA-256 (hex) and file extension are stored. */
export function contentKey(sha256: string, extension: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 hex digest: ${sha256}`);
  const ext =
    extension
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 'bin';
  return `${sha256.slice(0, 2)}/${sha256}.${ext}`;
}

/** Throws `not_found` for anything that is not a key `contentKey` could have produced. */
export function assertKey(key: string): void {
  if (!KEY.test(key)) throw new HeraldError('not_found', { message: `No media stored under "${key}"` });
}
