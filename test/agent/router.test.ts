/**
 * The router end to end: real LangChain chat models against the scripted fake LLM server,
 * the usage ledger in a real (PGlite) database. Policy, fallback before the first token
 * (500, hang), no switch after it, the per-provider breaker, context fit and the cost cap.
 */
import { HumanMessage } from '@langchain/core/messages';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, createWorkspace, schema, type Database } from '../../core/index.js';
import {
  estimateTokens,
  LedgerUsageSink,
  ModelRegistry,
  ModelRouter,
  type CallContext,
  type ChatRequest,
  type ModelPolicy,
  type ProviderSettings,
  type RouterOptions,
  startModelTurn,
} from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { openPgliteForTest } from '../helpers/databases.js';
import { waitFor } from '../helpers/processes.js';

let fake: FakeLlm;
let database: Database;
let dispose: () => Promise<void>;
let workspaceId: string;
let providers: ProviderSettings;

beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: ['llama3.2:3b', 'qwen2.5:7b'] });
  ({ database, dispose } = await openPgliteForTest());
  workspaceId = (await createWorkspace(database.db, { name: 'Router', slug: 'router-test' })).id;
  providers = {
    ollama: { baseUrl: fake.ollamaUrl },
    groq: { apiKey: 'gsk-test', baseUrl: fake.groqUrl },
    anthropic: { apiKey: 'sk-ant-test', baseUrl: fake.anthropicUrl },
    openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl },
  };
});
afterAll(async () => {
  await fake.close();
  await dispose();
});
beforeEach(async () => {
  await database.db.delete(schema.usageLedger).where(eq(schema.usageLedger.workspaceId, workspaceId));
  for (const p of ['ollama', 'openai', 'anthropic'] as const) fake.script(p, [{ text: `answer from ${p}` }]);
});

function makeRouter(options: Partial<RouterOptions> = {}) {
  return new ModelRouter({
    registry: new ModelRegistry(),
    providers,
    usage: new LedgerUsageSink(database.db, { cacheMs: 0 }),
    firstTokenTimeoutMs: 300,
    ...options,
  });
}

const ctx = (policy: Partial<ModelPolicy> = {}): CallContext => ({
  workspaceId,
  userId: null,
  policy: { policy: 'local_first', dailyCostCapUsd: null, ...policy },
});

async function run(router: ModelRouter, c: CallContext, req: Partial<ChatRequest> = {}) {
  const stream = await router.stream(c, {
    taskKind: 'short_draft',
    messages: [new HumanMessage('Write a post about our spring sale')],
    ...req,
  });
  let text = '';
  for await (const chunk of stream) text += typeof chunk.content === 'string' ? chunk.content : '';
  return { text, decision: stream.decision, result: (await stream.result)! };
}

const ledger = () =>
  database.db.select().from(schema.usageLedger).where(eq(schema.usageLedger.workspaceId, workspaceId));

