/**
 * Instagram's rules as data, checked at schedule time (developers.facebook.com/docs/
 * instagram-platform/content-publishing and the IG User Media reference):
 * - a post needs media: one JPEG image, one video (published as a reel), or a carousel of 2 to
 *   10 images and videos; a reel is one video; a story is one image or video;
 * - captions up to 2,200 characters, 30 hashtags and 20 @mentions;
 * - images JPEG up to 8 MB; reel videos MP4/MOV up to 300 MB and 3 s to 15 min; story videos
 *   up to 100 MB and 60 s; aspect ratio of a reel between 0.01:1 and 10:1;
 * - alt text on images only (not reels or stories), up to 1,000 characters;
 * - up to 3 collaborators (usernames), not on stories;
 * - the account's rolling 24 h publishing quota, read from `content_publishing_limit` when
 *   the account is connected (`metadata.publishingQuota`).
 * Meta fetches every file from a public URL, so media needs Herald's `PUBLIC_URL`.
 */
import type { AccountContext, Capabilities, Draft, MediaDescriptor, ValidationIssue } from '../contract.js';
import { validateAgainstCapabilities } from '../text-length.js';
import { mediaRequired } from '../video.js';

export const PLATFORM = 'instagram';

export const CAPTION_MAX = 2_200;
export const HASHTAGS_MAX = 30;
export const MENTIONS_MAX = 20;
export const CAROUSEL_MIN = 2;
export const CAROUSEL_MAX = 10;
export const IMAGE_MAX_BYTES = 8 * 1024 * 1024;
export const REEL_MAX_BYTES = 300 * 1024 * 1024;
export const STORY_VIDEO_MAX_BYTES = 100 * 1024 * 1024;
export const REEL_MIN_MS = 3_000;
export const REEL_MAX_MS = 15 * 60_000;
export const STORY_VIDEO_MAX_MS = 60_000;
export const ALT_TEXT_MAX = 1_000;
export const COLLABORATORS_MAX = 3;
/** Used only until the account's own quota is read (Meta documents it per account). */
export const FALLBACK_PUBLISHING_QUOTA = 50;

export const IMAGE_TYPES = ['image/jpeg'] as const;
export const VIDEO_TYPES = ['video/mp4', 'video/quicktime'] as const;

export type InstagramKind = 'feed' | 'reel' | 'story';

export interface InstagramOptions {
  /** `feed` (default: an image, a carousel, or a single video as a reel), `reel`, `story`. */
  kind: InstagramKind;
  /** Usernames invited as collaborators (up to 3; not on stories). */
  collaborators: string[];
  /** A reel also appears in the feed grid (default true). */
  shareToFeed: boolean;
}

const isVideo = (m: Pick<MediaDescriptor, 'mimeType'>) => m.mimeType.startsWith('video/');

export function parseOptions(options: Record<string, unknown>): {
  options: InstagramOptions;
  issues: ValidationIssue[];
} {
  const issues: ValidationIssue[] = [];
  const kind = options.kind ?? 'feed';
  if (kind !== 'feed' && kind !== 'reel' && kind !== 'story') {
    issues.push({ code: 'option_invalid', part: 0, message: 'Instagram option kind must be feed, reel or story.' });
  }
  const raw = options.collaborators ?? [];
  const collaborators = Array.isArray(raw) ? raw.filter((c): c is string => typeof c === 'string') : [];
  if (!Array.isArray(raw) || collaborators.length !== raw.length) {
    issues.push({ code: 'option_invalid', part: 0, message: 'Instagram collaborators must be a list of usernames.' });
  }
  if (collaborators.length > COLLABORATORS_MAX) {
    issues.push({
      code: 'option_invalid',
      part: 0,
      message: `Instagram allows ${COLLABORATORS_MAX} collaborators; this post names ${collaborators.length}.`,
      limit: COLLABORATORS_MAX,
      actual: collaborators.length,
    });
  }
  if (kind === 'story' && collaborators.length > 0) {
    issues.push({ code: 'option_invalid', part: 0, message: 'Instagram stories take no collaborators.' });
  }
  const shareToFeed = options.shareToFeed === undefined ? true : options.shareToFeed === true;
  return {
    options: {
      kind: kind === 'reel' || kind === 'story' ? kind : 'feed',
      collaborators: collaborators.map((c) => c.replace(/^@/, '')),
      shareToFeed,
    },
    issues,
  };
}

export function publishingQuota(account: Pick<AccountContext, 'metadata'>): number {
  const q = account.metadata.publishingQuota;
  return typeof q === 'number' && Number.isInteger(q) && q > 0 ? q : FALLBACK_PUBLISHING_QUOTA;
}

export function capabilities(account: Pick<AccountContext, 'metadata'>): Capabilities {
  return {
    platform: PLATFORM,
    text: { rule: 'chars', max: CAPTION_MAX },
    media: {
      maxCount: CAROUSEL_MAX,
      maxBytes: REEL_MAX_BYTES,
      mimeTypes: [...IMAGE_TYPES, ...VIDEO_TYPES],
      altTextMax: ALT_TEXT_MAX,
      // Meta downloads videos from Herald's public URL: the worker never loads them, it hashes them as they stream.
      streamsVideo: true,
    },
    threads: { supported: false, maxParts: 1 },
    asyncPublishing: false,
    idempotency: { kind: 'none' },
    // The journaled container's state says whether it was published; without a journal the
    // account's media since the attempt is read whole and matched by caption and type.
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: publishingQuota(account),
    concurrencyPerAccount: 1,
  };
}

