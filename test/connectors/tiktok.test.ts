/**
 * The TikTok connector against the local fake TikTok (a real HTTP server on loopback): the
 * shared connector contract, then TikTok's own rules — creator_info read before every post
 * and nothing preselected, FILE_UPLOAD in ordered chunks streamed from disk and resumed after
 * a failure from what TikTok holds, the last chunk cut off while the post goes live (settled
 * by status, not posted again), moderation that stays in processing, refusals that arrive
 * with HTTP 200, the unaudited-app rule said plainly, drafts to the inbox, photos by URL,
 * rotating refresh tokens and the OAuth connect.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput, PublishJournal } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, PermanentError, RateLimited, TransientError } from '../../connectors/errors.js';
import { appUrls, chunkPlan, createTikTokConnector, createTikTokLinker } from '../../connectors/tiktok/index.js';
import { startTikTokFake, type TikTokFake } from '../../connectors/tiktok/fake.js';
import { isoBmffVideo, writeLargeMp4 } from '../helpers/media-fixtures.js';
import { connectorContract } from '../contract/connector.suite.js';

const MB = 1024 * 1024;
const facts = {
  durationMs: 20_000,
  width: 1080,
  height: 1920,
  videoCodec: 'avc1',
  audioCodec: 'mp4a',
  rotation: 0,
  frameRate: 30,
};

function clip(video: Partial<typeof facts> = {}): MediaInput {
  const data = isoBmffVideo({ width: 1080, height: 1920, durationMs: 20_000, codec: 'avc1' });
  return { mimeType: 'video/mp4', sizeBytes: data.length, bytes: data, video: { ...facts, ...video } };
}

/** A video on disk, read through `open` as publishing reads the media store. */
async function fileVideo(file: string): Promise<MediaInput & { opened: Array<{ start: number; end: number }> }> {
  const { size } = await stat(file);
  const opened: Array<{ start: number; end: number }> = [];
  return {
    mimeType: 'video/mp4',
    sizeBytes: size,
    get bytes(): Buffer {
      throw new Error('read whole');
    },
    video: facts,
    opened,
    open: async (range) => {
      const r = range ?? { start: 0, end: size - 1 };
      opened.push(r);
      return createReadStream(file, r);
    },
  };
}

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

const accountOf = (a: {
  openId: string;
  username: string;
  accessToken: string;
  refreshToken: string;
}): AccountContext => ({
  accountId: randomUUID(),
  externalId: a.openId,
  handle: a.username,
  credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken, openId: a.openId },
  metadata: {},
});

const post = (text: string, media: MediaInput[], options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media }],
  options: { privacyLevel: 'SELF_ONLY', ...options },
});

connectorContract('TikTok', async () => {
  const fake = await startTikTokFake({ audited: true });
  const connector = createTikTokConnector({
    clientKey: fake.clientKey,
    clientSecret: fake.clientSecret,
    apiUrl: fake.url,
    timeoutMs: 1_000,
    chunkTimeoutMs: 1_000,
    audited: true,
  });
  return {
    connector,
    async newAccount() {
      const a = fake.createAccount();
      return {
        account: accountOf(a),
        peer: {
          posts: async () =>
            fake
              .posts(a.openId)
              .filter((p) => p.status !== 'FAILED')
              .map((p) => ({ id: p.videoId ?? p.publishId, text: p.title, replyToId: null, altTexts: [] })),
          failNext: async (fault) => fake.failNext(a.openId, fault),
          expireAccessToken: async () => fake.expireAccessTokens(a.openId),
        },
      };
    },
    image: () => clip(),
    requiredMedia: () => [clip()],
    requiredOptions: () => ({ privacyLevel: 'PUBLIC_TO_EVERYONE' }),
    teardown: () => fake.close(),
  };
});

