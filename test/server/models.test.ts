/**
 * The model routes over the real API, with the model layer pointed at the scripted Ollama:
 * the registry with health and installed models, a pull whose progress reaches a WebSocket
 * client of the same workspace (and no other), who may pull what (instance admins, the
 * allowlist), and pulls that fail at the HTTP level (Ollama down, 400) ending in `failed`.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../../core/index.js';
import { createModelLayer, pullsSettled, type ModelLayer } from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import type { ModelRouteDeps } from '../../server/routes/models.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let fake: FakeLlm;
let api: ApiEnv;
let layer: ModelLayer;
let models: ModelRouteDeps;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: ['llama3.2:3b'], pullable: ['qwen2.5:7b', 'gemma2:2b'], pullSteps: 4 });
  const providers = { ollama: { baseUrl: fake.ollamaUrl } };
  // The layer records usage in the env's database and pull events go to its event bus, which
  // exist once the env has started: the routes read this object when called.
  models = {
    layer: undefined as unknown as ModelLayer,
    providers,
    events: null,
    pullAccess: { instanceAdmins: [], allowlist: ['qwen2.5:7b', 'no-such-model:1b', 'x/y/z/w:1b'] },
  };
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  api = await startApiEnv({ models, logger });
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

  it('refuses bad names, unknown models report failure, and editors may not pull', async () => {
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

  it('workspace admins pull only allowlisted models; instance admins pull any', async () => {
    const admin = await api.signUp();
    const pull = (p: Person, model: string) =>
      api.app.inject({ method: 'POST', url: '/v1/models/pull', headers: p.auth, payload: { model } });
    const refused = await pull(admin, 'gemma2:2b');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/instance admins; workspace admins may pull qwen2\.5:7b/),
      details: { model: 'gemma2:2b', required: 'instance_admin' },
    });
    const instanceAdmin = await api.signUp();
    models.pullAccess = { ...models.pullAccess, instanceAdmins: [instanceAdmin.userId] };
    try {
      expect((await pull(instanceAdmin, 'gemma2:2b')).statusCode).toBe(202);
      await pullsSettled();
      expect(fake.installed()).toContain('gemma2:2b');
      // The same person with a read-only key is not an admin here.
      const key = await api.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: instanceAdmin.auth,
        payload: { name: 'reader', scopes: ['read'] },
      });
      const reader = { ...instanceAdmin, auth: { authorization: `Bearer ${key.json().secret as string}` } };
      expect((await pull(reader, 'gemma2:2b')).statusCode).toBe(403);
    } finally {
      models.pullAccess = { ...models.pullAccess, instanceAdmins: [] };
    }
  });

  it('Ollama answering 400 ends the pull with failed and its reason; the log says the same', async () => {
    const owner = await api.signUp();
    const sock = await listen(owner);
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/models/pull',
      headers: owner.auth,
      payload: { model: 'x/y/z/w:1b' },
    });
    expect(res.statusCode).toBe(202);
    await pullsSettled();
    const failed = await waitForEvent(sock.events, 'x/y/z/w:1b');
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'Ollama cannot pull "x/y/z/w:1b": invalid model name (400)',
    });
    expect(logs.find((l) => l.msg === 'model pull failed' && l.model === 'x/y/z/w:1b')).toMatchObject({
      level: 40,
      code: 'model_pull_failed',
      reason: 'Ollama cannot pull "x/y/z/w:1b": invalid model name (400)',
    });
    sock.ws.close();
  });

  it('with Ollama down, the pull ends with failed saying so', async () => {
    const owner = await api.signUp();
    const sock = await listen(owner);
    const down = await createModelLayer({
      providers: { ollama: { baseUrl: `http://127.0.0.1:${await closedPort()}` } },
      db: api.env.database.db,
    });
    models.layer = down;
    try {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/models/pull',
        headers: owner.auth,
        payload: { model: 'qwen2.5:7b' },
      });
      expect(res.statusCode).toBe(202);
      await pullsSettled();
    } finally {
      models.layer = layer;
    }
    const failed = await waitForEvent(sock.events, 'qwen2.5:7b');
    expect(failed).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(
        /^Ollama is not running at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): start it with/,
      ),
    });
    expect(logs.find((l) => l.msg === 'model pull failed' && l.code === 'ollama_unavailable')).toBeDefined();
    sock.ws.close();
  });

  it('without OLLAMA_URL a pull is 503, logged as a warning, not an error', async () => {
    const owner = await api.signUp();
    const unset = await createModelLayer({ providers: {}, db: api.env.database.db });
    models.layer = unset;
    try {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/models/pull',
        headers: owner.auth,
        payload: { model: 'qwen2.5:7b' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('ollama_unavailable');
    } finally {
      models.layer = layer;
    }
    const line = logs.findLast((l) => l.code === 'ollama_unavailable' && l.msg !== 'model pull failed');
    expect(line).toMatchObject({ level: 40, msg: 'request refused: unavailable' });
    expect(logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});

/** The last `model_pull` event for `model`, once it is `success` or `failed`. */
async function waitForEvent(events: Array<Record<string, unknown>>, model: string) {
  for (let i = 0; i < 250; i++) {
    const last = events.filter((e) => e.type === 'model_pull' && e.model === model).at(-1);
    if (last && (last.status === 'success' || last.status === 'failed')) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no final model_pull event for ${model}`);
}

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
