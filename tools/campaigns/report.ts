/**
 * Campaign figures per campaign, product, platform and post: human clicks (tools/links; bots
 * apart), conversions, revenue and commission in the reporting currency (each conversion at
 * the rate stored for its date), EPC (commission per human click), conversion rate
 * (conversions per unique click) and ROI (commission against the campaign's cost). Reversed
 * conversions count nowhere. A/B groups come with their verdict (`ab-test.ts`).
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import { requireRole, schema } from '../../core/index.js';
import { linkStats, MAX_LINKS_PER_CALL, type ClickTotals } from '../links/index.js';
import { compareVariants, type AbVerdict } from './ab-test.js';
import { campaignRow } from './campaigns.js';
import { dbOf, nowOf, settingsOf, type CampaignsDeps, type ServiceContext } from './context.js';
import { rateFor } from './money.js';

const { campaignPosts, conversions, products } = schema;

export interface Figures extends ClickTotals {
  conversions: number;
  revenue: number;
  commission: number;
  /** Commission per human click; null without clicks. */
  epc: number | null;
  /** Conversions per unique click; null without clicks. */
  conversionRate: number | null;
}

export interface CampaignReport {
  campaign: { id: string; name: string; status: string };
  currency: string;
  totals: Figures & { cost: number; roi: number | null; costNote: string | null };
  byPost: Array<
    Figures & {
      postId: string;
      targetId: string;
      itemKey: string;
      platform: string;
      productId: string;
      variant: string | null;
      linkCode: string;
      scheduledAt: string;
    }
  >;
  byProduct: Array<Figures & { productId: string; name: string }>;
  byPlatform: Array<Figures & { platform: string }>;
  abTests: Array<AbVerdict & { group: string }>;
}

const r2 = (n: number) => Math.round(n * 100) / 100;
const r4 = (n: number) => Math.round(n * 10_000) / 10_000;

function figures(clicks: ClickTotals, conv: { n: number; revenue: number; commission: number }): Figures {
  return {
    ...clicks,
    conversions: conv.n,
    revenue: r2(conv.revenue),
    commission: r4(conv.commission),
    epc: clicks.clicks > 0 ? r4(conv.commission / clicks.clicks) : null,
    conversionRate: clicks.uniqueClicks > 0 ? r4(conv.n / clicks.uniqueClicks) : null,
  };
}

const add = (a: ClickTotals, b: ClickTotals): ClickTotals => ({
  clicks: a.clicks + b.clicks,
  uniqueClicks: a.uniqueClicks + b.uniqueClicks,
  botClicks: a.botClicks + b.botClicks,
});
const ZERO_CLICKS: ClickTotals = { clicks: 0, uniqueClicks: 0, botClicks: 0 };
type Conv = { n: number; revenue: number; commission: number };
const ZERO_CONV: Conv = { n: 0, revenue: 0, commission: 0 };
const addConv = (a: Conv, b: Conv): Conv => ({
  n: a.n + b.n,
  revenue: a.revenue + b.revenue,
  commission: a.commission + b.commission,
});

