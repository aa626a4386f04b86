/**
 * The media service on PGlite with a local store: type sniffing, the size limit while
 * streaming, image normalisation, video metadata, dedupe, shared bytes across workspaces,
 * delete refused while a post can still publish, roles and the audit trail.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { getDefaultHighWaterMark, Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  createPost,
  createUser,
  createWorkspace,
  getMedia,
  HeraldError,
  listAudit,
  LocalMediaStore,
  openDatabase,
  SecretCipher,
  transitionTarget,
  upsertSocialAccount,
  type Database,
  type Role,
} from '../../core/index.js';
import {
  deleteMediaRecord,
  getMediaRecord,
  listMediaRecords,
  MAX_IMAGE_EDGE,
  openMediaContent,
  updateMediaAltText,
  uploadMedia,
  type MediaContext,
  type MediaDeps,
} from '../../tools/media/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import {
  animatedGif,
  isoBmffVideo,
  LOCATION_ISO6709,
  sidewaysPhoto,
  solidPng,
  webmHeader,
} from '../helpers/media-fixtures.js';

const MAX_BYTES = 200_000;
let database: Database;
let deps: MediaDeps;
let storeDir: string;
let stagingDir: string;
const cipher = new SecretCipher(new Map([['t1', randomBytes(32)]]), 't1');

beforeAll(async () => {
  database = await openDatabase({ kind: 'pglite' });
  storeDir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-store-'));
  stagingDir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-staging-'));
  deps = { db: database.db, store: new LocalMediaStore(storeDir), maxBytes: MAX_BYTES, stagingDir };
});
afterAll(async () => {
  await database?.close();
  await rm(storeDir, { recursive: true, force: true });
  await rm(stagingDir, { recursive: true, force: true });
});

async function workspace(role: Role = 'owner', db = database.db): Promise<MediaContext> {
  const ws = await createWorkspace(db, { name: 'Media', slug: `m-${randomUUID().slice(0, 12)}` });
  const user = await createUser(db, { email: `${randomUUID()}@example.com` });
  await addMember(db, ws.id, user.id, role);
  return { workspaceId: ws.id, userId: user.id, role, channel: 'test' };
}

async function storedFiles(): Promise<string[]> {
  const entries = await readdir(storeDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

const code = (c: string) => (err: unknown) => err instanceof HeraldError && err.code === c;

describe('what is accepted', () => {
  it('a file whose bytes are another type is refused whatever its name and declared type', async () => {
    const ctx = await workspace();
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');
    const err = await uploadMedia(deps, ctx, { data: pdf, filename: 'cat.png', declaredType: 'image/png' }).catch(
      (e: HeraldError) => e,
    );
    expect(err).toBeInstanceOf(HeraldError);
    expect(err).toMatchObject({ code: 'unsupported_media_type', status: 415 });
    expect((err as HeraldError).details).toMatchObject({ detected: 'application/pdf' });
  });

  it('a text file renamed .png is refused as an unknown type', async () => {
    const ctx = await workspace();
    const err = await uploadMedia(deps, ctx, {
      data: Buffer.from('just some words, not a picture\n'.repeat(20)),
      filename: 'notes.png',
      declaredType: 'image/png',
    }).catch((e: HeraldError) => e);
    expect(err).toMatchObject({ code: 'unsupported_media_type', status: 415, details: { detected: null } });
  });

  it('a PNG or JPEG cut off halfway is media_invalid, and nothing is kept', async () => {
    const ctx = await workspace();
    const raw = { raw: { width: 64, height: 64, channels: 3 } } as const;
    for (const whole of [
      await sharp(randomBytes(64 * 64 * 3), raw)
        .png()
        .toBuffer(),
      await sharp(randomBytes(64 * 64 * 3), raw)
        .jpeg()
        .toBuffer(),
    ]) {
      const err = await uploadMedia(deps, ctx, { data: whole.subarray(0, whole.length >> 1) }).catch((e) => e);
      expect(err).toMatchObject({ code: 'media_invalid', status: 422 });
    }
    expect(await readdir(stagingDir)).toEqual([]);
    expect((await listMediaRecords(deps, ctx, { limit: 10 })).items).toEqual([]);
  });

  it('an empty file is media_invalid', async () => {
    await expect(uploadMedia(deps, await workspace(), { data: Buffer.alloc(0) })).rejects.toSatisfy(
      code('media_invalid'),
    );
  });
});

describe('the size limit', () => {
  it('stops reading a stream as soon as it passes the limit: 413, no row, no stored bytes, no temp file', async () => {
    const ctx = await workspace();
    const before = await storedFiles();
    let pulled = 0;
    // A PNG that never ends: the service must give up, not read it all.
    const endless = Readable.from(
      (async function* () {
        yield (await solidPng(4, 4)).subarray(0, 33);
        for (;;) {
          pulled += 16_384;
          yield Buffer.alloc(16_384, 1);
        }
      })(),
    );
    const err = await uploadMedia(deps, ctx, { data: endless, filename: 'huge.png' }).catch((e: HeraldError) => e);
    expect(err).toMatchObject({ code: 'payload_too_large', status: 413, details: { limitBytes: MAX_BYTES } });
    // Read-ahead is a few stream buffers: 16 KiB each on Node 20, 64 KiB from Node 22 on.
    expect(pulled).toBeLessThan(MAX_BYTES + 3 * Math.max(16_384, getDefaultHighWaterMark(false)));
    expect((await listMediaRecords(deps, ctx, { limit: 10 })).items).toEqual([]);
    expect(await storedFiles()).toEqual(before);
    expect(await readdir(stagingDir)).toEqual([]);
  });

  it('a buffer over the limit is refused before anything is written', async () => {
    const ctx = await workspace();
    await expect(uploadMedia(deps, ctx, { data: Buffer.alloc(MAX_BYTES + 1) })).rejects.toSatisfy(
      code('payload_too_large'),
    );
    expect(await readdir(stagingDir)).toEqual([]);
  });
});

describe('images', () => {
  it('a sideways phone photo comes back upright with no EXIF, GPS or camera data', async () => {
    const ctx = await workspace();
    const photo = await sidewaysPhoto();
    const before = await sharp(photo).metadata();
    expect(before).toMatchObject({ width: 40, height: 20, orientation: 6 });
    expect(before.exif?.includes('HeraldTestCam')).toBe(true);
    expect(before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer tag

    const { media, created } = await uploadMedia(deps, ctx, { data: photo, declaredType: 'image/jpeg' });
    expect(created).toBe(true);
    expect(media).toMatchObject({ kind: 'image', mimeType: 'image/jpeg', width: 20, height: 40 });

    const row = await getMedia(database.db, ctx.workspaceId, media.id);
    const stored = await deps.store.get(row!.storageKey);
    expect(stored.length).toBe(media.sizeBytes);
    const after = await sharp(stored).metadata();
    expect(after).toMatchObject({ format: 'jpeg', width: 20, height: 40 });
    expect(after.orientation).toBeUndefined();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.iptc).toBeUndefined();
    expect(stored.includes('HeraldTestCam')).toBe(false);
    // Turned 90° clockwise: the red half is now on top, the blue half at the bottom.
    const { data, info } = await sharp(stored).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    expect(px(10, 5)[0]).toBeGreaterThan(200);
    expect(px(10, 5)[2]).toBeLessThan(60);
    expect(px(10, 35)[2]).toBeGreaterThan(200);
    expect(px(10, 35)[0]).toBeLessThan(60);
  });

  it(`a large PNG is scaled to a ${MAX_IMAGE_EDGE} px long edge and stays a PNG; a small one is never enlarged`, async () => {
    const ctx = await workspace();
    const big = await uploadMedia(deps, ctx, { data: await solidPng(6000, 1500) });
    expect(big.media).toMatchObject({ mimeType: 'image/png', width: MAX_IMAGE_EDGE, height: 1024 });
    const small = await uploadMedia(deps, ctx, { data: await solidPng(30, 12, '#ffcc00') });
    expect(small.media).toMatchObject({ width: 30, height: 12 });
  });

  it('an animated GIF keeps its frames and their timing', async () => {
    const ctx = await workspace();
    const { media } = await uploadMedia(deps, ctx, { data: await animatedGif() });
    expect(media).toMatchObject({ mimeType: 'image/gif', width: 10, height: 10 });
    const row = await getMedia(database.db, ctx.workspaceId, media.id);
    const meta = await sharp(await deps.store.get(row!.storageKey), { animated: true }).metadata();
    expect(meta.pages).toBe(2);
    expect(meta.delay).toEqual([100, 200]);
  });
});

describe('videos', () => {
  it('MP4: size (turned by the rotation matrix) and duration are read; the location box is blanked', async () => {
    const ctx = await workspace();
    const video = isoBmffVideo({ width: 1920, height: 1080, durationMs: 4500, rotate90: true });
    expect(video.includes(LOCATION_ISO6709)).toBe(true);
    const { media } = await uploadMedia(deps, ctx, { data: video, declaredType: 'application/octet-stream' });
    expect(media).toMatchObject({
      kind: 'video',
      mimeType: 'video/mp4',
      width: 1080,
      height: 1920,
      durationMs: 4500,
      sizeBytes: video.length,
    });
    const row = await getMedia(database.db, ctx.workspaceId, media.id);
    const stored = await deps.store.get(row!.storageKey);
    expect(stored.length).toBe(video.length); // offsets unchanged
    expect(stored.includes('udta')).toBe(false);
    expect(stored.includes('\u00a9xyz', 0, 'latin1')).toBe(true); // still there, but inside a `free` box
    expect(stored.includes('moov')).toBe(true);
    expect(row!.storageKey.endsWith('.mp4')).toBe(true);
  });

  it('QuickTime and WebM are recognised by their bytes', async () => {
    const ctx = await workspace();
    const mov = await uploadMedia(deps, ctx, { data: isoBmffVideo({ brand: 'qt  ' }), filename: 'clip.mp4' });
    expect(mov.media).toMatchObject({ mimeType: 'video/quicktime', width: 1920, height: 1080 });
    const webm = await uploadMedia(deps, ctx, { data: webmHeader(), filename: 'clip.mov' });
    expect(webm.media).toMatchObject({ mimeType: 'video/webm', width: null, height: null, durationMs: null });
  });

  it('an MP4 cut off inside a box is media_invalid', async () => {
    const video = isoBmffVideo();
    await expect(
      uploadMedia(deps, await workspace(), { data: video.subarray(0, video.length - 100) }),
    ).rejects.toSatisfy(code('media_invalid'));
  });
});

describe('dedupe and shared bytes', () => {
  it('the same bytes twice in one workspace are one record; another workspace gets its own record on the same bytes', async () => {
    const a = await workspace();
    const b = await workspace();
    const png = await solidPng(33, 17, '#123456');
    const first = await uploadMedia(deps, a, { data: png, altText: 'first' });
    const again = await uploadMedia(deps, a, { data: Readable.from([png]), altText: 'ignored' });
    expect(again).toEqual({ media: first.media, created: false });
    expect((await listMediaRecords(deps, a, { limit: 50 })).items).toHaveLength(1);

    const inB = await uploadMedia(deps, b, { data: png });
    expect(inB.created).toBe(true);
    expect(inB.media.id).not.toBe(first.media.id);
    const keyA = (await getMedia(database.db, a.workspaceId, first.media.id))!.storageKey;
    const keyB = (await getMedia(database.db, b.workspaceId, inB.media.id))!.storageKey;
    expect(keyB).toBe(keyA);

    // A's delete leaves the bytes B still uses; B's delete removes them.
    await deleteMediaRecord(deps, a, first.media.id);
    expect((await deps.store.get(keyB)).length).toBe(inB.media.sizeBytes);
    await deleteMediaRecord(deps, b, inB.media.id);
    await expect(deps.store.get(keyB)).rejects.toSatisfy(code('not_found'));
    const audit = await listAudit(database.db, b.workspaceId);
    expect(audit[0]).toMatchObject({ action: 'media.delete', details: { bytesDeleted: true } });
  });

  it('concurrent uploads of the same bytes still make one record', async () => {
    const ctx = await workspace();
    const png = await solidPng(21, 21, '#654321');
    const results = await Promise.all([1, 2, 3, 4].map(() => uploadMedia(deps, ctx, { data: png })));
    expect(new Set(results.map((r) => r.media.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});

describe('records', () => {
  it('workspace scoping: another workspace reads, changes and deletes nothing', async () => {
    const owner = await workspace();
    const other = await workspace();
    const { media } = await uploadMedia(deps, owner, { data: await solidPng(5, 5, '#aa00aa') });
    await expect(getMediaRecord(deps, other, media.id)).rejects.toSatisfy(code('not_found'));
    await expect(openMediaContent(deps, other, media.id)).rejects.toSatisfy(code('not_found'));
    await expect(updateMediaAltText(deps, other, media.id, 'mine now')).rejects.toSatisfy(code('not_found'));
    await expect(deleteMediaRecord(deps, other, media.id)).rejects.toSatisfy(code('not_found'));
    expect(await getMediaRecord(deps, owner, media.id)).toEqual(media);
  });

  it('lists newest first in stable pages', async () => {
    const ctx = await workspace();
    const ids: string[] = [];
    for (const colour of ['#010101', '#020202', '#030303', '#040404', '#050505']) {
      ids.push((await uploadMedia(deps, ctx, { data: await solidPng(6, 6, colour) })).media.id);
    }
    const one = await listMediaRecords(deps, ctx, { limit: 2 });
    const two = await listMediaRecords(deps, ctx, { limit: 2, cursor: one.nextCursor! });
    const three = await listMediaRecords(deps, ctx, { limit: 2, cursor: two.nextCursor! });
    expect([...one.items, ...two.items, ...three.items].map((m) => m.id)).toEqual(ids.reverse());
    expect(three.nextCursor).toBeNull();
    await expect(listMediaRecords(deps, ctx, { limit: 2, cursor: 'bm9wZQ' })).rejects.toSatisfy(
      code('validation_failed'),
    );
  });

  it('alt text is set, trimmed, cleared and audited', async () => {
    const ctx = await workspace();
    const { media } = await uploadMedia(deps, ctx, {
      data: await solidPng(7, 7, '#0a0a0a'),
      altText: '  A dark square ',
    });
    expect(media.altText).toBe('A dark square');
    expect((await updateMediaAltText(deps, ctx, media.id, 'Nearly black')).altText).toBe('Nearly black');
    expect((await updateMediaAltText(deps, ctx, media.id, null)).altText).toBeNull();
    await expect(updateMediaAltText(deps, ctx, media.id, 'x'.repeat(1501))).rejects.toSatisfy(
      code('validation_failed'),
    );
    const audit = await listAudit(database.db, ctx.workspaceId);
    expect(audit.map((a) => a.action)).toEqual(['media.update', 'media.update', 'media.upload']);
    expect(audit[0]).toMatchObject({
      actorId: ctx.userId,
      channel: 'test',
      subjectType: 'media',
      subjectId: media.id,
      details: { altText: { from: 'Nearly black', to: null } },
    });
  });

  it('a viewer reads but cannot upload, change or delete; nothing of a refused upload is read', async () => {
    const owner = await workspace();
    const { media } = await uploadMedia(deps, owner, { data: await solidPng(9, 9, '#909090') });
    const viewer: MediaContext = { ...owner, role: 'viewer' };
    let pulled = false;
    const body = Readable.from(
      (async function* () {
        pulled = true;
        yield Buffer.from('x');
      })(),
    );
    await expect(uploadMedia(deps, viewer, { data: body })).rejects.toSatisfy(code('forbidden'));
    expect(pulled).toBe(false);
    await expect(updateMediaAltText(deps, viewer, media.id, 'x')).rejects.toSatisfy(code('forbidden'));
    await expect(deleteMediaRecord(deps, viewer, media.id)).rejects.toSatisfy(code('forbidden'));
    expect(await getMediaRecord(deps, viewer, media.id)).toEqual(media);
  });
});

describe('deleting media a post uses', () => {
  it('is refused while a target can still publish, and allowed once it cannot', async () => {
    const ctx = await workspace();
    const { media } = await uploadMedia(deps, ctx, { data: await solidPng(11, 11, '#b0b0b0') });
    const account = await upsertSocialAccount(database.db, cipher, ctx.workspaceId, {
      platform: 'bluesky',
      externalId: `did:plc:${randomUUID()}`,
      handle: 'media.test',
      credentials: { accessJwt: 'a' },
    });
    const { targets } = await createPost(database.db, ctx.workspaceId, {
      content: 'with a picture',
      targets: [
        {
          socialAccountId: account.id,
          platform: 'bluesky',
          content: 'with a picture',
          media: [{ mediaId: media.id, altText: 'grey' }],
          status: 'scheduled',
          scheduledAt: new Date(Date.now() + 3600_000),
        },
      ],
    });
    const err = await deleteMediaRecord(deps, ctx, media.id).catch((e: HeraldError) => e);
    expect(err).toMatchObject({ code: 'media_in_use', status: 409 });
    expect((err as HeraldError).details).toEqual({
      targets: [{ targetId: targets[0]!.id, postId: targets[0]!.postId, status: 'scheduled' }],
    });
    expect(await getMediaRecord(deps, ctx, media.id)).toEqual(media);

    await transitionTarget(database.db, ctx.workspaceId, targets[0]!.id, ['scheduled'], 'cancelled');
    await deleteMediaRecord(deps, ctx, media.id);
    await expect(getMediaRecord(deps, ctx, media.id)).rejects.toSatisfy(code('not_found'));
  });
});

// PGlite runs one transaction at a time; the content lock only shows its worth on a server.
describe.runIf(!!TEST_DATABASE_URL)('on PostgreSQL, with uploads and deletes racing', () => {
  let pgDb: Database;
  let pgDeps: MediaDeps;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ database: pgDb, dispose } = await openPostgresForTest(TEST_DATABASE_URL!));
    pgDeps = { ...deps, db: pgDb.db };
  });
  afterAll(() => dispose?.());

  it('concurrent uploads of the same bytes make one record', async () => {
    const ctx = await workspace('owner', pgDb.db);
    const png = await solidPng(23, 23, '#13579b');
    const results = await Promise.all(Array.from({ length: 6 }, () => uploadMedia(pgDeps, ctx, { data: png })));
    expect(new Set(results.map((r) => r.media.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('a delete racing uploads of the same bytes elsewhere never leaves a record without its bytes', async () => {
    const png = await solidPng(25, 25, '#2468ac');
    for (let round = 0; round < 8; round++) {
      const owner = await workspace('owner', pgDb.db);
      const others = await Promise.all([1, 2, 3].map(() => workspace('owner', pgDb.db)));
      const { media } = await uploadMedia(pgDeps, owner, { data: png });
      await Promise.all([
        deleteMediaRecord(pgDeps, owner, media.id),
        ...others.map((ctx) => uploadMedia(pgDeps, ctx, { data: png })),
      ]);
      for (const ctx of others) {
        const [item] = (await listMediaRecords(pgDeps, ctx, { limit: 1 })).items;
        const row = await getMedia(pgDb.db, ctx.workspaceId, item!.id);
        expect((await pgDeps.store.get(row!.storageKey)).length).toBe(row!.sizeBytes);
        await deleteMediaRecord(pgDeps, ctx, item!.id);
      }
    }
  });
});
