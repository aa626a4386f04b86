/**
 * The REST side of the model layer: an admin sets the workspace's model policy and daily cost
 * cap (validated, admin-only), the router reads it back from the workspace, and
 * `GET /v1/usage` reports the routed calls per day, provider and model.
 */
import { HumanMessage } from '@langchain/core/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getWorkspace } from '../../core/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter, modelPolicyOf } from '../../agent/models/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

let api: ApiEnv;
let fake: FakeLlm;

beforeAll(async () => {
  [api, fake] = await Promise.all([startApiEnv(), startFakeLlm()]);
});
afterAll(async () => {
  await fake.close();
  await api.close();
});

const call = (who: Person, method: 'GET' | 'PATCH', url: string, payload?: Record<string, unknown>) =>
  api.app.inject({ method, url, headers: who.auth, ...(payload === undefined ? {} : { payload }) });

describe('workspace model policy', () => {
  it('an admin sets the policy and the cap; the router follows them', async () => {
    const owner = await api.signUp();
    const res = await call(owner, 'PATCH', '/v1/workspace', { models: { policy: 'local_only', dailyCostCapUsd: 2.5 } });
    expect(res.statusCode).toBe(200);
    expect(res.json().settings.models).toEqual({ policy: 'local_only', dailyCostCapUsd: 2.5 });

    // A partial patch keeps the rest.
    const again = await call(owner, 'PATCH', '/v1/workspace', { models: { dailyCostCapUsd: null } });
    expect(again.json().settings.models).toEqual({ policy: 'local_only', dailyCostCapUsd: null });

    const ws = await getWorkspace(api.env.database.db, owner.workspaceId);
    const router = new ModelRouter({
      registry: new ModelRegistry(),
      providers: { ollama: { baseUrl: fake.ollamaUrl }, openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl } },
      usage: new LedgerUsageSink(api.env.database.db),
    });
    const decision = await router.route(
      { workspaceId: owner.workspaceId, policy: modelPolicyOf(ws!.settings) },
      { taskKind: 'planning', messages: [new HumanMessage('plan my week')] },
    );
    expect(decision.order.every((m) => m.local)).toBe(true);
  });

  it('rejects an unknown policy or a negative cap', async () => {
    const owner = await api.signUp();
    for (const models of [{ policy: 'cheapest' }, { dailyCostCapUsd: -1 }, { policy: 'local_first', extra: 1 }]) {
      const res = await call(owner, 'PATCH', '/v1/workspace', { models });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
  });

  it('only an admin may change it', async () => {
    const owner = await api.signUp();
    const inv = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: owner.auth,
      payload: { email: `ed-${Date.now()}@example.com`, role: 'editor' },
    });
    const editor = await api.signUp({ invitationToken: inv.json().token });
    const res = await call(editor, 'PATCH', '/v1/workspace', { models: { policy: 'quality_first' } });
    expect(res.statusCode).toBe(403);
  });
});

describe('usage by provider', () => {
  it('GET /v1/usage groups routed calls by day, provider and model', async () => {
    const me = await api.signUp();
    fake.script('ollama', [{ text: 'local answer', usage: { input: 10, output: 5 } }]);
    fake.script('openai', [{ text: 'cloud answer', usage: { input: 1_000_000, output: 0 } }]);
    const router = new ModelRouter({
      registry: new ModelRegistry(),
      providers: { ollama: { baseUrl: fake.ollamaUrl }, openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl } },
      usage: new LedgerUsageSink(api.env.database.db),
    });
    const ctx = { workspaceId: me.workspaceId, userId: me.userId, policy: modelPolicyOf({}) };
    for (const taskKind of ['intent', 'long_draft'] as const) {
      const s = await router.stream(ctx, { taskKind, messages: [new HumanMessage('hello')] });
      for await (const _ of s);
      await s.result;
    }
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const res = await call(me, 'GET', `/v1/usage?from=${from}&to=${to}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.providers).toEqual([
      { provider: 'ollama', calls: 1, inputTokens: 10, outputTokens: 5, costUsd: '0.000000' },
      { provider: 'openai', calls: 1, inputTokens: 1_000_000, outputTokens: 0, costUsd: '0.150000' },
    ]);
    expect(body.days.map((d: { provider: string; model: string }) => `${d.provider}/${d.model}`)).toEqual([
      'ollama/llama3.2:3b',
      'openai/gpt-4o-mini',
    ]);
    expect(body.totals.costUsd).toBe('0.150000');
  });
});
