/**
 * The LinkedIn connector against the local fake LinkedIn (a real HTTP server on loopback):
 * the shared connector contract, then LinkedIn's own rules — little-text escaping, 3,000
 * characters, images, documents and article links, posting as a page, metrics, throttling,
 * refresh with and without programmatic refresh — and connecting an account end to end
 * through Herald's REST API: authorize -> callback -> stored -> post (text, image) -> refresh
 * -> post; reconnecting keeps the refresh token and the one row; bad states store nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, readCredentials } from '../../core/index.js';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, RateLimited } from '../../connectors/errors.js';
import {
  createLinkedInConnector,
  createLinkedInLinker,
  toLittleText,
  type LinkedInApp,
} from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake, type LinkedInFakeAccount } from '../../connectors/linkedin/fake.js';
import { accountsApiDepsOf, createConnectors } from '../../server/connectors.js';
import { completeConnect, startConnect, type ConnectDeps } from '../../tools/accounts/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { solidPng } from '../helpers/media-fixtures.js';
import { connectorContract } from '../contract/connector.suite.js';

let PNG: Buffer;
const image = (altText?: string): MediaInput => ({
  mimeType: 'image/png',
  sizeBytes: PNG.length,
  bytes: PNG,
  ...(altText ? { altText } : {}),
});
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');
const person = (a: { memberId: string }) => `urn:li:person:${a.memberId}`;
/** An app LinkedIn approved to read members' posts (r_member_social is restricted). */
const MEMBER_READ_SCOPES = ['openid', 'profile', 'w_member_social', 'r_member_social'];

function accountFor(creds: LinkedInFakeAccount, metadata: Record<string, unknown> = {}): AccountContext {
  return {
    accountId: randomUUID(),
    externalId: creds.memberId,
    handle: creds.name,
    credentials: {
      accessToken: creds.accessToken,
      ...(creds.refreshToken ? { refreshToken: creds.refreshToken } : {}),
    },
    metadata,
  };
}

