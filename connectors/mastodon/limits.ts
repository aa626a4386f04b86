/**
 * What Mastodon accepts, as data: the instance's limits (read from `GET /api/v2/instance` and
 * kept in the account's metadata, else Mastodon's documented defaults), the connector's
 * capabilities built from them, Mastodon's own character counter, and the post options the
 * connector understands.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { countGraphemes, formatBytes, validateAgainstCapabilities } from '../text-length.js';
import { DEFAULT_TIMEOUT_MS, mastodonRequest } from './client.js';
import { PLATFORM } from './errors.js';

/** An instance's limits; stored by the caller as `account.metadata.limits`. */
export interface MastodonLimits {
  /** `configuration.statuses.max_characters` */
  maxCharacters: number;
  /** `configuration.statuses.max_media_attachments` */
  maxMediaAttachments: number;
  /** `configuration.statuses.characters_reserved_per_url`: every URL counts as this many. */
  charactersReservedPerUrl: number;
  /** `configuration.media_attachments.supported_mime_types` */
  supportedMimeTypes: string[];
  /** `configuration.media_attachments.image_size_limit`, bytes */
  imageSizeLimit: number;
  /** `configuration.media_attachments.video_size_limit`, bytes (also audio) */
  videoSizeLimit: number;
  /** `configuration.media_attachments.description_limit`: longest alt text (Mastodon 4.4+). */
  descriptionLimit: number;
}

const MB = 1024 * 1024;

/**
 * Mastodon's defaults (docs.joinmastodon.org, "Posting to your profile" and the Instance
 * entity): 500 characters, 4 attachments, URLs as 23 characters, images up to 16 MB, video and
 * audio up to 99 MB, alt text up to 1,500 characters.
 */
export const DEFAULT_LIMITS: Readonly<MastodonLimits> = Object.freeze({
  maxCharacters: 500,
  maxMediaAttachments: 4,
  charactersReservedPerUrl: 23,
  supportedMimeTypes: Object.freeze([
    'image/jpeg',
    'image/png',
    'image/gif',
    'image/heic',
    'image/heif',
    'image/webp',
    'image/avif',
    'video/webm',
    'video/mp4',
    'video/quicktime',
    'video/ogg',
    'audio/wave',
    'audio/wav',
    'audio/x-wav',
    'audio/x-pn-wave',
    'audio/vnd.wave',
    'audio/ogg',
    'audio/vorbis',
    'audio/mpeg',
    'audio/mp3',
    'audio/webm',
    'audio/flac',
    'audio/aac',
    'audio/m4a',
    'audio/x-m4a',
    'audio/mp4',
    'audio/3gpp',
    'video/x-ms-asf',
  ]) as string[],
  imageSizeLimit: 16 * MB,
  videoSizeLimit: 99 * MB,
  descriptionLimit: 1_500,
});

/** Mastodon keeps an `Idempotency-Key` for one hour (POST /api/v1/statuses docs). */
export const IDEMPOTENCY_WINDOW_MS = 3_600_000;

/**
 * Mastodon has no thread limit. 25 self-replies (each with up to 4 uploads and their polls)
 * stay well inside the per-account budget of 300 calls per 5 minutes.
 */
export const MAX_THREAD_PARTS = 25;

/**
 * Mastodon documents no cap on parallel calls, only the 300 calls / 5 min budget and 30 uploads
 * / 30 min; two publishes in flight per account keep a burst of due posts from tripping them.
 */
export const CONCURRENCY_PER_ACCOUNT = 2;

const positiveInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;

const stringList = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? [...(v as string[])] : undefined;

