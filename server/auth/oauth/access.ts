/**
 * An OAuth access token (`hoa_...`) presented to the MCP endpoint, resolved into the caller's
 * Principal. The token must be live (unexpired, grant not revoked), issued for THIS resource
 * (RFC 8707 audience: a token for another server, or for another path, is refused), its sign-in
 * session still open and its user still a member. It acts as the user with the grant's scopes,
 * never above the user's role now, as an API key does.
 */
import { HeraldError, resolveMemberSession, roleAtLeast, type Db, type Role } from '../../../core/index.js';
import { roleOfScopes, type Principal } from '../principal.js';
import { ACCESS_PREFIX, grantOfAccessToken, touchGrant } from './store.js';

/** How often a grant's `last_used_at` is written, at most. */
const TOUCH_MS = 60_000;

export const isOAuthAccessToken = (credential: string | undefined): credential is string =>
  credential?.startsWith(ACCESS_PREFIX) ?? false;

const lower = (a: Role, b: Role): Role => (roleAtLeast(a, b) ? b : a);

export async function authenticateOAuth(
  db: Db,
  token: string,
  resource: string,
  at: Date = new Date(),
): Promise<Principal> {
  const grant = await grantOfAccessToken(db, token, at);
  if (!grant) throw new HeraldError('unauthorized', { message: 'The access token is not valid, expired or revoked' });
  if (grant.resource !== resource)
    throw new HeraldError('unauthorized', { message: 'The access token was issued for another resource' });
  const member = await resolveMemberSession(db, {
    userId: grant.userId,
    workspaceId: grant.workspaceId,
    sessionId: grant.sessionId,
  });
  if (!member)
    throw new HeraldError('unauthorized', { message: 'The sign-in session ended or you left this workspace' });
  if (!grant.lastUsedAt || at.getTime() - grant.lastUsedAt.getTime() > TOUCH_MS) await touchGrant(db, grant.id, at);
  return {
    kind: 'user',
    userId: grant.userId,
    apiKeyId: null,
    sessionId: grant.sessionId,
    workspaceId: grant.workspaceId,
    role: lower(roleOfScopes(grant.scopes), member.role),
    timeZone: member.userTimeZone !== 'UTC' ? member.userTimeZone : member.workspaceTimeZone,
    limitKey: `o:${grant.id}`,
    contentVersion: member.contentVersion,
  };
}
