/**
 * RSS 2.0, RSS 1.0 (RDF) and Atom parsing (`fast-xml-parser`): the feed's title and, per item,
 * its title, link, date and summary (Atom: its content, of any type, else its summary) as
 * plain text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decodeEntities, extractMainContent } from './html.js';

export interface FeedItem {
  /** RSS `guid` / Atom `id`, when the feed gives one: what tells items apart across polls. */
  id: string | null;
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

/** Text of CDATA sections as is, entities decoded elsewhere: what a stop node's raw XML means as text. */
const unescapeXml = (raw: string) =>
  raw
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) => (part.startsWith('<![CDATA[') ? part.slice(9, -3) : decodeEntities(part)))
    .join('');

/**
 * An Atom text construct (RFC 4287 §3.1): `type="xhtml"` is a `<div>` of XHTML, `html` is
 * escaped HTML, `text` (the default) plain text. The parser hands these over as raw XML
 * (stop nodes), since an XHTML body parsed as data loses its text.
 */
function atomText(node: unknown): string {
  const raw = textOf(node);
  const type = (node as Record<string, unknown> | undefined)?.['@type'];
  if (type === 'xhtml') return extractMainContent(`<body>${raw}</body>`).text;
  const text = unescapeXml(raw);
  return type === 'html' ? plain(text) : text.trim();
}

/** RSS 2.0, RSS 1.0 (RDF) or Atom; null when the XML is invalid or is none of these. */
export function parseFeed(xml: string): { title: string | null; items: FeedItem[] } | null {
  if (XMLValidator.validate(xml) !== true) return null;
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    processEntities: true,
    stopNodes: ['feed.entry.content', 'feed.entry.summary'],
  }).parse(xml) as Record<string, Record<string, unknown> | undefined>;
  const rss = doc.rss?.channel as Record<string, unknown> | undefined;
  const rdf = doc['rdf:RDF'];
  if (rss || rdf) {
    const channel = rss ?? (rdf?.channel as Record<string, unknown> | undefined) ?? {};
    const items = asArray(rss ? rss.item : rdf?.item).map((i) => ({
      id: textOf(i.guid).trim() || (typeof i['@rdf:about'] === 'string' ? i['@rdf:about'] : null),
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
        id: textOf(e.id).trim() || null,
        title: plain(textOf(e.title)),
        link: (link?.['@href'] as string | undefined) ?? null,
        date: textOf(e.updated ?? e.published) || null,
        summary: atomText(e.content) || atomText(e.summary),
      };
    });
    return { title: plain(textOf(atom.title)) || null, items };
  }
  return null;
}
