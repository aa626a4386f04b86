/**
 * Affiliate programs: a network (Impact, CJ, Awin...) or a direct program, with its
 * commission rule (percent of the sale or a flat amount per conversion), cookie window and
 * payout currency. Each program has its own postback secret, sealed at rest and shown only
 * to admins, that the network signs postbacks with (`postback.ts`).
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type SecretCipher } from '../../core/index.js';
import {
  audit,
  currencyOf,
  dbOf,
  invalid,
  isUuid,
  notFound,
  type CampaignsDeps,
  type ServiceContext,
} from './context.js';

const { affiliatePrograms } = schema;

export interface ProgramInput {
  name: string;
  kind: 'network' | 'direct';
  network?: string | null | undefined;
  commissionType: 'percent' | 'flat';
  commissionValue: number;
  cookieDays?: number | undefined;
  payoutCurrency: string;
}

export interface ProgramView {
  id: string;
  name: string;
  kind: string;
  network: string | null;
  commissionType: 'percent' | 'flat';
  commissionValue: number;
  cookieDays: number;
  payoutCurrency: string;
  /** Where the network sends conversions (`?program=` names this program). */
  postbackPath: string;
  createdAt: string;
}

export type ProgramRow = typeof affiliatePrograms.$inferSelect;

const aad = (workspaceId: string, id: string) => `workspace:${workspaceId}/affiliate_program:${id}`;

export function viewOfProgram(r: ProgramRow): ProgramView {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    network: r.network,
    commissionType: r.commissionType as 'percent' | 'flat',
    commissionValue: Number(r.commissionValue),
    cookieDays: r.cookieDays,
    payoutCurrency: r.payoutCurrency,
    postbackPath: `/v1/campaigns/postback?program=${r.id}`,
    createdAt: r.createdAt.toISOString(),
  };
}

function cipherOf(deps: CampaignsDeps): SecretCipher {
  if (!deps.cipher)
    throw new HeraldError('internal', { message: 'Programs need the secret cipher, which is not configured here' });
  return deps.cipher;
}

function cleanProgram(input: ProgramInput) {
  const name = input.name?.trim();
  if (!name || name.length > 200) throw invalid('A program needs a name (at most 200 characters)');
  if (input.kind !== 'network' && input.kind !== 'direct') throw invalid('kind is network or direct');
  if (input.commissionType !== 'percent' && input.commissionType !== 'flat')
    throw invalid('commissionType is percent or flat');
  const v = Number(input.commissionValue);
  if (!Number.isFinite(v) || v < 0 || (input.commissionType === 'percent' && v > 100))
    throw invalid('commissionValue is a percentage (0–100) or a flat amount (≥ 0)', {
      commissionValue: input.commissionValue,
    });
  const cookieDays = input.cookieDays ?? 30;
  if (!Number.isInteger(cookieDays) || cookieDays < 0 || cookieDays > 3650)
    throw invalid('cookieDays is a whole number of days, 0–3650');
  return {
    name,
    kind: input.kind,
    network: input.network?.trim() || null,
    commissionType: input.commissionType,
    commissionValue: v.toFixed(4),
    cookieDays,
    payoutCurrency: currencyOf(input.payoutCurrency, 'payoutCurrency'),
  };
}

/** Creates a program (admin: it makes a secret). The postback secret is returned once, here. */
export async function createProgram(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: ProgramInput,
): Promise<ProgramView & { postbackSecret: string }> {
  requireRole(ctx, 'admin');
  const db = dbOf(deps);
  const values = cleanProgram(input);
  const secret = randomBytes(32).toString('base64url');
  const id = crypto.randomUUID();
  const sealed = cipherOf(deps).seal(secret, aad(ctx.workspaceId, id));
  let row: ProgramRow;
  try {
    [row] = (await db
      .insert(affiliatePrograms)
      .values({
        id,
        workspaceId: ctx.workspaceId,
        ...values,
        postbackSecretCiphertext: sealed.ciphertext,
        postbackSecretKeyId: sealed.keyId,
      })
      .returning()) as [ProgramRow];
  } catch (err) {
    const code =
      (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (code === '23505')
      throw new HeraldError('conflict', { message: `A program named "${values.name}" already exists` });
    throw err;
  }
  await audit(deps, ctx, 'program.create', { type: 'affiliate_program', id }, { name: values.name });
  return { ...viewOfProgram(row), postbackSecret: secret };
}

export async function listPrograms(deps: CampaignsDeps, ctx: ServiceContext): Promise<ProgramView[]> {
  requireRole(ctx, 'viewer');
  const rows = await dbOf(deps)
    .select()
    .from(affiliatePrograms)
    .where(eq(affiliatePrograms.workspaceId, ctx.workspaceId))
    .orderBy(asc(affiliatePrograms.name));
  return rows.map(viewOfProgram);
}

export async function programRow(db: Db, workspaceId: string, id: string): Promise<ProgramRow> {
  if (!isUuid(id)) throw notFound('affiliate program', String(id));
  const [row] = await db
    .select()
    .from(affiliatePrograms)
    .where(and(eq(affiliatePrograms.workspaceId, workspaceId), eq(affiliatePrograms.id, id)));
  if (!row) throw notFound('affiliate program', id);
  return row;
}

/** The program a postback names, across workspaces (the postback carries no session). */
export async function programForPostback(db: Db, id: string): Promise<ProgramRow | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(affiliatePrograms).where(eq(affiliatePrograms.id, id));
  return row ?? null;
}

export function programSecret(cipher: SecretCipher, row: ProgramRow): string {
  return cipher.open(
    { keyId: row.postbackSecretKeyId, ciphertext: row.postbackSecretCiphertext },
    aad(row.workspaceId, row.id),
  );
}

/** A new postback secret (admin); the old one stops working at once. */
export async function rotatePostbackSecret(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  id: string,
): Promise<{ postbackSecret: string }> {
  requireRole(ctx, 'admin');
  const db = dbOf(deps);
  await programRow(db, ctx.workspaceId, id);
  const secret = randomBytes(32).toString('base64url');
  const sealed = cipherOf(deps).seal(secret, aad(ctx.workspaceId, id));
  await db
    .update(affiliatePrograms)
    .set({ postbackSecretCiphertext: sealed.ciphertext, postbackSecretKeyId: sealed.keyId, updatedAt: new Date() })
    .where(and(eq(affiliatePrograms.workspaceId, ctx.workspaceId), eq(affiliatePrograms.id, id)));
  await audit(deps, ctx, 'program.rotate_secret', { type: 'affiliate_program', id });
  return { postbackSecret: secret };
}

/** The commission a sale earns under the program's rule. */
export function commissionFor(program: Pick<ProgramRow, 'commissionType' | 'commissionValue'>, amount: number): number {
  const v = Number(program.commissionValue);
  return program.commissionType === 'percent' ? Math.round(amount * v * 100) / 10_000 : v;
}
