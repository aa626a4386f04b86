/**
 * Google Trends' daily trending searches as a trend source: the RSS feed per country,
 * `GET https://trends.google.com/trending/rss?geo=<ISO 3166-1 alpha-2>`. Each `<item>` is a
 * search that jumped in the last day: `<title>` (the search), `<pubDate>`, and fields in the
 * `ht:` namespace (`https://trends.google.com/trending/rss`): `ht:approx_traffic` ("200+",
 * "10,000+", "2M+"), `ht:picture`, and `ht:news_item` entries (`ht:news_item_title`,
 * `ht:news_item_url`, `ht:news_item_source`). Engagement is the approximate traffic; the
 * first news item is the evidence link. One country failing still delivers the others; an
 * item without a title is skipped. The budget is the server's, shared fairly by workspaces
 * (FairShareBudget): a niche reads as many of its countries as its share allows, in turn.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  eachTarget,
  FairRotation,
  FairShareBudget,
  getText,
  TrendSourceError,
  type FairShareOptions,
  type TrendItem,
  type TrendQuery,
  type TrendSource,
} from '../trend-source.js';

export const GOOGLE_TRENDS_URL = 'https://trends.google.com';
/** Countries read per collection. */
export const GOOGLE_TRENDS_MAX_REGIONS = 10;
export const REGION_CODE = /^[A-Z]{2}$/;

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

const text = (v: unknown): string => {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return text(v[0]);
  if (v && typeof v === 'object') return text((v as Record<string, unknown>)['#text']);
  return '';
};
const list = (v: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(v) ? v : v ? [v] : []).filter((x): x is Record<string, unknown> => !!x && typeof x === 'object');

/** "200+" → 200, "10,000+" → 10000, "2M+" → 2000000, "50K+" → 50000; unknown → 0. */
export function approxTraffic(s: string): number {
  const m = /^([\d.,]+)\s*([KMB])?\+?$/i.exec(s.trim().replace(/\s/g, ''));
  if (!m) return 0;
  const n = Number(m[1]!.replace(/,/g, ''));
  const mult = { K: 1e3, M: 1e6, B: 1e9 }[(m[2] ?? '').toUpperCase() as 'K' | 'M' | 'B'] ?? 1;
  return Number.isFinite(n) ? Math.round(n * mult) : 0;
}

/** The items of one country's feed. */
export function parseTrendingRss(xml: string, geo: string): TrendItem[] {
  if (XMLValidator.validate(xml) !== true) throw new Error('not well-formed XML');
  const doc = parser.parse(xml) as { rss?: { channel?: { item?: unknown } } };
  if (!doc.rss?.channel) throw new Error('not an RSS 2.0 channel');
  const out: TrendItem[] = [];
  for (const item of list(doc.rss.channel.item)) {
    const title = text(item.title).trim();
    if (!title) continue;
    const news = list(item['ht:news_item']).map((n) => ({
      title: text(n['ht:news_item_title']).trim(),
      url: text(n['ht:news_item_url']).trim(),
      source: text(n['ht:news_item_source']).trim(),
    }));
    const top = news.find((n) => n.url && /^https?:\/\//.test(n.url));
    const date = new Date(text(item.pubDate));
    out.push({
      externalId: `${geo}:${title.toLowerCase()}`,
      title: (top?.title ? `${title} — ${top.title}${top.source ? ` (${top.source})` : ''}` : title).slice(0, 500),
      url: top?.url ?? `${GOOGLE_TRENDS_URL}/trends/explore?geo=${geo}&q=${encodeURIComponent(title)}`,
      tags: [],
      engagement: approxTraffic(text(item['ht:approx_traffic'])),
      publishedAt: Number.isNaN(date.getTime()) ? null : date,
    });
  }
  return out;
}

export interface GoogleTrendsOptions {
  baseUrl?: string;
  /** Default 30 calls an hour for the whole server (the feed changes about hourly), shared fairly by workspaces. */
  budget?: FairShareOptions;
  timeoutMs?: number;
  now?: () => number;
}

export class GoogleTrendsSource implements TrendSource {
  readonly name = 'google_trends';
  readonly #budget: FairShareBudget;
  readonly #rotation: FairRotation;

  constructor(private readonly options: GoogleTrendsOptions = {}) {
    this.#budget = new FairShareBudget(this.name, options.budget ?? { calls: 30, windowMs: 60 * 60_000 }, options.now);
    this.#rotation = new FairRotation(this.#budget);
  }

  async fetch(query: TrendQuery): Promise<TrendItem[]> {
    const key = query.workspaceId ?? '';
    const regions = [...new Set((query.regions ?? []).map((r) => r.toUpperCase()))]
      .filter((r) => REGION_CODE.test(r))
      .slice(0, GOOGLE_TRENDS_MAX_REGIONS);
    // As many countries as this workspace's share allows, going on where its last collection stopped.
    const chosen = this.#rotation.pick(key, regions, 1);
    const budget = this.#budget.for(key);
    return eachTarget(chosen, async (geo) => {
      const url = new URL('/trending/rss', this.options.baseUrl ?? GOOGLE_TRENDS_URL);
      url.searchParams.set('geo', geo);
      const xml = await getText(budget, url, {
        timeoutMs: this.options.timeoutMs,
        headers: { accept: 'application/rss+xml, application/xml;q=0.9, */*;q=0.1' },
      });
      try {
        return parseTrendingRss(xml, geo);
      } catch (err) {
        throw new TrendSourceError(this.name, 'malformed', `${url.host} geo=${geo}: ${(err as Error).message}`);
      }
    });
  }
}
