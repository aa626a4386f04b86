/**
 * The Pinterest connector against the local fake Pinterest (a real HTTP server on loopback):
 * the shared connector contract, then Pins from one image, a carousel of up to 5 and a video
 * (registered, uploaded streamed from disk as multipart, processed, then pinned), link, title
 * and alt text on the chosen board, a crash between the Pin call and its answer settled by
 * the board (not pinned twice), 30-day tokens refreshed, and the OAuth connect with boards.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput, PublishJournal } from '../../connectors/contract.js';
import { type TransientError } from '../../connectors/errors.js';
import { appUrls, createPinterestConnector, createPinterestLinker } from '../../connectors/pinterest/index.js';
import { startPinterestFake, type PinterestFake } from '../../connectors/pinterest/fake.js';
import { solidPng, writeLargeMp4 } from '../helpers/media-fixtures.js';
import { connectorContract } from '../contract/connector.suite.js';

let PNG: Buffer;
const image = (altText?: string): MediaInput => ({
  mimeType: 'image/png',
  sizeBytes: PNG.length,
  bytes: PNG,
  ...(altText ? { altText } : {}),
});

const accountOf = (a: ReturnType<PinterestFake['createAccount']>): AccountContext => ({
  accountId: randomUUID(),
  externalId: a.userId,
  handle: a.username,
  credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken },
  metadata: { boards: a.boards, defaultBoardId: a.boards[0]!.id },
});

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

connectorContract('Pinterest', async () => {
  PNG = await solidPng(8, 8, '#e60023');
  const fake = await startPinterestFake();
  const connector = createPinterestConnector({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    apiUrl: fake.url,
    timeoutMs: 1_000,
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
              .pins(a.userId)
              .map((p) => ({ id: p.id, text: p.description, replyToId: null, altTexts: p.altText ? [p.altText] : [] })),
          failNext: async (fault) => fake.failNext(a.userId, fault),
          expireAccessToken: async () => fake.expireAccessTokens(a.userId),
        },
      };
    },
    image: () => image(),
    requiredMedia: () => [image()],
    teardown: () => fake.close(),
  };
});

describe('Pinterest Pins', () => {
  let fake: PinterestFake;
  let dir: string;
  let mp4: string;
  const connectorWith = () =>
    createPinterestConnector({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      apiUrl: fake.url,
      timeoutMs: 1_000,
      mediaPollIntervalMs: 20,
    });
  beforeAll(async () => {
    PNG = await solidPng(8, 8, '#e60023');
    fake = await startPinterestFake({ redirectUris: ['http://127.0.0.1/cb'] });
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-pinterest-'));
    mp4 = path.join(dir, 'v.mp4');
    await writeLargeMp4(mp4, 6 * 1024 * 1024 + 77);
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pins a carousel of images with title, link and alt text to the chosen board', async () => {
    const a = fake.createAccount();
    const input: PublishInput = {
      parts: [{ text: 'Five ways', media: [image('first'), image(), image()] }],
      options: { boardId: a.boards[1]!.id, title: 'Ideas', link: 'https://example.com/post' },
    };
    const r = await connectorWith().publish(accountOf(a), input, randomUUID());
    expect(fake.pins(a.userId)).toEqual([
      expect.objectContaining({
        id: r.platformPostId,
        boardId: a.boards[1]!.id,
        title: 'Ideas',
        link: 'https://example.com/post',
        altText: 'first',
        images: 3,
        sourceType: 'multiple_image_base64',
      }),
    ]);
    expect(r.url).toBe(`https://www.pinterest.com/pin/${r.platformPostId}/`);
  });

  it('pins a video: registered, uploaded streamed from disk, processed, then pinned', async () => {
    const a = fake.createAccount();
    const { size } = await stat(mp4);
    const video: MediaInput = {
      mimeType: 'video/mp4',
      sizeBytes: size,
      get bytes(): Buffer {
        throw new Error('read whole');
      },
      video: {
        durationMs: 20_000,
        width: 1080,
        height: 1920,
        videoCodec: 'avc1',
        audioCodec: 'mp4a',
        rotation: 0,
        frameRate: 30,
      },
      open: async (range) => createReadStream(mp4, range ?? {}),
    };
    const journal = memoryJournal();
    const r = await connectorWith().publish(
      accountOf(a),
      { parts: [{ text: 'watch', media: [video] }], options: {} },
      'k',
      journal,
    );
    const [m] = fake.media(a.userId);
    expect(m!.status).toBe('succeeded');
    expect(m!.bytes).toBeGreaterThan(size);
    expect(fake.pins(a.userId)).toEqual([
      expect.objectContaining({ id: r.platformPostId, sourceType: 'video_id', mediaId: m!.mediaId }),
    ]);
    expect(journal.value).toMatchObject({ mediaId: m!.mediaId, uploaded: true, pinId: r.platformPostId });

    // The process dies after an upload reached Pinterest and before the journal said so: the
    // next attempt finds the registration holding the video and uses it, uploading nothing again.
    const b = fake.createAccount();
    const cut = memoryJournal();
    const save = cut.save;
    cut.save = async (h) => {
      if (h.uploaded) throw new Error('killed before the journal took the upload');
      await save(h);
    };
    const input = { parts: [{ text: 'watch again', media: [video] }], options: {} };
    await expect(connectorWith().publish(accountOf(b), input, 'k2', cut)).rejects.toThrow(/killed/);
    expect(fake.media(b.userId)).toHaveLength(1);
    cut.save = save;
    const again = await connectorWith().publish(accountOf(b), input, 'k2', cut);
    expect(fake.media(b.userId)).toHaveLength(1);
    expect(fake.pins(b.userId)).toEqual([
      expect.objectContaining({ id: again.platformPostId, mediaId: fake.media(b.userId)[0]!.mediaId }),
    ]);
  });

  it("the Pin call's answer never comes: the board settles it, and a retry does not pin twice", async () => {
    const a = fake.createAccount();
    const journal = memoryJournal();
    const input: PublishInput = { parts: [{ text: 'once only', media: [image()] }], options: {} };
    fake.failNext(a.userId, 'timeout_after_apply');
    const err = await connectorWith()
      .publish(accountOf(a), input, 'k', journal)
      .catch((e: unknown) => e);
    expect((err as TransientError).mayHaveSucceeded).toBe(true);
    const found = await connectorWith().lookup(accountOf(a), input, 'k', new Date(Date.now() - 60_000), journal);
    expect(found?.platformPostId).toBe(fake.pins(a.userId)[0]!.id);
    expect((await connectorWith().publish(accountOf(a), input, 'k', journal)).platformPostId).toBe(
      found!.platformPostId,
    );
    expect(fake.pins(a.userId)).toHaveLength(1);
  });

  it('validates at schedule time: a board, at most 5 images, a video alone, 4 s to 15 minutes', () => {
    const a = fake.createAccount();
    const account = { ...accountOf(a), metadata: { boards: a.boards } };
    const codes = (media: MediaInput[], options: Record<string, unknown> = {}) =>
      createPinterestConnector({ clientId: 'c', clientSecret: 's' })
        .validate(account, { parts: [{ text: 'x', media }], options })
        .map((i) => i.code);
    expect(codes([image()])).toEqual(['option_invalid']);
    expect(codes([image()], { boardId: 'nope' })).toEqual(['option_invalid']);
    const board = { boardId: a.boards[0]!.id };
    expect(
      codes(
        Array.from({ length: 6 }, () => image()),
        board,
      ),
    ).toEqual(['too_many_media']);
    const clip = (durationMs: number): MediaInput => ({
      mimeType: 'video/mp4',
      sizeBytes: 10,
      bytes: Buffer.alloc(10),
      video: { durationMs, width: 720, height: 1280, videoCodec: 'avc1', audioCodec: null, rotation: 0, frameRate: 30 },
    });
    expect(codes([clip(2_000)], board)).toEqual(['video_rules']);
    expect(codes([clip(10_000), image()], board)).toEqual(['too_many_media']);
    expect(codes([], board)).toEqual(['media_required']);
  });

  it('refreshes a 30-day token', async () => {
    const a = fake.createAccount();
    const r = await connectorWith().refresh(accountOf(a));
    expect(r.expiresAt!.getTime() - Date.now()).toBeGreaterThan(29 * 86_400_000);
    expect(r.credentials.refreshToken).toBe(a.refreshToken);
  });

  it('connects an account with OAuth and keeps its boards, the first as default', async () => {
    const { userId } = fake.createUser({ username: 'herald.pins', boards: ['Launch', 'Later'] });
    const linker = createPinterestLinker({
      clientId: fake.clientId,
      clientSecret: fake.clientSecret,
      redirectUri: 'http://127.0.0.1/cb',
      ...appUrls(fake.url),
    });
    const start = await linker.begin({ state: 's' });
    const back = new URL(await fake.approve(start.authorizeUrl, userId));
    const linked = await linker.complete({ code: back.searchParams.get('code')!, carry: {}, secrets: {} });
    expect(linked.handle).toBe('herald.pins');
    expect((linked.metadata.boards as Array<{ name: string }>).map((b) => b.name)).toEqual(['Launch', 'Later']);
    expect(linked.metadata.defaultBoardId).toBe((linked.metadata.boards as Array<{ id: string }>)[0]!.id);
  });
});
