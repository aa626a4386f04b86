/**
 * Connecting Bluesky accounts with atproto OAuth through Herald's REST API, against the real PDS
 * of `@atproto/dev-env` and its OAuth provider: `POST /v1/social-accounts/connect` -> the PDS's
 * authorization page (signed in and consented to as a browser does, through the page's own API)
 * -> Herald's callback -> the account stored with its session sealed in the database -> a post
 * published through the DPoP-bound session and read back from the PDS -> refreshes through the
 * library -> a grant revoked on the PDS marks the account `needs_reconnect`. Herald is the
 * loopback (development) client here: a confidential client's `client_id` must be an https URL
 * the PDS fetches, which a test on loopback cannot serve; its metadata and keys are checked apart.
 */
import { eq } from 'drizzle-orm';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { JoseKey, NodeOAuthClient, requestLocalLock } from '@atproto/oauth-client-node';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig, readCredentials, schema } from '../../core/index.js';
import {
  BlueskyOAuth,
  createBlueskyConnector,
  OAUTH_CALLBACK_PATH,
  type BlueskyOAuthStores,
} from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed, type BlueskyTestbed, type TestAccount } from '../../connectors/bluesky/fake.js';
import { accountsApiDepsOf } from '../../server/connectors.js';
import { createBlueskyOAuthStores, redisRequestLock, refreshExpiringTokens } from '../../tools/accounts/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

let bluesky: BlueskyTestbed;
let api: ApiEnv;
let redis: Redis;
let oauth: BlueskyOAuth;
let stores: BlueskyOAuthStores | undefined;

beforeAll(async () => {
  bluesky = await startBlueskyTestbed();
  redis = new Redis(REDIS_URL);
  const port = await getPort();
  // The stores live in the API's database, made by `startApiEnv`; bound once it exists.
  const late: BlueskyOAuthStores = {
    states: (w) => stores!.states(w),
    session: (id) => stores!.session(id),
    createSession: (w, did, s) => stores!.createSession(w, did, s),
    deleteSession: (id) => stores!.deleteSession(id),
  };
  oauth = await BlueskyOAuth.create({
    client: { kind: 'loopback', redirectUri: `http://127.0.0.1:${port}${OAUTH_CALLBACK_PATH}` },
    stores: late,
    requestLock: redisRequestLock(redis, `herald-test-${port}`),
    plcUrl: bluesky.plcUrl,
    handleResolverUrl: bluesky.pdsUrl,
    defaultServer: bluesky.pdsUrl,
    allowHttp: true,
    timeoutMs: 5_000,
  });
  api = await startApiEnv({
    port,
    connectors: [createBlueskyConnector({ timeoutMs: 5_000, allowHttpPds: true, oauth })],
    accounts: accountsApiDepsOf(
      { x: undefined, xApiUrl: undefined, mastodon: undefined, doneUrl: undefined },
      5_000,
      { plcUrl: bluesky.plcUrl, appViewUrl: bluesky.pdsUrl, allowHttpPds: true },
      oauth,
    ),
  });
  stores = createBlueskyOAuthStores({ db: api.deps.db, cipher: api.deps.cipher });
  api.env.startWorker();
});
afterAll(async () => {
  await api?.close();
  await bluesky?.close();
  redis?.disconnect();
});

