/**
 * Publishing a draft as a Bluesky post or thread, exactly once per idempotency key. Part n is
 * created under the record key derived from (key, n); a retry creates only the parts that are
 * missing and reads back the ones that exist, so a thread interrupted after part 1 is completed
 * by publishing again with the same key. The record keys are also what `findThread` reads, which
 * makes lookup authoritative: the PDS either holds the key or it does not.
 */
import { type AppBskyEmbedImages, type AppBskyFeedPost, AtUri, parseLanguage } from '@atproto/api';
import type {
  DraftPart,
  MediaInput,
  PublishedPart,
  PublishInput,
  PublishResult,
  ValidationIssue,
} from '../contract.js';
import { InvalidContent, PermanentError, TransientError } from '../errors.js';
import { type BlueskyClient, POST_COLLECTION, type StoredRecord } from './client.js';
import { classify, PLATFORM } from './errors.js';
import { imageDimensions } from './image-dimensions.js';
import { LANGUAGES_MAX, SELF_LABELS } from './limits.js';
import { partRecordKey } from './record-key.js';
import { detectFacets } from './rich-text.js';

type StrongRef = { uri: string; cid: string };
type SelfLabel = (typeof SELF_LABELS)[number];

/**
 * Bluesky's draft options (`Draft.options`), applied to every part:
 * - `languages`: up to 3 BCP-47 tags (`["en", "pt-BR"]`) for the post's `langs`, which feeds
 *   and translation use;
 * - `contentLabels`: self-labels, Bluesky's content warnings: `sexual`, `nudity`, `porn`,
 *   `graphic-media`.
 */
export interface PostOptions {
  languages?: string[];
  contentLabels?: SelfLabel[];
}

const OPTION_NAMES = ['languages', 'contentLabels'];

/** Reads `Draft.options`; anything it cannot use is an `option_invalid` issue, never silently dropped. */
export function readPostOptions(options: Record<string, unknown>): { value: PostOptions; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const invalid = (message: string) => issues.push({ code: 'option_invalid', part: 0, message });
  const value: PostOptions = {};
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.includes(name)) invalid(`Bluesky has no option "${name}"; it takes ${OPTION_NAMES.join(', ')}.`);
  }
  const { languages, contentLabels } = options;
  if (languages !== undefined) {
    if (
      !Array.isArray(languages) ||
      !languages.every((l): l is string => typeof l === 'string' && !!parseLanguage(l))
    ) {
      invalid('Bluesky "languages" must be a list of language tags such as "en" or "pt-BR".');
    } else if (languages.length > LANGUAGES_MAX) {
      invalid(`Bluesky allows up to ${LANGUAGES_MAX} languages per post; this one has ${languages.length}.`);
    } else {
      value.languages = languages;
    }
  }
  if (contentLabels !== undefined) {
    const known = (l: unknown): l is SelfLabel =>
      typeof l === 'string' && (SELF_LABELS as readonly string[]).includes(l);
    if (!Array.isArray(contentLabels) || !contentLabels.every(known)) {
      invalid(`Bluesky "contentLabels" must be a list of: ${SELF_LABELS.join(', ')}.`);
    } else {
      value.contentLabels = [...new Set(contentLabels)];
    }
  }
  return { value, issues };
}

/** Publishes every part in order as a reply chain; see the module header for the retry rules. */
export async function publishThread(
  client: BlueskyClient,
  input: PublishInput,
  idempotencyKey: string,
  options: PostOptions,
): Promise<PublishResult> {
  const published: PublishedPart[] = [];
  let root: StrongRef | undefined;
  let parent: StrongRef | undefined;
  let lastCreatedAt = 0;
  for (const [index, part] of input.parts.entries()) {
    try {
      // Bluesky orders a thread's replies by createdAt: keep it strictly increasing.
      const createdAt = new Date(Math.max(Date.now(), lastCreatedAt + 1));
      const reply = root && parent ? { root, parent } : undefined;
      const record = await ensurePart(client, partRecordKey(idempotencyKey, index), {
        lookFirst: part.media.length > 0,
        build: () => buildPost(client, part, index, { createdAt, reply, options }),
      });
      const ref = { uri: record.uri, cid: record.cid };
      root ??= ref;
      parent = ref;
      const existingAt = Date.parse(String(record.value.createdAt ?? ''));
      lastCreatedAt = Number.isNaN(existingAt) ? createdAt.getTime() : existingAt;
      published.push({ index, platformPostId: record.uri, url: postUrl(client.credentials.handle, record.uri) });
    } catch (err) {
      const failure = classify(err, { write: true });
      throw index === 0 ? failure : failure.inPart(index, [...published]);
    }
  }
  const first = published[0]!;
  return { status: 'published', platformPostId: first.platformPostId, url: first.url, parts: published };
}

/**
 * The record under `rkey`, created from `build()` unless it already exists. Parts with media
 * look first, so a retry does not upload images for a part that is already posted.
 */
