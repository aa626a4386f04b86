/**
 * Products a workspace promotes: added by hand, from a CSV catalogue (one product per row,
 * matched to an existing one by URL), or from a product page's JSON-LD / Open Graph. Each
 * product may hold real testimonials (the only ones testimonial posts quote) and one
 * affiliate link per program.
 */
import { parse } from 'csv-parse/sync';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import { decodeMarkup, fetchCapped, isHtml } from '../../knowledge/index.js';
import {
  audit,
  currencyOf,
  dbOf,
  invalid,
  isUuid,
  notFound,
  scopedProduct,
  type CampaignsDeps,
  type ServiceContext,
} from './context.js';
import { productFromPage, type PageProduct } from './page-data.js';

const { products, productAffiliateLinks, affiliatePrograms } = schema;

export interface ProductInput {
  name: string;
  url?: string | null | undefined;
  price?: number | string | null | undefined;
  currency?: string | null | undefined;
  images?: string[] | undefined;
  category?: string | null | undefined;
  notes?: string | null | undefined;
  testimonials?: schema.ProductTestimonial[] | undefined;
  /** The product's link in each program. */
  affiliateLinks?: Array<{ programId: string; url: string }> | undefined;
}

export interface ProductView {
  id: string;
  name: string;
  url: string | null;
  price: string | null;
  currency: string | null;
  images: string[];
  category: string | null;
  notes: string | null;
  testimonials: schema.ProductTestimonial[];
  source: string;
  affiliateLinks: Array<{ programId: string; programName: string; url: string }>;
  createdAt: string;
}

export const MAX_CSV_PRODUCTS = 1000;
const DEFAULT_PAGE_FETCH = { timeoutMs: 10_000, maxBytes: 2 * 1024 * 1024 };

function httpUrl(v: unknown, field: string): string {
  let u: URL;
  try {
    u = new URL(String(v).trim());
  } catch {
    throw invalid(`${field} is not a URL`, { [field]: v });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(`${field} must be http(s)`, { [field]: v });
  return u.toString();
}

/** "1,299.00", "1.299,00", "12,50", "$49" → a number; the last of "." and "," is the decimal point. */
export function parsePrice(text: string): number {
  const t = text.replace(/[^\d.,-]/g, '');
  const dot = t.lastIndexOf('.');
  const comma = t.lastIndexOf(',');
  let decimal: '.' | ',' | null = null;
  if (dot >= 0 && comma >= 0) decimal = dot > comma ? '.' : ',';
  else if (comma >= 0) decimal = /,\d{1,2}$/.test(t) ? ',' : null;
  else if (dot >= 0) decimal = t.indexOf('.') === dot ? '.' : null;
  const thousands = decimal === '.' ? /,/g : decimal === ',' ? /\./g : /[.,]/g;
  return Number(t.replace(thousands, '').replace(',', '.'));
}

function priceOf(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'number' ? v : parsePrice(String(v));
  if (!Number.isFinite(n) || n < 0 || n >= 1e12) throw invalid('price must be a non-negative number', { price: v });
  return n.toFixed(2);
}

function clean(input: ProductInput) {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (!name || name.length > 300) throw invalid('A product needs a name (at most 300 characters)');
  const price = priceOf(input.price);
  const testimonials = (input.testimonials ?? []).map((t) => {
    if (!t || typeof t.quote !== 'string' || !t.quote.trim() || typeof t.author !== 'string' || !t.author.trim())
      throw invalid('A testimonial needs the quote and who said it');
    return {
      quote: t.quote.trim().slice(0, 1000),
      author: t.author.trim().slice(0, 200),
      ...(t.source ? { source: String(t.source).slice(0, 500) } : {}),
    };
  });
  return {
    name,
    url: input.url ? httpUrl(input.url, 'url') : null,
    price,
    currency: input.currency ? currencyOf(input.currency) : null,
    images: (input.images ?? []).slice(0, 10).map((u) => httpUrl(u, 'images')),
    category: input.category?.trim().slice(0, 200) || null,
    notes: input.notes?.trim().slice(0, 5000) || null,
    testimonials,
  };
}

async function views(db: Db, workspaceId: string, rows: Array<typeof products.$inferSelect>): Promise<ProductView[]> {
  if (rows.length === 0) return [];
  const links = await db
    .select({
      productId: productAffiliateLinks.productId,
      programId: productAffiliateLinks.programId,
      url: productAffiliateLinks.url,
      programName: affiliatePrograms.name,
    })
    .from(productAffiliateLinks)
    .innerJoin(affiliatePrograms, eq(affiliatePrograms.id, productAffiliateLinks.programId))
    .where(
      and(
        eq(productAffiliateLinks.workspaceId, workspaceId),
        inArray(
          productAffiliateLinks.productId,
          rows.map((r) => r.id),
        ),
      ),
    );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    url: r.url,
    price: r.price,
    currency: r.currency,
    images: r.images,
    category: r.category,
    notes: r.notes,
    testimonials: r.testimonials,
    source: r.source,
    affiliateLinks: links
      .filter((l) => l.productId === r.id)
      .map(({ programId, programName, url }) => ({ programId, programName, url })),
    createdAt: r.createdAt.toISOString(),
  }));
}

