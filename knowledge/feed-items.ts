/**
 * A feed source's items: fetched (conditionally, with the `ETag` / `Last-Modified` of the last
 * fetch, so an unchanged feed costs a 304), merged with the items already kept — new ones
 * added, ones the feed no longer lists kept or dropped as the source's follow settings say —
 * and rendered as the source's text (one `# title` section per item). Shared by the first
 * ingestion and by the feed poller (`feed-poller.ts`), so both read a feed the same way.
 */
import { createHash } from 'node:crypto';
import { HeraldError, type schema } from '../core/index.js';
import { decodeMarkup, type CharsetSource } from './charset.js';
import { parseFeed, type FeedItem } from './feed.js';
import { checkText, fetchCapped, isHtml } from './input.js';

/** An item as kept on the source (`knowledge_sources.feed_items`). */
export type KeptItem = NonNullable<(typeof schema.knowledgeSources.$inferSelect)['feedItems']>[number];
/** A followed feed's settings and poll health (`knowledge_sources.feed`). */
export type FeedState = NonNullable<(typeof schema.knowledgeSources.$inferSelect)['feed']>;
export type RemovedItems = FeedState['removedItems'];

/** Items kept at most per source: the feed's own, then removed ones kept, newest first. */
export const FEED_MAX_KEPT_ITEMS = 500;

export interface FetchedFeed {
  title: string | null;
  items: KeptItem[];
  finalUrl: string;
  charset: { encoding: string; from: CharsetSource };
  etag: string | null;
  lastModified: string | null;
}

/** What tells an item apart across fetches: its guid/id, else its link, else title and date. */
const keyOf = (i: FeedItem) =>
  i.id ||
  i.link ||
  `sha256:${createHash('sha256')
    .update(`${i.title}\n${i.date ?? ''}`)
    .digest('hex')
    .slice(0, 32)}`;

/**
 * Fetches and parses a feed. With `validators` (a poll), an unchanged feed answers `null`
 * (HTTP 304). Typed errors as for pages: `knowledge_fetch_failed`, `knowledge_input_invalid`.
 */
export async function fetchFeedItems(
  url: string,
  opts: { timeoutMs: number; maxBytes: number },
  validators?: { etag: string | null; lastModified: string | null },
): Promise<FetchedFeed | null> {
  const got = await fetchCapped(
    url,
    opts,
    'application/rss+xml,application/atom+xml,application/xml,text/xml;q=0.9',
    // Feeds are served under many types; the parser decides. HTML is the one sure miss.
    (t) => !isHtml(t),
    'a feed',
    validators,
  );
  if (!got) return null;
  const decoded = decodeMarkup(got.body, got.contentType);
  const feed = parseFeed(decoded.text);
  if (!feed)
    throw new HeraldError('knowledge_input_invalid', {
      message: `${url} is not an RSS or Atom feed`,
      details: { reason: 'not_xml' },
    });
  const seen = new Set<string>();
  const items: KeptItem[] = [];
  for (const i of feed.items) {
    const key = keyOf(i);
    if (seen.has(key)) continue;
    seen.add(key);
    items.push({ key, title: i.title, link: i.link, date: i.date, summary: i.summary });
  }
  return {
    title: feed.title,
    items,
    finalUrl: got.finalUrl,
    charset: { encoding: decoded.encoding, from: decoded.from },
    etag: got.etag,
    lastModified: got.lastModified,
  };
}

export interface MergedItems {
  items: KeptItem[];
  /** Keys of items the feed lists now that were not kept before. */
  added: string[];
  /** Keys of kept items the feed no longer lists (dropped, or still kept, per `removed`). */
  removed: string[];
}

/** The feed's current items (as it orders them), then — when `removed` is `keep` — earlier ones it dropped. */
export function mergeFeedItems(kept: KeptItem[], fetched: KeptItem[], removed: RemovedItems): MergedItems {
  const now = new Set(fetched.map((i) => i.key));
  const before = new Set(kept.map((i) => i.key));
  const gone = kept.filter((i) => !now.has(i.key));
  return {
    items: [...fetched, ...(removed === 'keep' ? gone : [])].slice(0, FEED_MAX_KEPT_ITEMS),
    added: fetched.filter((i) => !before.has(i.key)).map((i) => i.key),
    removed: gone.map((i) => i.key),
  };
}

const section = (i: KeptItem) =>
  [`# ${i.title || 'Untitled'}`, [i.link, i.date].filter(Boolean).join(' · '), i.summary].filter(Boolean).join('\n\n');

/**
 * The source's text: one Markdown section per item, and how many items it holds. Kept items
 * past the size cap are left out oldest first (the feed's own `ownItems` always count; if
 * they alone are too large, the usual `knowledge_input_too_large`).
 */
export function renderFeedItems(
  items: KeptItem[],
  maxBytes: number,
  ownItems = items.length,
): { text: string; items: KeptItem[] } {
  const sections = items.map(section);
  let text = sections.join('\n\n');
  while (sections.length > ownItems && Buffer.byteLength(text, 'utf8') > maxBytes) {
    sections.pop();
    text = sections.join('\n\n');
  }
  return { text: checkText(text, maxBytes), items: items.slice(0, sections.length) };
}
