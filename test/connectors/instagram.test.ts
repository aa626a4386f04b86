/**
 * The Instagram connector against the local fake Instagram (a real HTTP server on loopback
 * that downloads media from a real media host, as Meta does): the shared connector contract,
 * then Instagram's own rules — the container flow with each id journaled, an uncertain
 * publish settled by the container's PUBLISHED state (exactly one post), ERROR and EXPIRED
 * containers, 9007 when publishing early, the quota read from `content_publishing_limit`,
 * carousels, reels, stories, collaborators, caption rules, media fetch failures, and the
 * token exchange and refresh rules.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, PermanentError, RateLimited, TransientError } from '../../connectors/errors.js';
import { createInstagramConnector, createInstagramLinker, instagramUrlsAt } from '../../connectors/instagram/index.js';
import type { StepJournal } from '../../connectors/meta/containers.js';
import { startInstagramFake, type InstagramFake } from '../../connectors/instagram/fake.js';
import { startFakeMediaHost, type FakeMediaHost } from '../../connectors/meta/fake-media-host.js';
import { connectorContract } from '../contract/connector.suite.js';
import { memoryJournal } from '../helpers/memory-journal.js';
import { isoBmffVideo } from '../helpers/media-fixtures.js';

let JPEG: Buffer;
const jpeg = (altText?: string, bytes = JPEG): MediaInput => ({
  mimeType: 'image/jpeg',
  sizeBytes: bytes.length,
  bytes,
  ...(altText ? { altText } : {}),
});
const video = (): MediaInput => {
  const bytes = isoBmffVideo();
  return { mimeType: 'video/mp4', sizeBytes: bytes.length, bytes };
};

function accountOf(a: { userId: string; username: string; accessToken: string }, metadata = {}): AccountContext {
  return {
    accountId: randomUUID(),
    externalId: a.userId,
    handle: a.username,
    credentials: { accessToken: a.accessToken, issuedAt: new Date().toISOString() },
    metadata: { login: 'instagram', publishingQuota: 50, ...metadata },
  };
}

const post = (text: string, media: MediaInput[], options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media }],
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );

connectorContract('Instagram', async () => {
  JPEG = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ff0000' } })
    .jpeg()
    .toBuffer();
  const fake = await startInstagramFake();
  const host = await startFakeMediaHost();
  const connector = createInstagramConnector({
    urls: instagramUrlsAt(fake.url),
    timeoutMs: 1_000,
    mediaUrls: host.urls,
    pollIntervalMs: 20,
  });
  return {
    connector,
    expiredTokenNeedsReconnect: true,
    requiredMedia: () => [jpeg()],
    image: () => jpeg(),
    async newAccount() {
      const a = fake.createAccount();
      return {
        account: accountOf(a),
        peer: {
          posts: async () =>
            fake.posts(a.userId).map((p) => ({ id: p.id, text: p.caption, replyToId: null, altTexts: p.altTexts })),
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

describe('Instagram container flow', () => {
  let fake: InstagramFake;
  let host: FakeMediaHost;
  const connector = () =>
    createInstagramConnector({
      urls: instagramUrlsAt(fake.url),
      timeoutMs: 500,
      mediaUrls: host.urls,
      pollIntervalMs: 20,
      pollTimeoutMs: 2_000,
    });

  beforeAll(async () => {
    JPEG ??= await sharp({ create: { width: 40, height: 40, channels: 3, background: '#00ff00' } })
      .jpeg()
      .toBuffer();
    fake = await startInstagramFake({ processingMs: (t) => (t === 'IMAGE' ? 0 : 200) });
    host = await startFakeMediaHost();
  });
  afterAll(async () => {
    await fake?.close();
    await host?.close();
  });

  it('journals each container before the next step and publishes an image with alt text and collaborators', async () => {
    const a = fake.createAccount();
    const journal = memoryJournal();
    const result = await connector().publish(
      accountOf(a),
      post('A caption #one', [jpeg('A green square')], { collaborators: ['@friend_one'] }),
      randomUUID(),
      journal,
    );
    const [p] = fake.posts(a.userId);
    expect(p).toMatchObject({ caption: 'A caption #one', mediaType: 'IMAGE', altTexts: ['A green square'] });
    expect(p!.collaborators).toEqual(['friend_one']);
    expect(result.platformPostId).toBe(p!.id);
    expect(result.url).toContain(p!.id);
    // The container id was saved before publishing, then the media id.
    expect(journal.saved[0]).toEqual({ parts: [{ container: p!.containerId }] });
    expect(journal.saved.at(-1)).toEqual({ parts: [{ container: p!.containerId, media: p!.id }] });
  });

  it('publishes a carousel (each item journaled) and a reel after polling IN_PROGRESS until FINISHED', async () => {
    const a = fake.createAccount();
    const journal = memoryJournal();
    await connector().publish(
      accountOf(a),
      post('three', [jpeg('one'), video(), jpeg('three')]),
      randomUUID(),
      journal,
    );
    const steps = (journal.saved.at(-1)!.parts as Array<{ children: string[] }>)[0]!;
    expect(steps.children).toHaveLength(3);
    expect(journal.saved[0]).toEqual({ parts: [{ children: [steps.children[0]] }] });
    await connector().publish(accountOf(a), post('a reel', [video()], { kind: 'reel' }), randomUUID());
    const reads = fake.counters().statusReads;
    expect(reads).toBeGreaterThan(2);
    expect(fake.posts(a.userId).map((p) => [p.caption, p.mediaType, p.productType, p.children])).toEqual([
      ['three', 'CAROUSEL_ALBUM', 'FEED', 3],
      ['a reel', 'VIDEO', 'REELS', 0],
    ]);
  });

  it('publishes a story', async () => {
    const a = fake.createAccount();
    await connector().publish(accountOf(a), post('', [jpeg()], { kind: 'story' }), randomUUID());
    expect(fake.posts(a.userId).map((p) => p.productType)).toEqual(['STORY']);
  });

  for (const fault of ['timeout_after_apply', 'error_after_apply', 'server_error_after_apply'] as const) {
    it(`a publish that goes live and then answers ${fault.replace(/_/g, ' ')} ends with exactly one post`, async () => {
      const a = fake.createAccount();
      const account = accountOf(a);
      const journal = memoryJournal();
      const input = post(`exactly once ${fault}`, [jpeg()]);
      fake.failNext(a.userId, fault);
      const err = await failure(connector().publish(account, input, 'k', journal));
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).mayHaveSucceeded).toBe(true);
      // The worker's lookup reads the journaled container: PUBLISHED, so the post is found.
      const found = await connector().lookup(account, input, 'k', new Date(Date.now() - 60_000), journal);
      expect(found?.platformPostId).toBe(fake.posts(a.userId)[0]!.id);
      // Even a blind retry with the journal publishes nothing more: the container is PUBLISHED.
      const again = await connector().publish(account, input, 'k', journal);
      expect(again.platformPostId).toBe(found!.platformPostId);
      expect(fake.posts(a.userId)).toHaveLength(1);
    });
  }

  it('two attempts on one target that overlap (a starved worker and the one that took its job over) make one post', async () => {
    // Found by the crash test on a loaded machine: each attempt published a container of its own.
    for (let round = 0; round < 5; round++) {
      const a = fake.createAccount();
      const account = accountOf(a);
      const journal = memoryJournal();
      const input = post(`overlap ${round}`, [jpeg()]);
      const [first, second] = await Promise.allSettled([
        connector().publish(account, input, 'k', journal),
        connector().publish(account, input, 'k', journal),
      ]);
      const posts = fake.posts(a.userId);
      expect(posts).toHaveLength(1);
      for (const r of [first, second]) {
        if (r.status === 'fulfilled') expect(r.value.platformPostId).toBe(posts[0]!.id);
        else expect(r.reason).toMatchObject({ kind: 'transient', reason: 'concurrent_attempt' });
      }
      // The worker's lookup settles whichever attempt stopped.
      const found = await connector().lookup(account, input, 'k', new Date(Date.now() - 60_000), journal);
      expect(found?.platformPostId).toBe(posts[0]!.id);
    }
  });

  it('an identical earlier post is not mistaken for this one: the journaled container decides', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    await connector().publish(account, post('same words', [jpeg()]), randomUUID());
    const journal = memoryJournal();
    fake.failNext(a.userId, 'rate_limited');
    // A container is made later only when publishing; here the create call is throttled.
    expect(await failure(connector().publish(account, post('same words', [jpeg()]), 'k2', journal))).toBeInstanceOf(
      RateLimited,
    );
    expect(await connector().lookup(account, post('same words', [jpeg()]), 'k2', new Date(0), journal)).toBeNull();
  });

  it('resumes after a crash between creating the container and publishing it: one post from the same container', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const journal = memoryJournal();
    const input = post('crash between steps', [jpeg()]);
    // The process dies right after the container id is journaled (the save is the last thing it does).
    const dying: StepJournal = {
      load: journal.load,
      save: async (h) => {
        await journal.save(h);
        throw new Error('SIGKILL');
      },
    };
    await failure(connector().publish(account, input, 'k', dying));
    const created = fake.counters().containersCreated;
    expect(await connector().lookup(account, input, 'k', new Date(0), journal)).toBeNull();
    await connector().publish(account, input, 'k', journal);
    expect(fake.counters().containersCreated).toBe(created);
    expect(fake.posts(a.userId).map((p) => p.caption)).toEqual(['crash between steps']);
  });

  it('an EXPIRED container (24 h) is replaced by a new one; an ERROR container says why', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const journal = memoryJournal();
    const input = post('late', [jpeg()]);
    await failure(
      connector().publish(account, input, 'k', {
        load: journal.load,
        save: async (h) => {
          await journal.save(h);
          throw new Error('crash');
        },
      }),
    );
    const first = (journal.saved[0]!.parts as Array<{ container: string }>)[0]!.container;
    fake.advance(25 * 60 * 60_000);
    await connector().publish(accountOf(fake.createAccount()), post('warm', [jpeg()]), 'x'); // clock moved for all
    await connector().publish(account, input, 'k', journal);
    const [p] = fake.posts(a.userId);
    expect(p!.containerId).not.toBe(first);

    const b = fake.createAccount();
    host.fail(1);
    const err = await failure(connector().publish(accountOf(b), post('bad video', [video()], { kind: 'reel' }), 'k3'));
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).message).toMatch(/could not process the media.*2207052/);
    expect(fake.posts(b.userId)).toEqual([]);
  });

  it('an image Meta cannot download is refused with its words, and nothing is posted', async () => {
    const a = fake.createAccount();
    host.fail(1, 500);
    const err = await failure(connector().publish(accountOf(a), post('no image', [jpeg()]), 'k'));
    expect(err).toBeInstanceOf(InvalidContent);
    expect((err as InvalidContent).platformMessage).toMatch(/could not be fetched/);
    expect(fake.posts(a.userId)).toEqual([]);
  });

  it('reads the quota from content_publishing_limit and stops before exceeding it', async () => {
    const a = fake.createAccount({ quota: 2 });
    const account = accountOf(a, { publishingQuota: 2 });
    expect(connector().capabilities(account).postsPerAccountPerDay).toBe(2);
    await connector().publish(account, post('one', [jpeg()]), 'a');
    await connector().publish(account, post('two', [jpeg()]), 'b');
    const created = fake.counters().containersCreated;
    const err = await failure(connector().publish(account, post('three', [jpeg()]), 'c'));
    expect(err).toBeInstanceOf(RateLimited);
    expect((err as RateLimited).reason).toBe('publishing_quota');
    expect(fake.counters().containersCreated).toBe(created);
  });

  it('publishing a container that is not FINISHED is 9007: not published, retried by polling', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const journal = memoryJournal();
    // A journaled reel container still IN_PROGRESS: the connector polls before publishing.
    const slow = createInstagramConnector({
      urls: instagramUrlsAt(fake.url),
      timeoutMs: 500,
      mediaUrls: host.urls,
      pollIntervalMs: 20,
      pollTimeoutMs: 50,
    });
    const err = await failure(slow.publish(account, post('slow reel', [video()], { kind: 'reel' }), 'k', journal));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).mayHaveSucceeded).toBe(false);
    const direct = await fetch(`${fake.url}/v23.0/${a.userId}/media_publish`, {
      method: 'POST',
      body: new URLSearchParams({
        creation_id: (journal.saved[0]!.parts as Array<{ container: string }>)[0]!.container,
        access_token: a.accessToken,
      }),
    });
    const body = (await direct.json()) as { error: { code: number; error_subcode: number } };
    expect(body.error).toMatchObject({ code: 9007, error_subcode: 2207027 });
    await connector().publish(account, post('slow reel', [video()], { kind: 'reel' }), 'k', journal);
    expect(fake.posts(a.userId)).toHaveLength(1);
  });

  it('checks captions and media at schedule time, and refuses media without a public URL', () => {
    const c = connector();
    const account = accountOf({ userId: '1', username: 'x', accessToken: 't' });
    const codes = (input: PublishInput, conn = c) => conn.validate(account, input).map((i) => i.message);
    expect(codes(post('#a '.repeat(31), [jpeg()])).join()).toMatch(/30 hashtags/);
    expect(codes(post('@a '.repeat(21), [jpeg()])).join()).toMatch(/20 @mentions/);
    expect(codes(post('x'.repeat(2201), [jpeg()])).join()).toMatch(/2200/);
    expect(codes(post('text only', [])).join()).toMatch(/no post without media/);
    expect(codes(post('png', [{ ...jpeg(), mimeType: 'image/png' }])).join()).toMatch(/does not accept image\/png/);
    expect(codes(post('a reel', [jpeg()], { kind: 'reel' })).join()).toMatch(/reel is a video/);
    expect(
      codes(
        post(
          'too many',
          Array.from({ length: 11 }, () => jpeg()),
        ),
      ).join(),
    ).toMatch(/10 media/);
    expect(codes(post('c', [jpeg()], { collaborators: ['a', 'b', 'c', 'd'] })).join()).toMatch(/3 collaborators/);
    const long = { ...video(), video: { durationMs: 16 * 60_000, width: 1080, height: 1920 } } as MediaInput;
    expect(codes(post('long reel', [long], { kind: 'reel' })).join()).toMatch(/3 s to 900 s/);
    const noUrls = createInstagramConnector({ urls: instagramUrlsAt(fake.url) });
    expect(codes(post('x', [jpeg()]), noUrls).join()).toMatch(/PUBLIC_URL/);
  });

  it('fetches metrics from insights and the account audience', async () => {
    const a = fake.createAccount();
    const account = accountOf(a);
    const r = await connector().publish(account, post('measured', [jpeg()]), 'm');
    fake.setInsights(r.platformPostId, { likes: 7, comments: 2, shares: 1, views: 90 });
    expect(await connector().fetchMetrics(account, r.platformPostId)).toMatchObject({
      likes: 7,
      replies: 2,
      reposts: 1,
      impressions: 90,
    });
    expect(await connector().fetchAccountStats!(account)).toMatchObject({ followers: 1200, posts: 1 });
  });
});

describe('Instagram tokens', () => {
  let fake: InstagramFake;
  beforeAll(async () => {
    fake = await startInstagramFake();
  });
  afterAll(async () => fake?.close());

  it('Instagram Login: code -> short-lived -> 60-day token, the account and its quota', async () => {
    const a = fake.createAccount({ username: 'shop', quota: 100 });
    const linker = createInstagramLinker({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://herald.test/cb',
      login: 'instagram',
      urls: instagramUrlsAt(fake.url),
      timeoutMs: 1_000,
    });
    const start = await linker.begin({ state: 'st' });
    expect(start.authorizeUrl).toContain('scope=instagram_business_basic%2Cinstagram_business_content_publish');
    const back = new URL(await fake.approve(start.authorizeUrl, a.userId));
    expect(back.searchParams.get('state')).toBe('st');
    const linked = await linker.complete({ code: back.searchParams.get('code')!, carry: {}, secrets: {} });
    expect(linked).toMatchObject({ externalId: a.userId, handle: 'shop', metadata: { publishingQuota: 100 } });
    expect(String(linked.credentials.accessToken)).toMatch(/^IGAAL/);
    expect(linked.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * 24 * 3600_000);
    // A refused code is a reconnect, said in Meta's words.
    expect(await failure(linker.complete({ code: 'nope', carry: {}, secrets: {} }))).toBeInstanceOf(AuthExpired);
  });

  it('refreshes only a token at least 24 h old and never an expired one', async () => {
    const a = fake.createAccount();
    const c = createInstagramConnector({ urls: instagramUrlsAt(fake.url), timeoutMs: 1_000 });
    const account = accountOf(a);
    const young = await c.refresh(account);
    expect(young.credentials.accessToken).toBe(a.accessToken);
    fake.advance(25 * 60 * 60_000);
    const old = {
      ...account,
      credentials: { ...account.credentials, issuedAt: new Date(Date.now() - 25 * 3600_000).toISOString() },
    };
    const fresh = await c.refresh(old);
    expect(fresh.credentials.accessToken).not.toBe(a.accessToken);
    const expired = {
      ...account,
      credentials: { ...account.credentials, expiresAt: new Date(Date.now() - 1000).toISOString() },
    };
    const err = await failure(c.refresh(expired));
    expect(err).toBeInstanceOf(AuthExpired);
    expect((err as AuthExpired).reconnect).toBe(true);
  });
});
