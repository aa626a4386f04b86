/**
 * The apps a person let act for them over OAuth ("connected apps"): listed and revoked from
 * REST and the console. Everyone sees and revokes their own; admins see and revoke every
 * member's grants in the workspace. Revoking a grant ends its access and refresh tokens at once.
 */
import { appendAudit, HeraldError, roleAtLeast, type Db, type Role } from '../../../core/index.js';
import { findGrant, listGrants, revokeGrant, type GrantView } from './store.js';

export interface GrantsContext {
  workspaceId: string;
  userId: string | null;
  role: Role;
  channel: string;
  actorKind: 'user' | 'api_key';
  actorId?: string | null;
}

export function listGrantsFor(db: Db, ctx: GrantsContext): Promise<GrantView[]> {
  if (roleAtLeast(ctx.role, 'admin')) return listGrants(db, ctx.workspaceId, null);
  if (!ctx.userId) return Promise.resolve([]);
  return listGrants(db, ctx.workspaceId, ctx.userId);
}

export async function revokeGrantFor(db: Db, ctx: GrantsContext, grantId: string, at = new Date()): Promise<void> {
  const grant = await findGrant(db, ctx.workspaceId, grantId);
  if (!grant) throw new HeraldError('not_found', { message: 'No such connected app' });
  if (grant.userId !== ctx.userId && !roleAtLeast(ctx.role, 'admin'))
    throw new HeraldError('forbidden', { details: { required: 'admin' } });
  if (!(await revokeGrant(db, ctx.workspaceId, grantId, 'revoked', at))) return; // already revoked: nothing more
  await appendAudit(db, ctx.workspaceId, {
    actorKind: ctx.actorKind,
    actorId: ctx.actorId ?? ctx.userId,
    channel: ctx.channel,
    action: 'oauth.revoke',
    subjectType: 'oauth_grant',
    subjectId: grantId,
  });
}