/** The whole report of one campaign (viewer). */
export async function campaignReport(deps: CampaignsDeps, ctx: ServiceContext, id: string): Promise<CampaignReport> {
  requireRole(ctx, 'viewer');
  const db = dbOf(deps);
  const row = await campaignRow(deps, ctx.workspaceId, id);
  const { baseCurrency } = await settingsOf(db, ctx.workspaceId);
  const posts = await db
    .select()
    .from(campaignPosts)
    .where(and(eq(campaignPosts.workspaceId, ctx.workspaceId), eq(campaignPosts.campaignId, id)));
  // Clicks of the campaign's links since it was approved (links stats cover at most a year).
  const from = new Date(Math.min(row.startsAt.getTime(), (row.approvedAt ?? row.createdAt).getTime()) - 86_400_000);
  const to = new Date(Math.min(nowOf(deps).getTime() + 86_400_000, from.getTime() + 365 * 86_400_000));
  const clicksOf = new Map<string, ClickTotals>();
  for (let i = 0; i < posts.length; i += MAX_LINKS_PER_CALL) {
    const ids = posts.slice(i, i + MAX_LINKS_PER_CALL).map((p) => p.linkId);
    const stats = await linkStats(deps.links, ctx, { linkIds: ids, from, to });
    for (const s of stats.links ?? [])
      clicksOf.set(s.linkId, { clicks: s.clicks, uniqueClicks: s.uniqueClicks, botClicks: s.botClicks });
  }
  const convRows = (await db
    .select({
      postId: conversions.postId,
      linkId: conversions.linkId,
      productId: conversions.productId,
      platform: conversions.platform,
      n: sql<number>`count(*)::int`,
      revenue: sql<string>`coalesce(sum(${conversions.amountBase}), 0)`,
      commission: sql<string>`coalesce(sum(${conversions.commissionBase}), 0)`,
    })
    .from(conversions)
    .where(
      and(
        eq(conversions.workspaceId, ctx.workspaceId),
        eq(conversions.campaignId, id),
        ne(conversions.status, 'reversed'),
      ),
    )
    .groupBy(conversions.postId, conversions.linkId, conversions.productId, conversions.platform)) as Array<{
    postId: string | null;
    linkId: string | null;
    productId: string | null;
    platform: string | null;
    n: number;
    revenue: string;
    commission: string;
  }>;
  const convOf = (c: (typeof convRows)[number]): Conv => ({
    n: Number(c.n),
    revenue: Number(c.revenue),
    commission: Number(c.commission),
  });

  const byPost = posts
    .map((p) => {
      const conv = convRows
        .filter((c) => c.linkId === p.linkId)
        .map(convOf)
        .reduce(addConv, ZERO_CONV);
      return {
        postId: p.postId,
        targetId: p.targetId,
        itemKey: p.itemKey,
        platform: p.platform,
        productId: p.productId,
        variant: p.variant,
        linkCode: p.linkCode,
        scheduledAt: p.scheduledAt.toISOString(),
        ...figures(clicksOf.get(p.linkId) ?? ZERO_CLICKS, conv),
      };
    })
    .sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));

  const group = <K extends string>(
    keyOfPost: (p: (typeof posts)[number]) => K,
    keyOfConv: (c: (typeof convRows)[number]) => K | null,
  ) => {
    const clicks = new Map<K, ClickTotals>();
    const conv = new Map<K, Conv>();
    for (const p of posts)
      clicks.set(keyOfPost(p), add(clicks.get(keyOfPost(p)) ?? ZERO_CLICKS, clicksOf.get(p.linkId) ?? ZERO_CLICKS));
    for (const c of convRows) {
      const k = keyOfConv(c);
      if (k !== null) conv.set(k, addConv(conv.get(k) ?? ZERO_CONV, convOf(c)));
    }
    return [...new Set([...clicks.keys(), ...conv.keys()])].map((k) => ({
      key: k,
      ...figures(clicks.get(k) ?? ZERO_CLICKS, conv.get(k) ?? ZERO_CONV),
    }));
  };
  const productIds = [
    ...new Set([...posts.map((p) => p.productId), ...convRows.map((c) => c.productId).filter((x): x is string => !!x)]),
  ];
  const names = new Map(
    productIds.length
      ? (
          await db
            .select({ id: products.id, name: products.name })
            .from(products)
            .where(and(eq(products.workspaceId, ctx.workspaceId), inArray(products.id, productIds)))
        ).map((p) => [p.id, p.name])
      : [],
  );
  const byProduct = group(
    (p) => p.productId,
    (c) => c.productId,
  ).map(({ key, ...f }) => ({ productId: key, name: names.get(key) ?? '(deleted)', ...f }));
  const byPlatform = group(
    (p) => p.platform,
    (c) => c.platform,
  ).map(({ key, ...f }) => ({ platform: key, ...f }));

  const totalClicks = [...clicksOf.values()].reduce(add, ZERO_CLICKS);
  const totalConv = convRows.map(convOf).reduce(addConv, ZERO_CONV);
  let cost = Number(row.cost);
  let costNote: string | null = null;
  if (cost > 0 && row.costCurrency && row.costCurrency !== baseCurrency) {
    try {
      cost = r2(cost * (await rateFor(db, ctx.workspaceId, row.costCurrency, row.startsAt)).rate);
    } catch {
      costNote = `No ${row.costCurrency}→${baseCurrency} rate stored for the campaign's start; ROI is not computed`;
      cost = Number.NaN;
    }
  }
  const totals = figures(totalClicks, totalConv);
  const roi = Number.isFinite(cost) && cost > 0 ? r4((totals.commission - cost) / cost) : null;

  const groups = new Map<string, typeof byPost>();
  for (const p of byPost) {
    const g = posts.find((x) => x.linkId && x.postId === p.postId)?.variantGroup;
    if (g) groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  const abTests = [...groups.entries()].map(([g, ps]) => ({
    group: g,
    ...compareVariants(
      ps.map((p) => ({ variant: p.variant ?? p.itemKey, uniqueClicks: p.uniqueClicks, conversions: p.conversions })),
    ),
  }));

  return {
    campaign: { id: row.id, name: row.name, status: row.status },
    currency: baseCurrency,
    totals: { ...totals, cost: Number.isFinite(cost) ? cost : 0, roi, costNote },
    byPost,
    byProduct,
    byPlatform,
    abTests,
  };
}

