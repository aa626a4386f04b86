/**
 * Sign-up, login, token refresh with rotation and reuse detection, logout, and the resolution
 * of every request's credentials into a `Principal`. Failing logins and bad tokens all answer
 * the same way, so a caller cannot tell which emails exist.
 */
import {
  acceptInvitation,
  addMember,
  appendAudit,
  consumeRefreshToken,
  createSession,
  createUser,
  createWorkspace,
  findOpenInvitation,
  findUserByEmail,
  invitationAllows,
  getRole,
  hashApiKey,
  HeraldError,
  insertRefreshToken,
  listWorkspacesOfUser,
  resolveApiKey,
  resolveMemberSession,
  revokeSession,
  touchApiKey,
  type Db,
  type Role,
  type User,
} from '../../core/index.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { roleAtLeast, roleOfScopes, type Principal } from './principal.js';
import type { PrincipalCache } from './principal-cache.js';
import { opaqueToken, type TokenSigner } from './tokens.js';

export interface AuthDeps {
  db: Db;
  signer: TokenSigner;
  refreshTtlS: number;
  now?: () => Date;
  /** Recently resolved principals (see principal-cache.ts); without it every request asks the database. */
  principals?: PrincipalCache | undefined;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  workspaceId: string;
  userId: string;
}

const lowerRole = (a: Role, b: Role): Role => (roleAtLeast(a, b) ? b : a);

/** How often an API key's `last_used_at` is written, at most. */
const API_KEY_TOUCH_MS = 60_000;

const now = (deps: AuthDeps) => (deps.now ? deps.now() : new Date());

/** Session events go to the audit log of the workspace they act in. */
function auditSession(
  deps: AuthDeps,
  workspaceId: string,
  userId: string,
  action: string,
  sessionId: string,
  details: Record<string, unknown> = {},
) {
  return appendAudit(deps.db, workspaceId, {
    actorKind: 'user',
    actorId: userId,
    channel: 'rest',
    action,
    subjectType: 'session',
    subjectId: sessionId,
    details,
  });
}

async function issuePair(deps: AuthDeps, userId: string, sessionId: string, workspaceId: string): Promise<TokenPair> {
  const refreshToken = opaqueToken('hr_');
  const at = now(deps);
  await insertRefreshToken(deps.db, {
    sessionId,
    workspaceId,
    token: refreshToken,
    expiresAt: new Date(at.getTime() + deps.refreshTtlS * 1000),
  });
  const accessToken = await deps.signer.sign({ userId, sessionId, workspaceId }, at);
  return { accessToken, tokenType: 'Bearer', expiresIn: deps.signer.ttlS, refreshToken, workspaceId, userId };
}

function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${base || 'workspace'}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An invitation (not a bearer link) accepted by someone other than the invited address. */
export const invitedElsewhere = () =>
  new HeraldError('forbidden', {
    message: 'This invitation is for another email address; ask for an invitation to yours',
  });

export interface SignUpInput {
  email: string;
  password: string;
  displayName?: string | undefined;
  timeZone?: string | undefined;
  /** Name of the personal workspace created with the account (ignored with an invitation). */
  workspaceName?: string | undefined;
  /** Join the inviting workspace instead of creating one. */
  invitationToken?: string | undefined;
  userAgent?: string | null | undefined;
}

