/**
 * X's rules as data: weighted character counting exactly as X counts it (the `twitter-text`
 * package: URLs count 23, emoji 2, CJK 2, other text 1), 280 for standard accounts and 25,000
 * for subscribers (`metadata.longPosts`), four images or one video/GIF per post, threads as
 * reply chains, and the post options Herald passes on.
 */
import twitterText from 'twitter-text';
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { validateAgainstCapabilities } from '../text-length.js';
import { PLATFORM } from './errors.js';

export const STANDARD_MAX = 280;
/** Premium subscribers' long posts. */
export const LONG_POST_MAX = 25_000;
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime'] as const;
export const IMAGE_MAX_BYTES = 5 * 1024 * 1024;
export const GIF_MAX_BYTES = 15 * 1024 * 1024;
export const VIDEO_MAX_BYTES = 512 * 1024 * 1024;
export const ALT_TEXT_MAX = 1_000;

/** The length X gives the text (its `weightedLength`). */
export function countXText(text: string): number {
  return twitterText.parseTweet(text).weightedLength;
}

export function capabilities(account: Pick<AccountContext, 'metadata'>): Capabilities {
  return {
    platform: PLATFORM,
    text: { rule: 'weighted', max: account.metadata.longPosts === true ? LONG_POST_MAX : STANDARD_MAX },
    media: {
      maxCount: 4,
      maxBytes: VIDEO_MAX_BYTES,
      mimeTypes: [...IMAGE_TYPES, ...VIDEO_TYPES],
      altTextMax: ALT_TEXT_MAX,
    },
    threads: { supported: true, maxParts: 25 },
    asyncPublishing: false,
    // X takes no idempotency key; `lookup` reads the account's recent posts instead.
    idempotency: { kind: 'none' },
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: 2_400,
    concurrencyPerAccount: 1,
  };
}

/**
 * The developer app's X API access. Self-serve (pay-per-use, Basic, Pro) lost quote posts on
 * Apr 20, 2026 and may reply only where summoned (Feb 23, 2026); Enterprise kept both
 * (https://docs.x.com/changelog).
 */
export type XApiAccess = 'self-serve' | 'enterprise';
export const DEFAULT_X_API_ACCESS: XApiAccess = 'self-serve';

export interface XPostOptions {
  /** Part 0 quotes this post. */
  quoteTweetId?: string;
  replySettings?: 'mentionedUsers' | 'following' | 'subscribers' | 'verified';
}

const REPLY_SETTINGS = ['mentionedUsers', 'following', 'subscribers', 'verified'];

export function parsePostOptions(
  options: Record<string, unknown>,
  access: XApiAccess = DEFAULT_X_API_ACCESS,
): {
  options: XPostOptions;
  issues: ValidationIssue[];
} {
  const out: XPostOptions = {};
  const issues: ValidationIssue[] = [];
  const { quoteTweetId, replySettings, ...rest } = options;
  if (quoteTweetId !== undefined) {
    if (access !== 'enterprise')
      issues.push({
        code: 'option_invalid',
        part: 0,
        message:
          'X no longer takes quote posts from self-serve API apps (since April 20, 2026); this needs Enterprise access (X_API_ACCESS=enterprise). Post the link to the post instead.',
      });
    else if (typeof quoteTweetId === 'string' && /^\d{1,19}$/.test(quoteTweetId)) out.quoteTweetId = quoteTweetId;
    else issues.push({ code: 'option_invalid', part: 0, message: 'quoteTweetId must be the numeric id of an X post.' });
  }
  if (replySettings !== undefined) {
    if (typeof replySettings === 'string' && REPLY_SETTINGS.includes(replySettings))
      out.replySettings = replySettings as XPostOptions['replySettings'];
    else
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `replySettings must be one of ${REPLY_SETTINGS.join(', ')}.`,
      });
  }
  for (const name of Object.keys(rest)) {
    issues.push({ code: 'option_invalid', part: 0, message: `X has no post option "${name}".` });
  }
  return { options: out, issues };
}

export function validateDraft(
  account: Pick<AccountContext, 'metadata'>,
  draft: Draft,
  access: XApiAccess = DEFAULT_X_API_ACCESS,
): ValidationIssue[] {
  const issues = validateAgainstCapabilities(capabilities(account), draft, countXText);
  draft.parts.forEach((part, i) => {
    const where = draft.parts.length > 1 ? ` (part ${i + 1})` : '';
    const videos = part.media.filter((m) => m.mimeType.startsWith('video/') || m.mimeType === 'image/gif');
    if (videos.length > 0 && part.media.length > 1) {
      issues.push({
        code: 'too_many_media',
        part: i,
        message: `X takes one video or GIF alone, or up to 4 images${where}; this post has ${part.media.length} media including a video or GIF.`,
        limit: 1,
        actual: part.media.length,
      });
    }
    for (const m of part.media) {
      const max =
        m.mimeType === 'image/gif'
          ? GIF_MAX_BYTES
          : m.mimeType.startsWith('image/')
            ? IMAGE_MAX_BYTES
            : VIDEO_MAX_BYTES;
      if (m.sizeBytes > max && m.sizeBytes <= VIDEO_MAX_BYTES) {
        issues.push({
          code: 'media_too_large',
          part: i,
          message: `X accepts ${m.mimeType} files up to ${Math.round(max / (1024 * 1024))} MB${where}; this one is ${(m.sizeBytes / (1024 * 1024)).toFixed(1)} MB.`,
          limit: max,
          actual: m.sizeBytes,
        });
      }
    }
  });
  issues.push(...parsePostOptions(draft.options, access).issues);
  return issues;
}
