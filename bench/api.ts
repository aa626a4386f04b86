/**
 * bench:api — REST throughput and latency, and memory per WebSocket connection, in one run:
 *
 * (a) baseline: a bare Fastify route returning a constant, 100 connections;
 * (a2) for scale: a bare Fastify route sending the bytes of the page (b) returns, as a fixed
 *      Buffer — what the payload alone costs the server and autocannon on this machine;
 * (b) Herald: authenticated `GET /v1/posts?limit=50` on a workspace with 10,000 posts (two
 *     targets each), 100 connections, on PostgreSQL, asked as browsers ask
 *     (`Accept-Encoding: gzip, deflate, br`; Herald answers gzip); ratio = (b) req/s / (a) req/s;
 *     (b') the same without Accept-Encoding (autocannon's default): the plain 63 KB page;
 * (c) and (c') the same on embedded PGlite (BENCH_PGLITE=0 skips them);
 * (d) 2,000 authenticated WebSocket connections held open at `/v1/ws`: growth of the
 *     server's RSS and of its heap + external memory, per connection (after a GC).
 *
 * Each server runs in its own child process (`bench/api-server.ts`) so autocannon never
 * shares its event loop; the table also shows each server's CPU time (user + system) per
 * request over the measured window. Herald runs as `npm start` builds it, with
 * HERALD_ROLE=api, its default LOG_LEVEL (info, to /dev/null; BENCH_LOG_LEVEL changes it) and
 * the rate limit on (raised so it never trips, but counted in Redis on every request); the
 * seeded tables are ANALYZEd, as autovacuum would have done on a workspace that grew slowly.
 * Needs PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test: a scratch database is created and dropped) and
 * Redis at REDIS_URL (default 127.0.0.1:6379, under a prefix of its own).
 * BENCH_PROFILE_DIR=/tmp/prof writes there a V8 CPU profile of each Herald child's measured
 * window (after warm-up), for Chrome DevTools or speedscope; profiling slows the run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { WebSocket } from 'ws';
import { createLogger, createRedisConnection } from '../core/index.js';
import { startChroma } from '../knowledge/index.js';
import { SUBPROTOCOL } from '../server/ws/index.js';
import type { FromChild, ToChild } from './api-server.js';
import { printResult, printTable, round } from './lib.js';

interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<LoadResult>;
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const POSTS = Number(process.env.BENCH_POSTS ?? 10_000);
const TARGETS_PER_POST = Number(process.env.BENCH_TARGETS_PER_POST ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const WS_CONNECTIONS = Number(process.env.BENCH_WS ?? 2_000);
// Sign-up is limited to 20 per minute per address; each user holds WS_CONNECTIONS / WS_USERS.
const WS_USERS = 10;
const PGLITE = process.env.BENCH_PGLITE !== '0';
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const profileDir = process.env.BENCH_PROFILE_DIR;
let pageBytes = 0;
/** What browsers send (Node's fetch() sends `gzip, deflate`). */
const ACCEPT_ENCODING = 'gzip, deflate, br';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- child processes --------------------------------------------------------------------------
interface Child {
  proc: ChildProcess;
  url: string;
  ask<T extends FromChild['type']>(m: ToChild, answer: T): Promise<Extract<FromChild, { type: T }>>;
}
const children: ChildProcess[] = [];
let nextId = 1;

async function startChild(mode: 'baseline' | 'herald', env: Record<string, string>) {
  const proc = fork(path.join(ROOT, 'bench/api-server.ts'), [mode], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(proc);
  const url = await new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`api-server ${mode} exited with ${code} before ready`)));
    proc.on('message', (m: FromChild) => m.type === 'ready' && resolve(m.url));
  });
  const child: Child = {
    proc,
    url,
    ask: (m, answer) =>
      new Promise((resolve) => {
        const on = (r: FromChild) => {
          if (r.type === answer && 'id' in r && r.id === m.id) {
            proc.off('message', on);
            resolve(r as never);
          }
        };
        proc.on('message', on);
        proc.send(m);
      }),
  };
  return child;
}

async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null) return;
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  child.proc.kill('SIGKILL');
}

// --- measurements -----------------------------------------------------------------------------
interface Load {
  rps: number;
  /** Server CPU time (user + system) per request over the measured window. */
  cpuMs: number;
  p50: number;
  p99: number;
  total: number;
  bad: number;
  timeouts: number;
}

/** Warm-up, then the measured window; `profileFile` gets a CPU profile of that window. */
async function load(
  child: Child,
  url: string,
  headers: Record<string, string> = {},
  profileFile?: string,
): Promise<Load> {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S, headers });
  if (profileFile) await child.ask({ type: 'profile', id: nextId++, action: 'start' }, 'profiled');
  const before = await child.ask({ type: 'stats', id: nextId++, gc: false }, 'stats');
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  const after = await child.ask({ type: 'stats', id: nextId++, gc: false }, 'stats');
  if (profileFile) {
    await child.ask({ type: 'profile', id: nextId++, action: 'stop', file: profileFile }, 'profiled');
    console.error(`CPU profile of the measured window: ${profileFile}`);
  }
  const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
  return {
    rps: r.requests.average,
    cpuMs: cpuUs / 1000 / r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    // autocannon counts timeouts among errors too.
    bad: r.non2xx + r.errors,
    timeouts: r.timeouts,
  };
}