export async function signUp(deps: AuthDeps, input: SignUpInput): Promise<{ user: User; tokens: TokenPair }> {
  // Checked before the account exists, so a refused invitation leaves no account behind.
  if (input.invitationToken) {
    const open = await findOpenInvitation(deps.db, input.invitationToken, now(deps));
    if (!open)
      throw new HeraldError('unauthorized', { message: 'The invitation is unknown, used, revoked or expired' });
    if (!invitationAllows(open, input.email)) throw invitedElsewhere();
  }
  const passwordHash = await hashPassword(input.password);
  const user = await createUser(deps.db, {
    email: input.email,
    passwordHash,
    ...(input.displayName ? { displayName: input.displayName } : {}),
    ...(input.timeZone ? { timeZone: input.timeZone } : {}),
  });
  let workspaceId: string;
  if (input.invitationToken) {
    const inv = await acceptInvitation(deps.db, input.invitationToken, user, now(deps));
    if (!inv) throw new HeraldError('unauthorized', { message: 'The invitation is unknown, used, revoked or expired' });
    workspaceId = inv.workspaceId;
    await appendAudit(deps.db, workspaceId, {
      actorKind: 'user',
      actorId: user.id,
      channel: 'rest',
      action: 'member.join',
      subjectType: 'user',
      subjectId: user.id,
      details: { role: inv.role, invitationId: inv.id },
    });
  } else {
    const ws = await createWorkspace(deps.db, {
      name: input.workspaceName ?? `${input.displayName ?? input.email.split('@')[0]}'s workspace`,
      slug: slugify(input.workspaceName ?? input.email.split('@')[0]!),
      ...(input.timeZone ? { timeZone: input.timeZone } : {}),
    });
    await addMember(deps.db, ws.id, user.id, 'owner');
    workspaceId = ws.id;
    await appendAudit(deps.db, workspaceId, {
      actorKind: 'user',
      actorId: user.id,
      channel: 'rest',
      action: 'workspace.create',
      subjectType: 'workspace',
      subjectId: ws.id,
    });
  }
  const session = await createSession(deps.db, user.id, input.userAgent ?? null);
  return { user, tokens: await issuePair(deps, user.id, session.id, workspaceId) };
}

async function pickWorkspace(deps: AuthDeps, userId: string, wanted: string | undefined): Promise<string> {
  if (wanted) {
    if (!(await getRole(deps.db, wanted, userId))) throw new HeraldError('not_found', { message: 'No such workspace' });
    return wanted;
  }
  const [first] = await listWorkspacesOfUser(deps.db, userId);
  if (!first) throw new HeraldError('forbidden', { message: 'You are not a member of any workspace' });
  return first.workspace.id;
}

export async function login(
  deps: AuthDeps,
  input: { email: string; password: string; workspaceId?: string | undefined; userAgent?: string | null | undefined },
): Promise<TokenPair> {
  const user = await findUserByEmail(deps.db, input.email);
  const ok = await verifyPassword(input.password, user?.passwordHash);
  if (!user || !ok) throw new HeraldError('invalid_credentials');
  const workspaceId = await pickWorkspace(deps, user.id, input.workspaceId);
  const session = await createSession(deps.db, user.id, input.userAgent ?? null);
  await auditSession(deps, workspaceId, user.id, 'session.login', session.id, { userAgent: input.userAgent ?? null });
  return issuePair(deps, user.id, session.id, workspaceId);
}

/** Rotates a refresh token; `workspaceId` switches the workspace the new tokens act in. */
export async function refresh(
  deps: AuthDeps,
  input: { refreshToken: string; workspaceId?: string | undefined },
): Promise<TokenPair> {
  const outcome = await consumeRefreshToken(deps.db, input.refreshToken, now(deps));
  if (outcome.kind === 'invalid') throw new HeraldError('unauthorized', { message: 'The refresh token is not valid' });
  if (outcome.kind === 'reused') {
    await revokeSession(deps.db, outcome.sessionId, 'refresh_token_reuse', now(deps));
    // A security event: someone presented a refresh token that was already used.
    await auditSession(deps, outcome.workspaceId, outcome.userId, 'session.revoke_reuse', outcome.sessionId);
    throw new HeraldError('refresh_reused');
  }
  const workspaceId = await pickWorkspace(deps, outcome.userId, input.workspaceId ?? outcome.workspaceId).catch(
    async (err: unknown) => {
      // Removed from the workspace since: fall back to another one rather than locking out.
      if (input.workspaceId) throw err;
      return pickWorkspace(deps, outcome.userId, undefined);
    },
  );
  return issuePair(deps, outcome.userId, outcome.sessionId, workspaceId);
}

