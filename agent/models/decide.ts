/**
 * The routing decision as a pure function: from the task kind, the workspace policy, the
 * day's spend, provider health, observed latency and the prompt's size, an ordered list of
 * models to try and the reason for it in words. No I/O here, so every rule is testable as a
 * table and every decision can be logged and shown as it was made.
 */
import { HeraldError } from '../../core/index.js';
import type { ModelPolicy } from './policy.js';
import type { ModelSpec } from './registry.js';

export const TASK_KINDS = ['intent', 'short_draft', 'long_draft', 'planning', 'summary', 'coaching'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Quality tier a task needs and the reply length it usually takes. */
export const TASK_PROFILES: Record<TaskKind, { tier: 1 | 2 | 3; maxOutputTokens: number }> = {
  intent: { tier: 1, maxOutputTokens: 64 },
  short_draft: { tier: 1, maxOutputTokens: 512 },
  summary: { tier: 1, maxOutputTokens: 1_024 },
  coaching: { tier: 2, maxOutputTokens: 1_024 },
  long_draft: { tier: 2, maxOutputTokens: 4_096 },
  planning: { tier: 3, maxOutputTokens: 4_096 },
};

export interface DecideInput {
  taskKind: TaskKind;
  policy: ModelPolicy;
  /** Models of configured providers. */
  models: readonly ModelSpec[];
  promptTokens: number;
  maxOutputTokens: number;
  needsTools: boolean;
  /** Cloud spend today (UTC), US dollars. */
  spentTodayUsd: number;
  /** Whether the provider may take a call now, and why not. */
  health: (spec: ModelSpec) => { ok: boolean; why: string };
  /** Observed time to first token, ms. */
  latencyMs: (spec: ModelSpec) => number | undefined;
}

export interface ConsideredModel {
  model: string;
  /** Position in the try order (0 = chosen); absent when skipped. */
  rank?: number;
  /** Why it was left out. */
  skipped?: string;
  /** What counted for it. */
  note: string;
}

export interface RouteDecision {
  taskKind: TaskKind;
  policy: ModelPolicy['policy'];
  /** Models to try, in order; the first is the choice, the rest are fallbacks. */
  order: ModelSpec[];
  /** One sentence: what was chosen and why. Stored in the usage ledger. */
  reason: string;
  considered: ConsideredModel[];
  promptTokens: number;
  maxOutputTokens: number;
  /** Set when the daily cost cap left the cloud models out: the cap and today's spend, USD. */
  costCap: { capUsd: number; spentUsd: number } | null;
}

/**
 * US dollars as a person reads them: cents from a cent up, else enough decimals for two
 * significant digits, so a $0.004 cap does not read "$0.00".
 */
export function formatUsd(usd: number): string {
  if (usd === 0 || Math.abs(usd) >= 0.01) return `$${usd.toFixed(2)}`;
  const decimals = Math.min(10, 1 - Math.floor(Math.log10(Math.abs(usd))));
  return `$${usd.toFixed(decimals).replace(/0+$/, '')}`;
}

/** Expected time to first token: observed, or guessed from the typical speed. */
function expectedTtft(spec: ModelSpec, observed: number | undefined): number {
  return Math.round(observed ?? 20_000 / spec.tokensPerSecond);
}

function estimatedCost(spec: ModelSpec, promptTokens: number, maxOut: number): number {
  return (promptTokens * spec.inputUsdPerMTok + maxOut * spec.outputUsdPerMTok) / 1_000_000;
}

export function decide(input: DecideInput): RouteDecision {
  const profile = TASK_PROFILES[input.taskKind];
  const { policy, dailyCostCapUsd } = input.policy;
  const capReached = dailyCostCapUsd !== null && input.spentTodayUsd >= dailyCostCapUsd;
  const needed = input.promptTokens + input.maxOutputTokens;
  const considered: ConsideredModel[] = [];
  const skip = (spec: ModelSpec, why: string) => considered.push({ model: spec.id, skipped: why, note: '' });

  // Filters in a fixed order, so the refusal names the rule that left nothing.
  let pool = [...input.models];
  const stage = (why: (m: ModelSpec) => string | undefined) => {
    const kept: ModelSpec[] = [];
    for (const m of pool) {
      const reason = why(m);
      if (reason) skip(m, reason);
      else kept.push(m);
    }
    const emptied = pool.length > 0 && kept.length === 0;
    pool = kept;
    return emptied;
  };

  stage((m) => (policy === 'local_only' && !m.local ? 'cloud model, policy is local_only' : undefined));
  stage((m) => (input.needsTools && !m.toolCalling ? 'no tool calling, the call needs tools' : undefined));
  let capLeftOut = 0;
  const capEmptied = stage((m) => {
    if (!capReached || m.local) return undefined;
    capLeftOut++;
    return `daily cost cap ${formatUsd(dailyCostCapUsd!)} reached (${formatUsd(input.spentTodayUsd)} spent today)`;
  });
  const contextEmptied = stage((m) =>
    needed > m.contextWindow
      ? `~${input.promptTokens} prompt + ${input.maxOutputTokens} reply tokens exceed its ${m.contextWindow}-token window`
      : undefined,
  );
  stage((m) => {
    const h = input.health(m);
    return h.ok ? undefined : `${m.provider}: ${h.why}`;
  });

  if (pool.length === 0) {
    const details = { taskKind: input.taskKind, policy, considered };
    if (capEmptied)
      throw new HeraldError('model_cost_cap_reached', {
        message: `The workspace reached its daily model cost cap of ${formatUsd(dailyCostCapUsd!)} (${formatUsd(input.spentTodayUsd)} spent today) and no local model can take this request`,
        details: { ...details, spentTodayUsd: input.spentTodayUsd, dailyCostCapUsd },
      });
    if (contextEmptied) {
      const largest = Math.max(...input.models.map((m) => m.contextWindow));
      throw new HeraldError('model_context_overflow', {
        message: `The request needs ~${needed} tokens; the largest window allowed here is ${largest}. Shorten the input or allow a larger model.`,
        details: { ...details, promptTokens: input.promptTokens, maxOutputTokens: input.maxOutputTokens },
      });
    }
    throw new HeraldError('model_unavailable', {
      message:
        input.models.length === 0
          ? 'No model provider is configured: set OLLAMA_URL or a provider API key'
          : `No model can take this ${input.taskKind} request: ${considered.map((c) => `${c.model} (${c.skipped})`).join('; ')}`,
      details,
    });
  }

  const meets = (m: ModelSpec) => m.tier >= profile.tier;
  const ttft = (m: ModelSpec) => expectedTtft(m, input.latencyMs(m));
  const cost = (m: ModelSpec) => estimatedCost(m, input.promptTokens, input.maxOutputTokens);
  // Sort keys per policy; earlier keys win. Every key is something the reason can name.
  const keys: Record<ModelPolicy['policy'], (m: ModelSpec) => number[]> = {
    local_only: (m) => [meets(m) ? 0 : 1, meets(m) ? ttft(m) : -m.tier],
    local_first: (m) => [meets(m) ? 0 : 1, m.local ? 0 : 1, m.local ? ttft(m) : cost(m), ttft(m)],
    quality_first: (m) => [meets(m) ? 0 : 1, -m.tier, ttft(m), cost(m)],
  };
  const key = keys[policy];
  const order = pool
    .map((m) => ({ m, k: key(m) }))
    .sort((a, b) => {
      for (let i = 0; i < a.k.length; i++) if (a.k[i] !== b.k[i]) return a.k[i]! - b.k[i]!;
      return a.m.id < b.m.id ? -1 : 1;
    })
    .map((x) => x.m);

  const describe = (m: ModelSpec) =>
    [
      m.local ? 'local' : `cloud ~$${cost(m).toFixed(5)}`,
      meets(m) ? `meets tier ${profile.tier}` : `below tier ${profile.tier} (tier ${m.tier})`,
      `fits ${needed}/${m.contextWindow} tokens`,
      `ttft ${input.latencyMs(m) === undefined ? '~' : ''}${ttft(m)} ms`,
    ].join(', ');
  order.forEach((m, rank) => considered.push({ model: m.id, rank, note: describe(m) }));
  considered.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity));

  const chosen = order[0]!;
  const skipped = considered.filter((c) => c.skipped);
  const reason =
    `${input.taskKind} (tier ${profile.tier}) under ${policy}${capReached ? ' (cost cap reached)' : ''}: ` +
    `${chosen.id}: ${describe(chosen)}` +
    (order.length > 1
      ? `; fallbacks ${order
          .slice(1)
          .map((m) => m.id)
          .join(', ')}`
      : '') +
    (skipped.length > 0 ? `; skipped ${skipped.map((c) => `${c.model} (${c.skipped})`).join(', ')}` : '');
  return {
    taskKind: input.taskKind,
    policy,
    order,
    reason,
    considered,
    promptTokens: input.promptTokens,
    maxOutputTokens: input.maxOutputTokens,
    costCap: capLeftOut > 0 ? { capUsd: dailyCostCapUsd!, spentUsd: input.spentTodayUsd } : null,
  };
}
