/**
 * Daily coaching messages for 10,000 members (`npm run bench:coach`): each member's morning
 * prepared as the coach's job does it — facts read through the analytics service from a
 * seeded PostgreSQL database (a goal, 14 days of follower counts, a week of measured posts
 * per member), written by a scripted zero-latency model over the OpenAI protocol through the
 * real router (`coaching` task kind), and every number checked — beside the template writing
 * the same facts (baseline: facts + template, no model). Prints both and ends with
 * `{"bench":"coach","users":..,"batch_s":..,"per_s":..,"template_per_s":..}`.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
 * COACH_BENCH_USERS (default 10000) and COACH_BENCH_CONCURRENCY (default 16) change the run.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { coachWriter } from '../agent/index.js';
import { ModelRegistry, ModelRouter, type UsageSink } from '../agent/models/index.js';
import { dailyFacts, writeMessage, type CoachDeps, type DailyFacts } from '../coach/index.js';
import { ConnectorRegistry } from '../connectors/index.js';
import { openDatabase } from '../core/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { startFakeLlm } from '../test/fakes/llm/index.js';
import { printResult, printTable, round } from './lib.js';

const USERS = Number(process.env.COACH_BENCH_USERS ?? 10_000);
const CONCURRENCY = Number(process.env.COACH_BENCH_CONCURRENCY ?? 16);
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

  /** Prepares every member's morning with `deps`, CONCURRENCY at a time; seconds and outcomes. */
  async function batch(deps: CoachDeps) {
    let next = 0;
    const sources = { model: 0, template: 0, rejected: 0 };
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (;;) {
          const i = next++;
          if (i >= members.length) return;
          const m = members[i]!;
          const ctx = { workspaceId: m.w, userId: m.u, role: 'owner' as const, timeZone: ZONE, channel: 'coach' };
          const facts: DailyFacts = await dailyFacts(deps, ctx, now);
          const out = await writeMessage(deps, ctx, facts);
          sources[out.source]++;
          if (out.rejectedReason) sources.rejected++;
        }
      }),
    );
    return { seconds: (performance.now() - start) / 1000, sources };
  }

  // Warm-up (first plans are drawn and stored; connections open), then the two batches.
  await batch({ ...withModel });
  const model = await batch(withModel);
  const template = await batch(base);
  const perS = members.length / model.seconds;
  const templatePerS = members.length / template.seconds;
  printTable(
    `Daily coaching messages: ${members.length} members, ${CONCURRENCY} at a time (seeded in ${round(seedS, 1)} s)`,
    [
      {
        path: 'facts + scripted model (router) + number check',
        batch_s: round(model.seconds, 1),
        per_s: round(perS, 1),
        model: model.sources.model,
        template: model.sources.template,
        rejected: model.sources.rejected,
      },
      {
        path: 'baseline: facts + template',
        batch_s: round(template.seconds, 1),
        per_s: round(templatePerS, 1),
        model: 0,
        template: template.sources.template,
        rejected: 0,
      },
    ],
  );
  console.log(
    `goal: ${members.length} prepared within 60 s — ${model.seconds <= 60 ? 'met' : 'missed'}; ratio model/template ${round(perS / templatePerS, 2)}`,
  );
  printResult({
    bench: 'coach',
    users: members.length,
    batch_s: round(model.seconds, 1),
    per_s: round(perS, 1),
    template_per_s: round(templatePerS, 1),
    ratio: round(perS / templatePerS, 2),
  });
} finally {
  await llm.close();
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
