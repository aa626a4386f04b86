/**
 * Turns an authenticated request into the context every service function takes, so REST,
 * WebSocket and bot channels hand services the same (workspace, user, zone, channel) facts.
 */
import type { FastifyRequest } from 'fastify';
import { HeraldError, type Role } from '../../core/index.js';
import { requireRole, type Principal } from '../auth/principal.js';

export interface RequestContext {
  workspaceId: string;
  userId: string | null;
  timeZone: string;
  channel: string;
  actorKind: 'user' | 'api_key';
  principal: Principal;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HeraldError('unauthorized');
  return request.principal;
}

/** The caller's context, after checking their role allows `needed`. */
export function contextOf(request: FastifyRequest, needed: Role, channel = 'rest'): RequestContext {
  const principal = principalOf(request);
  requireRole(principal, needed);
  return {
    workspaceId: principal.workspaceId,
    userId: principal.userId,
    timeZone: principal.timeZone,
    channel,
    actorKind: principal.kind,
    principal,
  };
}

/** The context of the workspace-scoped services (media, knowledge): who acts, with which role, named how in the audit log. */
export function actorContextOf(request: FastifyRequest, needed: Role, channel = 'rest') {
  const c = contextOf(request, needed, channel);
  return {
    workspaceId: c.workspaceId,
    userId: c.userId,
    role: c.principal.role,
    channel: c.channel,
    actorKind: c.actorKind,
    actorId: c.principal.kind === 'api_key' ? c.principal.apiKeyId : c.userId,
  };
}

/**
 * The context of the capability services (tools/scheduling, analytics, trends): they check the
 * role each action needs themselves, so the route only asks that the caller is a member.
 */
export function serviceContextOf(request: FastifyRequest, channel = 'rest') {
  const c = contextOf(request, 'viewer', channel);
  return {
    workspaceId: c.workspaceId,
    userId: c.userId,
    role: c.principal.role,
    timeZone: c.timeZone,
    channel: c.channel,
    actorKind: c.actorKind,
  };
}
