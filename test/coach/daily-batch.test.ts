/**
 * The daily job runs its members as one batch (PGlite, Redis, BullMQ): the tick puts the
 * members due at the same instant — two zones, one at the default 08:30, one at the time
 * they chose — into one job; the worker reads their facts with one query per figure for the
 * whole batch (the statements on the batch relation are counted at the database client, so
 * a job that went back to reading member by member fails here), and each member's stored
 * facts are the ones `dailyFacts` reads for that member alone. The rules hold in the batch:
 * a quiet day and coaching turned off send nothing, a muted kind is not sent, a member of two
 * workspaces hears about each from its own facts, someone who left gets nothing, and a
 * second run of the same job sends nothing twice.
 */
import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoachQueue,
  dailyFacts,
  detectBlockers,
  detectBlockersBatch,
  runDailyBatch,
  runTick,
  setGoal,
  startCoachWorker,
  updateSettings,
  type CoachDeps,
  type CoachJobData,
  type DailyBatchSummary,
  type DailyFacts,
} from '../../coach/index.js';
import { addMember, createRedisConnection, schema, upsertSocialAccount, type HeraldEvent } from '../../core/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import type { ServiceContext } from '../../tools/scheduling/index.js';
import { REDIS_URL, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { workspaceWithAccount } from '../tools/analytics-history.js';
import { addFollowers, addHistory, dailyPosts, type Ws } from './coach-history.js';

// 08:30 in Paris on a Tuesday; 02:30 in New York.
const now = new Date('2026-12-08T07:30:00Z');
const DAY = '2026-12-08';
let env: PublishingEnv;
let deps: CoachDeps;
let queue: CoachQueue;
let worker: Worker | undefined;
let events: HeraldEvent[];
const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
/** SQL texts the database client ran, in order. */
const statements: string[] = [];

type Member = ServiceContext & { userId: string };
const sent: Member[] = [];
let quiet: Member;
let off: Member;
let muted: Member;
let twoWorkspaces: { first: Member; second: Member };
let blocked: Member;

/** The batch relation every batched figure is read through (tools/analytics/batch.ts). */
const BATCHED = /as q\(k, ws, f, t, z\)/;

async function planted(zone: string, growth: number): Promise<Ws & { ctx: Member }> {
  const ws = await workspaceWithAccount(env, { timeZone: zone });
  await addFollowers(env, ws, now, 20, (d) => 300 + growth * (20 - d));
  await addHistory(
    env,
    ws,
    dailyPosts(now, zone, 12, (d) => 5 + ((d * growth) % 9)),
  );
  const ctx = { ...ws.ctx, userId: ws.ctx.userId! };
  await setGoal(deps, ctx, { metric: 'followers', target: 900, dueDate: '2027-04-01', account: ws.accountId });
  return { ...ws, ctx };
}

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
  events = await env.recordEvents();
  const db = env.database.db;
  deps = {
    db,
    scheduling: { ...env.deps, now: () => now },
    notifier: new Notifier({ db, events: env.events, now: () => now }),
    now: () => now,
  };
  for (const [i, zone] of ['Europe/Paris', 'America/New_York', 'Europe/Paris', 'America/New_York'].entries()) {
    const m = await planted(zone, i + 1);
    if (zone === 'America/New_York') await updateSettings(deps, m.ctx, { dailyTime: '02:30' });
    sent.push(m.ctx);
  }
  quiet = (await planted('Europe/Paris', 2)).ctx;
  await updateSettings(deps, quiet, { quietDays: [2] });
  off = (await planted('Europe/Paris', 3)).ctx;
  // A member gone quiet for days, who muted that nudge: the next blocker comes instead.
  const q = await workspaceWithAccount(env, { timeZone: 'Europe/Paris' });
  await addFollowers(env, q, now, 10, () => 300);
  await addHistory(
    env,
    q,
    dailyPosts(now, 'Europe/Paris', 20, () => 12, 6),
  );
  muted = { ...q.ctx, userId: q.ctx.userId! };
  await setGoal(deps, muted, { metric: 'followers', target: 500, dueDate: '2027-03-01', account: q.accountId });
  await updateSettings(deps, muted, { muted: ['no_posts'] });
  // The first sent member also belongs to a second workspace with a goal of its own there.
  const other = await planted('Europe/Paris', 5);
  await addMember(db, other.ctx.workspaceId, sent[0]!.userId, 'editor');
  const second = { ...other.ctx, userId: sent[0]!.userId, role: 'editor' as const };
  await setGoal(deps, second, { metric: 'followers', target: 800, dueDate: '2027-04-01', account: other.accountId });
  // A member with every other blocker: an account to reconnect, a failed post, a post waiting
  // two days for approval, and a pile of drafts.
  const b = await planted('America/New_York', 4);
  await db
    .update(schema.socialAccounts)
    .set({ status: 'needs_reconnect' })
    .where(eq(schema.socialAccounts.id, b.accountId));
  const second2 = await upsertSocialAccount(db, env.cipher, b.ctx.workspaceId, {
    platform: 'bluesky',
    externalId: randomUUID(),
    handle: 'second',
    credentials: { accessToken: 'x' },
  });
  const posts = await db
    .insert(schema.posts)
    .values(Array.from({ length: 7 }, (_, i) => ({ workspaceId: b.ctx.workspaceId, content: `idea ${i}` })))
    .returning();
  await db.insert(schema.postTargets).values(
    posts.map((p, i) => ({
      workspaceId: b.ctx.workspaceId,
      postId: p.id,
      socialAccountId: second2.id,
      platform: 'bluesky',
      content: p.content,
      status: i === 5 ? ('failed' as const) : i === 6 ? ('pending_approval' as const) : ('draft' as const),
      updatedAt: i === 6 ? new Date(now.getTime() - 2 * 86_400_000) : new Date(now.getTime() - 3_600_000),
    })),
  );
  blocked = b.ctx;
  await updateSettings(deps, blocked, { dailyTime: '02:30' });
  sent.push(other.ctx, second, muted, blocked);
  twoWorkspaces = { first: sent[0]!, second };

  // The first reading draws and stores each goal's plan (as the morning before would have).
  for (const m of [...sent, quiet, off]) await dailyFacts(deps, m, now);

  // Count what the database client is asked to run (observing only: every call goes through).
  const client = (db as unknown as { $client: { query: (...a: unknown[]) => Promise<unknown> } }).$client;
  const query = client.query.bind(client);
  client.query = (...args: unknown[]) => {
    statements.push(String(args[0]));
    return query(...args);
  };
  queue = new CoachQueue({ connection: bull, prefix: `${env.prefix}-coach-batch` });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await queue?.queue.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await bull.quit();
  await env?.close();
});