/** The affiliate links checked (programs of this workspace, http(s) URLs) before anything is written. */
async function checkedLinks(db: Db, workspaceId: string, links: ProductInput['affiliateLinks']) {
  const out: Array<{ programId: string; url: string }> = [];
  for (const l of links ?? []) {
    if (!isUuid(l.programId)) throw notFound('affiliate program', String(l.programId));
    const [program] = await db
      .select({ id: affiliatePrograms.id })
      .from(affiliatePrograms)
      .where(and(eq(affiliatePrograms.workspaceId, workspaceId), eq(affiliatePrograms.id, l.programId)));
    if (!program) throw notFound('affiliate program', l.programId);
    out.push({ programId: l.programId, url: httpUrl(l.url, 'affiliateLinks.url') });
  }
  return out;
}

async function setAffiliateLinks(
  db: Db,
  workspaceId: string,
  productId: string,
  links: Array<{ programId: string; url: string }>,
) {
  for (const { programId, url } of links)
    await db
      .insert(productAffiliateLinks)
      .values({ workspaceId, productId, programId, url })
      .onConflictDoUpdate({ target: [productAffiliateLinks.productId, productAffiliateLinks.programId], set: { url } });
}

async function upsert(db: Db, workspaceId: string, input: ProductInput, source: string) {
  const values = clean(input);
  const links = await checkedLinks(db, workspaceId, input.affiliateLinks);
  const [row] = values.url
    ? await db
        .insert(products)
        .values({ workspaceId, ...values, source })
        .onConflictDoUpdate({
          target: [products.workspaceId, products.url],
          targetWhere: sql`${products.url} is not null`,
          set: { ...values, updatedAt: new Date() },
        })
        .returning()
    : await db
        .insert(products)
        .values({ workspaceId, ...values, source })
        .returning();
  await setAffiliateLinks(db, workspaceId, row!.id, links);
  return row!;
}

/** Adds a product (or updates the one with the same URL). Editor. */
export async function addProduct(deps: CampaignsDeps, ctx: ServiceContext, input: ProductInput): Promise<ProductView> {
  requireRole(ctx, 'editor');
  const db = dbOf(deps);
  const row = await upsert(db, ctx.workspaceId, input, 'manual');
  await audit(deps, ctx, 'product.add', { type: 'product', id: row.id }, { name: row.name });
  return (await views(db, ctx.workspaceId, [row]))[0]!;
}

