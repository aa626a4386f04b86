/**
 * Facebook Pages' rules as data (developers.facebook.com/docs/pages-api/posts and the Page
 * Photos / Videos references): a post of up to 63,206 characters, with a link, one or more
 * photos (each uploaded unpublished and attached: up to 10 here), or one video (not mixed with
 * photos); photos JPEG, PNG, GIF, WebP up to 10 MB, videos MP4/MOV up to 1 GB; alt text on
 * photos; a first comment as an option. Meta downloads media from a public URL.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { validateAgainstCapabilities } from '../text-length.js';

export const PLATFORM = 'facebook';
export const TEXT_MAX = 63_206;
export const PHOTOS_MAX = 10;
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
export const VIDEO_MAX_BYTES = 1024 * 1024 * 1024;
export const COMMENT_MAX = 8_000;

export interface FacebookOptions {
  /** A link shared with the post (text posts only). */
  link?: string;
  /** A comment the Page adds under its post right after publishing. */
  firstComment?: string;
}

export function parseOptions(options: Record<string, unknown>): {
  options: FacebookOptions;
  issues: ValidationIssue[];
} {
  const issues: ValidationIssue[] = [];
  const out: FacebookOptions = {};
  if (options.link !== undefined) {
    if (typeof options.link === 'string' && /^https?:\/\/\S+$/.test(options.link)) out.link = options.link;
    else issues.push({ code: 'option_invalid', part: 0, message: 'Facebook option link must be an http(s) URL.' });
  }
  if (options.firstComment !== undefined) {
    if (
      typeof options.firstComment === 'string' &&
      options.firstComment.trim() &&
      options.firstComment.length <= COMMENT_MAX
    )
      out.firstComment = options.firstComment;
    else
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `Facebook option firstComment must be text of 1 to ${COMMENT_MAX} characters.`,
      });
  }
  return { options: out, issues };
}

export function capabilities(_account: Pick<AccountContext, 'metadata'>): Capabilities {
  return {
    platform: PLATFORM,
    text: { rule: 'chars', max: TEXT_MAX },
    media: {
      maxCount: PHOTOS_MAX,
      maxBytes: VIDEO_MAX_BYTES,
      mimeTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'video/mp4', 'video/quicktime'],
      altTextMax: 1_000,
      // Meta downloads videos from Herald's public URL: the worker never loads them, it hashes them as they stream.
      streamsVideo: true,
    },
    threads: { supported: false, maxParts: 1 },
    asyncPublishing: false,
    idempotency: { kind: 'none' },
    // The Page's feed since the attempt is read whole and matched by message.
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: null,
    concurrencyPerAccount: 1,
  };
}

export function validateDraft(
  account: Pick<AccountContext, 'metadata'>,
  draft: Draft,
  env: { mediaUrls: boolean },
): ValidationIssue[] {
  const issues = validateAgainstCapabilities(capabilities(account), draft);
  const parsed = parseOptions(draft.options);
  issues.push(...parsed.issues);
  const media = draft.parts[0]?.media ?? [];
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  if (videos.length > 0 && media.length > 1) {
    issues.push({
      code: 'too_many_media',
      part: 0,
      message: 'A Facebook post is photos or one video, not both or several videos.',
    });
  }
  if (media.length > 0 && parsed.options.link) {
    issues.push({
      code: 'option_invalid',
      part: 0,
      message: 'A Facebook post with media takes no link option: put the link in the text.',
    });
  }
  if (media.length > 0 && !env.mediaUrls) {
    issues.push({
      code: 'option_invalid',
      part: 0,
      message:
        "Facebook downloads media from a public URL, and this Herald has none: set PUBLIC_URL (where Meta can reach Herald's /v1/public-media).",
    });
  }
  media.forEach((m, j) => {
    if (m.mimeType.startsWith('image/') && m.sizeBytes > PHOTO_MAX_BYTES) {
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: `Facebook takes photos up to 10 MB; media ${j + 1} is larger.`,
        limit: PHOTO_MAX_BYTES,
        actual: m.sizeBytes,
      });
    }
  });
  return issues;
}