/** One line per campaign: the totals of each, for lists and the agent. */
export async function campaignsOverview(deps: CampaignsDeps, ctx: ServiceContext) {
  requireRole(ctx, 'viewer');
  const rows = await dbOf(deps)
    .select({ id: schema.campaigns.id })
    .from(schema.campaigns)
    .where(eq(schema.campaigns.workspaceId, ctx.workspaceId))
    .limit(50);
  const out = [];
  for (const r of rows) {
    const rep = await campaignReport(deps, ctx, r.id);
    out.push({ ...rep.campaign, currency: rep.currency, ...rep.totals });
  }
  return out;
}

/** Each product's figures across every campaign: clicks on its campaign posts' links, its conversions. */
export async function productsReport(deps: CampaignsDeps, ctx: ServiceContext) {
  requireRole(ctx, 'viewer');
  const db = dbOf(deps);
  const { baseCurrency } = await settingsOf(db, ctx.workspaceId);
  const rows = await db
    .select({ id: products.id, name: products.name })
    .from(products)
    .where(eq(products.workspaceId, ctx.workspaceId))
    .limit(1000);
  const posts = await db
    .select({ productId: campaignPosts.productId, linkId: campaignPosts.linkId })
    .from(campaignPosts)
    .where(eq(campaignPosts.workspaceId, ctx.workspaceId));
  const clicksOf = new Map<string, ClickTotals>();
  const to = new Date(nowOf(deps).getTime() + 86_400_000);
  const from = new Date(to.getTime() - 365 * 86_400_000);
  for (let i = 0; i < posts.length; i += MAX_LINKS_PER_CALL) {
    const stats = await linkStats(deps.links, ctx, {
      linkIds: posts.slice(i, i + MAX_LINKS_PER_CALL).map((p) => p.linkId),
      from,
      to,
    });
    for (const s of stats.links) clicksOf.set(s.linkId, s);
  }
  const conv = (await db
    .select({
      productId: conversions.productId,
      n: sql<number>`count(*)::int`,
      revenue: sql<string>`coalesce(sum(${conversions.amountBase}), 0)`,
      commission: sql<string>`coalesce(sum(${conversions.commissionBase}), 0)`,
    })
    .from(conversions)
    .where(and(eq(conversions.workspaceId, ctx.workspaceId), ne(conversions.status, 'reversed')))
    .groupBy(conversions.productId)) as Array<{
    productId: string | null;
    n: number;
    revenue: string;
    commission: string;
  }>;
  return {
    currency: baseCurrency,
    from: from.toISOString(),
    to: to.toISOString(),
    products: rows.map((p) => {
      const clicks = posts
        .filter((x) => x.productId === p.id)
        .map((x) => clicksOf.get(x.linkId) ?? ZERO_CLICKS)
        .reduce(add, ZERO_CLICKS);
      const c = conv.find((x) => x.productId === p.id);
      return {
        productId: p.id,
        name: p.name,
        ...figures(
          { clicks: clicks.clicks, uniqueClicks: clicks.uniqueClicks, botClicks: clicks.botClicks },
          c ? { n: Number(c.n), revenue: Number(c.revenue), commission: Number(c.commission) } : ZERO_CONV,
        ),
      };
    }),
  };
}
