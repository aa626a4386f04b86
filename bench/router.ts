/**
 * bench:router — what Herald's router and accounting add to a model call, against the
 * scripted fake LLM server on loopback (zero model latency), in one run:
 *
 * (a) baseline: the same LangChain chat model (OpenAI SDK underneath) streamed directly;
 * (b) Herald: the call through `ModelRouter.stream` (decision, breaker, latency average,
 *     first-token deadline) with the usage ledger on PGlite → added time to the last token,
 *     paired per iteration, p50/p99; and the ledger write that follows, p50;
 * (c) failover: the primary model hangs, the fallback answers → time to first token minus the
 *     configured first-token timeout.
 */
import { HumanMessage } from '@langchain/core/messages';
import { createLogger, createWorkspace, openDatabase } from '../core/index.js';
import {
  createChatModel,
  LedgerUsageSink,
  ModelRegistry,
  ModelRouter,
  type CallContext,
} from '../agent/models/index.js';
import { startFakeLlm } from '../test/fakes/llm/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const N = Number(process.env.BENCH_CALLS ?? 1_000);
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 20);
const TIMEOUT_MS = Number(process.env.BENCH_FIRST_TOKEN_TIMEOUT_MS ?? 200);
createLogger({ level: 'silent' });

const fake = await startFakeLlm({ fallback: { text: 'A short post about the spring sale, with a link.' } });
const database = await openDatabase({ kind: 'pglite' });
const workspaceId = (await createWorkspace(database.db, { name: 'Bench', slug: 'bench-router' })).id;
const registry = new ModelRegistry();
for (const m of registry.list())
  if (m.id !== 'ollama/llama3.2:3b' && m.id !== 'openai/gpt-4o-mini')
    registry.apply({ provider: m.provider, model: m.model, disabled: true });
const providers = { ollama: { baseUrl: fake.ollamaUrl }, openai: { apiKey: 'sk-bench', baseUrl: fake.openaiUrl } };
// Rows written one by one (no batching window), so the ledger figure is the write itself.
const router = new ModelRouter({
  registry,
  providers,
  usage: new LedgerUsageSink(database.db, { batchMs: 0 }),
  firstTokenTimeoutMs: TIMEOUT_MS,
});
const cloudOnly = new ModelRouter({
  registry,
  providers: { openai: providers.openai },
  usage: new LedgerUsageSink(database.db, { batchMs: 0 }),
  firstTokenTimeoutMs: TIMEOUT_MS,
});
const ctx: CallContext = { workspaceId, userId: null, policy: { policy: 'local_first', dailyCostCapUsd: null } };
const messages = [new HumanMessage('Write a short post about our spring sale')];
const direct = createChatModel(registry.get('openai/gpt-4o-mini')!, providers);

async function baselineOnce(): Promise<number> {
  const t0 = performance.now();
  for await (const _ of await direct.stream(messages));
  return performance.now() - t0;
}
async function routedOnce(): Promise<{ ms: number; ledgerMs: number }> {
  const t0 = performance.now();
  const s = await cloudOnly.stream(ctx, { taskKind: 'short_draft', messages });
  for await (const _ of s);
  const ms = performance.now() - t0;
  await s.result;
  return { ms, ledgerMs: performance.now() - t0 - ms };
}

// Warm up both paths (JIT, sockets, PGlite).
for (let i = 0; i < 50; i++) {
  await baselineOnce();
  await routedOnce();
}
const base: number[] = [];
const routed: number[] = [];
const added: number[] = [];
const ledger: number[] = [];
for (let i = 0; i < N; i++) {
  // Alternate the order so drift does not favour one side.
  const [b, r] =
    i % 2 === 0
      ? [await baselineOnce(), await routedOnce()]
      : await (async () => {
          const r2 = await routedOnce();
          return [await baselineOnce(), r2] as const;
        })();
  base.push(b);
  routed.push(r.ms);
  ledger.push(r.ledgerMs);
  added.push(r.ms - b);
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

// Failover: the local model hangs, OpenAI answers.
const failoverTtft: number[] = [];
for (let i = 0; i < FAILOVERS; i++) {
  fake.script('ollama', [{ hang: true }]);
  const t0 = performance.now();
  const s = await router.stream(ctx, { taskKind: 'short_draft', messages });
  let first: number | undefined;
  for await (const _ of s) first ??= performance.now() - t0;
  await s.result;
  failoverTtft.push(first!);
  router.breaker('ollama').success(); // keep the primary in play for the next round
}

const p = (a: number[], q: number) => round(percentile(sorted(a), q), 3);
printTable(`Model call, ${N} calls each, zero-latency fake (ms)`, [
  { path: 'direct SDK stream (baseline)', p50: p(base, 50), p99: p(base, 99) },
  { path: 'router + accounting (to last token)', p50: p(routed, 50), p99: p(routed, 99) },
  { path: 'added by router (paired)', p50: p(added, 50), p99: p(added, 99) },
  { path: 'ledger write after the stream', p50: p(ledger, 50), p99: p(ledger, 99) },
]);
printTable(`Failover: primary hangs, fallback answers (first-token timeout ${TIMEOUT_MS} ms)`, [
  {
    ttft_p50_ms: p(failoverTtft, 50),
    ttft_max_ms: round(Math.max(...failoverTtft), 3),
    extra_over_timeout_p50_ms: round(percentile(sorted(failoverTtft), 50) - TIMEOUT_MS, 3),
  },
]);

await fake.close();
await database.close();
printResult({
  bench: 'router',
  calls: N,
  baseline_p50_ms: p(base, 50),
  routed_p50_ms: p(routed, 50),
  overhead_p50_ms: p(added, 50),
  overhead_p99_ms: p(added, 99),
  ratio: round(percentile(sorted(routed), 50) / percentile(sorted(base), 50), 3),
  ledger_write_p50_ms: p(ledger, 50),
  failover_timeout_ms: TIMEOUT_MS,
  failover_extra_ms: round(percentile(sorted(failoverTtft), 50) - TIMEOUT_MS, 3),
  failover_extra_max_ms: round(Math.max(...failoverTtft) - TIMEOUT_MS, 3),
});
