/**
 * Workspaces, members, invitations and API keys: the tenancy services behind the REST routes
 * (and, later, bot and MCP commands). Every function takes the caller's context, checks the
 * role it needs, acts only inside the caller's workspace and leaves an audit record.
 */
import {
  acceptInvitation,
  addMember,
  appendAudit,
  countOwners,
  createApiKey,
  createInvitation,
  createWorkspace,
  findOpenInvitation,
  getUser,
  getWorkspace,
  invitationAllows,
  HeraldError,
  listApiKeys,
  listInvitations,
  listMembers,
  listWorkspacesOfUser,
  removeMember,
  revokeApiKey,
  revokeApiKeysOf,
  revokeInvitation,
  schema,
  setMemberRole,
  type Db,
  type Role,
} from '../../core/index.js';
import { eq } from 'drizzle-orm';
import { requireRole, roleAtLeast, roleOfScopes, type ApiKeyScope } from './principal.js';
import type { RequestContext } from '../http/context.js';
import { opaqueToken } from './tokens.js';
import { invitedElsewhere } from './service.js';
import { modelPolicyOf, type ModelPolicy } from '../../agent/models/index.js';
import type { AgentSettings } from '../../agent/index.js';

/** How long an invitation stays open. */
export const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

async function audit(db: Db, ctx: RequestContext, action: string, subject: { type: string; id: string }, details = {}) {
  await appendAudit(db, ctx.workspaceId, {
    actorKind: ctx.actorKind,
    actorId: ctx.principal.kind === 'api_key' ? ctx.principal.apiKeyId : ctx.userId,
    channel: ctx.channel,
    action,
    subjectType: subject.type,
    subjectId: subject.id,
    details,
  });
}

export async function currentWorkspace(db: Db, ctx: RequestContext) {
  const ws = await getWorkspace(db, ctx.workspaceId);
  if (!ws) throw new HeraldError('not_found', { message: 'No such workspace' });
  return { ...ws, role: ctx.principal.role };
}

export async function updateWorkspace(
  db: Db,
  ctx: RequestContext,
  patch: {
    name?: string | undefined;
    timeZone?: string | undefined;
    requireApproval?: boolean | undefined;
    /** Model routing policy and daily cost cap (see docs/models.md). */
    models?: Partial<ModelPolicy> | undefined;
    /** The agent's autopilot (see docs/agent.md). */
    agent?: AgentSettings | undefined;
  },
) {
  requireRole(ctx.principal, 'admin');
  // Read and write under the row's lock: settings has other writers (a knowledge re-embed's
  // switch updates `settings.knowledge`), and a merge from a stale read would put theirs back.
  const row = await db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(schema.workspaces)
      .where(eq(schema.workspaces.id, ctx.workspaceId))
      .for('update');
    if (!before) throw new HeraldError('not_found', { message: 'No such workspace' });
    const settings = { ...before.settings };
    if (patch.requireApproval !== undefined) settings.requireApproval = patch.requireApproval;
    if (patch.models) settings.models = { ...modelPolicyOf(before.settings), ...patch.models };
    if (patch.agent) settings.agent = { ...(before.settings.agent as AgentSettings | undefined), ...patch.agent };
    const [updated] = await tx
      .update(schema.workspaces)
      .set({
        ...(patch.name ? { name: patch.name } : {}),
        ...(patch.timeZone ? { timeZone: patch.timeZone } : {}),
        settings,
        updatedAt: new Date(),
      })
      .where(eq(schema.workspaces.id, ctx.workspaceId))
      .returning();
    return updated!;
  });
  await audit(db, ctx, 'workspace.update', { type: 'workspace', id: ctx.workspaceId }, patch);
  return { ...row, role: ctx.principal.role };
}

