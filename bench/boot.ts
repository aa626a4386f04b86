/**
 * bench:boot — time from process start to `/ready` answering 200 with every check ok, and
 * resident memory at idle, for Herald on its embedded defaults (PGlite, own Redis, spawned
 * Chroma), cold (empty data dir: migrations, key generation, new Chroma store) and warm
 * (same data dir again). Baseline, side by side: a bare Node + tsx + Fastify process
 * started the same way. Ratio = Herald cold / baseline.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { median, printResult, printTable, round } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IDLE_MS = 3_000;

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function childPids(pid: number): Promise<number[]> {
  // Embedded Redis and Chroma run in their own process groups; find them by parent pid.
  const out: number[] = [];
  for (const entry of await import('node:fs/promises').then((fs) => fs.readdir('/proc'))) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

interface Run {
  readyMs: number;
  rssMb: number;
  childrenRssMb: number;
}

async function measure(script: string, env: Record<string, string>, expectChecks: boolean): Promise<Run> {
  const port = await getPort({ host: '127.0.0.1' });
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  let readyMs = NaN;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      const body = (await res.json()) as { checks?: Record<string, { ok: boolean }> };
      if (res.status === 200 && (!expectChecks || Object.values(body.checks ?? {}).every((c) => c.ok))) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error(`${script} not ready after 60 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rssMb = (await rssKb(child.pid!)) / 1024;
  let childrenKb = 0;
  for (const pid of await childPids(child.pid!)) childrenKb += await rssKb(pid).catch(() => 0);
  child.kill('SIGTERM');
  await exited;
  return { readyMs, rssMb, childrenRssMb: childrenKb / 1024 };
}

const baseline: Run[] = [];
const cold: Run[] = [];
const warm: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await measure('bench/fixtures/bare-fastify.ts', {}, false));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-boot-'));
  const redisPort = await getPort({ host: '127.0.0.1' });
  // Its own Redis on a free port, as on a machine with redis-server installed but not running.
  const env = { DATA_DIR: dataDir, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
  cold.push(await measure('server/main.ts', env, true));
  warm.push(await measure('server/main.ts', env, true));
  await rm(dataDir, { recursive: true, force: true });
}

const summary = (name: string, runs: Run[]) => ({
  process: name,
  'ready ms (median)': round(median(runs.map((r) => r.readyMs))),
  'ready ms (max)': round(Math.max(...runs.map((r) => r.readyMs))),
  'RSS MB idle': round(median(runs.map((r) => r.rssMb)), 1),
  'children RSS MB': round(median(runs.map((r) => r.childrenRssMb)), 1),
});
printTable(`bench:boot — ${RUNS} runs each, ${os.cpus().length} cores`, [
  summary('baseline: bare Node+tsx+Fastify', baseline),
  summary('herald cold (empty DATA_DIR)', cold),
  summary('herald warm (existing DATA_DIR)', warm),
]);
const b = median(baseline.map((r) => r.readyMs));
const c = median(cold.map((r) => r.readyMs));
const w = median(warm.map((r) => r.readyMs));
printResult({
  bench: 'boot',
  cold_ready_ms: round(c),
  warm_ready_ms: round(w),
  baseline_ready_ms: round(b),
  ratio: round(c / b, 2),
  warm_ratio: round(w / b, 2),
  rss_mb: round(median(warm.map((r) => r.rssMb)), 1),
  children_rss_mb: round(median(warm.map((r) => r.childrenRssMb)), 1),
  baseline_rss_mb: round(median(baseline.map((r) => r.rssMb)), 1),
});
