/**
 * bench:mcp — `tools/call` of a read-only tool (`list_posts`, 20 posts) through MCP over
 * Streamable HTTP at `/mcp` (stateless mode, as deployed by default), beside the same service
 * call over REST (`GET /v1/posts?limit=20`, the baseline) on the same Herald in the same run.
 * Requests are sequential (latency, not throughput) and interleaved MCP/REST so drift hits
 * both alike; both carry the same `hk_` API key over keep-alive loopback connections and
 * read the whole answer. Goal (issue 24): MCP p50 ≤ 1.5 × REST p50.
 *
 * A real Herald from the test helpers (database per TEST_DATABASE_URL or PGlite, Redis at
 * REDIS_URL), a workspace with BENCH_POSTS drafts (default 60). BENCH_REQUESTS per side
 * (default 500) after BENCH_WARMUP (default 100).
 */
import { performance } from 'node:perf_hooks';
import { createBlueskyConnector } from '../connectors/bluesky/index.js';
import { startApiEnv } from '../test/helpers/api-env.js';
import { percentile, printResult, printTable, round } from './lib.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 500);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 100);
const POSTS = Number(process.env.BENCH_POSTS ?? 60);

const api = await startApiEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
try {
  const me = await api.signUp();
  const accountId = await api.env.addAccount(me.workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:bench${Date.now()}`,
    handle: 'bench.test',
    credentials: {
      service: 'http://127.0.0.1:9',
      did: 'did:plc:bench',
      handle: 'bench.test',
      accessJwt: 'a',
      refreshJwt: 'r',
    },
  });
  const keyRes = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: me.auth,
    payload: { name: 'bench', scopes: ['write'] },
  });
  const key = (keyRes.json() as { secret: string }).secret;
  for (let i = 0; i < POSTS; i++) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: { authorization: `Bearer ${key}` },
      payload: { content: `Bench post ${i}`, targets: [{ socialAccountId: accountId }], draft: true },
    });
    if (res.statusCode !== 201) throw new Error(`seeding failed: ${res.statusCode} ${res.body}`);
  }

  let id = 0;
  const mcp = async () => {
    const res = await fetch(`${api.baseUrl}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: ++id,
        method: 'tools/call',
        params: { name: 'list_posts', arguments: { limit: 20 } },
      }),
    });
    const body = (await res.json()) as { result?: { structuredContent?: { items?: unknown[] }; isError?: boolean } };
    if (res.status !== 200 || body.result?.isError || body.result?.structuredContent?.items?.length !== 20)
      throw new Error(`MCP call failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  };
  const rest = async () => {
    const res = await fetch(`${api.baseUrl}/v1/posts?limit=20`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.json()) as { items?: unknown[] };
    if (res.status !== 200 || body.items?.length !== 20) throw new Error(`REST call failed: ${res.status}`);
  };
  const time = async (fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  for (let i = 0; i < WARMUP; i++) {
    await mcp();
    await rest();
  }
  const mcpMs: number[] = [];
  const restMs: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    // Alternate which goes first, so neither always follows the other.
    if (i % 2 === 0) {
      mcpMs.push(await time(mcp));
      restMs.push(await time(rest));
    } else {
      restMs.push(await time(rest));
      mcpMs.push(await time(mcp));
    }
  }
  mcpMs.sort((a, b) => a - b);
  restMs.sort((a, b) => a - b);
  const row = (name: string, xs: number[]) => ({
    path: name,
    requests: xs.length,
    p50_ms: round(percentile(xs, 50), 2),
    p90_ms: round(percentile(xs, 90), 2),
    p99_ms: round(percentile(xs, 99), 2),
  });
  const ratio = percentile(mcpMs, 50) / percentile(restMs, 50);
  printTable(`list posts (20 of ${POSTS}), sequential, one API key`, [
    row('MCP tools/call list_posts (stateless /mcp)', mcpMs),
    row('REST GET /v1/posts?limit=20 (baseline)', restMs),
  ]);
  console.log(`\nMCP p50 / REST p50 = ${round(ratio, 2)} (goal ≤ 1.5)`);
  printResult({
    bench: 'mcp',
    p50_ms: round(percentile(mcpMs, 50), 2),
    p99_ms: round(percentile(mcpMs, 99), 2),
    rest_p50_ms: round(percentile(restMs, 50), 2),
    rest_p99_ms: round(percentile(restMs, 99), 2),
    ratio: round(ratio, 2),
  });
} finally {
  await api.close();
}