type Person = { accessToken: string; userId: string; workspaceId: string };
async function signUp(baseUrl: string): Promise<Person> {
  const res = await fetch(`${baseUrl}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${randomUUID()}@bench.test`, password: 'correct horse battery staple' }),
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  return (await res.json()) as Person;
}

/** Seeds the posts, checks one page, and loads `GET /v1/posts?limit=50`. */
async function measurePosts(
  child: Child,
  owner: Person,
  name: string,
): Promise<{ gzip: Load; identity: Load; seedMs: number }> {
  const seeded = await child.ask(
    {
      type: 'seed',
      id: nextId++,
      workspaceId: owner.workspaceId,
      userId: owner.userId,
      posts: POSTS,
      targetsPerPost: TARGETS_PER_POST,
    },
    'seeded',
  );
  const url = `${child.url}/v1/posts?limit=50`;
  const profileFile = profileDir ? path.join(profileDir, `bench-api-${name}-${Date.now()}.cpuprofile`) : undefined;
  const headers = { authorization: `Bearer ${owner.accessToken}` };
  // fetch() takes gzip and unpacks it: this is the plain JSON.
  const body = await (await fetch(url, { headers })).text();
  await writeFile(pageFile, body);
  pageBytes = Buffer.byteLength(body);
  const page = JSON.parse(body) as {
    items: Array<{ targets: unknown[] }>;
    nextCursor: string | null;
  };
  if (page.items?.length !== 50 || !page.nextCursor || page.items[0]!.targets.length !== TARGETS_PER_POST) {
    throw new Error(`unexpected page: ${JSON.stringify(page).slice(0, 300)}`);
  }
  // As browsers and Node's fetch() ask for it, then as autocannon does by default (no Accept-Encoding).
  const gzip = await load(child, url, { ...headers, 'accept-encoding': ACCEPT_ENCODING }, profileFile);
  const identity = await load(child, url, headers);
  return { gzip, identity, seedMs: seeded.ms };
}

interface WsMemory {
  rssKiB: number;
  heapKiB: number;
  openMs: number;
}