const call = (method: string, path: string, who: Person, body?: unknown) =>
  fetch(api.baseUrl + path, {
    method,
    headers: { ...who.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

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
  for (let i = 0; i < 300; i++) {
    const view = (await (await call('GET', `/v1/posts/${id}`, who)).json()) as {
      targets: Array<{ status: string; lastError?: unknown }>;
    };
    const status = view.targets[0]!.status;
    if (status !== 'scheduled' && status !== 'publishing') return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the post never settled');
}

/** REST connect -> the PDS's page (sign in, consent) -> the redirect the browser follows into Herald. */
async function connectWithOAuth(owner: Person, person: TestAccount) {
  const res = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'bluesky', handle: person.handle });
  expect(res.status).toBe(201);
  const started = (await res.json()) as { platform: string; authorizeUrl: string };
  const back = await bluesky.authorizeOAuth(started.authorizeUrl, person);
  const done = await fetch(back);
  expect(done.status).toBe(200);
  const body = (await done.json()) as { status: string; account: { id: string; handle: string; reconnected: boolean } };
  return { started, back, body };
}

async function sessionRow(sessionId: string) {
  const [row] = await api.deps.db
    .select()
    .from(schema.blueskyOauthSessions)
    .where(eq(schema.blueskyOauthSessions.id, sessionId));
  return row;
}

describe('connecting a Bluesky account with OAuth over REST', () => {
  it('authorize on the PDS -> callback -> stored sealed -> a post through the DPoP-bound session, and a state works once', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const platforms = (await (await call('GET', '/v1/social-accounts/platforms', owner)).json()) as {
      items: Array<{ platform: string; connectWith: string[] }>;
    };
    expect(platforms.items.find((p) => p.platform === 'bluesky')?.connectWith).toEqual(['app_password', 'oauth']);

    const { started, back, body } = await connectWithOAuth(owner, person);
    // PAR: the authorization URL carries only the client id and the pushed request's URI.
    const url = new URL(started.authorizeUrl);
    expect(url.origin).toBe(new URL(bluesky.pdsUrl).origin);
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(url.searchParams.get('client_id')).toBe(oauth.clientMetadata.client_id);
    expect(back.startsWith(`${api.baseUrl}${OAUTH_CALLBACK_PATH}?`)).toBe(true);
    expect(new URL(back).searchParams.get('iss')).toBe(new URL(bluesky.pdsUrl).origin);
    expect(body).toMatchObject({
      status: 'connected',
      account: { platform: 'bluesky', handle: person.handle, reconnected: false },
    });

    // The state is spent: the same redirect again connects nothing.
    const again = await fetch(back);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: { code: 'oauth_state_invalid' } });

    const [listed] = await accounts(owner);
    expect(listed).toMatchObject({
      id: body.account.id,
      externalId: person.did,
      status: 'active',
      metadata: { auth: 'oauth' },
    });
    // The account's credentials name its session; the session (tokens and DPoP key) is sealed apart.
    const credentials = (await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, body.account.id))!;
    expect(credentials).toEqual({
      auth: 'oauth',
      sessionId: expect.any(String),
      did: person.did,
      handle: person.handle,
      service: new URL(bluesky.pdsUrl).origin,
    });
    const row = (await sessionRow(credentials.sessionId as string))!;
    expect(row).toMatchObject({ workspaceId: owner.workspaceId, did: person.did });
    const session = (await stores!.session(row.id).get(person.did))!;
    expect(session.dpopJwk).toMatchObject({ kty: 'EC', d: expect.any(String) });
    expect(session.tokenSet).toMatchObject({
      sub: person.did,
      token_type: 'DPoP',
      scope: expect.stringContaining('atproto'),
    });
    for (const secret of [
      session.tokenSet.access_token,
      session.tokenSet.refresh_token!,
      (session.dpopJwk as { d: string }).d,
    ]) {
      expect(row.sessionCiphertext).not.toContain(secret);
      expect(JSON.stringify(listed)).not.toContain(secret);
    }
    expect(await api.deps.db.select().from(schema.blueskyOauthStates)).toEqual([]);
    // The PDS holds one grant for Herald's client.
    expect(await bluesky.oauthSessions(person)).toEqual([
      { tokenId: expect.any(String), clientId: oauth.clientMetadata.client_id },
    ]);

    expect(await publishNow(owner, body.account.id, 'hello over OAuth')).toBe('published');
    expect((await bluesky.listPosts(person.did)).map((p) => p.text)).toEqual(['hello over OAuth']);
  });

  it('refreshes through the library (the refresh token rotates), and a grant revoked on the PDS marks needs_reconnect', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const { body } = await connectWithOAuth(owner, person);
    const { sessionId } = (await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, body.account.id)) as {
      sessionId: string;
    };
    const before = (await stores!.session(sessionId).get(person.did))!;
    const deps = {
      db: api.deps.db,
      cipher: api.deps.cipher,
      connectors: api.deps.scheduling.connectors,
      events: api.env.events,
    };
    // OAuth access tokens live an hour: two hours on, the refresh-ahead job picks the account.
    const later = () => new Date(Date.now() + 2 * 3_600_000);
    const first = await refreshExpiringTokens({ ...deps, now: later });
    expect(first.refreshed).toBeGreaterThanOrEqual(1);
    const after = (await stores!.session(sessionId).get(person.did))!;
    expect(after.tokenSet.refresh_token).not.toBe(before.tokenSet.refresh_token);
    expect(after.tokenSet.access_token).not.toBe(before.tokenSet.access_token);
    expect(after.dpopJwk).toEqual(before.dpopJwk);
    expect((await accounts(owner))[0]).toMatchObject({ status: 'active' });
    expect(await publishNow(owner, body.account.id, 'after a refresh')).toBe('published');

    // The owner revokes Herald's access on Bluesky: the next refresh is refused.
    await bluesky.revokeOAuthSessions(person);
    const second = await refreshExpiringTokens({ ...deps, now: later });
    expect(second.needsReconnect).toBeGreaterThanOrEqual(1);
    expect((await accounts(owner)).find((a) => a.id === body.account.id)).toMatchObject({ status: 'needs_reconnect' });
    // The library forgot the dead session.
    expect(await sessionRow(sessionId)).toBeUndefined();
    const post = await call('POST', '/v1/posts', owner, {
      content: 'x',
      publishNow: true,
      targets: [{ socialAccountId: body.account.id }],
    });
    expect(post.status).toBe(409);

    // Reconnecting brings the same row back to active, with a new session.
    const { body: again } = await connectWithOAuth(owner, person);
    expect(again.account).toMatchObject({ id: body.account.id, reconnected: true });
    expect((await accounts(owner))[0]).toMatchObject({ status: 'active' });
  });

  it('disconnecting revokes the grant on the PDS and forgets the session', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const { body } = await connectWithOAuth(owner, person);
    const { sessionId } = (await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, body.account.id)) as {
      sessionId: string;
    };
    const gone = await call('DELETE', `/v1/social-accounts/${body.account.id}`, owner);
    expect(await gone.json()).toMatchObject({ status: 'disconnected', revokedAtPlatform: true });
    expect(await sessionRow(sessionId)).toBeUndefined();
    expect(await bluesky.oauthSessions(person)).toEqual([]);
  });

  it('two workspaces connect one Bluesky account with separate sessions', async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    const person = await bluesky.createAccount();
    const inA = (await connectWithOAuth(a, person)).body.account;
    const inB = (await connectWithOAuth(b, person)).body.account;
    expect(inA.id).not.toBe(inB.id);
    const sa = (await readCredentials(api.deps.db, api.deps.cipher, a.workspaceId, inA.id))!.sessionId as string;
    const sb = (await readCredentials(api.deps.db, api.deps.cipher, b.workspaceId, inB.id))!.sessionId as string;
    expect(sa).not.toBe(sb);
    expect((await sessionRow(sa))!.workspaceId).toBe(a.workspaceId);
    expect((await sessionRow(sb))!.workspaceId).toBe(b.workspaceId);
    expect(await publishNow(a, inA.id, 'from workspace A')).toBe('published');
    expect(await publishNow(b, inB.id, 'from workspace B')).toBe('published');
    expect((await bluesky.listPosts(person.did)).map((p) => p.text).sort()).toEqual([
      'from workspace A',
      'from workspace B',
    ]);
  });

  it('a declined authorization, a handle that does not resolve and an editor each get their own answer', async () => {
    const owner = await api.signUp();
    const person = await bluesky.createAccount();
    const res = await call('POST', '/v1/social-accounts/connect', owner, {
      platform: 'bluesky',
      handle: person.handle,
    });
    const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
    const back = await bluesky.authorizeOAuth(authorizeUrl, person, { deny: true });
    expect(new URL(back).searchParams.get('error')).toBe('access_denied');
    const declined = await fetch(back);
    expect(declined.status).toBe(403);
    expect(await declined.json()).toMatchObject({ error: { code: 'oauth_denied' } });
    expect(await accounts(owner)).toEqual([]);

    const lost = await call('POST', '/v1/social-accounts/connect', owner, {
      platform: 'bluesky',
      handle: 'nobody-here.test',
    });
    expect(lost.status).toBe(422);
    expect(await lost.json()).toMatchObject({ error: { code: 'handle_unresolved' } });

    // Without a handle, the authorization starts at the server and the account is picked there.
    const open = await call('POST', '/v1/social-accounts/connect', owner, { platform: 'bluesky' });
    expect(open.status).toBe(201);

    const inv = await call('POST', '/v1/invitations', owner, {
      email: `editor-${Date.now()}@example.com`,
      role: 'editor',
    });
    const editor = await api.signUp({ invitationToken: ((await inv.json()) as { token: string }).token });
    const byEditor = await call('POST', '/v1/social-accounts/connect', editor, {
      platform: 'bluesky',
      handle: person.handle,
    });
    expect(byEditor.status).toBe(403);
  });
});

