/**
 * What Herald's OAuth authorization server keeps in the database: registered clients, grants
 * (a user's consent for a client to act in one workspace with some scopes, for one resource)
 * and their access and refresh tokens. Token values never reach the database, only their
 * SHA-256 hashes (they are 256-bit random, so a fast hash is enough). Rotating a refresh token
 * is one compare-and-set on `used_at`; a refresh token presented twice revokes its grant.
 */
import { randomBytes } from 'node:crypto';
import { and, desc, eq, gt, inArray, isNull, lt, notExists } from 'drizzle-orm';
import { hashToken, schema, type Db } from '../../../core/index.js';

const { oauthClients, oauthGrants, oauthTokens } = schema;

export type OAuthClient = typeof oauthClients.$inferSelect;
export type OAuthGrant = typeof oauthGrants.$inferSelect;

/** Token prefixes: `hoa_` access, `hor_` refresh, `hc_` client ids, `hac_` authorization codes. */
export const ACCESS_PREFIX = 'hoa_';
export const REFRESH_PREFIX = 'hor_';
export const random = (prefix: string): string => prefix + randomBytes(32).toString('base64url');

/** A registered client no user has consented to within this long is forgotten (it may register again). */
export const UNUSED_CLIENT_TTL_MS = 24 * 3_600_000;
/** Registrations forgotten per new registration at most (registration is rate limited, so this keeps up). */
const FORGET_PER_REGISTRATION = 100;

/**
 * Registers a client, and forgets up to 100 registrations older than a day that no user ever
 * consented to: anyone may register (RFC 7591), so without this the table only grows. A client
 * with a grant (even a revoked one) is kept: its grants and their history hang off it.
 */
export async function insertClient(
  db: Db,
  input: { clientName: string | null; redirectUris: string[] },
  now = new Date(),
): Promise<OAuthClient> {
  const stale = db
    .select({ id: oauthClients.id })
    .from(oauthClients)
    .where(
      and(
        lt(oauthClients.createdAt, new Date(now.getTime() - UNUSED_CLIENT_TTL_MS)),
        notExists(
          db.select({ one: oauthGrants.id }).from(oauthGrants).where(eq(oauthGrants.clientId, oauthClients.id)),
        ),
      ),
    )
    .limit(FORGET_PER_REGISTRATION);
  await db.delete(oauthClients).where(inArray(oauthClients.id, stale));
  const [row] = await db
    .insert(oauthClients)
    .values({ clientId: `hc_${randomBytes(16).toString('base64url')}`, ...input })
    .returning();
  return row!;
}

export async function findClient(db: Db, clientId: string): Promise<OAuthClient | undefined> {
  if (clientId.length > 100) return undefined;
  const [row] = await db.select().from(oauthClients).where(eq(oauthClients.clientId, clientId)).limit(1);
  return row;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  grantId: string;
}

async function insertPair(
  db: Db,
  grant: Pick<OAuthGrant, 'id' | 'workspaceId'>,
  ttl: { accessS: number; refreshS: number },
  now: Date,
): Promise<IssuedTokens> {
  const accessToken = random(ACCESS_PREFIX);
  const refreshToken = random(REFRESH_PREFIX);
  await db.insert(oauthTokens).values([
    {
      grantId: grant.id,
      workspaceId: grant.workspaceId,
      kind: 'access',
      tokenHash: hashToken(accessToken),
      expiresAt: new Date(now.getTime() + ttl.accessS * 1000),
    },
    {
      grantId: grant.id,
      workspaceId: grant.workspaceId,
      kind: 'refresh',
      tokenHash: hashToken(refreshToken),
      expiresAt: new Date(now.getTime() + ttl.refreshS * 1000),
    },
  ]);
  return { accessToken, refreshToken, grantId: grant.id };
}

/** A new grant and its first token pair, in one transaction. */
export async function createGrant(
  db: Db,
  input: {
    workspaceId: string;
    clientId: string;
    userId: string;
    sessionId: string;
    scopes: string[];
    resource: string;
  },
  ttl: { accessS: number; refreshS: number },
  now: Date,
): Promise<IssuedTokens> {
  return db.transaction(async (tx) => {
    const [grant] = await tx.insert(oauthGrants).values(input).returning();
    return insertPair(tx as unknown as Db, grant!, ttl, now);
  });
}

export type RefreshResult =
  | { kind: 'rotated'; grant: OAuthGrant; tokens: IssuedTokens }
  | { kind: 'reused'; grant: OAuthGrant }
  | { kind: 'invalid' };

/**
 * Uses a refresh token once: marks it used and issues the next pair. A token already used
 * means a copy exists somewhere: the caller revokes the grant.
 */
