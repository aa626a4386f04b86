/**
 * The content suite over REST: `POST /v1/campaigns/content` writes through the model router
 * (a real `ModelRouter` to the scripted OpenAI-protocol server) under the workspace's policy,
 * keeps the texts that carry their disclosure and link within the platform's limit, and drops
 * an invented testimonial with the reason. Without a model layer the route says so.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelLayer, type ModelLayer } from '../../agent/models/index.js';
import type { ModelRouteDeps } from '../../server/routes/models.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';

let fake: FakeLlm;
let api: ApiEnv;
let bare: ApiEnv;
let models: ModelRouteDeps;

beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: [] });
  const providers = { openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl } };
  models = {
    layer: undefined as unknown as ModelLayer,
    providers,
    events: null,
    pullAccess: { instanceAdmins: [], allowlist: [] },
  };
  api = await startApiEnv({ models });
  models.layer = await createModelLayer({ providers, db: api.env.database.db });
  bare = await startApiEnv();
}, 60_000);
afterAll(async () => {
  await api?.close();
  await bare?.close();
  await fake?.close();
});

describe('POST /v1/campaigns/content', () => {
  it('writes the suite through the router and drops what breaks the rules', async () => {
    const me = await api.signUp();
    const accountId = await api.env.addAccount(me.workspaceId, {
      platform: 'mastodon',
      externalId: randomUUID(),
      handle: 'potter',
      credentials: { accessToken: 'x' },
    });
    const product = (
      await api.app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: me.auth,
        payload: {
          name: 'Kiln',
          url: 'https://shop.example.test/kiln',
          testimonials: [{ quote: 'Fired perfectly from the first load.', author: 'Mia' }],
        },
      })
    ).json() as { id: string };
    fake.script('openai', [
      {
        text: JSON.stringify({
          posts: [
            {
              kind: 'testimonial',
              account: accountId,
              text: '#ad "Fired perfectly from the first load." — Mia. Yours: {link}',
            },
            { kind: 'testimonial', account: accountId, text: '#ad "Life-changing kiln!" — A fan. {link}' },
            { kind: 'how_to', account: accountId, text: `#ad ${'Load it evenly. '.repeat(40)}{link}` },
          ],
        }),
      },
    ]);
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/campaigns/content',
      headers: me.auth,
      payload: { productId: product.id, accounts: [accountId], kinds: ['testimonial', 'how_to'] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const suite = res.json() as {
      posts: Array<{ kind: string; content: string }>;
      dropped: Array<{ kind: string; reason: string }>;
    };
    expect(suite.posts).toEqual([
      {
        kind: 'testimonial',
        socialAccountId: accountId,
        platform: 'mastodon',
        content: '#ad "Fired perfectly from the first load." — Mia. Yours: {link}',
      },
    ]);
    expect(suite.dropped.map((d) => [d.kind, d.reason.split(' ')[0]])).toEqual([
      ['testimonial', 'it'],
      ['how_to', 'it'],
    ]);
    expect(suite.dropped[0]!.reason).toContain('word for word');
    expect(suite.dropped[1]!.reason).toMatch(/characters with the link/);
    // The router was asked once, with the product's real testimonial as the only one to quote.
    const asked = JSON.stringify(fake.requests.filter((r) => r.protocol === 'openai').at(-1)!.body.messages);
    expect(asked).toContain('Fired perfectly from the first load.');
  });

  it('answers model_unavailable where no model is configured', async () => {
    const me = await bare.signUp();
    const product = (
      await bare.app.inject({ method: 'POST', url: '/v1/products', headers: me.auth, payload: { name: 'Kiln' } })
    ).json() as { id: string };
    const res = await bare.app.inject({
      method: 'POST',
      url: '/v1/campaigns/content',
      headers: me.auth,
      payload: { productId: product.id, accounts: ['mastodon'] },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('model_unavailable');
  });
});
