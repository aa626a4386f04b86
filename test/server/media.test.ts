/**
 * The media routes on a real API (loopback, PGlite, Redis): multipart uploads, the type read
 * from the bytes, the size limit, serving content safely, roles, workspace scoping, delete
 * refused while a post uses the media, and the same routes over an S3 bucket.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMediaStore,
  createPost,
  LocalMediaStore,
  transitionTarget,
  upsertSocialAccount,
  type MediaStore,
} from '../../core/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';
import { isoBmffVideo, sidewaysPhoto, solidPng } from '../helpers/media-fixtures.js';
import { fileField, upload } from '../helpers/media-upload.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

const LIMIT = 256 * 1024;

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('media routes (local disk)', () => {
  let api: ApiEnv;
  let storeDir: string;
  beforeAll(async () => {
    storeDir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-api-'));
    api = await startApiEnv({ limits: { mediaMaxBytes: LIMIT }, mediaStore: new LocalMediaStore(storeDir) });
  });
  afterAll(async () => {
    await api?.close();
    await rm(storeDir, { recursive: true, force: true });
  });

  it('uploads a phone photo over HTTP and serves it back upright, typed, nosniff, with a safe file name', async () => {
    const p = await api.signUp();
    const body = new FormData();
    body.append('file', new Blob([await sidewaysPhoto()], { type: 'image/jpeg' }), '../../etc/"evil".jpg');
    body.append('altText', 'Red over blue');
    const res = await fetch(`${api.baseUrl}/v1/media`, { method: 'POST', headers: p.auth, body });
    expect(res.status).toBe(201);
    const media = (await res.json()) as { id: string; sizeBytes: number };
    expect(media).toMatchObject({
      kind: 'image',
      mimeType: 'image/jpeg',
      width: 20,
      height: 40,
      altText: 'Red over blue',
    });
    expect(media).not.toHaveProperty('storageKey');

    const content = await fetch(`${api.baseUrl}/v1/media/${media.id}/content`, { headers: p.auth });
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toBe('image/jpeg');
    expect(content.headers.get('x-content-type-options')).toBe('nosniff');
    expect(content.headers.get('content-disposition')).toBe(`inline; filename="${media.id}.jpg"`);
    expect(content.headers.get('content-length')).toBe(String(media.sizeBytes));
    const bytes = Buffer.from(await content.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 20, height: 40 });
    expect(meta.exif).toBeUndefined();

    const one = await api.app.inject({ method: 'GET', url: `/v1/media/${media.id}`, headers: p.auth });
    expect(one.json()).toEqual(media);
  });

  it('serves byte ranges and revalidates with the ETag', async () => {
    const p = await api.signUp();
    const video = isoBmffVideo();
    const created = await upload(api, p, [fileField(video, 'clip.mp4', 'video/mp4')]);
    expect(created.statusCode).toBe(201);
    const { id, sizeBytes } = created.json();
    const url = `/v1/media/${id}/content`;
    const part = await api.app.inject({ method: 'GET', url, headers: { ...p.auth, range: 'bytes=4-11' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 4-11/${sizeBytes}`);
    expect(part.rawPayload.toString('latin1')).toBe('ftypisom');
    const tail = await api.app.inject({ method: 'GET', url, headers: { ...p.auth, range: 'bytes=-16' } });
    expect(tail.statusCode).toBe(206);
    expect(tail.rawPayload).toEqual(Buffer.alloc(16, 0x42));
    const beyond = await api.app.inject({ method: 'GET', url, headers: { ...p.auth, range: `bytes=${sizeBytes}-` } });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.json().error.code).toBe('range_not_satisfiable');
    expect(beyond.headers['content-range']).toBe(`bytes */${sizeBytes}`);
    const full = await api.app.inject({ method: 'GET', url, headers: p.auth });
    const again = await api.app.inject({
      method: 'GET',
      url,
      headers: { ...p.auth, 'if-none-match': String(full.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it('takes alt text before or after the file; the same bytes again answer 200 with the same record', async () => {
    const p = await api.signUp();
    const png = await solidPng(12, 12, '#224466');
    const first = await upload(api, p, [fileField(png, 'a.png', 'image/png'), { name: 'altText', value: 'Navy tile' }]);
    expect(first.statusCode).toBe(201);
    expect(first.json().altText).toBe('Navy tile');
    const second = await upload(api, p, [{ name: 'altText', value: 'other' }, fileField(png, 'b.png', 'image/png')]);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
  });

  it('the bytes decide the type: a fake image and a text file renamed .png are 415', async () => {
    const p = await api.signUp();
    const pdf = await upload(api, p, [fileField(Buffer.from('%PDF-1.4\n%%EOF\n'.repeat(8)), 'photo.png', 'image/png')]);
    expect(pdf.statusCode).toBe(415);
    expect(pdf.json().error).toMatchObject({
      code: 'unsupported_media_type',
      details: { detected: 'application/pdf' },
    });
    const text = await upload(api, p, [fileField(Buffer.from('hello, world\n'.repeat(40)), 'photo.png', 'image/png')]);
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toMatchObject({ code: 'unsupported_media_type', details: { detected: null } });
    const list = await api.app.inject({ method: 'GET', url: '/v1/media', headers: p.auth });
    expect(list.json()).toEqual({ items: [], nextCursor: null });
  });

  it('an upload over MEDIA_MAX_BYTES is 413 and nothing is stored', async () => {
    const p = await api.signUp();
    const before = await files(storeDir);
    const big = Buffer.concat([(await solidPng(4, 4)).subarray(0, 33), Buffer.alloc(LIMIT, 7)]);
    const res = await upload(api, p, [fileField(big, 'big.png', 'image/png')]);
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'payload_too_large', details: { limitBytes: LIMIT } });
    expect(await files(storeDir)).toEqual(before);
    const list = await api.app.inject({ method: 'GET', url: '/v1/media', headers: p.auth });
    expect(list.json().items).toEqual([]);
  });

  it('a POST that is not multipart is 415; a form without exactly one "file" is 400', async () => {
    const p = await api.signUp();
    const json = await api.app.inject({ method: 'POST', url: '/v1/media', headers: p.auth, payload: { file: 'x' } });
    expect(json.statusCode).toBe(415);
    expect(json.json().error.code).toBe('unsupported_media_type');
    const raw = await api.app.inject({
      method: 'POST',
      url: '/v1/media',
      headers: { ...p.auth, 'content-type': 'image/png' },
      payload: await solidPng(3, 3),
    });
    expect(raw.statusCode).toBe(415);
    const png = await solidPng(3, 3);
    for (const parts of [
      [{ name: 'altText', value: 'no file' }],
      [fileField(png, 'a.png'), fileField(png, 'b.png')],
      [{ ...fileField(png), name: 'image' }],
      [fileField(png), { name: 'caption', value: 'x' }],
    ]) {
      const res = await upload(api, p, parts);
      expect(res.statusCode, JSON.stringify(parts.map((x) => x.name))).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
  });

  it('a viewer reads the library but cannot upload (403), change or delete', async () => {
    const owner = await api.signUp();
    const created = await upload(api, owner, [fileField(await solidPng(8, 8, '#808000'))]);
    const inv = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: owner.auth,
      payload: { email: `${randomUUID()}@example.com`, role: 'viewer' },
    });
    const viewer = await api.signUp({ invitationToken: inv.json().token });
    const denied = await upload(api, viewer, [fileField(await solidPng(8, 8, '#008080'))]);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toMatchObject({ code: 'forbidden', details: { required: 'editor' } });
    const id = created.json().id;
    for (const req of [
      { method: 'PATCH' as const, url: `/v1/media/${id}`, payload: { altText: 'x' } },
      { method: 'DELETE' as const, url: `/v1/media/${id}` },
    ]) {
      expect((await api.app.inject({ ...req, headers: viewer.auth })).statusCode).toBe(403);
    }
    const list = await api.app.inject({ method: 'GET', url: '/v1/media', headers: viewer.auth });
    expect(list.json().items.map((m: { id: string }) => m.id)).toEqual([id]);
    expect(
      (await api.app.inject({ method: 'GET', url: `/v1/media/${id}/content`, headers: viewer.auth })).statusCode,
    ).toBe(200);
  });

  it("another workspace's media is 404 on every media route", async () => {
    const owner = await api.signUp();
    const stranger = await api.signUp();
    const id = (await upload(api, owner, [fileField(await solidPng(9, 9, '#ff00ff'))])).json().id;
    const requests = [
      { method: 'GET' as const, url: `/v1/media/${id}` },
      { method: 'GET' as const, url: `/v1/media/${id}/content` },
      { method: 'HEAD' as const, url: `/v1/media/${id}/content` },
      { method: 'PATCH' as const, url: `/v1/media/${id}`, payload: { altText: 'mine' } },
      { method: 'DELETE' as const, url: `/v1/media/${id}` },
    ];
    for (const req of requests) {
      const res = await api.app.inject({ ...req, headers: stranger.auth });
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(404);
      if (req.method !== 'HEAD') expect(res.json().error.code).toBe('not_found');
    }
    const still = await api.app.inject({ method: 'GET', url: `/v1/media/${id}`, headers: owner.auth });
    expect(still.json()).toMatchObject({ id, altText: null });
  });

  it('PATCH sets and clears alt text; lists page by cursor', async () => {
    const p = await api.signUp();
    const ids: string[] = [];
    for (const colour of ['#111111', '#222222', '#333333']) {
      ids.push((await upload(api, p, [fileField(await solidPng(4, 4, colour))])).json().id);
    }
    const patched = await api.app.inject({
      method: 'PATCH',
      url: `/v1/media/${ids[0]}`,
      headers: p.auth,
      payload: { altText: 'Darkest' },
    });
    expect(patched.json().altText).toBe('Darkest');
    const cleared = await api.app.inject({
      method: 'PATCH',
      url: `/v1/media/${ids[0]}`,
      headers: p.auth,
      payload: { altText: null },
    });
    expect(cleared.json().altText).toBeNull();
    const page1 = (await api.app.inject({ method: 'GET', url: '/v1/media?limit=2', headers: p.auth })).json();
    const page2 = (
      await api.app.inject({ method: 'GET', url: `/v1/media?limit=2&cursor=${page1.nextCursor}`, headers: p.auth })
    ).json();
    expect([...page1.items, ...page2.items].map((m: { id: string }) => m.id)).toEqual([...ids].reverse());
    expect(page2.nextCursor).toBeNull();
  });

  it('DELETE is refused (409) while a scheduled post uses the media, and works once it is cancelled', async () => {
    const p = await api.signUp();
    const id = (await upload(api, p, [fileField(await solidPng(10, 10, '#00aa00'))])).json().id;
    const db = api.env.database.db;
    const account = await upsertSocialAccount(db, api.env.cipher, p.workspaceId, {
      platform: 'bluesky',
      externalId: `did:plc:${randomUUID()}`,
      handle: 'media.test',
      credentials: { accessJwt: 'a' },
    });
    const { targets } = await createPost(db, p.workspaceId, {
      content: 'green',
      targets: [
        {
          socialAccountId: account.id,
          platform: 'bluesky',
          content: 'green',
          media: [{ mediaId: id }],
          status: 'scheduled',
          scheduledAt: new Date(Date.now() + 86_400_000),
        },
      ],
    });
    const refused = await api.app.inject({ method: 'DELETE', url: `/v1/media/${id}`, headers: p.auth });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'media_in_use',
      details: { targets: [{ targetId: targets[0]!.id, status: 'scheduled' }] },
    });
    await transitionTarget(db, p.workspaceId, targets[0]!.id, ['scheduled'], 'cancelled');
    expect((await api.app.inject({ method: 'DELETE', url: `/v1/media/${id}`, headers: p.auth })).statusCode).toBe(204);
    expect((await api.app.inject({ method: 'GET', url: `/v1/media/${id}`, headers: p.auth })).statusCode).toBe(404);
  });
});

describe('media routes (S3 bucket)', () => {
  let s3: S3TestServer;
  let store: MediaStore;
  let api: ApiEnv;
  beforeAll(async () => {
    s3 = await startS3Server('herald-api-media');
    store = await createMediaStore({ dataDir: '/nonexistent', s3: s3.config });
    api = await startApiEnv({ limits: { mediaMaxBytes: LIMIT }, mediaStore: store });
  });
  afterAll(async () => {
    await api?.close();
    store?.close?.();
    await s3?.close();
  });

  it('uploads into the bucket, serves from it, and deletes from it', async () => {
    const p = await api.signUp();
    const png = await solidPng(16, 9, '#cc3300');
    const created = await upload(api, p, [fileField(png, 'tile.png', 'image/png')]);
    expect(created.statusCode).toBe(201);
    const { id, sha256, sizeBytes } = created.json();
    const objectDir = path.join(s3.directory, 'herald-api-media', sha256.slice(0, 2));
    expect(await readdir(objectDir)).toContain(`${sha256}.png._S3rver_object`);

    const content = await api.app.inject({ method: 'GET', url: `/v1/media/${id}/content`, headers: p.auth });
    expect(content.statusCode).toBe(200);
    expect(content.headers['content-type']).toBe('image/png');
    expect(content.rawPayload.length).toBe(sizeBytes);
    expect((await sharp(content.rawPayload).metadata()).width).toBe(16);
    const ranged = await api.app.inject({
      method: 'GET',
      url: `/v1/media/${id}/content`,
      headers: { ...p.auth, range: 'bytes=1-3' },
    });
    expect(ranged.rawPayload.toString('latin1')).toBe('PNG');

    expect((await api.app.inject({ method: 'DELETE', url: `/v1/media/${id}`, headers: p.auth })).statusCode).toBe(204);
    expect(await readdir(objectDir).catch(() => [])).not.toContain(`${sha256}.png._S3rver_object`);
  });
});
