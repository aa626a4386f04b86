/**
 * A redis-server of a test's own, on a unix socket in a temporary directory, for tests that
 * make Redis fail for real (e.g. `CONFIG SET maxmemory 1` with `noeviction`: writes are
 * refused with OOM, reads and deletes still work) without touching the shared Redis.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface OwnRedis {
  redis: Redis;
  /** Writes refused from now on (`maxmemory 1`, `noeviction`). */
  refuseWrites(): Promise<void>;
  /** Writes taken again. */
  allowWrites(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-redis-'));
  const socket = join(dir, 'redis.sock');
  const server = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 200 && !(await stat(socket).catch(() => null)); i++) await new Promise((r) => setTimeout(r, 25));
  const redis = new Redis({ path: socket });
  if ((await redis.ping()) !== 'PONG') throw new Error('own redis-server did not answer');
  return {
    redis,
    refuseWrites: async () => void (await redis.config('SET', 'maxmemory', '1')),
    allowWrites: async () => void (await redis.config('SET', 'maxmemory', '0')),
    close: async () => {
      redis.disconnect();
      server.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