describe('routing by task and policy', () => {
  it('local first: a short draft runs on a local model at no cost, and the ledger says why', async () => {
    const { text, decision, result } = await run(makeRouter(), ctx());
    expect(text).toBe('answer from ollama');
    expect(decision.order[0]!.local).toBe(true);
    expect(result).toMatchObject({ local: true, costUsd: 0, provider: 'ollama' });
    const [row] = await ledger();
    expect(row).toMatchObject({ provider: 'ollama', local: true, taskKind: 'short_draft', costUsd: '0.00000000' });
    expect(row!.inputTokens).toBeGreaterThan(0);
    expect(row!.outputTokens).toBeGreaterThan(0);
    expect(row!.routeReason).toMatch(/^short_draft \(tier 1\) under local_first: ollama\/.+local, meets tier 1/);
  });

  it('reasons show observed latency in whole milliseconds', async () => {
    const router = makeRouter({ registry: localAndOpenAi() });
    await run(router, ctx());
    expect(Number.isInteger(router.latencyOf('ollama/llama3.2:3b'))).toBe(false);
    const { decision } = await run(router, ctx());
    expect(decision.reason).toMatch(/ttft \d+ ms/);
    expect(decision.considered[0]!.note).toMatch(/ttft \d+ ms$/);
  });

  it('local first: planning needs tier 3, so it goes to the cheapest tier-3 cloud model', async () => {
    fake.script('anthropic', [{ text: 'a plan', usage: { input: 1000, output: 2000 } }]);
    const { decision, result } = await run(makeRouter(), ctx(), { taskKind: 'planning' });
    expect(decision.order[0]!.id).toBe('openai/gpt-4.1');
    expect(decision.order.map((m) => m.tier).slice(0, 2)).toEqual([3, 3]);
    expect(result.provider).toBe('openai');
  });

  it('quality first: a long draft goes to the best tier (cheaper of equals), local last', async () => {
    fake.script('openai', [{ text: 'long draft', usage: { input: 1000, output: 2000 } }]);
    const { decision, result } = await run(makeRouter(), ctx({ policy: 'quality_first' }), { taskKind: 'long_draft' });
    expect(decision.order[0]!.tier).toBe(3);
    expect(decision.order.at(-1)!.tier).toBe(1);
    expect(decision.order.slice(0, 2).map((m) => m.id)).toEqual(['openai/gpt-4.1', 'anthropic/claude-sonnet-4-5']);
    // $2/M in + $8/M out
    expect(result.costUsd).toBeCloseTo(0.002 + 0.016, 10);
    const [row] = await ledger();
    expect(row!.costUsd).toBe('0.01800000');
  });

  it('local only: planning stays local even below the tier it wants, and says so', async () => {
    const { decision } = await run(makeRouter(), ctx({ policy: 'local_only' }), { taskKind: 'planning' });
    expect(decision.order.every((m) => m.local)).toBe(true);
    expect(decision.order[0]!.id).toBe('ollama/qwen2.5:7b');
    expect(decision.reason).toMatch(/below tier 3 \(tier 2\)/);
    expect(decision.considered.filter((c) => c.skipped).every((c) => /policy is local_only/.test(c.skipped!))).toBe(
      true,
    );
  });

  it('a call with tools skips models without tool calling', async () => {
    const registry = new ModelRegistry();
    registry.apply({ provider: 'ollama', model: 'llama3.2:3b', toolCalling: false });
    fake.script('ollama', [{ toolCalls: [{ name: 'lookup', args: { q: 'x' } }] }]);
    const { decision } = await run(makeRouter({ registry }), ctx(), {
      tools: [{ type: 'function', function: { name: 'lookup', description: 'find', parameters: { type: 'object' } } }],
    });
    expect(decision.order[0]!.id).toBe('ollama/qwen2.5:7b');
    expect(decision.considered.find((c) => c.model === 'ollama/llama3.2:3b')!.skipped).toMatch(/no tool calling/);
  });
});

describe('usage as the provider reports it', () => {
  it("Anthropic's output tokens are message_delta's total, not that plus message_start's first token", async () => {
    fake.script('anthropic', [{ text: 'a short answer', usage: { input: 42, output: 7 } }]);
    const { result } = await run(makeRouter({ registry: only('anthropic/claude-haiku-4-5') }), ctx(), {
      taskKind: 'coaching',
    });
    expect(result).toMatchObject({ provider: 'anthropic', inputTokens: 42, outputTokens: 7 });
    const [row] = await ledger();
    expect(row).toMatchObject({ inputTokens: 42, outputTokens: 7, costUsd: ((42 * 1 + 7 * 5) / 1e6).toFixed(8) });
  });
});

