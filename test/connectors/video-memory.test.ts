/**
 * Memory stays bounded while a 200 MB video is uploaded: YouTube (8 MiB resumable chunks) and
 * TikTok (10 MB FILE_UPLOAD chunks) read it from disk a chunk at a time, as the publishing
 * worker hands them stored media (`open(range)`, never the whole file). The process's
 * resident memory, sampled throughout each upload, grows by less than 64 MB — the fakes run in
 * this process too, and they count and hash bytes without keeping them.
 *
 * Opt-in (`HERALD_MEMORY_TESTS=1`): inside the whole suite this process's resident memory is
 * shared with every other test file (vitest runs them in one worker), so the figure is not the
 * upload's; there both cases also ran past their timeout once. On its own it currently FAILS
 * for YouTube (about 92 MB of growth in two runs at the end of stop 33; TikTok passes): an
 * open fault of issue 26, not yet found. Run it on its own:
 * `HERALD_MEMORY_TESTS=1 npx vitest run test/connectors/video-memory.test.ts`.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput } from '../../connectors/contract.js';
import { createTikTokConnector } from '../../connectors/tiktok/index.js';
import { startTikTokFake, type TikTokFake } from '../../connectors/tiktok/fake.js';
import { createYouTubeConnector } from '../../connectors/youtube/index.js';
import { startYouTubeFake, type YouTubeFake } from '../../connectors/youtube/fake.js';
import { isoBmffVideo, writeLargeMp4 } from '../helpers/media-fixtures.js';

const MB = 1024 * 1024;
// A handle on V8's collector without restarting node with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const SIZE = 200 * MB;
const LIMIT = 64 * MB;

describe.skipIf(!process.env.HERALD_MEMORY_TESTS)('a 200 MB video uploads with memory bounded', () => {
  let dir: string;
  let file: string;
  let youtube: YouTubeFake;
  let tiktok: TikTokFake;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-video-memory-'));
    file = path.join(dir, 'big.mp4');
    await writeLargeMp4(file, SIZE + 777);
    youtube = await startYouTubeFake();
    tiktok = await startTikTokFake();
  }, 120_000);
  afterAll(async () => {
    await youtube?.close();
    await tiktok?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const video = async (): Promise<MediaInput> => {
    const { size } = await stat(file);
    return {
      mimeType: 'video/mp4',
      sizeBytes: size,
      get bytes(): Buffer {
        throw new Error('the whole video was asked for');
      },
      video: {
        durationMs: 60_000,
        width: 1080,
        height: 1920,
        videoCodec: 'avc1',
        audioCodec: 'mp4a',
        rotation: 0,
        frameRate: 30,
      },
      open: async (range) => createReadStream(file, range ?? {}),
    };
  };

  const small = (): MediaInput => {
    const bytes = isoBmffVideo({ width: 1080, height: 1920, durationMs: 5_000, codec: 'avc1' });
    return { mimeType: 'video/mp4', sizeBytes: bytes.length, bytes };
  };

  /**
   * The largest growth of resident memory over `before` while `work` runs. Each sample runs a
   * full garbage collection first, so it measures what is held, not chunks already let go
   * that the collector has not reached yet.
   */
  async function peakGrowth(work: () => Promise<unknown>): Promise<number> {
    const rss = () => {
      gc();
      return process.memoryUsage().rss;
    };
    const before = rss();
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rss())), 200);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
    return Math.max(peak, rss()) - before;
  }

  it('to YouTube', async () => {
    const c = youtube.createChannel();
    const account: AccountContext = {
      accountId: randomUUID(),
      externalId: c.channelId,
      handle: 'big',
      credentials: { accessToken: c.accessToken },
      metadata: {},
    };
    const connector = createYouTubeConnector({
      clientId: youtube.clientId,
      clientSecret: youtube.clientSecret,
      apiUrl: youtube.url,
    });
    const m = await video();
    // Warm up the HTTP client and the code paths on a small video first: what is measured is the 200 MB.
    await connector.publish(account, { parts: [{ text: 'small', media: [small()] }], options: {} }, 'w');
    const growth = await peakGrowth(() =>
      connector.publish(account, { parts: [{ text: 'big', media: [m] }], options: {} }, 'k'),
    );
    console.log(`YouTube: 200 MB uploaded, resident memory grew by at most ${(growth / MB).toFixed(1)} MB`);
    expect(youtube.videos(c.channelId)[1]!.sizeBytes).toBe(m.sizeBytes);
    expect(growth).toBeLessThan(LIMIT);
  }, 120_000);

  it('to TikTok', async () => {
    const a = tiktok.createAccount({ private: true });
    const account: AccountContext = {
      accountId: randomUUID(),
      externalId: a.openId,
      handle: a.username,
      credentials: { accessToken: a.accessToken },
      metadata: {},
    };
    const connector = createTikTokConnector({
      clientKey: tiktok.clientKey,
      clientSecret: tiktok.clientSecret,
      apiUrl: tiktok.url,
    });
    const m = await video();
    await connector.publish(
      account,
      { parts: [{ text: 'small', media: [small()] }], options: { privacyLevel: 'SELF_ONLY' } },
      'w',
    );
    const growth = await peakGrowth(() =>
      connector.publish(account, { parts: [{ text: 'big', media: [m] }], options: { privacyLevel: 'SELF_ONLY' } }, 'k'),
    );
    console.log(`TikTok: 200 MB uploaded, resident memory grew by at most ${(growth / MB).toFixed(1)} MB`);
    expect(tiktok.posts(a.openId)[1]!.received).toBe(m.sizeBytes);
    expect(growth).toBeLessThan(LIMIT);
  }, 120_000);
});
