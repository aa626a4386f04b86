/**
 * Daily coaching messages for 10,000 members (`npm run bench:coach`), prepared by the coach's
 * own job: the tick (`runTick`) puts the members due at this instant into daily jobs on
 * BullMQ (Redis) and a coach worker (`startCoachWorker`) runs them — facts read for each
 * batch from a seeded PostgreSQL database (`runDailyBatch` → `dailyFactsBatch`), the message
 * written by a scripted zero-latency model over the OpenAI protocol (bench/coach-model.ts, a
 * process of its own) through the real router (`coaching` task kind), with a post drafted for
 * each slot action, and every number checked, the message stored once, sent through the
 * notifier (WebSocket deliverer on the Redis event bus), milestones and the day's nudge — beside
 * the same job with no model, the template writing the same facts (baseline). Each run starts
 * from no message of the day. Also measured: the same members one at a time (`runDaily`, a
 * batch of one, COACH_BENCH_CONCURRENCY at once) on the first COACH_BENCH_SAMPLE members.
 * Prints a table and ends with `{"bench":"coach","users":..,"batch_s":..,"per_s":..,
 * "template_per_s":..,"ratio":..,...}`.
 *
 * Needs PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test: a scratch database is created and dropped) and Redis
 * (TEST_REDIS_URL, default redis://127.0.0.1:6379). COACH_BENCH_USERS (default 10000),
 * COACH_BENCH_BATCH (members per daily job, default the job's 200), COACH_BENCH_JOBS (jobs at
 * once in the worker, default the worker's 1), COACH_BENCH_CONCURRENCY (members of a job at
 * once, default the job's 16) and COACH_BENCH_SAMPLE (members one at a time, default 500)
 * change the run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { coachWriter } from '../agent/index.js';
import { ModelRegistry, ModelRouter, type UsageSink } from '../agent/models/index.js';
import { DateTime } from 'luxon';
import {
  CoachQueue,
  DAILY_BATCH_SIZE,
  DEFAULT_DAILY_CONCURRENCY,
  runDaily,
  runTick,
  startCoachWorker,
  type CoachDeps,
  type DailyBatchSummary,
  type DailyOutcome,
} from '../coach/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { createRedisConnection, EventBus, openDatabase } from '../core/index.js';
import { Notifier } from '../tools/notifications/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { printResult, printTable, round } from './lib.js';

const USERS = Number(process.env.COACH_BENCH_USERS ?? 10_000);
const CONCURRENCY = Number(process.env.COACH_BENCH_CONCURRENCY ?? DEFAULT_DAILY_CONCURRENCY);
const BATCH = Number(process.env.COACH_BENCH_BATCH ?? DAILY_BATCH_SIZE);
const JOBS = Number(process.env.COACH_BENCH_JOBS ?? 1);
const SAMPLE = Number(process.env.COACH_BENCH_SAMPLE ?? 500);
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ZONE = 'Europe/Paris';
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: CONCURRENCY });
const redis = createRedisConnection(REDIS_URL);
const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
const events = new EventBus(redis, () => createRedisConnection(REDIS_URL, { purpose: 'worker' }));
// The scripted model answers at once, from a process of its own (bench/coach-model.ts).
const modelServer = spawn(
  process.execPath,
  ['--import', 'tsx', new URL('./coach-model.ts', import.meta.url).pathname],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const llm = await new Promise<{ openaiUrl: string; close: () => Promise<void> }>((resolve, reject) => {
  modelServer.stdout.once('data', (d: Buffer) =>
    resolve({
      openaiUrl: (JSON.parse(String(d)) as { url: string }).url,
      close: async () => {
        modelServer.stdin.end();
        await new Promise((r) => modelServer.once('exit', r));
      },
    }),
  );
  modelServer.once('exit', (code) => reject(new Error(`the scripted model exited (${code})`)));
});

try {
  const db = database.db;
  const seedStart = performance.now();
  const n = USERS;
  // Deterministic ids (md5 of a tag and the member's number) tie the rows together in SQL.
  const id = (tag: string, expr = 'i') => `md5('${tag}' || ${expr})::uuid`;
  await db.execute(
    sql.raw(`insert into workspaces (id, name, slug, time_zone)
      select ${id('w')}, 'W' || i, 'bench-' || i, '${ZONE}' from generate_series(1, ${n}) i`),
  );
  await db.execute(
    sql.raw(`insert into users (id, email, time_zone)
      select ${id('u')}, 'u' || i || '@bench.test', '${ZONE}' from generate_series(1, ${n}) i`),
  );
  await db.execute(
    sql.raw(`insert into memberships (workspace_id, user_id, role)
      select ${id('w')}, ${id('u')}, 'owner' from generate_series(1, ${n}) i`),
  );
  await db.execute(
    sql.raw(`insert into social_accounts (id, workspace_id, platform, external_id, handle, credentials_ciphertext, credentials_key_id)
      select ${id('a')}, ${id('w')}, 'mastodon', 'x' || i, 'member' || i, 'unused', 'k1' from generate_series(1, ${n}) i`),
  );
  await db.execute(
    sql.raw(`insert into account_snapshots (workspace_id, social_account_id, platform, day, status, followers, fetched_at)
      select ${id('w')}, ${id('a')}, 'mastodon', to_char(now() - d * interval '1 day', 'YYYY-MM-DD'), 'ok',
             500 + (i % 50) + 3 * (13 - d) + (d % 2), now() - d * interval '1 day'
      from generate_series(1, ${n}) i, generate_series(0, 13) d`),
  );
  await db.execute(
    sql.raw(`insert into posts (id, workspace_id, content)
      select ${id('p', `i || '-' || k`)}, ${id('w')}, 'post ' || k from generate_series(1, ${n}) i, generate_series(1, 7) k`),
  );
  await db.execute(
    sql.raw(`insert into post_targets (id, workspace_id, post_id, social_account_id, platform, content, status, scheduled_at, published_at, platform_post_id)
      select ${id('t', `i || '-' || k`)}, ${id('w')}, ${id('p', `i || '-' || k`)}, ${id('a')}, 'mastodon', 'post ' || k, 'published',
             date_trunc('day', now()) - k * interval '1 day' + interval '11 hours',
             date_trunc('day', now()) - k * interval '1 day' + interval '11 hours', 'pp' || i || '-' || k
      from generate_series(1, ${n}) i, generate_series(1, 7) k`),
  );
  await db.execute(
    sql.raw(`insert into metric_snapshots (workspace_id, target_id, social_account_id, platform, stage, status, likes, reposts, replies, fetched_at)
      select ${id('w')}, ${id('t', `i || '-' || k`)}, ${id('a')}, 'mastodon', '24h', 'ok', 3 + (i + k) % 20, k % 3, 1, now() - k * interval '1 day' + interval '1 day'
      from generate_series(1, ${n}) i, generate_series(1, 7) k`),
  );
  await db.execute(
    sql.raw(`insert into coach_goals (workspace_id, user_id, metric, social_account_id, target, baseline, baseline_at, due_date, milestones)
      select ${id('w')}, ${id('u')}, 'followers', ${id('a')}, 1000, 500, now(), to_char(now() + interval '90 days', 'YYYY-MM-DD'),
             '[{"value":625,"due":"2027-01-01","reachedAt":null,"celebratedAt":null},{"value":750,"due":"2027-02-01","reachedAt":null,"celebratedAt":null},{"value":875,"due":"2027-02-15","reachedAt":null,"celebratedAt":null},{"value":1000,"due":"2027-03-01","reachedAt":null,"celebratedAt":null}]'::jsonb
      from generate_series(1, ${n}) i`),
  );
  // Every member's chosen time is this minute in their zone: the tick finds them all due now.
  const now = new Date();
  const minute = DateTime.fromJSDate(now, { zone: ZONE }).toFormat('HH:mm');
  await db.execute(
    sql.raw(`insert into coach_settings (workspace_id, user_id, daily_time)
      select ${id('w')}, ${id('u')}, '${minute}' from generate_series(1, ${n}) i`),
  );
  await db.execute(sql.raw('analyze'));
  const seedS = (performance.now() - seedStart) / 1000;
  const members = (
    (await db.execute(sql.raw(`select ${id('w')} as w, ${id('u')} as u from generate_series(1, ${n}) i`))) as {
      rows: Array<{ w: string; u: string }>;
    }
  ).rows;

  const noUsage: UsageSink = { record: async () => undefined, spentTodayUsd: async () => 0 };
  const router = new ModelRouter({
    registry: new ModelRegistry(),
    providers: { openai: { apiKey: 'sk-bench', baseUrl: llm.openaiUrl } },
    usage: noUsage,
  });
  const scheduling: SchedulingDeps = {
    db,
    connectors: new ConnectorRegistry([]),
    queue: null as unknown as SchedulingDeps['queue'],
    events: null,
  };
  const notifier = new Notifier({ db, events, now: () => now });
  const base: CoachDeps = { db, scheduling, notifier, now: () => now };
  const withModel: CoachDeps = { ...base, writer: coachWriter(router, db) };

  /** Each run starts from a morning with nothing sent yet. */
  const fresh = () => db.execute(sql.raw('delete from coach_messages; delete from notifications'));

  /** The coach's job as it runs: the tick adds the batches due now, a worker runs them. */
  async function job(deps: CoachDeps) {
    await fresh();
    const prefix = `herald-bench-coach-${randomBytes(4).toString('hex')}`;
    const queue = new CoachQueue({ connection: bull, prefix });
    const worker = startCoachWorker(deps, queue, {
      connection: bull,
      prefix,
      concurrency: JOBS,
      memberConcurrency: CONCURRENCY,
      batchSize: BATCH,
    });
    try {
      const start = performance.now();
      const added = await runTick(deps, queue, now, { batchSize: BATCH });
      const jobs = Math.ceil(added / BATCH);
      for (;;) {
        const c = await queue.queue.getJobCounts('completed', 'failed');
        if ((c.completed ?? 0) + (c.failed ?? 0) >= jobs) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = (performance.now() - start) / 1000;
      const done = await queue.queue.getJobs(['completed'], 0, -1);
      const failed = await queue.queue.getJobs(['failed'], 0, -1);
      if (failed.length) throw new Error(`daily job failed: ${failed[0]!.failedReason}`);
      const sum = { sent: 0, template: 0, skipped: 0, duplicate: 0 };
      for (const j of done) {
        const r = j.returnvalue as DailyBatchSummary;
        for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += r[k];
      }
      if (sum.sent !== added) throw new Error(`${added} mornings added, ${sum.sent} sent`);
      return { seconds, members: added, model: sum.sent - sum.template, template: sum.template };
    } finally {
      await worker.close();
      await queue.queue.obliterate({ force: true });
      await queue.close();
    }
  }

  /** The same mornings one member at a time (`runDaily`: a batch of one), CONCURRENCY at once. */
  async function oneByOne(deps: CoachDeps, list: typeof members) {
    await fresh();
    const day = DateTime.fromJSDate(now, { zone: ZONE }).toFormat('yyyy-LL-dd');
    const out: DailyOutcome[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < list.length; i = next++)
          out.push(await runDaily(deps, { workspaceId: list[i]!.w, userId: list[i]!.u, day }));
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const sent = out.filter((o) => o.kind === 'sent');
    if (sent.length !== list.length) throw new Error(`${list.length} members, ${sent.length} sent`);
    const template = sent.filter((o) => o.source === 'template').length;
    return { seconds, members: list.length, model: sent.length - template, template };
  }

  // Warm-up (the first plans are drawn and stored, as a week's first morning does; connections
  // open), then the measured runs.
  await job(base);
  const model = await job(withModel);
  const template = await job(base);
  const sample = members.slice(0, Math.min(SAMPLE, members.length));
  const single = await oneByOne(withModel, sample);
  const singleTemplate = await oneByOne(base, sample);
  const perS = model.members / model.seconds;
  const templatePerS = template.members / template.seconds;
  const singlePerS = single.members / single.seconds;
  const singleTemplatePerS = singleTemplate.members / singleTemplate.seconds;
  const row = (path: string, r: { seconds: number; members: number; model: number; template: number }) => ({
    path,
    members: r.members,
    seconds: round(r.seconds, 1),
    per_s: round(r.members / r.seconds, 1),
    by_model: r.model,
    by_template: r.template,
  });
  printTable(
    `Daily coaching messages by the coach's job: ${members.length} members, jobs of ${BATCH}, ${JOBS} jobs and ${CONCURRENCY} members of each at once (seeded in ${round(seedS, 1)} s)`,
    [
      row('job: scripted model (router) + number check', model),
      row('baseline: job with the template', template),
      row('one member at a time: scripted model', single),
      row('one member at a time: template', singleTemplate),
    ],
  );
  console.log(
    `goal: ${members.length} prepared within 60 s — ${model.seconds <= 60 ? 'met' : 'missed'} (${round(model.seconds, 1)} s); ` +
      `ratio model/template ${round(perS / templatePerS, 2)}; batched/one at a time ${round(perS / singlePerS, 2)}x with the model, ` +
      `${round(templatePerS / singleTemplatePerS, 2)}x with the template`,
  );
  printResult({
    bench: 'coach',
    users: members.length,
    batch_s: round(model.seconds, 1),
    per_s: round(perS, 1),
    template_per_s: round(templatePerS, 1),
    ratio: round(perS / templatePerS, 2),
    per_user_per_s: round(singlePerS, 1),
    per_user_template_per_s: round(singleTemplatePerS, 1),
    speedup: round(perS / singlePerS, 2),
  });
} finally {
  await llm.close();
  await events.close();
  await redis.quit();
  await bull.quit();
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
