/**
 * YouTube's rules as data: one video per post (no text-only posts, no images), the post's
 * text is the description (5,000 bytes), the title (option `title`, else the text's first
 * line) at most 100 characters, neither with `<` or `>`; Shorts (option `short`) at most 3
 * minutes and square or vertical; a scheduled release (`publishAt`) must be in the future and
 * is uploaded private until then. An image beside the video is its custom thumbnail (JPEG or
 * PNG, at most 2 MB; thumbnails.set). Sources: developers.google.com/youtube/v3/docs/videos
 * (snippet.title, snippet.description, status.publishAt) and YouTube Help on Shorts.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { countGraphemes, validateAgainstCapabilities } from '../text-length.js';
import { mediaRequired, videoIssues, type VideoRules } from '../video.js';
import { PLATFORM } from './errors.js';

export const TITLE_MAX = 100;
export const DESCRIPTION_MAX_BYTES = 5_000;
export const SHORTS_MAX_MS = 180_000;
export const VIDEO_MIME_TYPES = ['video/mp4', 'video/quicktime', 'video/webm'] as const;
export const THUMBNAIL_MIME_TYPES = ['image/jpeg', 'image/png'] as const;
export const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024;
export const PRIVACY_STATUSES = ['public', 'unlisted', 'private'] as const;
export type PrivacyStatus = (typeof PRIVACY_STATUSES)[number];

/** Videos of unverified channels are capped at 15 minutes; verified ones at 12 hours (YouTube Help). */
export const VIDEO_RULES: VideoRules = { maxDurationMs: 12 * 3600 * 1000, minSide: 1 };

export const capabilities = (account: Pick<AccountContext, 'metadata'>): Capabilities => ({
  platform: PLATFORM,
  text: { rule: 'bytes', max: DESCRIPTION_MAX_BYTES },
  media: {
    maxCount: 2,
    maxBytes: 256 * 1024 ** 3,
    mimeTypes: [...VIDEO_MIME_TYPES, ...THUMBNAIL_MIME_TYPES],
    altTextMax: null,
    streamsVideo: true,
  },
  threads: { supported: false, maxParts: 1 },
  asyncPublishing: false,
  idempotency: { kind: 'none' },
  // The upload session (journaled before the first byte) or the channel's uploads say whether the video is there.
  lookupIsAuthoritative: true,
  postsPerAccountPerDay: typeof account.metadata.uploadsPerDay === 'number' ? account.metadata.uploadsPerDay : null,
  concurrencyPerAccount: 1,
});

export interface YouTubeOptions {
  title: string;
  privacyStatus: PrivacyStatus;
  publishAt: Date | null;
  short: boolean;
  tags: string[];
  categoryId: string;
  madeForKids: boolean;
}

/** The title: the `title` option, else the text's first line (cut at 100 characters). */
export function titleOf(draft: Pick<Draft, 'parts' | 'options'>): string {
  const given = typeof draft.options.title === 'string' ? draft.options.title.trim() : '';
  if (given) return given;
  const first = (draft.parts[0]?.text ?? '').split('\n')[0]!.trim();
  const cut = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(first)]
    .slice(0, TITLE_MAX)
    .map((s) => s.segment)
    .join('');
  return cut || 'Untitled';
}

export function parseOptions(
  draft: Pick<Draft, 'parts' | 'options'>,
  now = Date.now(),
): { options: YouTubeOptions; issues: ValidationIssue[] } {
  const o = draft.options;
  const issues: ValidationIssue[] = [];
  const bad = (message: string) => issues.push({ code: 'option_invalid', part: 0, message });
  const title = titleOf(draft);
  if (countGraphemes(title) > TITLE_MAX)
    issues.push({
      code: 'option_invalid',
      part: 0,
      message: `YouTube titles are at most ${TITLE_MAX} characters; this one has ${countGraphemes(title)}.`,
      limit: TITLE_MAX,
      actual: countGraphemes(title),
    });
  if (/[<>]/.test(title)) bad('YouTube titles may not contain < or >.');
  if (/[<>]/.test(draft.parts[0]?.text ?? '')) bad('YouTube descriptions may not contain < or >.');
  let privacyStatus: PrivacyStatus = 'public';
  if (o.privacyStatus !== undefined) {
    if (PRIVACY_STATUSES.includes(o.privacyStatus as PrivacyStatus)) privacyStatus = o.privacyStatus as PrivacyStatus;
    else bad(`privacyStatus must be one of ${PRIVACY_STATUSES.join(', ')}.`);
  }
  let publishAt: Date | null = null;
  if (o.publishAt !== undefined && o.publishAt !== null) {
    const at = typeof o.publishAt === 'string' ? new Date(o.publishAt) : null;
    if (!at || Number.isNaN(at.getTime())) bad('publishAt must be an ISO 8601 instant.');
    else if (at.getTime() <= now) bad('publishAt must be in the future: YouTube releases the video then.');
    else {
      publishAt = at;
      // YouTube takes a scheduled release only on a private video (status.publishAt).
      privacyStatus = 'private';
    }
  }
  const tags = Array.isArray(o.tags) ? o.tags.filter((t): t is string => typeof t === 'string') : [];
  if (tags.join(',').length > 500) bad('YouTube allows 500 characters of tags in all.');
  return {
    options: {
      title,
      privacyStatus,
      publishAt,
      short: o.short === true,
      tags,
      categoryId: typeof o.categoryId === 'string' ? o.categoryId : '22',
      madeForKids: o.madeForKids === true,
    },
    issues,
  };
}

export function validateDraft(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
  const caps = capabilities(account);
  const issues = validateAgainstCapabilities(caps, draft);
  const media = draft.parts[0]?.media ?? [];
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const images = media.filter((m) => m.mimeType.startsWith('image/'));
  if (videos.length === 0 && !issues.some((i) => i.code === 'empty' || i.code === 'too_many_media'))
    issues.push(mediaRequired('YouTube', 'a video'));
  if (videos.length > 1 || images.length > 1)
    issues.push({
      code: 'too_many_media',
      part: 0,
      message: 'A YouTube post is one video, with at most one image as its thumbnail.',
    });
  for (const img of images)
    if (img.sizeBytes > THUMBNAIL_MAX_BYTES)
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: 'YouTube thumbnails are at most 2 MB.',
        limit: THUMBNAIL_MAX_BYTES,
        actual: img.sizeBytes,
      });
  const { options, issues: optionIssues } = parseOptions(draft);
  issues.push(...optionIssues);
  for (const m of videos) {
    issues.push(...videoIssues('YouTube', VIDEO_RULES, m, 0, 'the video'));
    const v = m.video;
    if (options.short && v) {
      if (v.durationMs !== null && v.durationMs > SHORTS_MAX_MS)
        issues.push({
          code: 'video_rules',
          part: 0,
          message: `YouTube Shorts last at most 3 minutes; the video lasts ${Math.round(v.durationMs / 1000)} s.`,
          limit: SHORTS_MAX_MS,
          actual: v.durationMs,
        });
      if (v.width !== null && v.height !== null && v.width > v.height)
        issues.push({
          code: 'video_rules',
          part: 0,
          message: `YouTube Shorts are square or vertical; the video is ${v.width}x${v.height}.`,
        });
    }
  }
  return issues;
}
