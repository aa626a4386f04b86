/**
 * Starts Herald as a real child process (`node --import tsx server/main.ts`), the way
 * `npm start` does, and collects its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
