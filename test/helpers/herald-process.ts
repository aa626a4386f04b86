/**
 * Starts Herald as a real child process (`node --import tsx server/main.ts`), the way
 * `npm start` does, and collects its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './processes.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface HeraldProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startHerald(env: Record<string, string>): HeraldProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: REPO_ROOT,
    // The platforms' fakes listen on loopback, which user-given addresses (a Mastodon instance) may then reach.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OUTBOUND_ALLOW: 'loopback', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const logs: Array<Record<string, unknown>> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const line of chunk.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line split across chunks; the full text is still in `out`
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, logs, stdout: () => out, stderr: () => err, exited };
}

/**
 * Waits until Herald at `base` answers `/ready` (at most `timeoutMs`: Chroma's start and the
 * migrations took up to ~100 s on this 2-core machine at load ~20), failing at once, with its
 * stderr, if the process exits during boot.
 */
export async function waitForHeraldReady(herald: HeraldProcess, base: string, timeoutMs = 180_000): Promise<void> {
  const exitedEarly = herald.exited.then(({ code, signal }) => {
    throw new Error(`herald exited during boot (code ${code}, signal ${signal})`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([
    waitFor(
      async () => ((await fetch(`${base}/ready`).catch(() => null))?.status === 200 ? true : undefined),
      timeoutMs,
      'herald to be ready',
    ),
    exitedEarly,
  ]).catch((err: Error) => {
    throw new Error(
      `${err.message}\nherald stderr:\n${herald.stderr().slice(-2000)}\nstdout:\n${herald.stdout().slice(-2000)}`,
    );
  });
}
