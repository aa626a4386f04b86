/**
 * LinkedIn's rules as data: commentary up to 3,000 characters; up to 20 images (JPEG, PNG,
 * GIF, 5 MB each; two or more make a multi-image post), or one document (PDF, Word,
 * PowerPoint, 100 MB), or an article link — never two kinds at once; no threads. Post options:
 * `organization` (post as a page the member administers), `visibility`, `article` and
 * `documentTitle`.
 */
import type { AccountContext, Capabilities, Draft, ValidationIssue } from '../contract.js';
import { formatBytes, validateAgainstCapabilities } from '../text-length.js';
import { PLATFORM } from './errors.js';
import { toLittleText } from './little-text.js';

export const TEXT_MAX = 3_000;
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif'] as const;
export const DOCUMENT_TYPES = [
  'application/pdf',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
] as const;
export const IMAGE_MAX_BYTES = 5 * 1024 * 1024;
export const DOCUMENT_MAX_BYTES = 100 * 1024 * 1024;
export const IMAGES_MAX = 20;
/** Longest alt text LinkedIn stores for an image. */
export const ALT_TEXT_MAX = 4_086;
export const DOCUMENT_TITLE_MAX = 400;

export const isDocument = (mimeType: string) => (DOCUMENT_TYPES as readonly string[]).includes(mimeType);

export function capabilities(_account: Pick<AccountContext, 'metadata'>): Capabilities {
  return {
    platform: PLATFORM,
    text: { rule: 'chars', max: TEXT_MAX },
    media: {
      maxCount: IMAGES_MAX,
      maxBytes: DOCUMENT_MAX_BYTES,
      mimeTypes: [...IMAGE_TYPES, ...DOCUMENT_TYPES],
      altTextMax: ALT_TEXT_MAX,
    },
    threads: { supported: false, maxParts: 1 },
    asyncPublishing: false,
    // LinkedIn takes no idempotency key; `lookup` lists the author's posts instead.
    idempotency: { kind: 'none' },
    lookupIsAuthoritative: true,
    postsPerAccountPerDay: 150,
    concurrencyPerAccount: 1,
  };
}

export type Visibility = 'PUBLIC' | 'CONNECTIONS' | 'LOGGED_IN';
const VISIBILITIES: readonly Visibility[] = ['PUBLIC', 'CONNECTIONS', 'LOGGED_IN'];

export interface LinkedInPostOptions {
  /** `urn:li:organization:<id>`: the page the post is published as. */
  organization?: string;
  visibility?: Visibility;
  article?: { url: string; title: string; description?: string };
  documentTitle?: string;
}

const ORG = /^(?:urn:li:organization:)?(\d{1,20})$/;

export function parsePostOptions(
  options: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): { options: LinkedInPostOptions; issues: ValidationIssue[] } {
  const out: LinkedInPostOptions = {};
  const issues: ValidationIssue[] = [];
  const bad = (message: string) => issues.push({ code: 'option_invalid', part: 0, message });
  const { organization, visibility, article, documentTitle, ...rest } = options;
  if (organization !== undefined) {
    const m =
      typeof organization === 'string' || typeof organization === 'number' ? ORG.exec(String(organization)) : null;
    if (!m) bad('organization must be a LinkedIn organization id or urn:li:organization:<id>.');
    else {
      out.organization = `urn:li:organization:${m[1]}`;
      const known = metadata.organizations;
      if (Array.isArray(known) && !known.includes(out.organization))
        bad(
          `This LinkedIn account does not administer ${out.organization}; it can post as ${known.join(', ') || 'no page'}.`,
        );
    }
  }
  if (visibility !== undefined) {
    if (typeof visibility === 'string' && (VISIBILITIES as readonly string[]).includes(visibility))
      out.visibility = visibility as Visibility;
    else bad(`visibility must be one of ${VISIBILITIES.join(', ')}.`);
  }
  if (article !== undefined) {
    const a = article as Record<string, unknown> | null;
    const url = typeof a?.url === 'string' ? a.url : '';
    if (!/^https?:\/\/\S+$/.test(url) || typeof a?.title !== 'string' || a.title.trim() === '') {
      bad('article must be { url: "https://...", title: "...", description?: "..." }.');
    } else {
      out.article = {
        url,
        title: a.title,
        ...(typeof a.description === 'string' && a.description ? { description: a.description } : {}),
      };
    }
  }
  if (documentTitle !== undefined) {
    if (typeof documentTitle === 'string' && documentTitle.trim() && documentTitle.length <= DOCUMENT_TITLE_MAX)
      out.documentTitle = documentTitle;
    else bad(`documentTitle must be a text of 1 to ${DOCUMENT_TITLE_MAX} characters.`);
  }
  for (const name of Object.keys(rest)) bad(`LinkedIn has no post option "${name}".`);
  return { options: out, issues };
}

export function validateDraft(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
  // The shared checks spell the platform from its id; LinkedIn spells itself with a capital I.
  const issues = validateAgainstCapabilities(capabilities(account), draft).map((i) => ({
    ...i,
    message: i.message.replace(/\bLinkedin\b/g, 'LinkedIn'),
  }));
  const parsed = parsePostOptions(draft.options, account.metadata);
  const part = draft.parts[0];
  const plain = part ? [...part.text].length : 0;
  const sent = part ? [...toLittleText(part.text)].length : 0;
  if (part && plain <= TEXT_MAX && sent > TEXT_MAX) {
    // LinkedIn limits the `commentary` field as sent, and Herald sends it escaped (a backslash
    // before each reserved character): the fake holds to that reading, as the docs give no other.
    issues.push({
      code: 'text_too_long',
      part: 0,
      message: `LinkedIn allows ${TEXT_MAX} characters counting the escaping Herald adds for its little text (a backslash before each reserved character, hashtags as {hashtag|\\#|word}); this text has ${sent}.`,
      limit: TEXT_MAX,
      actual: sent,
    });
  }
  if (part) {
    const documents = part.media.filter((m) => isDocument(m.mimeType));
    if (documents.length > 0 && part.media.length > 1) {
      issues.push({
        code: 'too_many_media',
        part: 0,
        message: `LinkedIn takes one document alone, or up to ${IMAGES_MAX} images; this post has ${part.media.length} media including a document.`,
        limit: 1,
        actual: part.media.length,
      });
    }
    if (parsed.options.article && part.media.length > 0) {
      issues.push({
        code: 'option_invalid',
        part: 0,
        message: 'A LinkedIn post shows an article link or media, not both; drop the media or the article.',
      });
    }
    for (const [j, m] of part.media.entries()) {
      if (m.mimeType.startsWith('image/') && m.sizeBytes > IMAGE_MAX_BYTES && m.sizeBytes <= DOCUMENT_MAX_BYTES) {
        issues.push({
          code: 'media_too_large',
          part: 0,
          message: `LinkedIn accepts images up to ${formatBytes(IMAGE_MAX_BYTES)}; media ${j + 1} is ${formatBytes(m.sizeBytes)}.`,
          limit: IMAGE_MAX_BYTES,
          actual: m.sizeBytes,
        });
      }
    }
  }
  issues.push(...parsed.issues);
  return issues;
}
