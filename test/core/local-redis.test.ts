import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, createRedisConnection, ensureRedis, pingRedis } from '../../core/index.js';
import { freePort, isAlive } from '../helpers/processes.js';

const logger = createLogger({ level: 'silent' });
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-redis-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));
const opts = { autostart: true, dataDir, startTimeoutMs: 10_000, logger };

describe('embedded Redis', () => {
  it('uses a Redis that already answers and starts nothing', async () => {
    const handle = await ensureRedis({ ...opts, url: 'redis://127.0.0.1:6379' });
    expect(handle.child).toBeUndefined();
    await handle.stop();
    expect(await pingRedis('redis://127.0.0.1:6379')).toBe(true);
  });

  it('starts redis-server with AOF when nothing answers, keeps data across restarts, stops cleanly', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const first = await ensureRedis({ ...opts, url });
    expect(first.child).toBeDefined();
    const client = createRedisConnection(url);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    await client.set('herald:test', 'kept');
    await client.quit();
    await first.stop();
    expect(isAlive(first.child!.pid)).toBe(false);
    expect(await pingRedis(url)).toBe(false);
    expect((await stat(path.join(dataDir, 'redis', 'appendonlydir'))).isDirectory()).toBe(true);

    const second = await ensureRedis({ ...opts, url });
    const again = createRedisConnection(url);
    expect(await again.get('herald:test')).toBe('kept');
    await again.quit();
    await second.stop();
  });

  it('stops a redis-server orphaned by a hard-killed earlier run before starting its own', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-redis-orphan-'));
    const first = await ensureRedis({ ...opts, dataDir: dir, url });
    const orphan = first.child!.pid;
    // Simulate Herald dying without cleanup: the child keeps running and the pid file stays.
    process.kill(orphan, 'SIGSTOP');
    expect(await pingRedis(url, 300)).toBe(false);
    const second = await ensureRedis({ ...opts, dataDir: dir, url });
    expect(second.child!.pid).not.toBe(orphan);
    expect(isAlive(orphan)).toBe(false);
    await second.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('explains how to get Redis when it cannot start one', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(ensureRedis({ ...opts, url, autostart: false })).rejects.toMatchObject({
      code: 'redis_unavailable',
      message: expect.stringMatching(/Nothing answers at REDIS_URL .*Install Redis/),
    });
    await expect(ensureRedis({ ...opts, url: 'redis://10.255.255.1:6379' })).rejects.toMatchObject({
      code: 'redis_unavailable',
    });
    await expect(ensureRedis({ ...opts, url, redisServerBin: '/nonexistent/redis-server' })).rejects.toMatchObject({
      code: 'redis_unavailable',
      message: expect.stringContaining('redis-server is not on PATH'),
    });
  });
});
