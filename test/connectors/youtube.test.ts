/**
 * The YouTube connector against the local fake YouTube (a real HTTP server on loopback): the
 * shared connector contract, then the resumable upload — chunks in multiples of 256 KiB, a
 * 503 mid-upload resumed from the Range the 308 gives, the network dropping on the last chunk
 * while the video goes live (settled by asking the session, never uploading again), an
 * expired session started over — scheduled release, Shorts and title rules, thumbnails, the
 * daily quota refused before it is exceeded, and tokens (refresh, testing-mode expiry, OAuth).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput, PublishJournal } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, RateLimited, TransientError } from '../../connectors/errors.js';
import { createYouTubeConnector, createYouTubeLinker, appUrls } from '../../connectors/youtube/index.js';
import { startYouTubeFake, type YouTubeFake } from '../../connectors/youtube/fake.js';
import { isoBmffVideo, solidPng } from '../helpers/media-fixtures.js';
import { connectorContract } from '../contract/connector.suite.js';

const UNIT = 256 * 1024;

function clip(bytes = 2048, facts: Partial<MediaInput['video']> = {}): MediaInput {
  const data = isoBmffVideo({ width: 1080, height: 1920, durationMs: 20_000, codec: 'avc1', mdatBytes: bytes });
  return {
    mimeType: 'video/mp4',
    sizeBytes: data.length,
    bytes: data,
    video: {
      durationMs: 20_000,
      width: 1080,
      height: 1920,
      videoCodec: 'avc1',
      audioCodec: null,
      rotation: 0,
      frameRate: 30,
      ...facts,
    },
  };
}

/** A journal kept in memory, as the publishing worker keeps it in `publish_handles`. */
function memoryJournal(): PublishJournal & { value: Record<string, unknown> | null } {
  const j = {
    value: null as Record<string, unknown> | null,
    load: async () => j.value,
    save: async (h: Record<string, unknown>) => {
      j.value = { ...h };
    },
  };
  return j;
}

const accountOf = (c: { channelId: string; accessToken: string; refreshToken: string }): AccountContext => ({
  accountId: randomUUID(),
  externalId: c.channelId,
  handle: c.channelId,
  credentials: { accessToken: c.accessToken, refreshToken: c.refreshToken },
  metadata: {},
});

const video = (text: string, media: MediaInput[] = [clip()], options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media }],
  options,
});

connectorContract('YouTube', async () => {
  const fake = await startYouTubeFake();
  const connector = createYouTubeConnector({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    apiUrl: fake.url,
    timeoutMs: 1_000,
    chunkTimeoutMs: 1_000,
    chunkBytes: UNIT,
  });
  return {
    connector,
    async newAccount() {
      const c = fake.createChannel();
      return {
        account: accountOf(c),
        peer: {
          posts: async () =>
            fake.videos(c.channelId).map((v) => ({ id: v.id, text: v.description, replyToId: null, altTexts: [] })),
          failNext: async (fault) => fake.failNext(c.channelId, fault),
          expireAccessToken: async () => fake.expireAccessTokens(c.channelId),
        },
      };
    },
    image: () => clip(),
    requiredMedia: () => [clip()],
    teardown: () => fake.close(),
  };
});

