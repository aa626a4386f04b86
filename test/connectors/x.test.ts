/**
 * The X connector against the local fake X (a real HTTP server on loopback): the shared
 * connector contract, then X's own rules — weighted counting as X counts it, long posts for
 * subscribers, chunked media with processing, quote posts, rate-limit headers, tokens that
 * expire and refresh tokens that rotate, and the OAuth 2.0 PKCE flow.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, PermanentError, RateLimited } from '../../connectors/errors.js';
import { countXText, createXConnector, createXLinker, type XApp } from '../../connectors/x/index.js';
import { startXFake, type XFake, type XFakeAccount } from '../../connectors/x/fake.js';
import { isoBmffVideo, solidPng } from '../helpers/media-fixtures.js';
import { connectorContract } from '../contract/connector.suite.js';

let PNG: Buffer;
const image = (altText?: string): MediaInput => ({
  mimeType: 'image/png',
  sizeBytes: PNG.length,
  bytes: PNG,
  ...(altText ? { altText } : {}),
});

function accountFor(creds: XFakeAccount, metadata: Record<string, unknown> = {}): AccountContext {
  return {
    accountId: randomUUID(),
    externalId: creds.userId,
    handle: creds.username,
    credentials: { accessToken: creds.accessToken, refreshToken: creds.refreshToken },
    metadata,
  };
}

const post = (text: string, options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media: [] }],
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );

connectorContract('X', async () => {
  PNG = await solidPng(4, 4, '#ff0000');
  const fake = await startXFake();
  const connector = createXConnector({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    apiUrl: fake.url,
    timeoutMs: 1_000,
  });
  return {
    connector,
    async newAccount() {
      const creds = fake.createAccount();
      return {
        account: accountFor(creds),
        peer: {
          posts: async () =>
            fake
              .posts(creds.userId)
              .map((p) => ({ id: p.id, text: p.text, replyToId: p.replyToId, altTexts: p.altTexts })),
          failNext: async (fault) => fake.failNext(creds.userId, fault),
          expireAccessToken: async () => fake.expireAccessTokens(creds.userId),
        },
      };
    },
    image: () => image(),
    teardown: () => fake.close(),
  };
});

describe('counting text as X does', () => {
  it('counts a URL as 23 whatever its length, emoji and CJK as 2', () => {
    expect(countXText('https://example.com/a/very/long/path/that/goes/on/and/on?with=query')).toBe(23);
    expect(countXText('see example.com')).toBe(4 + 23);
    expect(countXText('😀')).toBe(2);
    expect(countXText('👩‍👩‍👧‍👦')).toBe(2);
    expect(countXText('日本語')).toBe(6);
    expect(countXText('café')).toBe(4);
  });

  it('refuses 281 weighted characters with the count and the limit, and allows subscribers 25,000', () => {
    const connector = createXConnector({ clientId: 'c', clientSecret: 's' });
    const standard = { metadata: {} };
    const text = '日'.repeat(140) + 'a'; // 281 weighted, 141 characters
    const [issue] = connector.validate(standard, post(text));
    expect(issue).toMatchObject({ code: 'text_too_long', limit: 280, actual: 281 });
    expect(issue!.message).toBe('X allows 280 weighted characters; this text has 281.');
    expect(connector.validate(standard, post('日'.repeat(140)))).toEqual([]);
    expect(connector.validate({ metadata: { longPosts: true } }, post(text))).toEqual([]);
    expect(connector.validate({ metadata: { longPosts: true } }, post('a'.repeat(25_001)))[0]).toMatchObject({
      limit: 25_000,
    });
  });

  it('refuses a video beside images, an oversized image and unknown options, saying the rule', () => {
    const connector = createXConnector({ clientId: 'c', clientSecret: 's' });
    const video = { mimeType: 'video/mp4', sizeBytes: 1000 };
    const codes = (
      draft:
        | PublishInput
        | {
            parts: Array<{ text: string; media: Array<{ mimeType: string; sizeBytes: number }> }>;
            options: Record<string, unknown>;
          },
    ) => connector.validate({ metadata: {} }, draft).map((i) => i.code);
    expect(
      codes({ parts: [{ text: 'x', media: [video, { mimeType: 'image/png', sizeBytes: 10 }] }], options: {} }),
    ).toEqual(['too_many_media']);
    const big = connector.validate(
      { metadata: {} },
      { parts: [{ text: 'x', media: [{ mimeType: 'image/png', sizeBytes: 6 * 1024 * 1024 }] }], options: {} },
    );
    expect(big[0]!.message).toContain('up to 5 MB');
    expect(codes({ parts: [{ text: 'x', media: [] }], options: { visibility: 'public' } })).toEqual(['option_invalid']);
  });
});

describe('the X connector', () => {
  let fake: XFake;
  const connector = () =>
    createXConnector({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiUrl: fake.url,
      timeoutMs: 2_000,
      mediaPollIntervalMs: 20,
    });
  beforeAll(async () => {
    PNG ??= await solidPng(4, 4, '#ff0000');
    fake = await startXFake({ mediaProcessingMs: (t) => (t.startsWith('video/') ? 100 : 0) });
  });
  afterAll(() => fake?.close());

  it('uploads a video in chunks, waits for processing, and posts it quoting another post (Enterprise access)', async () => {
    const enterprise = await startXFake({ access: 'enterprise', mediaProcessingMs: () => 100 });
    try {
      const c = createXConnector({
        clientId: enterprise.clientId,
        clientSecret: enterprise.clientSecret,
        apiUrl: enterprise.url,
        timeoutMs: 2_000,
        mediaPollIntervalMs: 20,
        access: 'enterprise',
      });
      const creds = enterprise.createAccount();
      const account = accountFor(creds);
      const quoted = await c.publish(account, post('original'), randomUUID());
      const bytes = Buffer.concat([isoBmffVideo(), Buffer.alloc(9 * 1024 * 1024)]); // three chunks
      const video: MediaInput = { mimeType: 'video/mp4', sizeBytes: bytes.length, bytes, altText: 'a clip' };
      const result = await c.publish(
        account,
        { parts: [{ text: 'watch this', media: [video] }], options: { quoteTweetId: quoted.platformPostId } },
        randomUUID(),
      );
      const [, posted] = enterprise.posts(creds.userId);
      expect(posted).toMatchObject({ id: result.platformPostId, quoteId: quoted.platformPostId, altTexts: ['a clip'] });
      expect(result.url).toBe(`https://x.com/${creds.username}/status/${result.platformPostId}`);
      expect(enterprise.counters(creds.userId)).toMatchObject({ tweetsCreated: 2, mediaFinalized: 1 });
    } finally {
      await enterprise.close();
    }
  });

  it('reads the reset time from x-rate-limit-reset', async () => {
    const limited = await startXFake({ rateLimit: { limit: 1, windowMs: 15 * 60_000 } });
    try {
      const creds = limited.createAccount();
      const c = createXConnector({
        clientId: limited.clientId,
        clientSecret: limited.clientSecret,
        apiUrl: limited.url,
      });
      await c.publish(accountFor(creds), post('one'), randomUUID());
      const err = await failure(c.publish(accountFor(creds), post('two'), randomUUID()));
      expect(err).toBeInstanceOf(RateLimited);
      expect((err as RateLimited).retryAt.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
      expect(limited.posts(creds.userId)).toHaveLength(1);
    } finally {
      await limited.close();
    }
  });

  it('rotates the refresh token on refresh; the old one is refused and means reconnecting', async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const first = await connector().refresh(account);
    expect(first.credentials.refreshToken).not.toBe(creds.refreshToken);
    expect(first.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 7_000_000);
    const stale = await failure(connector().refresh(account));
    expect(stale).toBeInstanceOf(AuthExpired);
    expect(stale).toMatchObject({ reconnect: true, platformMessage: expect.stringContaining('invalid_request') });
    await connector().publish({ ...account, credentials: first.credentials }, post('still here'), randomUUID());
    fake.revokeGrants(creds.userId);
    const revoked = await failure(
      connector().publish({ ...account, credentials: first.credentials }, post('gone'), randomUUID()),
    );
    expect(revoked).toMatchObject({ kind: 'auth_expired', reconnect: false });
  });

  it('finds a thread only when every part is there, and tells a deleted post from a live one', async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const since = new Date(Date.now() - 5_000);
    const thread: PublishInput = {
      parts: ['a & b', 'https://example.com/x'].map((text) => ({ text, media: [] })),
      options: {},
    };
    const result = await connector().publish(account, thread, randomUUID());
    expect(await connector().lookup(account, thread, 'k', since)).toEqual(result);
    await connector().delete(account, result.parts[1]!.platformPostId);
    expect(await connector().lookup(account, thread, 'k', since)).toBeNull();
    expect(await connector().checkStatus(account, result.parts[1]!.platformPostId)).toBe('failed');
    expect(await connector().checkStatus(account, result.platformPostId)).toBe('published');
    fake.setMetrics(result.platformPostId, { like_count: 5, retweet_count: 2, reply_count: 1, impression_count: 99 });
    expect(await connector().fetchMetrics(account, result.platformPostId)).toMatchObject({
      likes: 5,
      reposts: 2,
      replies: 1,
      impressions: 99,
    });
  });

  it('refuses a draft that does not validate before calling X', async () => {
    const creds = fake.createAccount();
    const err = await failure(connector().publish(accountFor(creds), post('a'.repeat(281)), randomUUID()));
    expect(err).toBeInstanceOf(InvalidContent);
    expect(fake.counters(creds.userId).tweetsCreated).toBe(0);
  });
});

describe('connecting an X account', () => {
  const redirectUri = 'https://herald.test/v1/social-accounts/callback';
  let fake: XFake;
  let app: XApp;
  beforeAll(async () => {
    fake = await startXFake({ redirectUris: [redirectUri] });
    app = {
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri,
      apiUrl: fake.url,
      authorizeUrl: `${fake.url}/i/oauth2/authorize`,
    };
  });
  afterAll(() => fake?.close());

  it('runs the PKCE code flow, reads the profile and subscription, and a code works once', async () => {
    const user = fake.createUser({ username: 'ada', subscriptionType: 'Premium' });
    const linker = createXLinker(app);
    const start = await linker.begin({ state: 'st8' });
    const url = new URL(start.authorizeUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('scope')).toContain('offline.access');
    expect(start.secrets.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const back = new URL(await fake.approve(start.authorizeUrl, user.userId));
    expect(back.searchParams.get('state')).toBe('st8');
    const code = back.searchParams.get('code')!;
    const wrong = await failure(linker.complete({ code, carry: {}, secrets: { codeVerifier: 'x'.repeat(43) } }));
    expect(wrong).toBeInstanceOf(PermanentError);
    const linked = await linker.complete({ code, carry: start.carry, secrets: start.secrets });
    expect(linked).toMatchObject({
      externalId: user.userId,
      handle: 'ada',
      metadata: { longPosts: true, subscriptionType: 'Premium' },
    });
    expect(typeof linked.credentials.refreshToken).toBe('string');
    expect(await failure(linker.complete({ code, carry: start.carry, secrets: start.secrets }))).toBeInstanceOf(
      PermanentError,
    );
    await linker.revoke!(linked.credentials, linked.metadata);
    const c = createXConnector({ clientId: fake.clientId, clientSecret: fake.clientSecret, apiUrl: fake.url });
    const account = {
      accountId: randomUUID(),
      externalId: linked.externalId,
      handle: linked.handle,
      credentials: linked.credentials,
      metadata: linked.metadata,
    };
    expect(await failure(c.publish(account, post('after revoke'), randomUUID()))).toBeInstanceOf(AuthExpired);
  });
});
