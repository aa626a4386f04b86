/**
 * How the fake X shows a post, the way X's API v2 does (not the way Herald wrote it):
 * - only the fields asked for: `id`, `text` and `edit_history_tweet_ids` by default, the rest
 *   through `tweet.fields` (https://docs.x.com/x-api/fundamentals/data-dictionary, "Default
 *   fields");
 * - every link in `text` wrapped as a t.co link, with `entities.urls` giving the `expanded_url`;
 * - media shown as one more t.co link appended to `text`, whose URL entities carry the
 *   `media_key` and an `expanded_url` to the photo or video (same page, sample response);
 * - `&`, `<`, `>` escaped in `text`;
 * - a long post (over 280 weighted characters) cut in `text`, the whole text only in
 *   `note_tweet` ("Contains the full text of a Post for long-form Posts (>280 characters)",
 *   same page; the changelog of Aug 9 and Aug 20, 2024 for long posts through the API).
 */
import { createHash } from 'node:crypto';
import twitterText from 'twitter-text';
import { mediaKeyOf, type FakeTweet, type XFakeState } from './fake-state.js';

/** X's standard length; longer texts are long posts ("note tweets"). */
const SHOWN_MAX = 280;

interface UrlEntity {
  start: number;
  end: number;
  url: string;
  expanded_url: string;
  display_url: string;
  media_key?: string;
}

/** A stable t.co link for a URL (X gives every link its own 23-character t.co address). */
const tco = (seed: string) =>
  `https://t.co/${createHash('sha256').update(seed).digest('base64url').replace(/[-_]/g, 'x').slice(0, 10)}`;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const codePoints = (s: string) => [...s].length;

/** The text with its links wrapped as t.co links, and their URL entities. */
function wrapLinks(text: string, seed: string): { text: string; urls: UrlEntity[] } {
  let out = '';
  let last = 0;
  const urls: UrlEntity[] = [];
  for (const { url, indices } of twitterText.extractUrlsWithIndices(text)) {
    const [from, to] = indices as [number, number];
    out += text.slice(last, from);
    const short = tco(`${seed}:${from}:${url}`);
    const start = codePoints(out);
    out += short;
    const expanded = /^https?:\/\//.test(url) ? url : `http://${url}`;
    urls.push({ start, end: start + codePoints(short), url: short, expanded_url: expanded, display_url: url });
    last = to;
  }
  return { text: out + text.slice(last), urls };
}

/** The longest start of the text X shows for a long post, ending with an ellipsis. */
function cut(text: string): string {
  let shown = '';
  for (const ch of text) {
    if (twitterText.parseTweet(`${shown}${ch}…`).weightedLength > SHOWN_MAX) break;
    shown += ch;
  }
  return `${shown.trimEnd()}…`;
}

export function renderTweet(t: FakeTweet, s: XFakeState, fields: ReadonlySet<string>): Record<string, unknown> {
  const author = s.users.get(t.authorId);
  const long = twitterText.parseTweet(t.text).weightedLength > SHOWN_MAX;
  const full = wrapLinks(t.text, t.id);
  const shown = long ? wrapLinks(cut(t.text), t.id) : full;
  let text = shown.text;
  const urls = [...shown.urls];
  if (t.mediaIds.length > 0) {
    // One t.co link for the post's media, with an entity per media item.
    const short = tco(`${t.id}:media`);
    const start = codePoints(text) + (text ? 1 : 0);
    text = text ? `${text} ${short}` : short;
    t.mediaIds.forEach((id, i) => {
      const mimeType = s.media.get(id)?.mimeType;
      urls.push({
        start,
        end: start + codePoints(short),
        url: short,
        expanded_url: `https://x.com/${author?.username ?? 'i'}/status/${t.id}/${mimeType?.startsWith('video/') ? 'video' : 'photo'}/${i + 1}`,
        display_url: `pic.x.com/${short.slice(-10)}`,
        media_key: mediaKeyOf(mimeType, id),
      });
    });
  }
  const want = (f: string) => fields.has(f);
  return {
    id: t.id,
    text: escape(text),
    edit_history_tweet_ids: [t.id],
    ...(want('author_id') ? { author_id: t.authorId } : {}),
    ...(want('created_at') ? { created_at: new Date(t.createdAt).toISOString() } : {}),
    ...(want('referenced_tweets') && (t.replyToId || t.quoteId)
      ? {
          referenced_tweets: [
            ...(t.replyToId ? [{ type: 'replied_to', id: t.replyToId }] : []),
            ...(t.quoteId ? [{ type: 'quoted', id: t.quoteId }] : []),
          ],
        }
      : {}),
    ...(want('attachments') && t.mediaIds.length
      ? { attachments: { media_keys: t.mediaIds.map((m) => mediaKeyOf(s.media.get(m)?.mimeType, m)) } }
      : {}),
    ...(want('entities') && urls.length ? { entities: { urls } } : {}),
    ...(want('note_tweet') && long
      ? { note_tweet: { text: t.text, ...(full.urls.length ? { entities: { urls: full.urls } } : {}) } }
      : {}),
    ...(want('public_metrics') ? { public_metrics: t.metrics } : {}),
  };
}

/** The fields a request asked for (`tweet.fields=a,b`). */
export const fieldsOf = (value: string | undefined): Set<string> =>
  new Set(
    (value ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  );