/** A new workspace owned by the calling user (not available to API keys). */
export async function createOwnWorkspace(
  db: Db,
  ctx: RequestContext,
  input: { name: string; timeZone?: string | undefined },
) {
  if (!ctx.userId || ctx.principal.kind !== 'user')
    throw new HeraldError('forbidden', { message: 'Only a signed-in user can create a workspace' });
  const slug = `${input.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)}-${Math.random().toString(36).slice(2, 8)}`;
  const ws = await createWorkspace(db, {
    name: input.name,
    slug,
    ...(input.timeZone ? { timeZone: input.timeZone } : {}),
  });
  await addMember(db, ws.id, ctx.userId, 'owner');
  await appendAudit(db, ws.id, {
    actorKind: 'user',
    actorId: ctx.userId,
    channel: ctx.channel,
    action: 'workspace.create',
    subjectType: 'workspace',
    subjectId: ws.id,
  });
  return { ...ws, role: 'owner' as Role };
}

export async function myWorkspaces(db: Db, ctx: RequestContext) {
  if (!ctx.userId || ctx.principal.kind !== 'user') return [{ ...(await currentWorkspace(db, ctx)) }];
  const rows = await listWorkspacesOfUser(db, ctx.userId);
  return rows.map((r) => ({ ...r.workspace, role: r.role }));
}

export async function members(db: Db, ctx: RequestContext) {
  const rows = await listMembers(db, ctx.workspaceId);
  return rows.map((r) => ({
    userId: r.user.id,
    email: r.user.email,
    displayName: r.user.displayName,
    role: r.role,
  }));
}

/** Only owners grant or take away the owner role; the last owner cannot leave or be demoted. */
export async function changeMemberRole(db: Db, ctx: RequestContext, userId: string, role: Role) {
  requireRole(ctx.principal, 'admin');
  const current = (await listMembers(db, ctx.workspaceId)).find((m) => m.user.id === userId);
  if (!current) throw new HeraldError('not_found', { message: 'No such member in this workspace' });
  if ((role === 'owner' || current.role === 'owner') && ctx.principal.role !== 'owner')
    throw new HeraldError('forbidden', {
      message: 'Only an owner can grant or remove the owner role',
      details: { required: 'owner' },
    });
  if (current.role === 'owner' && role !== 'owner' && (await countOwners(db, ctx.workspaceId)) <= 1)
    throw new HeraldError('invalid_state', { message: 'A workspace needs at least one owner' });
  await setMemberRole(db, ctx.workspaceId, userId, role);
  await audit(db, ctx, 'member.role', { type: 'user', id: userId }, { from: current.role, to: role });
  return { userId, email: current.user.email, displayName: current.user.displayName, role };
}

/**
 * Removes a member, or lets a signed-in user leave. Leaving is a person's act: an API key
 * cannot remove the user who created it. A removed member's API keys in the workspace are
 * revoked with the membership (their sockets close on the change's notification).
 */
export async function removeMemberFrom(db: Db, ctx: RequestContext, userId: string) {
  if (ctx.principal.kind === 'api_key' && userId === ctx.userId)
    throw new HeraldError('forbidden', {
      message: 'An API key cannot remove the user who created it; that user can leave by signing in',
    });
  const leaving = userId === ctx.userId;
  if (!leaving) requireRole(ctx.principal, 'admin');
  const current = (await listMembers(db, ctx.workspaceId)).find((m) => m.user.id === userId);
  if (!current) throw new HeraldError('not_found', { message: 'No such member in this workspace' });
  if (current.role === 'owner' && !leaving && ctx.principal.role !== 'owner')
    throw new HeraldError('forbidden', {
      message: 'Only an owner can remove an owner',
      details: { required: 'owner' },
    });
  if (current.role === 'owner' && (await countOwners(db, ctx.workspaceId)) <= 1)
    throw new HeraldError('invalid_state', { message: 'A workspace needs at least one owner' });
  const revokedKeys = await db.transaction(async (tx) => {
    await removeMember(tx, ctx.workspaceId, userId);
    return revokeApiKeysOf(tx, ctx.workspaceId, userId);
  });
  await audit(db, ctx, 'member.remove', { type: 'user', id: userId }, { role: current.role, revokedKeys });
}

/**
 * Invites `email` with `role`. Only that address can accept, unless the inviter makes it a
 * bearer link (`bearer: true`): then anyone holding the token can, so it must be shared with care.
 */