const count = (re: RegExp, text: string) => (text.match(re) ?? []).length;

/** Optional facts a media descriptor may carry (video probing; image size where known). */
type Facts = MediaDescriptor & {
  video?: { durationMs: number | null; width: number | null; height: number | null };
};

export function validateDraft(
  account: Pick<AccountContext, 'metadata'>,
  draft: Draft,
  env: { mediaUrls: boolean },
): ValidationIssue[] {
  const caps = capabilities(account);
  const issues = validateAgainstCapabilities(caps, draft);
  const { options, issues: optionIssues } = parseOptions(draft.options);
  issues.push(...optionIssues);
  const part = draft.parts[0];
  if (!part) return issues;
  const media = part.media as Facts[];
  const text = part.text;
  const tags = count(/(^|\s)#[\p{L}\p{N}_]+/gu, text);
  if (tags > HASHTAGS_MAX) {
    issues.push({
      code: 'text_too_long',
      part: 0,
      message: `Instagram allows ${HASHTAGS_MAX} hashtags in a caption; this one has ${tags}.`,
      limit: HASHTAGS_MAX,
      actual: tags,
    });
  }
  const mentions = count(/(^|[^\w])@[A-Za-z0-9._]+/g, text);
  if (mentions > MENTIONS_MAX) {
    issues.push({
      code: 'text_too_long',
      part: 0,
      message: `Instagram allows ${MENTIONS_MAX} @mentions in a caption; this one has ${mentions}.`,
      limit: MENTIONS_MAX,
      actual: mentions,
    });
  }
  if (media.length === 0) {
    // Instagram has no text-only posts (the content publishing API takes an image, a video or
    // a carousel); an empty part already says it has nothing.
    if (!issues.some((i) => i.code === 'empty'))
      issues.push({
        ...mediaRequired('Instagram', 'a JPEG image or a video'),
        message: 'Instagram takes no post without media: add a JPEG image or a video.',
      });
    return issues;
  }
  if (!env.mediaUrls) {
    issues.push({
      code: 'option_invalid',
      part: 0,
      message:
        "Instagram downloads media from a public URL, and this Herald has none: set PUBLIC_URL (where Meta can reach Herald's /v1/public-media).",
    });
  }
  if (options.kind === 'feed' && media.length > 1 && media.length < CAROUSEL_MIN) {
    issues.push({ code: 'too_many_media', part: 0, message: 'An Instagram carousel holds 2 to 10 items.' });
  }
  if ((options.kind === 'reel' || options.kind === 'story') && media.length !== 1) {
    issues.push({
      code: 'too_many_media',
      part: 0,
      message: `An Instagram ${options.kind} is one ${options.kind === 'reel' ? 'video' : 'image or video'}; this post has ${media.length} media.`,
      limit: 1,
      actual: media.length,
    });
  }
  media.forEach((m, j) => {
    const which = media.length > 1 ? `media ${j + 1}` : 'the media';
    if (options.kind === 'reel' && !isVideo(m)) {
      issues.push({ code: 'media_type', part: 0, message: `An Instagram reel is a video; ${which} is ${m.mimeType}.` });
    }
    if (!isVideo(m) && m.sizeBytes > IMAGE_MAX_BYTES && (IMAGE_TYPES as readonly string[]).includes(m.mimeType)) {
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: `Instagram takes images up to 8 MB; ${which} is larger.`,
        limit: IMAGE_MAX_BYTES,
        actual: m.sizeBytes,
      });
    }
    if (isVideo(m) && options.kind === 'story' && m.sizeBytes > STORY_VIDEO_MAX_BYTES) {
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: `Instagram takes story videos up to 100 MB; ${which} is larger.`,
        limit: STORY_VIDEO_MAX_BYTES,
        actual: m.sizeBytes,
      });
    }
    if (m.altText && (isVideo(m) || options.kind === 'story')) {
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `Instagram takes alt text on feed images only; ${which} is a ${isVideo(m) ? 'video' : 'story'}.`,
      });
    }
    const d = m.video?.durationMs;
    if (isVideo(m) && typeof d === 'number') {
      const [min, max] = options.kind === 'story' ? [REEL_MIN_MS, STORY_VIDEO_MAX_MS] : [REEL_MIN_MS, REEL_MAX_MS];
      if (d < min || d > max) {
        issues.push({
          code: 'option_invalid',
          part: 0,
          message: `Instagram takes ${options.kind === 'story' ? 'story videos' : 'reels'} of ${min / 1000} s to ${max / 1000} s; ${which} lasts ${(d / 1000).toFixed(1)} s.`,
          limit: max,
          actual: d,
        });
      }
    }
    const w = m.video?.width;
    const h = m.video?.height;
    if (isVideo(m) && w && h && (w / h < 0.01 || w / h > 10)) {
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `Instagram takes videos with an aspect ratio between 0.01:1 and 10:1; ${which} is ${w}x${h}.`,
      });
    }
  });
  return issues;
}