/** Opens WS_CONNECTIONS authenticated sockets, 100 at a time, and reads the server's growth. */
async function measureWebSockets(child: Child, users: Person[]): Promise<WsMemory> {
  const wsUrl = `${child.url.replace(/^http/, 'ws')}/v1/ws`;
  const open = (token: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, [SUBPROTOCOL], { headers: { authorization: `Bearer ${token}` } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  // Warm the path (modules, JIT) so the first socket's one-off costs are not counted.
  const warm = await open(users[0]!.accessToken);
  warm.close();
  await sleep(500);

  const memory = async () => child.ask({ type: 'stats', id: nextId++, gc: true }, 'stats');
  const before = await memory();
  const sockets: WebSocket[] = [];
  const started = performance.now();
  for (let i = 0; i < WS_CONNECTIONS; i += 100) {
    const batch = Array.from({ length: Math.min(100, WS_CONNECTIONS - i) }, (_, j) =>
      open(users[(i + j) % WS_USERS]!.accessToken),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  const openMs = performance.now() - started;
  await sleep(1_000);
  const after = await memory();
  if (after.wsOpen - before.wsOpen !== WS_CONNECTIONS) {
    throw new Error(`server counts ${after.wsOpen - before.wsOpen} new connections, expected ${WS_CONNECTIONS}`);
  }
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((r) => {
          ws.once('close', r);
          ws.close();
        }),
    ),
  );
  const heap = (m: NodeJS.MemoryUsage) => m.heapUsed + m.external;
  return {
    rssKiB: (after.memory.rss - before.memory.rss) / 1024 / WS_CONNECTIONS,
    heapKiB: (heap(after.memory) - heap(before.memory)) / 1024 / WS_CONNECTIONS,
    openMs,
  };
}

// --- the run ----------------------------------------------------------------------------------
const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-api-'));
/** The page Herald served, kept for (a2). */
const pageFile = path.join(dir, 'page.json');
const chroma = await startChroma({
  url: undefined,
  dataDir: dir,
  startTimeoutMs: 30_000,
  logger: createLogger({ level: 'silent' }),
});
const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
// Every Redis key of this run starts with it, so the run can remove them all at the end.
const keyPrefix = `hbench-${randomBytes(3).toString('hex')}`;
const heraldEnv = (name: string, extra: Record<string, string>) => ({
  HERALD_ROLE: 'api',
  DATA_DIR: path.join(dir, name),
  REDIS_URL: redisUrl,
  REDIS_AUTOSTART: 'false',
  CHROMA_URL: chroma.url,
  ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
  QUEUE_PREFIX: `${keyPrefix}-${name}`,
  RATE_LIMIT_PER_MINUTE: String(1e9),
  WS_MAX_CONNECTIONS_PER_USER: String(Math.ceil(WS_CONNECTIONS / WS_USERS)),
  ACCESS_TOKEN_TTL_S: '3600',
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  ...extra,
});

try {
  const base = await startChild('baseline', {});
  const baseline = await load(base, `${base.url}/`);
  await stopChild(base);

  const herald = await startChild('herald', heraldEnv('pg', { DATABASE_URL: dbUrl }));
  const users = await Promise.all(Array.from({ length: WS_USERS }, () => signUp(herald.url)));
  const ws = await measureWebSockets(herald, users);
  const posts = await measurePosts(herald, users[0]!, 'postgres');
  await stopChild(herald);

  let lite: Awaited<ReturnType<typeof measurePosts>> | undefined;
  if (PGLITE) {
    const child = await startChild('herald', heraldEnv('pglite', {}));
    lite = await measurePosts(child, await signUp(child.url), 'pglite');
    await stopChild(child);
  }

  // What the payload alone costs: a bare Fastify route sending the same page's bytes.
  const basePage = await startChild('baseline', { BENCH_PAGE_FILE: pageFile });
  const bare = await load(basePage, `${basePage.url}/page`);
  await stopChild(basePage);

  const ratio = posts.gzip.rps / baseline.rps;
  const row = (run: string, l: Load) => ({
    run,
    'req/s': round(l.rps),
    'p50 ms': l.p50,
    'p99 ms': l.p99,
    'server CPU ms/req': round(l.cpuMs, 3),
    requests: l.total,
    'non-2xx/errors': l.bad,
    'of which timeouts (10 s)': l.timeouts,
    'ratio to (a)': round(l.rps / baseline.rps, 3),
  });
  printTable(
    `bench:api — ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s each, ${os.cpus().length} cores`,
    [
      row('(a) bare Fastify, constant', baseline),
      row(`(a2) bare Fastify, the same ${round(pageBytes / 1024, 1)} KiB page as a fixed Buffer`, bare),
      row(`(b) GET /v1/posts?limit=50, PostgreSQL, Accept-Encoding: gzip`, posts.gzip),
      row(`(b') the same, no Accept-Encoding (${round(pageBytes / 1024, 1)} KiB plain)`, posts.identity),
      ...(lite
        ? [
            row(`(c) GET /v1/posts?limit=50, PGlite, Accept-Encoding: gzip`, lite.gzip),
            row(`(c') the same, no Accept-Encoding`, lite.identity),
          ]
        : []),
    ],
  );
  printTable(`(d) ${WS_CONNECTIONS} authenticated WebSocket connections held open (server process, after GC)`, [
    {
      'RSS KiB/conn': round(ws.rssKiB, 1),
      'heap+external KiB/conn': round(ws.heapKiB, 1),
      'open all, ms': round(ws.openMs),
    },
  ]);
  console.log(
    `${POSTS} posts × ${TARGETS_PER_POST} targets seeded in ${posts.seedMs} ms (PostgreSQL)` +
      (lite ? `, ${lite.seedMs} ms (PGlite)` : '') +
      `; goals: ratio ≥ 0.30 (${round(ratio, 3)}), p99 < 25 ms (${posts.gzip.p99}), WS < 50 KiB/conn (${round(ws.rssKiB, 1)})`,
  );
  printResult({
    bench: 'api',
    rps: round(posts.gzip.rps),
    baseline_rps: round(baseline.rps),
    ratio: round(ratio, 3),
    p50_ms: posts.gzip.p50,
    p99_ms: posts.gzip.p99,
    baseline_p99_ms: baseline.p99,
    cpu_ms_per_req: round(posts.gzip.cpuMs, 3),
    baseline_cpu_ms_per_req: round(baseline.cpuMs, 3),
    identity_rps: round(posts.identity.rps),
    identity_ratio: round(posts.identity.rps / baseline.rps, 3),
    identity_p99_ms: posts.identity.p99,
    identity_cpu_ms_per_req: round(posts.identity.cpuMs, 3),
    ...(lite
      ? {
          pglite_rps: round(lite.gzip.rps),
          pglite_p99_ms: lite.gzip.p99,
          pglite_identity_rps: round(lite.identity.rps),
          pglite_identity_p99_ms: lite.identity.p99,
        }
      : {}),
    same_page_bare_rps: round(bare.rps),
    same_page_bare_p99_ms: bare.p99,
    page_bytes: pageBytes,
    ws_kib_per_conn: round(ws.rssKiB, 1),
    ws_heap_kib_per_conn: round(ws.heapKiB, 1),
  });
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await admin.query(`drop database if exists ${dbName} with (force)`);
  const redis = createRedisConnection(redisUrl);
  for await (const keys of redis.scanStream({ match: `${keyPrefix}-*`, count: 500 }) as AsyncIterable<string[]>) {
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
  await admin.end();
  await chroma.stop();
  await rm(dir, { recursive: true, force: true });
}