describe('YouTube resumable uploads', () => {
  let fake: YouTubeFake;
  const connectorWith = (opts: Partial<Parameters<typeof createYouTubeConnector>[0]> = {}) =>
    createYouTubeConnector({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiUrl: fake.url,
      timeoutMs: 1_000,
      chunkBytes: UNIT,
      ...opts,
    });
  beforeAll(async () => {
    fake = await startYouTubeFake({ redirectUris: ['http://127.0.0.1/cb'] });
  });
  afterAll(() => fake.close());

  it('uploads in 256 KiB chunks and the video holds exactly the bytes sent', async () => {
    const c = fake.createChannel();
    const m = clip(5 * UNIT + 123);
    const before = fake.chunkPuts();
    const result = await connectorWith().publish(accountOf(c), video('five chunks and a bit', [m]), randomUUID());
    expect(fake.chunkPuts() - before).toBe(6);
    const [v] = fake.videos(c.channelId);
    expect(v).toMatchObject({ id: result.platformPostId, sizeBytes: m.sizeBytes });
    const { createHash } = await import('node:crypto');
    expect(v!.sha256).toBe(createHash('sha256').update(m.bytes).digest('hex'));
    expect(result.url).toBe(`https://www.youtube.com/watch?v=${v!.id}`);
  });

  it('a 503 mid-upload fails the try without a video; the next try resumes from the Range YouTube holds', async () => {
    const c = fake.createChannel();
    const account = accountOf(c);
    const journal = memoryJournal();
    const m = clip(6 * UNIT);
    const connector = connectorWith();
    // Chunks 1-2 arrive, chunk 3 meets a 503.
    let sent = 0;
    const counting: MediaInput = {
      ...m,
      open: async (range) => {
        const { Readable } = await import('node:stream');
        const slice = m.bytes.subarray(range?.start ?? 0, (range?.end ?? m.sizeBytes - 1) + 1);
        sent += slice.length;
        return Readable.from([slice]);
      },
    };
    fake.failChunkAfter(c.channelId, 2);
    const err = await connector.publish(account, video('resumed', [counting]), 'k', journal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).mayHaveSucceeded).toBe(false);
    expect(fake.videos(c.channelId)).toEqual([]);
    expect(journal.value).toMatchObject({ sessionUri: expect.stringContaining('upload_id='), sizeBytes: m.sizeBytes });
    const [session] = fake.sessions(c.channelId);
    expect(session!.received).toBe(2 * UNIT);

    sent = 0;
    const result = await connector.publish(account, video('resumed', [counting]), 'k', journal);
    // Only what YouTube lacked was read and sent again.
    expect(sent).toBe(m.sizeBytes - 2 * UNIT);
    expect(fake.videos(c.channelId).map((v) => v.id)).toEqual([result.platformPostId]);
    expect(fake.sessions(c.channelId)).toHaveLength(1);
  });

  it('the connection drops on the last chunk while the video goes live: settled by asking the session, one video', async () => {
    const c = fake.createChannel();
    const account = accountOf(c);
    const journal = memoryJournal();
    const connector = connectorWith();
    const input = video('live despite the drop', [clip(3 * UNIT)]);
    fake.failNext(c.channelId, 'drop_after_last_chunk');
    const err = await connector.publish(account, input, 'k', journal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).mayHaveSucceeded).toBe(true);
    const found = await connector.lookup(account, input, 'k', new Date(Date.now() - 60_000), journal);
    const [v] = fake.videos(c.channelId);
    expect(found?.platformPostId).toBe(v!.id);
    // Publishing again (a retry) uploads nothing more.
    const puts = fake.chunkPuts();
    expect((await connector.publish(account, input, 'k', journal)).platformPostId).toBe(v!.id);
    expect(fake.chunkPuts()).toBe(puts);
    expect(fake.videos(c.channelId)).toHaveLength(1);
  });

  it('an expired session is started over (it made no video)', async () => {
    const c = fake.createChannel();
    const account = accountOf(c);
    const journal = memoryJournal();
    const connector = connectorWith();
    const m = clip(4 * UNIT);
    fake.failNext(c.channelId, 'chunk_503');
    await connector.publish(account, video('again', [m]), 'k', journal).catch(() => undefined);
    fake.expireSessions(c.channelId);
    const result = await connector.publish(account, video('again', [m]), 'k', journal);
    expect(fake.sessions(c.channelId)).toHaveLength(2);
    expect(fake.videos(c.channelId).map((v) => v.id)).toEqual([result.platformPostId]);
  });

  it('a scheduled release is uploaded private with publishAt; Shorts get their URL', async () => {
    const c = fake.createChannel();
    const at = new Date(Date.now() + 3 * 24 * 3600 * 1000);
    const r = await connectorWith().publish(
      accountOf(c),
      video('premiere', [clip()], { publishAt: at.toISOString(), privacyStatus: 'public', short: true, title: 'Soon' }),
      randomUUID(),
    );
    expect(fake.videos(c.channelId)[0]).toMatchObject({
      title: 'Soon',
      privacyStatus: 'private',
      publishAt: at.toISOString(),
    });
    expect(r.url).toBe(`https://www.youtube.com/shorts/${r.platformPostId}`);
  });

  it('an image beside the video becomes its thumbnail', async () => {
    const c = fake.createChannel();
    const png = await solidPng(64, 36, '#cc3333');
    await connectorWith().publish(
      accountOf(c),
      video('with a face', [clip(), { mimeType: 'image/png', sizeBytes: png.length, bytes: png }]),
      randomUUID(),
    );
    expect(fake.videos(c.channelId)[0]!.thumbnail).toBe(true);
  });

  it('validates titles, Shorts and the video at schedule time, saying the limit', () => {
    const connector = connectorWith();
    const account = accountOf({ channelId: 'x', accessToken: 'a', refreshToken: 'r' });
    const codes = (input: PublishInput) => connector.validate(account, input).map((i) => i.code);
    expect(codes(video('x', [clip()], { title: 't'.repeat(101) }))).toEqual(['option_invalid']);
    expect(connector.validate(account, video('x', [clip()], { title: 't'.repeat(101) }))[0]!.message).toContain('100');
    expect(codes(video('a <b> c', [clip()]))).toContain('option_invalid');
    expect(codes(video('long short', [clip(2048, { durationMs: 200_000 })], { short: true }))).toEqual(['video_rules']);
    expect(codes(video('wide short', [clip(2048, { width: 1920, height: 1080 })], { short: true }))).toEqual([
      'video_rules',
    ]);
    expect(codes(video('text only', []))).toEqual(['media_required']);
    expect(codes(video('past', [clip()], { publishAt: '2001-01-01T00:00:00Z' }))).toEqual(['option_invalid']);
  });

  it("refuses an upload the day's quota cannot pay for, before calling YouTube", async () => {
    const c = fake.createChannel();
    const connector = connectorWith({ quota: { insertsPerDay: 1, unitsPerDay: 10_000 } });
    await connector.publish(accountOf(c), video('first'), randomUUID());
    const sessions = fake.sessions(c.channelId).length;
    const err = await connector.publish(accountOf(c), video('second'), randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimited);
    expect((err as RateLimited).reason).toBe('usage_capped');
    expect((err as RateLimited).retryAt.getTime()).toBeGreaterThan(Date.now());
    expect(fake.sessions(c.channelId)).toHaveLength(sessions);
  });

  it("YouTube's own quotaExceeded waits for midnight Pacific time", async () => {
    const c = fake.createChannel();
    fake.failNext(c.channelId, 'quota_exceeded');
    const err = await connectorWith()
      .publish(accountOf(c), video('no quota'), randomUUID())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimited);
    const retryAt = (err as RateLimited).retryAt;
    const pt = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/Los_Angeles',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    }).format(retryAt);
    expect(pt).toMatch(/^(00|24):00$/);
    expect(retryAt.getTime() - Date.now()).toBeLessThanOrEqual(25 * 3600 * 1000);
  });

  it('a refresh token Google expired (apps in testing) asks for reconnecting and says why', async () => {
    const c = fake.createChannel();
    fake.revokeRefreshTokens(c.channelId);
    const err = await connectorWith()
      .refresh(accountOf(c))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthExpired);
    expect((err as AuthExpired).reconnect).toBe(true);
    expect((err as AuthExpired).message).toMatch(/Testing.*7 days/);
  });

  it('connects a channel with OAuth (PKCE, offline access) and reads who it is', async () => {
    const { channelId } = fake.createUser('Herald Test');
    const linker = createYouTubeLinker({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'http://127.0.0.1/cb',
      ...appUrls(fake.url),
    });
    const start = await linker.begin({ state: 'st' });
    const url = new URL(start.authorizeUrl);
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const back = new URL(await fake.approve(start.authorizeUrl, channelId));
    const linked = await linker.complete({
      code: back.searchParams.get('code')!,
      carry: start.carry,
      secrets: start.secrets,
    });
    expect(linked).toMatchObject({ externalId: channelId, displayName: 'Herald Test', handle: 'heraldtest' });
    expect(linked.credentials.refreshToken).toBeTruthy();
    expect(linked.expiresAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it('refuses invalid content with YouTube words', async () => {
    const c = fake.createChannel();
    fake.failNext(c.channelId, 'invalid_content');
    const err = await connectorWith()
      .publish(accountOf(c), video('bad'), randomUUID())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContent);
    expect((err as InvalidContent).platformMessage).toMatch(/invalid or empty video title/);
  });
});
