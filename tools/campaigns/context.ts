/**
 * What every campaigns service function receives: scheduling's dependencies (database,
 * connectors, queue, events, clock), the tracked links it creates for each post, the cipher
 * that seals programs' postback secrets, and the model that writes the content suite.
 */
import { and, eq } from 'drizzle-orm';
import { auditAs, HeraldError, schema, type Db, type SecretCipher } from '../../core/index.js';
import type { KnowledgeDeps } from '../../knowledge/index.js';
import type { TextWriter } from '../drafting/index.js';
import type { LinksDeps } from '../links/index.js';
import type { SchedulingDeps, ServiceContext } from '../scheduling/index.js';

export interface CampaignsDeps {
  scheduling: SchedulingDeps;
  links: LinksDeps;
  /** Seals and opens programs' postback secrets; unset, programs cannot be created. */
  cipher?: SecretCipher | undefined;
  /** The model router's text writer (content suite); unset, generation says it is unavailable. */
  write?: TextWriter | undefined;
  knowledge?: KnowledgeDeps | undefined;
  /** Product page fetches: deadline and size cap. */
  pageFetch?: { timeoutMs: number; maxBytes: number } | undefined;
}

export type { ServiceContext };

export const dbOf = (deps: CampaignsDeps): Db => deps.scheduling.db;
export const nowOf = (deps: CampaignsDeps) => (deps.scheduling.now ? deps.scheduling.now() : new Date());

export const audit = (
  deps: CampaignsDeps,
  ctx: ServiceContext,
  action: string,
  subject: { type: string; id: string },
  details: Record<string, unknown> = {},
) => auditAs(dbOf(deps), ctx, action, subject, details);

export const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new HeraldError('validation_failed', { message, details });

export const notFound = (what: string, id: string) =>
  new HeraldError('not_found', { message: `No ${what} ${id} in this workspace`, details: { id } });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/** ISO 4217 code, upper-cased; anything else is refused. */
export function currencyOf(v: unknown, field = 'currency'): string {
  if (typeof v !== 'string' || !/^[A-Za-z]{3}$/.test(v.trim()))
    throw invalid(`${field} must be a three-letter currency code (ISO 4217), e.g. USD`, { [field]: v });
  return v.trim().toUpperCase();
}

/** The workspace's campaign settings, with defaults when none are stored. */
export async function settingsOf(
  db: Db,
  workspaceId: string,
): Promise<{ baseCurrency: string; disclosures: string[] }> {
  const [row] = await db
    .select()
    .from(schema.campaignSettings)
    .where(eq(schema.campaignSettings.workspaceId, workspaceId));
  return { baseCurrency: row?.baseCurrency ?? 'USD', disclosures: row?.disclosures ?? ['#ad'] };
}

export const scopedProduct = (workspaceId: string, id: string) =>
  and(eq(schema.products.workspaceId, workspaceId), eq(schema.products.id, id));
