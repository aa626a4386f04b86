/**
 * Chaos for the crash test: Herald worker processes (`server/main.ts`, HERALD_ROLE=worker)
 * started as real children and SIGKILLed while they publish. A worker counts as working once
 * its `/health` answers (its BullMQ worker starts before the HTTP server); the chaos kills the
 * longest-working one, so every kill lands on a process that is taking and running jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../helpers/herald-process.js';
import { freePort } from '../helpers/processes.js';

interface Member {
  child: ChildProcess;
  startedAt: number;
  readyAt: number | null;
  /** The tail of its stdout and stderr. */
  output: () => string;
}

export interface WorkerFleet {
  /** Starts `count` workers. */
  start(count: number): Promise<void>;
  /**
   * SIGKILLs the worker that has been working longest (if one has worked at least
   * `minWorkingMs`, and `keepWorking` others would still be working) and starts a replacement;
   * returns whether it killed one.
   */
  killOneAndReplace(minWorkingMs?: number, keepWorking?: number): Promise<boolean>;
  kills: number;
  /** Output of workers that exited on their own (a crash we did not cause). */
  unexpectedExits: string[];
  /** How long each worker that became ready took to answer `/health`, ms (boots are slow on a loaded machine). */
  bootMs: number[];
  /** Output of live workers that have not answered `/health` within `ms` of starting. */
  notReadyAfter(ms: number): string[];
  stopAll(): Promise<void>;
}

export function workerFleet(env: Record<string, string>): WorkerFleet {
  const live = new Set<Member>();
  const fleet: WorkerFleet = {
    kills: 0,
    unexpectedExits: [],
    bootMs: [],
    async start(count) {
      for (let i = 0; i < count; i++) {
        const port = await freePort();
        const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
          cwd: REPO_ROOT,
          // The fakes listen on loopback, which user-given addresses (a Mastodon instance) may then reach.
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            OUTBOUND_ALLOW: 'loopback',
            ...env,
            PORT: String(port),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        const member: Member = { child, startedAt: Date.now(), readyAt: null, output: () => stderr };
        let killed = false;
        // Both streams (logs are on stdout, at LOG_LEVEL error): an unexpected exit says why.
        const keep = (c: string) => (stderr = (stderr + c).slice(-2000));
        child.stderr!.setEncoding('utf8').on('data', keep);
        child.stdout!.setEncoding('utf8').on('data', keep);
        live.add(member);
        child.once('exit', (code, signal) => {
          live.delete(member);
          killed = true;
          if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0)
            fleet.unexpectedExits.push(`exit ${code} ${signal ?? ''}: ${stderr}`);
        });
        void (async () => {
          while (!killed && member.readyAt === null) {
            try {
              if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) {
                member.readyAt = Date.now();
                fleet.bootMs.push(member.readyAt - member.startedAt);
              }
            } catch {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        })();
      }
    },
    notReadyAfter(ms) {
      return [...live]
        .filter((m) => m.readyAt === null && Date.now() - m.startedAt >= ms)
        .map((m) => `pid ${m.child.pid}, ${Math.round((Date.now() - m.startedAt) / 1000)} s: ${m.output()}`);
    },
    async killOneAndReplace(minWorkingMs = 300, keepWorking = 0) {
      const working = [...live]
        .filter((m) => m.readyAt !== null && Date.now() - m.readyAt >= minWorkingMs)
        .sort((a, b) => a.readyAt! - b.readyAt!);
      const victim = working[0];
      if (!victim) return false;
      if ([...live].filter((m) => m.readyAt !== null).length - 1 < keepWorking) return false;
      victim.child.kill('SIGKILL');
      fleet.kills++;
      await fleet.start(1);
      return true;
    },
    async stopAll() {
      const members = [...live];
      const exits = members.map((m) => new Promise((r) => m.child.once('exit', r)));
      for (const m of members) m.child.kill('SIGTERM');
      await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 15_000))]);
      for (const m of live) m.child.kill('SIGKILL');
    },
  };
  return fleet;
}
