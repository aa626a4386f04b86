/**
 * Short codes of tracked links: random base62 drawn from the system's CSPRNG, with rejection
 * sampling so every character is equally likely. Ten characters give 62^10 ≈ 8·10^17 codes,
 * so neither a sequence nor a neighbour of a known code can be guessed.
 */
import { randomBytes } from 'node:crypto';

export const CODE_LENGTH = 10;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** What `GET /l/:code` accepts before touching any store. */
export const CODE_PATTERN = /^[0-9A-Za-z]{4,32}$/;

export function newCode(length = CODE_LENGTH): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 248 = 62 * 4: bytes at or above it would favour the first characters.
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}
