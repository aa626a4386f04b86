/**
 * The role matrix: every writing route over REST and every side-effect agent tool over the
 * WebSocket, as a viewer, an editor, an admin and a `read`-scoped API key of one workspace.
 * The services check roles themselves, so both channels give the same answer: too low a role
 * is `forbidden`, enough is anything but. REST calls use ids that do not exist (a role that
 * may act gets 404 after the role check, so the matrix changes nothing); agent tools run on
 * real fixtures after the user confirms, and must succeed where the role allows them.
 * The REST table is checked against the OpenAPI document: a new writing route fails this
 * test until it has a row here.
 */
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../core/index.js';
import {
  createSeries,
  pauseSeries,
  schedulePost,
  setSlots,
  type ServiceContext,
} from '../../tools/scheduling/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from '../agent/agent-env.js';
import type { Person } from '../helpers/api-env.js';
import { form, fileField } from '../helpers/media-upload.js';

let env: AgentEnv;
let owner: Person;
let accountId: string;
const ZONE = 'Europe/Paris';
type Who = 'viewer' | 'editor' | 'admin' | 'read key';
const WHO: Who[] = ['read key', 'viewer', 'editor', 'admin'];
const callers = {} as Record<Who, { auth: Record<string, string>; role: Role }>;

beforeAll(async () => {
  env = await startAgentEnv();
  const made = await env.personWithMastodon();
  owner = made.p;
  accountId = made.accountId;
  const inject = (method: string, url: string, payload: object) =>
    env.api.app.inject({ method: method as 'POST', url, headers: owner.auth, payload });
  for (const role of ['viewer', 'editor', 'admin'] as const) {
    const token = (
      await inject('POST', '/v1/invitations', { email: `${role}-${randomUUID()}@example.com`, role })
    ).json().token as string;
    const p = await env.api.signUp({ invitationToken: token, timeZone: ZONE });
    expect(p.workspaceId).toBe(owner.workspaceId);
    callers[role] = { auth: p.auth, role };
  }
  const key = await inject('POST', '/v1/api-keys', { name: 'read only', scopes: ['read'] });
  expect(key.statusCode).toBe(201);
  callers['read key'] = { auth: { authorization: `Bearer ${key.json().secret as string}` }, role: 'viewer' };
  await setSlots(env.api.env.deps, ownerCtx(), accountId, [
    { weekday: 1, time: '09:00' },
    { weekday: 3, time: '09:00' },
    { weekday: 5, time: '09:00' },
  ]);
}, 90_000);

afterAll(async () => {
  await env?.close();
});

const ownerCtx = (): ServiceContext => ({
  workspaceId: owner.workspaceId,
  userId: owner.userId,
  role: 'owner',
  timeZone: ZONE,
  channel: 'test',
});

const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };
const allowed = (who: Who, needed: Role) => ROLE_RANK[callers[who].role] >= ROLE_RANK[needed];

const ID = '{id}';
const day = () => DateTime.now().setZone(ZONE).plus({ days: 3 }).toFormat('yyyy-MM-dd');

