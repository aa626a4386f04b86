/**
 * What the API shows about models — every registry entry with whether its provider is
 * configured and whether its breaker lets calls through — and pulling an Ollama model on
 * request, with progress published as `model.pull` events to the requesting workspace
 * (the WebSocket forwards them as `model_pull`).
 */
import { HeraldError, type EventBus, type Logger } from '../../core/index.js';
import type { ModelLayer } from './index.js';
import { configuredProviders, type ProviderSettings } from './providers.js';

export async function listModels(layer: ModelLayer, providers: ProviderSettings) {
  const configured = configuredProviders(providers);
  const ollama = layer.ollama ? await layer.ollama.health() : { ok: false as const, message: 'OLLAMA_URL is not set' };
  if (ollama.ok) await layer.refreshOllama();
  return {
    ollama,
    providers: [...configured],
    items: layer.registry.list().map((spec) => ({
      ...spec,
      configured: configured.has(spec.provider),
      available: layer.router.breaker(spec.provider).peek(),
    })),
  };
}

/** Pulls under way in this process, by model name (one pull per model at a time). */
const pulling = new Map<string, Promise<void>>();

/**
 * Starts pulling `model` into Ollama and returns at once; progress and the outcome arrive as
 * events. A pull of the same model already under way is a conflict.
 */
export function startPull(
  layer: ModelLayer,
  events: EventBus | null,
  workspaceId: string,
  model: string,
  logger?: Logger,
): { model: string; status: 'started' } {
  const ollama = layer.ollama;
  if (!ollama)
    throw new HeraldError('ollama_unavailable', {
      message: 'Ollama is not configured: set OLLAMA_URL (e.g. http://127.0.0.1:11434) and restart Herald',
    });
  if (pulling.has(model))
    throw new HeraldError('conflict', { message: `"${model}" is already being pulled`, details: { model } });
  const run = ollama
    .pull(workspaceId, model, async (e) => {
      await events?.publish(e);
    })
    .then(() => layer.refreshOllama())
    .catch((err: unknown) => {
      logger?.warn({ model, err: (err as Error).message }, 'model pull failed');
    })
    .finally(() => pulling.delete(model));
  pulling.set(model, run);
  return { model, status: 'started' };
}

/** Resolves when every pull started by this process has ended (tests, shutdown). */
export async function pullsSettled(): Promise<void> {
  await Promise.all([...pulling.values()]);
}
