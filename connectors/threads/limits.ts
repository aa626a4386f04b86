/**
 * Threads' rules as data, checked at schedule time (developers.facebook.com/docs/threads/posts
 * and /overview): 500 characters per post, counted as Threads counts them (an emoji counts as
 * its UTF-8 bytes), at most 5 links; images (JPEG, PNG) up to 8 MB and videos (MP4, MOV) up
 * to 1 GB and 5 minutes; a carousel of 2 to 20 items; a Herald thread is a reply chain
 * (`reply_to_id`), each part its own post; `reply_control` and quote posts (`quote_post_id`)
 * as options; 250 API posts per profile per rolling 24 h (`threads_publishing_limit`). Meta
 * fetches media from a public URL, so media needs Herald's `PUBLIC_URL`.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { validateAgainstCapabilities } from '../text-length.js';

export const PLATFORM = 'threads';
export const TEXT_MAX = 500;
export const LINKS_MAX = 5;
export const CAROUSEL_MIN = 2;
export const CAROUSEL_MAX = 20;
export const IMAGE_MAX_BYTES = 8 * 1024 * 1024;
export const VIDEO_MAX_BYTES = 1024 * 1024 * 1024;
export const VIDEO_MAX_MS = 5 * 60_000;
export const ALT_TEXT_MAX = 1_000;
/** Threads' documented quota, used until the profile's own is read. */
export const DEFAULT_PUBLISHING_QUOTA = 250;
/** Parts of one Herald thread (each a reply to the one before). */
export const THREAD_MAX_PARTS = 25;

export const REPLY_CONTROLS = [
  'everyone',
  'accounts_you_follow',
  'mentioned_only',
  'parent_post_author_only',
  'followers_only',
] as const;
export type ReplyControl = (typeof REPLY_CONTROLS)[number];

export interface ThreadsOptions {
  replyControl?: ReplyControl;
  /** A Threads post id this post quotes (part 0). */
  quotePostId?: string;
  /** A Threads post id part 0 replies to. */
  replyToId?: string;
}

const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** An emoji's code point, or one of the joiners, selectors and skin tones that build emojis. */
const isEmojiPart = (ch: string) => {
  const cp = ch.codePointAt(0)!;
  return PICTOGRAPH.test(ch) || cp === 0x200d || cp === 0xfe0f || cp === 0x20e3 || (cp >= 0x1f3fb && cp <= 0x1f3ff);
};

/** Length as Threads counts it: one per character, an emoji's UTF-8 bytes. */
export function countThreadsText(text: string): number {
  let n = 0;
  for (const ch of text) n += isEmojiPart(ch) ? Buffer.byteLength(ch, 'utf8') : 1;
  return n;
}

export function parseOptions(options: Record<string, unknown>): { options: ThreadsOptions; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const out: ThreadsOptions = {};
  if (options.replyControl !== undefined) {
    if (REPLY_CONTROLS.includes(options.replyControl as ReplyControl))
      out.replyControl = options.replyControl as ReplyControl;
    else
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `Threads replyControl must be one of ${REPLY_CONTROLS.join(', ')}.`,
      });
  }
  for (const [key, field] of [
    ['quotePostId', 'quotePostId'],
    ['replyToId', 'replyToId'],
  ] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v === 'string' && /^\d+$/.test(v)) out[field] = v;
    else issues.push({ code: 'option_invalid', part: 0, message: `Threads ${key} must be a Threads post id.` });
  }
  return { options: out, issues };
}

export function publishingQuota(account: Pick<AccountContext, 'metadata'>): number {
  const q = account.metadata.publishingQuota;
  return typeof q === 'number' && Number.isInteger(q) && q > 0 ? q : DEFAULT_PUBLISHING_QUOTA;
}

export function capabilities(account: Pick<AccountContext, 'metadata'>): Capabilities {
  return {
    platform: PLATFORM,
    text: { rule: 'weighted', max: TEXT_MAX },
    media: {
      maxCount: CAROUSEL_MAX,
      maxBytes: VIDEO_MAX_BYTES,
      mimeTypes: ['image/jpeg', 'image/png', 'video/mp4', 'video/quicktime'],
      altTextMax: ALT_TEXT_MAX,
      // Meta downloads videos from Herald's public URL: the worker never loads them, it hashes them as they stream.
      streamsVideo: true,
    },
    threads: { supported: true, maxParts: THREAD_MAX_PARTS },
    asyncPublishing: false,
    idempotency: { kind: 'none' },
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: publishingQuota(account),
    concurrencyPerAccount: 1,
  };
}

export function validateDraft(
  account: Pick<AccountContext, 'metadata'>,
  draft: Draft,
  env: { mediaUrls: boolean },
): ValidationIssue[] {
  const issues = validateAgainstCapabilities(capabilities(account), draft, countThreadsText);
  issues.push(...parseOptions(draft.options).issues);
  draft.parts.forEach((part, i) => {
    const links = new Set(part.text.match(/\b(?:https?:\/\/|www\.)\S+/gi) ?? []).size;
    if (links > LINKS_MAX) {
      issues.push({
        code: 'text_too_long',
        part: i,
        message: `Threads allows ${LINKS_MAX} links in a post; ${draft.parts.length > 1 ? `part ${i + 1}` : 'this post'} has ${links}.`,
        limit: LINKS_MAX,
        actual: links,
      });
    }
    if (part.media.length > 0 && !env.mediaUrls) {
      issues.push({
        code: 'option_invalid',
        part: i,
        message:
          "Threads downloads media from a public URL, and this Herald has none: set PUBLIC_URL (where Meta can reach Herald's /v1/public-media).",
      });
    }
    part.media.forEach((m, j) => {
      if (m.mimeType.startsWith('image/') && m.sizeBytes > IMAGE_MAX_BYTES) {
        issues.push({
          code: 'media_too_large',
          part: i,
          message: `Threads takes images up to 8 MB; media ${j + 1} is larger.`,
          limit: IMAGE_MAX_BYTES,
          actual: m.sizeBytes,
        });
      }
      const d = (m as { video?: { durationMs: number | null } }).video?.durationMs;
      if (m.mimeType.startsWith('video/') && typeof d === 'number' && d > VIDEO_MAX_MS) {
        issues.push({
          code: 'option_invalid',
          part: i,
          message: `Threads takes videos up to 5 minutes; media ${j + 1} lasts ${Math.round(d / 1000)} s.`,
          limit: VIDEO_MAX_MS,
          actual: d,
        });
      }
    });
  });
  return issues;
}
