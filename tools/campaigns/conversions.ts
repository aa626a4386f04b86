/**
 * Conversions: reported by a network's postback (HMAC-SHA256 of the raw body under the
 * program's secret, checked before anything is read), imported from a network's CSV report,
 * or entered by hand. Each is attributed through its sub id — a tracked link's code, or the
 * `utm_content` Herald put on a campaign post's link — to link → post → campaign → product,
 * converted into the reporting currency at the stored rate of its date, and stored once per
 * program and transaction id: a replayed postback or a re-imported report adds nothing.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { and, eq } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type SecretCipher } from '../../core/index.js';
import { resolveClickContext } from '../links/index.js';
import { audit, currencyOf, dbOf, invalid, isUuid, type CampaignsDeps, type ServiceContext } from './context.js';
import { rateFor } from './money.js';
import { parsePrice } from './products.js';
import { commissionFor, programForPostback, programRow, programSecret, type ProgramRow } from './programs.js';

const { conversions, campaignPosts, trackedLinks, campaigns, products } = schema;

export type ConversionStatus = 'approved' | 'pending' | 'reversed';
const STATUSES: readonly ConversionStatus[] = ['approved', 'pending', 'reversed'];

/**
 * The status changes a network may report for a stored conversion. A reversal is final: a
 * late or replayed "approved" (or "pending") after it, or an old report imported again, must
 * not bring the commission back, nor may "pending" undo an approval.
 */
export const CONVERSION_TRANSITIONS: Readonly<Record<ConversionStatus, readonly ConversionStatus[]>> = {
  pending: ['approved', 'reversed'],
  approved: ['reversed'],
  reversed: [],
};

export interface ConversionInput {
  transactionId?: string | undefined;
  /** A tracked link's code, or the `utm_content` of a campaign post's link (`hc-<campaign>-<item>`). */
  subId?: string | null | undefined;
  amount?: number | string | undefined;
  /** Omitted: computed from the program's rule. */
  commission?: number | string | undefined;
  currency?: string | undefined;
  status?: string | undefined;
  occurredAt?: string | Date | undefined;
  /** Manual entry only: attribute directly. */
  campaignId?: string | undefined;
  productId?: string | undefined;
}

export interface RecordedConversion {
  id: string;
  /** Already stored as it is: nothing changed. */
  duplicate: boolean;
  /** Already stored with another status, which this one replaced (a reversal, an approval). */
  updated: boolean;
  /**
   * Already stored with a status this one may not replace (`CONVERSION_TRANSITIONS`: an
   * approval after a reversal, pending after approved): kept as it is, and audited.
   */
  ignored: boolean;
  status: ConversionStatus;
  transactionId: string;
  campaignId: string | null;
  productId: string | null;
  postId: string | null;
  platform: string | null;
  amount: number;
  commission: number;
  currency: string;
  commissionBase: number;
  baseCurrency: string;
  rate: number;
  rateDate: string;
}

/** `utm_content` of a campaign post's link: names the campaign and timeline item. */
export const itemSubId = (campaignId: string, itemKey: string) => `hc-${campaignId}-${itemKey}`;
const ITEM_SUB_ID = /^hc-([0-9a-f-]{36})-(i\d+)(?:-[A-Za-z0-9]+)?$/i;

interface Attribution {
  linkId: string | null;
  postId: string | null;
  targetId: string | null;
  campaignId: string | null;
  productId: string | null;
  platform: string | null;
  variant: string | null;
}

const NONE: Attribution = {
  linkId: null,
  postId: null,
  targetId: null,
  campaignId: null,
  productId: null,
  platform: null,
  variant: null,
};

