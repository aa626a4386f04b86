/**
 * A workspace's niche for trend research: keywords, languages, and where to look — the
 * Mastodon instances whose trends it reads, the subreddits, the countries whose Google Trends
 * searches it reads. Viewers read it; editors set it. Stored in `trend_niches`.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';

export const NICHE_MAX_KEYWORDS = 30;
export const NICHE_MAX_INSTANCES = 10;
export const NICHE_MAX_SUBREDDITS = 10;
export const NICHE_MAX_REGIONS = 10;

export interface Niche {
  keywords: string[];
  languages: string[];
  mastodonInstances: string[];
  subreddits: string[];
  regions: string[];
  updatedAt: string | null;
}

export const NicheInput = z.strictObject({
  keywords: z.array(z.string().trim().min(2).max(60)).max(NICHE_MAX_KEYWORDS),
  languages: z
    .array(z.string().regex(/^[a-z]{2,3}$/i, 'an ISO 639 code such as en'))
    .max(10)
    .default([]),
  mastodonInstances: z
    .array(
      z
        .string()
        .url()
        .refine((u) => /^https?:$/.test(new URL(u).protocol), 'an http(s) URL'),
    )
    .max(NICHE_MAX_INSTANCES)
    .default([]),
  subreddits: z
    .array(
      z
        .string()
        .trim()
        .transform((s) => s.replace(/^\/?r\//i, ''))
        .pipe(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_]{1,20}$/, 'a subreddit name such as espresso')),
    )
    .max(NICHE_MAX_SUBREDDITS)
    .default([]),
  regions: z
    .array(z.string().regex(/^[A-Za-z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as US'))
    .max(NICHE_MAX_REGIONS)
    .default([]),
});
export type NicheInput = z.input<typeof NicheInput>;

const EMPTY: Niche = {
  keywords: [],
  languages: [],
  mastodonInstances: [],
  subreddits: [],
  regions: [],
  updatedAt: null,
};

export async function getNiche(deps: { db: Db }, ctx: ServiceContext): Promise<Niche> {
  requireRole(ctx, 'viewer');
  return readNiche(deps.db, ctx.workspaceId);
}

/** The niche without a caller (the collector). */
export async function readNiche(db: Db, workspaceId: string): Promise<Niche> {
  const [row] = await db.select().from(schema.trendNiches).where(eq(schema.trendNiches.workspaceId, workspaceId));
  if (!row) return EMPTY;
  return {
    keywords: row.keywords,
    languages: row.languages,
    mastodonInstances: row.mastodonInstances,
    subreddits: row.subreddits,
    regions: row.regions,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export async function setNiche(deps: { db: Db }, ctx: ServiceContext, input: NicheInput): Promise<Niche> {
  requireRole(ctx, 'editor');
  const parsed = NicheInput.safeParse(input);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  const v = {
    keywords: [...new Set(parsed.data.keywords.map((k) => k.toLowerCase()))],
    languages: [...new Set(parsed.data.languages.map((l) => l.toLowerCase()))],
    mastodonInstances: [...new Set(parsed.data.mastodonInstances.map((u) => new URL(u).origin))],
    subreddits: [...new Set(parsed.data.subreddits.map((r) => r.toLowerCase()))],
    regions: [...new Set(parsed.data.regions.map((r) => r.toUpperCase()))],
    updatedAt: new Date(),
  };
  await deps.db
    .insert(schema.trendNiches)
    .values({ workspaceId: ctx.workspaceId, ...v })
    .onConflictDoUpdate({ target: schema.trendNiches.workspaceId, set: v });
  return { ...v, updatedAt: v.updatedAt.toISOString() };
}