/** The limits in `metadata.limits`, each missing or malformed field falling back to the default. */
export function limitsOf(metadata: Record<string, unknown>): MastodonLimits {
  const raw = (typeof metadata.limits === 'object' && metadata.limits !== null ? metadata.limits : {}) as Record<
    string,
    unknown
  >;
  return {
    maxCharacters: positiveInt(raw.maxCharacters) ?? DEFAULT_LIMITS.maxCharacters,
    maxMediaAttachments: positiveInt(raw.maxMediaAttachments) ?? DEFAULT_LIMITS.maxMediaAttachments,
    charactersReservedPerUrl: positiveInt(raw.charactersReservedPerUrl) ?? DEFAULT_LIMITS.charactersReservedPerUrl,
    supportedMimeTypes: stringList(raw.supportedMimeTypes) ?? [...DEFAULT_LIMITS.supportedMimeTypes],
    imageSizeLimit: positiveInt(raw.imageSizeLimit) ?? DEFAULT_LIMITS.imageSizeLimit,
    videoSizeLimit: positiveInt(raw.videoSizeLimit) ?? DEFAULT_LIMITS.videoSizeLimit,
    descriptionLimit: positiveInt(raw.descriptionLimit) ?? DEFAULT_LIMITS.descriptionLimit,
  };
}

/** Video and audio share Mastodon's larger size limit; everything else is an image. */
export const isLargeMediaType = (mimeType: string) => mimeType.startsWith('video/') || mimeType.startsWith('audio/');

export function capabilities(account: Pick<AccountContext, 'metadata'>): Capabilities {
  const limits = limitsOf(account.metadata);
  return {
    platform: PLATFORM,
    text: { rule: 'weighted', max: limits.maxCharacters },
    media: {
      maxCount: limits.maxMediaAttachments,
      // The larger of the two; `validate` applies the image limit to images itself.
      maxBytes: Math.max(limits.imageSizeLimit, limits.videoSizeLimit),
      mimeTypes: limits.supportedMimeTypes,
      altTextMax: limits.descriptionLimit,
    },
    threads: { supported: true, maxParts: MAX_THREAD_PARTS },
    asyncPublishing: false,
    idempotency: { kind: 'window', ms: IDEMPOTENCY_WINDOW_MS },
    // Statuses carry no trace of the Idempotency-Key, so `lookup` matches the account's recent
    // statuses by exact source text: a miss cannot prove the post is absent (it may have been
    // deleted, or a request still in flight may land after the lookup).
    lookupIsAuthoritative: false,
    postsPerAccountPerDay: null,
    concurrencyPerAccount: CONCURRENCY_PER_ACCOUNT,
  };
}

// ---- Mastodon's character counter (StatusLengthValidator) ----

const WORD = String.raw`\p{L}\p{M}\p{N}\p{Pc}`;
/** `Account::MENTION_RE`: `@user` or `@user@domain`, not inside a word, URL path or `=`. */
const MENTION_RE = new RegExp(
  String.raw`(?<![=/${WORD}])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[${WORD}]+(?:[.-]+[${WORD}]+)*)?`,
  'giu',
);
/**
 * URLs as twitter-text extracts them with a protocol required: `http(s)://`, a dotted host
 * with a letter TLD (or punycode), optional port, path and query. twitter-text also checks the
 * TLD against its list; this does not.
 */
