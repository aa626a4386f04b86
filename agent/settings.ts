/**
 * The agent's workspace settings (`settings.agent` of the workspace, changed by an admin with
 * `PATCH /v1/workspace`): `autopilot`, the side-effect tools the agent may run without asking.
 * Even then, a turn whose context holds outside text (knowledge, web pages, replies) asks.
 */
import { z } from 'zod';
import { SIDE_EFFECT_TOOLS } from './tools/index.js';

export const AUTOPILOT_TOOLS = ['schedule_post', 'publish_now', 'add_to_queue', 'reschedule', 'cancel'] as const;

export const AgentSettingsSchema = z.object({
  autopilot: z.array(z.enum(AUTOPILOT_TOOLS)).max(AUTOPILOT_TOOLS.length).optional(),
});

export type AgentSettings = z.infer<typeof AgentSettingsSchema>;

/** The tools this workspace lets the agent run without confirmation (none unless set). */
export function autopilotOf(settings: Record<string, unknown> | undefined): string[] {
  const parsed = AgentSettingsSchema.safeParse((settings as { agent?: unknown } | undefined)?.agent ?? {});
  if (!parsed.success) return [];
  return (parsed.data.autopilot ?? []).filter((t) => SIDE_EFFECT_TOOLS.includes(t));
}
