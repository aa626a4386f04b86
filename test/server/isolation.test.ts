/**
 * Tenant isolation, route by route. Workspace A holds one of everything; the owner of
 * workspace B then calls every route that takes an id (taken from the OpenAPI document, so a
 * new route without an entry here fails the test) with A's ids and a valid body: each answer
 * is 404, never 403 and never A's data, and A's resources are unchanged afterwards. Every list
 * route B can read is checked not to contain any of A's ids, and ids inside bodies (accounts,
 * media) are checked too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { runDaily } from '../../coach/index.js';
import { createSession, insertMedia, schema } from '../../core/index.js';
import { createGrant, insertClient } from '../../server/auth/oauth/store.js';
import { Notifier } from '../../tools/notifications/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import {
  startKnowledgeEnv,
  startTestChroma,
  waitForIngest,
  type KnowledgeEnv,
  type TestChroma,
} from '../knowledge/knowledge-env.js';

let api: ApiEnv;
let a: Person;
let b: Person;
const ids: Record<string, string> = {};
let chroma: TestChroma;
let knowledge: KnowledgeEnv;

beforeAll(async () => {
  chroma = await startTestChroma();
  api = await startApiEnv({
    connectors: [createBlueskyConnector({ timeoutMs: 1_000 })],
    knowledge: async (env) => {
      knowledge = await startKnowledgeEnv({
        db: env.database.db,
        events: env.events,
        chroma: chroma.handle,
        prefix: env.prefix,
      });
      return knowledge.deps;
    },
  });
  a = await api.signUp();
  b = await api.signUp();
  const account = (ws: string, tag: string) =>
    api.env.addAccount(ws, {
      platform: 'bluesky',
      externalId: `did:plc:iso${tag}${Date.now()}`,
      handle: `iso${tag}.test`,
      credentials: { service: 'http://127.0.0.1:9', did: `did:plc:iso${tag}`, handle: `iso${tag}.test` },
    });
  ids.account = await account(a.workspaceId, 'a');
  ids.bAccount = await account(b.workspaceId, 'b');
  const media = await insertMedia(api.env.database.db, a.workspaceId, {
    uploadedBy: a.userId,
    storageKey: `${'ab'}/${'ab'.repeat(32)}.png`,
    mimeType: 'image/png',
    sizeBytes: 68,
    width: 1,
    height: 1,
    sha256: 'ab'.repeat(32),
  });
  ids.media = media.id;
  const post = await api.app.inject({
    method: 'POST',
    url: '/v1/posts',
    headers: a.auth,
    payload: {
      content: 'A secret plan',
      at: new Date(Date.now() + 3600_000).toISOString(),
      targets: [{ socialAccountId: ids.account }],
    },
  });
  expect(post.statusCode).toBe(201);
  ids.post = post.json().id;
  ids.target = post.json().targets[0].id;
  const invitation = await api.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: a.auth,
    payload: { email: 'someone@example.com', role: 'editor' },
  });
  ids.invitation = invitation.json().invitation.id;
  const member = await api.signUp({
    invitationToken: (
      await api.app.inject({
        method: 'POST',
        url: '/v1/invitations',
        headers: a.auth,
        payload: { email: 'member@example.com', role: 'editor' },
      })
    ).json().token,
  });
  ids.member = member.userId;
  const key = await api.app.inject({
    method: 'POST',
    url: '/v1/api-keys',
    headers: a.auth,
    payload: { name: 'ci', scopes: ['write'] },
  });
  ids.apiKey = key.json().key.id;
  const source = await api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: a.auth,
    payload: { docType: 'brand_guide', title: 'A secret guide', format: 'markdown', text: '# Plan\n\nA secret plan.' },
  });
  ids.knowledgeSource = source.json().id;
  const series = await api.app.inject({
    method: 'POST',
    url: '/v1/series',
    headers: a.auth,
    payload: {
      rrule: 'FREQ=WEEKLY;COUNT=2',
      start: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 16),
      timeZone: 'UTC',
      content: 'A secret series',
      targets: [{ socialAccountId: ids.account }],
    },
  });
  expect(series.statusCode).toBe(201);
  ids.series = series.json().id;
  const link = await api.app.inject({
    method: 'POST',
    url: '/v1/links',
    headers: a.auth,
    payload: { destinationUrl: 'https://shop.example/secret', postId: ids.post },
  });
  expect(link.statusCode).toBe(201);
  ids.link = link.json().id;
  // Campaigns: a program, a product with its affiliate link, a draft campaign on A's account.
  const program = await api.app.inject({
    method: 'POST',
    url: '/v1/campaigns/programs',
    headers: a.auth,
    payload: {
      name: 'A secret network',
      kind: 'network',
      commissionType: 'percent',
      commissionValue: 5,
      payoutCurrency: 'USD',
    },
  });
  expect(program.statusCode).toBe(201);
  ids.program = program.json().id;
  const product = await api.app.inject({
    method: 'POST',
    url: '/v1/products',
    headers: a.auth,
    payload: {
      name: 'A secret product',
      url: 'https://shop.example/secret-product',
      affiliateLinks: [{ programId: ids.program, url: 'https://net.example/secret' }],
    },
  });
  expect(product.statusCode).toBe(201);
  ids.product = product.json().id;
  const campaign = await api.app.inject({
    method: 'POST',
    url: '/v1/campaigns',
    headers: a.auth,
    payload: {
      name: 'A secret campaign',
      productIds: [ids.product],
      accounts: [ids.account],
      from: new Date(Date.now() + 86_400_000).toISOString(),
      to: new Date(Date.now() + 8 * 86_400_000).toISOString(),
      postsPerWeek: 2,
    },
  });
  expect(campaign.statusCode).toBe(201);
  ids.campaign = campaign.json().id;
  // Coach: A's goal, and A's morning message (with its slot action) and its notification.
  const goal = await api.app.inject({
    method: 'POST',
    url: '/v1/coach/goals',
    headers: a.auth,
    payload: {
      metric: 'posts_per_week',
      target: 5,
      dueDate: DateTime.now().plus({ months: 2 }).toFormat('yyyy-LL-dd'),
    },
  });
  expect(goal.statusCode, goal.body).toBe(201);
  ids.goal = goal.json().id;
  const morning = await runDaily(
    {
      db: api.env.database.db,
      scheduling: api.env.deps,
      notifier: new Notifier({ db: api.env.database.db, events: null }),
    },
    { workspaceId: a.workspaceId, userId: a.userId, day: DateTime.now().toFormat('yyyy-LL-dd') },
  );
  expect(morning.kind).toBe('sent');
  ids.coachMessage = (morning as { messageId: string }).messageId;
  const [note] = await api.env.database.db
    .select({ id: schema.notifications.id })
    .from(schema.notifications)
    .where(eq(schema.notifications.userId, a.userId));
  ids.notification = note!.id;
  // A connected MCP client of A's (an OAuth grant).
  const oauthClient = await insertClient(api.env.database.db, {
    clientName: 'iso',
    redirectUris: ['https://app.example.com/cb'],
  });
  const oauthSession = await createSession(api.env.database.db, a.userId, null);
  ids.oauthGrant = (
    await createGrant(
      api.env.database.db,
      {
        workspaceId: a.workspaceId,
        clientId: oauthClient.id,
        userId: a.userId,
        sessionId: oauthSession.id,
        scopes: ['read'],
        resource: `${api.baseUrl}/mcp`,
      },
      { accessS: 900, refreshS: 3600 },
      new Date(),
    )
  ).grantId;
  const ready = await waitForIngest(
    knowledge.deps,
    { workspaceId: a.workspaceId, userId: a.userId, role: 'owner', channel: 'rest' },
    ids.knowledgeSource!,
  );
  expect(ready.status).toBe('ready');
  for (const [k, v] of Object.entries(ids)) if (!v) throw new Error(`fixture ${k} missing`);
});
afterAll(async () => {
  if (a) await knowledge?.deps.store.dropWorkspace(a.workspaceId);
  await api?.close();
  await knowledge?.close();
  await chroma?.close();
});

/**
 * Paths whose parameter names a kind of thing, not one of A's rows: `{channel}` is `telegram` or
 * `slack`, and the route removes the caller's own links there (tools/channels; its isolation is
 * in test/server/channels/telegram.test.ts).
 */