describe('TikTok posting', () => {
  let fake: TikTokFake;
  let audited: TikTokFake;
  let dir: string;
  let big: string;
  const connectorFor = (f: TikTokFake, opts: Partial<Parameters<typeof createTikTokConnector>[0]> = {}) =>
    createTikTokConnector({
      clientKey: f.clientKey,
      clientSecret: f.clientSecret,
      apiUrl: f.url,
      timeoutMs: 2_000,
      chunkTimeoutMs: 2_000,
      chunkBytes: 5 * MB,
      ...opts,
    });
  beforeAll(async () => {
    fake = await startTikTokFake({ redirectUris: ['http://127.0.0.1/cb'] });
    audited = await startTikTokFake({ audited: true });
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-tiktok-'));
    big = path.join(dir, 'big.mp4');
    await writeLargeMp4(big, 16 * MB + 12_345);
  });
  afterAll(async () => {
    await fake.close();
    await audited.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("plans chunks as TikTok's media transfer guide says", () => {
    expect(chunkPlan(3 * MB, 10 * MB)).toEqual({ chunkSize: 3 * MB, count: 1 });
    expect(chunkPlan(16 * MB + 5, 5 * MB)).toEqual({ chunkSize: 5 * MB, count: 3 });
    expect(chunkPlan(200 * MB, 10 * MB)).toEqual({ chunkSize: 10 * MB, count: 20 });
    expect(chunkPlan(20 * MB, 100 * MB)).toEqual({ chunkSize: 20 * MB, count: 1 });
  });

  it('uploads a video in ordered chunks streamed from disk, one range at a time; the last takes the tail', async () => {
    const a = fake.createAccount({ private: true });
    const v = await fileVideo(big);
    await connectorFor(fake).publish(accountOf(a), post('sixteen megabytes', [v]), randomUUID());
    const [p] = fake.posts(a.openId);
    expect(p).toMatchObject({
      size: v.sizeBytes,
      received: v.sizeBytes,
      chunkSize: 5 * MB,
      count: 3,
      privacyLevel: 'SELF_ONLY',
    });
    expect(v.opened).toEqual([
      { start: 0, end: 5 * MB - 1 },
      { start: 5 * MB, end: 10 * MB - 1 },
      { start: 10 * MB, end: v.sizeBytes - 1 },
    ]);
    // Nothing preselected: interactions off unless the user turned them on.
    expect(p!.postInfo).toMatchObject({ disable_comment: true, disable_duet: true, disable_stitch: true });
  });

  it('a 500 mid-upload fails the try; the next resumes at the chunk TikTok lacks, under the same publish id', async () => {
    const a = fake.createAccount({ private: true });
    const v = await fileVideo(big);
    const journal = memoryJournal();
    const connector = connectorFor(fake);
    const input = post('resume me', [v]);
    // Chunk 1 goes in, chunk 2 meets a 500.
    let puts = 0;
    const realOpen = v.open!;
    v.open = async (r) => {
      if (++puts === 2) fake.failNext(a.openId, 'chunk_500');
      return realOpen(r);
    };
    const err = await connector.publish(accountOf(a), input, 'k', journal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).mayHaveSucceeded).toBe(false);
    expect(journal.value).toMatchObject({
      publishId: expect.stringMatching(/^v_pub_file/),
      chunkSize: 5 * MB,
      count: 3,
    });
    v.opened.length = 0;
    const r = await connector.publish(accountOf(a), input, 'k', journal);
    expect(v.opened.map((o) => o.start)).toEqual([5 * MB, 10 * MB]);
    expect(fake.inits(a.openId)).toHaveLength(1);
    expect(fake.posts(a.openId)[0]!.received).toBe(v.sizeBytes);
    expect(r.platformPostId).toBe(journal.value!.publishId);
  });

  it('the last chunk is applied but its answer never comes: the status settles it, nothing is posted again', async () => {
    const a = audited.createAccount();
    const journal = memoryJournal();
    const connector = connectorFor(audited, { audited: true, chunkTimeoutMs: 300 });
    const input = post('live anyway', [clip()], { privacyLevel: 'PUBLIC_TO_EVERYONE' });
    audited.failNext(a.openId, 'timeout_after_apply');
    const err = await connector.publish(accountOf(a), input, 'k', journal).catch((e: unknown) => e);
    expect((err as TransientError).mayHaveSucceeded).toBe(true);
    const found = await connector.lookup(accountOf(a), input, 'k', new Date(Date.now() - 60_000), journal);
    expect(found).toMatchObject({ status: 'published', platformPostId: audited.posts(a.openId)[0]!.videoId });
    expect((await connector.publish(accountOf(a), input, 'k', journal)).platformPostId).toBe(found!.platformPostId);
    expect(audited.inits(a.openId)).toHaveLength(1);
  });

  it('moderation that takes long leaves the post processing, checked later, then published', async () => {
    const a = audited.createAccount();
    const connector = connectorFor(audited, { audited: true });
    audited.failNext(a.openId, 'hold_processing');
    const r = await connector.publish(
      accountOf(a),
      post('in review', [clip()], { privacyLevel: 'PUBLIC_TO_EVERYONE' }),
      randomUUID(),
    );
    expect(r.status).toBe('processing');
    expect(await connector.checkStatus(accountOf(a), r.platformPostId)).toBe('processing');
    expect(connector.capabilities(accountOf(a)).processing!.giveUpAfterMs).toBeGreaterThanOrEqual(3600_000);
    audited.release(r.platformPostId);
    expect(await connector.checkStatus(accountOf(a), r.platformPostId)).toBe('published');
    expect((await connector.fetchMetrics(accountOf(a), r.platformPostId)).impressions).toBe(120);
  });

  it('a post TikTok fails in processing says why', async () => {
    const a = audited.createAccount();
    const connector = connectorFor(audited, { audited: true });
    audited.failNext(a.openId, 'hold_processing');
    audited.failNext(a.openId, 'fail_processing');
    const r = await connector.publish(
      accountOf(a),
      post('bad fps', [clip()], { privacyLevel: 'MUTUAL_FOLLOW_FRIENDS' }),
      randomUUID(),
    );
    audited.release(r.platformPostId);
    const err = await connector.checkStatus(accountOf(a), r.platformPostId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContent);
    expect((err as InvalidContent).message).toContain('23-60 fps');
  });

  it('spam-risk refusals that arrive with HTTP 200 are refusals, with TikTok words', async () => {
    const a = audited.createAccount();
    const connector = connectorFor(audited, { audited: true });
    audited.failNext(a.openId, 'invalid_content');
    const err = await connector.publish(accountOf(a), post('buy now', [clip()]), randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContent);
    expect((err as InvalidContent).reason).toBe('spam_risk_text');
    audited.failNext(a.openId, 'spam_risk_too_many_posts');
    const capped = await connector
      .publish(accountOf(a), post('one more', [clip()]), randomUUID())
      .catch((e: unknown) => e);
    expect(capped).toBeInstanceOf(RateLimited);
    expect(audited.inits(a.openId)).toEqual([]);
  });

  it('an unaudited app is told plainly: SELF_ONLY to private accounts, at schedule time and from TikTok', async () => {
    const connector = connectorFor(fake);
    const a = fake.createAccount({ private: false });
    const issues = connector.validate(accountOf(a), post('public', [clip()], { privacyLevel: 'PUBLIC_TO_EVERYONE' }));
    expect(issues.map((i) => i.message).join(' ')).toMatch(/not audited.*SELF_ONLY/);
    // A public account posting SELF_ONLY passes Herald's checks; TikTok refuses it and Herald says why.
    const err = await connector
      .publish(accountOf(a), post('public account', [clip()]), randomUUID())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidContent);
    expect((err as InvalidContent).message).toMatch(/private accounts/);
  });

  it('checks the post against creator_info read just before posting: no privacy chosen, a level the account lacks, too long', async () => {
    const a = audited.createAccount({ private: true, maxDurationSec: 60 });
    const connector = connectorFor(audited, { audited: true });
    const refused = async (input: PublishInput) =>
      ((await connector.publish(accountOf(a), input, randomUUID()).catch((e: unknown) => e)) as Error).message;
    expect(await refused({ parts: [{ text: 'x', media: [clip()] }], options: {} })).toMatch(/choose who can see/);
    expect(await refused(post('x', [clip()], { privacyLevel: 'PUBLIC_TO_EVERYONE' }))).toMatch(
      /offers FOLLOWER_OF_CREATOR/,
    );
    expect(await refused(post('x', [clip({ durationMs: 90_000 })]))).toMatch(/up to 60 s/);
    expect(await refused(post('x', [clip()], { allowDuet: true }))).toMatch(/duets off/);
    expect(audited.inits(a.openId)).toEqual([]);
  });

  it('validates video rules at schedule time', () => {
    const connector = connectorFor(fake);
    const account = accountOf(fake.createAccount());
    const codes = (m: MediaInput) => connector.validate(account, post('x', [m])).map((i) => i.code);
    expect(codes(clip({ frameRate: 15 }))).toEqual(['video_rules']);
    expect(codes(clip({ width: 200 }))).toEqual(['video_rules']);
    expect(codes(clip({ videoCodec: 'av01' }))).toEqual(['video_rules']);
    expect(codes(clip({ durationMs: 11 * 60_000 }))).toEqual(['video_rules']);
    expect(
      connector
        .validate(account, { parts: [{ text: 'x', media: [] }], options: { privacyLevel: 'SELF_ONLY' } })
        .map((i) => i.code),
    ).toEqual(['media_required']);
  });

  it('sends a draft to the creator inbox; photos need a public URL and go by URL', async () => {
    const a = fake.createAccount({ private: true });
    const connector = connectorFor(fake, { mediaUrls: { urlFor: (m) => `https://media.example/${m.sizeBytes}.jpg` } });
    const draft = await connector.publish(
      accountOf(a),
      { parts: [{ text: 'finish me', media: [clip()] }], options: { mode: 'draft' } },
      randomUUID(),
    );
    expect(draft.status).toBe('published');
    expect(fake.posts(a.openId)[0]).toMatchObject({ mode: 'inbox', status: 'SEND_TO_USER_INBOX' });
    const jpeg = { mimeType: 'image/jpeg', sizeBytes: 1234, bytes: Buffer.alloc(1234) };
    await connector.publish(accountOf(a), post('two photos', [jpeg, { ...jpeg, sizeBytes: 999 }]), randomUUID());
    expect(fake.posts(a.openId)[1]).toMatchObject({
      kind: 'photo',
      source: 'PULL_FROM_URL',
      urls: ['https://media.example/1234.jpg', 'https://media.example/999.jpg'],
    });
    const noUrls = connectorFor(fake);
    expect(
      noUrls
        .validate(accountOf(a), post('photo', [jpeg]))
        .map((i) => i.message)
        .join(' '),
    ).toMatch(/PUBLIC_URL/);
    expect(
      noUrls.validate(accountOf(a), post('png', [{ ...jpeg, mimeType: 'image/png' }])).map((i) => i.code),
    ).toContain('media_type');
  });

  it('rotating refresh tokens: the new one works, the old one no longer does', async () => {
    const a = fake.createAccount({ private: true });
    const connector = connectorFor(fake);
    const first = await connector.refresh(accountOf(a));
    expect(first.credentials.refreshToken).not.toBe(a.refreshToken);
    expect(first.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    const again = await connector.refresh(accountOf(a)).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(AuthExpired);
    expect((again as AuthExpired).reconnect).toBe(true);
    await connector.publish({ ...accountOf(a), credentials: first.credentials }, post('fresh', [clip()]), randomUUID());
  });

  it('TikTok deletes nothing through its API, and says so', async () => {
    const a = fake.createAccount({ private: true });
    const err = await connectorFor(fake)
      .delete(accountOf(a), '123')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
  });

  it('connects an account with Login Kit and keeps its creator options for schedule time', async () => {
    const { openId } = fake.createUser({ username: 'herald.creator', private: true });
    const linker = createTikTokLinker({
      clientKey: fake.clientKey,
      clientSecret: fake.clientSecret,
      redirectUri: 'http://127.0.0.1/cb',
      ...appUrls(fake.url),
    });
    const start = await linker.begin({ state: 's' });
    expect(new URL(start.authorizeUrl).searchParams.get('scope')).toContain('video.publish');
    const back = new URL(await fake.approve(start.authorizeUrl, openId));
    const linked = await linker.complete({ code: back.searchParams.get('code')!, carry: {}, secrets: start.secrets });
    expect(linked).toMatchObject({ externalId: openId, handle: 'herald.creator' });
    expect(linked.metadata.creatorInfo).toMatchObject({
      privacyLevelOptions: ['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'],
    });
    expect(linked.credentials.refreshToken).toBeTruthy();
  });
});
