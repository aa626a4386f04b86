/**
 * The model registry: what Herald knows about each model it may route to — provider, local
 * or cloud, context window, price, tool calling, quality tier and typical speed — as data.
 * Defaults below; a `MODELS_FILE` (read and validated with the configuration, core/config)
 * adds or overrides entries; Ollama's installed models are discovered at run time and added
 * with conservative defaults.
 */
import { MODEL_PROVIDERS, type ModelFileEntry } from '../../core/index.js';

export type { ModelFileEntry } from '../../core/index.js';
export const PROVIDERS = MODEL_PROVIDERS;
export type ProviderName = (typeof PROVIDERS)[number];

export interface ModelSpec {
  /** Registry id, `<provider>/<model>`, e.g. `ollama/llama3.2:3b`. */
  readonly id: string;
  readonly provider: ProviderName;
  /** The model name the provider's API takes. */
  readonly model: string;
  /** Runs on hardware you control, at no per-token cost. */
  readonly local: boolean;
  /** Tokens (prompt + reply) the model accepts. */
  readonly contextWindow: number;
  /** US dollars per million input tokens. */
  readonly inputUsdPerMTok: number;
  /** US dollars per million output tokens. */
  readonly outputUsdPerMTok: number;
  readonly toolCalling: boolean;
  /** 1 = small and fast, 2 = good general model, 3 = best reasoning. */
  readonly tier: 1 | 2 | 3;
  /** Typical output tokens per second, used until latency has been observed. */
  readonly tokensPerSecond: number;
}

/** Defaults a discovered Ollama model gets when the registry does not know it. */
export const DISCOVERED_OLLAMA_DEFAULTS = { contextWindow: 8_192, tier: 1, tokensPerSecond: 30 } as const;

/** Ollama model families known to support tool calling. */
const OLLAMA_TOOL_FAMILIES =
  /^(llama3\.[123]|qwen2\.5|qwen3|mistral|mistral-nemo|command-r|firefunction|hermes3|granite3)/;

const local = (model: string, contextWindow: number, tier: 1 | 2 | 3, tokensPerSecond: number): ModelSpec => ({
  id: `ollama/${model}`,
  provider: 'ollama',
  model,
  local: true,
  contextWindow,
  inputUsdPerMTok: 0,
  outputUsdPerMTok: 0,
  toolCalling: true,
  tier,
  tokensPerSecond,
});

const cloud = (
  provider: ProviderName,
  model: string,
  contextWindow: number,
  price: [number, number],
  tier: 1 | 2 | 3,
  tokensPerSecond: number,
): ModelSpec => ({
  id: `${provider}/${model}`,
  provider,
  model,
  local: false,
  contextWindow,
  inputUsdPerMTok: price[0],
  outputUsdPerMTok: price[1],
  toolCalling: true,
  tier,
  tokensPerSecond,
});

/** Built-in entries. Prices are list prices when written; override them in `MODELS_FILE`. */
export const DEFAULT_MODELS: readonly ModelSpec[] = [
  local('llama3.2:3b', 8_192, 1, 40),
  local('qwen2.5:7b', 32_768, 2, 25),
  cloud('groq', 'llama-3.1-8b-instant', 131_072, [0.05, 0.08], 1, 750),
  cloud('groq', 'llama-3.3-70b-versatile', 131_072, [0.59, 0.79], 2, 275),
  cloud('anthropic', 'claude-haiku-4-5', 200_000, [1, 5], 2, 120),
  cloud('anthropic', 'claude-sonnet-4-5', 200_000, [3, 15], 3, 70),
  cloud('openai', 'gpt-4o-mini', 128_000, [0.15, 0.6], 2, 90),
  cloud('openai', 'gpt-4.1', 1_047_576, [2, 8], 3, 70),
];

export class ModelRegistry {
  readonly #models = new Map<string, ModelSpec>();

  constructor(models: readonly ModelSpec[] = DEFAULT_MODELS, overrides: readonly ModelFileEntry[] = []) {
    for (const m of models) this.#models.set(m.id, m);
    for (const entry of overrides) this.apply(entry);
  }

  /** Adds or overrides one entry; unset fields keep the default's (or a cloud model's) values. */
  apply(entry: ModelFileEntry): void {
    const id = `${entry.provider}/${entry.model}`;
    if (entry.disabled) {
      this.#models.delete(id);
      return;
    }
    const base = this.#models.get(id);
    const isLocal = entry.local ?? base?.local ?? entry.provider === 'ollama';
    this.#models.set(id, {
      id,
      provider: entry.provider,
      model: entry.model,
      local: isLocal,
      contextWindow: entry.contextWindow ?? base?.contextWindow ?? DISCOVERED_OLLAMA_DEFAULTS.contextWindow,
      inputUsdPerMTok: entry.inputUsdPerMTok ?? base?.inputUsdPerMTok ?? 0,
      outputUsdPerMTok: entry.outputUsdPerMTok ?? base?.outputUsdPerMTok ?? 0,
      toolCalling: entry.toolCalling ?? base?.toolCalling ?? true,
      tier: entry.tier ?? base?.tier ?? 1,
      tokensPerSecond: entry.tokensPerSecond ?? base?.tokensPerSecond ?? DISCOVERED_OLLAMA_DEFAULTS.tokensPerSecond,
    });
  }

  /**
   * Makes the registry's Ollama entries match what is installed: unknown installed models
   * are added with conservative defaults, known ones not installed are dropped.
   */
  syncOllama(installed: readonly string[]): void {
    const names = new Set(installed);
    for (const m of [...this.#models.values()])
      if (m.provider === 'ollama' && !names.has(m.model)) this.#models.delete(m.id);
    for (const name of names) {
      if (this.#models.has(`ollama/${name}`)) continue;
      const family = name.split(':')[0] ?? name;
      this.#models.set(`ollama/${name}`, {
        ...local(name, DISCOVERED_OLLAMA_DEFAULTS.contextWindow, 1, DISCOVERED_OLLAMA_DEFAULTS.tokensPerSecond),
        toolCalling: OLLAMA_TOOL_FAMILIES.test(family),
      });
    }
  }

  get(id: string): ModelSpec | undefined {
    return this.#models.get(id);
  }

  list(): ModelSpec[] {
    return [...this.#models.values()];
  }
}

/** Cost of one call in US dollars. */
export function costUsd(spec: ModelSpec, inputTokens: number, outputTokens: number): number {
  return (inputTokens * spec.inputUsdPerMTok + outputTokens * spec.outputUsdPerMTok) / 1_000_000;
}