/** Every writing route: the role it needs and a valid request with ids that do not exist. */
const ROUTES: Array<{
  method: string;
  path: string;
  needs: Role;
  body?: () => unknown;
  raw?: () => { payload: string | Buffer; headers: Record<string, string> };
}> = [
  { method: 'PATCH', path: '/v1/workspace', needs: 'admin', body: () => ({ name: 'Renamed' }) },
  { method: 'PATCH', path: `/v1/members/${ID}`, needs: 'admin', body: () => ({ role: 'viewer' }) },
  { method: 'DELETE', path: `/v1/members/${ID}`, needs: 'admin' },
  {
    method: 'POST',
    path: '/v1/invitations',
    needs: 'admin',
    body: () => ({ email: `x-${randomUUID()}@example.com`, role: 'viewer' }),
  },
  { method: 'DELETE', path: `/v1/invitations/${ID}`, needs: 'admin' },
  { method: 'POST', path: '/v1/api-keys', needs: 'admin', body: () => ({ name: 'k', scopes: ['read'] }) },
  { method: 'DELETE', path: `/v1/api-keys/${ID}`, needs: 'admin' },
  {
    method: 'POST',
    path: '/v1/media',
    needs: 'editor',
    raw: () => form([fileField(Buffer.from('not an image'), 'x.txt', 'text/plain')]),
  },
  { method: 'POST', path: '/v1/media/from-url', needs: 'editor', body: () => ({ url: 'not a url' }) },
  { method: 'PATCH', path: `/v1/media/${ID}`, needs: 'editor', body: () => ({ altText: 'x' }) },
  { method: 'DELETE', path: `/v1/media/${ID}`, needs: 'editor' },
  {
    method: 'POST',
    path: '/v1/posts',
    needs: 'editor',
    body: () => ({ content: 'x', draft: true, targets: [{ socialAccountId: randomUUID() }] }),
  },
  { method: 'PUT', path: `/v1/posts/${ID}`, needs: 'editor', body: () => ({ content: 'x' }) },
  { method: 'DELETE', path: `/v1/posts/${ID}`, needs: 'editor' },
  { method: 'PUT', path: `/v1/posts/${ID}/targets/${ID}`, needs: 'editor', body: () => ({ content: 'x' }) },
  { method: 'POST', path: `/v1/posts/${ID}/targets/${ID}/cancel`, needs: 'editor' },
  { method: 'POST', path: `/v1/posts/${ID}/schedule`, needs: 'editor', body: () => ({ now: true }) },
  { method: 'POST', path: `/v1/posts/${ID}/queue`, needs: 'editor' },
  { method: 'POST', path: `/v1/posts/${ID}/approve`, needs: 'admin', body: () => ({}) },
  { method: 'POST', path: `/v1/posts/${ID}/reject`, needs: 'admin', body: () => ({ comment: 'no' }) },
  { method: 'DELETE', path: `/v1/social-accounts/${ID}`, needs: 'admin' },
  { method: 'PUT', path: `/v1/social-accounts/${ID}/slots`, needs: 'editor', body: () => ({ slots: [] }) },
  {
    method: 'POST',
    path: '/v1/series',
    needs: 'editor',
    body: () => ({
      rrule: 'FREQ=DAILY',
      start: `${day()}T09:00`,
      content: 'x',
      targets: [{ socialAccountId: randomUUID() }],
    }),
  },
  { method: 'PATCH', path: `/v1/series/${ID}`, needs: 'editor', body: () => ({ content: 'x' }) },
  { method: 'POST', path: `/v1/series/${ID}/pause`, needs: 'editor' },
  { method: 'POST', path: `/v1/series/${ID}/resume`, needs: 'editor' },
  { method: 'POST', path: `/v1/series/${ID}/stop`, needs: 'editor' },
  {
    method: 'POST',
    path: '/v1/imports/csv',
    needs: 'editor',
    raw: () => ({
      payload: `account,text,scheduled_at\nnobody,x,${day()} 10:00`,
      headers: { 'content-type': 'text/csv' },
    }),
  },
  { method: 'PUT', path: '/v1/trends/niche', needs: 'editor', body: () => ({ keywords: ['coffee'] }) },
  { method: 'PUT', path: '/v1/trends/alerts', needs: 'editor', body: () => ({ muteForHours: 1 }) },
  {
    method: 'POST',
    path: '/v1/links',
    needs: 'editor',
    body: () => ({ destinationUrl: 'https://shop.example/', postId: randomUUID() }),
  },
  { method: 'POST', path: `/v1/links/${ID}/attach`, needs: 'editor', body: () => ({ postId: randomUUID() }) },
  {
    method: 'POST',
    path: '/v1/trends/ideas/draft',
    needs: 'editor',
    body: () => ({ term: 'nothing-rising', idea: 0, accounts: ['mastodon'] }),
  },
  // An address that is no post: refused by the service after the role check, before any fetch.
  {
    method: 'POST',
    path: '/v1/trends/adapt',
    needs: 'editor',
    body: () => ({ url: 'not a url', topic: 'coffee', accounts: ['mastodon'] }),
  },
  // The coach: any member's own goals, settings and check-ins (coach/ checks the member itself).
  {
    method: 'POST',
    path: '/v1/coach/goals',
    needs: 'viewer',
    body: () => ({ metric: 'posts_per_week', target: 3, dueDate: day() }),
  },
  { method: 'DELETE', path: `/v1/coach/goals/${ID}`, needs: 'viewer' },
  { method: 'PUT', path: '/v1/coach/settings', needs: 'viewer', body: () => ({ dailyTime: '07:45' }) },
  { method: 'POST', path: '/v1/coach/checkin', needs: 'viewer' },
  // A member's own weekly report delivery (tools/analytics checks the member itself).
  { method: 'PUT', path: '/v1/analytics/report/settings', needs: 'viewer', body: () => ({ weeklyReport: false }) },
  { method: 'POST', path: `/v1/notifications/${ID}/read`, needs: 'viewer' },
  {
    method: 'PUT',
    path: '/v1/notifications/preferences/post.failed',
    needs: 'viewer',
    body: () => ({ channels: ['websocket'] }),
  },
  // Connected apps: a member revokes their own grant (an admin anyone's); another id is 404 after the role check.
  { method: 'DELETE', path: `/v1/oauth/grants/${ID}`, needs: 'viewer' },
  // Campaigns (docs/campaigns.md): unknown program, product or campaign ids answer 404 after the role check.
  {
    method: 'POST',
    path: '/v1/products',
    needs: 'editor',
    body: () => ({ name: 'x', affiliateLinks: [{ programId: randomUUID(), url: 'https://net.example/x' }] }),
  },
  { method: 'POST', path: '/v1/products/import', needs: 'editor', body: () => ({ csv: 'colour\nred' }) },
  {
    method: 'POST',
    path: '/v1/products/from-page',
    needs: 'editor',
    body: () => ({
      url: 'http://127.0.0.1:9/p',
      affiliateLinks: [{ programId: randomUUID(), url: 'https://net.example/x' }],
    }),
  },
  { method: 'PATCH', path: `/v1/products/${ID}`, needs: 'editor', body: () => ({ name: 'x' }) },
  { method: 'DELETE', path: `/v1/products/${ID}`, needs: 'editor' },
  {
    method: 'POST',
    path: '/v1/campaigns/programs',
    needs: 'admin',
    body: () => ({
      name: `p-${randomUUID()}`,
      kind: 'direct',
      commissionType: 'flat',
      commissionValue: 1,
      payoutCurrency: 'USD',
    }),
  },
  { method: 'POST', path: `/v1/campaigns/programs/${ID}/rotate-secret`, needs: 'admin' },
  { method: 'PUT', path: '/v1/campaigns/settings', needs: 'admin', body: () => ({ disclosures: ['#ad'] }) },
  {
    method: 'PUT',
    path: '/v1/campaigns/rates',
    needs: 'editor',
    body: () => ({ currency: 'EUR', rate: 1.1, date: '2026-01-01' }),
  },
  {
    method: 'POST',
    path: '/v1/campaigns/conversions',
    needs: 'editor',
    body: () => ({ campaignId: randomUUID(), amount: 1, commission: 1, currency: 'USD' }),
  },
  {
    method: 'POST',
    path: '/v1/campaigns/conversions/import',
    needs: 'editor',
    body: () => ({ programId: randomUUID(), csv: 'a\nb' }),
  },
  {
    method: 'POST',
    path: '/v1/campaigns/content',
    needs: 'editor',
    body: () => ({ productId: randomUUID(), accounts: ['mastodon'] }),
  },
  {
    method: 'POST',
    path: '/v1/campaigns',
    needs: 'editor',
    body: () => ({
      name: 'x',
      productIds: [randomUUID()],
      accounts: ['mastodon'],
      from: new Date(Date.now() + 86_400_000).toISOString(),
      to: new Date(Date.now() + 3 * 86_400_000).toISOString(),
      postsPerWeek: 1,
    }),
  },
  {
    method: 'PUT',
    path: `/v1/campaigns/${ID}/timeline`,
    needs: 'editor',
    body: () => ({
      timelineVersion: 1,
      items: [
        {
          at: new Date(Date.now() + 86_400_000).toISOString(),
          socialAccountId: randomUUID(),
          productId: randomUUID(),
          kind: 'review',
          content: '#ad {link}',
        },
      ],
    }),
  },
  { method: 'POST', path: `/v1/campaigns/${ID}/approve`, needs: 'editor', body: () => ({ timelineVersion: 1 }) },
  { method: 'POST', path: `/v1/campaigns/${ID}/pause`, needs: 'editor' },
  { method: 'POST', path: `/v1/campaigns/${ID}/resume`, needs: 'editor' },
  { method: 'POST', path: `/v1/campaigns/${ID}/end`, needs: 'editor' },
];

