/**
 * A child Herald starts (embedded Redis, Chroma) runs in its own process group, so nothing
 * stops it when Herald dies: Herald signals it on its way out, even when an uncaught error
 * ends the process before any orderly stop could run.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/herald-process.js';
import { isAlive, waitFor } from '../helpers/processes.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-child-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs a script that starts a managed `sleep` and then dies of an uncaught error. */
function crashAfterStarting(pidFile: string) {
  const script = `
    import { startManagedChild } from './core/process/managed-child.ts';
    import { createLogger } from './core/logger.ts';
    const child = await startManagedChild({
      name: 'sleeper', command: 'sleep', args: ['300'], pidFile: ${JSON.stringify(pidFile)},
      logger: createLogger({ level: 'silent' }),
    });
    process.stdout.write(String(child.pid) + '\\n');
    setTimeout(() => { throw new Error('boom'); }, 50);
  `;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { exited, out: () => out, err: () => err };
}

describe('managed children', () => {
  it('are signalled when the process dies of an uncaught error', async () => {
    const run = crashAfterStarting(path.join(dir, 'sleeper.pid'));
    const code = await run.exited;
    expect(code).toBe(1);
    expect(run.err()).toContain('boom');
    const pid = Number.parseInt(run.out(), 10);
    expect(pid).toBeGreaterThan(1);
    await waitFor(() => !isAlive(pid) || undefined, 10_000, 'the orphaned child to stop');
  }, 60_000);
});
