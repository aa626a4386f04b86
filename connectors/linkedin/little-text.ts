/**
 * LinkedIn's "little text" format for post commentary. The characters
 * `| { } @ [ ] ( ) < > # \ * _ ~` are reserved for its elements (mentions, hashtags,
 * templates); written bare, LinkedIn cuts the post at the first one it cannot parse — the
 * call succeeds and the post shows only the text before it. Herald escapes every reserved
 * character with a backslash, and writes `#word` as the hashtag template
 * `{hashtag|\#|word}` so hashtags stay hashtags.
 */

const RESERVED = /[|{}@[\]()<>#\\*_~]/g;

/** A hashtag: `#` at the start or after a non-word character, then letters, digits or `_`. */
const HASHTAG = /(^|[^\p{L}\p{N}_])#([\p{L}\p{N}_]+)/gu;

export const escapeReserved = (text: string) => text.replace(RESERVED, (c) => `\\${c}`);

/** The commentary LinkedIn should get for a plain text. */
export function toLittleText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(HASHTAG)) {
    const start = m.index + m[1]!.length;
    out += escapeReserved(text.slice(last, start)) + `{hashtag|\\#|${escapeReserved(m[2]!)}}`;
    last = start + 1 + m[2]!.length;
  }
  return out + escapeReserved(text.slice(last));
}
