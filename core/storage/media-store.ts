/**
 * Where media bytes live. Every backend stores bytes under their SHA-256 (see `keys.ts`), so
 * the same bytes are stored once and a key never changes meaning. The local store keeps files
 * under `DATA_DIR/media`; `S3MediaStore` (loaded only when S3 is configured) keeps objects in
 * a bucket. Deciding when bytes may be deleted — no record in any workspace still names the
 * key — belongs to the media service, not to the store.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeraldError } from '../errors.js';
import { assertKey, contentKey } from './keys.js';

/** Bytes in memory, or a file on local disk (read, never moved or changed). */
export type MediaSource = Buffer | { file: string };

export interface PutOptions {
  /** File extension of the key (`jpg`, `mp4`...). */
  extension: string;
  /** MIME type, kept as object metadata where the backend has any. */
  contentType: string;
}

export interface StoredMedia {
  key: string;
  sha256: string;
  sizeBytes: number;
}

/** Inclusive byte range, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface MediaStore {
  /** Stores the bytes under their SHA-256; storing the same bytes again is harmless. */
  put(source: MediaSource, options: PutOptions): Promise<StoredMedia>;
  /** The whole object in memory (what publishing hands to connectors). `not_found` if missing. */
  get(key: string): Promise<Buffer>;
  /** A stream of the object, or of one byte range of it. `not_found` if missing. */
  open(key: string, range?: ByteRange): Promise<Readable>;
  /** Removes the object; a key that is already gone is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections, where the backend holds any. */
  close?(): void;
}

/** SHA-256 (hex) and size of a source, reading a file as a stream. */
export async function digestOf(source: MediaSource): Promise<{ sha256: string; sizeBytes: number }> {
  if (Buffer.isBuffer(source)) {
    return { sha256: createHash('sha256').update(source).digest('hex'), sizeBytes: source.length };
  }
  const hash = createHash('sha256');
  let sizeBytes = 0;
  await pipeline(createReadStream(source.file), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      sizeBytes += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), sizeBytes };
}

const missing = (key: string) =>
  new HeraldError('not_found', { message: `The media file ${key} is missing from storage` });

export class LocalMediaStore implements MediaStore {
  constructor(private readonly dir: string) {}

  async put(source: MediaSource, options: PutOptions): Promise<StoredMedia> {
    const { sha256, sizeBytes } = await digestOf(source);
    const key = contentKey(sha256, options.extension);
    const file = path.join(this.dir, key);
    await mkdir(path.dirname(file), { recursive: true });
    // A unique temporary name: two puts of the same bytes at once must not share one.
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      if (Buffer.isBuffer(source)) await writeFile(tmp, source);
      else await copyFile(source.file, tmp);
      await rename(tmp, file); // atomic: readers never see a half-written file
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { key, sha256, sizeBytes };
  }

  async get(key: string): Promise<Buffer> {
    assertKey(key);
    try {
      return await readFile(path.join(this.dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(key);
      throw err;
    }
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    assertKey(key);
    // Opened before any byte is promised to a caller, so a missing file is a clean 404.
    const handle = await open(path.join(this.dir, key), 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? missing(key) : err;
    });
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await rm(path.join(this.dir, key), { force: true });
  }
}