/** Changes a product's fields; what is not given stays. Editor. */
export async function updateProduct(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  id: string,
  patch: Partial<ProductInput>,
): Promise<ProductView> {
  requireRole(ctx, 'editor');
  const db = dbOf(deps);
  const current = await getProductRow(db, ctx.workspaceId, id);
  const merged = clean({
    name: patch.name ?? current.name,
    url: patch.url === undefined ? current.url : patch.url,
    price: patch.price === undefined ? current.price : patch.price,
    currency: patch.currency === undefined ? current.currency : patch.currency,
    images: patch.images ?? current.images,
    category: patch.category === undefined ? current.category : patch.category,
    notes: patch.notes === undefined ? current.notes : patch.notes,
    testimonials: patch.testimonials ?? current.testimonials,
  });
  const [row] = await db
    .update(products)
    .set({ ...merged, updatedAt: new Date() })
    .where(scopedProduct(ctx.workspaceId, id))
    .returning();
  await setAffiliateLinks(db, ctx.workspaceId, id, await checkedLinks(db, ctx.workspaceId, patch.affiliateLinks));
  await audit(deps, ctx, 'product.update', { type: 'product', id }, { fields: Object.keys(patch) });
  return (await views(db, ctx.workspaceId, [row!]))[0]!;
}

export async function getProductRow(db: Db, workspaceId: string, id: string) {
  if (!isUuid(id)) throw notFound('product', String(id));
  const [row] = await db.select().from(products).where(scopedProduct(workspaceId, id));
  if (!row) throw notFound('product', id);
  return row;
}

export async function getProduct(deps: CampaignsDeps, ctx: ServiceContext, id: string): Promise<ProductView> {
  requireRole(ctx, 'viewer');
  const db = dbOf(deps);
  return (await views(db, ctx.workspaceId, [await getProductRow(db, ctx.workspaceId, id)]))[0]!;
}

export async function listProducts(deps: CampaignsDeps, ctx: ServiceContext): Promise<ProductView[]> {
  requireRole(ctx, 'viewer');
  const db = dbOf(deps);
  const rows = await db
    .select()
    .from(products)
    .where(eq(products.workspaceId, ctx.workspaceId))
    .orderBy(asc(products.name))
    .limit(1000);
  return views(db, ctx.workspaceId, rows);
}

export async function deleteProduct(deps: CampaignsDeps, ctx: ServiceContext, id: string): Promise<void> {
  requireRole(ctx, 'editor');
  const db = dbOf(deps);
  await getProductRow(db, ctx.workspaceId, id);
  await db.delete(products).where(scopedProduct(ctx.workspaceId, id));
  await audit(deps, ctx, 'product.delete', { type: 'product', id });
}

const COLUMN: Record<string, RegExp> = {
  name: /^(name|title|product|product[ _-]?name|item)$/i,
  url: /^(url|link|product[ _-]?url|page)$/i,
  price: /^(price|amount|cost)$/i,
  currency: /^(currency|price[ _-]?currency)$/i,
  images: /^(images?|image[ _-]?urls?|picture)$/i,
  category: /^(category|type|collection)$/i,
  notes: /^(notes?|description|details)$/i,
  affiliateUrl: /^(affiliate[ _-]?(url|link))$/i,
};

export interface CatalogueReport {
  imported: number;
  products: ProductView[];
  problems: Array<{ row: number; message: string }>;
}

/**
 * Imports a CSV catalogue: a header row naming the columns (name, url, price, currency, image,
 * category, notes, affiliate_url), one product per row. A row whose URL is already a product
 * updates it. With `programId`, an `affiliate_url` column becomes the product's link in it.
 */
