/**
 * The model routes over the real API, with the model layer pointed at the scripted Ollama:
 * the registry with health and installed models, and a pull started by an admin whose
 * progress reaches a WebSocket client of the same workspace (and no other).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createModelLayer, pullsSettled, type ModelLayer } from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import type { ModelRouteDeps } from '../../server/routes/models.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let fake: FakeLlm;
let api: ApiEnv;
let layer: ModelLayer;

beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: ['llama3.2:3b'], pullable: ['qwen2.5:7b'], pullSteps: 4 });
  const providers = { ollama: { baseUrl: fake.ollamaUrl } };
  // The layer records usage in the env's database and pull events go to its event bus, which
  // exist once the env has started: the routes read this object when called.
  const models: ModelRouteDeps = { layer: undefined as unknown as ModelLayer, providers, events: null };
  api = await startApiEnv({ models });
  layer = await createModelLayer({ providers, db: api.env.database.db });
  models.layer = layer;
  models.events = api.env.events;
});
afterAll(async () => {
  await pullsSettled();
  await api?.close();
  await fake?.close();
});

function listen(p: Person): Promise<{ ws: WebSocket; events: Array<Record<string, unknown>> }> {
  const events: Array<Record<string, unknown>> = [];
  const ws = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/v1/ws`, { headers: p.auth });
  ws.on('message', (data) => events.push(JSON.parse(String(data)) as Record<string, unknown>));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    const ready = () => (events.some((e) => e.type === 'ready') ? resolve({ ws, events }) : setTimeout(ready, 10));
    ws.once('open', ready);
  });
}

describe('model routes', () => {
  it('lists the registry with provider status and installed Ollama models', async () => {
    const me = await api.signUp();
    const res = await api.app.inject({ method: 'GET', url: '/v1/models', headers: me.auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.ollama).toEqual({ ok: true, version: '0.6.0-fake' });
    expect(body.providers).toEqual(['ollama']);
    const local = body.items.filter((m: { local: boolean }) => m.local).map((m: { id: string }) => m.id);
    expect(local).toEqual(['ollama/llama3.2:3b']);
    const claude = body.items.find((m: { provider: string }) => m.provider === 'anthropic');
    expect(claude).toMatchObject({ configured: false });
  });

  it("an admin's pull streams progress to the workspace's sockets and installs the model", async () => {
    const admin = await api.signUp();
    const outsider = await api.signUp();
    const mine = await listen(admin);
    const theirs = await listen(outsider);
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/models/pull',
      headers: admin.auth,
      payload: { model: 'qwen2.5:7b' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ model: 'qwen2.5:7b', status: 'started' });
    await pullsSettled();
    for (let i = 0; i < 100 && !mine.events.some((e) => e.status === 'success'); i++)
      await new Promise((r) => setTimeout(r, 20));
    const pulls = mine.events.filter((e) => e.type === 'model_pull');
    expect(pulls.at(-1)).toMatchObject({ model: 'qwen2.5:7b', status: 'success' });
    const percents = pulls.map((e) => e.percent).filter((p): p is number => typeof p === 'number');
    expect(percents.length).toBeGreaterThanOrEqual(3);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(theirs.events.filter((e) => e.type === 'model_pull')).toEqual([]);
    mine.ws.close();
    theirs.ws.close();

    const after = (await api.app.inject({ method: 'GET', url: '/v1/models', headers: admin.auth })).json();
    expect(after.items.map((m: { id: string }) => m.id)).toContain('ollama/qwen2.5:7b');
  });

  it('refuses bad names, unknown models report failure, and only admins may pull', async () => {
    const owner = await api.signUp();
    const editor = await api.signUp({
      invitationToken: (
        await api.app.inject({
          method: 'POST',
          url: '/v1/invitations',
          headers: owner.auth,
          payload: { email: 'ed@example.com', role: 'editor' },
        })
      ).json().token,
    });
    const denied = await api.app.inject({
      method: 'POST',
      url: '/v1/models/pull',
      headers: editor.auth,
      payload: { model: 'qwen2.5:7b' },
    });
    expect(denied.statusCode).toBe(403);
    const bad = await api.app.inject({
      method: 'POST',
      url: '/v1/models/pull',
      headers: owner.auth,
      payload: { model: '../../etc/passwd' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.issues[0]).toMatchObject({ in: 'body', field: 'model' });
    const sock = await listen(owner);
    const unknown = await api.app.inject({
      method: 'POST',
      url: '/v1/models/pull',
      headers: owner.auth,
      payload: { model: 'no-such-model:1b' },
    });
    expect(unknown.statusCode).toBe(202);
    await pullsSettled();
    for (let i = 0; i < 100 && !sock.events.some((e) => e.status === 'failed'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(sock.events.find((e) => e.type === 'model_pull' && e.status === 'failed')).toMatchObject({
      model: 'no-such-model:1b',
      status: 'failed',
      error: expect.any(String),
    });
    sock.ws.close();
  });
});
