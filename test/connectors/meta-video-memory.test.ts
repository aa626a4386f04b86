/**
 * Memory stays bounded while a 200 MB video goes to each Meta platform — an Instagram reel, a
 * Facebook Page video, a Threads video. Meta downloads videos itself, so Herald's side is the
 * connector hashing the stored file for its signed URL and the `/v1/public-media` route
 * serving it: both stream from the media store, never holding the file (the worker hands the
 * video with `open`; reading its `bytes` throws, so the former whole-file hash fails here).
 * Both run in a child process of their own (`meta-video-child.ts`) that samples its resident
 * memory after a full collection throughout; the growth stays under 64 MB (issue 26's bound
 * for video uploads). The fakes, in this process, download the whole file as Meta's crawler
 * does and record its size; a container stays IN_PROGRESS until the download is complete.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalMediaStore } from '../../core/index.js';
import { startFacebookFake, type FacebookFake } from '../../connectors/facebook/fake.js';
import { startInstagramFake, type InstagramFake } from '../../connectors/instagram/fake.js';
import { startThreadsFake, type ThreadsFake } from '../../connectors/threads/fake.js';
import { isoBmffVideo, writeLargeMp4 } from '../helpers/media-fixtures.js';
import type { MetaChildInput } from './meta-video-child.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB + 333;
const LIMIT = 64 * MB;

interface Measured {
  growth: number;
  platformPostId: string;
}

function publishInChild(input: MetaChildInput): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/connectors/meta-video-child.ts', JSON.stringify(input)],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`child exited ${code}: ${err || out}`));
      else resolve(JSON.parse(line) as Measured);
    });
  });
}

describe('a 200 MB video to Meta, hashed and served with memory bounded (in a process of its own)', () => {
  let dir: string;
  let files: Pick<MetaChildInput, 'storeDir' | 'small' | 'large'>;
  let ig: InstagramFake;
  let fb: FacebookFake;
  let th: ThreadsFake;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-meta-video-'));
    const big = path.join(dir, 'big.mp4');
    await writeLargeMp4(big, SIZE);
    const storeDir = path.join(dir, 'media');
    const store = new LocalMediaStore(storeDir);
    const put = (source: Buffer | { file: string }) =>
      store.put(source, { extension: 'mp4', contentType: 'video/mp4' });
    const large = await put({ file: big });
    await rm(big);
    const small = await put(isoBmffVideo({ width: 1080, height: 1920, durationMs: 5_000, codec: 'avc1' }));
    files = {
      storeDir,
      small: { key: small.key, sizeBytes: small.sizeBytes },
      large: { key: large.key, sizeBytes: large.sizeBytes },
    };
    [ig, fb, th] = await Promise.all([startInstagramFake(), startFacebookFake(), startThreadsFake()]);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([ig?.close(), fb?.close(), th?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const report = (name: string, growth: number) =>
    console.log(`${name}: 200 MB hashed and served, resident memory grew by at most ${(growth / MB).toFixed(1)} MB`);

  it('as an Instagram reel', async () => {
    const a = ig.createAccount();
    const r = await publishInChild({
      platform: 'instagram',
      apiUrl: ig.url,
      externalId: a.userId,
      accessToken: a.accessToken,
      ...files,
    });
    report('Instagram', r.growth);
    const reel = ig.posts(a.userId).find((p) => p.id === r.platformPostId)!;
    expect(reel.productType).toBe('REELS');
    expect(reel.videoBytes).toBe(SIZE);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);

  it('as a Facebook Page video', async () => {
    const { pages } = fb.createUser(['Big Video Page']);
    const page = pages[0]!;
    const r = await publishInChild({
      platform: 'facebook',
      apiUrl: fb.url,
      externalId: page.id,
      accessToken: page.accessToken,
      ...files,
    });
    report('Facebook', r.growth);
    const video = fb.posts(page.id).find((p) => p.id === r.platformPostId)!;
    expect(video.videoBytes).toBe(SIZE);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);

  it('as a Threads video', async () => {
    const a = th.createAccount();
    const r = await publishInChild({
      platform: 'threads',
      apiUrl: th.url,
      externalId: a.userId,
      accessToken: a.accessToken,
      ...files,
    });
    report('Threads', r.growth);
    const video = th.posts(a.userId).find((p) => p.id === r.platformPostId)!;
    expect(video.mediaType).toBe('VIDEO');
    expect(video.videoBytes).toBe(SIZE);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);
});