describe('fallback before the first token, never after', () => {
  it('a 500 from the chosen model falls back to the next one', async () => {
    fake.script('ollama', [{ status: 500 }]);
    fake.script('openai', [{ text: 'from the fallback' }]);
    const router = makeRouter({ registry: localAndOpenAi() });
    const { text, result } = await run(router, ctx());
    expect(text).toBe('from the fallback');
    expect(result.model).toBe('openai/gpt-4o-mini');
    expect(result.attempts).toEqual([
      { model: 'ollama/llama3.2:3b', outcome: 'error', error: expect.stringMatching(/500/) },
    ]);
    const [row] = await ledger();
    expect(row!.routeReason).toMatch(/served by openai\/gpt-4o-mini after ollama\/llama3\.2:3b error/);
  });

  it('a model that hangs before answering is abandoned at the first-token timeout', async () => {
    fake.script('ollama', [{ hang: true }]);
    fake.script('openai', [{ text: 'on time' }]);
    const { text, result } = await run(makeRouter({ registry: localAndOpenAi() }), ctx());
    expect(text).toBe('on time');
    expect(result.attempts[0]).toMatchObject({ model: 'ollama/llama3.2:3b', outcome: 'timeout' });
  });

  // A real Ollama still loading a model has not sent headers; an abandoned request must not
  // keep it working. The fake holds a `hang` request open until the client goes away.
  it.each([
    { hangs: 'ollama', protocol: 'ollama', fallback: 'openai/gpt-4o-mini' },
    { hangs: 'groq', protocol: 'openai', fallback: 'ollama/llama3.2:3b' },
    { hangs: 'anthropic', protocol: 'anthropic', fallback: 'ollama/llama3.2:3b' },
    { hangs: 'openai', protocol: 'openai', fallback: 'ollama/llama3.2:3b' },
  ] as const)(
    'a $hangs request that never sends headers is closed when abandoned',
    async ({ hangs, protocol, fallback }) => {
      const primary = new ModelRegistry().list().find((m) => m.provider === hangs)!;
      fake.script(protocol, [{ hang: true }]);
      fake.script(fallback.startsWith('ollama') ? 'ollama' : 'openai', [{ text: 'served' }]);
      const before = fake.requests.length;
      // Local first puts Ollama first for a tier-1 task; quality first puts a tier-2 cloud model first.
      const { text, result } = await run(
        makeRouter({ registry: only(primary.id, fallback) }),
        ctx({ policy: hangs === 'ollama' ? 'local_first' : 'quality_first' }),
        { taskKind: hangs === 'ollama' ? 'intent' : 'coaching' },
      );
      expect(text).toBe('served');
      expect(result.attempts).toEqual([{ model: primary.id, outcome: 'timeout', error: expect.any(String) }]);
      const hung = fake.requests.slice(before).find((r) => r.body.model === primary.model)!;
      await waitFor(() => hung.closed || undefined, 5_000, `the abandoned ${hangs} request to close`);
    },
  );

  it('a provider that hung is skipped for the rest of the call and counts once toward its breaker', async () => {
    fake.script('ollama', () => ({ hang: true }));
    fake.script('openai', () => ({ text: 'from the cloud' }));
    const router = makeRouter({
      registry: only('ollama/llama3.2:3b', 'ollama/qwen2.5:7b', 'openai/gpt-4o-mini'),
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    const before = fake.requests.filter((r) => r.protocol === 'ollama').length;
    const { text, decision, result } = await run(router, ctx(), { taskKind: 'intent' });
    expect(
      decision.order
        .map((m) => m.id)
        .slice(0, 2)
        .sort(),
    ).toEqual(['ollama/llama3.2:3b', 'ollama/qwen2.5:7b']);
    expect(text).toBe('from the cloud');
    const [first, second] = decision.order;
    expect(result.attempts).toEqual([
      { model: first!.id, outcome: 'timeout', error: 'no token within 300 ms' },
      {
        model: second!.id,
        outcome: 'skipped',
        error: `ollama sent no token within 300 ms to ${first!.id} in this turn`,
      },
    ]);
    expect(fake.requests.filter((r) => r.protocol === 'ollama').length - before).toBe(1);
    // One failure of two: still closed. Two timeouts in one call would have opened it.
    expect(router.breaker('ollama').state).toBe('closed');
  });

  it("a turn's later calls skip the provider that hung in an earlier one", async () => {
    fake.script('ollama', () => ({ hang: true }));
    fake.script('openai', () => ({ text: 'from the cloud' }));
    const router = makeRouter({ registry: localAndOpenAi() });
    const turn = startModelTurn();
    const ollamaCalls = () => fake.requests.filter((r) => r.protocol === 'ollama').length;
    const before = ollamaCalls();
    const first = await run(router, { ...ctx(), turn }, { taskKind: 'intent' });
    expect(first.result.attempts[0]).toMatchObject({ model: 'ollama/llama3.2:3b', outcome: 'timeout' });
    const second = await run(router, { ...ctx(), turn }, { taskKind: 'intent' });
    expect(second.text).toBe('from the cloud');
    expect(second.result.attempts).toEqual([
      {
        model: 'ollama/llama3.2:3b',
        outcome: 'skipped',
        error: 'ollama sent no token within 300 ms to ollama/llama3.2:3b in this turn',
      },
    ]);
    expect(ollamaCalls() - before).toBe(1);
    // A new turn tries it again.
    const next = await run(router, ctx(), { taskKind: 'intent' });
    expect(next.result.attempts[0]).toMatchObject({ outcome: 'timeout' });
  });

  it('after a failover the log names the model that served', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    fake.script('ollama', [{ status: 500 }]);
    fake.script('openai', [{ text: 'from the fallback' }]);
    await run(makeRouter({ registry: localAndOpenAi(), logger }), ctx());
    expect(lines.find((l) => l.msg === 'model openai/gpt-4o-mini served after failover')).toMatchObject({
      level: 30,
      model: 'openai/gpt-4o-mini',
      failedOver: ['ollama/llama3.2:3b error'],
    });
  });

  it('a stream that opens but sends no token also times out and falls back', async () => {
    fake.script('anthropic', [{ text: 'never sent', hangAfterChunks: 0 }]);
    fake.script('openai', [{ text: 'fallback' }]);
    const registry = new ModelRegistry();
    for (const m of registry.list())
      if (m.id !== 'anthropic/claude-haiku-4-5' && m.id !== 'openai/gpt-4o-mini')
        registry.apply({ provider: m.provider, model: m.model, disabled: true });
    const { text, result } = await run(makeRouter({ registry }), ctx({ policy: 'quality_first' }), {
      taskKind: 'coaching',
    });
    expect(text).toBe('fallback');
    expect(result.attempts[0]).toMatchObject({ model: 'anthropic/claude-haiku-4-5', outcome: 'timeout' });
  });

  it('once tokens reached the caller, a failure errors the stream and nothing else is called', async () => {
    fake.script('ollama', [{ text: 'one two three four', cutAfterChunks: 2 }]);
    const openaiCallsBefore = fake.requests.filter((r) => r.protocol === 'openai').length;
    const stream = await makeRouter({ registry: localAndOpenAi() }).stream(ctx(), {
      taskKind: 'short_draft',
      messages: [new HumanMessage('count')],
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of stream) seen.push(String(c.content));
      })(),
    ).rejects.toMatchObject({ code: 'model_stream_interrupted', details: { model: 'ollama/llama3.2:3b' } });
    expect(seen.join('')).toBe('one two ');
    expect(fake.requests.filter((r) => r.protocol === 'openai').length).toBe(openaiCallsBefore);
    const result = await stream.result;
    expect(result).toMatchObject({ model: 'ollama/llama3.2:3b', error: expect.any(String) });
    expect(await ledger()).toHaveLength(1);
  });

  it('when every candidate fails, the caller gets model_unavailable with each attempt', async () => {
    fake.script('ollama', () => ({ status: 500 }));
    fake.script('openai', [{ status: 429 }]);
    await expect(run(makeRouter({ registry: localAndOpenAi() }), ctx({ policy: 'local_first' }))).rejects.toMatchObject(
      {
        code: 'model_unavailable',
        details: { attempts: [{ outcome: 'error' }, { outcome: 'error' }] },
      },
    );
  });
});

