/**
 * Pinterest's rules as data (developers.pinterest.com, API v5 `POST /pins`, and Pinterest's
 * product specs): a Pin is an image (BMP, JPEG, PNG, TIFF or WebP, up to 20 MB), a carousel of
 * 2-5 images, or one video (MP4, MOV or M4V, up to 2 GB, 4 s to 15 minutes); the post's text
 * is the description (800 characters), the title (option `title`) at most 100, alt text at
 * most 500; a Pin is saved to a board (option `boardId`, else the account's default board).
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { countGraphemes, validateAgainstCapabilities } from '../text-length.js';
import { mediaRequired, videoIssues, type VideoRules } from '../video.js';
import { PLATFORM } from './errors.js';

export const DESCRIPTION_MAX = 800;
export const TITLE_MAX = 100;
export const ALT_TEXT_MAX = 500;
export const MAX_IMAGES = 5;
export const IMAGE_MAX_BYTES = 20 * 1024 * 1024;
export const VIDEO_MAX_BYTES = 2 * 1024 ** 3;
export const IMAGE_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/bmp', 'image/tiff'] as const;
export const VIDEO_MIME_TYPES = ['video/mp4', 'video/quicktime'] as const;
export const VIDEO_RULES: VideoRules = { minDurationMs: 4_000, maxDurationMs: 15 * 60_000, minSide: 240 };

export interface Board {
  id: string;
  name: string;
}

export const boardsOf = (metadata: Record<string, unknown>): Board[] =>
  Array.isArray(metadata.boards) ? (metadata.boards as Board[]) : [];

export const capabilities = (): Capabilities => ({
  platform: PLATFORM,
  text: { rule: 'chars', max: DESCRIPTION_MAX },
  media: {
    maxCount: MAX_IMAGES,
    maxBytes: VIDEO_MAX_BYTES,
    mimeTypes: [...IMAGE_MIME_TYPES, ...VIDEO_MIME_TYPES],
    altTextMax: ALT_TEXT_MAX,
    streamsVideo: true,
  },
  threads: { supported: false, maxParts: 1 },
  asyncPublishing: false,
  idempotency: { kind: 'none' },
  // The journal holds the Pin once made; before that the board's Pins since the attempt say.
  lookupIsAuthoritative: true,
  postsPerAccountPerDay: null,
  concurrencyPerAccount: 1,
});

export interface PinterestOptions {
  boardId: string | null;
  boardSectionId: string | null;
  title: string | null;
  link: string | null;
}

export function parseOptions(
  draft: Pick<Draft, 'options'>,
  metadata: Record<string, unknown>,
): { options: PinterestOptions; issues: ValidationIssue[] } {
  const o = draft.options;
  const issues: ValidationIssue[] = [];
  const bad = (message: string) => issues.push({ code: 'option_invalid', part: 0, message });
  const boardId =
    typeof o.boardId === 'string' && o.boardId
      ? o.boardId
      : typeof metadata.defaultBoardId === 'string'
        ? metadata.defaultBoardId
        : null;
  const boards = boardsOf(metadata);
  if (!boardId) bad('Choose the Pinterest board to save the Pin to (boardId); the account has no default board.');
  else if (boards.length && !boards.some((b) => b.id === boardId))
    bad(`The account has no board ${boardId}; its boards are ${boards.map((b) => `${b.name} (${b.id})`).join(', ')}.`);
  const title = typeof o.title === 'string' && o.title.trim() ? o.title.trim() : null;
  if (title && countGraphemes(title) > TITLE_MAX) bad(`Pinterest titles are at most ${TITLE_MAX} characters.`);
  let link: string | null = null;
  if (o.link !== undefined) {
    try {
      const u = new URL(String(o.link));
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
      link = u.toString();
      if (link.length > 2048) bad('Pinterest links are at most 2,048 characters.');
    } catch {
      bad('link must be an http(s) URL.');
    }
  }
  return {
    options: { boardId, boardSectionId: typeof o.boardSectionId === 'string' ? o.boardSectionId : null, title, link },
    issues,
  };
}

export function validateDraft(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
  const issues = validateAgainstCapabilities(capabilities(), draft);
  issues.push(...parseOptions(draft, account.metadata).issues);
  const media = draft.parts[0]?.media ?? [];
  const videos = media.filter((m) => m.mimeType.startsWith('video/'));
  if (media.length === 0 && !issues.some((i) => i.code === 'empty'))
    issues.push(mediaRequired('Pinterest', 'an image or a video'));
  if (videos.length && media.length > 1)
    issues.push({
      code: 'too_many_media',
      part: 0,
      message: 'A Pinterest video Pin holds one video and nothing else.',
    });
  for (const v of videos) issues.push(...videoIssues('Pinterest', VIDEO_RULES, v, 0, 'the video'));
  for (const [i, m] of media.entries())
    if (m.mimeType.startsWith('image/') && m.sizeBytes > IMAGE_MAX_BYTES)
      issues.push({
        code: 'media_too_large',
        part: 0,
        message: `Pinterest images are at most 20 MB; image ${i + 1} is larger.`,
        limit: IMAGE_MAX_BYTES,
        actual: m.sizeBytes,
      });
  return issues;
}
