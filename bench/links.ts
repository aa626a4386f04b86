/**
 * bench:links — tracked-link redirects per second and p99 latency, with click recording,
 * beside a bare Fastify route answering the same 302 (the baseline), in one run over loopback
 * with autocannon (BENCH_CONNECTIONS connections, default 50). Both servers run throughout and
 * are loaded in turns — BENCH_ROUNDS rounds (default 4) of BENCH_SLICE_S seconds (default 3)
 * each, after a warm-up of each — so a machine whose load changes during the run affects both
 * alike; the figures are the rounds' means (p99: their median). Herald runs as `npm start`
 * builds it with HERALD_ROLE=api (access log at info to /dev/null, security headers, clicks
 * through its journal, the per-address limit raised so it never trips); the click drainer runs
 * in a process of its own throughout (`bench/links-drainer.ts`), as on a worker. For scale, the
 * same Herald answering an unknown code (its 404 page: the app's hooks without any recording)
 * is loaded in the same turns. After the run Herald stops (shipping its journal), the drainer
 * empties the stream and the clicks in PostgreSQL are counted against the redirects autocannon
 * received (warm-up included). Where the machine's CPU went is printed beside (Linux, from
 * /proc): each server's CPU per answer during its turns, and the drainer's, PostgreSQL's (the
 * scratch database's backends) and Redis's per click over the whole run.
 * Needs PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test: a scratch database is created and dropped) and
 * Redis at REDIS_URL (default 127.0.0.1:6379, under a prefix of its own).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { count, eq } from 'drizzle-orm';
import pg from 'pg';
import {
  createLogger,
  createRedisConnection,
  createUser,
  createWorkspace,
  openDatabase,
  schema,
} from '../core/index.js';
import { startChroma } from '../knowledge/index.js';
import { createTrackedLink } from '../tools/links/index.js';
import { printResult, printTable, round } from './lib.js';

interface LoadResult {
  requests: { average: number; total: number; sent: number };
  latency: { p50: number; p99: number; average: number };
  '3xx': number;
  '4xx': number;
  errors: number;
  timeouts: number;
}
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<LoadResult>;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SLICE_S = Number(process.env.BENCH_SLICE_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
const DESTINATION = 'https://shop.example/kettle?ref=bench';
const profileDir = process.env.BENCH_PROFILE_DIR;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used, in ms; 0 where /proc cannot tell. */
function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}
/** CPU ms per process of a set, to diff before and after. */
const cpuOf = (pids: number[]) => new Map(pids.map((p) => [p, cpuMs(p)]));
function cpuSince(before: Map<number, number>, pids: number[]): number {
  return pids.reduce((sum, p) => sum + cpuMs(p) - (before.get(p) ?? 0), 0);
}