/** Writing routes this matrix leaves out, and why. */
const NOT_HERE: Record<string, string> = {
  'POST /v1/auth/signup': 'public',
  'POST /v1/auth/login': 'public',
  'POST /v1/auth/refresh': 'public',
  'POST /v1/auth/logout': 'any signed-in user, for their own session',
  'POST /v1/workspaces': 'any signed-in user creates a workspace they own',
  'POST /v1/invitations/accept': 'any signed-in user, with an invitation token',
  'POST /v1/social-accounts/connect': 'admin; covered by test/server/connect.test.ts',
  'POST /v1/social-accounts/app-password': 'admin; covered by test/server/connect.test.ts',
  'POST /v1/chat': 'any member talks to the agent; the tools it calls are the side-effect tools of the matrix below',
  'POST /v1/chat/confirm': "the thread's own member answers its confirmation; in test/server/chat-rest.test.ts",
  'POST /v1/chat/reject':
    "the thread's own member rejects its confirmation (nothing is done); in test/server/chat-rest.test.ts",
  'POST /v1/channels/link-codes':
    'any signed-in member links a chat to themselves (an API key is refused in tools/channels); linking is in test/server/channels/telegram.test.ts',
  'DELETE /v1/channels/{channel}/links': 'any signed-in member removes their own chat links; in telegram.test.ts',
  'POST /v1/coach/messages/{messageId}/actions/{actionId}/accept':
    "editor (acceptAction checks it first); a member accepts their own message's action: test/coach/rest.test.ts",
  'PUT /v1/notifications/preferences/{kind}':
    'viewer, and only the caller’s own routing (setNotificationPref); matrix row with post.failed above, and test/tools/notification-prefs.test.ts',
  'POST /v1/campaigns/postback':
    "public: a network signs it with its program's secret; in test/tools/campaigns-e2e.test.ts (replayed, forged)",
};

