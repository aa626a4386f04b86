/**
 * The media store contract: every backend (local disk, S3-compatible) runs these same tests
 * through a few-line initializer. They pin down content addressing, whole and ranged reads,
 * idempotent puts and deletes, and that a bad or missing key is `not_found`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeraldError, type MediaStore } from '../../core/index.js';

export interface MediaStoreBackend {
  open(): Promise<{ store: MediaStore; dispose(): Promise<void> }>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const notFound = (err: unknown) => isHeraldError(err, 'not_found');

export function mediaStoreContract(name: string, backend: MediaStoreBackend): void {
  describe(`media store contract: ${name}`, () => {
    let store: MediaStore;
    let dispose: () => Promise<void>;
    let tmp: string;
    beforeAll(async () => {
      ({ store, dispose } = await backend.open());
      tmp = await mkdtemp(path.join(os.tmpdir(), 'herald-store-suite-'));
    });
    afterAll(async () => {
      await dispose?.();
      await rm(tmp, { recursive: true, force: true });
    });

    it('stores bytes under their SHA-256 and gives them back whole', async () => {
      const bytes = Buffer.from(`media ${name} ${Date.now()} ${Math.random()}`);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const stored = await store.put(bytes, { extension: 'PNG', contentType: 'image/png' });
      expect(stored).toEqual({ key: `${sha256.slice(0, 2)}/${sha256}.png`, sha256, sizeBytes: bytes.length });
      expect(await store.get(stored.key)).toEqual(bytes);
      expect(await readAll(await store.open(stored.key))).toEqual(bytes);
    });

    it('storing the same bytes again, from memory or from a file, lands on the same key', async () => {
      const bytes = Buffer.alloc(300_000, 7);
      const a = await store.put(bytes, { extension: 'mp4', contentType: 'video/mp4' });
      const file = path.join(tmp, 'same.bin');
      await writeFile(file, bytes);
      const b = await store.put({ file }, { extension: 'mp4', contentType: 'video/mp4' });
      expect(b).toEqual(a);
      expect((await store.get(a.key)).equals(bytes)).toBe(true);
    });

    it('reads one byte range', async () => {
      const bytes = Buffer.from('0123456789abcdefghij');
      const { key } = await store.put(bytes, { extension: 'webm', contentType: 'video/webm' });
      expect((await readAll(await store.open(key, { start: 3, end: 7 }))).toString()).toBe('34567');
      expect((await readAll(await store.open(key, { start: 15, end: 19 }))).toString()).toBe('fghij');
    });

    it('deletes; deleting again is fine; reading a deleted key is not_found', async () => {
      const { key } = await store.put(Buffer.from(`to delete ${Math.random()}`), {
        extension: 'gif',
        contentType: 'image/gif',
      });
      await store.delete(key);
      await store.delete(key);
      await expect(store.get(key)).rejects.toSatisfy(notFound);
      await expect(store.open(key)).rejects.toSatisfy(notFound);
    });

    it('refuses keys it could not have made, without touching storage', async () => {
      for (const key of ['../../etc/passwd', 'ab/../../x.png', '/abs/path.png', 'ab/not-a-hash.png', '']) {
        await expect(store.get(key)).rejects.toSatisfy(notFound);
        await expect(store.open(key)).rejects.toSatisfy(notFound);
        await expect(store.delete(key)).rejects.toSatisfy(notFound);
      }
    });
  });
}
