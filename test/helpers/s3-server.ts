/**
 * A real S3-speaking server for tests: s3rver on a random loopback port, its objects in a
 * temporary directory, one bucket made. `config` is what `loadConfig` produces for
 * `S3_BUCKET`/`S3_ENDPOINT`/... pointing at it, ready for `createMediaStore`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../core/index.js';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

// s3rver is CommonJS without type declarations.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

export interface S3TestServer {
  endpoint: string;
  /** The `s3` part of Herald's config for this server. */
  config: NonNullable<Config['s3']>;
  /** Where s3rver keeps the objects (to check what is really stored). */
  directory: string;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'herald-test'): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'herald-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    directory,
    config: {
      bucket,
      region: 'us-east-1',
      endpoint,
      // s3rver's fixed credentials.
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
