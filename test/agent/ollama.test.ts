/**
 * Ollama management against the fake Ollama: health, installed models into the registry,
 * a pull with progress events, an unknown model, a refused pull, and the message when
 * Ollama is not running (every failed pull ends with a `failed` event).
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPullEvent } from '../../core/index.js';
import { ModelRegistry, OllamaManager } from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: ['llama3.2:3b', 'gemma2:2b'], pullable: ['qwen2.5:7b'], pullSteps: 5 });
});
afterAll(() => fake.close());

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('Ollama management', () => {
  it('reports health and lists installed models, which the registry picks up', async () => {
    const ollama = new OllamaManager({ baseUrl: fake.ollamaUrl });
    expect(await ollama.health()).toEqual({ ok: true, version: '0.6.0-fake' });
    const models = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(['llama3.2:3b', 'gemma2:2b']);
    const registry = new ModelRegistry();
    registry.syncOllama(models.map((m) => m.name));
    const local = registry.list().filter((m) => m.local);
    expect(local.map((m) => m.id).sort()).toEqual(['ollama/gemma2:2b', 'ollama/llama3.2:3b']);
    expect(registry.get('ollama/gemma2:2b')).toMatchObject({ contextWindow: 8192, tier: 1, toolCalling: false });
    expect(registry.get('ollama/llama3.2:3b')!.toolCalling).toBe(true);
  });

  it('pulls a model with progress events, ending in success', async () => {
    const events: ModelPullEvent[] = [];
    await new OllamaManager({ baseUrl: fake.ollamaUrl }).pull('ws-1', 'qwen2.5:7b', (e) => {
      events.push(e);
    });
    const percents = events.map((e) => e.percent).filter((p) => p !== null);
    expect(percents).toEqual([20, 40, 60, 80, 100]);
    expect(events[0]).toMatchObject({
      type: 'model.pull',
      workspaceId: 'ws-1',
      model: 'qwen2.5:7b',
      status: 'pulling manifest',
    });
    expect(events.at(-1)!.status).toBe('success');
    expect(fake.installed()).toContain('qwen2.5:7b');
  });

  it('an unknown model fails with model_not_found and a failed event', async () => {
    const events: ModelPullEvent[] = [];
    await expect(
      new OllamaManager({ baseUrl: fake.ollamaUrl }).pull('ws-1', 'no-such-model', (e) => {
        events.push(e);
      }),
    ).rejects.toMatchObject({ code: 'model_not_found' });
    expect(events.at(-1)).toMatchObject({ status: 'failed', error: expect.stringMatching(/does not exist/) });
  });

  it('says clearly when Ollama is not running', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const ollama = new OllamaManager({ baseUrl: url });
    expect(await ollama.health()).toEqual({
      ok: false,
      message: expect.stringMatching(/Ollama is not running at .*ollama serve/),
    });
    await expect(ollama.list()).rejects.toMatchObject({ code: 'ollama_unavailable', status: 503 });
    const events: ModelPullEvent[] = [];
    await expect(ollama.pull('ws', 'x', (e) => void events.push(e))).rejects.toMatchObject({
      code: 'ollama_unavailable',
    });
    // Even a pull that never reached Ollama ends with `failed`, saying why.
    expect(events).toEqual([
      expect.objectContaining({ status: 'failed', error: expect.stringMatching(/not running at .*\(ECONNREFUSED\)/) }),
    ]);
  });

  it('a pull Ollama refuses (400 invalid model name) fails with its reason, not "not running"', async () => {
    const events: ModelPullEvent[] = [];
    await expect(
      new OllamaManager({ baseUrl: fake.ollamaUrl }).pull('ws-1', 'a/b/c/d:1b', (e) => void events.push(e)),
    ).rejects.toMatchObject({
      code: 'model_pull_failed',
      status: 502,
      details: { model: 'a/b/c/d:1b', reason: 'invalid model name', status: 400 },
    });
    expect(events).toEqual([
      expect.objectContaining({ status: 'failed', error: 'Ollama cannot pull "a/b/c/d:1b": invalid model name (400)' }),
    ]);
  });
});