export async function rotateRefresh(
  db: Db,
  token: string,
  ttl: { accessS: number; refreshS: number },
  now: Date,
): Promise<RefreshResult> {
  if (!token.startsWith(REFRESH_PREFIX) || token.length > 100) return { kind: 'invalid' };
  const tokenHash = hashToken(token);
  const [row] = await db
    .select({ token: oauthTokens, grant: oauthGrants })
    .from(oauthTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokens.grantId))
    .where(and(eq(oauthTokens.tokenHash, tokenHash), eq(oauthTokens.kind, 'refresh')))
    .limit(1);
  if (!row || row.grant.revokedAt) return { kind: 'invalid' };
  if (row.token.usedAt) return { kind: 'reused', grant: row.grant };
  if (row.token.expiresAt <= now) return { kind: 'invalid' };
  return db.transaction(async (tx) => {
    const [used] = await tx
      .update(oauthTokens)
      .set({ usedAt: now })
      .where(and(eq(oauthTokens.id, row.token.id), isNull(oauthTokens.usedAt)))
      .returning({ id: oauthTokens.id });
    // Another request used it between our read and this write: a second use.
    if (!used) return { kind: 'reused', grant: row.grant } as const;
    const tokens = await insertPair(tx as unknown as Db, row.grant, ttl, now);
    return { kind: 'rotated', grant: row.grant, tokens } as const;
  });
}

/** The live grant an access token belongs to (unexpired token, grant not revoked). */
export async function grantOfAccessToken(db: Db, token: string, now: Date): Promise<OAuthGrant | undefined> {
  if (!token.startsWith(ACCESS_PREFIX) || token.length > 100) return undefined;
  const [row] = await db
    .select({ grant: oauthGrants })
    .from(oauthTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokens.grantId))
    .where(
      and(
        eq(oauthTokens.tokenHash, hashToken(token)),
        eq(oauthTokens.kind, 'access'),
        gt(oauthTokens.expiresAt, now),
        isNull(oauthGrants.revokedAt),
      ),
    )
    .limit(1);
  return row?.grant;
}

/** The grant a token (access or refresh) belongs to, live or not. */
export async function grantOfToken(db: Db, token: string): Promise<OAuthGrant | undefined> {
  if (token.length > 100) return undefined;
  const [row] = await db
    .select({ grant: oauthGrants })
    .from(oauthTokens)
    .innerJoin(oauthGrants, eq(oauthGrants.id, oauthTokens.grantId))
    .where(eq(oauthTokens.tokenHash, hashToken(token)))
    .limit(1);
  return row?.grant;
}

export async function touchGrant(db: Db, grantId: string, at: Date): Promise<void> {
  await db.update(oauthGrants).set({ lastUsedAt: at }).where(eq(oauthGrants.id, grantId));
}

/** Revokes a grant (and so every token of it); false when it was not live in this workspace. */
export async function revokeGrant(
  db: Db,
  workspaceId: string,
  grantId: string,
  reason: string,
  at: Date,
): Promise<boolean> {
  const rows = await db
    .update(oauthGrants)
    .set({ revokedAt: at, revokedReason: reason })
    .where(and(eq(oauthGrants.id, grantId), eq(oauthGrants.workspaceId, workspaceId), isNull(oauthGrants.revokedAt)))
    .returning({ id: oauthGrants.id });
  return rows.length > 0;
}

export interface GrantView {
  id: string;
  clientName: string | null;
  clientId: string;
  userId: string;
  scopes: string[];
  resource: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A workspace's grants, newest first (all members' when `userId` is null). */
export async function listGrants(db: Db, workspaceId: string, userId: string | null): Promise<GrantView[]> {
  return db
    .select({
      id: oauthGrants.id,
      clientName: oauthClients.clientName,
      clientId: oauthClients.clientId,
      userId: oauthGrants.userId,
      scopes: oauthGrants.scopes,
      resource: oauthGrants.resource,
      createdAt: oauthGrants.createdAt,
      lastUsedAt: oauthGrants.lastUsedAt,
      revokedAt: oauthGrants.revokedAt,
    })
    .from(oauthGrants)
    .innerJoin(oauthClients, eq(oauthClients.id, oauthGrants.clientId))
    .where(
      userId
        ? and(eq(oauthGrants.workspaceId, workspaceId), eq(oauthGrants.userId, userId))
        : eq(oauthGrants.workspaceId, workspaceId),
    )
    .orderBy(desc(oauthGrants.createdAt))
    .limit(200);
}

export async function findGrant(db: Db, workspaceId: string, grantId: string): Promise<OAuthGrant | undefined> {
  const [row] = await db
    .select()
    .from(oauthGrants)
    .where(and(eq(oauthGrants.id, grantId), eq(oauthGrants.workspaceId, workspaceId)))
    .limit(1);
  return row;
}
