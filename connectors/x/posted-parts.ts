/**
 * Which parts of a thread an attempt has already posted, kept in the publish journal so a
 * retry after a later part failed continues the thread instead of posting it again from
 * part 1. X takes no idempotency key and refuses a duplicate only for the same text
 * (https://docs.x.com/x-api/posts/manage-tweets/introduction); a media-only first part, or a
 * text X no longer counts as recent, would go out twice. Each part is marked `pending` before
 * its post call and given its id as soon as X answers, with a digest of what was posted: a
 * part left pending (the call timed out, or the process died before its id was saved) is
 * looked for on X before it is posted again, and a part the user changed since is posted
 * again (with the thread from there on), never taken for the old one.
 */
import { createHash } from 'node:crypto';
import type { PublishInput, PublishJournal } from '../contract.js';

export interface PostedPart {
  digest: string;
  /** X's id of the part, once X answered. */
  id?: string;
  /** When its post call went out, while X's answer is not known (ISO). */
  pendingSince?: string;
}

/** What a part is, for telling whether the journaled post is this part: its text, media and parent. */
export function partDigest(part: PublishInput['parts'][number], replyTo: string | undefined): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([part.text, replyTo ?? null, part.media.map((m) => [m.mimeType, m.sizeBytes, m.altText ?? null])]),
  );
  for (const m of part.media) h.update(m.bytes);
  return h.digest('base64url');
}

function postedOf(raw: Record<string, unknown> | null): Record<string, PostedPart> {
  const posted = raw?.postedParts;
  if (typeof posted !== 'object' || posted === null) return {};
  const out: Record<string, PostedPart> = {};
  for (const [index, p] of Object.entries(posted as Record<string, unknown>)) {
    const o = p as Partial<PostedPart> | null;
    if (typeof o?.digest !== 'string') continue;
    out[index] = {
      digest: o.digest,
      ...(typeof o.id === 'string' ? { id: o.id } : {}),
      ...(typeof o.pendingSince === 'string' ? { pendingSince: o.pendingSince } : {}),
    };
  }
  return out;
}

/** What earlier attempts journaled, per part index. */
export async function loadPostedParts(journal: PublishJournal | undefined): Promise<Map<number, PostedPart>> {
  if (!journal) return new Map();
  return new Map(Object.entries(postedOf(await journal.load())).map(([i, p]) => [Number(i), p]));
}

/** Journals one part (the rest of the record — media keys, other parts — kept as it is). */
export async function recordPart(journal: PublishJournal, index: number, part: PostedPart): Promise<void> {
  const raw = (await journal.load()) ?? {};
  await journal.save({ ...raw, postedParts: { ...postedOf(raw), [String(index)]: part } });
}