describe('circuit breaker per provider', () => {
  it('opens after repeated failures, skips the provider, and a half-open probe closes it', async () => {
    let now = 1_000_000;
    const router = makeRouter({
      registry: localAndOpenAi(),
      breaker: { failureThreshold: 2, cooldownMs: 30_000, now: () => now },
    });
    fake.script('ollama', () => ({ status: 500 }));
    fake.script('openai', () => ({ text: 'cloud' }));
    await run(router, ctx());
    await run(router, ctx());
    expect(router.breaker('ollama').state).toBe('open');
    const ollamaCalls = fake.requests.filter((r) => r.protocol === 'ollama').length;

    const { decision, result } = await run(router, ctx());
    expect(decision.order[0]!.provider).toBe('openai');
    expect(decision.considered.find((c) => c.model === 'ollama/llama3.2:3b')!.skipped).toMatch(/circuit open/);
    expect(result.attempts).toEqual([]);
    expect(fake.requests.filter((r) => r.protocol === 'ollama').length).toBe(ollamaCalls);

    now += 30_000;
    expect(router.breaker('ollama').state).toBe('half_open');
    fake.script('ollama', [{ text: 'back' }]);
    const probe = await run(router, ctx());
    expect(probe.text).toBe('back');
    expect(router.breaker('ollama').state).toBe('closed');
    expect(router.latencyOf('ollama/llama3.2:3b')).toBeGreaterThan(0);
  });

  it('a failed half-open probe opens the breaker again at once', async () => {
    let now = 0;
    const router = makeRouter({
      registry: localAndOpenAi(),
      breaker: { failureThreshold: 1, cooldownMs: 10_000, now: () => now },
    });
    fake.script('ollama', () => ({ status: 500 }));
    fake.script('openai', () => ({ text: 'cloud' }));
    await run(router, ctx());
    now += 10_000;
    await run(router, ctx());
    expect(router.breaker('ollama').state).toBe('open');
  });
});

