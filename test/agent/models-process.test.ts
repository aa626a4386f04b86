/**
 * The model layer through `npm start` (the real process, its config, runtime and API), against
 * the scripted model servers: an Ollama that accepts chat requests and never sends headers and
 * refuses a pull with 400, and an OpenAI-compatible server that answers. One boot covers what
 * a user of a real instance sees: a turn of two model calls served by the cloud after one
 * first-token timeout (not one per Ollama model or per call), the abandoned request closed,
 * the log naming the model that served, and a pull that ends with `failed` and Ollama's reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { startHerald, waitForHeraldReady, type HeraldProcess } from '../helpers/herald-process.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { Client } from './agent-env.js';

const FIRST_TOKEN_TIMEOUT_MS = 1_500;

let fake: FakeLlm;
let herald: HeraldProcess;
let base: string;
let dataDir: string;

beforeAll(async () => {
  fake = await startFakeLlm({
    ollamaModels: ['llama3.2:3b', 'qwen2.5:7b'],
    ollama: () => ({ hang: true }),
    // A read-only tool call first, then the answer: two model calls in one turn.
    openai: (req) =>
      (req.body.messages as Array<{ role: string }>).some((m) => m.role === 'tool')
        ? { text: 'Spring is here, and so is our sale.' }
        : { toolCalls: [{ name: 'list_accounts', args: {} }] },
  });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-models-'));
  // llama3.2:3b keeps its built-in 8,192-token window: the turn binds only the tools it
  // plausibly needs (docs/agent.md#tool-selection), so the model is tried — and hangs.
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  herald = startHerald({
    PORT: String(port),
    DATA_DIR: dataDir,
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    LOG_LEVEL: 'info',
    OLLAMA_URL: fake.ollamaUrl,
    OPENAI_BASE_URL: fake.openaiUrl,
    OPENAI_API_KEY: 'sk-test',
    MODEL_FIRST_TOKEN_TIMEOUT_MS: String(FIRST_TOKEN_TIMEOUT_MS),
    MODEL_PULL_ALLOWLIST: 'x/y/z/w:1b',
    CHILD_START_TIMEOUT_MS: '80000',
  });
  await waitForHeraldReady(herald, base);
}, 240_000);

afterAll(async () => {
  if (herald && herald.child.exitCode === null) {
    herald.child.kill('SIGTERM');
    await herald.exited;
  }
  await fake?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function signUp(): Promise<{ token: string }> {
  const res = await fetch(`${base}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `m-${Date.now()}@example.com`, password: 'correct horse battery staple' }),
  });
  expect(res.status).toBe(201);
  return { token: ((await res.json()) as { accessToken: string }).accessToken };
}

async function connect(token: string): Promise<Client> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
  const client = new Client(ws);
  await client.next('ready', (e) => e.type === 'ready');
  return client;
}

describe('the model layer through npm start', () => {
  it('an Ollama that never sends headers costs one timeout, its request is closed, the cloud serves and the log says so', async () => {
    const { token } = await signUp();
    const client = await connect(token);
    const before = fake.requests.length;
    const turnId = await client.say('Write a short post about our spring sale', 'spring');
    const end = await client.end(turnId);
    expect(end.reason).toBe('done');
    expect(client.text(turnId)).toBe('Spring is here, and so is our sale.');

    expect(client.ofTurn(turnId).find((e) => e.type === 'tool_end')).toMatchObject({ name: 'list_accounts', ok: true });
    const chats = fake.requests.slice(before).filter((r) => r.path === '/api/chat');
    // Two Ollama models are installed and the turn calls a model twice: one request, one
    // timeout; the second model and the turn's second call skip the provider that hung.
    expect(chats).toHaveLength(1);
    // The first choice is llama3.2:3b in its own 8,192-token window, as Ollama is asked for it.
    expect(chats[0]!.body).toMatchObject({ model: 'llama3.2:3b', options: { num_ctx: 8_192 } });
    expect(fake.requests.slice(before).filter((r) => r.path === '/v1/chat/completions')).toHaveLength(2);
    await waitFor(() => chats[0]!.closed || undefined, 10_000, 'the abandoned Ollama request to close');

    const served = await waitFor(
      () => herald.logs.find((l) => l.msg === 'model openai/gpt-4o-mini served after failover'),
      10_000,
      'the failover log line',
    );
    expect(served.failedOver).toEqual([
      expect.stringMatching(/^ollama\/llama3\.2:3b timeout$/),
      expect.stringMatching(/^ollama\/.+ skipped$/),
    ]);
    client.close();
  }, 60_000);

  it('a pull Ollama refuses with 400 ends with failed and its reason, and the log names it', async () => {
    const { token } = await signUp();
    const client = await connect(token);
    const pull = (model: string) =>
      fetch(`${base}/v1/models/pull`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model }),
      });
    // Sign-up is open: owning a workspace is not enough to pull what is not allowlisted.
    expect((await pull('llama3.3:70b')).status).toBe(403);
    expect((await pull('x/y/z/w:1b')).status).toBe(202);
    const failed = await client.next('the failed pull', (e) => e.type === 'model_pull' && e.status === 'failed');
    expect(failed).toMatchObject({
      model: 'x/y/z/w:1b',
      error: 'Ollama cannot pull "x/y/z/w:1b": invalid model name (400)',
    });
    const line = await waitFor(
      () => herald.logs.find((l) => l.msg === 'model pull failed'),
      10_000,
      'the pull failure log line',
    );
    expect(line).toMatchObject({ level: 40, code: 'model_pull_failed', reason: failed.error });
    client.close();
  }, 60_000);
});
