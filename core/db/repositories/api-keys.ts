/**
 * API keys: random 256-bit secrets shown once at creation, stored as a SHA-256 hash with a
 * short visible prefix. Resolving a key is the one lookup not scoped by a workspace id,
 * because the key is what tells us the workspace. It also reads the creator's current role
 * there: a key never acts with more than that, and not at all once they have left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { apiKeys, memberships, workspaces } from '../schema.js';
import type { Role } from './tenancy.js';

export type ApiKey = Omit<typeof apiKeys.$inferSelect, 'keyHash'>;

const KEY_PREFIX = 'hk_';

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const publicColumns = {
  id: apiKeys.id,
  workspaceId: apiKeys.workspaceId,
  createdBy: apiKeys.createdBy,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  scopes: apiKeys.scopes,
  lastUsedAt: apiKeys.lastUsedAt,
  expiresAt: apiKeys.expiresAt,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
};

export async function createApiKey(
  db: Db,
  workspaceId: string,
  input: { name: string; createdBy?: string; scopes?: string[]; expiresAt?: Date },
): Promise<{ key: ApiKey; secret: string }> {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  const [key] = await db
    .insert(apiKeys)
    .values({ ...input, workspaceId, prefix: secret.slice(0, KEY_PREFIX.length + 6), keyHash: hashApiKey(secret) })
    .returning(publicColumns);
  return { key: key!, secret };
}

/**
 * The active (not revoked, not expired) key with this secret, with its workspace and its
 * creator's current role there (null when the creator is gone or no longer a member).
 */
export async function resolveApiKey(
  db: Db,
  secret: string,
  now = new Date(),
): Promise<(ApiKey & { workspaceTimeZone: string; contentVersion: number; creatorRole: Role | null }) | undefined> {
  const [key] = await db
    .select({
      ...publicColumns,
      workspaceTimeZone: workspaces.timeZone,
      contentVersion: workspaces.contentVersion,
      creatorRole: memberships.role,
    })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .leftJoin(
      memberships,
      and(eq(memberships.workspaceId, apiKeys.workspaceId), eq(memberships.userId, apiKeys.createdBy)),
    )
    .where(
      and(
        eq(apiKeys.keyHash, hashApiKey(secret)),
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
      ),
    );
  return key;
}

export async function touchApiKey(db: Db, workspaceId: string, keyId: string, at = new Date()): Promise<void> {
  await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, keyId)));
}

export function listApiKeys(db: Db, workspaceId: string): Promise<ApiKey[]> {
  return db
    .select(publicColumns)
    .from(apiKeys)
    .where(eq(apiKeys.workspaceId, workspaceId))
    .orderBy(desc(apiKeys.createdAt));
}

/** Returns false when no key with that id exists in the workspace (or it was already revoked). */
export async function revokeApiKey(db: Db, workspaceId: string, keyId: string, at = new Date()): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${at})` })
    .where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/** Revokes every active key `userId` created in the workspace (they were removed from it); returns their ids. */
export async function revokeApiKeysOf(db: Db, workspaceId: string, userId: string, at = new Date()): Promise<string[]> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.createdBy, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.map((r) => r.id);
}