describe('client metadata', () => {
  it('the loopback client is served at /oauth/bluesky/client-metadata.json; it has no keys', async () => {
    const res = await fetch(`${api.baseUrl}/oauth/bluesky/client-metadata.json`);
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      client_id: expect.stringMatching(/^http:\/\/localhost\?/),
      redirect_uris: [`${api.baseUrl}${OAUTH_CALLBACK_PATH}`],
      token_endpoint_auth_method: 'none',
      dpop_bound_access_tokens: true,
      application_type: 'native',
    });
    expect((await fetch(`${api.baseUrl}/oauth/bluesky/jwks.json`)).status).toBe(404);
  });

  it('a confidential client: private_key_jwt with ES256, its public keys only at jwks_uri, accepted by the library', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const confidential = await BlueskyOAuth.create({
      client: { kind: 'confidential', publicUrl: 'https://herald.example.com', privateKeys: [pem] },
      stores: stores!,
    });
    expect(confidential.clientMetadata).toMatchObject({
      client_id: 'https://herald.example.com/oauth/bluesky/client-metadata.json',
      redirect_uris: ['https://herald.example.com/oauth/bluesky/callback'],
      jwks_uri: 'https://herald.example.com/oauth/bluesky/jwks.json',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      application_type: 'web',
      dpop_bound_access_tokens: true,
    });
    // As served: JSON, the private part gone.
    const { keys } = JSON.parse(JSON.stringify(confidential.jwks)) as { keys: Array<Record<string, unknown>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'herald-1' });
    expect(keys[0]).not.toHaveProperty('d');
    // The library checks metadata and keyset together: these pass, and without the key they do not.
    const client = (keyset: JoseKey[]) =>
      new NodeOAuthClient({
        clientMetadata: confidential.clientMetadata,
        keyset,
        stateStore: stores!.states(null),
        sessionStore: stores!.session('unused'),
        requestLock: requestLocalLock,
      });
    expect(client([await JoseKey.fromImportable(pem, 'herald-1')]).clientMetadata.jwks_uri).toBe(
      'https://herald.example.com/oauth/bluesky/jwks.json',
    );
    expect(() => client([])).toThrow();

    // Misconfigurations are refused at start, in words.
    await expect(
      BlueskyOAuth.create({
        client: { kind: 'confidential', publicUrl: 'http://herald.example.com', privateKeys: [pem] },
        stores: stores!,
      }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    await expect(
      BlueskyOAuth.create({
        client: { kind: 'loopback', redirectUri: 'http://localhost:3000/oauth/bluesky/callback' },
        stores: stores!,
      }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    expect(() => loadConfig({ env: { BLUESKY_OAUTH_KEY: pem }, readDotenv: false })).toThrow(/BLUESKY_OAUTH_KEY/);
    const dev = loadConfig({ env: {}, readDotenv: false });
    expect(dev.connect.blueskyOAuth).toEqual({
      kind: 'loopback',
      redirectUri: 'http://127.0.0.1:3000/oauth/bluesky/callback',
    });
    const prod = loadConfig({
      env: { BLUESKY_OAUTH_KEY: pem, PUBLIC_URL: 'https://herald.example.com' },
      readDotenv: false,
    });
    expect(prod.connect.blueskyOAuth).toMatchObject({ kind: 'confidential', publicUrl: 'https://herald.example.com' });
  });
});
