/**
 * What the API shows about models — every registry entry with whether its provider is
 * configured and whether its breaker lets calls through — and pulling an Ollama model on
 * request, with progress published as `model.pull` events to the requesting workspace
 * (the WebSocket forwards them as `model_pull`). A pull is an instance-level action (disk,
 * bandwidth, a busy Ollama for everyone) and sign-up is open, so it is checked here, in the
 * service: instance admins may pull any model, workspace admins only the allowlisted ones.
 */
import { HeraldError, requireRole, type EventBus, type Logger, type Role } from '../../core/index.js';
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

/** Who may pull what (`INSTANCE_ADMINS`, `MODEL_PULL_ALLOWLIST`). */
export interface PullAccess {
  /** User ids that may pull any model. */
  instanceAdmins: readonly string[];
  /** Models a workspace admin may pull. */
  allowlist: readonly string[];
}

/** The caller of a pull, as every channel passes it. */
export interface PullCaller {
  workspaceId: string;
  userId: string | null;
  role: Role;
}

/**
 * Refuses a pull the caller may not start: it needs the admin role in the workspace (so a
 * read-scoped API key of an instance admin cannot), and either an instance admin or an
 * allowlisted model.
 */
export function checkPullAllowed(caller: PullCaller, model: string, access: PullAccess): void {
  requireRole(caller, 'admin');
  if (caller.userId && access.instanceAdmins.includes(caller.userId)) return;
  if (access.allowlist.includes(model)) return;
  throw new HeraldError('forbidden', {
    message:
      access.allowlist.length > 0
        ? `Pulling "${model}" is for instance admins; workspace admins may pull ${access.allowlist.join(', ')} (MODEL_PULL_ALLOWLIST)`
        : `Pulling models into Ollama is for instance admins (INSTANCE_ADMINS); no model is open to workspace admins (MODEL_PULL_ALLOWLIST)`,
    details: { model, allowlist: [...access.allowlist], required: 'instance_admin' },
  });
}

/** Pulls under way in this process, by model name (one pull per model at a time). */
const pulling = new Map<string, Promise<void>>();

/**
 * Starts pulling `model` into Ollama and returns at once; progress and the outcome arrive as
 * events, the last one `success` or `failed` with Ollama's reason. A pull of the same model
 * already under way is a conflict.
 */
export function startPull(
  layer: ModelLayer,
  events: EventBus | null,
  caller: PullCaller,
  model: string,
  access: PullAccess,
  logger?: Logger,
): { model: string; status: 'started' } {
  checkPullAllowed(caller, model, access);
  const ollama = layer.ollama;
  if (!ollama)
    throw new HeraldError('ollama_unavailable', {
      message: 'Ollama is not configured: set OLLAMA_URL (e.g. http://127.0.0.1:11434) and restart Herald',
    });
  if (pulling.has(model))
    throw new HeraldError('conflict', { message: `"${model}" is already being pulled`, details: { model } });
  const run = ollama
    .pull(caller.workspaceId, model, async (e) => {
      await events?.publish(e);
    })
    .then(async () => {
      logger?.info({ model, workspaceId: caller.workspaceId }, 'model pulled');
      await layer.refreshOllama();
    })
    .catch((err: unknown) => {
      const e = err as HeraldError;
      logger?.warn({ model, workspaceId: caller.workspaceId, code: e.code, reason: e.message }, 'model pull failed');
    })
    .finally(() => pulling.delete(model));
  pulling.set(model, run);
  return { model, status: 'started' };
}

/** Resolves when every pull started by this process has ended (tests, shutdown). */
export async function pullsSettled(): Promise<void> {
  await Promise.all([...pulling.values()]);
}
