/**
 * Herald's model layer: providers (Ollama, Groq, Anthropic, any OpenAI-compatible endpoint)
 * behind LangChain chat models, the model registry, Ollama management, the router with its
 * policy, breakers and fallbacks, and usage accounting. This file is its whole public surface.
 */
import type { Db, Logger } from '../../core/index.js';
import { LedgerUsageSink, type UsageSink } from './accounting.js';
import type { BreakerOptions } from './breaker.js';
import { OllamaManager } from './ollama.js';
import type { ProviderSettings } from './providers.js';
import { ModelRegistry, DEFAULT_MODELS, type ModelFileEntry } from './registry.js';
import { ModelRouter } from './router.js';

export { LedgerUsageSink, type UsageRecord, type UsageSink } from './accounting.js';
export { BREAKER_DEFAULTS, CircuitBreaker, MovingAverage, type BreakerOptions, type BreakerState } from './breaker.js';
export {
  decide,
  formatUsd,
  TASK_KINDS,
  TASK_PROFILES,
  type RouteDecision,
  type TaskKind,
  type ConsideredModel,
} from './decide.js';
export { OllamaManager, type OllamaModelInfo, type PullEventSink } from './ollama.js';
export {
  DEFAULT_MODEL_POLICY,
  MODEL_POLICIES,
  ModelPolicySchema,
  modelPolicyOf,
  type ModelPolicy,
  type ModelPolicyName,
} from './policy.js';
export { configuredProviders, createChatModel, type ProviderSettings } from './providers.js';
export {
  costUsd,
  DEFAULT_MODELS,
  ModelRegistry,
  PROVIDERS,
  type ModelFileEntry,
  type ModelSpec,
  type ProviderName,
} from './registry.js';
export {
  ModelRouter,
  ROUTER_DEFAULTS,
  type Attempt,
  type CallContext,
  type CallResult,
  type ChatRequest,
  type Completion,
  type ModelTurn,
  startModelTurn,
  type RoutedStream,
  type RouterOptions,
} from './router.js';
export { estimateTokens, estimateToolTokens } from './tokens.js';
export { checkPullAllowed, listModels, startPull, pullsSettled, type PullAccess, type PullCaller } from './catalog.js';

export interface ModelLayerOptions {
  providers: ProviderSettings;
  /** Entries of `MODELS_FILE` (`config.models.entries`), adding to or overriding the built-in registry. */
  modelOverrides?: readonly ModelFileEntry[];
  firstTokenTimeoutMs?: number;
  breaker?: BreakerOptions;
  db: Db;
  /** Default: the usage ledger in `db`. */
  usage?: UsageSink;
  logger?: Logger;
}

export interface ModelLayer {
  readonly registry: ModelRegistry;
  readonly router: ModelRouter;
  /** Undefined when OLLAMA_URL is unset. */
  readonly ollama: OllamaManager | undefined;
  /** Re-reads Ollama's installed models into the registry; keeps the registry when Ollama is down. */
  refreshOllama(): Promise<void>;
  /** Writes usage rows still waiting in the ledger's batch (call before the database closes). */
  flushUsage(): Promise<void>;
}

export async function createModelLayer(options: ModelLayerOptions): Promise<ModelLayer> {
  const registry = new ModelRegistry(DEFAULT_MODELS, options.modelOverrides ?? []);
  const ollama = options.providers.ollama
    ? new OllamaManager({ baseUrl: options.providers.ollama.baseUrl })
    : undefined;
  const usage = options.usage ?? new LedgerUsageSink(options.db);
  const router = new ModelRouter({
    registry,
    providers: options.providers,
    usage,
    logger: options.logger,
    ...(options.firstTokenTimeoutMs ? { firstTokenTimeoutMs: options.firstTokenTimeoutMs } : {}),
    ...(options.breaker ? { breaker: options.breaker } : {}),
  });
  const refreshOllama = async () => {
    if (!ollama) return;
    try {
      const installed = await ollama.list();
      registry.syncOllama(installed.map((m) => m.name));
    } catch (err) {
      options.logger?.warn({ err: (err as Error).message }, 'Ollama models not discovered; keeping the registry');
    }
  };
  await refreshOllama();
  const flushUsage = async () => {
    if (usage instanceof LedgerUsageSink) await usage.flush();
  };
  return { registry, router, ollama, refreshOllama, flushUsage };
}