describe('context length', () => {
  const huge = 'word '.repeat(40_000); // ~50k tokens: over the local 8k/32k windows

  it('a prompt too long for local models goes to a cloud model whose window fits', async () => {
    const { decision } = await run(makeRouter(), ctx(), { messages: [new HumanMessage(huge)] });
    expect(decision.order[0]!.local).toBe(false);
    expect(decision.order[0]!.contextWindow).toBeGreaterThan(decision.promptTokens);
    expect(decision.considered.find((c) => c.model === 'ollama/qwen2.5:7b')!.skipped).toMatch(
      /exceed its 32768-token window/,
    );
  });

  it('with local only, it is refused with the reason', async () => {
    await expect(
      makeRouter().stream(ctx({ policy: 'local_only' }), { taskKind: 'summary', messages: [new HumanMessage(huge)] }),
    ).rejects.toMatchObject({ code: 'model_context_overflow', status: 422 });
  });
});

describe('prompt size estimate', () => {
  it('counts the messages and the bound tools, each tool list by its own size', () => {
    const messages = [new HumanMessage('x'.repeat(400))];
    const tool = (name: string) => ({
      type: 'function' as const,
      function: { name, description: 'd'.repeat(200), parameters: {} },
    });
    const one = [tool('a')];
    const two = [tool('a'), tool('b')];
    const bare = estimateTokens(messages);
    expect(bare).toBe(Math.ceil((400 + 16) / 4));
    expect(estimateTokens(messages, one)).toBe(Math.ceil((400 + 16 + JSON.stringify(one).length) / 4));
    // The same list again, then another list: each is counted at its own size.
    expect(estimateTokens(messages, one)).toBe(Math.ceil((400 + 16 + JSON.stringify(one).length) / 4));
    expect(estimateTokens(messages, two)).toBe(Math.ceil((400 + 16 + JSON.stringify(two).length) / 4));
  });
});

