/**
 * Instagram and Threads end to end through Herald's REST API, against the local fakes: connect
 * (authorize -> callback -> account stored with its quota), upload media, publish an image
 * post, a carousel and a reel to Instagram and a three-part thread to Threads — the fakes
 * downloading every file from Herald's own signed `/v1/public-media` URLs, as Meta does —
 * and a publish that goes live while its answer is lost settles as one post through the
 * worker's journal. Also: the signed URL refuses a wrong or expired signature.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstagramConnector, instagramUrlsAt } from '../../connectors/instagram/index.js';
import { startInstagramFake, type InstagramFake } from '../../connectors/instagram/fake.js';
import { signedMediaUrls, type MediaUrls } from '../../connectors/meta/media-urls.js';
import { createThreadsConnector, threadsUrlsAt } from '../../connectors/threads/index.js';
import { startThreadsFake, type ThreadsFake } from '../../connectors/threads/fake.js';
import { createFacebookConnector } from '../../connectors/facebook/index.js';
import { startFacebookFake, type FacebookFake } from '../../connectors/facebook/fake.js';
import { accountsApiDepsOf } from '../../server/connectors.js';
import { PUBLIC_MEDIA_KEY_PURPOSE } from '../../server/routes/public-media.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { isoBmffVideo } from '../helpers/media-fixtures.js';
import { fileField, upload } from '../helpers/media-upload.js';

const REDIRECT = 'https://herald.test/v1/social-accounts/callback';

let ig: InstagramFake;
let th: ThreadsFake;
let fb: FacebookFake;
let api: ApiEnv;
let signed: MediaUrls | undefined;
// The connectors are made before the API exists; the URLs are Herald's own, once it listens.
const mediaUrls: MediaUrls = { urlFor: (m) => signed!.urlFor(m) };

beforeAll(async () => {
  ig = await startInstagramFake({ redirectUris: [REDIRECT], processingMs: (t) => (t === 'REELS' ? 300 : 0) });
  th = await startThreadsFake({ redirectUris: [REDIRECT] });
  fb = await startFacebookFake({ redirectUris: [REDIRECT] });
  api = await startApiEnv({
    connectors: [
      createInstagramConnector({ urls: instagramUrlsAt(ig.url), timeoutMs: 1_000, mediaUrls, pollIntervalMs: 50 }),
      createThreadsConnector({ urls: threadsUrlsAt(th.url), timeoutMs: 1_000, mediaUrls, pollIntervalMs: 50 }),
      createFacebookConnector({ apiUrl: `${fb.url}/v23.0`, timeoutMs: 1_000, mediaUrls }),
    ],
    accounts: accountsApiDepsOf(
      {
        x: undefined,
        xApiUrl: undefined,
        mastodon: undefined,
        doneUrl: undefined,
        instagram: { clientId: ig.clientId, clientSecret: ig.clientSecret, redirectUri: REDIRECT, login: 'instagram' },
        instagramApiUrl: ig.url,
        threads: { clientId: th.clientId, clientSecret: th.clientSecret, redirectUri: REDIRECT },
        threadsApiUrl: th.url,
        facebook: { clientId: fb.clientId, clientSecret: fb.clientSecret, redirectUri: REDIRECT },
        facebookApiUrl: fb.url,
      },
      2_000,
    ),
  });
  signed = signedMediaUrls({ publicUrl: api.baseUrl, secret: api.deps.cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE) });
  api.env.startWorker();
});
afterAll(async () => {
  await api?.close();
  await ig?.close();
  await th?.close();
  await fb?.close();
});

const call = (method: string, path: string, who: Person, body?: unknown) =>
  fetch(api.baseUrl + path, {
    method,
    headers: { ...who.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

async function connect(
  who: Person,
  platform: string,
  approve: (url: string) => Promise<string>,
  instanceUrl?: string,
): Promise<string> {
  const res = await call('POST', '/v1/social-accounts/connect', who, {
    platform,
    ...(instanceUrl ? { instanceUrl } : {}),
  });
  expect(res.status).toBe(201);
  const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
  const query = new URL(await approve(authorizeUrl)).search;
  const cb = await fetch(`${api.baseUrl}/v1/social-accounts/callback${query}`, { redirect: 'manual' });
  const body = cb.status === 302 ? new URL(cb.headers.get('location')!).searchParams : null;
  const json = body ? null : ((await cb.json()) as { account?: { id?: string }; status?: string });
  const accountId = body?.get('accountId') ?? json?.account?.id;
  expect(accountId, JSON.stringify(json)).toBeTruthy();
  return accountId!;
}

async function uploadMedia(who: Person, data: Buffer, name: string, type: string, altText?: string): Promise<string> {
  const res = await upload(api, who, [
    fileField(data, name, type),
    ...(altText ? [{ name: 'altText', value: altText }] : []),
  ]);
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

async function publishNow(
  who: Person,
  target: Record<string, unknown>,
  content: string,
): Promise<Record<string, unknown>> {
  const res = await call('POST', '/v1/posts', who, { content, publishNow: true, targets: [target] });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as { id: string };
  for (let i = 0; i < 300; i++) {
    const view = (await (await call('GET', `/v1/posts/${id}`, who)).json()) as {
      targets: Array<Record<string, unknown>>;
    };
    const t = view.targets[0]!;
    if (t.status !== 'scheduled' && t.status !== 'publishing') return t;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the post never settled');
}

describe('Instagram over REST', () => {
  it('connects, then publishes an image post, a carousel and a reel, Meta fetching each file from Herald', async () => {
    const owner = await api.signUp();
    const user = ig.createAccount({ username: 'herald_shop', quota: 25 });
    const accountId = await connect(owner, 'instagram', (url) => ig.approve(url, user.userId));
    const accounts = (await (await call('GET', '/v1/social-accounts', owner)).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(accounts.items[0]).toMatchObject({ id: accountId, platform: 'instagram', handle: 'herald_shop' });

    const jpeg = (c: string) =>
      sharp({ create: { width: 40, height: 50, channels: 3, background: c } })
        .jpeg()
        .toBuffer();
    const one = await uploadMedia(owner, await jpeg('#ff0000'), 'one.jpg', 'image/jpeg', 'A red card');
    const two = await uploadMedia(owner, await jpeg('#00ff00'), 'two.jpg', 'image/jpeg');
    const clip = await uploadMedia(
      owner,
      isoBmffVideo({ durationMs: 5_000, width: 1080, height: 1920 }),
      'c.mp4',
      'video/mp4',
    );

    const image = await publishNow(
      owner,
      { socialAccountId: accountId, media: [{ mediaId: one }] },
      'An image #herald',
    );
    expect(image.status, JSON.stringify(image)).toBe('published');
    const carousel = await publishNow(
      owner,
      { socialAccountId: accountId, media: [{ mediaId: one }, { mediaId: two }] },
      'A carousel',
    );
    expect(carousel.status, JSON.stringify(carousel)).toBe('published');
    const reel = await publishNow(
      owner,
      { socialAccountId: accountId, media: [{ mediaId: clip }], options: { kind: 'reel' } },
      'A reel',
    );
    expect(reel.status, JSON.stringify(reel)).toBe('published');
    const posts = ig.posts(user.userId);
    expect(posts.map((p) => [p.caption, p.mediaType, p.productType])).toEqual([
      ['An image #herald', 'IMAGE', 'FEED'],
      ['A carousel', 'CAROUSEL_ALBUM', 'FEED'],
      ['A reel', 'VIDEO', 'REELS'],
    ]);
    expect(posts[0]!.altTexts).toEqual(['A red card']);
    expect(image.platformPostId).toBe(posts[0]!.id);
  });

  it('a publish that goes live while its answer is lost ends as exactly one post', async () => {
    const owner = await api.signUp();
    const user = ig.createAccount();
    const accountId = await connect(owner, 'instagram', (url) => ig.approve(url, user.userId));
    const img = await uploadMedia(
      owner,
      await sharp({ create: { width: 40, height: 40, channels: 3, background: '#123456' } })
        .jpeg()
        .toBuffer(),
      'x.jpg',
      'image/jpeg',
    );
    ig.failNext(user.userId, 'server_error_after_apply');
    const t = await publishNow(owner, { socialAccountId: accountId, media: [{ mediaId: img }] }, 'Once only');
    expect(t.status, JSON.stringify(t)).toBe('published');
    expect(ig.posts(user.userId).map((p) => p.caption)).toEqual(['Once only']);
    expect(t.platformPostId).toBe(ig.posts(user.userId)[0]!.id);
  });
});

describe('Threads over REST', () => {
  it('connects and publishes a three-part thread as a reply chain', async () => {
    const owner = await api.signUp();
    const user = th.createAccount({ username: 'herald_writes' });
    const accountId = await connect(owner, 'threads', (url) => th.approve(url, user.userId));
    const t = await publishNow(
      owner,
      { socialAccountId: accountId, threadParts: ['Two: the middle.', 'Three: the end.'] },
      'One: a thread from Herald.',
    );
    expect(t.status, JSON.stringify(t)).toBe('published');
    const posts = th.posts(user.userId);
    expect(posts.map((p) => p.text)).toEqual(['One: a thread from Herald.', 'Two: the middle.', 'Three: the end.']);
    expect(posts[1]!.replyToId).toBe(posts[0]!.id);
    expect(posts[2]!.replyToId).toBe(posts[1]!.id);
  });
});

describe('Facebook Pages over REST', () => {
  it('connects the chosen Page and publishes a photo post', async () => {
    const owner = await api.signUp();
    const user = fb.createUser(['Corner Cafe', 'Other Page']);
    const cafe = user.pages[0]!;
    const accountId = await connect(
      owner,
      'facebook',
      (url) => fb.approve(url, user.userId),
      `https://www.facebook.com/${cafe.id}`,
    );
    const photo = await uploadMedia(
      owner,
      await sharp({ create: { width: 30, height: 30, channels: 3, background: '#884400' } })
        .jpeg()
        .toBuffer(),
      'cafe.jpg',
      'image/jpeg',
      'Two cups of coffee',
    );
    const t = await publishNow(owner, { socialAccountId: accountId, media: [{ mediaId: photo }] }, 'Coffee is on');
    expect(t.status, JSON.stringify(t)).toBe('published');
    const posts = fb.posts(cafe.id);
    expect(posts.map((p) => [p.message, p.photos.map((ph) => ph.altText)])).toEqual([
      ['Coffee is on', ['Two cups of coffee']],
    ]);
    expect(t.platformPostId).toBe(posts[0]!.id);
  });
});

describe('public media URLs', () => {
  it('serve a stored file only with a valid, unexpired signature', async () => {
    const owner = await api.signUp();
    const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#abcdef' } })
      .jpeg()
      .toBuffer();
    const id = await uploadMedia(owner, bytes, 'p.jpg', 'image/jpeg');
    // What the worker hands a connector: the stored bytes (Herald re-encodes uploads).
    const stored = Buffer.from(await (await call('GET', `/v1/media/${id}/content`, owner)).arrayBuffer());
    const url = await signed!.urlFor({ mimeType: 'image/jpeg', sizeBytes: stored.length, bytes: stored });
    const good = await fetch(url);
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await good.arrayBuffer()).equals(stored)).toBe(true);
    expect((await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'))).status).toBe(404);
    const expired = await signedMediaUrls({
      publicUrl: api.baseUrl,
      secret: api.deps.cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE),
      now: () => Date.now() - 10 * 3600_000,
    }).urlFor({ mimeType: 'image/jpeg', sizeBytes: stored.length, bytes: stored });
    expect((await fetch(expired)).status).toBe(404);
    expect((await fetch(`${api.baseUrl}/v1/public-media/../../etc/passwd`)).status).toBe(404);
  });
});