export async function logout(deps: AuthDeps, principal: Principal): Promise<void> {
  if (!principal.sessionId) return;
  await revokeSession(deps.db, principal.sessionId, 'logout', now(deps));
  if (principal.userId)
    await auditSession(deps, principal.workspaceId, principal.userId, 'session.logout', principal.sessionId);
}

/** `Authorization: Bearer <jwt | hk_ api key>` or `X-Api-Key: hk_...` → Principal. */
export async function authenticate(deps: AuthDeps, credential: string | undefined): Promise<Principal> {
  if (!credential) throw new HeraldError('unauthorized');
  if (credential.startsWith('hk_')) return authenticateApiKey(deps, credential);
  const claims = await deps.signer.verify(credential);
  const key = `t:${claims.sessionId}:${claims.workspaceId}:${claims.userId}`;
  const cached = deps.principals?.get(key);
  if (cached) return { ...cached.principal };
  const epoch = deps.principals?.epoch ?? 0;
  const row = await resolveMemberSession(deps.db, claims);
  if (!row) throw new HeraldError('unauthorized', { message: 'The session has ended or you left this workspace' });
  const principal: Principal = {
    kind: 'user',
    userId: claims.userId,
    apiKeyId: null,
    sessionId: claims.sessionId,
    workspaceId: claims.workspaceId,
    role: row.role,
    timeZone: row.userTimeZone !== 'UTC' ? row.userTimeZone : row.workspaceTimeZone,
    limitKey: `u:${claims.userId}`,
    contentVersion: row.contentVersion,
  };
  deps.principals?.set(key, epoch, {
    principal,
    tags: [`w:${claims.workspaceId}`, `u:${claims.userId}`, `s:${claims.sessionId}`],
    expiresAtMs: null,
    lastUsedAtMs: null,
  });
  return { ...principal };
}

async function authenticateApiKey(deps: AuthDeps, secret: string): Promise<Principal> {
  if (secret.length > 100) throw new HeraldError('unauthorized', { message: 'The API key is not valid' });
  const at = now(deps);
  const cacheKey = `k:${hashApiKey(secret)}`;
  const cached = deps.principals?.get(cacheKey);
  if (cached && (cached.expiresAtMs === null || cached.expiresAtMs > at.getTime())) {
    const p = cached.principal;
    if (cached.lastUsedAtMs === null || at.getTime() - cached.lastUsedAtMs > API_KEY_TOUCH_MS) {
      // The write notifies every process, which drops this entry: the next request reads it anew.
      cached.lastUsedAtMs = at.getTime();
      await touchApiKey(deps.db, p.workspaceId, p.apiKeyId!, at);
    }
    return { ...p };
  }
  const epoch = deps.principals?.epoch ?? 0;
  const key = await resolveApiKey(deps.db, secret, at);
  if (!key) throw new HeraldError('unauthorized', { message: 'The API key is not valid or was revoked' });
  // A key acts for the person who made it, with at most their role now: none once they left.
  if (!key.creatorRole)
    throw new HeraldError('unauthorized', {
      message: "The API key's creator is no longer a member of this workspace",
    });
  if (!key.lastUsedAt || at.getTime() - key.lastUsedAt.getTime() > API_KEY_TOUCH_MS) {
    // Not awaited on the hot path's critical section would lose errors; it is one cheap update.
    await touchApiKey(deps.db, key.workspaceId, key.id, at);
  }
  const principal: Principal = {
    kind: 'api_key',
    userId: key.createdBy,
    apiKeyId: key.id,
    sessionId: null,
    workspaceId: key.workspaceId,
    role: lowerRole(roleOfScopes(key.scopes), key.creatorRole),
    timeZone: key.workspaceTimeZone,
    limitKey: `k:${key.id}`,
    contentVersion: key.contentVersion,
  };
  deps.principals?.set(cacheKey, epoch, {
    principal,
    tags: [`w:${key.workspaceId}`, `k:${key.id}`, ...(key.createdBy ? [`u:${key.createdBy}`] : [])],
    expiresAtMs: key.expiresAt ? key.expiresAt.getTime() : null,
    lastUsedAtMs: at.getTime(),
  });
  return { ...principal };
}

export type { Role };