const URL_RE =
  /(?<![\p{L}\p{N}@＠$#＃])https?:\/\/(?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+(?:\p{L}{2,}|xn--[a-z0-9-]+)(?::\d{1,5})?(?:[/?#][^\s<>"]*)?/giu;
/** A URL never ends with these (twitter-text's valid path/query ending characters are narrower). */
const URL_ENDING = /[\p{L}\p{N}=_#/+\-&)]/u;

function trimUrl(url: string): string {
  let end = url.length;
  for (;;) {
    const last = url[end - 1]!;
    if (last === ')') {
      const head = url.slice(0, end);
      if ((head.match(/\(/g) ?? []).length >= (head.match(/\)/g) ?? []).length) break;
      end--;
    } else if (!URL_ENDING.test(last)) {
      end--;
    } else {
      break;
    }
  }
  return url.slice(0, end);
}

interface Entity {
  start: number;
  end: number;
  replacement: string;
}

function countableText(text: string, charactersReservedPerUrl: number): string {
  if (text.trim() === '') return '';
  const entities: Entity[] = [];
  for (const m of text.matchAll(URL_RE)) {
    const url = trimUrl(m[0]);
    entities.push({ start: m.index, end: m.index + url.length, replacement: 'x'.repeat(charactersReservedPerUrl) });
  }
  for (const m of text.matchAll(MENTION_RE)) {
    entities.push({ start: m.index, end: m.index + m[0].length, replacement: `@${m[1]!}` });
  }
  // Extractor.remove_overlapping_entities: the entity that starts first wins.
  entities.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of entities) {
    if (e.start < at) continue;
    out += text.slice(at, e.start) + e.replacement;
    at = e.end;
  }
  return out + text.slice(at);
}

export interface CountOptions {
  /** The instance's `characters_reserved_per_url`; 23 by default. */
  charactersReservedPerUrl?: number;
  /** The content warning, which Mastodon counts together with the text. */
  spoilerText?: string;
}

/**
 * Length of a status as Mastodon counts it: grapheme clusters of the content warning plus the
 * text, where every URL counts as `characters_reserved_per_url` characters and a mention
 * `@user@domain` counts only as `@user`.
 */
export function countMastodonText(text: string, options: CountOptions = {}): number {
  const reserved = options.charactersReservedPerUrl ?? DEFAULT_LIMITS.charactersReservedPerUrl;
  return countGraphemes((options.spoilerText ?? '') + countableText(text, reserved));
}

// ---- Post options ----

export const VISIBILITIES = ['public', 'unlisted', 'private', 'direct'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/**
 * Options a Mastodon post takes (`Draft.options`), applied to every part of a thread:
 * - `visibility`: 'public' | 'unlisted' | 'private' (followers) | 'direct'; the account's default when absent;
 * - `contentWarning`: text shown before the post (`spoiler_text`); counts towards the length limit;
 * - `sensitive`: mark media as sensitive;
 * - `language`: ISO 639 code of the text (`en`, `pt`, `zh-TW`...).
 */
export interface MastodonPostOptions {
  visibility?: Visibility;
  contentWarning?: string;
  sensitive?: boolean;
  language?: string;
}

const LANGUAGE_RE = /^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$/;
const KNOWN_OPTIONS = ['visibility', 'contentWarning', 'sensitive', 'language'];

/** The options as typed values, with a readable problem for each one that is not valid. */
export function parsePostOptions(raw: Record<string, unknown>): { options: MastodonPostOptions; problems: string[] } {
  const options: MastodonPostOptions = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'visibility':
        if (typeof value === 'string' && (VISIBILITIES as readonly string[]).includes(value)) {
          options.visibility = value as Visibility;
        } else {
          problems.push(`visibility must be one of ${VISIBILITIES.join(', ')}; got ${JSON.stringify(value)}.`);
        }
        break;
      case 'contentWarning':
        if (typeof value === 'string') {
          if (value.trim() !== '') options.contentWarning = value;
        } else {
          problems.push(`contentWarning must be text; got ${JSON.stringify(value)}.`);
        }
        break;
      case 'sensitive':
        if (typeof value === 'boolean') options.sensitive = value;
        else problems.push(`sensitive must be true or false; got ${JSON.stringify(value)}.`);
        break;
      case 'language':
        if (typeof value === 'string' && LANGUAGE_RE.test(value)) options.language = value;
        else problems.push(`language must be an ISO 639 code such as "en" or "zh-TW"; got ${JSON.stringify(value)}.`);
        break;
      default:
        problems.push(`Mastodon has no option "${key}"; it takes ${KNOWN_OPTIONS.join(', ')}.`);
    }
  }
  return { options, problems };
}

// ---- Reading an instance's limits ----

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

export interface ReadInstanceLimitsOptions {
  /** Default {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Reads the instance's limits from `GET /api/v2/instance` (public). Fields the instance does
 * not report keep Mastodon's defaults; a server without the v2 endpoint (Mastodon < 4.0)
 * gets the defaults. The caller stores the result as `account.metadata.limits`.
 */
export async function readInstanceLimits(
  instanceUrl: string,
  options: ReadInstanceLimitsOptions = {},
): Promise<MastodonLimits> {
  const res = await mastodonRequest(
    { instanceUrl, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    { method: 'GET', path: '/api/v2/instance', accept: [404] },
  );
  if (res.status === 404) return limitsOf({});
  const statuses = get(res.body, 'configuration', 'statuses');
  const media = get(res.body, 'configuration', 'media_attachments');
  return limitsOf({
    limits: {
      maxCharacters: get(statuses, 'max_characters'),
      maxMediaAttachments: get(statuses, 'max_media_attachments'),
      charactersReservedPerUrl: get(statuses, 'characters_reserved_per_url'),
      supportedMimeTypes: get(media, 'supported_mime_types'),
      imageSizeLimit: get(media, 'image_size_limit'),
      videoSizeLimit: get(media, 'video_size_limit'),
      descriptionLimit: get(media, 'description_limit'),
    },
  });
}

// ---- Validation ----

/** Mastodon-specific checks beyond the shared ones. */
function extraIssues(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
  const limits = limitsOf(account.metadata);
  const issues: ValidationIssue[] = [];
  draft.parts.forEach((part, i) => {
    const where = draft.parts.length > 1 ? ` (part ${i + 1})` : '';
    const large = part.media.filter((m) => isLargeMediaType(m.mimeType));
    if (large.length > 0 && part.media.length > 1) {
      issues.push({
        code: 'too_many_media',
        part: i,
        message: `Mastodon allows one video or audio file per post, with no other media; this post${where} has ${part.media.length} files.`,
        limit: 1,
        actual: part.media.length,
      });
    }
    part.media.forEach((m, j) => {
      if (
        !isLargeMediaType(m.mimeType) &&
        m.sizeBytes > limits.imageSizeLimit &&
        m.sizeBytes <= limits.videoSizeLimit
      ) {
        issues.push({
          code: 'media_too_large',
          part: i,
          message: `Mastodon accepts images up to ${formatBytes(limits.imageSizeLimit)}; media ${j + 1}${where} is ${formatBytes(m.sizeBytes)}.`,
          limit: limits.imageSizeLimit,
          actual: m.sizeBytes,
        });
      }
      // Mastodon counts alt text in characters (code points), which can exceed graphemes.
      const chars = m.altText ? [...m.altText].length : 0;
      if (m.altText && chars > limits.descriptionLimit && countGraphemes(m.altText) <= limits.descriptionLimit) {
        issues.push({
          code: 'alt_text_too_long',
          part: i,
          message: `Mastodon allows alt text up to ${limits.descriptionLimit} characters; media ${j + 1}${where} has ${chars}.`,
          limit: limits.descriptionLimit,
          actual: chars,
        });
      }
    });
  });
  return issues;
}

/**
 * Every problem with a draft for this account's instance: the shared checks (Mastodon's
 * counting, content warning included), image vs video size, one video per post, alt text in
 * characters, and the post options.
 */
export function validateDraft(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
  const caps = capabilities(account);
  const limits = limitsOf(account.metadata);
  const { options: parsed, problems } = parsePostOptions(draft.options);
  const spoilerText = parsed.contentWarning ?? '';
  const count = (text: string) =>
    countMastodonText(text, { charactersReservedPerUrl: limits.charactersReservedPerUrl, spoilerText });
  const shared = validateAgainstCapabilities(caps, draft, count).map((issue) =>
    issue.code === 'text_too_long' && spoilerText
      ? { ...issue, message: `${issue.message} (This includes the content warning, which Mastodon counts.)` }
      : issue,
  );
  return [
    ...shared,
    ...extraIssues(account, draft),
    ...problems.map((message): ValidationIssue => ({ code: 'option_invalid', part: 0, message })),
  ];
}
