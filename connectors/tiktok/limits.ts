/**
 * TikTok's rules as data (developers.tiktok.com: Content Posting API reference, media
 * transfer guide, content sharing guidelines): a post is one video or 1-35 photos (JPEG or
 * WebP, no PNG), a caption of up to 2,200 characters; videos of 23-60 fps, 360-4096 pixels a
 * side, H.264/H.265/VP8/VP9, up to 4 GB and the creator's own maximum duration (from
 * `creator_info`, 10 minutes at most through the API). Nothing is preselected, as TikTok's
 * review requires: the privacy level is the user's choice among the creator's options, and
 * comments, duets and stitches are off unless the user turns them on. An app TikTok has not
 * audited posts only `SELF_ONLY`, to private accounts.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { validateAgainstCapabilities } from '../text-length.js';
import { mediaRequired, videoIssues, type VideoRules } from '../video.js';
import { PLATFORM } from './errors.js';

export const CAPTION_MAX = 2_200;
export const PHOTO_TITLE_MAX = 90;
export const PHOTO_DESCRIPTION_MAX = 4_000;
export const MAX_PHOTOS = 35;
export const PHOTO_MAX_BYTES = 20 * 1024 * 1024;
export const VIDEO_MAX_BYTES = 4 * 1024 ** 3;
export const API_MAX_DURATION_MS = 10 * 60_000;
export const VIDEO_MIME_TYPES = ['video/mp4', 'video/quicktime', 'video/webm'] as const;
export const PHOTO_MIME_TYPES = ['image/jpeg', 'image/webp'] as const;
export const PRIVACY_LEVELS = [
  'PUBLIC_TO_EVERYONE',
  'MUTUAL_FOLLOW_FRIENDS',
  'FOLLOWER_OF_CREATOR',
  'SELF_ONLY',
] as const;
export type PrivacyLevel = (typeof PRIVACY_LEVELS)[number];

/** What `creator_info/query` said of the account, kept in its metadata at connect and after each post. */
export interface CreatorInfo {
  privacyLevelOptions: PrivacyLevel[];
  commentDisabled: boolean;
  duetDisabled: boolean;
  stitchDisabled: boolean;
  maxVideoPostDurationSec: number | null;
  username?: string;
}

export function creatorInfoOf(metadata: Record<string, unknown>): CreatorInfo | null {
  const c = metadata.creatorInfo as Partial<CreatorInfo> | undefined;
  return c && Array.isArray(c.privacyLevelOptions) ? (c as CreatorInfo) : null;
}

export const videoRules = (creator: CreatorInfo | null): VideoRules => ({
  maxDurationMs: Math.min(
    API_MAX_DURATION_MS,
    creator?.maxVideoPostDurationSec ? creator.maxVideoPostDurationSec * 1000 : API_MAX_DURATION_MS,
  ),
  minSide: 360,
  maxSide: 4096,
  codecs: ['h264', 'hevc', 'vp8', 'vp9'],
  minFrameRate: 23,
  maxFrameRate: 60,
});

export const capabilities = (): Capabilities => ({
  platform: PLATFORM,
  text: { rule: 'chars', max: CAPTION_MAX },
  media: {
    maxCount: MAX_PHOTOS,
    maxBytes: VIDEO_MAX_BYTES,
    mimeTypes: [...VIDEO_MIME_TYPES, ...PHOTO_MIME_TYPES],
    altTextMax: null,
    streamsVideo: true,
  },
  threads: { supported: false, maxParts: 1 },
  asyncPublishing: true,
  idempotency: { kind: 'none' },
  // With the publish id journaled, TikTok's status answers; see `lookup` for the rest.
  lookupIsAuthoritative: true,
  postsPerAccountPerDay: null,
  concurrencyPerAccount: 1,
  // Moderation "usually finishes within one minute; in some cases it may take a few hours".
  processing: { pollMs: 60_000, giveUpAfterMs: 24 * 3600 * 1000 },
  deletes: false,
});

export interface TikTokOptions {
  privacyLevel: PrivacyLevel | null;
  allowComment: boolean;
  allowDuet: boolean;
  allowStitch: boolean;
  /** `direct`: posted at once; `draft`: sent to the creator's TikTok inbox to finish there. */
  mode: 'direct' | 'draft';
  /** `file`: Herald uploads the bytes; `url`: TikTok pulls them from a signed Herald URL. */
  source: 'file' | 'url';
  title: string | null;
  brandContent: boolean;
  brandOrganic: boolean;
  aiGenerated: boolean;
  coverTimestampMs: number | null;
}

