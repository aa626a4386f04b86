/**
 * The model router: picks a model for each call (see `decide.ts`), streams the reply through
 * the provider's LangChain chat model, fails over to the next candidate on an error or a
 * timeout *before the first token*, and never switches once tokens have reached the caller
 * (the stream then errors with `model_stream_interrupted`). An abandoned attempt is aborted
 * through its request's own signal, so its socket closes at the timeout; a provider that sent
 * no first token in time is skipped for the rest of the turn (its other models would hang the
 * same way) and counts once toward its breaker. It keeps a circuit breaker per provider and a
 * moving average of time to first token per model, and writes every call to the usage ledger
 * with the reason it was routed where it went. `complete` is the same path for a caller that
 * needs only the whole text: one non-streaming request per attempt, its reply counted as the
 * first token (so failing over stays safe until it is in).
 */
import type { BaseChatModel, BindToolsInput } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk, BaseMessageLike } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { HeraldError, type Logger } from '../../core/index.js';
import type { UsageSink } from './accounting.js';
import { CircuitBreaker, MovingAverage, type BreakerOptions } from './breaker.js';
import { decide, formatUsd, TASK_PROFILES, type RouteDecision, type TaskKind } from './decide.js';
import type { ModelPolicy } from './policy.js';
import { configuredProviders, createChatModel, type ProviderSettings } from './providers.js';
import { costUsd, type ModelRegistry, type ModelSpec, type ProviderName } from './registry.js';
import { chunkCarriesToken, estimateTokens, estimateToolTokens, usageOfChunks } from './tokens.js';

export const ROUTER_DEFAULTS = {
  firstTokenTimeoutMs: 20_000,
  idleTimeoutMs: 60_000,
  wholeReplyTimeoutMs: 60_000,
} as const;

export interface RouterOptions {
  registry: ModelRegistry;
  providers: ProviderSettings;
  usage: UsageSink;
  logger?: Logger | undefined;
  /** A candidate that sends no token within this time is abandoned for the next one. */
  firstTokenTimeoutMs?: number;
  /** After the first token, a stream silent this long fails with `model_stream_interrupted`. */
  idleTimeoutMs?: number;
  /**
   * A whole-text call (`complete`) whose reply has not arrived within this time is abandoned
   * for the next candidate, as a stream without its first token is (nothing has reached the
   * caller yet). Default 60 s: the wait covers the whole generation, not only its start.
   */
  wholeReplyTimeoutMs?: number;
  breaker?: BreakerOptions;
}

export interface CallContext {
  workspaceId: string;
  userId?: string | null;
  policy: ModelPolicy;
  /**
   * The user turn this call belongs to (`startModelTurn()`, one per turn, shared by its
   * calls): a provider that hung in one call is skipped by the turn's later calls too.
   * Without it, by the rest of this call only.
   */
  turn?: ModelTurn;
}

/** What the calls of one user turn learn about providers: those that sent no first token in time. */
export interface ModelTurn {
  /** Provider -> the model that hung. */
  readonly hung: Map<ProviderName, string>;
}

export function startModelTurn(): ModelTurn {
  return { hung: new Map() };
}