export async function invite(
  db: Db,
  ctx: RequestContext,
  input: { email: string; role: Role; bearer?: boolean | undefined },
) {
  requireRole(ctx.principal, 'admin');
  if (input.role === 'owner' && ctx.principal.role !== 'owner')
    throw new HeraldError('forbidden', {
      message: 'Only an owner can invite an owner',
      details: { required: 'owner' },
    });
  const token = opaqueToken('hi_');
  const invitation = await createInvitation(db, ctx.workspaceId, {
    email: input.email,
    role: input.role,
    token,
    invitedBy: ctx.userId,
    expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
    bearer: input.bearer ?? false,
  });
  await audit(
    db,
    ctx,
    'invitation.create',
    { type: 'invitation', id: invitation.id },
    { email: invitation.email, role: input.role, bearer: invitation.bearer },
  );
  // The token is returned once; only its hash is kept.
  return { invitation, token };
}

export async function invitations(db: Db, ctx: RequestContext) {
  requireRole(ctx.principal, 'admin');
  return listInvitations(db, ctx.workspaceId);
}

export async function cancelInvitation(db: Db, ctx: RequestContext, invitationId: string) {
  requireRole(ctx.principal, 'admin');
  if (!(await revokeInvitation(db, ctx.workspaceId, invitationId)))
    throw new HeraldError('not_found', { message: 'No open invitation with that id in this workspace' });
  await audit(db, ctx, 'invitation.revoke', { type: 'invitation', id: invitationId });
}

export async function apiKeys(db: Db, ctx: RequestContext) {
  requireRole(ctx.principal, 'admin');
  return listApiKeys(db, ctx.workspaceId);
}

/** A key never acts with more than its creator's role. */
export async function issueApiKey(
  db: Db,
  ctx: RequestContext,
  input: { name: string; scopes: ApiKeyScope[]; expiresAt?: Date | undefined },
) {
  requireRole(ctx.principal, 'admin');
  const grants = roleOfScopes(input.scopes);
  if (!roleAtLeast(ctx.principal.role, grants))
    throw new HeraldError('forbidden', {
      message: `A key with these scopes acts as ${grants}`,
      details: { required: grants },
    });
  const { key, secret } = await createApiKey(db, ctx.workspaceId, {
    name: input.name,
    scopes: input.scopes,
    ...(ctx.userId ? { createdBy: ctx.userId } : {}),
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  });
  await audit(db, ctx, 'api_key.create', { type: 'api_key', id: key.id }, { name: key.name, scopes: key.scopes });
  return { key, secret };
}

export async function revokeKey(db: Db, ctx: RequestContext, keyId: string) {
  requireRole(ctx.principal, 'admin');
  if (!(await revokeApiKey(db, ctx.workspaceId, keyId)))
    throw new HeraldError('not_found', { message: 'No active API key with that id in this workspace' });
  await audit(db, ctx, 'api_key.revoke', { type: 'api_key', id: keyId });
}

/** Accepting an invitation as an already signed-in user: returns the workspace joined. */
export async function acceptAsUser(db: Db, ctx: RequestContext, token: string) {
  if (!ctx.userId || ctx.principal.kind !== 'user')
    throw new HeraldError('forbidden', { message: 'Only a signed-in user can accept an invitation' });
  const user = await getUser(db, ctx.userId);
  const open = await findOpenInvitation(db, token);
  if (!user || !open)
    throw new HeraldError('unauthorized', { message: 'The invitation is unknown, used, revoked or expired' });
  if (!invitationAllows(open, user.email)) throw invitedElsewhere();
  const inv = await acceptInvitation(db, token, user);
  if (!inv) throw new HeraldError('unauthorized', { message: 'The invitation is unknown, used, revoked or expired' });
  await appendAudit(db, inv.workspaceId, {
    actorKind: 'user',
    actorId: ctx.userId,
    channel: ctx.channel,
    action: 'member.join',
    subjectType: 'user',
    subjectId: ctx.userId,
    details: { role: inv.role, invitationId: inv.id },
  });
  return { workspaceId: inv.workspaceId, role: inv.role };
}
