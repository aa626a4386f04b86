import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, isAlive, waitFor } from '../helpers/processes.js';
import { startHerald } from '../helpers/herald-process.js';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-boot-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('the herald process', () => {
  it('boots on embedded defaults (PGlite, its own Redis, spawned Chroma), is ready, and exits 0 on SIGTERM leaving no child', async () => {
    const port = await freePort();
    const redisPort = await freePort();
    const herald = startHerald({
      PORT: String(port),
      DATA_DIR: dataDir,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      LOG_LEVEL: 'info',
    });
    try {
      const ready = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/ready`);
          return res.status === 200
            ? ((await res.json()) as { status: string; checks: Record<string, { ok: boolean }> })
            : undefined;
        },
        45_000,
        '/ready to answer 200',
      );
      expect(ready.status).toBe('ok');
      expect(Object.fromEntries(Object.entries(ready.checks).map(([k, v]) => [k, v.ok]))).toEqual({
        db: true,
        redis: true,
        chroma: true,
      });

      const health = await fetch(`http://127.0.0.1:${port}/health`, { headers: { 'x-request-id': 'boot-test-1' } });
      expect(health.status).toBe(200);
      expect(health.headers.get('x-request-id')).toBe('boot-test-1');

      const children = herald.logs
        .filter((l) => l.msg === 'started' && typeof l.pid === 'number')
        .map((l) => [l.child, l.pid as number]);
      expect(children.map(([name]) => name).sort()).toEqual(['chroma', 'redis']);
      for (const [, pid] of children) expect(isAlive(pid as number)).toBe(true);

      herald.child.kill('SIGTERM');
      const exit = await herald.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      for (const [, pid] of children) expect(isAlive(pid as number)).toBe(false);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();

      // The key generated for stored tokens is never logged.
      const keys = JSON.parse(await readFile(path.join(dataDir, 'keys.json'), 'utf8')) as {
        keys: Record<string, string>;
      };
      for (const key of Object.values(keys.keys)) expect(herald.stdout()).not.toContain(key);
    } finally {
      if (herald.child.exitCode === null) herald.child.kill('SIGKILL');
    }
  }, 90_000); // cold start takes seconds (bench:boot measures it); the margin is for a loaded machine

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const herald = startHerald({ PORT: 'abc', LOG_LEVEL: 'chatty', DATA_DIR: dataDir });
    const exit = await herald.exited;
    expect(exit.code).toBe(78);
    expect(herald.stderr()).toMatch(/PORT: .*expects integer 1-65535/);
    expect(herald.stderr()).toMatch(/LOG_LEVEL: .*expects fatal \| error/);
  }, 60_000);

  it('a missing MODELS_FILE is a configuration problem: exit 78, one message, nothing started', async () => {
    const herald = startHerald({ MODELS_FILE: path.join(dataDir, 'no-such-models.json'), DATA_DIR: dataDir });
    const exit = await herald.exited;
    expect(exit.code).toBe(78);
    expect(herald.stderr()).toMatch(
      /^Invalid configuration, 1 problem:\n {2}MODELS_FILE: no file at .*no-such-models\.json \(expects .*\)\nSee README\.md, "Configuration"\.\n$/,
    );
    // Refused before the logger exists: no child was started, nothing was logged.
    expect(herald.stdout()).toBe('');
  }, 60_000);

  /** Boots Herald on embedded defaults with `env`, expecting start-up to fail after its children started. */
  async function failedBoot(env: Record<string, string>) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-boot-fail-'));
    const herald = startHerald({
      PORT: String(await freePort()),
      DATA_DIR: dir,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'info',
      // A loaded machine must not turn a slow Chroma start into the failure under test.
      CHILD_START_TIMEOUT_MS: '90000',
      ...env,
    });
    try {
      const exit = await herald.exited;
      const children = herald.logs
        .filter((l) => l.msg === 'started' && typeof l.pid === 'number')
        .map((l) => ({ name: l.child as string, pid: l.pid as number }));
      return { herald, exit, children };
    } finally {
      if (herald.child.exitCode === null) herald.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function expectAllGone(children: Array<{ name: string; pid: number }>) {
    expect(children.map((c) => c.name).sort()).toEqual(['chroma', 'redis']);
    for (const c of children) await waitFor(() => !isAlive(c.pid) || undefined, 15_000, `${c.name} to stop`);
  }

  it('a port already in use fails start-up with exit 1, saying so, and stops the children it started', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const { herald, exit, children } = await failedBoot({ PORT: String(port) });
      expect(exit).toEqual({ code: 1, signal: null });
      expect(herald.logs.find((l) => l.level === 60)).toMatchObject({
        msg: `127.0.0.1:${port} is already in use: stop what listens there or set PORT`,
      });
      await expectAllGone(children);
      expect(herald.stderr()).toBe('');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 90_000);

  it('a start-up step failing after the queues started exits 1 cleanly and leaves no child', async () => {
    // The knowledge step fails after publishing (BullMQ queues and workers still connecting).
    const { herald, exit, children } = await failedBoot({ KNOWLEDGE_EMBEDDER: 'ollama:nomic-embed-text' });
    expect(exit).toEqual({ code: 1, signal: null });
    expect(herald.logs.find((l) => l.level === 60)).toMatchObject({ msg: expect.stringMatching(/needs OLLAMA_URL/) });
    await expectAllGone(children);
    expect(herald.stdout() + herald.stderr()).not.toMatch(/Connection is closed/);
    expect(herald.stderr()).toBe('');
  }, 90_000);
});
