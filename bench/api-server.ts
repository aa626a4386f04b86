/**
 * The server under test for bench:api, run as a child process so the load generator never
 * shares its event loop. `baseline`: a bare Fastify route returning a constant (and, with
 * BENCH_PAGE_FILE, one returning that file's bytes as a fixed Buffer). `herald`:
 * the API as `server/main.ts` builds it (config from the environment -> runtime -> app),
 * plus an IPC channel the bench drives: `seed` bulk-inserts posts with targets into a
 * workspace, `stats` reports `process.memoryUsage()` (after a GC if asked, when run with
 * `--expose-gc`), `process.cpuUsage()` and the open WebSocket count, `profile` starts and stops a CPU profile.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger, loadConfig, schema, upsertSocialAccount, type Db, type SecretCipher } from '../core/index.js';
import { buildApp } from '../server/app.js';
import { apiDepsOf, metricsOptionsOf, startRuntime } from '../server/runtime.js';
import { openConnectionCount } from '../server/ws/index.js';

export type ToChild =
  | { type: 'stats'; id: number; gc: boolean }
  | { type: 'profile'; id: number; action: 'start' | 'stop'; file?: string }
  | { type: 'seed'; id: number; workspaceId: string; userId: string; posts: number; targetsPerPost: number };
export type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'stats'; id: number; memory: NodeJS.MemoryUsage; cpu: NodeJS.CpuUsage; wsOpen: number }
  | { type: 'seeded'; id: number; ms: number; targets: number }
  | { type: 'profiled'; id: number };

const BATCH = 1_000;
const STATUSES = ['published', 'published', 'published', 'scheduled', 'draft', 'failed'] as const;
const send = (m: FromChild) => process.send!(m);

/** `n` posts, newest a minute ago and one a minute apart, each with `perPost` targets. */
async function seed(db: Db, cipher: SecretCipher, m: Extract<ToChild, { type: 'seed' }>): Promise<number> {
  const accounts: Array<{ id: string }> = [];
  for (let i = 0; i < m.targetsPerPost; i++) {
    accounts.push(
      await upsertSocialAccount(db, cipher, m.workspaceId, {
        platform: 'mastodon',
        externalId: `bench-${i}`,
        handle: `bench${i}@example.social`,
        credentials: { accessToken: `token-${i}` },
        metadata: { instanceUrl: 'https://example.social' },
      }),
    );
  }
  const now = Date.now();
  let targets = 0;
  for (let start = 0; start < m.posts; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, m.posts - start) }, (_, j) => {
      const n = start + j;
      return {
        workspaceId: m.workspaceId,
        authorId: m.userId,
        content: `Post ${n}: ${'a sentence about something worth sharing with the followers, '.repeat(3)}`,
        tags: ['bench', `t${n % 7}`],
        createdAt: new Date(now - (n + 1) * 60_000),
      };
    });
    const inserted = await db.insert(schema.posts).values(rows).returning({ id: schema.posts.id });
    const targetRows = inserted.flatMap((p, j) => {
      const at = rows[j]!.createdAt;
      return accounts.map((a, k) => {
        const status = STATUSES[(start + j + k) % STATUSES.length]!;
        return {
          workspaceId: m.workspaceId,
          postId: p.id,
          socialAccountId: a.id,
          platform: 'mastodon',
          content: `${rows[j]!.content} #${k}`,
          status,
          scheduledAt: status === 'draft' ? null : at,
          publishedAt: status === 'published' ? at : null,
          platformPostId: status === 'published' ? `${start + j}${k}` : null,
          platformUrl: status === 'published' ? `https://example.social/@bench${k}/${start + j}` : null,
          lastError: status === 'failed' ? { kind: 'invalid', message: 'Validation failed: Text too long' } : null,
          createdAt: at,
        };
      });
    });
    await db.insert(schema.postTargets).values(targetRows);
    targets += targetRows.length;
  }
  // Fresh statistics, as autovacuum would have gathered on a workspace that grew over months;
  // without them the planner scans every target of the workspace for one page.
  await db.execute(sql`analyze`);
  return targets;
}

async function stats(m: Extract<ToChild, { type: 'stats' }>): Promise<FromChild> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (m.gc && gc) {
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return {
    type: 'stats',
    id: m.id,
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    wsOpen: openConnectionCount(),
  };
}

const inspector = new Session();
/** A V8 CPU profile of just the measured window, written to `file` on stop. */
async function profile(m: Extract<ToChild, { type: 'profile' }>): Promise<void> {
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      inspector.post(method, (err, result) => (err ? reject(err) : resolve(result))),
    );
  if (m.action === 'start') {
    inspector.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
    return;
  }
  const { profile: data } = (await post('Profiler.stop')) as { profile: unknown };
  await writeFile(m.file!, JSON.stringify(data));
  inspector.disconnect();
}

async function startBaseline(): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/', async () => ({ hello: 'world' }));
  // BENCH_PAGE_FILE: the same bytes Herald's page holds, sent as they are (the payload's own cost).
  const pageFile = process.env.BENCH_PAGE_FILE;
  if (pageFile) {
    const page = await readFile(pageFile);
    app.get('/page', (_req, reply) => reply.type('application/json; charset=utf-8').send(page));
  }
  return app;
}

async function startHerald(): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const config = loadConfig({ readDotenv: false });
  const logger = createLogger({ level: config.logLevel });
  const rt = await startRuntime(config, logger);
  const app = await buildApp({
    logger,
    checks: [],
    isDraining: () => false,
    api: apiDepsOf(rt),
    metrics: metricsOptionsOf(rt),
  });
  process.on('message', (m: ToChild) => {
    if (m.type === 'profile') void profile(m).then(() => send({ type: 'profiled', id: m.id }));
    if (m.type === 'seed') {
      const started = performance.now();
      void seed(rt.database.db, rt.cipher, m).then(
        (targets) => send({ type: 'seeded', id: m.id, ms: Math.round(performance.now() - started), targets }),
        (err) => {
          logger.error({ err }, 'seeding failed');
          process.exit(1);
        },
      );
    }
  });
  return { app, close: () => rt.close() };
}

const mode = process.argv[2];
if (mode !== 'baseline' && mode !== 'herald') throw new Error('usage: api-server.ts baseline|herald');
const server = mode === 'baseline' ? { app: await startBaseline(), close: async () => {} } : await startHerald();
process.on('message', (m: ToChild) => {
  if (m.type === 'stats') void stats(m).then(send);
});
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
process.once('SIGTERM', () => {
  void server.app
    .close()
    .then(server.close)
    .finally(() => process.exit(0));
});
send({ type: 'ready', url });
