/**
 * Herald started before its services answer, as under Compose: PostgreSQL reachable only
 * later (a TCP proxy to the real server, opened after a delay), Redis started later on its
 * own port, Chroma started later. Herald waits, says what it waits for, and becomes ready
 * once they answer; with nothing coming, it gives up after STARTUP_RETRY_MS and exits 1.
 * A wrong database (not a slow one) fails at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, openDatabase } from '../../core/index.js';
import { TEST_DATABASE_URL } from '../helpers/databases.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { freePort, waitFor } from '../helpers/processes.js';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-retry-'));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await rm(dataDir, { recursive: true, force: true });
});

/** A TCP proxy to `target`, opened only when called: what a database still starting looks like from outside. */
async function tcpProxy(port: number, target: { host: string; port: number }): Promise<net.Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return server;
}

function spawnLater(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  cleanups.push(async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
  return child;
}

const chromaCli = path.join(path.dirname(createRequire(import.meta.url).resolve('chromadb')), '..', 'cli.mjs');

function stopHerald(h: HeraldProcess) {
  cleanups.push(async () => {
    if (h.child.exitCode === null && h.child.signalCode === null) {
      h.child.kill('SIGKILL');
      await h.exited;
    }
  });
}

/** Every JSON log line so far, parsed from the whole output (a chunk may end mid-line). */
const logsOf = (h: HeraldProcess): Array<Record<string, unknown>> =>
  h
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const messages = (h: HeraldProcess) => logsOf(h).map((l) => String(l.msg));

describe.skipIf(!TEST_DATABASE_URL)('start-up before the services answer', () => {
  it('waits for PostgreSQL, Redis and Chroma, logging each wait, and is ready once they answer', async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    const name = `herald_retry_${randomBytes(5).toString('hex')}`;
    await admin.query(`create database ${name}`);
    cleanups.push(async () => {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    });
    const real = new URL(TEST_DATABASE_URL!);
    const [pgPort, redisPort, chromaPort, port] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const dbUrl = new URL(TEST_DATABASE_URL!);
    dbUrl.host = `127.0.0.1:${pgPort}`;
    dbUrl.pathname = `/${name}`;
    // The test server trusts local connections; the password is there to show it is never logged.
    dbUrl.password = 'hunter2-never-logged';

    const herald = startHerald({
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_AUTOSTART: 'false',
      CHROMA_URL: `http://127.0.0.1:${chromaPort}`,
      STARTUP_RETRY_MS: '90000',
      LOG_LEVEL: 'info',
    });
    stopHerald(herald);

    // Nothing answers yet: each service gets its own "waiting for" line, and Herald stays up.
    await waitFor(
      () =>
        ['PostgreSQL', 'Redis', 'Chroma'].every((s) =>
          messages(herald).some((m) => m.startsWith(`waiting for ${s} at 127.0.0.1:`)),
        ),
      30_000,
      'a waiting line for each service',
    );
    expect(herald.child.exitCode).toBeNull();
    const pgWait = logsOf(herald).find((l) => String(l.msg).startsWith('waiting for PostgreSQL'))!;
    expect(pgWait).toMatchObject({ level: 40, waitingFor: 'PostgreSQL', target: `127.0.0.1:${pgPort}` });
    expect(String(pgWait.msg)).toMatch(/ECONNREFUSED.*giving up \d+ s from now \(STARTUP_RETRY_MS\)/);
    // The URL's credentials never reach the log.
    expect(herald.stdout()).not.toContain('hunter2-never-logged');

    // The services come up one by one.
    spawnLater('redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    spawnLater(process.execPath, [
      chromaCli,
      'run',
      '--path',
      path.join(dataDir, 'chroma-later'),
      '--host',
      '127.0.0.1',
      '--port',
      String(chromaPort),
    ]);
    await tcpProxy(pgPort, { host: real.hostname, port: Number(real.port || 5432) });

    const ready = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/ready`);
        return res.status === 200 ? ((await res.json()) as { checks: Record<string, { ok: boolean }> }) : undefined;
      },
      60_000,
      '/ready to answer 200',
    );
    expect(ready.checks).toMatchObject({ db: { ok: true }, redis: { ok: true }, chroma: { ok: true } });
    for (const s of ['PostgreSQL', 'Redis', 'Chroma']) {
      expect(
        messages(herald).some((m) => new RegExp(`^${s} at 127\\.0\\.0\\.1:\\d+ answered after \\d+ ms$`).test(m)),
      ).toBe(true);
    }
    // /ready can answer before the start-up line leaves the (asynchronous) logger: wait for it.
    await waitFor(() => messages(herald).includes('herald is up'), 10_000, "the 'herald is up' line");

    herald.child.kill('SIGTERM');
    expect(await herald.exited).toEqual({ code: 0, signal: null });
  }, 150_000);

  it('gives up after STARTUP_RETRY_MS when a service never answers, and exits 1 naming it', async () => {
    const [redisPort, port] = [await freePort(), await freePort()];
    const herald = startHerald({
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: TEST_DATABASE_URL!,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_AUTOSTART: 'false',
      STARTUP_RETRY_MS: '1500',
      LOG_LEVEL: 'info',
    });
    stopHerald(herald);
    expect(await herald.exited).toEqual({ code: 1, signal: null });
    expect(messages(herald).some((m) => m.startsWith('waiting for Redis'))).toBe(true);
    const fatal = logsOf(herald).find((l) => l.level === 60)!;
    expect(String(fatal.msg)).toContain(
      `Nothing answers at REDIS_URL (redis://127.0.0.1:${redisPort}) after 1500 ms of retries`,
    );
  }, 90_000);

  it('a database that answers but refuses (no such database) fails at once, without waiting', async () => {
    const url = new URL(TEST_DATABASE_URL!);
    url.pathname = `/herald_missing_${randomBytes(4).toString('hex')}`;
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    });
    const opening = openDatabase({ kind: 'postgres', url: url.toString(), retryForMs: 60_000, logger });
    await expect(opening).rejects.toMatchObject({
      code: 'db_unavailable',
      message: expect.stringMatching(/refused the connection: .*does not exist\. Check DATABASE_URL/),
    });
    expect(lines.filter((l) => String(l.msg).startsWith('waiting for'))).toEqual([]);
  });
});
