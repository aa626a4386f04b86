/**
 * Picks the media store from configuration: an S3-compatible bucket when `S3_BUCKET` is set,
 * otherwise files under `DATA_DIR/media`. The S3 module (and the AWS SDK) is imported only
 * when it is used.
 */
import path from 'node:path';
import type { Config } from '../config/index.js';
import { LocalMediaStore, type MediaStore } from './media-store.js';

export async function createMediaStore(config: Pick<Config, 'dataDir' | 's3'>): Promise<MediaStore> {
  if (config.s3) {
    const { S3MediaStore } = await import('./s3-media-store.js');
    return new S3MediaStore(config.s3);
  }
  return new LocalMediaStore(path.join(config.dataDir, 'media'));
}
