/**
 * Spools an upload to a private temporary file while counting and hashing it, and stops the
 * moment it passes the size limit: nothing past `maxBytes` is ever read or kept, and a
 * refused upload leaves no file behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeraldError } from '../../core/index.js';

export interface StagedUpload {
  /** The temporary file (mode 0600). */
  readonly path: string;
  readonly sizeBytes: number;
  /** SHA-256 (hex) of the bytes as uploaded. */
  readonly sha256: string;
  /** Deletes the temporary file; safe to call twice. */
  dispose(): Promise<void>;
}

export function tooLarge(maxBytes: number): HeraldError {
  return new HeraldError('payload_too_large', {
    message: `The file is larger than the ${maxBytes} bytes allowed (MEDIA_MAX_BYTES)`,
    details: { limitBytes: maxBytes },
  });
}

export async function stageUpload(
  source: Readable | Buffer,
  opts: { maxBytes: number; dir?: string | undefined },
): Promise<StagedUpload> {
  const file = path.join(opts.dir ?? os.tmpdir(), `herald-upload-${randomUUID()}`);
  const dispose = () => rm(file, { force: true });
  const hash = createHash('sha256');
  let sizeBytes = 0;
  try {
    if (Buffer.isBuffer(source)) {
      if (source.length > opts.maxBytes) throw tooLarge(opts.maxBytes);
      hash.update(source);
      sizeBytes = source.length;
      await writeFile(file, source, { mode: 0o600, flag: 'wx' });
    } else {
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sizeBytes += chunk.length;
          if (sizeBytes > opts.maxBytes) return done(tooLarge(opts.maxBytes));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(source, meter, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { path: file, sizeBytes, sha256: hash.digest('hex'), dispose };
}
