/**
 * Connecting accounts through Herald's REST API against the local fake X and fake Mastodon,
 * and a real Bluesky PDS (`@atproto/dev-env`): authorize -> callback -> account stored (tokens
 * encrypted) -> post -> refresh -> post; a Bluesky handle and app password -> post; reconnecting
 * keeps the refresh token and the single row; wrong, reused and expired states store nothing;
 * refusals come back in words; the refresh-ahead job marks `needs_reconnect`, which reaches the
 * workspace's WebSocket as `account_status`.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { TOOLS, runTool, type ToolEnv } from '../../agent/index.js';
import { readCredentials, schema, setOutboundPolicy, type HeraldEvent, type Role } from '../../core/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed, type BlueskyTestbed } from '../../connectors/bluesky/fake.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { accountsApiDepsOf } from '../../server/connectors.js';
import {
  completeConnect,
  connectWithPassword,
  refreshExpiringTokens,
  startConnect,
  type ConnectDeps,
} from '../../tools/accounts/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

const REDIRECT = 'https://herald.test/v1/social-accounts/callback';
const DONE = 'https://app.herald.test/accounts';

let x: XFake;
let mastodon: MastodonFake;
let bluesky: BlueskyTestbed;
let api: ApiEnv;
let events: HeraldEvent[];

beforeAll(async () => {
  x = await startXFake({ redirectUris: [REDIRECT], reissueRefreshTokens: false });
  mastodon = await startMastodonFake();
  bluesky = await startBlueskyTestbed();
  api = await startApiEnv({
    connectors: [
      createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url, timeoutMs: 2_000 }),
      createMastodonConnector({ timeoutMs: 2_000 }),
      createBlueskyConnector({ timeoutMs: 2_000, allowHttpPds: true }),
    ],
    accounts: accountsApiDepsOf(
      {
        x: { clientId: x.clientId, clientSecret: x.clientSecret, redirectUri: REDIRECT },
        xApiUrl: x.url,
        mastodon: { redirectUri: REDIRECT },
        doneUrl: DONE,
      },
      2_000,
      // The dev-env PDS resolves the `.test` handles it hosts; DID documents come from its PLC.
      { plcUrl: bluesky.plcUrl, appViewUrl: bluesky.pdsUrl, allowHttpPds: true },
    ),
  });
  api.env.startWorker();
  events = await api.env.recordEvents();
});
afterAll(async () => {
  await api?.close();
  await x?.close();
  await mastodon?.close();
  await bluesky?.close();
});

const call = (method: string, path: string, who: Person, body?: unknown) =>
  fetch(api.baseUrl + path, {
    method,
    headers: { ...who.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

/** Follows the platform's redirect into Herald's public callback; returns where Herald sends the browser. */
async function callback(platformRedirect: string): Promise<URL> {
  const query = new URL(platformRedirect).search;
  const res = await fetch(`${api.baseUrl}/v1/social-accounts/callback${query}`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function connectX(who: Person, userId: string, opts: { deny?: boolean } = {}) {
  const res = await call('POST', '/v1/social-accounts/connect', who, { platform: 'x' });
  expect(res.status).toBe(201);
  const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
  const platformRedirect = await x.approve(authorizeUrl, userId, opts);
  return { platformRedirect, done: await callback(platformRedirect) };
}

const accounts = async (who: Person) =>
  ((await (await call('GET', '/v1/social-accounts', who)).json()) as { items: Array<Record<string, unknown>> }).items;

async function publishNow(who: Person, accountId: string, content: string): Promise<string> {
  const res = await call('POST', '/v1/posts', who, {
    content,
    publishNow: true,
    targets: [{ socialAccountId: accountId }],
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  for (let i = 0; i < 200; i++) {
    const view = (await (await call('GET', `/v1/posts/${id}`, who)).json()) as { targets: Array<{ status: string }> };
    const status = view.targets[0]!.status;
    if (status !== 'scheduled' && status !== 'publishing') return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the post never settled');
}

function connectDeps(now?: () => Date): ConnectDeps {
  const accountsDeps = api.deps.accounts!;
  return {
    db: api.deps.db,
    cipher: api.deps.cipher,
    redis: api.deps.redis,
    keyPrefix: api.deps.keyPrefix,
    linkers: accountsDeps.linkers,
    passwordLinkers: accountsDeps.passwordLinkers,
    platforms: accountsDeps.platforms,
    events: null,
    ...(now ? { now } : {}),
  };
}

describe('connecting an X account over REST', () => {
  it('authorize -> callback -> stored encrypted -> post -> refresh -> post, and a state works once', async () => {
    const owner = await api.signUp();
    const user = x.createUser({ username: 'herald_fan' });
    const { platformRedirect, done } = await connectX(owner, user.userId);
    expect(`${done.origin}${done.pathname}`).toBe(DONE);
    expect(done.searchParams.get('status')).toBe('connected');
    expect(done.searchParams.get('platform')).toBe('x');
    const accountId = done.searchParams.get('accountId')!;
    const [account] = await accounts(owner);
    expect(account).toMatchObject({
      id: accountId,
      platform: 'x',
      handle: 'herald_fan',
      externalId: user.userId,
      status: 'active',
    });
    expect(account!.avatarUrl).toContain(user.userId);
    const stored = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    const [row] = await api.deps.db.select().from(schema.socialAccounts).where(eq(schema.socialAccounts.id, accountId));
    expect(typeof stored!.accessToken).toBe('string');
    expect(typeof stored!.refreshToken).toBe('string');
    for (const secret of [stored!.accessToken as string, stored!.refreshToken as string]) {
      expect(row!.credentialsCiphertext).not.toContain(secret);
      expect(JSON.stringify(account)).not.toContain(secret);
    }

    expect(await publishNow(owner, accountId, 'first post through Herald')).toBe('published');
    // The access token runs out; the worker refreshes once and posts.
    x.expireAccessTokens(user.userId);
    expect(await publishNow(owner, accountId, 'second post, after a refresh')).toBe('published');
    expect(x.posts(user.userId).map((p) => p.text)).toEqual([
      'first post through Herald',
      'second post, after a refresh',
    ]);
    expect(x.counters(user.userId)).toMatchObject({ tweetsCreated: 2, tokensRefreshed: 1 });

    // The same callback again: the state is spent.
    const again = await callback(platformRedirect);
    expect(again.searchParams.get('status')).toBe('error');
    expect(again.searchParams.get('code')).toBe('oauth_state_invalid');
    expect(await accounts(owner)).toHaveLength(1);
  });

  it('reconnecting keeps the stored refresh token when X sends none, and the one row', async () => {
    const owner = await api.signUp();
    const user = x.createUser();
    const first = await connectX(owner, user.userId);
    const accountId = first.done.searchParams.get('accountId')!;
    const before = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    const second = await connectX(owner, user.userId);
    expect(second.done.searchParams.get('accountId')).toBe(accountId);
    const after = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    expect(after!.accessToken).not.toBe(before!.accessToken);
    expect(after!.refreshToken).toBe(before!.refreshToken);
    expect(await accounts(owner)).toHaveLength(1);
  });

  it('disconnecting revokes the tokens at X, forgets them, and reports it', async () => {
    const owner = await api.signUp();
    const user = x.createUser();
    const { done } = await connectX(owner, user.userId);
    const accountId = done.searchParams.get('accountId')!;
    const creds = (await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId))!;
    const me = () =>
      fetch(`${x.url}/2/users/me`, { headers: { authorization: `Bearer ${String(creds.accessToken)}` } });
    expect((await me()).status).toBe(200);
    const res = await call('DELETE', `/v1/social-accounts/${accountId}`, owner);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'disconnected', revokedAtPlatform: true });
    expect((await me()).status).toBe(401);
    expect(await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId)).toEqual({});
  });

  it('a refusal comes back in words and stores nothing; a wrong state too', async () => {
    const owner = await api.signUp();
    const user = x.createUser();
    const denied = await connectX(owner, user.userId, { deny: true });
    expect(denied.done.searchParams.get('code')).toBe('oauth_denied');
    expect(denied.done.searchParams.get('message')).toBe('The x authorization was not granted');
    // The user's choice is a 4xx (logged at info), not the platform failing (502).
    const ctx = { workspaceId: owner.workspaceId, userId: owner.userId, role: 'owner' as const };
    const state = async () =>
      new URL((await startConnect(connectDeps(), ctx, { platform: 'x' })).authorizeUrl).searchParams.get('state')!;
    expect(
      await completeConnect(connectDeps(), { state: await state(), error: 'access_denied' }).catch((e) => e),
    ).toMatchObject({
      code: 'oauth_denied',
      status: 403,
    });
    expect(
      await completeConnect(connectDeps(), { state: await state(), error: 'server_error' }).catch((e) => e),
    ).toMatchObject({
      code: 'oauth_failed',
      status: 502,
    });

    const res = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'x' });
    const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
    const redirect = new URL(await x.approve(authorizeUrl, user.userId));
    redirect.searchParams.set('code', 'not-the-code');
    const refused = await callback(redirect.toString());
    expect(refused.searchParams.get('code')).toBe('oauth_failed');
    expect(refused.searchParams.get('message')).toMatch(
      /^Connecting the x account failed: X refused the authorization code \(invalid_request: /,
    );

    const forged = new URL(
      await x.approve(
        (
          (await (await call('POST', '/v1/social-accounts/connect', owner, { platform: 'x' })).json()) as {
            authorizeUrl: string;
          }
        ).authorizeUrl,
        user.userId,
      ),
    );
    forged.searchParams.set('state', 'forged');
    expect((await callback(forged.toString())).searchParams.get('code')).toBe('oauth_state_invalid');
    expect(await accounts(owner)).toHaveLength(0);
  });

  it('an expired state is refused and stores nothing', async () => {
    const owner = await api.signUp();
    const user = x.createUser();
    const started = await startConnect(
      connectDeps(),
      { workspaceId: owner.workspaceId, userId: owner.userId, role: 'owner' },
      { platform: 'x' },
    );
    const back = new URL(await x.approve(started.authorizeUrl, user.userId));
    const later = () => new Date(Date.now() + 10 * 60_000 + 1_000);
    const err = await completeConnect(connectDeps(later), {
      state: back.searchParams.get('state')!,
      code: back.searchParams.get('code')!,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'oauth_state_invalid' });
    expect(await accounts(owner)).toHaveLength(0);
  });

  it('only admins may connect; platforms without credentials say what to set', async () => {
    const owner = await api.signUp();
    const list = (await (await call('GET', '/v1/social-accounts/platforms', owner)).json()) as { items: unknown[] };
    const items = list.items as Array<{ platform: string; configured: boolean; set: string[] }>;
    for (const expected of [
      { platform: 'bluesky', configured: true, set: [], needsInstanceUrl: false, connectWith: ['app_password'] },
      { platform: 'x', configured: true, set: [], needsInstanceUrl: false, connectWith: ['oauth'] },
      {
        platform: 'linkedin',
        configured: false,
        set: ['LINKEDIN_CLIENT_ID', 'LINKEDIN_CLIENT_SECRET', 'LINKEDIN_REDIRECT_URI'],
        needsInstanceUrl: false,
        connectWith: ['oauth'],
      },
      { platform: 'mastodon', configured: true, set: [], needsInstanceUrl: true, connectWith: ['oauth'] },
    ])
      expect(items.find((p) => p.platform === expected.platform)).toEqual(expected);
    // The Meta and video platforms are not configured here: each names what to set.
    const rest = items.filter((p) => !['bluesky', 'x', 'linkedin', 'mastodon'].includes(p.platform));
    expect(rest.map((p) => p.platform).sort()).toEqual(
      ['facebook', 'instagram', 'pinterest', 'threads', 'tiktok', 'youtube'].sort(),
    );
    for (const p of rest) {
      expect(p.configured).toBe(false);
      expect(p.set.length).toBeGreaterThan(0);
    }
    const bare = accountsApiDepsOf(
      { x: undefined, xApiUrl: undefined, mastodon: undefined, doneUrl: undefined },
      1_000,
    );
    expect(bare.platforms.find((p) => p.platform === 'x')).toMatchObject({
      configured: false,
      set: ['X_CLIENT_ID', 'X_CLIENT_SECRET', 'X_REDIRECT_URI'],
    });
    const unknown = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'myspace' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: {
        code: 'platform_unsupported',
        message:
          'Herald cannot connect myspace accounts; it connects bluesky, x, linkedin, instagram, threads, tiktok, youtube, pinterest, facebook, mastodon',
      },
    });
    const noAuth = await fetch(`${api.baseUrl}/v1/social-accounts/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"platform":"x"}',
    });
    expect(noAuth.status).toBe(401);
  });
});

describe('connecting a Mastodon account over REST', () => {
  it('registers Herald on the instance, connects with PKCE and publishes', async () => {
    const owner = await api.signUp();
    const user = mastodon.createAccount({ username: 'ada' });
    const res = await call('POST', '/v1/social-accounts/connect', owner, {
      platform: 'mastodon',
      instanceUrl: mastodon.url,
    });
    expect(res.status).toBe(201);
    const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
    expect(new URL(authorizeUrl).searchParams.get('code_challenge_method')).toBe('S256');
    const done = await callback(await mastodon.approve(authorizeUrl, user.accountId));
    expect(done.searchParams.get('status')).toBe('connected');
    const [account] = await accounts(owner);
    expect(account).toMatchObject({ platform: 'mastodon', handle: 'ada', externalId: user.accountId });
    expect(await publishNow(owner, done.searchParams.get('accountId')!, 'hello fediverse')).toBe('published');
    expect(mastodon.statuses(user.accountId).map((s) => s.text)).toEqual(['hello fediverse']);
  });

  it('an instance at a loopback address is refused by default (OUTBOUND_ALLOW unset), nothing registered', async () => {
    const owner = await api.signUp();
    const seen = mastodon.requests().length;
    setOutboundPolicy({ allow: [] });
    try {
      const res = await call('POST', '/v1/social-accounts/connect', owner, {
        platform: 'mastodon',
        instanceUrl: mastodon.url,
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(body.error.message).toMatch(/does not fetch user-given addresses/);
    } finally {
      setOutboundPolicy({ allow: ['loopback'] });
    }
    expect(mastodon.requests()).toHaveLength(seen);
  });
});

/** The workspace's WebSocket: every server event it receives, and a wait for one. */
async function socket(who: Person) {
  const ws = new WebSocket(`${api.baseUrl.replace(/^http/, 'ws')}/v1/ws`, { headers: who.auth });
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (data: Buffer) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const until = async (what: string, found: () => boolean) => {
    for (let i = 0; i < 400 && !found(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!found()) throw new Error(`no ${what} on the socket: ${JSON.stringify(events)}`);
  };
  await until('ready', () => events.some((e) => e.type === 'ready'));
  return { events, until, close: () => ws.close() };
}

const signIn = (who: Person, body: Record<string, unknown>) =>
  call('POST', '/v1/social-accounts/app-password', who, { platform: 'bluesky', ...body });

describe('connecting a Bluesky account over REST', () => {
  it('a new user connects with a handle and an app password, and publishes to it', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const ws = await socket(owner);
    const res = await signIn(owner, { identifier: person.handle, appPassword: person.appPassword });
    expect(res.status).toBe(201);
    const { account } = (await res.json()) as { account: { id: string; reconnected: boolean } };
    expect(account).toMatchObject({ platform: 'bluesky', handle: person.handle, reconnected: false });
    const [listed] = await accounts(owner);
    expect(listed).toMatchObject({ id: account.id, platform: 'bluesky', externalId: person.did, status: 'active' });

    // Stored encrypted, pointing at the PDS the DID document names.
    const stored = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, account.id);
    expect(stored).toMatchObject({ service: bluesky.pdsUrl, did: person.did, appPassword: person.appPassword });
    const [row] = await api.deps.db
      .select()
      .from(schema.socialAccounts)
      .where(eq(schema.socialAccounts.id, account.id));
    for (const secret of [person.appPassword, stored!.accessJwt as string, stored!.refreshJwt as string]) {
      expect(row!.credentialsCiphertext).not.toContain(secret);
      expect(JSON.stringify(listed)).not.toContain(secret);
    }
    expect(row!.tokenExpiresAt).not.toBeNull();

    expect(await publishNow(owner, account.id, 'hello from Herald')).toBe('published');
    expect((await bluesky.listPosts(person.did)).map((p) => p.text)).toEqual(['hello from Herald']);

    await ws.until('account_status', () => ws.events.some((e) => e.type === 'account_status'));
    expect(ws.events.find((e) => e.type === 'account_status')).toMatchObject({
      socialAccountId: account.id,
      platform: 'bluesky',
      status: 'active',
      reason: 'connected',
    });
    ws.close();

    // Connecting again updates the one row.
    const again = await signIn(owner, { identifier: person.did, appPassword: person.appPassword });
    expect(((await again.json()) as { account: unknown }).account).toMatchObject({ id: account.id, reconnected: true });
    expect(await accounts(owner)).toHaveLength(1);
  });

  it('disconnecting ends the session on the PDS and forgets the app password', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const res = await signIn(owner, { identifier: person.handle, appPassword: person.appPassword });
    const { account } = (await res.json()) as { account: { id: string } };
    const stored = (await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, account.id))!;
    const gone = await call('DELETE', `/v1/social-accounts/${account.id}`, owner);
    expect(await gone.json()).toMatchObject({ status: 'disconnected', revokedAtPlatform: true });
    expect(await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, account.id)).toEqual({});
    // The PDS no longer honours the session's refresh token.
    const refresh = await fetch(`${bluesky.pdsUrl}/xrpc/com.atproto.server.refreshSession`, {
      method: 'POST',
      headers: { authorization: `Bearer ${String(stored.refreshJwt)}` },
    });
    expect(refresh.status).toBe(400);
    expect(await refresh.json()).toMatchObject({ error: 'ExpiredToken' });
  });

  it('a revoked app password: the refresh job marks the account needs_reconnect and the socket hears it', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const res = await signIn(owner, { identifier: person.handle, appPassword: person.appPassword });
    const { account } = (await res.json()) as { account: { id: string } };
    await bluesky.revokeAppPassword(person);
    const ws = await socket(owner);
    const deps = {
      db: api.deps.db,
      cipher: api.deps.cipher,
      connectors: api.deps.scheduling.connectors,
      events: api.env.events,
    };
    // Access tokens live two hours: two hours on, the refresh is due and the PDS refuses it.
    const report = await refreshExpiringTokens({ ...deps, now: () => new Date(Date.now() + 2 * 3_600_000) });
    expect(report.needsReconnect).toBeGreaterThanOrEqual(1);
    expect((await accounts(owner)).find((a) => a.id === account.id)).toMatchObject({ status: 'needs_reconnect' });
    await ws.until('needs_reconnect', () =>
      ws.events.some((e) => e.type === 'account_status' && e.status === 'needs_reconnect'),
    );
    expect(ws.events.find((e) => e.type === 'account_status' && e.status === 'needs_reconnect')).toMatchObject({
      socialAccountId: account.id,
      platform: 'bluesky',
    });
    ws.close();
    // A post for it is refused at once, in words.
    const post = await call('POST', '/v1/posts', owner, {
      content: 'x',
      publishNow: true,
      targets: [{ socialAccountId: account.id }],
    });
    expect(post.status).toBe(409);
    expect(JSON.stringify(await post.json())).toContain('needs reconnecting');
  });

  it('a wrong password, a handle that does not resolve, an editor and an OAuth attempt each get their own answer', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const wrong = await signIn(owner, { identifier: person.handle, appPassword: 'abcd-efgh-ijkl-mnop' });
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toMatchObject({ error: { code: 'sign_in_refused' } });
    const lost = await signIn(owner, { identifier: 'nobody-here.test', appPassword: 'abcd-efgh-ijkl-mnop' });
    expect(lost.status).toBe(422);
    expect(await lost.json()).toMatchObject({ error: { code: 'handle_unresolved' } });
    const oauth = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'bluesky' });
    expect(oauth.status).toBe(400);
    expect(((await oauth.json()) as { error: { message: string } }).error.message).toContain('app password');
    const other = await signIn(owner, { platform: 'x', identifier: 'someone.test', appPassword: 'p' });
    expect(other.status).toBe(400);
    const unknown = await signIn(owner, { platform: 'myspace', identifier: 'someone.test', appPassword: 'p' });
    expect(await unknown.json()).toMatchObject({ error: { code: 'platform_unsupported' } });

    // Admins only: over REST, and in the service itself (what every other channel calls).
    const inv = await call('POST', '/v1/invitations', owner, {
      email: `editor-${Date.now()}@example.com`,
      role: 'editor',
    });
    expect(inv.status).toBe(201);
    const editor = await api.signUp({ invitationToken: ((await inv.json()) as { token: string }).token });
    expect(editor.workspaceId).toBe(owner.workspaceId);
    const byEditor = await signIn(editor, { identifier: person.handle, appPassword: person.appPassword });
    expect(byEditor.status).toBe(403);
    const direct = await connectWithPassword(
      connectDeps(),
      { workspaceId: owner.workspaceId, userId: editor.userId, role: 'editor', channel: 'ws' },
      { platform: 'bluesky', identifier: person.handle, appPassword: person.appPassword },
    ).catch((e: unknown) => e);
    expect(direct).toMatchObject({ code: 'forbidden' });
    expect(await accounts(owner)).toHaveLength(0);
  });
});

describe("the agent's connect_bluesky tool", () => {
  it('is one service call: an editor is refused, an owner connects, and the password is not in the action shown', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const toolEnv = (role: Role): ToolEnv => ({
      deps: api.deps.scheduling,
      accounts: connectDeps(),
      session: { workspaceId: owner.workspaceId, userId: owner.userId, role, timeZone: 'UTC', channel: 'ws' },
      now: () => new Date(),
    });
    const args = { identifier: person.handle, appPassword: person.appPassword };
    const tool = TOOLS.get('connect_bluesky')!;
    expect(tool.sideEffect).toBe(true);
    const shown = await tool.describe!(toolEnv('owner'), args);
    expect(JSON.stringify(shown)).not.toContain(person.appPassword);
    expect(shown.summary).toContain(person.handle);

    expect(await runTool(toolEnv('editor'), 'connect_bluesky', args)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const wrong = await runTool(toolEnv('owner'), 'connect_bluesky', { ...args, appPassword: 'abcd-efgh-ijkl-mnop' });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'sign_in_refused' } });
    const done = await runTool(toolEnv('owner'), 'connect_bluesky', args);
    expect(done).toMatchObject({
      ok: true,
      output: { platform: 'bluesky', handle: person.handle, reconnected: false },
    });
    expect(JSON.stringify(done)).not.toContain(person.appPassword);
    expect(await accounts(owner)).toMatchObject([{ platform: 'bluesky', externalId: person.did }]);
  });
});

describe('refreshing tokens ahead of expiry', () => {
  it('refreshes what expires soon, and marks an account whose grant was revoked needs_reconnect with an event', async () => {
    const owner = await api.signUp();
    const kept = x.createUser();
    const lost = x.createUser();
    const keptId = (await connectX(owner, kept.userId)).done.searchParams.get('accountId')!;
    const lostId = (await connectX(owner, lost.userId)).done.searchParams.get('accountId')!;
    x.revokeGrants(lost.userId);
    const deps = {
      db: api.deps.db,
      cipher: api.deps.cipher,
      connectors: api.deps.scheduling.connectors,
      events: api.env.events,
    };
    // Nothing is due yet: tokens live two hours.
    expect(await refreshExpiringTokens(deps)).toMatchObject({ refreshed: 0, needsReconnect: 0 });
    const report = await refreshExpiringTokens({ ...deps, now: () => new Date(Date.now() + 2 * 3_600_000) });
    expect(report.needsReconnect).toBeGreaterThanOrEqual(1);
    const byId = new Map((await accounts(owner)).map((a) => [a.id, a]));
    expect(byId.get(keptId)!.status).toBe('active');
    expect(byId.get(lostId)!.status).toBe('needs_reconnect');
    expect(x.counters(kept.userId).tokensRefreshed).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'account.status', socialAccountId: lostId, status: 'needs_reconnect' }),
    );
    expect(await publishNow(owner, keptId, 'after the job refreshed')).toBe('published');
  });
});
