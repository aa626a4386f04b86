/**
 * What every coach function receives: its dependencies and the caller's context (the same
 * `ServiceContext` the capability services take — the coach checks roles itself). A goal,
 * a setting and a message belong to one member in one workspace: the caller's own.
 */
import { HeraldError, requireRole, type Db } from '../core/index.js';
import type { Notifier } from '../tools/notifications/index.js';
import type { SchedulingDeps, ServiceContext } from '../tools/scheduling/index.js';

/** Writes the coaching message through the model router (`coaching` task kind); throws when no model can. */
export type CoachWriter = (req: {
  workspaceId: string;
  userId: string;
  system: string;
  user: string;
}) => Promise<{ text: string; model: string }>;

export interface CoachDeps {
  db: Db;
  /** Posts and scheduling, for the actions a message offers (accepting a draft schedules it). */
  scheduling: SchedulingDeps;
  /** Where messages go; unset, nothing is sent (checks and check-ins still work). */
  notifier?: Notifier | undefined;
  /** Unset (or failing): the template writes the message, with the same facts. */
  writer?: CoachWriter | undefined;
  now?: () => Date;
}

export type CoachContext = ServiceContext;

export const nowOf = (deps: { now?: (() => Date) | undefined }) => deps.now?.() ?? new Date();

/** The member acting: goals and messages are a person's own. */
export function memberOf(ctx: CoachContext): string {
  requireRole(ctx, 'viewer');
  if (!ctx.userId)
    throw new HeraldError('forbidden', { message: 'Coaching is for a member; this caller acts for no one' });
  return ctx.userId;
}
