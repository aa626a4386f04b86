/**
 * Media bytes in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Backblaze B2,
 * Garage...). Keys are the same content addresses the local store uses. The client asks for
 * checksums only where the API requires them: newer SDK defaults (CRC32 on every request and
 * `aws-chunked` bodies) are refused by several S3-compatible servers.
 *
 * Loaded with a dynamic import by `createMediaStore`, so installs on local disk never load the
 * AWS SDK. Credentials left unset fall back to the SDK's default chain (instance or task role,
 * `AWS_*` variables, `~/.aws`). Errors carry the S3 error name, never a credential.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { HeraldError } from '../errors.js';
import { assertKey, contentKey } from './keys.js';
import {
  digestOf,
  type ByteRange,
  type MediaSource,
  type MediaStore,
  type PutOptions,
  type StoredMedia,
} from './media-store.js';

export interface S3MediaStoreOptions {
  bucket: string;
  region: string;
  /** Custom endpoint for S3-compatible servers; unset means AWS S3. */
  endpoint?: string | undefined;
  /** Both or neither; unset uses the AWS SDK's default credential chain. */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** `bucket` in the path rather than the host name (MinIO and most self-hosted servers). */
  forcePathStyle?: boolean | undefined;
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
}

export class S3MediaStore implements MediaStore {
  readonly client: S3Client;
  readonly bucket: string;

  constructor(options: S3MediaStoreOptions) {
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(source: MediaSource, options: PutOptions): Promise<StoredMedia> {
    const { sha256, sizeBytes } = await digestOf(source);
    const key = contentKey(sha256, options.extension);
    await this.call(key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: Buffer.isBuffer(source) ? source : createReadStream(source.file),
          ContentLength: sizeBytes,
          ContentType: options.contentType,
        }),
      ),
    );
    return { key, sha256, sizeBytes };
  }

  async get(key: string): Promise<Buffer> {
    assertKey(key);
    const res = await this.call(key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    if (!res.Body) throw new HeraldError('not_found', { message: `The media file ${key} is missing from storage` });
    return Buffer.from(await res.Body.transformToByteArray());
  }

  async open(key: string, range?: ByteRange): Promise<Readable> {
    assertKey(key);
    const res = await this.call(key, () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      ),
    );
    if (!res.Body) throw new HeraldError('not_found', { message: `The media file ${key} is missing from storage` });
    // In Node the body is an IncomingMessage (a Readable) with the SDK's helpers mixed in.
    return res.Body instanceof Readable ? res.Body : Readable.fromWeb(res.Body.transformToWebStream() as never);
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    // S3 answers 204 whether or not the object existed.
    await this.call(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  /** Runs one S3 call, mapping "no such key" to `not_found` and every other failure to `storage_unavailable`. */
  private async call<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isNotFound(err)) {
        throw new HeraldError('not_found', { message: `The media file ${key} is missing from storage` });
      }
      const name = err instanceof Error ? err.name : 'Error';
      const status = err instanceof S3ServiceException ? err.$metadata?.httpStatusCode : undefined;
      throw new HeraldError('storage_unavailable', {
        message: `Media storage (S3 bucket ${this.bucket}) failed: ${name}${status ? ` (HTTP ${status})` : ''}`,
        details: { backend: 's3', error: name, ...(status ? { status } : {}) },
        cause: err,
      });
    }
  }

  close(): void {
    this.client.destroy();
  }
}
