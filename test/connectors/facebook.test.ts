/**
 * The Facebook Pages connector against the local fake Graph API (a real HTTP server that
 * fetches photos from a real media host): the shared connector contract, then the Pages rules
 * — photo posts from unpublished photos (each journaled, so a retry attaches the same ones),
 * a first comment made once, Meta's duplicate / too-fast / lost-permission refusals mapped to
 * Herald's kinds, and Page selection after Facebook Login.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { InvalidContent, PermanentError, RateLimited, TransientError } from '../../connectors/errors.js';
import { createFacebookConnector, createFacebookLinker } from '../../connectors/facebook/index.js';
import { startFacebookFake, type FacebookFake } from '../../connectors/facebook/fake.js';
import { startFakeMediaHost, type FakeMediaHost } from '../../connectors/meta/fake-media-host.js';
import { connectorContract } from '../contract/connector.suite.js';
import { memoryJournal } from '../helpers/memory-journal.js';

let JPEG: Buffer;
const jpeg = (altText?: string): MediaInput => ({
  mimeType: 'image/jpeg',
  sizeBytes: JPEG.length,
  bytes: JPEG,
  ...(altText ? { altText } : {}),
});
const accountOf = (p: { id: string; name: string; accessToken: string }): AccountContext => ({
  accountId: randomUUID(),
  externalId: p.id,
  handle: p.name,
  credentials: { accessToken: p.accessToken },
  metadata: {},
});
const post = (text: string, media: MediaInput[] = [], options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media }],
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );

connectorContract('Facebook Pages', async () => {
  JPEG = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#ff00ff' } })
    .jpeg()
    .toBuffer();
  const fake = await startFacebookFake();
  const host = await startFakeMediaHost();
  return {
    connector: createFacebookConnector({ apiUrl: `${fake.url}/v23.0`, timeoutMs: 1_000, mediaUrls: host.urls }),
    expiredTokenNeedsReconnect: true,
    image: () => jpeg(),
    async newAccount() {
      const [page] = fake.createUser([`Page ${randomUUID().slice(0, 6)}`]).pages;
      return {
        account: accountOf(page!),
        peer: {
          posts: async () =>
            fake.posts(page!.id).map((p) => ({
              id: p.id,
              text: p.message,
              replyToId: null,
              altTexts: p.photos.map((ph) => ph.altText).filter((a): a is string => !!a),
            })),
          failNext: async (f) => fake.failNext(page!.id, f),
          expireAccessToken: async () => fake.revokePageTokens(page!.id),
        },
      };
    },
    async teardown() {
      await fake.close();
      await host.close();
    },
  };
});

describe('Facebook Pages', () => {
  let fake: FacebookFake;
  let host: FakeMediaHost;
  const connector = () =>
    createFacebookConnector({ apiUrl: `${fake.url}/v23.0`, timeoutMs: 500, mediaUrls: host.urls });
  beforeAll(async () => {
    JPEG ??= await sharp({ create: { width: 20, height: 20, channels: 3, background: '#ff00ff' } })
      .jpeg()
      .toBuffer();
    fake = await startFacebookFake();
    host = await startFakeMediaHost();
  });
  afterAll(async () => {
    await fake?.close();
    await host?.close();
  });

  it('publishes a photo post from unpublished photos, with a first comment, and a retry attaches the same photos once', async () => {
    const [page] = fake.createUser(['Bakery']).pages;
    const account = accountOf(page!);
    const journal = memoryJournal();
    fake.failNext(page!.id, 'server_error');
    // The first photo upload fails; nothing is posted.
    expect(
      await failure(connector().publish(account, post('Fresh bread', [jpeg('Loaf'), jpeg()]), 'k', journal)),
    ).toBeInstanceOf(TransientError);
    const r = await connector().publish(
      account,
      post('Fresh bread', [jpeg('Loaf'), jpeg()], { firstComment: 'Open 8-18' }),
      'k',
      journal,
    );
    const [p] = fake.posts(page!.id);
    expect(p).toMatchObject({ id: r.platformPostId, message: 'Fresh bread', comments: ['Open 8-18'] });
    expect(p!.photos.map((ph) => ph.altText)).toEqual(['Loaf', null]);
    // Published again from the journal: nothing new, the comment not repeated.
    await connector().publish(
      account,
      post('Fresh bread', [jpeg('Loaf'), jpeg()], { firstComment: 'Open 8-18' }),
      'k',
      journal,
    );
    expect(fake.posts(page!.id)).toHaveLength(1);
    expect(fake.posts(page!.id)[0]!.comments).toEqual(['Open 8-18']);
  });

  it("maps Meta's refusals: duplicate, too fast, lost permission", async () => {
    const [page] = fake.createUser(['Refusals']).pages;
    const account = accountOf(page!);
    await connector().publish(account, post('Same words'), 'a');
    const dup = await failure(connector().publish(account, post('Same words'), 'b'));
    expect(dup).toBeInstanceOf(InvalidContent);
    expect((dup as InvalidContent).reason).toBe('duplicate');
    fake.failNext(page!.id, 'too_fast');
    const fast = await failure(connector().publish(account, post('Another'), 'c'));
    expect(fast).toBeInstanceOf(RateLimited);
    expect((fast as RateLimited).reason).toBe('too_fast');
    expect((fast as RateLimited).retryAt.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    fake.failNext(page!.id, 'permission_lost');
    const perm = await failure(connector().publish(account, post('And another'), 'd'));
    expect(perm).toBeInstanceOf(PermanentError);
    expect((perm as PermanentError).reason).toBe('permission_missing');
  });

  it('throttling waits as long as X-Business-Use-Case-Usage says', async () => {
    const [page] = fake.createUser(['Busy']).pages;
    fake.failNext(page!.id, 'rate_limited');
    const err = (await failure(connector().publish(accountOf(page!), post('hello'), 'k'))) as RateLimited;
    expect(err).toBeInstanceOf(RateLimited);
    expect(err.retryAt.getTime()).toBeGreaterThan(Date.now() + 2.5 * 60_000);
  });

  it('connects the Page named by its URL; several Pages and none named is an error that lists them', async () => {
    const user = fake.createUser(['North Shop', 'South Shop']);
    const linker = createFacebookLinker({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'https://herald.test/cb',
      dialogUrl: `${fake.url}/v23.0/dialog/oauth`,
      apiUrl: `${fake.url}/v23.0`,
      timeoutMs: 1_000,
    });
    const south = user.pages[1]!;
    const start = await linker.begin({ state: 's', instanceUrl: `https://www.facebook.com/${south.id}` });
    const code = new URL(await fake.approve(start.authorizeUrl, user.userId)).searchParams.get('code')!;
    const linked = await linker.complete({ code, carry: start.carry, secrets: {} });
    expect(linked).toMatchObject({ externalId: south.id, handle: 'South Shop', expiresAt: null });
    await connector().publish(
      { ...accountOf(south), credentials: linked.credentials },
      post('From the page token'),
      'k',
    );
    expect(fake.posts(south.id).map((p) => p.message)).toEqual(['From the page token']);

    const again = await linker.begin({ state: 't' });
    const code2 = new URL(await fake.approve(again.authorizeUrl, user.userId)).searchParams.get('code')!;
    const err = await failure(linker.complete({ code: code2, carry: again.carry, secrets: {} }));
    expect((err as PermanentError).message).toMatch(/manages 2 Pages.*North Shop.*South Shop/);
  });
});
