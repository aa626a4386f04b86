/**
 * Connecting accounts through Herald's REST API against the local fake X and fake Mastodon:
 * authorize -> callback -> account stored (tokens encrypted) -> post -> refresh -> post;
 * reconnecting keeps the refresh token and the single row; wrong, reused and expired states
 * store nothing; refusals come back in words; the refresh-ahead job marks `needs_reconnect`.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials, schema, type HeraldEvent } from '../../core/index.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { accountsApiDepsOf } from '../../server/connectors.js';
import { completeConnect, refreshExpiringTokens, startConnect, type ConnectDeps } from '../../tools/accounts/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

const REDIRECT = 'https://herald.test/v1/social-accounts/callback';
const DONE = 'https://app.herald.test/accounts';

let x: XFake;
let mastodon: MastodonFake;
let api: ApiEnv;
let events: HeraldEvent[];

beforeAll(async () => {
  x = await startXFake({ redirectUris: [REDIRECT], reissueRefreshTokens: false });
  mastodon = await startMastodonFake();
  api = await startApiEnv({
    connectors: [
      createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url, timeoutMs: 2_000 }),
      createMastodonConnector({ timeoutMs: 2_000 }),
    ],
    accounts: accountsApiDepsOf(
      {
        x: { clientId: x.clientId, clientSecret: x.clientSecret, redirectUri: REDIRECT },
        xApiUrl: x.url,
        mastodon: { redirectUri: REDIRECT },
        doneUrl: DONE,
      },
      2_000,
    ),
  });
  api.env.startWorker();
  events = await api.env.recordEvents();
});
afterAll(async () => {
  await api?.close();
  await x?.close();
  await mastodon?.close();
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
    expect(denied.done.searchParams.get('code')).toBe('oauth_failed');
    expect(denied.done.searchParams.get('message')).toBe('The x authorization was not granted: access_denied');

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
    expect(list.items).toEqual([
      { platform: 'x', configured: true, set: [], needsInstanceUrl: false },
      {
        platform: 'linkedin',
        configured: false,
        set: ['LINKEDIN_CLIENT_ID', 'LINKEDIN_CLIENT_SECRET', 'LINKEDIN_REDIRECT_URI'],
        needsInstanceUrl: false,
      },
      { platform: 'mastodon', configured: true, set: [], needsInstanceUrl: true },
    ]);
    const bare = accountsApiDepsOf(
      { x: undefined, xApiUrl: undefined, mastodon: undefined, doneUrl: undefined },
      1_000,
    );
    expect(bare.platforms.find((p) => p.platform === 'x')).toMatchObject({
      configured: false,
      set: ['X_CLIENT_ID', 'X_CLIENT_SECRET', 'X_REDIRECT_URI'],
    });
    const unknown = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'tiktok' });
    expect(unknown.status).toBe(409);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('platform_not_configured');
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
