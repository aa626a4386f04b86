import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaStore, isHeraldError, loadConfig, LocalMediaStore, redactedConfig } from '../../core/index.js';
import { S3MediaStore } from '../../core/storage/s3-media-store.js';
import { mediaStoreContract } from '../contract/media-store.suite.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';

mediaStoreContract('local disk', {
  open: async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-'));
    return { store: new LocalMediaStore(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
  },
});

mediaStoreContract('S3 (s3rver)', {
  open: async () => {
    const server = await startS3Server();
    const store = await createMediaStore({ dataDir: '/nonexistent', s3: server.config });
    return {
      store,
      dispose: async () => {
        store.close?.();
        await server.close();
      },
    };
  },
});

describe('S3 media store', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server('herald-s3-only');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is what the factory builds when a bucket is configured, and keeps the content type on the object', async () => {
    const store = await createMediaStore({ dataDir: '/nonexistent', s3: server.config });
    expect(store).toBeInstanceOf(S3MediaStore);
    const { key } = await store.put(Buffer.from('GIF89a...'), { extension: 'gif', contentType: 'image/gif' });
    const head = await (store as S3MediaStore).client.send(
      new HeadObjectCommand({ Bucket: server.config.bucket, Key: key }),
    );
    expect(head.ContentType).toBe('image/gif');
    // s3rver keeps objects as files: the bytes really are in the bucket, under the key.
    expect(await readdir(path.join(server.directory, server.config.bucket, key.slice(0, 2)))).toContain(
      `${key.slice(3)}._S3rver_object`,
    );
    store.close?.();
  });

  it('a bucket that does not answer is storage_unavailable, naming neither key nor secret', async () => {
    const store = new S3MediaStore({ ...server.config, endpoint: 'http://127.0.0.1:1', secretAccessKey: 'TOPSECRET' });
    const err = await store.put(Buffer.from('x'), { extension: 'png', contentType: 'image/png' }).catch((e) => e);
    expect(isHeraldError(err, 'storage_unavailable')).toBe(true);
    expect(err.status).toBe(503);
    expect(JSON.stringify(err.toJSON())).not.toMatch(/TOPSECRET|S3RVER/);
    store.close();
  });

  it('without a bucket the factory keeps media on local disk, under DATA_DIR/media', async () => {
    const store = await createMediaStore({ dataDir: '/srv/herald', s3: undefined });
    expect(store).toBeInstanceOf(LocalMediaStore);
  });
});

describe('S3 configuration', () => {
  const base = { readDotenv: false } as const;

  it('S3_* variables become config.s3; unset, media stay on local disk', () => {
    expect(loadConfig({ ...base, env: {} }).s3).toBeUndefined();
    const config = loadConfig({
      ...base,
      env: {
        S3_BUCKET: 'herald-media',
        S3_ENDPOINT: 'http://minio:9000',
        S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG',
        S3_FORCE_PATH_STYLE: 'true',
      },
    });
    expect(config.s3).toEqual({
      bucket: 'herald-media',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG',
      forcePathStyle: true,
    });
    expect(JSON.stringify(redactedConfig(config))).not.toContain('wJalrXUtnFEMI');
  });

  it('S3 settings without a bucket, or a key id without its secret, stop start-up', () => {
    expect(() => loadConfig({ ...base, env: { S3_ENDPOINT: 'http://minio:9000' } })).toThrow(/S3_BUCKET: unset/);
    expect(() => loadConfig({ ...base, env: { S3_BUCKET: 'herald-media', S3_ACCESS_KEY_ID: 'AKID' } })).toThrow(
      /S3_SECRET_ACCESS_KEY: unset/,
    );
    expect(() => loadConfig({ ...base, env: { S3_BUCKET: 'Not_A_Bucket' } })).toThrow(/S3_BUCKET/);
  });
});