export interface ChatRequest {
  taskKind: TaskKind;
  messages: BaseMessageLike[];
  tools?: BindToolsInput[];
  /**
   * A longer tool list (usually every tool) bound instead of `tools` for a model whose context
   * window holds it with the prompt and the reply. The route is decided on `tools`, so a model
   * too small for this list still serves with `tools`.
   */
  widerTools?: BindToolsInput[];
  /** Default: the task kind's usual reply length. */
  maxOutputTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

export interface Attempt {
  model: string;
  outcome: 'error' | 'timeout' | 'skipped';
  error: string;
}

export interface CallResult {
  model: string;
  provider: ProviderName;
  local: boolean;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Time to first token, ms. */
  ttftMs: number;
  totalMs: number;
  /** The decision's reason, plus any fallback taken. */
  reason: string;
  attempts: Attempt[];
  /** Set when the stream failed after the first token or the caller stopped early. */
  error?: string;
}

/** A whole-text call's answer (`complete`). */
export interface Completion {
  text: string;
  decision: RouteDecision;
  /** As a stream's `result`: the call as the ledger holds it. */
  result: CallResult;
}

export interface RoutedStream extends AsyncIterable<AIMessageChunk> {
  readonly decision: RouteDecision;
  /** Settles after the stream ends and the call is in the ledger; never rejects. */
  readonly result: Promise<CallResult | undefined>;
}

class FirstTokenTimeout extends Error {
  constructor(ms: number, what = 'no token') {
    super(`${what} within ${ms} ms`);
  }
}

function deadline<T>(work: Promise<T>, ms: number, onTimeout: () => void, what?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined); // a late rejection after the timeout is expected, not unhandled
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new FirstTokenTimeout(ms, what));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** An SDK error in a few safe words: status and message, never headers or keys. */
function describeError(err: unknown): string {
  // The `ollama` client's ResponseError carries the status as `status_code`.
  const e = err as { status?: number; status_code?: number; name?: string; message?: string };
  const status = e.status ?? e.status_code;
  const text = `${status ? `${status} ` : ''}${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}`;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

export class ModelRouter {
  readonly #options: RouterOptions;
  readonly #breakers = new Map<ProviderName, CircuitBreaker>();
  readonly #ttft = new MovingAverage();
  readonly #configured: Set<ProviderName>;
  /** Chat models by spec and options, and their tool-bound forms by tool list (see `#model`). */
  readonly #models = new Map<string, { model: BaseChatModel; bound: WeakMap<BindToolsInput[], Runnable> }>();

  constructor(options: RouterOptions) {
    this.#options = options;
    this.#configured = configuredProviders(options.providers);
  }

  breaker(provider: ProviderName): CircuitBreaker {
    let b = this.#breakers.get(provider);
    if (!b) this.#breakers.set(provider, (b = new CircuitBreaker(this.#options.breaker)));
    return b;
  }

  /** Observed time to first token of a model, ms (moving average). */
  latencyOf(modelId: string): number | undefined {
    return this.#ttft.get(modelId);
  }

  /** The models of configured providers. */
  availableModels(): ModelSpec[] {
    return this.#options.registry.list().filter((m) => this.#configured.has(m.provider));
  }

  /** Decides without calling anything; throws the refusal (`model_*` errors) when none fits. */
  async route(ctx: CallContext, req: Omit<ChatRequest, 'signal'>): Promise<RouteDecision> {
    const spentTodayUsd =
      ctx.policy.dailyCostCapUsd === null ? 0 : await this.#options.usage.spentTodayUsd(ctx.workspaceId);
    return decide({
      taskKind: req.taskKind,
      policy: ctx.policy,
      models: this.availableModels(),
      promptTokens: estimateTokens(req.messages, req.tools),
      maxOutputTokens: req.maxOutputTokens ?? TASK_PROFILES[req.taskKind].maxOutputTokens,
      needsTools: (req.tools?.length ?? 0) > 0,
      spentTodayUsd,
      health: (m) => this.breaker(m.provider).peek(),
      latencyMs: (m) => this.#ttft.get(m.id),
    });
  }

  /** Routes and streams one call. Refusals throw here, before any stream exists. */
  async stream(ctx: CallContext, req: ChatRequest): Promise<RoutedStream> {
    const decision = await this.#decideAndLog(ctx, req);
    let settle!: (r: CallResult | undefined) => void;
    const result = new Promise<CallResult | undefined>((r) => (settle = r));
    const run = this.#run(ctx, req, decision, settle, 'stream');
    return { decision, result, [Symbol.asyncIterator]: () => run };
  }

  /**
   * Routes one call and returns its whole text, for callers that need nothing before the end
   * (the coach's morning message): the provider is asked without streaming (OpenAI-compatible
   * `stream: false`, Anthropic's plain `messages` call; LangChain's Ollama wrapper still reads
   * Ollama's stream and joins it). Everything else is the streaming path itself: the same
   * decision, breakers, turn, fallback to the next candidate on an error or on no reply within
   * `wholeReplyTimeoutMs`, and the same ledger row. Refusals and `model_unavailable` throw.
   */
  async complete(ctx: CallContext, req: ChatRequest): Promise<Completion> {
    const decision = await this.#decideAndLog(ctx, req);
    let settle!: (r: CallResult | undefined) => void;
    const settled = new Promise<CallResult | undefined>((r) => (settle = r));
    let text = '';
    for await (const message of this.#run(ctx, req, decision, settle, 'whole')) text += textOf(message);
    const result = await settled;
    return { text, decision, result: result! };
  }

  async #decideAndLog(ctx: CallContext, req: ChatRequest): Promise<RouteDecision> {
    const decision = await this.route(ctx, req);
    this.#options.logger?.info(
      { workspaceId: ctx.workspaceId, taskKind: req.taskKind, model: decision.order[0]!.id, reason: decision.reason },
      'model routed',
    );
    return decision;
  }

  async *#run(
    ctx: CallContext,
    req: ChatRequest,
    decision: RouteDecision,
    settle: (r: CallResult | undefined) => void,
    /** `whole`: one non-streaming request per attempt, its reply the only "chunk". */
    mode: 'stream' | 'whole',
  ): AsyncGenerator<AIMessageChunk, void, undefined> {
    const firstTokenMs =
      mode === 'whole'
        ? (this.#options.wholeReplyTimeoutMs ?? ROUTER_DEFAULTS.wholeReplyTimeoutMs)
        : (this.#options.firstTokenTimeoutMs ?? ROUTER_DEFAULTS.firstTokenTimeoutMs);
    const idleMs = this.#options.idleTimeoutMs ?? ROUTER_DEFAULTS.idleTimeoutMs;
    const attempts: Attempt[] = [];
    /** Providers that sent no first token in time during this turn (or call), and the model that hung. */
    const hung = ctx.turn?.hung ?? new Map<ProviderName, string>();
    let settled = false;
    try {
      for (const spec of decision.order) {
        const hungModel = hung.get(spec.provider);
        if (hungModel) {
          attempts.push({
            model: spec.id,
            outcome: 'skipped',
            error: `${spec.provider} sent no ${mode === 'whole' ? 'reply' : 'token'} within ${firstTokenMs} ms to ${hungModel} in this turn`,
          });
          continue;
        }
        const breaker = this.breaker(spec.provider);
        if (!breaker.acquire()) {
          attempts.push({ model: spec.id, outcome: 'skipped', error: breaker.peek().why });
          continue;
        }
        const controller = new AbortController();
        const signal = req.signal ? AbortSignal.any([controller.signal, req.signal]) : controller.signal;
        const runnable = this.#model(spec, decision.maxOutputTokens, req, toolsFor(spec, req, decision), signal);
        // Aborting the signal cancels the request itself, answered or not (see providers.ts).
        const stop = () => controller.abort();
        const started = performance.now();
        const chunks: AIMessageChunk[] = [];
        let iterator: AsyncIterator<AIMessageChunk> | undefined;

        // Phase 1: until the first token nothing has reached the caller; failing over is safe.
        let ended = false;
        try {
          ended = await deadline(
            (async () => {
              if (mode === 'whole') {
                // The reply is whole or nothing: nothing reaches the caller before it is in.
                chunks.push((await runnable.invoke(req.messages, { signal })) as AIMessageChunk);
                return true;
              }
              iterator = (await runnable.stream(req.messages, { signal }))[Symbol.asyncIterator]();
              for (;;) {
                const next = await iterator.next();
                if (next.done) return true;
                chunks.push(next.value);
                if (chunkCarriesToken(next.value)) return false;
              }
            })(),
            firstTokenMs,
            stop,
            mode === 'whole' ? 'no reply' : 'no token',
          );
        } catch (err) {
          stop();
          breaker.failure();
          if (req.signal?.aborted) throw err;
          const timedOut = err instanceof FirstTokenTimeout;
          if (timedOut) hung.set(spec.provider, spec.id);
          attempts.push({ model: spec.id, outcome: timedOut ? 'timeout' : 'error', error: describeError(err) });
          this.#options.logger?.warn(
            { workspaceId: ctx.workspaceId, model: spec.id, error: describeError(err) },
            'model failed before its first token; trying the next',
          );
          continue;
        }

        // Phase 2: committed to this model. Errors now go to the caller, never to a fallback.
        const ttftMs = performance.now() - started;
        this.#ttft.observe(spec.id, ttftMs);
        if (attempts.length > 0)
          this.#options.logger?.info(
            {
              workspaceId: ctx.workspaceId,
              model: spec.id,
              failedOver: attempts.map((a) => `${a.model} ${a.outcome}`),
            },
            `model ${spec.id} served after failover`,
          );
        let failure: string | undefined;
        let finished = ended;
        try {
          for (const c of chunks) yield c;
          while (!finished) {
            const next = await deadline(iterator!.next(), idleMs, stop);
            if (next.done) finished = true;
            else {
              chunks.push(next.value);
              yield next.value;
            }
          }
          breaker.success();
        } catch (err) {
          failure = describeError(err);
          if (!req.signal?.aborted) breaker.failure();
          throw new HeraldError('model_stream_interrupted', {
            message: `${spec.id} stopped in the middle of its reply (${failure})`,
            details: { model: spec.id, error: failure },
            cause: err,
          });
        } finally {
          if (!finished) {
            stop();
            failure ??= 'the caller stopped reading';
          }
          settled = true;
          void this.#account(
            ctx,
            req,
            decision,
            spec,
            chunks,
            attempts,
            ttftMs,
            performance.now() - started,
            failure,
          ).then(settle);
        }
        return;
      }
      const cap = decision.costCap;
      throw new HeraldError('model_unavailable', {
        message:
          `Every model failed before answering: ${attempts.map((a) => `${a.model} (${a.error})`).join('; ')}` +
          (cap
            ? `. No cloud model was tried: the workspace reached its daily cost cap of ${formatUsd(cap.capUsd)} (${formatUsd(cap.spentUsd)} spent today)`
            : ''),
        details: {
          taskKind: decision.taskKind,
          attempts,
          ...(cap ? { dailyCostCapUsd: cap.capUsd, spentTodayUsd: cap.spentUsd } : {}),
        },
      });
    } finally {
      if (!settled) settle(undefined);
    }
  }

  /**
   * The chat model for one attempt, bound to the request's tools. Building a LangChain model
   * (and its SDK client) and binding tools cost more than a loopback call, so both are kept
   * and shared across calls — except Ollama's, which carries the attempt's signal in its
   * `fetch` (its wrapper does not pass the call's signal on) and so is built per attempt.
   */
  #model(
    spec: ModelSpec,
    maxOutputTokens: number,
    req: ChatRequest,
    tools: BindToolsInput[] | undefined,
    signal: AbortSignal,
  ): Runnable<BaseMessageLike[], AIMessageChunk> {
    const options = { maxOutputTokens, ...(req.temperature === undefined ? {} : { temperature: req.temperature }) };
    if (spec.provider === 'ollama') {
      const model = createChatModel(spec, this.#options.providers, { ...options, signal });
      return tools ? bindTools(model, tools) : model;
    }
    const key = `${spec.id}\u0000${maxOutputTokens}\u0000${req.temperature ?? ''}`;
    let entry = this.#models.get(key);
    if (!entry) {
      entry = { model: createChatModel(spec, this.#options.providers, options), bound: new WeakMap() };
      this.#models.set(key, entry);
    }
    if (!tools) return entry.model;
    let bound = entry.bound.get(tools);
    if (!bound) entry.bound.set(tools, (bound = bindTools(entry.model, tools)));
    return bound as Runnable<BaseMessageLike[], AIMessageChunk>;
  }

  async #account(
    ctx: CallContext,
    req: ChatRequest,
    decision: RouteDecision,
    spec: ModelSpec,
    chunks: AIMessageChunk[],
    attempts: Attempt[],
    ttftMs: number,
    totalMs: number,
    error: string | undefined,
  ): Promise<CallResult> {
    const usage = usageOfChunks(chunks, decision.promptTokens, { cumulativeOutput: spec.provider === 'anthropic' });
    const reason =
      decision.reason +
      (attempts.length > 0
        ? `; served by ${spec.id} after ${attempts.map((a) => `${a.model} ${a.outcome}: ${a.error}`).join(', ')}`
        : '');
    const result: CallResult = {
      model: spec.id,
      provider: spec.provider,
      local: spec.local,
      inputTokens: usage.input,
      outputTokens: usage.output,
      costUsd: costUsd(spec, usage.input, usage.output),
      ttftMs,
      totalMs,
      reason,
      attempts,
      ...(error ? { error } : {}),
    };
    try {
      await this.#options.usage.record(ctx.workspaceId, {
        userId: ctx.userId ?? null,
        taskKind: req.taskKind,
        provider: spec.provider,
        model: spec.model,
        local: spec.local,
        inputTokens: usage.input,
        outputTokens: usage.output,
        costUsd: result.costUsd,
        latencyMs: Math.round(ttftMs),
        routeReason: reason.slice(0, 2_000),
      });
    } catch (err) {
      this.#options.logger?.error({ err, workspaceId: ctx.workspaceId, model: spec.id }, 'usage not recorded');
    }
    return result;
  }
}

/** The text of a message: its string content, or its text parts joined (Anthropic's blocks). */
function textOf(message: AIMessageChunk): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

/** The tools bound for this model: `widerTools` when its window holds them, else `tools` (none when empty). */
function toolsFor(spec: ModelSpec, req: ChatRequest, decision: RouteDecision): BindToolsInput[] | undefined {
  if (!req.tools?.length) return undefined;
  const wider = req.widerTools;
  if (wider?.length && wider !== req.tools) {
    const needed =
      decision.promptTokens - estimateToolTokens(req.tools) + estimateToolTokens(wider) + decision.maxOutputTokens;
    if (needed <= spec.contextWindow) return wider;
  }
  return req.tools;
}

function bindTools(model: BaseChatModel, tools: BindToolsInput[]) {
  if (!model.bindTools) throw new Error(`${model.getName()} cannot bind tools`);
  return model.bindTools(tools);
}
