/**
 * A product's facts from its page: schema.org `Product` in JSON-LD first (name, image,
 * offers' price and currency, category, description, brand), then Open Graph / product meta
 * tags for whatever JSON-LD left out. No DOM: the script blocks and meta tags are read with
 * the same tolerant markup handling knowledge/ uses, and the page is untrusted data.
 */
import { decodeEntities } from '../../knowledge/index.js';

export interface PageProduct {
  name: string | null;
  url: string | null;
  price: string | null;
  currency: string | null;
  images: string[];
  category: string | null;
  description: string | null;
  brand: string | null;
  /** Which parts of the page gave the facts. */
  from: Array<'json-ld' | 'open-graph'>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const str = (v: Json | undefined): string | null => {
  if (typeof v === 'string') return v.trim() || null;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) return str(v.name ?? v['@value'] ?? v.url);
  if (Array.isArray(v)) return str(v[0]);
  return null;
};

const typesOf = (o: { [k: string]: Json }) => {
  const t = o['@type'];
  return (Array.isArray(t) ? t : [t]).filter((x): x is string => typeof x === 'string');
};

/** Every object in the JSON-LD (through arrays and `@graph`). */
function* objects(v: Json): Generator<{ [k: string]: Json }> {
  if (Array.isArray(v)) for (const x of v) yield* objects(x);
  else if (v && typeof v === 'object') {
    yield v;
    if (v['@graph']) yield* objects(v['@graph']);
    // A ProductGroup's variants, an ItemPage's mainEntity.
    for (const k of ['mainEntity', 'hasVariant']) if (v[k]) yield* objects(v[k]);
  }
}

function imagesOf(v: Json | undefined): string[] {
  if (!v) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(imagesOf);
  if (typeof v === 'object')
    return typeof v.url === 'string' ? [v.url] : typeof v.contentUrl === 'string' ? [v.contentUrl] : [];
  return [];
}

function offerOf(v: Json | undefined): { price: string | null; currency: string | null } {
  for (const o of objects(v ?? null)) {
    const price = str(o.price ?? o.lowPrice ?? (o.priceSpecification as { [k: string]: Json } | undefined)?.price);
    if (price !== null)
      return {
        price,
        currency: str(o.priceCurrency ?? (o.priceSpecification as { [k: string]: Json } | undefined)?.priceCurrency),
      };
  }
  return { price: null, currency: null };
}

function jsonLdProduct(html: string): Omit<PageProduct, 'from'> | null {
  const blocks = html.matchAll(
    /<script\b[^>]*type\s*=\s*["']?application\/ld\+json["']?[^>]*>([\s\S]*?)<\/script\s*>/gi,
  );
  for (const [, body] of blocks) {
    let parsed: Json;
    try {
      parsed = JSON.parse(body!.trim().replace(/^<!--|-->$/g, '')) as Json;
    } catch {
      continue; // one broken block does not spoil the others
    }
    for (const o of objects(parsed)) {
      if (!typesOf(o).some((t) => t === 'Product' || t === 'ProductGroup')) continue;
      const offer = offerOf(o.offers);
      return {
        name: str(o.name),
        url: str(o.url),
        price: offer.price,
        currency: offer.currency,
        images: imagesOf(o.image),
        category: str(o.category),
        description: str(o.description),
        brand: str(o.brand),
      };
    }
  }
  return null;
}

/** The page's meta tags as `property|name -> [content...]`. */
function metaTags(html: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [tag] of html.matchAll(/<meta\b[^>]*>/gi)) {
    const attrs = new Map<string, string>();
    for (const m of tag.matchAll(/([a-z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi))
      attrs.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
    const key = (attrs.get('property') ?? attrs.get('name') ?? '').toLowerCase();
    const content = attrs.get('content')?.trim();
    if (key && content) out.set(key, [...(out.get(key) ?? []), content]);
  }
  return out;
}

/** The product a page describes; fields it does not state are null. */
export function productFromPage(html: string, pageUrl: string): PageProduct {
  const ld = jsonLdProduct(html);
  const meta = metaTags(html);
  const og = (k: string) => meta.get(k)?.[0] ?? null;
  const from: PageProduct['from'] = [];
  if (ld) from.push('json-ld');
  const pick = <T>(a: T | null | undefined, b: T | null) => {
    if (a !== null && a !== undefined && !(Array.isArray(a) && a.length === 0)) return a;
    if (b !== null && !(Array.isArray(b) && b.length === 0) && !from.includes('open-graph')) from.push('open-graph');
    return b;
  };
  const absolute = (u: string) => {
    try {
      return new URL(u, pageUrl).toString();
    } catch {
      return null;
    }
  };
  const images = pick(ld?.images, meta.get('og:image') ?? meta.get('og:image:url') ?? null) ?? [];
  return {
    name: pick(ld?.name, og('og:title')),
    url: absolute(pick(ld?.url, og('og:url')) ?? pageUrl),
    price: pick(ld?.price, og('product:price:amount') ?? og('og:price:amount')),
    currency: pick(ld?.currency, og('product:price:currency') ?? og('og:price:currency')),
    images: [...new Set(images.map(absolute).filter((u): u is string => !!u))].slice(0, 10),
    category: pick(ld?.category, og('product:category')),
    description: pick(ld?.description, og('og:description')),
    brand: pick(ld?.brand, og('product:brand')),
    from,
  };
}