describe('daily cost cap', () => {
  async function spend(usd: string) {
    await database.db.insert(schema.usageLedger).values({
      workspaceId,
      taskKind: 'planning',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      local: false,
      costUsd: usd,
    });
  }

  it('under the cap, cloud models serve as the policy says', async () => {
    await spend('0.50');
    const { decision } = await run(makeRouter(), ctx({ dailyCostCapUsd: 1 }), { taskKind: 'planning' });
    expect(decision.order[0]!.local).toBe(false);
  });

  it('over the cap, only local models serve, and the reason says so', async () => {
    await spend('1.25');
    const { decision, result } = await run(makeRouter(), ctx({ dailyCostCapUsd: 1 }), { taskKind: 'planning' });
    expect(decision.order.every((m) => m.local)).toBe(true);
    expect(decision.reason).toMatch(/cost cap reached/);
    expect(result.costUsd).toBe(0);
  });

  it('a cap under half a cent reads as itself, not "$0.00"', async () => {
    await spend('0.0041');
    const cloudOnly = makeRouter({ providers: { ...providers, ollama: undefined } });
    await expect(
      cloudOnly.stream(ctx({ dailyCostCapUsd: 0.004 }), { taskKind: 'intent', messages: [['user', 'hi']] }),
    ).rejects.toMatchObject({
      code: 'model_cost_cap_reached',
      message: expect.stringContaining('daily model cost cap of $0.004 ($0.0041 spent today)'),
    });
  });

  it('over the cap with the local model failing, the error says the cap is why no cloud model was tried', async () => {
    await spend('1.5');
    fake.script('ollama', [{ status: 500 }]);
    await expect(run(makeRouter({ registry: localAndOpenAi() }), ctx({ dailyCostCapUsd: 1 }))).rejects.toMatchObject({
      code: 'model_unavailable',
      message: expect.stringMatching(
        /ollama\/llama3\.2:3b \(500 .*\)\. No cloud model was tried: the workspace reached its daily cost cap of \$1\.00 \(\$1\.50 spent today\)$/,
      ),
      details: { dailyCostCapUsd: 1, spentTodayUsd: 1.5 },
    });
  });

  it('over the cap with no local model, the call is refused', async () => {
    await spend('2');
    const cloudOnly = makeRouter({ providers: { ...providers, ollama: undefined } });
    await expect(
      cloudOnly.stream(ctx({ dailyCostCapUsd: 1 }), { taskKind: 'intent', messages: [['user', 'hi']] }),
    ).rejects.toMatchObject({
      code: 'model_cost_cap_reached',
      details: { spentTodayUsd: 2, dailyCostCapUsd: 1 },
    });
  });
});

/** Registry with only the small local model and OpenAI's small model. */
function localAndOpenAi(): ModelRegistry {
  return only('ollama/llama3.2:3b', 'openai/gpt-4o-mini');
}

/** The built-in registry with every model but these disabled. */
function only(...ids: string[]): ModelRegistry {
  const registry = new ModelRegistry();
  for (const m of registry.list())
    if (!ids.includes(m.id)) registry.apply({ provider: m.provider, model: m.model, disabled: true });
  return registry;
}

