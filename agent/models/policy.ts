/**
 * A workspace's model policy, kept in `workspaces.settings.models`: where calls may go
 * (local only, local first, quality first) and an optional daily cost cap in US dollars.
 * Validated here, once, for the REST route and for anything reading the settings back.
 */
import { z } from 'zod';

export const MODEL_POLICIES = ['local_only', 'local_first', 'quality_first'] as const;
export type ModelPolicyName = (typeof MODEL_POLICIES)[number];

export interface ModelPolicy {
  policy: ModelPolicyName;
  /** Cloud spend per UTC day after which only local models serve; null: no cap. */
  dailyCostCapUsd: number | null;
}

export const DEFAULT_MODEL_POLICY: ModelPolicy = Object.freeze({ policy: 'local_first', dailyCostCapUsd: null });

export const ModelPolicySchema = z.strictObject({
  policy: z.enum(MODEL_POLICIES),
  dailyCostCapUsd: z.number().min(0).max(1_000_000).nullable(),
});

/** The policy stored in a workspace's settings, or the default when none (or a bad one) is. */
export function modelPolicyOf(settings: Record<string, unknown> | null | undefined): ModelPolicy {
  const parsed = ModelPolicySchema.safeParse(settings?.models);
  return parsed.success ? parsed.data : DEFAULT_MODEL_POLICY;
}