const children: ChildProcess[] = [];
async function startChild(
  mode: 'baseline' | 'herald',
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = fork(path.join(ROOT, 'bench/links-server.ts'), [mode], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // BENCH_PROFILE_DIR: a V8 CPU profile of each server, written when it exits.
    execArgv: ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(proc);
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`links-server ${mode} exited with ${code} before ready`)));
    proc.on('message', (m: { url: string }) => resolve(m.url));
  });
  return { proc, url };
}
async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  proc.kill('SIGKILL');
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  /** Requests sent, warm-up included (the last ones may still be in flight when autocannon stops). */
  sent: number;
  redirects: number;
  bad: number;
  notFound: number;
  /** CPU ms of the server's process during the timed slices. */
  cpuMs: number;
}
const emptyLoad = (): Load => ({ rps: 0, p50: 0, p99: 0, sent: 0, redirects: 0, bad: 0, notFound: 0, cpuMs: 0 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** One slice of load on one server. */
async function slice(url: string, seconds: number) {
  return autocannon({ url, connections: CONNECTIONS, duration: seconds, headers: { 'user-agent': BROWSER } });
}
/**
 * Warm-up of each, then ROUNDS turns through all; per server the mean rps, median p50/p99, and
 * the CPU ms its process (`pids[i]`) used during its timed slices.
 */
async function loadInTurns(urls: string[], pids: number[]): Promise<Load[]> {
  const out = urls.map(emptyLoad);
  const samples = urls.map(() => ({ rps: [] as number[], p50: [] as number[], p99: [] as number[] }));
  for (const [i, url] of urls.entries()) {
    const w = await slice(url, WARMUP_S);
    out[i]!.sent += w.requests.sent;
    out[i]!.redirects += w['3xx'];
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, url] of urls.entries()) {
      const before = cpuMs(pids[i]);
      const r = await slice(url, SLICE_S);
      const o = out[i]!;
      o.cpuMs += cpuMs(pids[i]) - before;
      o.sent += r.requests.sent;
      o.redirects += r['3xx'];
      o.bad += r.requests.total - r['3xx'] + r.errors;
      o.notFound += r['4xx'];
      samples[i]!.rps.push(r.requests.average);
      samples[i]!.p50.push(r.latency.p50);
      samples[i]!.p99.push(r.latency.p99);
    }
  }
  return out.map((o, i) => ({
    ...o,
    rps: samples[i]!.rps.reduce((a, b) => a + b, 0) / ROUNDS,
    p50: median(samples[i]!.p50),
    p99: median(samples[i]!.p99),
  }));
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-links-'));
const quiet = createLogger({ level: 'silent' });
const chroma = await startChroma({ url: undefined, dataDir: dir, startTimeoutMs: 30_000, logger: quiet });
const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const keyPrefix = `hbench-${randomBytes(3).toString('hex')}`;
const redis = createRedisConnection(redisUrl);

try {
  const base = await startChild('baseline', { BENCH_LOCATION: DESTINATION });
  const herald = await startChild('herald', {
    HERALD_ROLE: 'api',
    DATA_DIR: path.join(dir, 'herald'),
    DATABASE_URL: dbUrl,
    REDIS_URL: redisUrl,
    REDIS_AUTOSTART: 'false',
    CHROMA_URL: chroma.url,
    ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
    QUEUE_PREFIX: keyPrefix,
    LINKS_RATE_LIMIT_PER_MINUTE: String(1e9),
    LINKS_BASE_URL: 'https://go.example.test',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  // The runtime has migrated the database; the link is made through the service.
  const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: 4 });
  const ws = await createWorkspace(database.db, { name: 'Bench', slug: `bench-${randomUUID().slice(0, 8)}` });
  const user = await createUser(database.db, { email: `${randomUUID()}@bench.test` });
  const link = await createTrackedLink(
    { db: database.db, baseUrl: 'https://go.example.test' },
    { workspaceId: ws.id, userId: user.id, role: 'owner', timeZone: 'UTC', channel: 'bench' },
    { destinationUrl: DESTINATION },
  );
  const drainer = fork(path.join(ROOT, 'bench/links-drainer.ts'), [], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: dbUrl, REDIS_URL: redisUrl, QUEUE_PREFIX: keyPrefix },
    execArgv: ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(drainer);
  await new Promise<void>((resolve, reject) => {
    drainer.once('exit', (code) => reject(new Error(`links-drainer exited with ${code} before ready`)));
    drainer.once('message', () => resolve());
  });
  const check = await fetch(`${herald.url}/l/${link.code}`, { redirect: 'manual', headers: { 'user-agent': BROWSER } });
  if (check.status !== 302 || check.headers.get('location') !== DESTINATION)
    throw new Error(`unexpected answer: ${check.status} ${check.headers.get('location')}`);
  // Who else works for a click: the drainer, the scratch database's backends, Redis.
  const backends = async () =>
    (await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [dbName])).rows.map(
      (r) => r.pid,
    );
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]) || undefined;
  const helpers = () => [drainer.pid!, ...(redisPid ? [redisPid] : [])];
  const pgBefore = cpuOf(await backends());
  const helpersBefore = cpuOf(helpers());
  const [baseline, unknown, recorded] = (await loadInTurns(
    [
      `${base.url}/l/Ab3dEf6hIj`,
      // For scale: the same app answering an unknown code (the 404 page), which records nothing.
      `${herald.url}/l/Zz0Zz0Zz0Z`,
      `${herald.url}/l/${link.code}`,
    ],
    [base.proc.pid!, herald.proc.pid!, herald.proc.pid!],
  )) as [Load, Load, Load];
  const clicksSent = recorded.sent + 1;
  await stopChild(base.proc);
  // Herald ships what its journal holds as it stops; the drainer then empties the stream.
  await stopChild(herald.proc);
  const drained = new Promise<{ backlog: number }>((resolve) =>
    drainer.on('message', (m: { backlog?: number }) => {
      if (typeof m.backlog === 'number') resolve({ backlog: m.backlog });
    }),
  );
  drainer.send('finish');
  const { backlog } = await drained;
  const pgMs = cpuSince(pgBefore, await backends());
  const drainerMs = cpuSince(helpersBefore, [drainer.pid!]);
  const redisMs = redisPid ? cpuSince(helpersBefore, [redisPid]) : 0;
  // Let it exit by itself (writing its profile, when asked for one).
  const exited = new Promise((r) => drainer.once('exit', r));
  drainer.send('exit');
  await Promise.race([exited, sleep(10_000)]);
  if (backlog > 0) console.error(`the drainer stopped with ${backlog} clicks still in the stream`);
  const [{ n }] = (await database.db
    .select({ n: count() })
    .from(schema.linkClicks)
    .where(eq(schema.linkClicks.linkId, link.id))) as [{ n: number }];
  await database.close();
  const clicksRecorded = Number(n);

  // The server process's CPU time per answer during its timed turns (/proc; 0 elsewhere).
  const cpuPerRequest = (l: Load) => (l.cpuMs * 1000) / (l.rps * ROUNDS * SLICE_S);
  const row = (name: string, l: Load) => ({
    server: name,
    'req/s': round(l.rps),
    'p50 ms': l.p50,
    'p99 ms': l.p99,
    'not 302': l === unknown ? `${l.notFound} × 404` : l.bad,
    ratio: round(l.rps / baseline.rps, 3),
    'CPU µs/req': round(cpuPerRequest(l)),
  });
  printTable(
    `GET /l/:code, ${CONNECTIONS} connections, ${ROUNDS} turns of ${SLICE_S} s each (after ${WARMUP_S} s warm-up)`,
    [
      row('bare Fastify 302 (baseline)', baseline),
      row('Herald, unknown code: 404 page, nothing recorded (for scale)', unknown),
      row('Herald, click recorded', recorded),
    ],
  );
  printTable('clicks', [
    {
      'clicks sent': clicksSent,
      'redirects answered': recorded.redirects + 1,
      'clicks in link_clicks': clicksRecorded,
    },
  ]);
  printTable('CPU per click (µs; /proc, so Linux only)', [
    {
      'Herald (recorded turns)': round(cpuPerRequest(recorded)),
      'drainer (whole run)': round((drainerMs * 1000) / clicksSent),
      'PostgreSQL (whole run)': round((pgMs * 1000) / clicksSent),
      'Redis (whole run, shared)': round((redisMs * 1000) / clicksSent),
    },
  ]);
  printResult({
    bench: 'links',
    rps: round(recorded.rps),
    baseline_rps: round(baseline.rps),
    ratio: round(recorded.rps / baseline.rps, 3),
    p99_ms: recorded.p99,
    baseline_p99_ms: baseline.p99,
    clicks_recorded: clicksRecorded,
    clicks_sent: clicksSent,
    herald_cpu_us_per_redirect: round(cpuPerRequest(recorded)),
    baseline_cpu_us_per_redirect: round(cpuPerRequest(baseline)),
    drain_cpu_us_per_click: round(((drainerMs + pgMs + redisMs) * 1000) / clicksSent),
  });
} finally {
  for (const c of children) await stopChild(c);
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await chroma.stop();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