const post = (text: string, options: Record<string, unknown> = {}, media: MediaInput[] = []): PublishInput => ({
  parts: [{ text, media }],
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );

connectorContract('LinkedIn', async () => {
  PNG = await solidPng(4, 4, '#ff0000');
  const fake = await startLinkedInFake();
  // The contract looks posts up and reads metrics: an app LinkedIn approved for both.
  const scopes = [...MEMBER_READ_SCOPES, 'r_member_postAnalytics'];
  const connector = createLinkedInConnector({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    apiUrl: fake.url,
    oauthUrl: fake.url,
    timeoutMs: 1_000,
    mediaPollIntervalMs: 10,
  });
  return {
    connector,
    async newAccount() {
      const creds = fake.createAccount({ scopes });
      return {
        account: accountFor(creds),
        peer: {
          posts: async () =>
            fake.posts(person(creds)).map((p) => ({ id: p.urn, text: p.text, replyToId: null, altTexts: p.altTexts })),
          failNext: async (fault) => fake.failNext(creds.memberId, fault),
          expireAccessToken: async () => fake.expireAccessTokens(creds.memberId),
        },
      };
    },
    image: () => image(),
    teardown: () => fake.close(),
  };
});

describe("LinkedIn's little text", () => {
  it('escapes every reserved character and keeps hashtags as hashtag templates', () => {
    expect(toLittleText('Hello (world) [1] {2} <3> a|b @me *bold* _it_ ~s~ back\\slash')).toBe(
      'Hello \\(world\\) \\[1\\] \\{2\\} \\<3\\> a\\|b \\@me \\*bold\\* \\_it\\_ \\~s\\~ back\\\\slash',
    );
    expect(toLittleText('#launch day, #2026 and issue#4')).toBe(
      '{hashtag|\\#|launch} day, {hashtag|\\#|2026} and issue\\#4',
    );
    expect(toLittleText('#snake_case')).toBe('{hashtag|\\#|snake\\_case}');
    expect(toLittleText('plain words, 100% fine: yes!')).toBe('plain words, 100% fine: yes!');
  });

  it('arrives whole on LinkedIn, where the same text unescaped is cut at the first reserved character', async () => {
    const fake = await startLinkedInFake();
    try {
      const creds = fake.createAccount();
      const text = 'Ship it (finally) — see [notes] & thank @team #release_1 *now*';
      const c = createLinkedInConnector({
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        apiUrl: fake.url,
        oauthUrl: fake.url,
      });
      await c.publish(accountFor(creds), post(text), randomUUID());
      expect(fake.posts(person(creds)).map((p) => p.text)).toEqual([text]);
      // What LinkedIn does with the raw text: the call succeeds and the post is truncated.
      const raw = await fetch(`${fake.url}/rest/posts`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${creds.accessToken}`,
          'content-type': 'application/json',
          'linkedin-version': '202610',
          'x-restli-protocol-version': '2.0.0',
        },
        body: JSON.stringify({
          author: person(creds),
          commentary: text,
          visibility: 'PUBLIC',
          lifecycleState: 'PUBLISHED',
        }),
      });
      expect(raw.status).toBe(201);
      expect(fake.posts(person(creds))[1]!.text).toBe('Ship it ');
    } finally {
      await fake.close();
    }
  });
});

describe('validating for LinkedIn at schedule time', () => {
  const connector = createLinkedInConnector({ clientId: 'c', clientSecret: 's' });
  const member = { metadata: {} };
  const draft = (media: Array<{ mimeType: string; sizeBytes: number }>, options: Record<string, unknown> = {}) => ({
    parts: [{ text: 'x', media }],
    options,
  });

  it('refuses 3,001 characters with the count and the limit; emoji count once', () => {
    const [issue] = connector.validate(member, post('a'.repeat(3_001)));
    expect(issue).toMatchObject({ code: 'text_too_long', limit: 3_000, actual: 3_001 });
    expect(issue!.message).toBe('LinkedIn allows 3000 characters; this text has 3001.');
    expect(connector.validate(member, post('😀'.repeat(3_000)))).toEqual([]);
    // LinkedIn limits the commentary as sent, and Herald sends it escaped: 1,500 "(" are 3,000.
    expect(connector.validate(member, post('('.repeat(1_500)))).toEqual([]);
    expect(connector.validate(member, post('('.repeat(1_501)))[0]).toMatchObject({
      code: 'text_too_long',
      limit: 3_000,
      actual: 3_002,
    });
  });

  it('refuses unsupported media types and sizes, saying the rule', () => {
    const video = connector.validate(member, draft([{ mimeType: 'video/mp4', sizeBytes: 1_000 }]));
    expect(video[0]).toMatchObject({ code: 'media_type' });
    expect(video[0]!.message).toContain('LinkedIn does not accept video/mp4');
    const big = connector.validate(member, draft([{ mimeType: 'image/png', sizeBytes: 6 * 1024 * 1024 }]));
    expect(big).toEqual([
      expect.objectContaining({ code: 'media_too_large', limit: 5 * 1024 * 1024, actual: 6 * 1024 * 1024 }),
    ]);
    expect(big[0]!.message).toBe('LinkedIn accepts images up to 5 MB; media 1 is 6 MB.');
    const hugeDoc = connector.validate(member, draft([{ mimeType: 'application/pdf', sizeBytes: 101 * 1024 * 1024 }]));
    expect(hugeDoc[0]!.message).toBe('LinkedIn accepts files up to 100 MB; media 1 is 101 MB.');
    const mixed = connector.validate(
      member,
      draft([
        { mimeType: 'application/pdf', sizeBytes: 10 },
        { mimeType: 'image/png', sizeBytes: 10 },
      ]),
    );
    expect(mixed.map((i) => i.code)).toEqual(['too_many_media']);
  });

  it('checks the options: article without media, a page the member administers, known names only', () => {
    const article = { url: 'https://example.com/post', title: 'Our post' };
    expect(connector.validate(member, draft([], { article }))).toEqual([]);
    expect(
      connector.validate(member, draft([{ mimeType: 'image/png', sizeBytes: 10 }], { article })).map((i) => i.code),
    ).toEqual(['option_invalid']);
    expect(connector.validate(member, draft([], { article: { url: 'nope' } }))[0]!.code).toBe('option_invalid');
    const admin = { metadata: { organizations: ['urn:li:organization:42'] } };
    expect(connector.validate(admin, draft([], { organization: '42' }))).toEqual([]);
    expect(connector.validate(admin, draft([], { organization: 'urn:li:organization:7' }))[0]!.message).toContain(
      'does not administer urn:li:organization:7',
    );
    expect(
      connector.validate(member, draft([], { visibility: 'FRIENDS', replySettings: 'x' })).map((i) => i.code),
    ).toEqual(['option_invalid', 'option_invalid']);
  });
});

describe('the LinkedIn connector', () => {
  let fake: LinkedInFake;
  const connector = () =>
    createLinkedInConnector({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiUrl: fake.url,
      oauthUrl: fake.url,
      timeoutMs: 2_000,
      mediaPollIntervalMs: 10,
    });
  beforeAll(async () => {
    PNG ??= await solidPng(4, 4, '#ff0000');
    fake = await startLinkedInFake();
  });
  afterAll(() => fake?.close());

  it('posts several images as a multi-image post, waiting for each to be processed', async () => {
    const creds = fake.createAccount();
    const result = await connector().publish(
      accountFor(creds),
      post('three views', {}, [image('one'), image('two'), image('three')]),
      randomUUID(),
    );
    const [p] = fake.posts(person(creds));
    expect(p).toMatchObject({ urn: result.platformPostId, altTexts: ['one', 'two', 'three'] });
    expect(result.url).toBe(`https://www.linkedin.com/feed/update/${result.platformPostId}/`);
    expect(fake.counters(creds.memberId)).toMatchObject({ postsCreated: 1, assetsUploaded: 3 });
  });

  it('posts a document with its title, and an article link', async () => {
    const creds = fake.createAccount();
    const pdf: MediaInput = { mimeType: 'application/pdf', sizeBytes: PDF.length, bytes: PDF };
    await connector().publish(accountFor(creds), post('the deck', { documentTitle: 'Q3 deck' }, [pdf]), randomUUID());
    const article = { url: 'https://example.com/launch', title: 'Launch', description: 'What we shipped' };
    await connector().publish(accountFor(creds), post('read this', { article }), randomUUID());
    const [doc, link] = fake.posts(person(creds));
    expect((doc!.content as { media: { id: string; title: string } }).media).toMatchObject({
      id: expect.stringMatching(/^urn:li:document:/),
      title: 'Q3 deck',
    });
    expect(link!.content).toEqual({
      article: { source: article.url, title: 'Launch', description: 'What we shipped' },
    });
  });

  it('posts as a page the member administers, and reads its share statistics', async () => {
    const org = 'urn:li:organization:2414183';
    const creds = fake.createAccount({ organizations: [org] });
    const account = accountFor(creds, { organizations: [org] });
    const result = await connector().publish(account, post('from the page', { organization: org }), randomUUID());
    expect(fake.posts(org).map((p) => p.text)).toEqual(['from the page']);
    expect(fake.posts(person(creds))).toEqual([]);
    fake.setMetrics(result.platformPostId, { reactions: 7, comments: 2, reshares: 1, impressions: 300 });
    expect(await connector().fetchMetrics(account, result.platformPostId)).toMatchObject({
      likes: 7,
      replies: 2,
      reposts: 1,
      impressions: 300,
    });
    // A page the member does not administer is LinkedIn's refusal, in its words.
    const other = await failure(
      connector().publish(accountFor(creds), post('not mine', { organization: '99' }), randomUUID()),
    );
    expect(other).toBeInstanceOf(InvalidContent);
    expect((other as InvalidContent).platformMessage).toContain('Not enough permissions');
  });

  it("reads a member post's analytics, and tells a deleted post from a live one", async () => {
    const creds = fake.createAccount({ scopes: [...MEMBER_READ_SCOPES, 'r_member_postAnalytics'] });
    const account = accountFor(creds);
    const result = await connector().publish(account, post('measure #this'), randomUUID());
    fake.setMetrics(result.platformPostId, { reactions: 5, comments: 3, reshares: 1, impressions: 99 });
    expect(await connector().fetchMetrics(account, result.platformPostId)).toMatchObject({
      likes: 5,
      replies: 3,
      reposts: 1,
      impressions: 99,
    });
    expect(await connector().checkStatus(account, result.platformPostId)).toBe('published');
    await connector().delete(account, result.platformPostId);
    expect(await connector().checkStatus(account, result.platformPostId)).toBe('failed');
    expect(fake.counters(creds.memberId)).toMatchObject({ postsCreated: 1, postsDeleted: 1 });
  });

  it("reads a member's follower count, and says which permission is missing without it", async () => {
    const creds = fake.createAccount({ scopes: ['openid', 'profile', 'w_member_social', 'r_member_profileAnalytics'] });
    fake.setFollowers(creds.memberId, 1_234);
    expect(await connector().fetchAccountStats!(accountFor(creds))).toMatchObject({
      followers: 1_234,
      following: null,
      posts: null,
    });
    const without = fake.createAccount();
    const err = await failure(connector().fetchAccountStats!(accountFor(without)));
    expect(err).toMatchObject({ reason: 'permission_missing', status: 403 });
    expect((err as Error).message).toContain('r_member_profileAnalytics');
  });

  it("reads a page's follower count from its network size, only for a page the member administers", async () => {
    const org = 'urn:li:organization:5550001';
    const creds = fake.createAccount({
      organizations: [org],
      scopes: ['openid', 'profile', 'w_member_social', 'w_organization_social', 'rw_organization_admin'],
    });
    fake.setFollowers(org, 219_145);
    const page = accountFor(creds, { organizations: [org], authorUrn: org });
    expect(await connector().fetchAccountStats!(page)).toMatchObject({ followers: 219_145, following: null });
    fake.setFollowers(org, 219_150);
    expect((await connector().fetchAccountStats!(page)).followers).toBe(219_150);
    // Not an administrator of the page: LinkedIn's 403, a missing permission.
    const stranger = fake.createAccount({ scopes: ['openid', 'profile', 'rw_organization_admin'] });
    const refused = await failure(connector().fetchAccountStats!(accountFor(stranger, { authorUrn: org })));
    expect(refused).toMatchObject({ reason: 'permission_missing', status: 403 });
    // A page LinkedIn does not know: 404.
    const gone = await failure(
      connector().fetchAccountStats!(accountFor(creds, { authorUrn: 'urn:li:organization:1' })),
    );
    expect(gone).toMatchObject({ status: 404 });
  });

  it('finds an uncertain post among the author’s posts only with the same text and media', async () => {
    const creds = fake.createAccount({ scopes: MEMBER_READ_SCOPES });
    const account = accountFor(creds);
    const since = new Date(Date.now() - 5_000);
    const text = 'lost (answer) #maybe';
    fake.failNext(creds.memberId, 'timeout_after_apply');
    const c = createLinkedInConnector({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiUrl: fake.url,
      oauthUrl: fake.url,
      timeoutMs: 300,
    });
    expect(await failure(c.publish(account, post(text), randomUUID()))).toMatchObject({
      kind: 'transient',
      mayHaveSucceeded: true,
    });
    const found = await c.lookup(account, post(text), 'k', since);
    expect(found?.platformPostId).toBe(fake.posts(person(creds))[0]!.urn);
    expect(await c.lookup(account, post(text, {}, [image()]), 'k', since)).toBeNull();
    expect(await c.lookup(account, post(text), 'k', new Date(Date.now() + 60_000))).toBeNull();
  });

  it('waits for the daily limit to reset at midnight UTC when LinkedIn throttles without a wait header', async () => {
    const limited = await startLinkedInFake({ dailyLimit: 1 });
    try {
      const creds = limited.createAccount();
      const c = createLinkedInConnector({
        clientId: limited.clientId,
        clientSecret: limited.clientSecret,
        apiUrl: limited.url,
        oauthUrl: limited.url,
      });
      await c.publish(accountFor(creds), post('one'), randomUUID());
      const err = await failure(c.publish(accountFor(creds), post('two'), randomUUID()));
      expect(err).toBeInstanceOf(RateLimited);
      // Not a minute later: the limit is daily (the next midnight UTC, plus a minute).
      expect((err as RateLimited).retryAt.getTime()).toBeLessThanOrEqual(Date.now() + 86_400_000 + 60_000);
      expect((err as RateLimited).retryAt.getUTCHours()).toBe(0);
      expect((err as RateLimited).retryAt.getUTCMinutes()).toBe(1);
      expect((err as RateLimited).retryAt.getTime()).toBeGreaterThan(Date.now());
      expect(limited.posts(person(creds))).toHaveLength(1);
    } finally {
      await limited.close();
    }
  });

  it('refreshes keeping the refresh token; without programmatic refresh an expired token means reconnecting', async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const fresh = await connector().refresh(account);
    expect(fresh.credentials.refreshToken).toBe(creds.refreshToken);
    expect(fresh.credentials.accessToken).not.toBe(creds.accessToken);
    expect(fresh.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * 86_400_000);
    expect(typeof fresh.credentials.refreshTokenExpiresAt).toBe('string');

    const plain = await startLinkedInFake({ refreshTokens: false });
    try {
      const c = createLinkedInConnector({
        clientId: plain.clientId,
        clientSecret: plain.clientSecret,
        apiUrl: plain.url,
        oauthUrl: plain.url,
      });
      const noRefresh = plain.createAccount();
      plain.expireAccessTokens(noRefresh.memberId);
      const expired = await failure(c.publish(accountFor(noRefresh), post('late'), randomUUID()));
      expect(expired).toMatchObject({ kind: 'auth_expired', reconnect: true });
      const refused = await failure(c.refresh(accountFor(noRefresh)));
      expect(refused).toBeInstanceOf(AuthExpired);
      expect((refused as AuthExpired).message).toContain('no refresh token');
    } finally {
      await plain.close();
    }
  });

  it('refuses a draft that does not validate before calling LinkedIn', async () => {
    const creds = fake.createAccount();
    const err = await failure(connector().publish(accountFor(creds), post('a'.repeat(3_001)), randomUUID()));
    expect(err).toBeInstanceOf(InvalidContent);
    expect(fake.counters(creds.memberId).postsCreated).toBe(0);
  });
});

describe('connecting a LinkedIn account', () => {
  const redirectUri = 'https://herald.test/v1/social-accounts/callback';
  it('runs the code flow without PKCE, reads the member and the pages they administer, and revokes', async () => {
    const fake = await startLinkedInFake({ redirectUris: [redirectUri] });
    try {
      const app: LinkedInApp = {
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        redirectUri,
        apiUrl: fake.url,
        oauthUrl: fake.url,
        scopes: ['openid', 'profile', 'w_member_social', 'w_organization_social', 'rw_organization_admin'],
      };
      const member = fake.createMember({ name: 'Ada Lovelace', organizations: ['urn:li:organization:5'] });
      const linker = createLinkedInLinker(app);
      const start = await linker.begin({ state: 'st8' });
      expect(new URL(start.authorizeUrl).searchParams.get('code_challenge')).toBeNull();
      const back = new URL(await fake.approve(start.authorizeUrl, member.memberId));
      expect(back.searchParams.get('state')).toBe('st8');
      const linked = await linker.complete({ code: back.searchParams.get('code')!, carry: {}, secrets: {} });
      expect(linked).toMatchObject({
        externalId: member.memberId,
        handle: 'Ada Lovelace',
        metadata: { organizations: ['urn:li:organization:5'] },
      });
      expect(linked.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * 86_400_000);
      await linker.revoke!(linked.credentials, linked.metadata);
      const c = createLinkedInConnector({ clientId: 'c', clientSecret: 's', apiUrl: fake.url, oauthUrl: fake.url });
      const account = { accountId: randomUUID(), ...linked };
      expect(await failure(c.publish(account, post('after revoke'), randomUUID()))).toBeInstanceOf(AuthExpired);
    } finally {
      await fake.close();
    }
  });
});

describe('configuring LinkedIn', () => {
  it('publishes and connects only with the three app variables set; bad scopes or versions stop start-up', () => {
    const base = { LINKEDIN_CLIENT_ID: 'id', LINKEDIN_CLIENT_SECRET: 'secret' };
    const load = (env: Record<string, string>) => loadConfig({ env, readDotenv: false });
    expect(load(base).connect.linkedin).toBeUndefined();
    const config = load({ ...base, LINKEDIN_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback' });
    expect(config.connect.linkedin).toMatchObject({
      scopes: ['openid', 'profile', 'w_member_social'],
      version: '202610',
    });
    expect(createConnectors({ timeoutMs: 1_000, connect: config.connect }).has('linkedin')).toBe(true);
    expect(createConnectors({ timeoutMs: 1_000, connect: load(base).connect }).has('linkedin')).toBe(false);
    expect(() => load({ ...base, LINKEDIN_VERSION: '2026-10' })).toThrow(/LINKEDIN_VERSION/);
    expect(() => load({ ...base, LINKEDIN_SCOPES: 'openid,profile' })).toThrow(/LINKEDIN_SCOPES/);
  });
});

describe('connecting a LinkedIn account over REST', () => {
  const REDIRECT = 'https://herald.test/v1/social-accounts/callback';
  const DONE = 'https://app.herald.test/accounts';
  let li: LinkedInFake;
  let api: ApiEnv;

  beforeAll(async () => {
    PNG ??= await solidPng(4, 4, '#ff0000');
    li = await startLinkedInFake({ redirectUris: [REDIRECT], reissueRefreshTokens: false });
    const linkedin = {
      clientId: li.clientId,
      clientSecret: li.clientSecret,
      redirectUri: REDIRECT,
      scopes: ['openid', 'profile', 'w_member_social'],
      version: '202610',
    };
    api = await startApiEnv({
      connectors: [
        createLinkedInConnector({
          clientId: li.clientId,
          clientSecret: li.clientSecret,
          apiUrl: li.url,
          oauthUrl: li.url,
          timeoutMs: 2_000,
          mediaPollIntervalMs: 10,
        }),
      ],
      accounts: accountsApiDepsOf(
        { x: undefined, xApiUrl: undefined, mastodon: undefined, linkedin, linkedinApiUrl: li.url, doneUrl: DONE },
        2_000,
      ),
    });
    api.env.startWorker();
  });
  afterAll(async () => {
    await api?.close();
    await li?.close();
  });

  const call = (method: string, path: string, who: Person, body?: unknown) =>
    fetch(api.baseUrl + path, {
      method,
      headers: { ...who.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  async function callback(platformRedirect: string): Promise<URL> {
    const res = await fetch(`${api.baseUrl}/v1/social-accounts/callback${new URL(platformRedirect).search}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  async function connect(who: Person, memberId: string) {
    const res = await call('POST', '/v1/social-accounts/connect', who, { platform: 'linkedin' });
    expect(res.status).toBe(201);
    const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
    const platformRedirect = await li.approve(authorizeUrl, memberId);
    return { platformRedirect, done: await callback(platformRedirect) };
  }

  const accounts = async (who: Person) =>
    ((await (await call('GET', '/v1/social-accounts', who)).json()) as { items: Array<Record<string, unknown>> }).items;

  async function publishNow(who: Person, accountId: string, content: string, media: unknown[] = []) {
    const res = await call('POST', '/v1/posts', who, {
      content,
      publishNow: true,
      targets: [{ socialAccountId: accountId, ...(media.length ? { media } : {}) }],
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    for (let i = 0; i < 200; i++) {
      const view = (await (await call('GET', `/v1/posts/${id}`, who)).json()) as {
        targets: Array<{ status: string }>;
      };
      const status = view.targets[0]!.status;
      if (status !== 'scheduled' && status !== 'publishing') return status;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the post never settled');
  }

  it('authorize -> callback -> stored -> text and image posts -> refresh -> post; reconnect keeps the refresh token and the row', async () => {
    const owner = await api.signUp();
    const member = li.createMember({ name: 'Grace Hopper' });
    const { platformRedirect, done } = await connect(owner, member.memberId);
    expect(`${done.origin}${done.pathname}`).toBe(DONE);
    expect(done.searchParams.get('status')).toBe('connected');
    const accountId = done.searchParams.get('accountId')!;
    expect(await accounts(owner)).toEqual([
      expect.objectContaining({
        id: accountId,
        platform: 'linkedin',
        handle: 'Grace Hopper',
        externalId: member.memberId,
        status: 'active',
      }),
    ]);
    const stored = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    expect(typeof stored!.refreshToken).toBe('string');

    expect(await publishNow(owner, accountId, 'Hello LinkedIn (from Herald) #launch')).toBe('published');
    const body = new FormData();
    body.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'red.png');
    const uploaded = await fetch(`${api.baseUrl}/v1/media`, { method: 'POST', headers: owner.auth, body });
    expect(uploaded.status).toBe(201);
    const { id: mediaId } = (await uploaded.json()) as { id: string };
    expect(await publishNow(owner, accountId, 'with a picture', [{ mediaId, altText: 'a red square' }])).toBe(
      'published',
    );
    // The access token runs out: the worker refreshes once and posts.
    li.expireAccessTokens(member.memberId);
    expect(await publishNow(owner, accountId, 'after a refresh')).toBe('published');
    const posts = li.posts(`urn:li:person:${member.memberId}`);
    expect(posts.map((p) => p.text)).toEqual([
      'Hello LinkedIn (from Herald) #launch',
      'with a picture',
      'after a refresh',
    ]);
    expect(posts[1]!.altTexts).toEqual(['a red square']);
    expect(li.counters(member.memberId)).toMatchObject({ postsCreated: 3, assetsUploaded: 1, tokensRefreshed: 1 });

    // Reconnecting: LinkedIn sends no new refresh token; the stored one stays, on the same row.
    const before = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    const again = await connect(owner, member.memberId);
    expect(again.done.searchParams.get('accountId')).toBe(accountId);
    const after = await readCredentials(api.deps.db, api.deps.cipher, owner.workspaceId, accountId);
    expect(after!.accessToken).not.toBe(before!.accessToken);
    expect(after!.refreshToken).toBe(before!.refreshToken);
    expect(await accounts(owner)).toHaveLength(1);

    // The first callback once more: its state is spent.
    const reused = await callback(platformRedirect);
    expect(reused.searchParams.get('code')).toBe('oauth_state_invalid');
    expect(await accounts(owner)).toHaveLength(1);
  });

  it('a wrong or expired state, a cancelled consent and a refused code store nothing, and say why in words', async () => {
    const owner = await api.signUp();
    const member = li.createMember();
    const start = async () =>
      (
        (await (await call('POST', '/v1/social-accounts/connect', owner, { platform: 'linkedin' })).json()) as {
          authorizeUrl: string;
        }
      ).authorizeUrl;

    const forged = new URL(await li.approve(await start(), member.memberId));
    forged.searchParams.set('state', 'forged');
    expect((await callback(forged.toString())).searchParams.get('code')).toBe('oauth_state_invalid');

    const cancelled = await callback(await li.approve(await start(), member.memberId, { deny: true }));
    expect(cancelled.searchParams.get('code')).toBe('oauth_denied');
    expect(cancelled.searchParams.get('message')).toBe(
      'The linkedin authorization was not granted: The user cancelled the authorization',
    );

    const wrongCode = new URL(await li.approve(await start(), member.memberId));
    wrongCode.searchParams.set('code', 'not-the-code');
    const refused = await callback(wrongCode.toString());
    expect(refused.searchParams.get('code')).toBe('oauth_failed');
    expect(refused.searchParams.get('message')).toMatch(
      /^Connecting the linkedin account failed: LinkedIn refused the authorization code \(invalid_request: /,
    );

    const accountsDeps = api.deps.accounts!;
    const deps = (now?: () => Date): ConnectDeps => ({
      db: api.deps.db,
      cipher: api.deps.cipher,
      redis: api.deps.redis,
      keyPrefix: api.deps.keyPrefix,
      linkers: accountsDeps.linkers,
      platforms: accountsDeps.platforms,
      events: null,
      ...(now ? { now } : {}),
    });
    const started = await startConnect(
      deps(),
      { workspaceId: owner.workspaceId, userId: owner.userId, role: 'owner' },
      { platform: 'linkedin' },
    );
    const back = new URL(await li.approve(started.authorizeUrl, member.memberId));
    const expired = await completeConnect(
      deps(() => new Date(Date.now() + 10 * 60_000 + 1_000)),
      {
        state: back.searchParams.get('state')!,
        code: back.searchParams.get('code')!,
      },
    ).catch((e: unknown) => e);
    expect(expired).toMatchObject({ code: 'oauth_state_invalid' });
    expect(await accounts(owner)).toHaveLength(0);
  });

  it('lists LinkedIn as connectable, and says what to set when it is not', async () => {
    const owner = await api.signUp();
    const list = (await (await call('GET', '/v1/social-accounts/platforms', owner)).json()) as { items: unknown[] };
    expect(list.items).toContainEqual({
      platform: 'linkedin',
      configured: true,
      set: [],
      needsInstanceUrl: false,
      connectWith: ['oauth'],
    });
    const bare = accountsApiDepsOf(
      { x: undefined, xApiUrl: undefined, mastodon: undefined, doneUrl: undefined },
      1_000,
    );
    expect(bare.platforms.find((p) => p.platform === 'linkedin')).toMatchObject({
      configured: false,
      set: ['LINKEDIN_CLIENT_ID', 'LINKEDIN_CLIENT_SECRET', 'LINKEDIN_REDIRECT_URI'],
    });
  });
});
