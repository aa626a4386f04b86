/**
 * Makes sure Redis answers at REDIS_URL. When nothing answers at a loopback address and
 * `redis-server` is on PATH, starts one for this process — AOF on, files under
 * `DATA_DIR/redis`, so delayed jobs survive a restart — and stops it on exit. Otherwise fails
 * with a message saying how to get Redis.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import { startManagedChild, type ManagedChild } from '../process/managed-child.js';
import { retryAtStartup } from '../process/startup-retry.js';
import { pingRedis } from './redis-connection.js';

export interface EnsureRedisOptions {
  url: string;
  autostart: boolean;
  dataDir: string;
  startTimeoutMs: number;
  logger: Logger;
  /** Defaults to `redis-server` on PATH. */
  redisServerBin?: string;
  /**
   * A Redis Herald does not start itself (not loopback, or autostart off) is waited for this
   * long before start-up fails (`STARTUP_RETRY_MS`). Default 0.
   */
  retryForMs?: number;
}

export interface RedisHandle {
  url: string;
  /** The process Herald started, when it started one. */
  child: ManagedChild | undefined;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const HOW_TO_GET_REDIS =
  'Install Redis (e.g. `apt-get install redis-server`, `brew install redis`) so Herald can start it, ' +
  'or run one yourself and set REDIS_URL (e.g. `docker run -p 6379:6379 redis:7 --appendonly yes`).';

export async function ensureRedis(opts: EnsureRedisOptions): Promise<RedisHandle> {
  if (await pingRedis(opts.url)) {
    return { url: opts.url, child: undefined, stop: async () => undefined };
  }
  const parsed = new URL(opts.url);
  const safeUrl = `${parsed.protocol}//${parsed.host}`;
  if (!opts.autostart || !LOOPBACK.has(parsed.hostname) || parsed.protocol !== 'redis:') {
    // Someone else runs this Redis: it may still be starting (Compose, Kubernetes).
    const retryForMs = opts.retryForMs ?? 0;
    try {
      await retryAtStartup(
        { service: 'Redis', target: parsed.host, forMs: retryForMs, logger: opts.logger },
        async () => {
          if (!(await pingRedis(opts.url))) throw new Error('no answer to PING');
        },
      );
    } catch {
      throw new HeraldError('redis_unavailable', {
        message: `Nothing answers at REDIS_URL (${safeUrl})${retryForMs > 0 ? ` after ${retryForMs} ms of retries` : ''}. ${HOW_TO_GET_REDIS}`,
      });
    }
    return { url: opts.url, child: undefined, stop: async () => undefined };
  }

  const port = parsed.port || '6379';
  const dir = path.join(opts.dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const args = [
    '--port',
    port,
    '--bind',
    parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname.replace(/^\[|\]$/g, ''),
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
  if (parsed.password) args.push('--requirepass', decodeURIComponent(parsed.password));

  let child: ManagedChild;
  try {
    child = await startManagedChild({
      name: 'redis',
      command: opts.redisServerBin ?? 'redis-server',
      args,
      cwd: dir,
      pidFile: path.join(dir, 'redis.pid.herald'),
      logger: opts.logger,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new HeraldError('redis_unavailable', {
        message: `Nothing answers at REDIS_URL (${safeUrl}) and redis-server is not on PATH. ${HOW_TO_GET_REDIS}`,
      });
    }
    throw err;
  }

  const deadline = Date.now() + opts.startTimeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (!exited && Date.now() < deadline) {
    if (await pingRedis(opts.url, 500)) {
      opts.logger.info({ url: safeUrl, dir }, 'started embedded redis (AOF on)');
      return { url: opts.url, child, stop: () => child.stop() };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await child.stop();
  throw new HeraldError('redis_unavailable', {
    message: `redis-server was started for ${safeUrl} but did not answer within ${opts.startTimeoutMs} ms${exited ? ' (it exited; is the port taken?)' : ''}. ${HOW_TO_GET_REDIS}`,
  });
}
