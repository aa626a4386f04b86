/**
 * Connected platform accounts. Credentials are sealed with the SecretCipher, bound to the
 * account's workspace and id, and only leave this module decrypted through `readCredentials`.
 * Reconnecting the same platform account updates the existing row instead of adding another.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, getTableColumns, gt, ne, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { socialAccounts } from '../schema.js';
import type { SecretCipher } from '../../crypto/secret-cipher.js';

type Row = typeof socialAccounts.$inferSelect;
export type SocialAccount = Omit<Row, 'credentialsCiphertext'>;
export type AccountStatus = Row['status'];
/** Whatever a connector needs to act as the account; shape is the connector's business. */
export type Credentials = Record<string, unknown>;

const aad = (workspaceId: string, accountId: string) => `herald/social_account/${workspaceId}/${accountId}`;

// Everything but the ciphertext: sealed credentials never leave this module in a row.
const { credentialsCiphertext: _sealed, ...publicColumns } = getTableColumns(socialAccounts);

export interface UpsertSocialAccount {
  platform: string;
  externalId: string;
  handle: string;
  displayName?: string | null;
  avatarUrl?: string | null;
  credentials: Credentials;
  tokenExpiresAt?: Date | null;
  scopes?: string[];
  metadata?: Record<string, unknown>;
}

/** Inserts the account, or — when (platform, externalId) is already connected here — refreshes it. */
export async function upsertSocialAccount(
  db: Db,
  cipher: SecretCipher,
  workspaceId: string,
  input: UpsertSocialAccount,
): Promise<SocialAccount> {
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: socialAccounts.id })
      .from(socialAccounts)
      .where(
        and(
          eq(socialAccounts.workspaceId, workspaceId),
          eq(socialAccounts.platform, input.platform),
          eq(socialAccounts.externalId, input.externalId),
        ),
      )
      .for('update');
    const id = existing?.id ?? randomUUID();
    const sealed = cipher.seal(JSON.stringify(input.credentials), aad(workspaceId, id));
    const values = {
      handle: input.handle,
      displayName: input.displayName ?? null,
      avatarUrl: input.avatarUrl ?? null,
      credentialsCiphertext: sealed.ciphertext,
      credentialsKeyId: sealed.keyId,
      tokenExpiresAt: input.tokenExpiresAt ?? null,
      scopes: input.scopes ?? [],
      metadata: input.metadata ?? {},
      status: 'active' as const,
      updatedAt: new Date(),
    };
    if (existing) {
      const [row] = await tx
        .update(socialAccounts)
        .set(values)
        .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, id)))
        .returning(publicColumns);
      return row!;
    }
    const [row] = await tx
      .insert(socialAccounts)
      .values({ ...values, id, workspaceId, platform: input.platform, externalId: input.externalId })
      .returning(publicColumns);
    return row!;
  });
}

export async function getSocialAccount(
  db: Db,
  workspaceId: string,
  accountId: string,
): Promise<SocialAccount | undefined> {
  const [row] = await db
    .select(publicColumns)
    .from(socialAccounts)
    .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, accountId)));
  return row;
}

export function listSocialAccounts(
  db: Db,
  workspaceId: string,
  opts: { includeDisconnected?: boolean } = {},
): Promise<SocialAccount[]> {
  return db
    .select(publicColumns)
    .from(socialAccounts)
    .where(
      and(
        eq(socialAccounts.workspaceId, workspaceId),
        opts.includeDisconnected ? undefined : ne(socialAccounts.status, 'disconnected'),
      ),
    )
    .orderBy(socialAccounts.platform, socialAccounts.handle);
}

/** Decrypted credentials, or undefined when the account is not in this workspace. */
export async function readCredentials(
  db: Db,
  cipher: SecretCipher,
  workspaceId: string,
  accountId: string,
): Promise<Credentials | undefined> {
  const [row] = await db
    .select({ ciphertext: socialAccounts.credentialsCiphertext, keyId: socialAccounts.credentialsKeyId })
    .from(socialAccounts)
    .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, accountId)));
  if (!row) return undefined;
  return JSON.parse(
    cipher.open({ keyId: row.keyId, ciphertext: row.ciphertext }, aad(workspaceId, accountId)),
  ) as Credentials;
}

