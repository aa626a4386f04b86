/**
 * Currencies and campaign settings: the workspace's reporting currency, the exchange rates
 * it stores (units of the reporting currency per unit of another, each with its date), and
 * the disclosures affiliate posts carry. An amount is converted at the latest rate on or
 * before its own date, and that rate and date are kept beside it, so a report never changes
 * when a newer rate is stored.
 */
import { and, desc, eq, lte } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import { audit, currencyOf, dbOf, invalid, settingsOf, type CampaignsDeps, type ServiceContext } from './context.js';

const { exchangeRates, campaignSettings } = schema;

export interface Conversion {
  baseCurrency: string;
  rate: number;
  /** YYYY-MM-DD of the rate used. */
  rateDate: string;
}

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

/** The rate that converts `currency` into the reporting currency on `at`. */
export async function rateFor(db: Db, workspaceId: string, currency: string, at: Date): Promise<Conversion> {
  const { baseCurrency } = await settingsOf(db, workspaceId);
  if (currency === baseCurrency) return { baseCurrency, rate: 1, rateDate: dayOf(at) };
  const [row] = await db
    .select()
    .from(exchangeRates)
    .where(
      and(
        eq(exchangeRates.workspaceId, workspaceId),
        eq(exchangeRates.currency, currency),
        eq(exchangeRates.baseCurrency, baseCurrency),
        lte(exchangeRates.rateDate, dayOf(at)),
      ),
    )
    .orderBy(desc(exchangeRates.rateDate))
    .limit(1);
  if (!row)
    throw new HeraldError('exchange_rate_missing', {
      message: `No ${currency}→${baseCurrency} rate is stored on or before ${dayOf(at)}`,
      details: { currency, baseCurrency, date: dayOf(at) },
    });
  return { baseCurrency, rate: Number(row.rate), rateDate: row.rateDate };
}

/** Stores a rate (editor): 1 `currency` = `rate` reporting-currency units on `date`. */
export async function setRate(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: { currency: string; rate: number; date: string },
): Promise<{ currency: string; baseCurrency: string; rate: number; date: string }> {
  requireRole(ctx, 'editor');
  const db = dbOf(deps);
  const currency = currencyOf(input.currency);
  const rate = Number(input.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 1e9)
    throw invalid('rate must be a positive number', { rate: input.rate });
  if (typeof input.date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(input.date) || Number.isNaN(Date.parse(input.date)))
    throw invalid('date is YYYY-MM-DD', { date: input.date });
  const { baseCurrency } = await settingsOf(db, ctx.workspaceId);
  if (currency === baseCurrency) throw invalid(`${currency} is the reporting currency; it needs no rate`);
  await db
    .insert(exchangeRates)
    .values({ workspaceId: ctx.workspaceId, currency, baseCurrency, rateDate: input.date, rate: rate.toFixed(8) })
    .onConflictDoUpdate({
      target: [exchangeRates.workspaceId, exchangeRates.currency, exchangeRates.baseCurrency, exchangeRates.rateDate],
      set: { rate: rate.toFixed(8) },
    });
  await audit(
    deps,
    ctx,
    'campaign.rate',
    { type: 'exchange_rate', id: `${currency}/${baseCurrency}/${input.date}` },
    { rate },
  );
  return { currency, baseCurrency, rate, date: input.date };
}

export async function listRates(deps: CampaignsDeps, ctx: ServiceContext) {
  requireRole(ctx, 'viewer');
  const rows = await dbOf(deps)
    .select()
    .from(exchangeRates)
    .where(eq(exchangeRates.workspaceId, ctx.workspaceId))
    .orderBy(desc(exchangeRates.rateDate))
    .limit(500);
  return rows.map((r) => ({
    currency: r.currency,
    baseCurrency: r.baseCurrency,
    rate: Number(r.rate),
    date: r.rateDate,
  }));
}

export async function getCampaignSettings(deps: CampaignsDeps, ctx: ServiceContext) {
  requireRole(ctx, 'viewer');
  return settingsOf(dbOf(deps), ctx.workspaceId);
}

/** Sets the reporting currency and the accepted disclosures (admin; the first is the one Herald writes). */
export async function updateCampaignSettings(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: { baseCurrency?: string | undefined; disclosures?: string[] | undefined },
) {
  requireRole(ctx, 'admin');
  const db = dbOf(deps);
  const current = await settingsOf(db, ctx.workspaceId);
  const baseCurrency = input.baseCurrency ? currencyOf(input.baseCurrency, 'baseCurrency') : current.baseCurrency;
  const disclosures = input.disclosures ? input.disclosures.map((d) => d.trim()).filter(Boolean) : current.disclosures;
  if (disclosures.length === 0 || disclosures.length > 10 || disclosures.some((d) => d.length > 60))
    throw invalid('Give one to ten disclosures, each at most 60 characters (e.g. "#ad", "affiliate link")');
  await db
    .insert(campaignSettings)
    .values({ workspaceId: ctx.workspaceId, baseCurrency, disclosures })
    .onConflictDoUpdate({
      target: campaignSettings.workspaceId,
      set: { baseCurrency, disclosures, updatedAt: new Date() },
    });
  await audit(
    deps,
    ctx,
    'campaign.settings',
    { type: 'workspace', id: ctx.workspaceId },
    { baseCurrency, disclosures },
  );
  return { baseCurrency, disclosures };
}
