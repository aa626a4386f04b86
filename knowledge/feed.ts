/**
 * RSS 2.0, RSS 1.0 (RDF) and Atom parsing (`fast-xml-parser`): the feed's title and, per item,
 * its title, link, date and summary as plain text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeEntities, extractMainContent } from './html.js';

export interface FeedItem {
  title: string;
  link: string | null;
  date: string | null;
  summary: string;
}

const textOf = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return textOf(v[0]);
  if (typeof v === 'object') return textOf((v as Record<string, unknown>)['#text']);
  return '';
};

const asArray = (v: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]) as Array<Record<string, unknown>>;

/** Summaries are often HTML: keep their text. */
const plain = (html: string) =>
  /<[a-z!/]/i.test(html) ? extractMainContent(`<body>${html}</body>`).text : decodeEntities(html).trim();

/** RSS 2.0, RSS 1.0 (RDF) or Atom; null when the XML is invalid or is none of these. */
export function parseFeed(xml: string): { title: string | null; items: FeedItem[] } | null {
  if (XMLValidator.validate(xml) !== true) return null;
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', processEntities: true }).parse(
    xml,
  ) as Record<string, Record<string, unknown> | undefined>;
  const rss = doc.rss?.channel as Record<string, unknown> | undefined;
  const rdf = doc['rdf:RDF'];
  if (rss || rdf) {
    const channel = rss ?? (rdf?.channel as Record<string, unknown> | undefined) ?? {};
    const items = asArray(rss ? rss.item : rdf?.item).map((i) => ({
      title: plain(textOf(i.title)),
      link: textOf(i.link) || null,
      date: textOf(i.pubDate ?? i['dc:date']) || null,
      summary: plain(textOf(i['content:encoded'] ?? i.description)),
    }));
    return { title: plain(textOf(channel.title)) || null, items };
  }
  const atom = doc.feed;
  if (atom) {
    const items = asArray(atom.entry).map((e) => {
      const links = asArray(e.link);
      const link = links.find((l) => !l['@rel'] || l['@rel'] === 'alternate') ?? links[0];
      return {
        title: plain(textOf(e.title)),
        link: (link?.['@href'] as string | undefined) ?? null,
        date: textOf(e.updated ?? e.published) || null,
        summary: plain(textOf(e.content ?? e.summary)),
      };
    });
    return { title: plain(textOf(atom.title)) || null, items };
  }
  return null;
}