const NAMED_NOT_IDS = new Set([
  '/v1/channels/{channel}/links',
  // A notification kind (post.failed), not an id: only the caller's own routing is read or set.
  '/v1/notifications/preferences/{kind}',
]);

/** For every OpenAPI path parameter, which of A's ids fills it. */
function fill(path: string, method: string): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === 'targetId') return ids.target!;
    if (path.startsWith('/v1/posts/')) return ids.post!;
    if (path.startsWith('/v1/members/')) return ids.member!;
    if (path.startsWith('/v1/invitations/')) return ids.invitation!;
    if (path.startsWith('/v1/api-keys/')) return ids.apiKey!;
    if (path.startsWith('/v1/social-accounts/')) return ids.account!;
    if (path.startsWith('/v1/media/')) return ids.media!;
    if (path.startsWith('/v1/knowledge/sources/')) return ids.knowledgeSource!;
    if (path.startsWith('/v1/series/')) return ids.series!;
    if (path.startsWith('/v1/links/')) return ids.link!;
    if (path.startsWith('/v1/products/')) return ids.product!;
    if (path.startsWith('/v1/campaigns/programs/')) return ids.program!;
    if (path.startsWith('/v1/campaigns/')) return ids.campaign!;
    if (path.startsWith('/v1/analytics/posts/')) return ids.target!;
    if (path.startsWith('/v1/analytics/accounts/')) return ids.account!;
    if (path.startsWith('/v1/coach/goals/')) return ids.goal!;
    if (path.startsWith('/v1/coach/messages/')) return name === 'actionId' ? 'a1' : ids.coachMessage!;
    if (path.startsWith('/v1/notifications/')) return ids.notification!;
    if (path.startsWith('/v1/oauth/grants/')) return ids.oauthGrant!;
    throw new Error(`No fixture id for {${name}} in ${method} ${path}: add one to the isolation test`);
  });
}

