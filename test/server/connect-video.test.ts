/**
 * TikTok, YouTube and Pinterest through Herald's REST API against their local fakes: an
 * owner connects each with OAuth (authorize -> platform approves -> callback -> account
 * stored with its metadata: TikTok's creator options, Pinterest's boards), uploads a video
 * (probed: codec, size, duration), and publishes it to all three at once — a scheduled
 * release on YouTube, SELF_ONLY on TikTok (an unaudited app), the default board on
 * Pinterest — each exactly once, streamed from the media store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTikTokConnector } from '../../connectors/tiktok/index.js';
import { startTikTokFake, type TikTokFake } from '../../connectors/tiktok/fake.js';
import { createYouTubeConnector } from '../../connectors/youtube/index.js';
import { startYouTubeFake, type YouTubeFake } from '../../connectors/youtube/fake.js';
import { createPinterestConnector } from '../../connectors/pinterest/index.js';
import { startPinterestFake, type PinterestFake } from '../../connectors/pinterest/fake.js';
import { accountsApiDepsOf } from '../../server/connectors.js';
import { isoBmffVideo } from '../helpers/media-fixtures.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';

const REDIRECT = 'https://herald.test/v1/social-accounts/callback';

let tiktok: TikTokFake;
let youtube: YouTubeFake;
let pinterest: PinterestFake;
let api: ApiEnv;

beforeAll(async () => {
  tiktok = await startTikTokFake({ redirectUris: [REDIRECT] });
  youtube = await startYouTubeFake({ redirectUris: [REDIRECT] });
  pinterest = await startPinterestFake({ redirectUris: [REDIRECT], videoProcessingMs: 10 });
  api = await startApiEnv({
    connectors: [
      createTikTokConnector({
        clientKey: tiktok.clientKey,
        clientSecret: tiktok.clientSecret,
        apiUrl: tiktok.url,
        timeoutMs: 2_000,
        statusPollMs: 200,
      }),
      createYouTubeConnector({
        clientId: youtube.clientId,
        clientSecret: youtube.clientSecret,
        apiUrl: youtube.url,
        timeoutMs: 2_000,
        chunkBytes: 256 * 1024,
      }),
      createPinterestConnector({
        clientId: pinterest.clientId,
        clientSecret: pinterest.clientSecret,
        apiUrl: pinterest.url,
        timeoutMs: 2_000,
        mediaPollIntervalMs: 20,
      }),
    ],
    accounts: accountsApiDepsOf(
      {
        x: undefined,
        xApiUrl: undefined,
        mastodon: undefined,
        doneUrl: undefined,
        tiktok: {
          clientKey: tiktok.clientKey,
          clientSecret: tiktok.clientSecret,
          redirectUri: REDIRECT,
          apiUrl: tiktok.url,
          audited: false,
        },
        youtube: {
          clientId: youtube.clientId,
          clientSecret: youtube.clientSecret,
          redirectUri: REDIRECT,
          apiUrl: youtube.url,
          insertsPerDay: 100,
          unitsPerDay: 10_000,
        },
        pinterest: {
          clientId: pinterest.clientId,
          clientSecret: pinterest.clientSecret,
          redirectUri: REDIRECT,
          apiUrl: pinterest.url,
        },
      },
      2_000,
    ),
  });
  api.env.startWorker();
});
afterAll(async () => {
  await api?.close();
  await tiktok?.close();
  await youtube?.close();
  await pinterest?.close();
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
  approve: (authorizeUrl: string) => Promise<string>,
): Promise<string> {
  const res = await call('POST', '/v1/social-accounts/connect', who, { platform });
  expect(res.status, await res.clone().text()).toBe(201);
  const { authorizeUrl } = (await res.json()) as { authorizeUrl: string };
  const back = await fetch(`${api.baseUrl}/v1/social-accounts/callback${new URL(await approve(authorizeUrl)).search}`, {
    redirect: 'manual',
  });
  expect(back.status).toBe(200);
  const body = (await back.json()) as { status: string; account: { id: string } };
  expect(body.status).toBe('connected');
  return body.account.id;
}

describe('video platforms over REST', () => {
  it('connects TikTok, YouTube and Pinterest, then publishes one video to all three, once each', async () => {
    const owner = await api.signUp();
    const tt = tiktok.createUser({ private: true });
    const yt = youtube.createUser('Herald Videos');
    const pin = pinterest.createUser({ boards: ['Launch'] });
    const ids = {
      tiktok: await connect(owner, 'tiktok', (u) => tiktok.approve(u, tt.openId)),
      youtube: await connect(owner, 'youtube', (u) => youtube.approve(u, yt.channelId)),
      pinterest: await connect(owner, 'pinterest', (u) => pinterest.approve(u, pin.userId)),
    };
    const listed = (
      (await (await call('GET', '/v1/social-accounts', owner)).json()) as {
        items: Array<{ id: string; platform: string }>;
      }
    ).items;
    expect(listed.map((a) => a.platform).sort()).toEqual(['pinterest', 'tiktok', 'youtube']);

    // The video: 1080x1920, 20 s, H.264 at 30 fps, AAC; 1.5 MB so YouTube takes it in several chunks.
    const bytes = isoBmffVideo({
      width: 1080,
      height: 1920,
      durationMs: 20_000,
      codec: 'avc1',
      fps: 30,
      audioCodec: 'mp4a',
      mdatBytes: 1_500_000,
    });
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'video/mp4' }), 'launch.mp4');
    const up = await fetch(`${api.baseUrl}/v1/media`, { method: 'POST', headers: owner.auth, body: form });
    expect(up.status).toBe(201);
    const media = (await up.json()) as { id: string; probe: Record<string, unknown>; durationMs: number };
    expect(media).toMatchObject({
      durationMs: 20_000,
      probe: { videoCodec: 'avc1', audioCodec: 'mp4a', frameRate: 30, rotation: 0 },
    });

    const release = new Date(Date.now() + 2 * 24 * 3600 * 1000).toISOString();
    const res = await call('POST', '/v1/posts', owner, {
      content: 'Launch day',
      publishNow: true,
      targets: [
        { socialAccountId: ids.tiktok, media: [{ mediaId: media.id }], options: { privacyLevel: 'SELF_ONLY' } },
        {
          socialAccountId: ids.youtube,
          media: [{ mediaId: media.id }],
          options: { title: 'Launch', publishAt: release },
        },
        { socialAccountId: ids.pinterest, media: [{ mediaId: media.id }] },
      ],
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    let targets: Array<{ status: string; socialAccountId: string; platformPostId: string | null; lastError: unknown }> =
      [];
    for (let i = 0; i < 300; i++) {
      targets = ((await (await call('GET', `/v1/posts/${id}`, owner)).json()) as { targets: typeof targets }).targets;
      if (targets.every((t) => t.status === 'published' || t.status === 'failed')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(targets.map((t) => [t.status, t.lastError ?? null])).toEqual([
      ['published', null],
      ['published', null],
      ['published', null],
    ]);
    expect(tiktok.posts(tt.openId)).toHaveLength(1);
    expect(tiktok.posts(tt.openId)[0]).toMatchObject({
      size: bytes.length,
      received: bytes.length,
      privacyLevel: 'SELF_ONLY',
    });
    const [video] = youtube.videos(yt.channelId);
    expect(youtube.videos(yt.channelId)).toHaveLength(1);
    expect(video).toMatchObject({
      title: 'Launch',
      description: 'Launch day',
      privacyStatus: 'private',
      publishAt: release,
      sizeBytes: bytes.length,
    });
    expect(pinterest.pins(pin.userId)).toEqual([
      expect.objectContaining({ sourceType: 'video_id', description: 'Launch day' }),
    ]);
  }, 60_000);

  it('refuses at schedule time what a platform cannot take, saying why', async () => {
    const owner = await api.signUp();
    const tt = tiktok.createUser({ private: false });
    const id = await connect(owner, 'tiktok', (u) => tiktok.approve(u, tt.openId));
    const res = await call('POST', '/v1/posts', owner, {
      content: 'text only',
      at: new Date(Date.now() + 3600_000).toISOString(),
      targets: [{ socialAccountId: id, options: { privacyLevel: 'PUBLIC_TO_EVERYONE' } }],
    });
    expect(res.status).toBe(422);
    const text = JSON.stringify(await res.json());
    expect(text).toMatch(/TikTok posts need a video or photos/);
    expect(text).toMatch(/not audited/);
  });
});