async function finished(job: Job<CoachJobData>): Promise<DailyBatchSummary> {
  // The test's own budget (60 s) less a margin, not a fixed count of polls: a loaded machine is slow, not wrong.
  const deadline = Date.now() + 50_000;
  while (Date.now() < deadline) {
    const state = await job.getState();
    if (state === 'completed') return (await queue.queue.getJob(job.id!))!.returnvalue as DailyBatchSummary;
    if (state === 'failed') throw new Error(`job failed: ${(await queue.queue.getJob(job.id!))!.failedReason}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('job did not finish');
}

describe('the daily job, one batch per instant', () => {
  it('reads the facts of all its members with one query per figure, each equal to their own', async () => {
    const expected = new Map<string, DailyFacts>();
    for (const m of sent) expected.set(`${m.workspaceId}/${m.userId}`, await dailyFacts(deps, m, now));
    // The blockers too: each member's in the batch are the ones read for them alone.
    const blockers = [];
    for (const m of sent) blockers.push(await detectBlockers(deps, m, now));
    expect(await detectBlockersBatch(deps, sent, now)).toEqual(blockers);
    expect(blockers.at(-1)!.map((x) => x.kind)).toEqual(['failing_account', 'approvals_waiting', 'draft_pile']);
    expect(blockers.at(-1)![0]!.facts).toMatchObject({ failed: 1 });
    statements.length = 0;

    // Paris at 08:30 and New York at 02:30 are the same instant: one job for all of them.
    expect(await runTick(deps, queue, now)).toBe(sent.length + 1); // the quiet member is not added
    expect(await runTick(deps, queue, now)).toBe(sent.length + 1); // ...and a second tick adds no job
    // A member turns coaching off between the tick and the job.
    await updateSettings(deps, off, { enabled: false });
    const jobs = await queue.queue.getJobs(['waiting', 'delayed', 'prioritized']);
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.data).toMatchObject({ kind: 'daily-batch', at: now.toISOString() });
    const batch = (job.data as { members: Array<{ workspaceId: string; userId: string; day: string }> }).members;
    expect(batch.map((m) => m.day)).toEqual(Array(sent.length + 1).fill(DAY));

    worker = startCoachWorker(deps, queue, { connection: bull, prefix: `${env.prefix}-coach-batch` });
    expect(await finished(job)).toEqual({
      members: sent.length + 1,
      sent: sent.length,
      duplicate: 0,
      skipped: 1, // coaching turned off (the quiet day was not even added)
      template: sent.length,
    });
    // Yesterday (twice: beside the day before), the streak and the followers' audience, then the
    // blockers' month and week (twice): seven statements for the whole batch, however many
    // members it holds.
    expect(statements.filter((s) => BATCHED.test(s))).toHaveLength(7);

    const rows = await env.database.db.select().from(schema.coachMessages);
    for (const m of sent) {
      const mine = rows.filter((r) => r.workspaceId === m.workspaceId && r.userId === m.userId);
      const daily = mine.find((r) => r.kind === 'daily')!;
      expect(daily.day).toBe(DAY);
      expect(daily.facts).toEqual(JSON.parse(JSON.stringify(expected.get(`${m.workspaceId}/${m.userId}`))));
    }
    for (const m of [quiet, off]) expect(rows.filter((r) => r.userId === m.userId)).toEqual([]);
    // Two workspaces, two messages, each about its own goal.
    const [a, b] = [twoWorkspaces.first, twoWorkspaces.second].map((m) =>
      rows.find((r) => r.workspaceId === m.workspaceId && r.userId === m.userId && r.kind === 'daily')!,
    );
    expect((a!.facts as unknown as DailyFacts).goals[0]!.target).toBe(900);
    expect((b!.facts as unknown as DailyFacts).goals.map((g) => g.target)).toEqual([800]);
    // The muted kind is not sent: the next blocker is.
    const nudge = rows.find((r) => r.userId === muted.userId && r.kind === 'intervention')!;
    expect(nudge.topic).toBe('falling_engagement');
    expect(rows.find((r) => r.userId === blocked.userId && r.kind === 'intervention')!.topic).toBe('failing_account');
    const notes = events.filter((e) => e.type === 'notification') as Array<{ kind: string }>;
    expect(notes.filter((e) => e.kind === 'coach.daily')).toHaveLength(sent.length);
  }, 60_000);

  it('run again, the same batch sends nothing; a member who left is skipped', async () => {
    const before = events.filter((e) => e.type === 'notification').length;
    const jobs = [...sent, off].map((m) => ({ workspaceId: m.workspaceId, userId: m.userId, day: DAY }));
    jobs.push({ workspaceId: sent[1]!.workspaceId, userId: sent[2]!.userId, day: DAY }); // not a member there
    const out = await runDailyBatch(deps, jobs);
    expect(out.slice(0, sent.length).every((o) => o.kind === 'duplicate' && !o.delivered)).toBe(true);
    expect(out.slice(sent.length)).toEqual([
      { kind: 'skipped', reason: 'coaching is off' },
      { kind: 'skipped', reason: 'no longer a member' },
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(events.filter((e) => e.type === 'notification')).toHaveLength(before);
  });

  it('a member whose own reads fail does not hold up the batch: the others are sent, the retry sends the rest once', async () => {
    const good = (await planted('Europe/Paris', 2)).ctx;
    const bad = (await planted('Europe/Paris', 3)).ctx;
    // A followers goal that names no account: measuring it fails, for this member alone.
    const [broken] = await env.database.db
      .insert(schema.coachGoals)
      .values({
        workspaceId: bad.workspaceId,
        userId: bad.userId,
        metric: 'followers',
        target: 900,
        baseline: 300,
        baselineAt: now,
        dueDate: '2027-04-01',
        milestones: [],
      })
      .returning();
    const jobs = [bad, good].map((m) => ({ workspaceId: m.workspaceId, userId: m.userId, day: DAY }));
    await expect(runDailyBatch(deps, jobs)).rejects.toThrow(/^1 of 2 mornings failed, the others were sent: /);
    const daily = async () =>
      (await env.database.db.select().from(schema.coachMessages)).filter(
        (r) => r.kind === 'daily' && (r.userId === good.userId || r.userId === bad.userId),
      );
    expect((await daily()).map((r) => r.userId)).toEqual([good.userId]);
    // The cause is mended; the job's retry sends the one left and nothing twice.
    await env.database.db.delete(schema.coachGoals).where(eq(schema.coachGoals.id, broken!.id));
    const again = await runDailyBatch(deps, jobs);
    expect(again.map((o) => o.kind)).toEqual(['sent', 'duplicate']);
    expect(again[1]).toMatchObject({ delivered: false });
    expect((await daily()).map((r) => r.userId).sort()).toEqual([good.userId, bad.userId].sort());
  });
});