export function parseOptions(o: Record<string, unknown>): { options: TikTokOptions; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const bad = (message: string) => issues.push({ code: 'option_invalid', part: 0, message });
  let privacyLevel: PrivacyLevel | null = null;
  if (o.privacyLevel !== undefined) {
    if (PRIVACY_LEVELS.includes(o.privacyLevel as PrivacyLevel)) privacyLevel = o.privacyLevel as PrivacyLevel;
    else bad(`privacyLevel must be one of ${PRIVACY_LEVELS.join(', ')}.`);
  }
  const mode = o.mode === 'draft' ? 'draft' : 'direct';
  if (o.mode !== undefined && o.mode !== 'draft' && o.mode !== 'direct') bad('mode must be direct or draft.');
  const source = o.source === 'url' ? 'url' : 'file';
  const title = typeof o.title === 'string' ? o.title : null;
  if (title && [...title].length > PHOTO_TITLE_MAX)
    bad(`TikTok photo titles are at most ${PHOTO_TITLE_MAX} characters.`);
  return {
    options: {
      privacyLevel,
      allowComment: o.allowComment === true,
      allowDuet: o.allowDuet === true,
      allowStitch: o.allowStitch === true,
      mode,
      source,
      title,
      brandContent: o.brandContent === true,
      brandOrganic: o.brandOrganic === true,
      aiGenerated: o.aiGenerated === true,
      coverTimestampMs: typeof o.coverTimestampMs === 'number' ? o.coverTimestampMs : null,
    },
    issues,
  };
}

export interface ValidateSettings {
  /** The app passed TikTok's content-posting audit. */
  audited: boolean;
  /** Herald can hand TikTok URLs of its media (PUBLIC_URL set), as photos and `source: url` need. */
  mediaUrls: boolean;
}

export function validateDraft(
  account: Pick<AccountContext, 'metadata'>,
  draft: Draft,
  settings: ValidateSettings,
): ValidationIssue[] {
  const caps = capabilities();
  const issues = validateAgainstCapabilities(caps, draft);
  const { options: o, issues: optionIssues } = parseOptions(draft.options);
  issues.push(...optionIssues);
  const creator = creatorInfoOf(account.metadata);
  const media = draft.parts[0]?.media ?? [];
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  const photos = media.filter((m) => m.mimeType.startsWith('image/'));
  if (media.length === 0 && !issues.some((i) => i.code === 'empty'))
    issues.push(mediaRequired('TikTok', 'a video or photos'));
  if (videos.length > 1 || (videos.length && photos.length))
    issues.push({ code: 'too_many_media', part: 0, message: 'A TikTok post is one video, or 1-35 photos, not both.' });
  if (o.mode === 'direct') {
    if (!o.privacyLevel)
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `TikTok needs you to choose who can see the post (privacyLevel: ${(creator?.privacyLevelOptions ?? PRIVACY_LEVELS).join(', ')}); Herald chooses nothing for you.`,
      });
    else if (creator && !creator.privacyLevelOptions.includes(o.privacyLevel))
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: `This TikTok account offers ${creator.privacyLevelOptions.join(', ')}; ${o.privacyLevel} is not one of them.`,
      });
    if (!settings.audited && o.privacyLevel && o.privacyLevel !== 'SELF_ONLY')
      issues.push({
        code: 'option_invalid',
        part: 0,
        message:
          'TikTok lets an app it has not audited post only as SELF_ONLY ("Only me"), to private accounts; choose SELF_ONLY, or set TIKTOK_AUDITED=true once TikTok has audited the app.',
      });
    if (o.brandContent && o.privacyLevel === 'SELF_ONLY')
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: 'TikTok does not allow branded content to be private (SELF_ONLY).',
      });
    if (creator?.commentDisabled && o.allowComment)
      issues.push({ code: 'option_invalid', part: 0, message: 'The creator has turned comments off on TikTok.' });
    if (videos.length && creator?.duetDisabled && o.allowDuet)
      issues.push({ code: 'option_invalid', part: 0, message: 'The creator has turned duets off on TikTok.' });
    if (videos.length && creator?.stitchDisabled && o.allowStitch)
      issues.push({ code: 'option_invalid', part: 0, message: 'The creator has turned stitches off on TikTok.' });
  }
  for (const v of videos) issues.push(...videoIssues('TikTok', videoRules(creator), v, 0, 'the video'));
  for (const [i, p] of photos.entries())
    if (p.sizeBytes > PHOTO_MAX_BYTES)
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: `TikTok photos are at most 20 MB; photo ${i + 1} is larger.`,
        limit: PHOTO_MAX_BYTES,
        actual: p.sizeBytes,
      });
  if ((photos.length || o.source === 'url') && !settings.mediaUrls)
    issues.push({
      code: 'option_invalid',
      part: 0,
      message:
        'TikTok pulls photos (and videos sent by URL) from a public address: set PUBLIC_URL so Herald can give it one.',
    });
  return issues;
}
