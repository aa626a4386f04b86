/**
 * The MCP tools for the coach, campaigns and trend drafting, through the SDK's own client
 * over Streamable HTTP against a real Herald (`startApiEnv`: tracked links on, a model layer
 * on the scripted OpenAI-protocol server for the content suite). Each tool's result is what
 * the REST route answers (the SDK client checks it against the declared output schema); the
 * annotations are as docs/mcp.md lists them; a `read` key is refused the editor tools; an
 * idempotent retry does the creating call once; another workspace's ids find nothing; and
 * docs/mcp.md's tool table names every tool the server registers.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createModelLayer, type ModelLayer } from '../../../agent/models/index.js';
import { createMastodonConnector } from '../../../connectors/mastodon/index.js';
import { schema } from '../../../core/index.js';
import type { ModelRouteDeps } from '../../../server/routes/models.js';
import { setNiche, storeItems } from '../../../tools/trends/index.js';
import { startFakeLlm, type FakeLlm } from '../../fakes/llm/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../../helpers/api-env.js';

let fake: FakeLlm;
let api: ApiEnv;
const clients: Client[] = [];

beforeAll(async () => {
  fake = await startFakeLlm({ ollamaModels: [] });
  const providers = { openai: { apiKey: 'sk-test', baseUrl: fake.openaiUrl } };
  const models: ModelRouteDeps = {
    layer: undefined as unknown as ModelLayer,
    providers,
    events: null,
    pullAccess: { instanceAdmins: [], allowlist: [] },
  };
  api = await startApiEnv({ connectors: [createMastodonConnector({ timeoutMs: 1_000 })], models });
  models.layer = await createModelLayer({ providers, db: api.env.database.db });
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
  await fake?.close();
});

const mastodon = (workspaceId: string) =>
  api.env.addAccount(workspaceId, {
    platform: 'mastodon',
    externalId: randomUUID(),
    handle: `shop${randomUUID().slice(0, 6)}`,
    credentials: { accessToken: 'x' },
    metadata: { instanceUrl: 'http://127.0.0.1:9' },
  });

async function connect(p: Person, scopes: string[]): Promise<Client> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: p.auth,
    payload: { name: 'mcp', scopes },
  });
  expect(res.statusCode, res.body).toBe(201);
  const client = new Client({ name: 'features-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${api.baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${res.json().secret as string}` } },
    }),
  );
  clients.push(client);
  return client;
}

type ToolResult = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: unknown;
  _meta?: Record<string, unknown>;
};
const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
  c.callTool({ name, arguments: args }) as Promise<ToolResult>;
const codeOf = (r: ToolResult) => (r._meta?.['herald/error'] as { code?: string } | undefined)?.code;
async function ok(c: Client, name: string, args: Record<string, unknown> = {}) {
  const r = await call(c, name, args);
  expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
  return r.structuredContent!;
}
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000);

describe('MCP tools: coach, campaigns, trend drafting', () => {
  it('lists them with annotations and input schemas as documented', async () => {
    const me = await api.signUp();
    const { tools } = await (await connect(me, ['read'])).listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    const read = { readOnlyHint: true, destructiveHint: false };
    for (const name of [
      'get_progress',
      'coach_checkin',
      'suggest_hashtags',
      'list_products',
      'get_campaign',
      'campaign_report',
    ])
      expect(byName.get(name)?.annotations, name).toMatchObject({
        ...read,
        idempotentHint: true,
        openWorldHint: false,
      });
    expect(byName.get('generate_campaign_content')?.annotations).toMatchObject({
      ...read,
      idempotentHint: false,
      openWorldHint: true,
    });
    const creating = { readOnlyHint: false, idempotentHint: false };
    for (const name of ['set_goal', 'draft_trend_idea', 'create_campaign'])
      expect(byName.get(name)?.annotations, name).toMatchObject({ ...creating, destructiveHint: false });
    expect(byName.get('add_product')?.annotations).toMatchObject({ ...creating, destructiveHint: true });
    expect(byName.get('approve_campaign')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    // Every creating tool takes an idempotency key; inputs are REST's schemas.
    for (const name of ['set_goal', 'draft_trend_idea', 'add_product', 'create_campaign', 'approve_campaign'])
      expect(Object.keys(byName.get(name)!.inputSchema.properties ?? {}), name).toContain('idempotencyKey');
    expect(byName.get('set_goal')!.inputSchema.required?.sort()).toEqual(['dueDate', 'metric', 'target']);
    expect(byName.get('create_campaign')!.inputSchema.required?.sort()).toEqual([
      'accounts',
      'from',
      'name',
      'postsPerWeek',
      'productIds',
      'to',
    ]);
    for (const t of tools) expect(t.outputSchema, t.name).toMatchObject({ type: 'object' });
  });

  it('coach: set_goal once per idempotency key, get_progress and coach_checkin; another member finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    // A coaching goal is the member's own: a read key sets one, as a viewer does over REST.
    const client = await connect(me, ['read']);
    const dueDate = inDays(90).toISOString().slice(0, 10);
    const args = { metric: 'posts_per_week', target: 4, dueDate, idempotencyKey: randomUUID() };
    const goal = await ok(client, 'set_goal', args);
    expect(goal).toMatchObject({ metric: 'posts_per_week', target: 4, baseline: 0, status: 'active', dueDate });
    expect(await ok(client, 'set_goal', args)).toEqual(goal);
    const rest = await api.app.inject({ method: 'GET', url: '/v1/coach/goals', headers: me.auth });
    expect(rest.json().items.map((g: { id: string }) => g.id)).toEqual([goal.id]);

    const progress = await ok(client, 'get_progress', { goalId: goal.id });
    expect(progress.goals).toHaveLength(1);
    expect((progress.goals as Array<{ goal: { id: string }; current: number }>)[0]).toMatchObject({
      goal: { id: goal.id },
      current: 0,
    });
    const checkin = await ok(client, 'coach_checkin');
    expect((checkin.progress as Array<{ goal: { id: string } }>).map((p) => p.goal.id)).toEqual([goal.id]);
    expect(checkin.text).toEqual(expect.any(String));

    const bad = await call(client, 'set_goal', { metric: 'followers', target: 10, dueDate });
    expect(codeOf(bad)).toBe('validation_failed');

    const stranger = await connect(other, ['admin']);
    expect(codeOf(await call(stranger, 'get_progress', { goalId: goal.id }))).toBe('not_found');
    expect((await ok(stranger, 'coach_checkin')).progress).toEqual([]);
  });

  it('campaigns: add_product, create_campaign, approve_campaign, campaign_report; read key refused; other workspace finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    const writer = await connect(me, ['write']);
    const reader = await connect(me, ['read']);
    const product = {
      name: 'Stoneware mug',
      url: `https://shop.example.test/mug-${randomUUID()}`,
      price: 24,
      currency: 'EUR',
    };
    expect(codeOf(await call(reader, 'add_product', product))).toBe('forbidden');
    const key = randomUUID();
    const added = await ok(writer, 'add_product', { ...product, idempotencyKey: key });
    expect(added).toMatchObject({ name: 'Stoneware mug', url: product.url, currency: 'EUR', source: 'manual' });
    expect(await ok(writer, 'add_product', { ...product, idempotencyKey: key })).toEqual(added);
    expect(await ok(reader, 'list_products')).toMatchObject({ items: [{ id: added.id }] });

    const campaign = {
      name: 'Mug week',
      productIds: [added.id],
      accounts: [accountId],
      from: inDays(1).toISOString(),
      to: inDays(8).toISOString(),
      postsPerWeek: 2,
    };
    expect(codeOf(await call(reader, 'create_campaign', campaign))).toBe('forbidden');
    const ckey = randomUUID();
    const created = await ok(writer, 'create_campaign', { ...campaign, idempotencyKey: ckey });
    expect(created).toMatchObject({ name: 'Mug week', status: 'draft', timelineVersion: 1, posts: [] });
    expect((created.timeline as unknown[]).length).toBeGreaterThan(0);
    expect(await ok(writer, 'create_campaign', { ...campaign, idempotencyKey: ckey })).toEqual(created);
    const listed = await api.app.inject({ method: 'GET', url: '/v1/campaigns', headers: me.auth });
    expect(listed.json().campaigns).toHaveLength(1);

    const approve = { campaignId: created.id, timelineVersion: 1 };
    expect(codeOf(await call(reader, 'approve_campaign', approve))).toBe('forbidden');
    const stranger = await connect(other, ['admin']);
    expect(codeOf(await call(stranger, 'approve_campaign', approve))).toBe('not_found');
    expect(codeOf(await call(stranger, 'get_campaign', { campaignId: created.id }))).toBe('not_found');
    expect(codeOf(await call(stranger, 'campaign_report', { campaignId: created.id }))).toBe('not_found');
    expect(codeOf(await call(stranger, 'create_campaign', { ...campaign, accounts: ['mastodon'] }))).toBe('not_found');

    const approved = await ok(writer, 'approve_campaign', approve);
    expect(approved.status).toBe('active');
    const posts = approved.posts as Array<{ status: string; postId: string }>;
    expect(posts.length).toBe((created.timeline as unknown[]).length);
    expect(new Set(posts.map((p) => p.status))).toEqual(new Set(['scheduled']));
    // Approving again schedules nothing more.
    expect(await ok(writer, 'approve_campaign', approve)).toEqual(approved);
    expect(await ok(reader, 'get_campaign', { campaignId: created.id })).toMatchObject({ status: 'active' });

    const report = await ok(reader, 'campaign_report', { campaignId: created.id });
    expect(report).toMatchObject({ campaign: { id: created.id }, totals: { clicks: 0, conversions: 0 } });
    expect((report.byPost as unknown[]).length).toBe(posts.length);
  });

  it('generate_campaign_content writes the suite through the model; a read key is refused', async () => {
    const me = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    const writer = await connect(me, ['write']);
    const product = await ok(writer, 'add_product', {
      name: 'Kiln',
      url: `https://shop.example.test/kiln-${randomUUID()}`,
      testimonials: [{ quote: 'Fired perfectly from the first load.', author: 'Mia' }],
    });
    const args = { productId: product.id, accounts: [accountId], kinds: ['testimonial'] };
    expect(codeOf(await call(await connect(me, ['read']), 'generate_campaign_content', args))).toBe('forbidden');
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
          ],
        }),
      },
    ]);
    const suite = await ok(writer, 'generate_campaign_content', args);
    expect(suite.posts).toEqual([
      {
        kind: 'testimonial',
        socialAccountId: accountId,
        platform: 'mastodon',
        content: '#ad "Fired perfectly from the first load." — Mia. Yours: {link}',
      },
    ]);
    expect((suite.dropped as Array<{ reason: string }>)[0]!.reason).toContain('word for word');
  });

  it('trends: suggest_hashtags and draft_trend_idea (editor, once per key); another workspace finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    const ctx = {
      workspaceId: me.workspaceId,
      userId: me.userId,
      role: 'owner',
      timeZone: 'UTC',
      channel: 'rest',
    } as const;
    await setNiche({ db: api.env.database.db }, ctx, { keywords: ['sourdough'] });
    await storeItems(
      api.env.database.db,
      me.workspaceId,
      'mastodon',
      [1, 2, 3, 4].map((i) => ({
        externalId: `s${i}`,
        title: `Sourdough starter trick ${i} #sourdough`,
        url: `https://example.test/s${i}`,
        tags: ['sourdough'],
        engagement: i,
        publishedAt: null,
      })),
      new Date(),
    );
    const reader = await connect(me, ['read']);
    const tags = await ok(reader, 'suggest_hashtags', { platform: 'mastodon', text: 'Our new loaf' });
    expect(tags).toMatchObject({ platform: 'mastodon', note: expect.any(String) });
    const rest = await api.app.inject({
      method: 'GET',
      url: '/v1/trends/hashtags?platform=mastodon&text=Our%20new%20loaf',
      headers: me.auth,
    });
    expect(tags).toEqual(rest.json());

    const args = { term: 'sourdough', idea: 0, accounts: [accountId] };
    expect(codeOf(await call(reader, 'draft_trend_idea', args))).toBe('forbidden');
    const writer = await connect(me, ['write']);
    const key = randomUUID();
    const drafted = await ok(writer, 'draft_trend_idea', { ...args, idempotencyKey: key });
    const post = drafted.post as { id: string; targets: Array<{ status: string; socialAccountId: string }> };
    expect(post.targets).toMatchObject([{ status: 'draft', socialAccountId: accountId }]);
    expect(drafted.idea).toMatchObject({ text: expect.any(String) });
    expect(await ok(writer, 'draft_trend_idea', { ...args, idempotencyKey: key })).toEqual(drafted);
    const posts = await api.app.inject({ method: 'GET', url: '/v1/posts', headers: me.auth });
    expect(posts.json().items).toHaveLength(1);

    // Another workspace: none of these trend items, nor this account.
    const stranger = await connect(other, ['write']);
    const theirs = await call(stranger, 'draft_trend_idea', args);
    expect(theirs.isError).toBe(true);
    expect(['not_found', 'validation_failed']).toContain(codeOf(theirs));
  });
});

/** The tools docs/mcp.md's table lists (its first column). */
const documented = () =>
  new Set(
    [...readFileSync(new URL('../../../docs/mcp.md', import.meta.url), 'utf8').matchAll(/^\| `([a-z_]+)` +\|/gm)].map(
      (m) => m[1]!,
    ),
  );