export async function importCatalogue(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  csv: string,
  opts: { programId?: string | undefined } = {},
): Promise<CatalogueReport> {
  requireRole(ctx, 'editor');
  const firstLine = csv.split('\n', 1)[0] ?? '';
  const delimiter = firstLine.split('\t').length > firstLine.split(',').length ? '\t' : ',';
  let records: string[][];
  try {
    records = parse(csv, { delimiter, bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (cause) {
    throw new HeraldError('csv_invalid', { message: `The CSV cannot be read: ${(cause as Error).message}`, cause });
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0)
    throw new HeraldError('csv_invalid', { message: 'The CSV needs a header row and at least one product' });
  if (rows.length > MAX_CSV_PRODUCTS)
    throw new HeraldError('csv_invalid', {
      message: `At most ${MAX_CSV_PRODUCTS} products per import`,
      details: { rows: rows.length },
    });
  const col = Object.fromEntries(
    Object.entries(COLUMN).map(([k, re]) => [k, header.findIndex((h) => re.test(h))]),
  ) as Record<keyof typeof COLUMN, number>;
  if (col.name! < 0)
    throw new HeraldError('csv_invalid', {
      message: 'The CSV has no name column (name, title or product)',
      details: { columns: header },
    });
  const db = dbOf(deps);
  const imported: Array<typeof products.$inferSelect> = [];
  const problems: CatalogueReport['problems'] = [];
  for (const [i, r] of rows.entries()) {
    const at = (k: keyof typeof COLUMN) => (col[k]! >= 0 ? r[col[k]!] || undefined : undefined);
    try {
      const affiliate = at('affiliateUrl');
      imported.push(
        await upsert(
          db,
          ctx.workspaceId,
          {
            name: at('name') ?? '',
            url: at('url'),
            price: at('price'),
            currency: at('currency'),
            images: at('images')
              ?.split(/[|\s;]+/)
              .filter(Boolean),
            category: at('category'),
            notes: at('notes'),
            affiliateLinks: affiliate && opts.programId ? [{ programId: opts.programId, url: affiliate }] : undefined,
          },
          'csv',
        ),
      );
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      problems.push({ row: i + 2, message: err.message });
    }
  }
  await audit(
    deps,
    ctx,
    'product.import_csv',
    { type: 'workspace', id: ctx.workspaceId },
    { imported: imported.length, problems: problems.length },
  );
  return { imported: imported.length, products: await views(db, ctx.workspaceId, imported), problems };
}

/** Reads a product page and adds the product it describes (JSON-LD first, then Open Graph). */
export async function importProductPage(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  url: string,
  extra: Pick<ProductInput, 'affiliateLinks' | 'notes' | 'testimonials'> = {},
): Promise<ProductView & { extracted: PageProduct }> {
  requireRole(ctx, 'editor');
  const pageUrl = httpUrl(url, 'url');
  // Ids in the request are checked before the page is fetched.
  await checkedLinks(dbOf(deps), ctx.workspaceId, extra.affiliateLinks);
  const got = (await fetchCapped(
    pageUrl,
    deps.pageFetch ?? DEFAULT_PAGE_FETCH,
    'text/html,application/xhtml+xml',
    isHtml,
    'an HTML page',
  ))!;
  const page = productFromPage(decodeMarkup(got.body, got.contentType).text, got.finalUrl);
  if (!page.name)
    throw new HeraldError('validation_failed', {
      message: `${pageUrl} states no product (no schema.org Product in JSON-LD and no og:title)`,
      details: { url: pageUrl },
    });
  const db = dbOf(deps);
  let currency: string | null = null;
  try {
    currency = page.currency ? currencyOf(page.currency) : null;
  } catch {
    currency = null; // a page's odd currency text is left out, not fatal
  }
  const row = await upsert(
    db,
    ctx.workspaceId,
    {
      name: page.name.slice(0, 300),
      url: page.url ?? pageUrl,
      price: page.price,
      currency,
      images: page.images,
      category: page.category,
      notes: extra.notes ?? page.description?.slice(0, 5000) ?? null,
      testimonials: extra.testimonials,
      affiliateLinks: extra.affiliateLinks,
    },
    'page',
  );
  await audit(deps, ctx, 'product.import_page', { type: 'product', id: row.id }, { url: pageUrl, from: page.from });
  return { ...(await views(db, ctx.workspaceId, [row]))[0]!, extracted: page };
}
