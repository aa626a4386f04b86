/**
 * Sessions, refresh tokens, invitations and the per-request principal lookup. Token values
 * never reach the database: only their SHA-256 hashes do (they are 256-bit random, so a fast
 * hash is enough). Rotating a refresh token is one compare-and-set on `used_at`, so two
 * concurrent refreshes with the same token cannot both succeed.
 */
import { createHash } from 'node:crypto';
import { and, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { perDatabase, type Db } from '../client.js';
import { invitations, memberships, refreshTokens, sessions, users, workspaces } from '../schema.js';
import type { Role } from './tenancy.js';

export const hashToken = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export type Session = typeof sessions.$inferSelect;
export type Invitation = Omit<typeof invitations.$inferSelect, 'tokenHash'>;

export async function createSession(db: Db, userId: string, userAgent: string | null): Promise<Session> {
  const [row] = await db.insert(sessions).values({ userId, userAgent }).returning();
  return row!;
}

export async function insertRefreshToken(
  db: Db,
  input: { sessionId: string; workspaceId: string; token: string; expiresAt: Date },
): Promise<void> {
  await db.insert(refreshTokens).values({
    sessionId: input.sessionId,
    workspaceId: input.workspaceId,
    tokenHash: hashToken(input.token),
    expiresAt: input.expiresAt,
  });
}

export type RefreshOutcome =
  | { kind: 'rotated'; sessionId: string; userId: string; workspaceId: string }
  | { kind: 'reused'; sessionId: string; userId: string; workspaceId: string }
  | { kind: 'invalid' };

/**
 * Marks a refresh token used. A token already used means someone holds a copy: the caller
 * revokes the session. Expired tokens and tokens of revoked sessions are simply invalid.
 */
export async function consumeRefreshToken(db: Db, token: string, now = new Date()): Promise<RefreshOutcome> {
  const tokenHash = hashToken(token);
  const [used] = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt), gt(refreshTokens.expiresAt, now)))
    .returning({ sessionId: refreshTokens.sessionId, workspaceId: refreshTokens.workspaceId });
  const [row] = await db
    .select({
      sessionId: sessions.id,
      userId: sessions.userId,
      revokedAt: sessions.revokedAt,
      usedAt: refreshTokens.usedAt,
      workspaceId: refreshTokens.workspaceId,
    })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, tokenHash));
  if (!row || row.revokedAt) return { kind: 'invalid' };
  if (used) return { kind: 'rotated', sessionId: row.sessionId, userId: row.userId, workspaceId: used.workspaceId };
  // Not ours to use, yet known: either it was used before (a copy is in someone's hands) or it expired.
  if (row.usedAt) return { kind: 'reused', sessionId: row.sessionId, userId: row.userId, workspaceId: row.workspaceId };
  return { kind: 'invalid' };
}

export async function revokeSession(db: Db, sessionId: string, reason: string, at = new Date()): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: at, revokedReason: reason })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

export async function touchSession(db: Db, sessionId: string, at = new Date()): Promise<void> {
  await db.update(sessions).set({ lastUsedAt: at }).where(eq(sessions.id, sessionId));
}

export interface MemberPrincipalRow {
  role: Role;
  userTimeZone: string;
  workspaceTimeZone: string;
  email: string;
  /** The workspace's content version (see `workspaces.contentVersion`): a key for cached reads. */
  contentVersion: number;
}