/** A published Mastodon post of the workspace, measured at `likes`. */
async function publishedPost(workspaceId: string, accountId: string, content: string, likes: number) {
  const db = api.env.database.db;
  const at = new Date(Date.now() - 2 * 86_400_000);
  const [post] = await db.insert(schema.posts).values({ workspaceId, content }).returning();
  const [target] = await db
    .insert(schema.postTargets)
    .values({
      workspaceId,
      postId: post!.id,
      socialAccountId: accountId,
      platform: 'mastodon',
      content,
      status: 'published',
      scheduledAt: at,
      publishedAt: at,
      platformPostId: randomUUID(),
      platformUrl: `https://mastodon.example.test/@shop/${randomUUID()}`,
    })
    .returning();
  await db.insert(schema.metricSnapshots).values({
    workspaceId,
    targetId: target!.id,
    socialAccountId: accountId,
    platform: 'mastodon',
    stage: '24h',
    status: 'ok',
    likes,
    reposts: 0,
    replies: 0,
    fetchedAt: new Date(at.getTime() + 86_400_000),
  });
  return target!.id;
}

describe('MCP tools: adapting what works, a campaign paused, resumed and ended, a coach action accepted', () => {
  it('docs/mcp.md lists every registered tool; the new tools are annotated as documented', async () => {
    const me = await api.signUp();
    const { tools } = await (await connect(me, ['read'])).listTools();
    const names = tools.map((t) => t.name);
    const docs = documented();
    expect(names.filter((n) => !docs.has(n))).toEqual([]);
    // Documented but not offered here: the ones needing the agent, the knowledge base or the media library.
    for (const n of [...docs].filter((d) => !names.includes(d)))
      expect(['ask_herald', 'confirm_action', 'knowledge_search', 'knowledge_add', 'upload_media_from_url']).toContain(
        n,
      );

    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('adapted_results')?.annotations).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
    expect(byName.get('adapt_post')?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    });
    for (const name of ['pause_campaign', 'end_campaign'])
      expect(byName.get(name)?.annotations, name).toMatchObject({
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      });
    for (const name of ['resume_campaign', 'accept_coach_action'])
      expect(byName.get(name)?.annotations, name).toMatchObject({
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: true,
      });
    for (const name of ['adapt_post', 'resume_campaign', 'accept_coach_action'])
      expect(Object.keys(byName.get(name)!.inputSchema.properties ?? {}), name).toContain('idempotencyKey');
    expect(Object.keys(byName.get('adapt_post')!.inputSchema.properties ?? {}).sort()).toEqual([
      'accounts',
      'idempotencyKey',
      'quote',
      'targetId',
      'topic',
      'url',
    ]);
    expect(byName.get('accept_coach_action')!.inputSchema.required?.sort()).toEqual(['actionId', 'messageId']);
  });

  it('adapt_post drafts from your best post once per key, adapted_results matches REST; read key refused; another workspace finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    await publishedPost(me.workspaceId, accountId, 'New beans in.', 3);
    const best = await publishedPost(
      me.workspaceId,
      accountId,
      'Stop buying pre-ground coffee.\n\nGrind it fresh, taste the difference.\n\nTell me in the replies.',
      40,
    );
    const args = { topic: 'cold brew', accounts: [accountId] };
    const reader = await connect(me, ['read']);
    expect(codeOf(await call(reader, 'adapt_post', args))).toBe('forbidden');
    const writer = await connect(me, ['write']);
    const key = randomUUID();
    const made = await ok(writer, 'adapt_post', { ...args, quote: true, idempotencyKey: key });
    expect(made.source).toMatchObject({ kind: 'own', engagement: 40 });
    expect(made.structure).toMatchObject({ cta: 'reply', format: 'paragraphs' });
    expect(made.quote).toEqual(expect.stringContaining('Stop buying pre-ground coffee'));
    expect(made.attribution).toEqual(expect.stringMatching(/^Quote from @shop/));
    const post = made.post as { id: string; targets: Array<{ status: string; content: string }> };
    expect(post.targets).toMatchObject([{ status: 'draft' }]);
    expect(post.targets[0]!.content).toContain(made.quote as string);
    expect(await ok(writer, 'adapt_post', { ...args, quote: true, idempotencyKey: key })).toEqual(made);
    expect(codeOf(await call(writer, 'adapt_post', { ...args, url: 'https://x.com/a/status/1', targetId: best }))).toBe(
      'validation_failed',
    );

    const results = await ok(reader, 'adapted_results', { limit: 10 });
    const rest = await api.app.inject({ method: 'GET', url: '/v1/trends/adaptations?limit=10', headers: me.auth });
    expect(results).toEqual(rest.json());
    expect(results.adaptations).toMatchObject([
      {
        id: made.adaptationId,
        postId: post.id,
        source: { kind: 'own', targetId: best },
        targets: [{ verdict: 'not_published' }],
      },
    ]);

    const stranger = await connect(other, ['admin']);
    expect(await ok(stranger, 'adapted_results')).toEqual({
      adaptations: [],
      summary: { measured: 0, above: 0, below: 0, meanLift: null },
    });
    const theirAccount = await mastodon(other.workspaceId);
    expect(codeOf(await call(stranger, 'adapt_post', { ...args, accounts: [theirAccount], targetId: best }))).toBe(
      'not_found',
    );
  });

  it('pause_campaign, resume_campaign (once per key), end_campaign; read key refused; another workspace finds nothing', async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    const writer = await connect(me, ['write']);
    const reader = await connect(me, ['read']);
    const product = await ok(writer, 'add_product', {
      name: 'Teapot',
      url: `https://shop.example.test/teapot-${randomUUID()}`,
    });
    const created = await ok(writer, 'create_campaign', {
      name: 'Teapot week',
      productIds: [product.id],
      accounts: [accountId],
      from: inDays(1).toISOString(),
      to: inDays(8).toISOString(),
      postsPerWeek: 2,
    });
    const id = { campaignId: created.id };
    expect(codeOf(await call(writer, 'pause_campaign', id))).toBe('invalid_state');
    const approved = await ok(writer, 'approve_campaign', { ...id, timelineVersion: 1 });
    const scheduled = (approved.posts as unknown[]).length;
    const stranger = await connect(other, ['admin']);
    for (const name of ['pause_campaign', 'resume_campaign', 'end_campaign'])
      expect(codeOf(await call(stranger, name, id)), name).toBe('not_found');
    expect(codeOf(await call(reader, 'pause_campaign', id))).toBe('forbidden');

    const paused = await ok(writer, 'pause_campaign', id);
    expect(paused).toMatchObject({ status: 'paused', held: scheduled });
    expect(new Set((paused.posts as Array<{ status: string }>).map((p) => p.status))).toEqual(new Set(['draft']));
    expect(codeOf(await call(writer, 'pause_campaign', id))).toBe('invalid_state');
    const rest = await api.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${created.id as string}`,
      headers: me.auth,
    });
    expect(rest.json()).toMatchObject({ status: 'paused' });

    expect(codeOf(await call(reader, 'resume_campaign', id))).toBe('forbidden');
    const key = randomUUID();
    const resumed = await ok(writer, 'resume_campaign', { ...id, idempotencyKey: key });
    expect(resumed).toMatchObject({ status: 'active', resumed: scheduled, missed: [] });
    expect(new Set((resumed.posts as Array<{ status: string }>).map((p) => p.status))).toEqual(new Set(['scheduled']));
    expect(await ok(writer, 'resume_campaign', { ...id, idempotencyKey: key })).toEqual(resumed);
    expect(codeOf(await call(writer, 'resume_campaign', id))).toBe('invalid_state');

    expect(codeOf(await call(reader, 'end_campaign', id))).toBe('forbidden');
    const ended = await ok(writer, 'end_campaign', id);
    expect(ended).toMatchObject({ status: 'ended', cancelled: scheduled });
    expect(new Set((ended.posts as Array<{ status: string }>).map((p) => p.status))).toEqual(new Set(['cancelled']));
    expect(codeOf(await call(writer, 'end_campaign', id))).toBe('invalid_state');
    expect(codeOf(await call(writer, 'resume_campaign', id))).toBe('invalid_state');
  });

  it("accept_coach_action schedules the slot's post once, as REST's accept; read key refused; another member finds nothing", async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    const accountId = await mastodon(me.workspaceId);
    const at = inDays(2).toISOString();
    const [message] = await api.env.database.db
      .insert(schema.coachMessages)
      .values({
        workspaceId: me.workspaceId,
        userId: me.userId,
        kind: 'daily',
        day: new Date().toISOString().slice(0, 10),
        text: 'Post in your best slot today.',
        source: 'template',
        actions: [
          {
            id: 'a1',
            type: 'slot',
            label: 'Post in your Mastodon slot',
            at,
            atLocal: at,
            socialAccountId: accountId,
            platform: 'mastodon',
            text: 'Fresh loaves at eight.',
            why: 'Your best hour',
          },
          {
            id: 'a2',
            type: 'slot',
            label: 'Another slot',
            at,
            atLocal: at,
            socialAccountId: accountId,
            platform: 'mastodon',
            why: 'Your second best hour',
          },
        ],
      })
      .returning();
    const args = { messageId: message!.id, actionId: 'a1' };
    expect(codeOf(await call(await connect(me, ['read']), 'accept_coach_action', args))).toBe('forbidden');
    expect(codeOf(await call(await connect(other, ['admin']), 'accept_coach_action', args))).toBe('not_found');

    const writer = await connect(me, ['write']);
    expect(codeOf(await call(writer, 'accept_coach_action', { ...args, actionId: 'a2' }))).toBe('validation_failed');
    const accepted = await ok(writer, 'accept_coach_action', { ...args, idempotencyKey: randomUUID() });
    expect(accepted).toMatchObject({ action: { id: 'a1', type: 'slot' }, at });
    const post = accepted.post as {
      id: string;
      targets: Array<{ status: string; content: string; scheduledAt: string }>;
    };
    expect(post.targets).toMatchObject([{ status: 'scheduled', content: 'Fresh loaves at eight.', scheduledAt: at }]);
    // Accepting again (another key, or REST's Accept) returns the first post and schedules nothing more.
    expect(await ok(writer, 'accept_coach_action', args)).toMatchObject({ post: { id: post.id } });
    const rest = await api.app.inject({
      method: 'POST',
      url: `/v1/coach/messages/${message!.id}/actions/a1/accept`,
      headers: me.auth,
      payload: {},
    });
    expect(rest.json()).toMatchObject({ post: { id: post.id } });
    const posts = await api.app.inject({ method: 'GET', url: '/v1/posts', headers: me.auth });
    expect(posts.json().items).toHaveLength(1);
  });
});
