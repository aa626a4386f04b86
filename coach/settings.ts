/**
 * When a member hears from the coach: on or off, the daily message's local time (default
 * 08:30), the weekdays it skips, and the intervention kinds they muted.
 */
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, schema } from '../core/index.js';
import { memberOf, nowOf, type CoachContext, type CoachDeps } from './context.js';

export const INTERVENTION_KINDS = [
  'failing_account',
  'approvals_waiting',
  'no_posts',
  'falling_engagement',
  'draft_pile',
] as const;
export type InterventionKind = (typeof INTERVENTION_KINDS)[number];

export const DEFAULT_DAILY_TIME = '08:30';

export const SettingsInput = z.strictObject({
  enabled: z.boolean().optional(),
  dailyTime: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'A time as HH:MM (24-hour)')
    .optional(),
  /** ISO weekdays, 1 Monday .. 7 Sunday. */
  quietDays: z.array(z.number().int().min(1).max(7)).max(7).optional(),
  muted: z.array(z.enum(INTERVENTION_KINDS)).max(INTERVENTION_KINDS.length).optional(),
});
export type SettingsInput = z.infer<typeof SettingsInput>;

export interface CoachSettings {
  enabled: boolean;
  dailyTime: string;
  quietDays: number[];
  muted: InterventionKind[];
  timeZone: string;
}

export async function getSettings(deps: CoachDeps, ctx: CoachContext): Promise<CoachSettings> {
  const userId = memberOf(ctx);
  const t = schema.coachSettings;
  const [row] = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId)));
  return {
    enabled: row?.enabled ?? true,
    dailyTime: row?.dailyTime ?? DEFAULT_DAILY_TIME,
    quietDays: row?.quietDays ?? [],
    muted: (row?.muted ?? []) as InterventionKind[],
    timeZone: ctx.timeZone,
  };
}

export async function updateSettings(deps: CoachDeps, ctx: CoachContext, input: SettingsInput): Promise<CoachSettings> {
  const userId = memberOf(ctx);
  const parsed = SettingsInput.safeParse(input);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '),
    });
  const s = parsed.data;
  const values = {
    ...(s.enabled === undefined ? {} : { enabled: s.enabled }),
    ...(s.dailyTime === undefined ? {} : { dailyTime: s.dailyTime }),
    ...(s.quietDays === undefined ? {} : { quietDays: [...new Set(s.quietDays)].sort() }),
    ...(s.muted === undefined ? {} : { muted: [...new Set(s.muted)] }),
  };
  await deps.db
    .insert(schema.coachSettings)
    .values({ workspaceId: ctx.workspaceId, userId, ...values })
    .onConflictDoUpdate({
      target: [schema.coachSettings.workspaceId, schema.coachSettings.userId],
      set: { ...values, updatedAt: nowOf(deps) },
    });
  return getSettings(deps, ctx);
}
