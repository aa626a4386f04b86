/**
 * Which media an attempt attached, kept in the publish journal so a lookup after an uncertain
 * publish can tell Herald's post from another one with the same text and as many media (a
 * media-only post by hand, say). X shows a post's media by `attachments.media_keys`
 * (https://docs.x.com/x-api/fundamentals/data-dictionary) and gives each upload its
 * `media_key` when it is finalized; the keys of every attempt's part are saved before the post
 * call that uses them, so a post of Herald's with media always has its keys in the journal.
 */
import type { PublishJournal } from '../contract.js';

/** Journaled: per part index, the media keys of each attempt that posted that part (null: X gave none). */
interface MediaKeysRecord {
  mediaKeys: Record<string, Array<string[] | null>>;
}

function recordOf(raw: Record<string, unknown> | null): MediaKeysRecord {
  const keys = raw?.mediaKeys;
  if (typeof keys !== 'object' || keys === null) return { mediaKeys: {} };
  const out: MediaKeysRecord = { mediaKeys: {} };
  for (const [part, sets] of Object.entries(keys as Record<string, unknown>)) {
    if (!Array.isArray(sets)) continue;
    out.mediaKeys[part] = sets.map((set) =>
      Array.isArray(set) && set.every((k) => typeof k === 'string') ? (set as string[]) : null,
    );
  }
  return out;
}

/** Adds one attempt's media keys for a part; durable before it resolves (call it before posting). */
export async function recordMediaKeys(
  journal: PublishJournal,
  part: number,
  keys: Array<string | null>,
): Promise<void> {
  const raw = await journal.load();
  const record = recordOf(raw);
  const set = keys.every((k): k is string => k !== null) ? [...keys] : null;
  (record.mediaKeys[String(part)] ??= []).push(set);
  // The rest of the record (the thread's posted parts, posted-parts.ts) is kept as it is.
  await journal.save({ ...raw, mediaKeys: record.mediaKeys });
}

/**
 * What the journal says a part's post may carry: `unknown` when there is no journal or an
 * attempt's keys are not known (match by count then), else the key sets Herald attached.
 */
export type PartMedia = { kind: 'unknown' } | { kind: 'keys'; sets: string[][] };

export async function journaledMedia(journal: PublishJournal | undefined): Promise<(part: number) => PartMedia> {
  if (!journal) return () => ({ kind: 'unknown' });
  const record = recordOf(await journal.load());
  return (part) => {
    const sets = record.mediaKeys[String(part)] ?? [];
    // No keys recorded (an attempt made before keys were journaled): by count, as then.
    if (sets.length === 0 || sets.some((s) => s === null)) return { kind: 'unknown' };
    return { kind: 'keys', sets: sets as string[][] };
  };
}

/** Whether a post's media keys are one attempt's set (X keeps the order given; compared as sets). */
export function sameMedia(shown: readonly string[], sets: readonly string[][]): boolean {
  const have = [...shown].sort().join(',');
  return sets.some((set) => [...set].sort().join(',') === have);
}