/** Replaces the credentials after a token refresh. */
export async function writeCredentials(
  db: Db,
  cipher: SecretCipher,
  workspaceId: string,
  accountId: string,
  credentials: Credentials,
  tokenExpiresAt: Date | null,
): Promise<boolean> {
  const sealed = cipher.seal(JSON.stringify(credentials), aad(workspaceId, accountId));
  const rows = await db
    .update(socialAccounts)
    .set({
      credentialsCiphertext: sealed.ciphertext,
      credentialsKeyId: sealed.keyId,
      tokenExpiresAt,
      updatedAt: new Date(),
    })
    .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, accountId)))
    .returning({ id: socialAccounts.id });
  return rows.length > 0;
}

export async function setSocialAccountStatus(
  db: Db,
  workspaceId: string,
  accountId: string,
  status: AccountStatus,
): Promise<boolean> {
  const rows = await db
    .update(socialAccounts)
    .set({ status, updatedAt: new Date() })
    .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, accountId)))
    .returning({ id: socialAccounts.id });
  return rows.length > 0;
}

export interface RotationReport {
  rotated: number;
  /** Rows that could not be decrypted (unknown key, tampered): left as they are. */
  failed: Array<{ workspaceId: string; accountId: string; code: string }>;
}

/**
 * Re-encrypts with the active key every account sealed with an older key, `batch` rows per
 * transaction, walking ids in order so an unreadable row is reported once and never blocks
 * the rest. This is the operator's key rotation, so it spans all workspaces.
 */
export async function rotateCredentialKeys(
  db: Db,
  cipher: SecretCipher,
  opts: { batch?: number } = {},
): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, failed: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await db.transaction(async (tx) => {
      const batch = await tx
        .select({
          id: socialAccounts.id,
          workspaceId: socialAccounts.workspaceId,
          ciphertext: socialAccounts.credentialsCiphertext,
          keyId: socialAccounts.credentialsKeyId,
        })
        .from(socialAccounts)
        .where(and(ne(socialAccounts.credentialsKeyId, cipher.activeKeyId), gt(socialAccounts.id, after)))
        .orderBy(socialAccounts.id)
        .limit(opts.batch ?? 100)
        .for('update', { skipLocked: true });
      for (const row of batch) {
        let sealed;
        try {
          sealed = cipher.reseal({ keyId: row.keyId, ciphertext: row.ciphertext }, aad(row.workspaceId, row.id));
        } catch (err) {
          report.failed.push({
            workspaceId: row.workspaceId,
            accountId: row.id,
            code: (err as { code?: string }).code ?? 'internal',
          });
          continue;
        }
        await tx
          .update(socialAccounts)
          .set({ credentialsCiphertext: sealed.ciphertext, credentialsKeyId: sealed.keyId })
          .where(eq(socialAccounts.id, row.id));
        report.rotated++;
      }
      return batch;
    });
    if (rows.length === 0) return report;
    after = rows[rows.length - 1]!.id;
  }
}

export async function countByKeyId(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .select({ keyId: socialAccounts.credentialsKeyId, n: sql<number>`count(*)::int` })
    .from(socialAccounts)
    .groupBy(socialAccounts.credentialsKeyId);
  return Object.fromEntries(rows.map((r) => [r.keyId, r.n]));
}

/** The account and its decrypted credentials in one round trip (the publishing worker's read). */
export async function getAccountWithCredentials(
  db: Db,
  cipher: SecretCipher,
  workspaceId: string,
  accountId: string,
): Promise<{ account: SocialAccount; credentials: Credentials } | undefined> {
  const [row] = await db
    .select()
    .from(socialAccounts)
    .where(and(eq(socialAccounts.workspaceId, workspaceId), eq(socialAccounts.id, accountId)));
  if (!row) return undefined;
  const { credentialsCiphertext, ...account } = row;
  const credentials = JSON.parse(
    cipher.open({ keyId: row.credentialsKeyId, ciphertext: credentialsCiphertext }, aad(workspaceId, accountId)),
  ) as Credentials;
  return { account, credentials };
}
