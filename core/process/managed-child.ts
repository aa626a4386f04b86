/**
 * A child service Herald starts for itself (embedded Redis, Chroma). It runs in its own
 * process group so stopping it also stops anything it forked; its pid is written to a pid
 * file so that a child orphaned by a hard kill of Herald is found and stopped on the next
 * start instead of holding its port and data directory forever. While Herald runs, the
 * children it started are also signalled when its process exits by any path (an uncaught
 * error included), since being in their own process group they would otherwise outlive it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export interface ManagedChildOptions {
  /** Short name for logs: "redis", "chroma". */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** Defaults to Herald's own environment. */
  env?: NodeJS.ProcessEnv;
  /** Text in the command line that identifies a stale child from an earlier run (default: the command's base name). */
  identifyBy?: string;
  /** Where the pid file lives. */
  pidFile: string;
  logger: Logger;
  /** How long SIGTERM may take before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface ManagedChild {
  readonly pid: number;
  readonly name: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(25);
  }
  return !alive(pid);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops a process left behind by an earlier run, if the pid file names one that is still
 * running the same program (a recycled pid running something else is left alone).
 */
export async function reapStale(pidFile: string, expect: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFile, 'utf8'), 10);
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 1 && alive(pid) && (await commandLine(pid)).includes(expect)) {
    logger.warn({ pid, pidFile }, 'stopping a child left behind by an earlier run');
    killGroup(pid, 'SIGTERM');
    killGroup(pid, 'SIGCONT'); // a stopped process only acts on SIGTERM once continued
    if (!(await waitForExit(pid, 5_000))) killGroup(pid, 'SIGKILL');
  }
  await rm(pidFile, { force: true });
}

/** Children started and not yet stopped, by pid: what the exit hook signals. */
const running = new Set<number>();
let exitHooked = false;

/**
 * On exit (process.exit, the end of the event loop, or an uncaught exception) only
 * synchronous work runs: a SIGTERM (and SIGCONT, for a stopped child) to each child's group
 * still running, which stops it on its own shortly after. Orderly stops remove their child
 * first, so this only catches what a crash left behind.
 */
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const pid of running) {
      killGroup(pid, 'SIGTERM');
      killGroup(pid, 'SIGCONT');
    }
  });
}

export async function startManagedChild(opts: ManagedChildOptions): Promise<ManagedChild> {
  await mkdir(path.dirname(opts.pidFile), { recursive: true });
  await reapStale(opts.pidFile, opts.identifyBy ?? path.basename(opts.command), opts.logger);

  const child: ChildProcess = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env, // undefined inherits Herald's environment
    detached: true, // own process group: a terminal's Ctrl-C goes to Herald, which stops it in order
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = opts.logger.child({ child: opts.name });
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Keep the child's output out of our stdout but available at debug level.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log.debug({ line: line.slice(0, 500) }, 'output');
    });
  }
  running.add(spawned);
  hookExit();
  void exited.then(() => running.delete(spawned));
  await writeFile(opts.pidFile, String(spawned));
  log.info({ pid: spawned }, 'started');

  let stopping: Promise<void> | undefined;
  return {
    pid: spawned,
    name: opts.name,
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          killGroup(spawned, 'SIGTERM');
          const timeout = opts.stopTimeoutMs ?? 10_000;
          const done = await Promise.race([exited.then(() => true), sleep(timeout).then(() => false)]);
          if (!done) {
            log.warn({ pid: spawned, timeout }, 'did not stop in time; killing');
            killGroup(spawned, 'SIGKILL');
            await exited;
          }
        }
        // The group may hold grandchildren that outlive the leader.
        killGroup(spawned, 'SIGKILL');
        await rm(opts.pidFile, { force: true });
        log.info({ pid: spawned }, 'stopped');
      })();
      return stopping;
    },
  };
}
