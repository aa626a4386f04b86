/**
 * Record keys derived from idempotency keys. `app.bsky.feed.post` records use TID keys, and a
 * repository holds at most one record per key, so deriving each thread part's key from the
 * target's idempotency key makes every retry address the same record: a second publish can
 * find the first one but never add a twin.
 */
import { createHash } from 'node:crypto';

/** TIDs are written in base32 "sortable" (RFC 4648 letters reordered so text order is numeric order). */
const TID_ALPHABET = '234567abcdefghijklmnopqrstuvwxyz';

/**
 * The first two characters of every derived key. A TID is a 64-bit number, top bit 0, whose
 * high 53 bits are microseconds since 1970; `3j` puts that timestamp between August 2024 and
 * September 2025, so a derived key is a well-formed TID that never claims a future time. The other
 * eleven characters carry 55 bits of SHA-256, so keys of different posts do not collide.
 */
const DERIVED_PREFIX = '3j';

/** Changing how keys are derived would make retries of old publishes create new posts: bump deliberately. */
const DERIVATION = 'herald/bluesky/post-rkey/v1';

/** The record key of thread part `part` for a publish with this idempotency key. */
export function partRecordKey(idempotencyKey: string, part: number): string {
  if (!Number.isInteger(part) || part < 0) throw new RangeError(`part must be a non-negative integer, got ${part}`);
  const digest = createHash('sha256').update(`${DERIVATION}\n${idempotencyKey}\n${part}`).digest();
  let bits = digest.readBigUInt64BE(0) >> 9n; // the top 55 bits
  const chars: string[] = [];
  for (let i = 0; i < 11; i++) {
    chars.unshift(TID_ALPHABET[Number(bits & 31n)]!);
    bits >>= 5n;
  }
  return DERIVED_PREFIX + chars.join('');
}

/** The syntax of a TID (atproto spec: 13 base32-sortable characters, the first one of `234567abcdefghij`). */
export const TID_PATTERN = /^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/;