describe('whole-text calls (complete): the streaming path, asked without streaming', () => {
  const coaching = (req: Partial<ChatRequest> = {}): ChatRequest => ({
    taskKind: 'coaching',
    messages: [new HumanMessage('Write my morning message')],
    ...req,
  });

  it.each([
    { id: 'openai/gpt-4o-mini', protocol: 'openai', path: '/v1/chat/completions' },
    { id: 'groq/llama-3.3-70b-versatile', protocol: 'openai', path: '/openai/v1/chat/completions' },
    { id: 'anthropic/claude-haiku-4-5', protocol: 'anthropic', path: '/v1/messages' },
  ] as const)('$id is asked without streaming, routed and recorded like a stream', async ({ id, protocol, path }) => {
    fake.script(protocol, [{ text: 'Good morning! Two posts yesterday.', usage: { input: 42, output: 7 } }]);
    const before = fake.requests.length;
    const { text, decision, result } = await makeRouter({ registry: only(id) }).complete(ctx(), coaching());
    expect(text).toBe('Good morning! Two posts yesterday.');
    expect(decision.order[0]!.id).toBe(id);
    const sent = fake.requests.slice(before).filter((r) => r.path === path);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.stream).not.toBe(true);
    expect(result).toMatchObject({ model: id, inputTokens: 42, outputTokens: 7, attempts: [] });
    const [row] = await ledger();
    expect(row).toMatchObject({ taskKind: 'coaching', inputTokens: 42, outputTokens: 7, routeReason: decision.reason });
    expect(Number(row!.costUsd)).toBeCloseTo(result.costUsd, 8);
  });

  it('a 500 from the chosen model falls back to the next one, and the ledger says so', async () => {
    fake.script('anthropic', [{ status: 500 }]);
    fake.script('openai', [{ text: 'from the fallback' }]);
    const router = makeRouter({ registry: only('anthropic/claude-haiku-4-5', 'openai/gpt-4o-mini') });
    const { text, decision, result } = await router.complete(ctx({ policy: 'quality_first' }), coaching());
    expect(decision.order[0]!.id).toBe('anthropic/claude-haiku-4-5');
    expect(text).toBe('from the fallback');
    expect(result.model).toBe('openai/gpt-4o-mini');
    expect(result.attempts).toEqual([
      { model: 'anthropic/claude-haiku-4-5', outcome: 'error', error: expect.stringMatching(/500/) },
    ]);
    const rows = await ledger();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.routeReason).toMatch(/served by openai\/gpt-4o-mini after anthropic\/claude-haiku-4-5 error/);
  });

  it('a model with no reply in time is abandoned (its request closed) for the next one', async () => {
    fake.script('anthropic', [{ hang: true }]);
    fake.script('openai', [{ text: 'on time' }]);
    const router = makeRouter({
      registry: only('anthropic/claude-haiku-4-5', 'openai/gpt-4o-mini'),
      wholeReplyTimeoutMs: 300,
    });
    const before = fake.requests.length;
    const { text, decision, result } = await router.complete(ctx({ policy: 'quality_first' }), coaching());
    expect(decision.order[0]!.id).toBe('anthropic/claude-haiku-4-5');
    expect(text).toBe('on time');
    expect(result.attempts).toEqual([
      { model: 'anthropic/claude-haiku-4-5', outcome: 'timeout', error: 'no reply within 300 ms' },
    ]);
    const hung = fake.requests.slice(before).find((r) => r.body.model === 'claude-haiku-4-5')!;
    await waitFor(() => hung.closed || undefined, 5_000, 'the abandoned request to close');
  });

  it('the breaker counts its failures and an open provider is not called', async () => {
    // Local first with no local model: the cheaper cloud model (gpt-4o-mini) goes first.
    fake.script('openai', () => ({ status: 500 }));
    fake.script('anthropic', () => ({ text: 'steady' }));
    const router = makeRouter({
      registry: only('anthropic/claude-haiku-4-5', 'openai/gpt-4o-mini'),
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    await router.complete(ctx(), coaching());
    await router.complete(ctx(), coaching());
    expect(router.breaker('openai').state).toBe('open');
    const calls = () => fake.requests.filter((r) => r.body.model === 'gpt-4o-mini').length;
    const before = calls();
    const { text, decision, result } = await router.complete(ctx(), coaching());
    expect(text).toBe('steady');
    expect(result.model).toBe('anthropic/claude-haiku-4-5');
    expect(decision.considered.find((c) => c.model === 'openai/gpt-4o-mini')!.skipped).toMatch(/circuit open/);
    expect(calls()).toBe(before);
  });

  it('when every candidate fails, it throws model_unavailable and records nothing', async () => {
    fake.script('openai', [{ status: 500 }]);
    const router = makeRouter({ registry: only('openai/gpt-4o-mini') });
    await expect(router.complete(ctx(), coaching())).rejects.toMatchObject({ code: 'model_unavailable' });
    expect(await ledger()).toHaveLength(0);
  });
});