/** click → post → campaign → product, from the sub id the network echoed. */
async function attribute(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  subId: string | null | undefined,
): Promise<Attribution> {
  const db = dbOf(deps);
  const s = subId?.trim();
  if (!s) return NONE;
  const item = ITEM_SUB_ID.exec(s);
  if (item) {
    const [p] = await db
      .select()
      .from(campaignPosts)
      .where(
        and(
          eq(campaignPosts.workspaceId, ctx.workspaceId),
          eq(campaignPosts.campaignId, item[1]!.toLowerCase()),
          eq(campaignPosts.itemKey, item[2]!),
        ),
      );
    return p
      ? {
          linkId: p.linkId,
          postId: p.postId,
          targetId: p.targetId,
          campaignId: p.campaignId,
          productId: p.productId,
          platform: p.platform,
          variant: p.variant,
        }
      : NONE;
  }
  const [link] = await db
    .select({ id: trackedLinks.id })
    .from(trackedLinks)
    .where(and(eq(trackedLinks.workspaceId, ctx.workspaceId), eq(trackedLinks.code, s)));
  if (!link) return NONE;
  const c = await resolveClickContext({ db }, ctx, link.id);
  return {
    linkId: c.linkId,
    postId: c.postId,
    targetId: c.targetId,
    campaignId: c.campaignId,
    productId: c.productId,
    platform: c.platform,
    variant: c.variant,
  };
}

function amountOf(v: unknown, field: string): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'number' ? v : parsePrice(String(v));
  if (!Number.isFinite(n) || Math.abs(n) >= 1e12) throw invalid(`${field} must be an amount`, { [field]: v });
  return n;
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** Stores one conversion (or finds it already stored). */
async function record(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  source: 'postback' | 'csv' | 'manual',
  program: ProgramRow | null,
  input: ConversionInput,
): Promise<RecordedConversion> {
  const db = dbOf(deps);
  const transactionId = (input.transactionId ?? (source === 'manual' ? randomUUID() : '')).toString().trim();
  if (!transactionId || transactionId.length > 200) throw invalid('transactionId is required (at most 200 characters)');
  const status = (input.status ?? 'approved').toLowerCase() as ConversionStatus;
  if (!STATUSES.includes(status)) throw invalid(`status is one of ${STATUSES.join(', ')}`, { status: input.status });
  const occurredAt = input.occurredAt ? new Date(input.occurredAt) : new Date();
  if (Number.isNaN(occurredAt.getTime()))
    throw invalid('occurredAt is not an instant', { occurredAt: input.occurredAt });
  const currency = input.currency ? currencyOf(input.currency) : program?.payoutCurrency;
  if (!currency) throw invalid('currency is required without a program');
  const amount = amountOf(input.amount, 'amount') ?? 0;
  const given = amountOf(input.commission, 'commission');
  const commission = given ?? (program ? commissionFor(program, amount) : null);
  if (commission === null) throw invalid('commission is required without a program to compute it from');
  let att = await attribute(deps, ctx, input.subId);
  if (source === 'manual' && !att.campaignId && (input.campaignId || input.productId)) {
    const campaignId = input.campaignId && isUuid(input.campaignId) ? input.campaignId : null;
    const productId = input.productId && isUuid(input.productId) ? input.productId : null;
    if (
      campaignId &&
      !(
        await db
          .select({ id: campaigns.id })
          .from(campaigns)
          .where(and(eq(campaigns.workspaceId, ctx.workspaceId), eq(campaigns.id, campaignId)))
      ).length
    )
      throw new HeraldError('not_found', { message: `No campaign ${campaignId} in this workspace` });
    if (
      productId &&
      !(
        await db
          .select({ id: products.id })
          .from(products)
          .where(and(eq(products.workspaceId, ctx.workspaceId), eq(products.id, productId)))
      ).length
    )
      throw new HeraldError('not_found', { message: `No product ${productId} in this workspace` });
    att = { ...NONE, campaignId, productId };
  }
  const rate = await rateFor(db, ctx.workspaceId, currency, occurredAt);
  const values = {
    workspaceId: ctx.workspaceId,
    programKey: program?.id ?? '',
    transactionId,
    source,
    status,
    programId: program?.id ?? null,
    ...att,
    amount: amount.toFixed(2),
    commission: commission.toFixed(4),
    currency,
    baseCurrency: rate.baseCurrency,
    rate: rate.rate.toFixed(8),
    rateDate: rate.rateDate,
    amountBase: round(amount * rate.rate, 2).toFixed(2),
    commissionBase: round(commission * rate.rate, 4).toFixed(4),
    occurredAt,
  };
  const [inserted] = await db.insert(conversions).values(values).onConflictDoNothing().returning();
  const key = and(
    eq(conversions.workspaceId, ctx.workspaceId),
    eq(conversions.programKey, values.programKey),
    eq(conversions.transactionId, transactionId),
  );
  let row = inserted ?? (await db.select().from(conversions).where(key))[0]!;
  // The same transaction with another status (a network reversing or approving it) is a new
  // fact: only the status changes, and only forward (CONVERSION_TRANSITIONS). The same status
  // again is a replay and changes nothing; a move the table refuses (an approval arriving
  // after the reversal) is recorded as ignored — answered like a replay, so the network does
  // not retry it forever.
  let updated = false;
  let ignored = false;
  while (!inserted && row.status !== status) {
    const from = row.status as ConversionStatus;
    if (!CONVERSION_TRANSITIONS[from].includes(status)) {
      await audit(
        deps,
        ctx,
        'conversion.status_ignored',
        { type: 'conversion', id: row.id },
        { from, to: status, source },
      );
      ignored = true;
      break;
    }
    // Compare-and-set on the status read: a change meanwhile is read again and judged anew.
    const [changed] = await db
      .update(conversions)
      .set({ status })
      .where(and(key, eq(conversions.status, from)))
      .returning();
    if (!changed) {
      row = (await db.select().from(conversions).where(key))[0]!;
      continue;
    }
    await audit(deps, ctx, 'conversion.status', { type: 'conversion', id: row.id }, { from, to: status });
    row = changed;
    updated = true;
  }
  if (inserted)
    await audit(
      deps,
      ctx,
      `conversion.${source}`,
      { type: 'conversion', id: row.id },
      { transactionId, campaignId: row.campaignId },
    );
  return {
    id: row.id,
    duplicate: !inserted && !updated && !ignored,
    updated,
    ignored,
    status: row.status as ConversionStatus,
    transactionId,
    campaignId: row.campaignId,
    productId: row.productId,
    postId: row.postId,
    platform: row.platform,
    amount: Number(row.amount),
    commission: Number(row.commission),
    currency: row.currency,
    commissionBase: Number(row.commissionBase),
    baseCurrency: row.baseCurrency,
    rate: Number(row.rate),
    rateDate: row.rateDate,
  };
}

