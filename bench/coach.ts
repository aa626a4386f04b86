/**
 * Daily coaching messages for 10,000 members (`npm run bench:coach`): each member's morning
 * prepared as the coach's job does it — facts read through the analytics service from a
 * seeded PostgreSQL database (a goal, 14 days of follower counts, a week of measured posts
 * per member), written by a scripted zero-latency model over the OpenAI protocol through the
 * real router (`coaching` task kind), and every number checked — beside the template writing
 * the same facts (baseline: facts + template, no model). The facts are read in batches
 * (`dailyFactsBatch`: one query per figure for COACH_BENCH_BATCH members) for every member,
 * and one member at a time (`dailyFacts`, the path before batching) for the first
 * COACH_BENCH_SAMPLE members, so the gain is measured in the same run. Prints a table and ends
 * with `{"bench":"coach","users":..,"batch_s":..,"per_s":..,"template_per_s":..,"ratio":..,
 * "per_user_per_s":..,"speedup":..}`.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
 * COACH_BENCH_USERS (default 10000), COACH_BENCH_CONCURRENCY (default 16), COACH_BENCH_BATCH
 * (members per batch, default 500) and COACH_BENCH_SAMPLE (members read one at a time, default
 * 1000) change the run.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { coachWriter } from '../agent/index.js';
import { ModelRegistry, ModelRouter, type UsageSink } from '../agent/models/index.js';
import { dailyFacts, dailyFactsBatch, writeMessage, type CoachDeps, type DailyFacts } from '../coach/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { openDatabase } from '../core/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { startFakeLlm } from '../test/fakes/llm/index.js';
import { printResult, printTable, round } from './lib.js';

const USERS = Number(process.env.COACH_BENCH_USERS ?? 10_000);
const CONCURRENCY = Number(process.env.COACH_BENCH_CONCURRENCY ?? 16);
const BATCH = Number(process.env.COACH_BENCH_BATCH ?? 500);
const SAMPLE = Number(process.env.COACH_BENCH_SAMPLE ?? 1_000);
const ZONE = 'Europe/Paris';
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: CONCURRENCY });
// The model answers at once from the facts it is sent (numbers copied, as a good model does).
const llm = await startFakeLlm({
  openai: (req) => {
    const f = JSON.parse(req.lastUserText.replace(/^FACTS:\n/, '')) as {
      yesterday: { posts: number; engagements: number };
      streakDays: number;
      actions: string[];
      insight: string;
    };
    return {
      text: `Good morning! Yesterday: ${f.yesterday.posts} post, ${f.yesterday.engagements} engagements; ${f.streakDays} days in a row.\n${f.actions.map((a, i) => `${i + 1}. ${a}`).join('\n')}\n${f.insight}`,
      usage: { input: 300, output: 60 },
    };
  },
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
  const base: CoachDeps = { db, scheduling };
  const withModel: CoachDeps = { ...base, writer: coachWriter(router, db) };
  const now = new Date();

  type Member = (typeof members)[number];
  const ctxOf = (m: Member) => ({
    workspaceId: m.w,
    userId: m.u,
    role: 'owner' as const,
    timeZone: ZONE,
    channel: 'coach',
  });

  /** Writes each member's message from their facts, CONCURRENCY at a time. */
  async function write(deps: CoachDeps, list: Member[], facts: DailyFacts[], sources: Record<string, number>) {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < list.length; i = next++) {
          const out = await writeMessage(deps, ctxOf(list[i]!), facts[i]!);
          sources[out.source] = (sources[out.source] ?? 0) + 1;
          if (out.rejectedReason) sources.rejected = (sources.rejected ?? 0) + 1;
        }
      }),
    );
  }

  /** Every member's morning, facts read BATCH members at a time (one query per figure per batch). */
  async function batched(deps: CoachDeps, list: Member[]) {
    const sources: Record<string, number> = { model: 0, template: 0, rejected: 0 };
    const start = performance.now();
    for (let i = 0; i < list.length; i += BATCH) {
      const chunk = list.slice(i, i + BATCH);
      const facts = await dailyFactsBatch(deps, chunk.map(ctxOf), now, { concurrency: CONCURRENCY });
      await write(deps, chunk, facts, sources);
    }
    return { seconds: (performance.now() - start) / 1000, sources };
  }

  /** The path before batching: each member's facts read on their own, CONCURRENCY at a time. */
  async function perMember(deps: CoachDeps, list: Member[]) {
    const sources: Record<string, number> = { model: 0, template: 0, rejected: 0 };
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < list.length; i = next++) {
          const m = list[i]!;
          const facts = await dailyFacts(deps, ctxOf(m), now);
          await write(deps, [m], [facts], sources);
        }
      }),
    );
    return { seconds: (performance.now() - start) / 1000, sources };
  }

  // Warm-up (first plans are drawn and stored; connections open), then the measured runs.
  await batched(withModel, members);
  const sample = members.slice(0, Math.min(SAMPLE, members.length));
  const model = await batched(withModel, members);
  const template = await batched(base, members);
  const single = await perMember(withModel, sample);
  const singleTemplate = await perMember(base, sample);
  const perS = members.length / model.seconds;
  const templatePerS = members.length / template.seconds;
  const singlePerS = sample.length / single.seconds;
  const singleTemplatePerS = sample.length / singleTemplate.seconds;
  const row = (path: string, n: number, r: { seconds: number; sources: Record<string, number> }) => ({
    path,
    members: n,
    batch_s: round(r.seconds, 1),
    per_s: round(n / r.seconds, 1),
    model: r.sources.model ?? 0,
    template: r.sources.template ?? 0,
    rejected: r.sources.rejected ?? 0,
  });
  printTable(
    `Daily coaching messages: ${members.length} members, ${CONCURRENCY} at a time, facts in batches of ${BATCH} (seeded in ${round(seedS, 1)} s)`,
    [
      row('batched facts + scripted model (router) + number check', members.length, model),
      row('baseline: batched facts + template', members.length, template),
      row('per-member facts + scripted model (before batching)', sample.length, single),
      row('per-member facts + template (before batching)', sample.length, singleTemplate),
    ],
  );
  console.log(
    `goal: ${members.length} prepared within 60 s — ${model.seconds <= 60 ? 'met' : 'missed'} (${round(model.seconds, 1)} s); ` +
      `ratio model/template ${round(perS / templatePerS, 2)}; batched/per-member ${round(perS / singlePerS, 2)}x with the model, ` +
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
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
