/**
 * Where media bytes live. The local store keeps files under `DATA_DIR/media`, addressed by
 * their SHA-256, so the same bytes are stored once. Keys are validated so a stored key can
 * never escape the directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HeraldError } from '../errors.js';

export interface MediaStore {
  put(bytes: Buffer, extension: string): Promise<{ key: string; sha256: string; sizeBytes: number }>;
  get(key: string): Promise<Buffer>;
}

const KEY = /^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{1,8}$/;

export class LocalMediaStore implements MediaStore {
  constructor(private readonly dir: string) {}

  async put(bytes: Buffer, extension: string): Promise<{ key: string; sha256: string; sizeBytes: number }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `${sha256.slice(0, 2)}/${sha256}.${
      extension
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')
        .slice(0, 8) || 'bin'
    }`;
    const file = path.join(this.dir, key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file); // atomic: readers never see a half-written file
    return { key, sha256, sizeBytes: bytes.length };
  }

  async get(key: string): Promise<Buffer> {
    if (!KEY.test(key)) throw new HeraldError('not_found', { message: `No media stored under "${key}"` });
    try {
      return await readFile(path.join(this.dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new HeraldError('not_found', { message: `The media file ${key} is missing from storage` });
      }
      throw err;
    }
  }
}