/** A valid body for each route that takes an id and a body (so validation is never why it fails). */
const BODIES: Record<string, unknown> = {
  'PUT /v1/posts/{id}': { content: 'hijacked' },
  'PUT /v1/posts/{id}/targets/{targetId}': { content: 'hijacked' },
  'POST /v1/posts/{id}/schedule': { now: true },
  'POST /v1/posts/{id}/approve': { comment: 'sure' },
  'POST /v1/posts/{id}/reject': { comment: 'no' },
  'PATCH /v1/members/{id}': { role: 'viewer' },
  'PATCH /v1/media/{id}': { altText: 'hijacked' },
  'PUT /v1/knowledge/sources/{id}': { docType: 'note', title: 'hijacked', format: 'text', text: 'hijacked' },
  'PUT /v1/social-accounts/{id}/slots': { slots: [{ weekday: 1, time: '09:00' }] },
  'PATCH /v1/series/{id}': { content: 'hijacked' },
  'POST /v1/links/{id}/attach': { postId: '00000000-0000-4000-8000-000000000000' },
  'PATCH /v1/products/{id}': { name: 'hijacked' },
  'PUT /v1/campaigns/{id}/timeline': {
    timelineVersion: 1,
    items: [
      {
        at: new Date(Date.now() + 2 * 86_400_000).toISOString(),
        socialAccountId: '00000000-0000-4000-8000-000000000000',
        productId: '00000000-0000-4000-8000-000000000000',
        kind: 'review',
        content: '#ad hijacked {link}',
      },
    ],
  },
  'POST /v1/campaigns/{id}/approve': { timelineVersion: 1 },
  'POST /v1/coach/messages/{messageId}/actions/{actionId}/accept': { text: 'hijacked' },
};

function operations(): Array<{ method: string; path: string }> {
  const doc = api.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({ method: m.toUpperCase(), path })),
  );
}

/** A's ids in a response that the caller did not send (echoing the caller's own input is no leak). */
function leaks(body: string, sent = ''): string[] {
  return Object.entries(ids)
    .filter(([k, v]) => k !== 'bAccount' && body.includes(v) && !sent.includes(v))
    .map(([k]) => k);
}

