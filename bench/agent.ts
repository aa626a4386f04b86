/**
 * `npm run bench:agent`: what Herald's agent graph adds to a model turn. With the scripted
 * OpenAI-protocol server answering at once (zero latency, loopback), in one run:
 *
 * 1. the same one-tool turn (model → `list_scheduled` → model → reply) through a bare
 *    LangGraph graph — one model node on the same SDK client, one tool node, no checkpointer
 *    (the baseline) — and through Herald's full graph (`AgentChatHandler`: fast path, router
 *    with its ledger, confirmation step, tools, checkpoints in PGlite), paired and alternated;
 *    the same full graph with LangGraph's in-memory saver shows what the database checkpoints
 *    cost;
 *    Herald's turn binds only the tools the message plausibly needs (tool selection), so the
 *    baseline binds that same list; the same pair with every tool bound (the bare graph with
 *    all tools, Herald with `AGENT_TOOLS=all`) is what a turn cost before selection;
 * 2. a fast-path turn ("what's scheduled this week"): no model at all;
 * 3. tool selection on its own: the definitions bound per call for typical messages, every
 *    tool beside the selected ones (estimated tokens), and what choosing costs;
 * 4. over the real WebSocket (Fastify, auth, Redis turn buffers): user_message → first token,
 *    seen by a client in another process (`agent-ws-client.ts`), as a client elsewhere sees it.
 *
 * Every turn starts a new thread. Between two timed turns the database is let finish what the
 * last one left running (the usage ledger batch and the checkpoint, both written after the
 * reply, are timed on their own), so no turn pays for another. Workspace settings are cached
 * as the server caches them (on the principal cache's change signal).
 * Beside wall time, each turn's CPU time (this process) is printed: on a busy machine
 * it moves less than wall time. Prints tables, then one JSON line. BENCH_TURNS (default 300),
 * BENCH_WS_TURNS (default 200).
 */