/** `sha256=<hex>` of the body under the secret: what a network sends in `X-Herald-Signature`. */
export const signPostback = (secret: string, rawBody: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;

function signatureMatches(expected: string, given: string | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given.trim());
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A network's postback: the signature is checked on the raw body before it is parsed; the
 * program (`?program=`) names the workspace. Replays of one transaction id add nothing.
 */
export async function receivePostback(
  deps: { db: Db; cipher: SecretCipher; campaigns: CampaignsDeps },
  req: { programId: string | undefined; signature: string | undefined; rawBody: string },
): Promise<RecordedConversion> {
  const program = req.programId ? await programForPostback(deps.db, req.programId) : null;
  const forged = () =>
    new HeraldError('postback_signature_invalid', {
      message: 'The postback names no known program, or its signature does not match',
    });
  if (!program) throw forged();
  if (!signatureMatches(signPostback(programSecret(deps.cipher, program), req.rawBody), req.signature)) throw forged();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(req.rawBody) as Record<string, unknown>;
  } catch {
    throw new HeraldError('malformed_json');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('The postback body is a JSON object');
  const ctx: ServiceContext = {
    workspaceId: program.workspaceId,
    userId: null,
    role: 'editor',
    timeZone: 'UTC',
    channel: 'postback',
    actorKind: 'system',
  };
  const str = (k: string) => (typeof body[k] === 'string' || typeof body[k] === 'number' ? String(body[k]) : undefined);
  return record(deps.campaigns, ctx, 'postback', program, {
    transactionId: str('transactionId') ?? str('transaction_id'),
    subId: str('subId') ?? str('sub_id'),
    amount: str('amount'),
    commission: str('commission'),
    currency: str('currency'),
    status: str('status'),
    occurredAt: str('occurredAt') ?? str('occurred_at'),
  });
}

/** Enters a conversion by hand (editor). */
export async function addConversion(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: ConversionInput & { programId?: string | undefined },
) {
  requireRole(ctx, 'editor');
  const program = input.programId ? await programRow(dbOf(deps), ctx.workspaceId, input.programId) : null;
  return record(deps, ctx, 'manual', program, input);
}

const REPORT_COLUMNS: Record<keyof ConversionInput, RegExp> = {
  transactionId: /^(transaction[ _-]?id|order[ _-]?id|action[ _-]?id|tx[ _-]?id|id)$/i,
  subId: /^(sub[ _-]?id\d?|subid\d?|click[ _-]?ref|sid|sub[ _-]?tag|utm[ _-]?content)$/i,
  amount: /^(amount|sale[ _-]?amount|order[ _-]?(amount|value)|revenue)$/i,
  commission: /^(commission|payout|earnings)$/i,
  currency: /^(currency|currency[ _-]?code)$/i,
  status: /^(status|state)$/i,
  occurredAt: /^(date|occurred[ _-]?at|event[ _-]?date|action[ _-]?date|transaction[ _-]?date)$/i,
  campaignId: /^$/,
  productId: /^$/,
};

/** Imports a network's report (CSV, one conversion per row) for a program (editor). */
export async function importConversionsCsv(deps: CampaignsDeps, ctx: ServiceContext, programId: string, csv: string) {
  requireRole(ctx, 'editor');
  const program = await programRow(dbOf(deps), ctx.workspaceId, programId);
  let records: string[][];
  try {
    records = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (cause) {
    throw new HeraldError('csv_invalid', { message: `The CSV cannot be read: ${(cause as Error).message}`, cause });
  }
  const [header, ...rows] = records;
  if (!header || rows.length === 0)
    throw new HeraldError('csv_invalid', { message: 'The report needs a header row and at least one conversion' });
  if (rows.length > 10_000) throw new HeraldError('csv_invalid', { message: 'At most 10,000 rows per import' });
  const col = Object.fromEntries(
    Object.entries(REPORT_COLUMNS).map(([k, re]) => [k, header.findIndex((h) => re.test(h))]),
  ) as Record<keyof ConversionInput, number>;
  if (col.transactionId < 0)
    throw new HeraldError('csv_invalid', {
      message: 'The report has no transaction id column',
      details: { columns: header },
    });
  let added = 0;
  let duplicates = 0;
  /** Rows whose status may not replace the stored one (an old report after a reversal). */
  let ignored = 0;
  const problems: Array<{ row: number; message: string }> = [];
  for (const [i, r] of rows.entries()) {
    const at = (k: keyof ConversionInput) => (col[k] >= 0 ? r[col[k]] || undefined : undefined);
    try {
      const c = await record(deps, ctx, 'csv', program, {
        transactionId: at('transactionId'),
        subId: at('subId'),
        amount: at('amount'),
        commission: at('commission'),
        currency: at('currency'),
        status: at('status'),
        occurredAt: at('occurredAt'),
      });
      if (c.duplicate) duplicates++;
      else if (c.ignored) ignored++;
      else added++;
    } catch (err) {
      if (!(err instanceof HeraldError)) throw err;
      problems.push({ row: i + 2, message: err.message });
    }
  }
  return { added, duplicates, ignored, problems };
}