const template = (path: string) =>
  path.replace(/\{id\}/g, '{id}').replace(/\/\{id\}\/targets\/\{id\}/, '/{id}/targets/{targetId}');

describe('roles over REST', () => {
  it('every writing route in the OpenAPI document is in the matrix', () => {
    const doc = env.api.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const writing = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    const covered = new Set(ROUTES.map((r) => `${r.method} ${template(r.path)}`));
    expect(writing.filter((w) => !covered.has(w) && !(w in NOT_HERE))).toEqual([]);
  });

  it.each(WHO)(
    'as %s: forbidden below the role each route needs, and past the role check otherwise',
    async (who) => {
      for (const r of ROUTES) {
        const raw = r.raw?.();
        const res = await env.api.app.inject({
          method: r.method as 'POST',
          url: r.path.replaceAll(ID, randomUUID()),
          headers: { ...callers[who].auth, ...(raw?.headers ?? {}) },
          ...(raw ? { payload: raw.payload } : r.body ? { payload: r.body() as object } : {}),
        });
        const label = `${who}: ${r.method} ${r.path} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, label).toBeLessThan(500);
        if (allowed(who, r.needs)) expect(res.statusCode, label).not.toBe(403);
        else {
          expect(res.statusCode, label).toBe(403);
          expect(res.json().error.code, label).toBe('forbidden');
        }
      }
    },
    60_000,
  );
});

type Call = { needs: Role; args: () => Promise<Record<string, unknown>> };

/** Every side-effect tool: the role it needs and arguments on fresh fixtures of the workspace. */
const TOOLS: Record<string, Call> = {
  schedule_post: {
    needs: 'editor',
    args: async () => ({ text: `scheduled ${randomUUID()}`, accounts: ['mastodon'], at: `${day()}T11:00` }),
  },
  publish_now: { needs: 'editor', args: async () => ({ text: `now ${randomUUID()}`, accounts: ['mastodon'] }) },
  add_to_queue: { needs: 'editor', args: async () => ({ text: `queued ${randomUUID()}`, accounts: ['mastodon'] }) },
  reschedule: { needs: 'editor', args: async () => ({ targetId: await freshTarget(), at: `${day()}T15:00` }) },
  cancel: { needs: 'editor', args: async () => ({ targetId: await freshTarget() }) },
  set_slots: {
    needs: 'editor',
    args: async () => ({ account: 'mastodon', slots: [1, 3, 5].map((weekday) => ({ weekday, time: '09:00' })) }),
  },
  create_series: {
    needs: 'editor',
    args: async () => ({
      text: `series ${randomUUID()}`,
      accounts: ['mastodon'],
      rrule: 'FREQ=WEEKLY;COUNT=1',
      start: `${day()}T08:00`,
    }),
  },
  pause_series: { needs: 'editor', args: async () => ({ seriesId: await freshSeries() }) },
  resume_series: { needs: 'editor', args: async () => ({ seriesId: await freshSeries(true) }) },
  stop_series: { needs: 'editor', args: async () => ({ seriesId: await freshSeries() }) },
  edit_series: { needs: 'editor', args: async () => ({ seriesId: await freshSeries(), text: 'edited' }) },
  approve_campaign: { needs: 'editor', args: freshCampaign },
  set_campaign_status: {
    needs: 'editor',
    args: async () => ({ campaignId: (await freshCampaign()).campaignId, action: 'end' }),
  },
  import_csv: {
    needs: 'editor',
    args: async () => ({ csv: `account,text,scheduled_at\nmastodon:${handle},csv ${randomUUID()},${day()} 17:00` }),
  },
};

let campaignCount = 0;
/** A draft campaign of one product on the Mastodon account, a few days out. */
async function freshCampaign(): Promise<{ campaignId: string; timelineVersion: number }> {
  const { addProduct, createCampaign } = await import('../../tools/campaigns/index.js');
  const deps = { scheduling: env.api.env.deps, links: env.api.deps.links!.deps };
  const product = await addProduct(deps, ownerCtx(), {
    name: `p${++campaignCount}`,
    url: `https://shop.example/p/${randomUUID()}`,
  });
  const c = await createCampaign(deps, ownerCtx(), {
    name: `c${campaignCount}`,
    productIds: [product.id],
    accounts: ['mastodon'],
    from: DateTime.now().plus({ days: 4 }).toISO()!,
    to: DateTime.now().plus({ days: 6 }).toISO()!,
    postsPerWeek: 1,
  });
  return { campaignId: c.id, timelineVersion: c.timelineVersion };
}

/** Side-effect tools this matrix leaves out, and why. */
const TOOLS_NOT_HERE: Record<string, string> = {
  accept_coach_action:
    "needs a coach message of the member's own; its role check (editor, in acceptAction) is tested in test/coach/rest.test.ts",
  connect_bluesky:
    'needs a Bluesky PDS; its role check (admin, in connectWithPassword) is tested in test/server/connect.test.ts',
};

let handle = '';
async function freshTarget(): Promise<string> {
  const { targets } = await schedulePost(env.api.env.deps, ownerCtx(), {
    content: `target ${randomUUID()}`,
    targets: [{ socialAccountId: accountId }],
    at: `${day()}T13:00`,
  });
  return targets[0]!.id;
}

async function freshSeries(paused = false): Promise<string> {
  const { series } = await createSeries(env.api.env.deps, ownerCtx(), {
    rrule: 'FREQ=WEEKLY;COUNT=1',
    start: `${day()}T07:00`,
    content: `series ${randomUUID()}`,
    targets: [{ socialAccountId: accountId }],
  });
  if (paused) await pauseSeries(env.api.env.deps, ownerCtx(), series.id);
  return series.id;
}

describe('roles over the WebSocket (agent tools, after the user confirms)', () => {
  it('every side-effect tool is in the matrix', async () => {
    const { SIDE_EFFECT_TOOLS } = await import('../../agent/index.js');
    expect([...SIDE_EFFECT_TOOLS].filter((t) => !(t in TOOLS_NOT_HERE)).sort()).toEqual(Object.keys(TOOLS).sort());
  });

  it.each(WHO)(
    'as %s: each side-effect tool is forbidden below its role and works otherwise',
    async (who) => {
      handle = (await env.api.app.inject({ method: 'GET', url: '/v1/social-accounts', headers: owner.auth })).json()
        .items[0].handle as string;
      const c = await env.connect({ auth: callers[who].auth } as unknown as Person);
      try {
        for (const [name, call] of Object.entries(TOOLS)) {
          const args = await call.args();
          env.brain = (req) => (toolResults(req).length === 0 ? { toolCalls: [{ name, args }] } : { text: 'Done.' });
          const turn = await c.say('please do the thing', `roles-${who.replace(' ', '-')}-${name}-${randomUUID()}`);
          const ask = await c.confirmRequest(turn);
          // Paced like the message before it: at 10/s with a burst of 20, a confirm sent at once
          // after a paced `say` found no token left and was dropped (rate_limited), under load.
          await c.pace();
          c.send({ type: 'confirm', turnId: turn, requestId: ask.requestId });
          await c.end(turn);
          const end = c.ofTurn(turn).find((e) => e.type === 'tool_end');
          const label = `${who}: ${name} → ${JSON.stringify(end)}`;
          if (allowed(who, call.needs)) expect(end?.ok, label).toBe(true);
          else expect(end, label).toMatchObject({ ok: false, error: { code: 'forbidden' } });
        }
      } finally {
        c.close();
      }
    },
    120_000,
  );
});
