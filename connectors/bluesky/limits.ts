/**
 * Bluesky's capabilities as data: what a post may hold (text, images, alt text, threads), how
 * publishing is deduplicated, and the account write budget. Every number names its source; the
 * connector's `validate` and the worker read them from here, nothing else hard-codes them.
 */
import type { Capabilities } from '../contract.js';

/** `app.bsky.feed.post#text`: `maxGraphemes: 300`. */
export const TEXT_MAX_GRAPHEMES = 300;

/**
 * `app.bsky.feed.post#text`: `maxLength: 3000`, counted in UTF-8 bytes. Plain text meets the
 * grapheme limit first, but emoji sequences do not: a family emoji is one grapheme and 25 bytes,
 * so 121 of them (3,025 bytes) are refused by the PDS although they are far below 300 graphemes.
 */
export const TEXT_MAX_BYTES = 3000;

/** `app.bsky.embed.images#main.images`: `maxLength: 4`. */
export const IMAGES_PER_POST = 4;

/**
 * Largest image blob, in bytes. The `app.bsky.embed.images#image` lexicon shipped with PDS
 * 0.4.x (the version the tests run) says `maxSize: 1000000`, and the PDS refuses a post
 * whose image blob is larger ("blob too big (maximum 1000000, ...)"). Bluesky raised the
 * lexicon value to 2,000,000 in April 2026 (`@atproto/api` 0.19 carries it), but a PDS only
 * accepts what its own lexicon says, so 1,000,000 is the value every PDS accepts. Accounts on an
 * up-to-date PDS can be given more through the connector's `imageMaxBytes` option.
 */
export const IMAGE_MAX_BYTES = 1_000_000;

/**
 * Image types we publish: the lexicon accepts `image/*`; these are the still-image formats every
 * Bluesky client displays. A GIF would show only its first frame, so it is refused rather than
 * silently frozen.
 */
export const IMAGE_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/**
 * Alt text length in graphemes. The lexicon sets no limit on `alt`; the official client
 * (bsky.app, `MAX_ALT_TEXT`) accepts up to 2000 graphemes, and we hold to the same number so a
 * post from Herald never carries alt text the app itself could not have written.
 */
export const ALT_TEXT_MAX_GRAPHEMES = 2000;

/**
 * Parts per thread. Bluesky has no thread length limit (a thread is a reply chain); 25 keeps a
 * single publish bounded in time and in write points (each part is one record create).
 */
export const THREAD_MAX_PARTS = 25;

/** `app.bsky.feed.post#langs`: `maxLength: 3` language tags. */
export const LANGUAGES_MAX = 3;

/** Self-label values the Bluesky app understands on a post (`com.atproto.label.defs#selfLabels`). */
export const SELF_LABELS = ['sexual', 'nudity', 'porn', 'graphic-media'] as const;

/**
 * The PDS write budget per account (DID), from the PDS's `repo-write-day` limiter and Bluesky's
 * rate-limit guide (docs.bsky.app/docs/advanced-guides/rate-limits): 35,000 points per day and
 * 5,000 per hour, where a record create costs 3 points. Each thread part is one create.
 */
export const WRITE_POINTS_PER_DAY = 35_000;
export const WRITE_POINTS_PER_HOUR = 5_000;
export const CREATE_RECORD_POINTS = 3;
/** floor(35,000 / 3) = 11,666 record creates (posts or thread parts) per rolling day. */
export const POSTS_PER_DAY = Math.floor(WRITE_POINTS_PER_DAY / CREATE_RECORD_POINTS);

/**
 * Calls in flight per account. The PDS serialises writes to one repository, so more writers
 * only queue there while spending the 3,000-requests-per-5-minutes budget faster; two lets a
 * metrics read or lookup overlap a publish. Uploads inside one publish run one after another.
 */
export const CONCURRENCY_PER_ACCOUNT = 2;

export interface LimitOverrides {
  /** See {@link IMAGE_MAX_BYTES}. */
  imageMaxBytes?: number;
}

export function blueskyCapabilities(overrides: LimitOverrides = {}): Capabilities {
  return {
    platform: 'bluesky',
    text: { rule: 'graphemes', max: TEXT_MAX_GRAPHEMES },
    media: {
      maxCount: IMAGES_PER_POST,
      maxBytes: overrides.imageMaxBytes ?? IMAGE_MAX_BYTES,
      mimeTypes: IMAGE_MIME_TYPES,
      altTextMax: ALT_TEXT_MAX_GRAPHEMES,
    },
    threads: { supported: true, maxParts: THREAD_MAX_PARTS },
    asyncPublishing: false,
    // Each part's record key is derived from the idempotency key, and a repository holds one
    // record per key: a retry can never create a second post.
    idempotency: { kind: 'permanent' },
    // `lookup` reads those record keys back from the PDS, which is the source of truth.
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: POSTS_PER_DAY,
    concurrencyPerAccount: CONCURRENCY_PER_ACCOUNT,
  };
}