/** Prepared once per database: the statement is built (and, on PostgreSQL, planned) once. */
const memberSessionQuery = perDatabase((db) =>
  db
    .select({
      role: memberships.role,
      userTimeZone: users.timeZone,
      workspaceTimeZone: workspaces.timeZone,
      email: users.email,
      contentVersion: workspaces.contentVersion,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .innerJoin(sessions, and(eq(sessions.id, sql.placeholder('sessionId')), eq(sessions.userId, memberships.userId)))
    .where(
      and(
        eq(memberships.workspaceId, sql.placeholder('workspaceId')),
        eq(memberships.userId, sql.placeholder('userId')),
        isNull(sessions.revokedAt),
      ),
    )
    .prepare('herald_member_session'),
);

/**
 * The one query every token-authenticated request runs: the user's role in the workspace the
 * token names, provided the session is still live. Undefined means "not allowed any more".
 */
export async function resolveMemberSession(
  db: Db,
  q: { userId: string; workspaceId: string; sessionId: string },
): Promise<MemberPrincipalRow | undefined> {
  const [row] = await memberSessionQuery(db).execute(q);
  return row;
}

export async function createInvitation(
  db: Db,
  workspaceId: string,
  input: { email: string; role: Role; token: string; invitedBy: string | null; expiresAt: Date; bearer?: boolean },
): Promise<Invitation> {
  const [row] = await db
    .insert(invitations)
    .values({
      workspaceId,
      email: input.email.trim().toLowerCase(),
      role: input.role,
      bearer: input.bearer ?? false,
      tokenHash: hashToken(input.token),
      invitedBy: input.invitedBy,
      expiresAt: input.expiresAt,
    })
    .returning();
  const { tokenHash: _hidden, ...rest } = row!;
  return rest;
}

const invitationColumns = {
  id: invitations.id,
  workspaceId: invitations.workspaceId,
  email: invitations.email,
  role: invitations.role,
  bearer: invitations.bearer,
  invitedBy: invitations.invitedBy,
  expiresAt: invitations.expiresAt,
  acceptedAt: invitations.acceptedAt,
  acceptedBy: invitations.acceptedBy,
  revokedAt: invitations.revokedAt,
  createdAt: invitations.createdAt,
};

export function listInvitations(db: Db, workspaceId: string): Promise<Invitation[]> {
  return db
    .select(invitationColumns)
    .from(invitations)
    .where(and(eq(invitations.workspaceId, workspaceId), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .orderBy(invitations.createdAt);
}

export async function revokeInvitation(db: Db, workspaceId: string, invitationId: string): Promise<boolean> {
  const rows = await db
    .update(invitations)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(invitations.workspaceId, workspaceId),
        eq(invitations.id, invitationId),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
      ),
    )
    .returning({ id: invitations.id });
  return rows.length > 0;
}

/** The open (not accepted, revoked or expired) invitation with this token, if any. */
export async function findOpenInvitation(db: Db, token: string, now = new Date()): Promise<Invitation | undefined> {
  const [inv] = await db
    .select(invitationColumns)
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, hashToken(token)),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    );
  return inv;
}

/** Whether `email` may accept `inv`: any address for a bearer link, else only the invited one. */
export function invitationAllows(inv: Pick<Invitation, 'bearer' | 'email'>, email: string): boolean {
  return inv.bearer || inv.email.trim().toLowerCase() === email.trim().toLowerCase();
}

/**
 * Accepts an open invitation for `userId` and adds the membership, in one transaction.
 * Returns undefined when the token is unknown, used, revoked or expired, or — unless the
 * invitation is a bearer link — when `email` (the accepting user's) is not the invited one.
 */
export async function acceptInvitation(
  db: Db,
  token: string,
  user: { id: string; email: string },
  now = new Date(),
): Promise<Invitation | undefined> {
  const userId = user.id;
  return db.transaction(async (tx) => {
    const [inv] = await tx
      .update(invitations)
      .set({ acceptedAt: now, acceptedBy: userId })
      .where(
        and(
          eq(invitations.tokenHash, hashToken(token)),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
          gt(invitations.expiresAt, now),
          or(eq(invitations.bearer, true), sql`lower(${invitations.email}) = ${user.email.trim().toLowerCase()}`),
        ),
      )
      .returning(invitationColumns);
    if (!inv) return undefined;
    await tx
      .insert(memberships)
      .values({ workspaceId: inv.workspaceId, userId, role: inv.role })
      .onConflictDoUpdate({ target: [memberships.workspaceId, memberships.userId], set: { role: inv.role } });
    return inv;
  });
}

export async function setMemberRole(db: Db, workspaceId: string, userId: string, role: Role): Promise<boolean> {
  const rows = await db
    .update(memberships)
    .set({ role })
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
    .returning({ userId: memberships.userId });
  return rows.length > 0;
}

export async function removeMember(db: Db, workspaceId: string, userId: string): Promise<boolean> {
  const rows = await db
    .delete(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
    .returning({ userId: memberships.userId });
  return rows.length > 0;
}

export async function countOwners(db: Db, workspaceId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner')));
  return row?.n ?? 0;
}
