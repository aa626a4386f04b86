/**
 * What every scheduling service function receives: its dependencies (database, connectors,
 * queue, events, clock) and the caller's context (workspace, user, time zone, channel).
 * Channels build the context; the service decides everything else.
 */
import {
  auditAs,
  type Db,
  type EventBus,
  type PostTarget,
  type Role,
  type TargetStatusName,
} from '../../core/index.js';
import type { ConnectorRegistry } from '../../connectors/index.js';
import type { PublishQueue } from '../publishing/queue.js';

export interface SchedulingDeps {
  db: Db;
  connectors: ConnectorRegistry;
  queue: PublishQueue;
  /** Null where nothing listens (scripts). */
  events: EventBus | null;
  now?: () => Date;
}

export interface ServiceContext {
  workspaceId: string;
  /** The person acting, when there is one. */
  userId: string | null;
  /**
   * What the caller may do: a member's role, or the role an API key's scopes grant
   * (`read` viewer, `write` editor, `admin` admin). Every service function checks it itself,
   * so REST, WebSocket and agent callers get the same answer.
   */
  role: Role;
  /** IANA zone that times are read and shown in. */
  timeZone: string;
  /** rest | ws | voice | slack | telegram | mcp | agent | csv | system */
  channel: string;
  actorKind?: 'user' | 'api_key' | 'agent' | 'system';
}

export const nowOf = (deps: { now?: () => Date }) => (deps.now ? deps.now() : new Date());

export function audit(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  action: string,
  subject: { type: string; id: string },
  details: Record<string, unknown> = {},
): Promise<void> {
  return auditAs(deps.db, ctx, action, subject, details);
}

export async function emitStatus(
  events: EventBus | null,
  target: PostTarget,
  from: TargetStatusName | null,
  extra: { error?: { kind: string; message: string; part?: number } | null } = {},
): Promise<void> {
  if (!events) return;
  await events.publish({
    type: 'target.status',
    workspaceId: target.workspaceId,
    postId: target.postId,
    targetId: target.id,
    socialAccountId: target.socialAccountId,
    platform: target.platform,
    from,
    to: target.status,
    at: new Date().toISOString(),
    scheduledAt: target.scheduledAt?.toISOString() ?? null,
    platformPostId: target.platformPostId,
    url: target.platformUrl,
    error: extra.error ?? null,
  });
}
