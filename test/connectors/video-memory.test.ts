/**
 * Memory stays bounded while a 200 MB video is uploaded to each video platform that takes the
 * bytes from Herald — YouTube (8 MiB resumable chunks), TikTok (10 MB FILE_UPLOAD chunks) and
 * Pinterest (one multipart POST): the file is streamed from disk into each request
 * (`connectors/stream-upload.ts`), never held, not even one chunk. The platform's fake runs in
 * this process; the connector runs in a child process of its own (`video-upload-child.ts`),
 * which samples its own resident memory after a full collection throughout the upload, so the
 * figure is the upload's alone and not shared with the other test files in this worker. It
 * grows by less than 64 MB (the bound of issue 26): 22-28 MB measured, most of it V8's young
 * generation reaching its working size, the same whatever the file's size. The former YouTube
 * upload (each 8 MiB chunk read into a Buffer and handed to `fetch`, which copies it) grew by
 * 65.5 MB in the same child; inside the vitest worker it had read ~92 MB.
 * Part of the normal suite: about 45 s, most of it the three 200 MB transfers on loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPinterestFake, type PinterestFake } from '../../connectors/pinterest/fake.js';
import { startTikTokFake, type TikTokFake } from '../../connectors/tiktok/fake.js';
import { startYouTubeFake, type YouTubeFake } from '../../connectors/youtube/fake.js';
import { writeLargeMp4 } from '../helpers/media-fixtures.js';
import type { ChildInput } from './video-upload-child.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB + 777;
const LIMIT = 64 * MB;

interface Measured {
  growth: number;
  platformPostId: string;
}

/** Runs the upload in its own node process and reads back its peak memory growth. */
function uploadInChild(input: Omit<ChildInput, 'file'>, file: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/connectors/video-upload-child.ts', JSON.stringify({ ...input, file })],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`upload child exited ${code}: ${err || out}`));
      else resolve(JSON.parse(line) as Measured);
    });
  });
}

describe('a 200 MB video uploads with memory bounded (the connector in a process of its own)', () => {
  let dir: string;
  let file: string;
  let youtube: YouTubeFake;
  let tiktok: TikTokFake;
  let pinterest: PinterestFake;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-video-memory-'));
    file = path.join(dir, 'big.mp4');
    await writeLargeMp4(file, SIZE);
    [youtube, tiktok, pinterest] = await Promise.all([startYouTubeFake(), startTikTokFake(), startPinterestFake()]);
  }, 240_000);
  afterAll(async () => {
    await Promise.all([youtube?.close(), tiktok?.close(), pinterest?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const report = (name: string, growth: number) =>
    console.log(
      `${name}: 200 MB uploaded, the connector's resident memory grew by at most ${(growth / MB).toFixed(1)} MB`,
    );

  it('to YouTube, in resumable chunks', async () => {
    const c = youtube.createChannel();
    const r = await uploadInChild(
      {
        platform: 'youtube',
        apiUrl: youtube.url,
        clientId: youtube.clientId,
        clientSecret: youtube.clientSecret,
        externalId: c.channelId,
        accessToken: c.accessToken,
        metadata: {},
        options: {},
      },
      file,
    );
    report('YouTube', r.growth);
    const big = youtube.videos(c.channelId).find((v) => v.id === r.platformPostId)!;
    expect(big.sizeBytes).toBe((await stat(file)).size);
    expect(youtube.sessions(c.channelId).filter((s) => s.done)).toHaveLength(2);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);

  it('to TikTok, in FILE_UPLOAD chunks', async () => {
    const a = tiktok.createAccount({ private: true });
    const r = await uploadInChild(
      {
        platform: 'tiktok',
        apiUrl: tiktok.url,
        clientId: tiktok.clientKey,
        clientSecret: tiktok.clientSecret,
        externalId: a.openId,
        accessToken: a.accessToken,
        metadata: {},
        options: { privacyLevel: 'SELF_ONLY' },
      },
      file,
    );
    report('TikTok', r.growth);
    expect(tiktok.posts(a.openId)[1]!.received).toBe(SIZE);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);

  it('to Pinterest, in one multipart POST', async () => {
    const a = pinterest.createAccount();
    const r = await uploadInChild(
      {
        platform: 'pinterest',
        apiUrl: pinterest.url,
        clientId: pinterest.clientId,
        clientSecret: pinterest.clientSecret,
        externalId: a.userId,
        accessToken: a.accessToken,
        metadata: { boards: a.boards, defaultBoardId: a.boards[0]!.id },
        options: {},
      },
      file,
    );
    report('Pinterest', r.growth);
    // The multipart body: the form fields and the file's part headers around the file itself.
    expect(pinterest.media(a.userId)[1]!.bytes).toBeGreaterThan(SIZE);
    expect(pinterest.pins(a.userId).map((p) => p.id)).toContain(r.platformPostId);
    expect(r.growth).toBeLessThan(LIMIT);
  }, 240_000);
});