async function ensurePart(
  client: BlueskyClient,
  rkey: string,
  { lookFirst, build }: { lookFirst: boolean; build: () => Promise<AppBskyFeedPost.Record> },
): Promise<StoredRecord> {
  if (lookFirst) {
    const existing = await client.getPost(rkey);
    if (existing) return existing;
  }
  const record = await build();
  try {
    const created = await client.createPost(rkey, record);
    return { ...created, value: { ...record } };
  } catch (err) {
    // A PDS answers a create under an occupied record key with a bare 500 InternalServerError,
    // the same answer as a real failure: read the key to tell the two apart.
    if (!(err instanceof TransientError) || err.status === undefined || err.status < 500) throw err;
    const existing = await client.getPost(rkey).catch(() => undefined);
    if (existing) return existing;
    if (existing === undefined) throw err;
    // The key holds nothing: the write was not applied, unless a gateway gave up on a PDS that may still apply it.
    throw new TransientError(err.message, {
      platform: PLATFORM,
      status: err.status,
      platformMessage: err.platformMessage,
      mayHaveSucceeded: err.status === 502 || err.status === 504,
      cause: err,
    });
  }
}

/** The `app.bsky.feed.post` record for one part: text, facets, reply refs, images, options. */
async function buildPost(
  client: BlueskyClient,
  part: DraftPart<MediaInput>,
  index: number,
  ctx: { createdAt: Date; reply: AppBskyFeedPost.ReplyRef | undefined; options: PostOptions },
): Promise<AppBskyFeedPost.Record> {
  const facets = await detectFacets(part.text, (handle) => client.resolveHandle(handle));
  const embed = part.media.length > 0 ? await imagesEmbed(client, part.media, index) : undefined;
  const { languages, contentLabels } = ctx.options;
  return {
    $type: POST_COLLECTION,
    text: part.text,
    createdAt: ctx.createdAt.toISOString(),
    ...(facets ? { facets } : {}),
    ...(ctx.reply ? { reply: ctx.reply } : {}),
    ...(embed ? { embed } : {}),
    ...(languages ? { langs: languages } : {}),
    ...(contentLabels?.length
      ? { labels: { $type: 'com.atproto.label.defs#selfLabels', values: contentLabels.map((val) => ({ val })) } }
      : {}),
  };
}

async function imagesEmbed(
  client: BlueskyClient,
  media: MediaInput[],
  part: number,
): Promise<AppBskyEmbedImages.Main & { $type: 'app.bsky.embed.images' }> {
  const images: AppBskyEmbedImages.Image[] = [];
  for (const [i, m] of media.entries()) {
    const dimensions = imageDimensions(m.bytes);
    if (!dimensions) {
      throw new InvalidContent(`Image ${i + 1} of part ${part + 1} is not a readable JPEG, PNG or WebP file.`, {
        platform: PLATFORM,
      });
    }
    const blob = await client.uploadBlob(m.bytes, m.mimeType);
    images.push({ image: blob, alt: m.altText ?? '', aspectRatio: dimensions });
  }
  return { $type: 'app.bsky.embed.images', images };
}

/**
 * What an earlier publish with this key left on the PDS: the parts that exist, from part 0 on,
 * or null when part 0 does not. Fewer parts than the draft has means an interrupted thread,
 * which publishing again with the same key completes.
 */
export async function findThread(
  client: BlueskyClient,
  partCount: number,
  idempotencyKey: string,
): Promise<PublishResult | null> {
  const parts: PublishedPart[] = [];
  for (let index = 0; index < Math.max(1, partCount); index++) {
    const record = await client.getPost(partRecordKey(idempotencyKey, index));
    if (!record) break;
    parts.push({ index, platformPostId: record.uri, url: postUrl(client.credentials.handle, record.uri) });
  }
  const first = parts[0];
  return first ? { status: 'published', platformPostId: first.platformPostId, url: first.url, parts } : null;
}

/** The post's page on bsky.app (the handle when the account has a valid one, else the DID). */
export function postUrl(handle: string, uri: string): string {
  const at = new AtUri(uri);
  const who = handle && handle !== 'handle.invalid' ? handle : at.host;
  return `https://bsky.app/profile/${who}/post/${at.rkey}`;
}

/** The repository (DID) and record key of a post, from its at:// URI. */
export function postKey(platformPostId: string): { repo: string; rkey: string } {
  let at: AtUri;
  try {
    at = new AtUri(platformPostId);
  } catch {
    throw new PermanentError(`"${platformPostId}" is not an at:// post URI`, { platform: PLATFORM });
  }
  if (at.collection !== POST_COLLECTION || !at.rkey) {
    throw new PermanentError(`${platformPostId} is not a Bluesky post`, { platform: PLATFORM });
  }
  return { repo: at.host, rkey: at.rkey };
}

/** The record key of one of this account's posts; another account's post is refused. */
export function ownPostKey(client: BlueskyClient, platformPostId: string): string {
  const { repo, rkey } = postKey(platformPostId);
  if (repo !== client.credentials.did) {
    throw new PermanentError(`${platformPostId} belongs to another account than ${client.credentials.did}`, {
      platform: PLATFORM,
    });
  }
  return rkey;
}