describe('tenant isolation', () => {
  it("every route with an id answers 404 to another workspace's owner, and changes nothing", async () => {
    const withIds = operations().filter((o) => o.path.includes('{') && !NAMED_NOT_IDS.has(o.path));
    expect(withIds.length).toBeGreaterThanOrEqual(19);
    const before = (await api.app.inject({ method: 'GET', url: `/v1/posts/${ids.post}`, headers: a.auth })).json();
    for (const op of withIds) {
      const key = `${op.method} ${op.path}`;
      const res = await api.app.inject({
        method: op.method as 'GET',
        url: fill(op.path, op.method),
        headers: b.auth,
        ...(BODIES[key] !== undefined ? { payload: BODIES[key] as object } : {}),
      });
      expect(res.statusCode, `${key} → ${res.body}`).toBe(404);
      expect(res.json().error.code, key).toBe('not_found');
      expect(leaks(res.body, fill(op.path, op.method)), key).toEqual([]);
    }
    // A's things are all still there, unchanged.
    const after = (await api.app.inject({ method: 'GET', url: `/v1/posts/${ids.post}`, headers: a.auth })).json();
    expect(after).toEqual(before);
    expect(after.targets[0].status).toBe('scheduled');
    const job = await api.env.queue.queue.getJob(ids.target!);
    expect(await job?.getState()).toBe('delayed');
    const members = (await api.app.inject({ method: 'GET', url: '/v1/members', headers: a.auth })).json();
    expect(
      members.items.find((m: { userId?: string; id?: string }) => (m.userId ?? m.id) === ids.member),
    ).toMatchObject({ role: 'editor' });
    const keys = (await api.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth })).json();
    expect(keys.items.find((k: { id: string }) => k.id === ids.apiKey).revokedAt ?? null).toBeNull();
    const accounts = (await api.app.inject({ method: 'GET', url: '/v1/social-accounts', headers: a.auth })).json();
    expect(accounts.items.map((x: { id: string }) => x.id)).toEqual([ids.account]);
    const campaign = (
      await api.app.inject({ method: 'GET', url: `/v1/campaigns/${ids.campaign}`, headers: a.auth })
    ).json();
    expect(campaign).toMatchObject({ name: 'A secret campaign', status: 'draft', timelineVersion: 1, posts: [] });
    const product = (
      await api.app.inject({ method: 'GET', url: `/v1/products/${ids.product}`, headers: a.auth })
    ).json();
    expect(product).toMatchObject({ name: 'A secret product' });
    const source = (
      await api.app.inject({ method: 'GET', url: `/v1/knowledge/sources/${ids.knowledgeSource}`, headers: a.auth })
    ).json();
    expect(source).toMatchObject({ title: 'A secret guide', status: 'ready', generation: 1 });
    expect(await knowledge.deps.store.countChunks(a.workspaceId, ids.knowledgeSource)).toBe(source.chunkCount);
  });

  it("no list route shows B anything of A's", async () => {
    const lists = operations().filter(
      (o) =>
        o.method === 'GET' &&
        !o.path.includes('{') &&
        o.path.startsWith('/v1/') &&
        // Not lists: the WebSocket, and the OAuth redirect target (bound by its state, tested in connect.test.ts);
        // ideas for one term, 404 where the term is not rising (another workspace: test/server/trends.test.ts).
        !['/v1/ws', '/v1/social-accounts/callback', '/v1/trends/ideas'].includes(o.path),
    );
    expect(lists.length).toBeGreaterThanOrEqual(8);
    const query: Record<string, string> = {
      '/v1/calendar': `?from=2000-01-01T00:00Z&to=2000-12-31T00:00Z`,
      '/v1/usage': `?from=2000-01-01T00:00Z&to=2100-01-01T00:00Z`,
      '/v1/knowledge/search': '?q=secret%20plan',
    };
    const now = Date.now();
    query['/v1/calendar'] =
      `?from=${new Date(now - 86400_000).toISOString()}&to=${new Date(now + 30 * 86400_000).toISOString()}`;
    for (const op of lists) {
      const res = await api.app.inject({ method: 'GET', url: op.path + (query[op.path] ?? ''), headers: b.auth });
      expect(res.statusCode, `${op.path} → ${res.body}`).toBe(200);
      expect(leaks(res.body), op.path).toEqual([]);
    }
  });

  it("A's ids inside B's request bodies are not found either", async () => {
    const at = new Date(Date.now() + 3600_000).toISOString();
    const foreignAccount = await api.app.inject({
      method: 'POST',
      url: '/v1/posts',
      headers: b.auth,
      payload: { content: 'x', at, targets: [{ socialAccountId: ids.account }] },
    });
    expect(foreignAccount.statusCode).toBe(404);
    for (const extra of [{ at }, { draft: true }]) {
      const foreignMedia = await api.app.inject({
        method: 'POST',
        url: '/v1/posts',
        headers: b.auth,
        payload: {
          content: 'x',
          ...extra,
          targets: [{ socialAccountId: ids.bAccount, media: [{ mediaId: ids.media }] }],
        },
      });
      expect(foreignMedia.statusCode, JSON.stringify(extra)).toBe(404);
    }
    expect((await api.app.inject({ method: 'GET', url: '/v1/posts', headers: b.auth })).json().items).toEqual([]);
  });
});
