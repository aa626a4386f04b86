/**
 * The Threads connector against the local fake Threads (a real HTTP server on loopback that
 * downloads media from a real media host): the shared connector contract, then Threads' own
 * rules — text counted as Threads counts it, a three-part thread as a reply chain resumed
 * from the journal after a crash mid-thread (each part once), a publish that goes live and
 * answers badly (exactly one post), carousels, quote posts and reply control, the quota read
 * from `threads_publishing_limit`, insights, and the token rules.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { type AuthExpired, RateLimited, TransientError } from '../../connectors/errors.js';
import type { StepJournal } from '../../connectors/meta/containers.js';
import { startFakeMediaHost, type FakeMediaHost } from '../../connectors/meta/fake-media-host.js';
import {
  countThreadsText,
  createThreadsConnector,
  createThreadsLinker,
  threadsUrlsAt,
} from '../../connectors/threads/index.js';
import { startThreadsFake, type ThreadsFake } from '../../connectors/threads/fake.js';
import { connectorContract } from '../contract/connector.suite.js';
import { memoryJournal } from '../helpers/memory-journal.js';

let JPEG: Buffer;
const jpeg = (altText?: string): MediaInput => ({
  mimeType: 'image/jpeg',
  sizeBytes: JPEG.length,
  bytes: JPEG,
  ...(altText ? { altText } : {}),
});

function accountOf(a: { userId: string; username: string; accessToken: string }): AccountContext {
  return {
    accountId: randomUUID(),
    externalId: a.userId,
    handle: a.username,
    credentials: { accessToken: a.accessToken, issuedAt: new Date().toISOString() },
    metadata: { publishingQuota: 250 },
  };
}
const thread = (...texts: string[]): PublishInput => ({
  parts: texts.map((text) => ({ text, media: [] })),
  options: {},
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );

connectorContract('Threads', async () => {
  JPEG = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#0000ff' } })
    .jpeg()
    .toBuffer();
  const fake = await startThreadsFake();
  const host = await startFakeMediaHost();
  return {
    connector: createThreadsConnector({
      urls: threadsUrlsAt(fake.url),
      timeoutMs: 1_000,
      mediaUrls: host.urls,
      pollIntervalMs: 20,
    }),
    expiredTokenNeedsReconnect: true,
    image: () => jpeg(),
    async newAccount() {
      const a = fake.createAccount();
      return {
        account: accountOf(a),
        peer: {
          posts: async () =>
            fake.posts(a.userId).map((p) => ({ id: p.id, text: p.text, replyToId: p.replyToId, altTexts: p.altTexts })),
          failNext: async (f) => fake.failNext(a.userId, f),
          expireAccessToken: async () => fake.expireTokens(a.userId),
        },
      };
    },
    async teardown() {
      await fake.close();
      await host.close();
    },
  };
});

describe('Threads', () => {
  let fake: ThreadsFake;
  let host: FakeMediaHost;
  const connector = (pollTimeoutMs = 2_000) =>
    createThreadsConnector({
      urls: threadsUrlsAt(fake.url),
      timeoutMs: 500,
      mediaUrls: host.urls,
      pollIntervalMs: 20,
      pollTimeoutMs,
    });
  beforeAll(async () => {
    JPEG ??= await sharp({ create: { width: 30, height: 30, channels: 3, background: '#0000ff' } })
      .jpeg()
      .toBuffer();
    fake = await startThreadsFake();
    host = await startFakeMediaHost();
  });
  afterAll(async () => {
    await fake?.close();
    await host?.close();
  });

  it('counts text as Threads does: an emoji is its UTF-8 bytes', () => {
    expect(countThreadsText('hello')).toBe(5);
    expect(countThreadsText('hi 👋')).toBe(3 + 4);
    const c = connector();
    const account = accountOf({ userId: '1', username: 'u', accessToken: 't' });
    expect(c.validate(account, thread('a'.repeat(497) + '👋'))[0]).toMatchObject({
      code: 'text_too_long',
      actual: 501,
    });
    expect(c.validate(account, thread('a'.repeat(496) + '👋'))).toEqual([]);
    const links = Array.from({ length: 6 }, (_, i) => `https://e.example/${i}`).join(' ');
    expect(c.validate(account, thread(links))[0]!.message).toMatch(/5 links/);
  });

  it('a three-part thread resumes after a crash mid-thread: each part posted once, in a chain', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const journal = memoryJournal();
    let saves = 0;
    // The process dies right after part 2's container id is journaled (save 3: p0 container, p0 media, p1 container).
    const dying: StepJournal = {
      load: journal.load,
      save: async (h) => {
        await journal.save(h);
        if (++saves === 3) throw new Error('SIGKILL');
      },
    };
    const input = thread('one', 'two', 'three');
    await failure(connector().publish(account, input, 'k', dying));
    expect(fake.posts(a.userId).map((p) => p.text)).toEqual(['one']);
    const partial = await connector().lookup(account, input, 'k', new Date(0), journal);
    expect(partial?.parts).toHaveLength(1);
    const before = fake.counters().containersCreated;
    const result = await connector().publish(account, input, 'k', journal);
    // Part 2's journaled container was published, not made again; only part 3's is new.
    expect(fake.counters().containersCreated).toBe(before + 1);
    const posts = fake.posts(a.userId);
    expect(posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(posts[1]!.replyToId).toBe(posts[0]!.id);
    expect(posts[2]!.replyToId).toBe(posts[1]!.id);
    expect(result.parts.map((p) => p.platformPostId)).toEqual(posts.map((p) => p.id));
  });

  for (const fault of ['timeout_after_apply', 'error_after_apply', 'server_error_after_apply'] as const) {
    it(`part 2 goes live and the call answers ${fault.replace(/_/g, ' ')}: the thread ends with three posts, not four`, async () => {
      const a = fake.createAccount();
      const account = accountOf(a);
      const journal = memoryJournal();
      const input = thread('alpha', 'beta', 'gamma');
      // Part 1 publishes; the next publish (part 2) applies and answers badly.
      const c = connector();
      fake.failNext(a.userId, fault, 1);
      const err = await failure(c.publish(account, input, 'k', journal));
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).part).toBe(1);
      expect((err as TransientError).mayHaveSucceeded).toBe(true);
      // The worker looks up first: part 2's journaled container is PUBLISHED, so two parts are found.
      expect((await c.lookup(account, input, 'k', new Date(0), journal))?.parts).toHaveLength(2);
      const again = await c.publish(account, input, 'k', journal);
      expect(fake.posts(a.userId).map((p) => p.text)).toEqual(['alpha', 'beta', 'gamma']);
      expect(again.parts).toHaveLength(3);
    });
  }

  it('publishes a carousel with alt texts, a quote post and reply control', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const first = await connector().publish(
      account,
      {
        parts: [{ text: 'pics', media: [jpeg('first'), jpeg('second')] }],
        options: { replyControl: 'mentioned_only' },
      },
      'c',
    );
    await connector().publish(
      account,
      { parts: [{ text: 'quoting', media: [] }], options: { quotePostId: first.platformPostId } },
      'q',
    );
    const [carousel, quote] = fake.posts(a.userId);
    expect(carousel).toMatchObject({
      mediaType: 'CAROUSEL',
      children: 2,
      altTexts: ['first', 'second'],
      replyControl: 'mentioned_only',
    });
    expect(quote).toMatchObject({ text: 'quoting', quoteId: first.platformPostId });
  });

  it('a video Threads cannot download ends in ERROR with its reason', async () => {
    const a = fake.createAccount();
    host.fail(1);
    const bytes = Buffer.from('not really a video');
    const err = await failure(
      connector().publish(
        accountOf(a),
        { parts: [{ text: 'v', media: [{ mimeType: 'video/mp4', sizeBytes: bytes.length, bytes }] }], options: {} },
        'v',
      ),
    );
    expect((err as Error).message).toMatch(/FAILED_DOWNLOADING_VIDEO/);
    expect(fake.posts(a.userId)).toEqual([]);
  });

  it('stops at the quota read from threads_publishing_limit', async () => {
    const a = fake.createAccount({ quota: 1 });
    const account = accountOf(a);
    await connector().publish(account, thread('only one'), 'a');
    const err = await failure(connector().publish(account, thread('one too many'), 'b'));
    expect(err).toBeInstanceOf(RateLimited);
    expect((err as RateLimited).reason).toBe('publishing_quota');
  });

  it('fetches insights and followers', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const r = await connector().publish(account, thread('measured'), 'm');
    fake.setInsights(r.platformPostId, { views: 40, likes: 4, replies: 3, reposts: 2, quotes: 1 });
    expect(await connector().fetchMetrics(account, r.platformPostId)).toMatchObject({
      likes: 4,
      replies: 3,
      reposts: 2,
      quotes: 1,
      impressions: 40,
    });
    expect((await connector().fetchAccountStats!(account)).followers).toBe(321);
  });

  it('connects: code -> short-lived -> 60-day token; refresh only after 24 h, never once expired', async () => {
    const a = fake.createAccount({ username: 'writer' });
    const linker = createThreadsLinker({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://herald.test/cb',
      urls: threadsUrlsAt(fake.url),
      timeoutMs: 1_000,
    });
    const start = await linker.begin({ state: 's' });
    const back = new URL(await fake.approve(start.authorizeUrl, a.userId));
    const linked = await linker.complete({ code: back.searchParams.get('code')!, carry: {}, secrets: {} });
    expect(linked).toMatchObject({ externalId: a.userId, handle: 'writer', metadata: { publishingQuota: 250 } });
    const account = { ...accountOf(a), credentials: linked.credentials };
    const c = connector();
    expect((await c.refresh(account)).credentials.accessToken).toBe(linked.credentials.accessToken);
    fake.advance(25 * 3600_000);
    const aged = {
      ...account,
      credentials: { ...account.credentials, issuedAt: new Date(Date.now() - 25 * 3600_000).toISOString() },
    };
    const fresh = await c.refresh(aged);
    expect(fresh.credentials.accessToken).not.toBe(linked.credentials.accessToken);
    const expired = {
      ...account,
      credentials: { ...account.credentials, expiresAt: new Date(Date.now() - 1).toISOString() },
    };
    expect(((await failure(c.refresh(expired))) as AuthExpired).reconnect).toBe(true);
  });
});