import type { BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { END, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  AgentChatHandler,
  DbCheckpointSaver,
  modelTools,
  runTool,
  selectTools,
  TOOL_SELECTION_DEFAULTS,
  type ToolEnv,
} from '../agent/index.js';
import {
  createChatModel,
  estimateToolTokens,
  LedgerUsageSink,
  ModelRegistry,
  ModelRouter,
} from '../agent/models/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { createLogger, createWorkspace, openDatabase } from '../core/index.js';
import { PrincipalCache } from '../server/auth/principal-cache.js';
import type { PublishQueue } from '../tools/publishing/index.js';
import { startAgentEnv } from '../test/agent/agent-env.js';
import { startFakeLlm, type FakeChatRequest, type FakeReply } from '../test/fakes/llm/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const N = Number(process.env.BENCH_TURNS ?? 300);
const WS_N = Number(process.env.BENCH_WS_TURNS ?? 200);
const WARMUP = 30;
createLogger({ level: 'silent' });

/** One tool call, then a reply: the one-tool turn both graphs run. */
function oneToolTurn(req: FakeChatRequest): FakeReply {
  const messages = (req.body.messages as Array<{ role: string }> | undefined) ?? [];
  return messages.at(-1)?.role === 'tool'
    ? { text: 'Nothing is planned this week.' }
    : { toolCalls: [{ name: 'list_scheduled', args: {} }] };
}

const fake = await startFakeLlm({ openai: oneToolTurn });
const database = await openDatabase({ kind: 'pglite' });
const workspaceId = (await createWorkspace(database.db, { name: 'Bench', slug: 'bench-agent' })).id;
const registry = new ModelRegistry();
const providers = { openai: { apiKey: 'sk-bench', baseUrl: fake.openaiUrl } };
// The usage ledger batches its rows (written ~20 ms after a call): each turn's batch is
// written before the next timed turn starts, and that write is timed on its own.
const usage = new LedgerUsageSink(database.db);
const router = new ModelRouter({ registry, providers, usage });
// Read-only tools only: nothing is queued or published, so no Redis is needed here.
const deps = { db: database.db, connectors: new ConnectorRegistry([]), queue: {} as PublishQueue, events: null };
const session = { workspaceId, userId: null, role: 'owner' as const, timeZone: 'Europe/Paris', channel: 'bench' };
const env: ToolEnv = { deps, session, now: () => new Date() };

const TURN_TEXT = 'Tell me what I have planned';
// Baseline: a bare graph, the same SDK client the router would pick, the same tool function,
// the same tools Herald binds for this message (and, for the before-selection pair, all of them).
const chat = createChatModel(registry.get('openai/gpt-4o-mini')!, providers);
const bareGraph = (tools: BindToolsInput[]) => {
  const model = chat.bindTools!(tools);
  return new StateGraph(MessagesAnnotation)
    .addNode('model', async (s) => {
      let acc: AIMessageChunk | undefined;
      for await (const chunk of await model.stream(s.messages)) acc = acc ? acc.concat(chunk) : chunk;
      return { messages: [new AIMessage({ content: acc?.content ?? '', tool_calls: acc?.tool_calls ?? [] })] };
    })
    .addNode('tools', async (s) => {
      const last = s.messages.at(-1) as AIMessage;
      return {
        messages: await Promise.all(
          (last.tool_calls ?? []).map(
            async (c) =>
              new ToolMessage({ tool_call_id: c.id!, content: JSON.stringify(await runTool(env, c.name, c.args)) }),
          ),
        ),
      };
    })
    .addEdge(START, 'model')
    .addConditionalEdges('model', (s) => ((s.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END), [
      'tools',
      END,
    ])
    .addEdge('tools', 'model')
    .compile();
};
const bare = bareGraph(selectTools([new HumanMessage(TURN_TEXT)]).tools);
const bareAll = bareGraph(modelTools());

// As the server runs it: workspace settings cached while the principal cache hears no change.
const { cache: changes, unlisten } = await PrincipalCache.listening(database);
const onDb = new AgentChatHandler({ deps, router, checkpointer: new DbCheckpointSaver(database.db), changes });
const inMemory = new AgentChatHandler({ deps, router, checkpointer: new MemorySaver(), changes });
const allTools = new AgentChatHandler({
  deps,
  router,
  checkpointer: new DbCheckpointSaver(database.db),
  changes,
  tools: { mode: 'all' },
});
const sink = {
  token: () => undefined,
  toolStart: () => undefined,
  toolEnd: () => undefined,
  confirm: () => Promise.resolve({ confirmed: false as const, reason: 'rejected' as const }),
};
const principal = { userId: null, workspaceId, role: 'owner' as const, timeZone: 'Europe/Paris', limitKey: 'bench' };

/** Wall time of one turn, after letting the database finish what earlier turns left running. */
async function time(fn: () => Promise<unknown>, cpu?: number[]): Promise<number> {
  await usage.flush();
  await onDb.settled();
  await allTools.settled();
  await database.ping();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpu?.push((c.user + c.system) / 1000);
  return ms;
}
const bareTurn = (cpu?: number[], graph = bare) =>
  time(() => graph.invoke({ messages: [new HumanMessage(TURN_TEXT)] }), cpu);
const heraldTurn = (h: AgentChatHandler, cpu?: number[], text = TURN_TEXT) =>
  time(
    () =>
      h.handle({ principal, turnId: randomUUID(), threadId: randomUUID(), text }, sink, new AbortController().signal),
    cpu,
  );

for (let i = 0; i < WARMUP; i++) {
  await bareTurn();
  await heraldTurn(onDb);
  await heraldTurn(inMemory);
  await bareTurn(undefined, bareAll);
  await heraldTurn(allTools);
}
const base: number[] = [];
const full: number[] = [];
const mem: number[] = [];
const added: number[] = [];
const addedMem: number[] = [];
const baseCpu: number[] = [];
const ledger: number[] = [];
const behind: number[] = [];
/** The ledger batch a turn left, written now (empty when its timer already wrote it). */
async function flushTime(): Promise<number> {
  const t0 = performance.now();
  await usage.flush();
  return performance.now() - t0;
}
/** The checkpoint a turn left to be written behind its answer: how long it still takes. */
async function behindTime(): Promise<number> {
  const t0 = performance.now();
  await onDb.settled();
  return performance.now() - t0;
}
const fullCpu: number[] = [];
const memCpu: number[] = [];
const baseAll: number[] = [];
const fullAll: number[] = [];
const addedAll: number[] = [];
for (let i = 0; i < N; i++) {
  // Alternate the order so drift does not favour one side.
  let b: number, h: number, m: number, ba: number, ha: number;
  if (i % 2 === 0) {
    b = await bareTurn(baseCpu);
    h = await heraldTurn(onDb, fullCpu);
    behind.push(await behindTime());
    ledger.push(await flushTime());
    m = await heraldTurn(inMemory, memCpu);
    ba = await bareTurn(undefined, bareAll);
    ha = await heraldTurn(allTools);
  } else {
    ha = await heraldTurn(allTools);
    ba = await bareTurn(undefined, bareAll);
    m = await heraldTurn(inMemory, memCpu);
    h = await heraldTurn(onDb, fullCpu);
    behind.push(await behindTime());
    ledger.push(await flushTime());
    b = await bareTurn(baseCpu);
  }
  base.push(b);
  full.push(h);
  mem.push(m);
  added.push(h - b);
  addedMem.push(m - b);
  baseAll.push(ba);
  fullAll.push(ha);
  addedAll.push(ha - ba);
}
const calls = fake.requests.length;

const fast: number[] = [];
const fastCpu: number[] = [];
const fastBehind: number[] = [];
for (let i = 0; i < WARMUP + N; i++) {
  const cpu: number[] = [];
  const ms = await heraldTurn(onDb, cpu, "what's scheduled this week");
  const after = await behindTime();
  if (i >= WARMUP) {
    fast.push(ms);
    fastCpu.push(cpu[0]!);
    fastBehind.push(after);
  }
}
if (fake.requests.length !== calls) throw new Error('the fast path called the model');

// Tool selection on its own: what each message is given, against every tool.
const SAMPLES = [
  TURN_TEXT,
  'Schedule a post about our spring sale for tomorrow at 9 on Mastodon',
  'How did last week go?',
  'Post our tip of the week every Monday at 9',
  'Create an affiliate campaign for the new grinder with a tracked link',
  'What is trending in my niche? Suggest hashtags',
  'Set a goal of 1,000 followers by March',
  'thanks!',
];
const allTokens = estimateToolTokens(modelTools());
const selection = SAMPLES.map((text) => {
  const s = selectTools([new HumanMessage(text)], TOOL_SELECTION_DEFAULTS);
  return { text, tools: s.names.length, tokens: estimateToolTokens(s.tools), groups: s.groups.join(' + ') };
});
const selectUs: number[] = [];
for (let i = 0; i < 20_000; i++) {
  const messages = [new HumanMessage(SAMPLES[i % SAMPLES.length]!)];
  const t0 = performance.now();
  selectTools(messages, TOOL_SELECTION_DEFAULTS);
  selectUs.push((performance.now() - t0) * 1000);
}
await fake.close();
await unlisten();
await database.close();

// WebSocket: user_message → first token, the whole API stack on loopback.
const ws = await startAgentEnv();
ws.brain = () => ({ text: 'Hello there, here is your answer.' });
const { p } = await ws.personWithMastodon();
// A socket may send 10 messages a second (docs/protocol.md): turns start at most that often.
const client = fork(fileURLToPath(new URL('./agent-ws-client.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
});
client.send({ url: ws.url, headers: p.auth, turns: WARMUP + WS_N, spacingMs: 110 });
const guard = setTimeout(() => client.kill(), 120_000 + WS_N * 1_000);
const firstToken = (
  await new Promise<number[]>((resolve, reject) => {
    client.once('message', (m) => resolve(m as number[]));
    client.once('error', reject);
    client.once('exit', (code) => reject(new Error(`the WebSocket client exited with ${code}`)));
  })
).slice(WARMUP);
clearTimeout(guard);
await ws.close();

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const q = (a: number[], pct: number) => round(percentile(sorted(a), pct), 3);
printTable(`One-tool turn, ${N} turns each, zero-latency scripted model on loopback (ms)`, [
  {
    path: 'bare LangGraph graph, one model node (baseline)',
    p50: q(base, 50),
    p99: q(base, 99),
    cpu_p50: q(baseCpu, 50),
  },
  { path: 'Herald full graph, checkpoints in PGlite', p50: q(full, 50), p99: q(full, 99), cpu_p50: q(fullCpu, 50) },
  { path: 'Herald full graph, in-memory checkpoints', p50: q(mem, 50), p99: q(mem, 99), cpu_p50: q(memCpu, 50) },
  { path: 'added by Herald (paired, PGlite)', p50: q(added, 50), p99: q(added, 99), cpu_p50: '' },
  { path: 'added by Herald (paired, in-memory)', p50: q(addedMem, 50), p99: q(addedMem, 99), cpu_p50: '' },
  { path: 'checkpoint written after the reply (PGlite)', p50: q(behind, 50), p99: q(behind, 99), cpu_p50: '' },
  { path: 'usage ledger rows written after the turn', p50: q(ledger, 50), p99: q(ledger, 99), cpu_p50: '' },
]);
const ratio = round(q(full, 50) / q(base, 50), 2);
console.log(`Herald / baseline, p50: ${ratio}`);
printTable('Before tool selection: the same turn with every tool bound (ms)', [
  { path: 'bare LangGraph graph, every tool (baseline)', p50: q(baseAll, 50), p99: q(baseAll, 99) },
  { path: 'Herald full graph, AGENT_TOOLS=all (PGlite)', p50: q(fullAll, 50), p99: q(fullAll, 99) },
  { path: 'added by Herald (paired, every tool)', p50: q(addedAll, 50), p99: q(addedAll, 99) },
]);
const ratioAll = round(q(fullAll, 50) / q(baseAll, 50), 2);
console.log(
  `Herald / baseline with every tool, p50: ${ratioAll}; Herald selected / Herald every tool, p50: ${round(q(full, 50) / q(fullAll, 50), 2)}`,
);
printTable(`Tool definitions bound per model call (estimated tokens; every tool: ${allTokens})`, [
  ...selection.map((s) => ({
    message: s.text,
    groups: s.groups,
    tools: s.tools,
    selected: s.tokens,
    every_tool: allTokens,
    ratio: round(s.tokens / allTokens, 2),
  })),
]);
const selectedMax = Math.max(...selection.map((s) => s.tokens));
const selectedMean = round(selection.reduce((n, s) => n + s.tokens, 0) / selection.length);
console.log(
  `selection: mean ${selectedMean} / ${allTokens} tokens (ratio ${round(selectedMean / allTokens, 2)}), max ${selectedMax}; choosing p50 ${q(selectUs, 50)} µs, p99 ${q(selectUs, 99)} µs`,
);
printTable('Other turns (ms)', [
  {
    path: `fast path, "what's scheduled this week" (${N}, no model)`,
    p50: q(fast, 50),
    p99: q(fast, 99),
    cpu_p50: q(fastCpu, 50),
  },
  {
    path: 'fast path: checkpoint written after the reply',
    p50: q(fastBehind, 50),
    p99: q(fastBehind, 99),
    cpu_p50: '',
  },
  {
    path: `WebSocket user_message → first token (${WS_N})`,
    p50: q(firstToken, 50),
    p99: q(firstToken, 99),
    cpu_p50: '',
  },
]);
printResult({
  bench: 'agent',
  turns: N,
  baseline_p50_ms: q(base, 50),
  baseline_p99_ms: q(base, 99),
  herald_p50_ms: q(full, 50),
  herald_p99_ms: q(full, 99),
  ratio,
  overhead_p50_ms: q(added, 50),
  overhead_p99_ms: q(added, 99),
  overhead_in_memory_p50_ms: q(addedMem, 50),
  baseline_all_tools_p50_ms: q(baseAll, 50),
  herald_all_tools_p50_ms: q(fullAll, 50),
  ratio_all_tools: ratioAll,
  overhead_all_tools_p50_ms: q(addedAll, 50),
  tool_tokens_all: allTokens,
  tool_tokens_selected_mean: selectedMean,
  tool_tokens_selected_max: selectedMax,
  tool_tokens_ratio: round(selectedMean / allTokens, 2),
  tool_select_p50_us: q(selectUs, 50),
  tool_select_p99_us: q(selectUs, 99),
  ledger_after_turn_p50_ms: q(ledger, 50),
  checkpoint_after_reply_p50_ms: q(behind, 50),
  baseline_cpu_p50_ms: q(baseCpu, 50),
  herald_cpu_p50_ms: q(fullCpu, 50),
  fastpath_p50_ms: q(fast, 50),
  fastpath_p99_ms: q(fast, 99),
  fastpath_cpu_p50_ms: q(fastCpu, 50),
  fastpath_checkpoint_after_reply_p50_ms: q(fastBehind, 50),
  ws_first_token_p50_ms: q(firstToken, 50),
  ws_first_token_p99_ms: q(firstToken, 99),
});
