/**
 * The daily message and interventions (PGlite, Redis, the real router against a scripted
 * OpenAI-protocol server): every number in a sent message is an analytics figure; a model
 * that gets one wrong is not sent (the template with the same facts is, and the refused
 * text is kept in history); no model → the template; one message per member and day however
 * often the job runs; quiet days, muted kinds and cool-downs respected; a milestone is
 * celebrated once.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { coachWriter } from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import {
  acceptAction,
  checkNumbers,
  coachHistory,
  renderTemplate,
  runDaily,
  runDailyBatch,
  setGoal,
  updateSettings,
  type CoachDeps,
  type DailyFacts,
} from '../../coach/index.js';
import { schema, type HeraldEvent } from '../../core/index.js';
import { overview } from '../../tools/analytics/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import { startFakeLlm, type FakeChatRequest, type FakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { workspaceWithAccount } from '../tools/analytics-history.js';
import { addFollowers, addHistory, dailyPosts, type Ws } from './coach-history.js';

const ZONE = 'America/New_York';
const now = new Date('2026-12-08T13:30:00Z'); // 08:30 in New York, a Tuesday
const DAY = '2026-12-08';
let env: PublishingEnv;
let llm: FakeLlm;
let brain: (req: FakeChatRequest) => FakeReply;
let events: HeraldEvent[];
let base: CoachDeps;
let withModel: CoachDeps;

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
  events = await env.recordEvents();
  llm = await startFakeLlm({ openai: (req) => brain(req) });
  const router = new ModelRouter({
    registry: new ModelRegistry(),
    providers: { openai: { apiKey: 'sk-test', baseUrl: llm.openaiUrl } },
    usage: new LedgerUsageSink(env.database.db, { cacheMs: 0 }),
  });
  const notifier = new Notifier({ db: env.database.db, events: env.events, now: () => now });
  base = { db: env.database.db, scheduling: { ...env.deps, now: () => now }, notifier, now: () => now };
  withModel = { ...base, writer: coachWriter(router, env.database.db) };
});
afterAll(async () => {
  await llm?.close();
  await env?.close();
});
beforeEach(() => {
  brain = () => ({ text: 'unscripted' });
});

/** A member with a growing account: posts every day (the last one yesterday) and daily follower counts. */
async function member(): Promise<Ws> {
  const ws = await workspaceWithAccount(env, { timeZone: ZONE });
  await addFollowers(env, ws, now, 30, (d) => 400 - 3 * d);
  await addHistory(
    env,
    ws,
    dailyPosts(now, ZONE, 20, (d) => 10 + (d % 4)),
  );
  await setGoal(base, ws.ctx, {
    metric: 'followers',
    target: 1000,
    dueDate: '2027-03-01',
    account: ws.accountId,
  });
  return ws;
}

const notificationsFor = (userId: string) =>
  events.filter(
    (e): e is Extract<HeraldEvent, { type: 'notification' }> => e.type === 'notification' && e.userId === userId,
  );

async function eventuallyCount(userId: string, n: number) {
  for (let i = 0; i < 100 && notificationsFor(userId).length < n; i++) await new Promise((r) => setTimeout(r, 20));
  return notificationsFor(userId);
}

/** The facts the model was sent (the prompt's JSON). */
function factsOf(req: FakeChatRequest) {
  return JSON.parse(req.lastUserText.replace(/^FACTS:\n/, '')) as {
    yesterday: DailyFacts['yesterday'];
    streakDays: number;
    goals: Array<{ current: number; progressPct: number; probabilityPct: number | null; label: string }>;
    actions: string[];
    insight: string;
  };
}

describe('the daily message', () => {
  it('with no model: the template, whose figures are the analytics figures, delivered to the member', async () => {
    const ws = await member();
    const out = await runDaily(base, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'template', rejected: null });
    const [n] = await eventuallyCount(ws.ctx.userId!, 1);
    expect(n).toMatchObject({ kind: 'coach.daily', workspaceId: ws.ctx.workspaceId });
    // Yesterday (Mon 7 Dec in New York) as analytics reads it, independently.
    const today = DateTime.fromJSDate(now, { zone: ZONE }).startOf('day');
    const y = await overview({ db: env.database.db }, ws.ctx, {
      from: today.minus({ days: 1 }).toJSDate(),
      to: today.toJSDate(),
    });
    expect(y.current.posts).toBe(1);
    const facts = (n!.data as { facts: DailyFacts }).facts;
    expect(facts.yesterday.engagements).toBe(y.current.engagements);
    expect(facts.yesterday.posts).toBe(y.current.posts);
    expect(facts.streak).toBe(20);
    expect(facts.goals[0]!.current).toBe(400);
    expect(n!.text).toContain(`Yesterday (Mon 7 Dec): 1 post published, ${y.current.engagements} engagements`);
    expect(n!.text).toContain('Streak: 20 days in a row with a post.');
    expect(n!.text).toContain('now 400');
    expect(checkNumbers(n!.text, facts)).toEqual({ ok: true, unknown: [] });
    expect(facts.actions.length).toBeGreaterThanOrEqual(1);
    expect(facts.actions[0]).toMatchObject({ type: 'slot', socialAccountId: ws.accountId });
  });

  it("the model's message is sent when every number it states is one of the facts", async () => {
    const ws = await member();
    brain = (req) => {
      const f = factsOf(req);
      return {
        text: `Morning! Yesterday you published ${f.yesterday.posts} post and got ${f.yesterday.engagements} engagements. ${f.streakDays} days in a row, keep going. Your goal is at ${f.goals[0]!.current}.\n1. ${f.actions[0]}\nInsight: ${f.insight}`,
      };
    };
    const out = await runDaily(withModel, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'model', rejected: null });
    const [n] = await eventuallyCount(ws.ctx.userId!, 1);
    expect(n!.text).toMatch(/^Morning! Yesterday you published 1 post and got \d+ engagements/);
    const req = llm.requests.at(-1)!;
    expect(req.body.model).toBe('gpt-4o-mini'); // the coaching task's tier-2 model
    const { items } = await coachHistory(base, ws.ctx);
    expect(items[0]).toMatchObject({ kind: 'daily', source: 'model', model: 'openai/gpt-4o-mini', rejected: null });
  });

  it('a slot action carries the post the model drafted for it in the same call', async () => {
    const ws = await member();
    brain = (req) => {
      const f = factsOf(req) as ReturnType<typeof factsOf> & { draftFor: number[] };
      expect(f.draftFor).toEqual([1]); // the member's one action: a slot on their account
      return {
        text: `Morning! ${f.streakDays} days in a row.\n1. ${f.actions[0]}\nDRAFT 1: Behind the scenes of this week: what we are making next.\nDRAFT 2: not a slot, dropped`,
      };
    };
    const out = await runDaily(withModel, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'model', rejected: null });
    const [n] = await eventuallyCount(ws.ctx.userId!, 1);
    expect(n!.text).not.toContain('DRAFT');
    const actions = (n!.data as { actions: Array<{ id: string; type: string; text?: string }> }).actions;
    expect(actions).toEqual([
      expect.objectContaining({
        id: 'a1',
        type: 'slot',
        text: 'Behind the scenes of this week: what we are making next.',
      }),
    ]);
    // ...kept with the message (accepted with no text: test/coach/rest.test.ts).
    const { items } = await coachHistory(base, ws.ctx);
    expect(items[0]!.actions[0]).toMatchObject({ type: 'slot', text: expect.stringContaining('Behind the scenes') });
  });

  it('a drafted post that states a figure the facts do not hold is dropped: the slot asks for text', async () => {
    const ws = await member();
    brain = (req) => {
      const f = factsOf(req);
      return { text: `Morning!\n1. ${f.actions[0]}\nDRAFT 1: We just passed 98765 readers, thank you!` };
    };
    const out = await runDaily(withModel, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'model' });
    const { items } = await coachHistory(base, ws.ctx);
    expect(items[0]!.actions[0]!.text).toBeUndefined();
    await expect(acceptAction(base, ws.ctx, items[0]!.id, 'a1')).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('a model that gets one number wrong is not sent: the template with the same facts is, and the refusal is kept', async () => {
    const ws = await member();
    let wrong = 0;
    brain = (req) => {
      const f = factsOf(req);
      // Off by a little: the nearest count above the true one that no fact holds.
      const stated = new Set(req.lastUserText.match(/\d+/g));
      wrong = f.yesterday.engagements + 1;
      while (stated.has(String(wrong))) wrong++;
      return {
        text: `Yesterday you got ${wrong} engagements on ${f.yesterday.posts} post. ${f.streakDays} days in a row!`,
      };
    };
    const out = await runDaily(withModel, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'template' });
    const sent = await eventuallyCount(ws.ctx.userId!, 1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).not.toContain(`${wrong} engagements`);
    const facts = (sent[0]!.data as { facts: DailyFacts }).facts;
    expect(sent[0]!.text).toBe(renderTemplate(facts));
    const { items } = await coachHistory(base, ws.ctx);
    expect(items[0]!.rejected).toEqual({
      text: expect.stringContaining(`${wrong} engagements`),
      reason: `numbers not in the analytics facts: ${wrong}`,
    });
  });

  it('no model answering: the template, and why', async () => {
    const ws = await member();
    brain = () => ({ status: 500 });
    const out = await runDaily(withModel, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', source: 'template' });
    expect((out as { rejected: string }).rejected).toMatch(/^no model wrote it/);
  });

  it('once per member and day: a second run sends nothing', async () => {
    const ws = await member();
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY };
    const first = await runDaily(base, job);
    const [second, third] = await Promise.all([runDaily(base, job), runDaily(base, job)]);
    expect(first.kind).toBe('sent');
    expect(second).toMatchObject({ kind: 'duplicate', delivered: false });
    expect(third).toMatchObject({ kind: 'duplicate', delivered: false });
    await new Promise((r) => setTimeout(r, 200));
    expect(notificationsFor(ws.ctx.userId!).filter((n) => n.kind === 'coach.daily')).toHaveLength(1);
    const rows = await env.database.db.select().from(schema.notifications);
    expect(rows.filter((r) => r.userId === ws.ctx.userId && r.kind === 'coach.daily')).toHaveLength(1);
  });

  it('quiet days and coaching turned off send nothing', async () => {
    const ws = await member();
    await updateSettings(base, ws.ctx, { quietDays: [2] }); // Tuesday
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY };
    expect(await runDaily(base, job)).toEqual({ kind: 'skipped', reason: 'a quiet day' });
    await updateSettings(base, ws.ctx, { quietDays: [], enabled: false });
    expect(await runDaily(base, job)).toEqual({ kind: 'skipped', reason: 'coaching is off' });
    expect(notificationsFor(ws.ctx.userId!)).toHaveLength(0);
  });

  it('celebrates a reached milestone once', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, new Date(now.getTime() - 86_400_000), 10, () => 100);
    await setGoal({ ...base, now: () => new Date(now.getTime() - 86_400_000) }, ws.ctx, {
      metric: 'followers',
      target: 200,
      dueDate: '2027-03-01',
      account: ws.accountId,
    });
    await addFollowers(env, ws, now, 1, () => 160); // past 125 and 150
    await runDaily(base, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    const [n] = await eventuallyCount(ws.ctx.userId!, 1);
    expect(n!.text).toContain('Milestone reached: 125');
    expect(n!.text).toContain('Milestone reached: 150');
    const next = new Date(now.getTime() + 86_400_000);
    await runDaily(
      { ...base, now: () => next },
      { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: '2026-12-09' },
    );
    const later = await eventuallyCount(ws.ctx.userId!, 2);
    expect(later.find((x) => x.text !== n!.text)!.text).not.toContain('Milestone reached');
  });
});

describe('a batch retried after a failed send', () => {
  /** Quiet for days (a nudge is due) and past two milestones since yesterday (125 and 150 of 200). */
  async function quietPastMilestones(): Promise<Ws> {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    const yesterday = new Date(now.getTime() - 86_400_000);
    await addFollowers(env, ws, yesterday, 10, () => 100);
    await addHistory(
      env,
      ws,
      dailyPosts(now, ZONE, 20, () => 12, 6),
    );
    await setGoal({ ...base, now: () => yesterday }, ws.ctx, {
      metric: 'followers',
      target: 200,
      dueDate: '2027-03-01',
      account: ws.accountId,
    });
    await addFollowers(env, ws, now, 1, () => 160);
    return ws;
  }

  /** The real notifier, whose send for one member's daily message fails once (a delivery outage). */
  class FailsOnce extends Notifier {
    constructor(private failing: string | null) {
      super({ db: env.database.db, events: env.events, now: () => now });
    }
    override async send(input: Parameters<Notifier['send']>[0]) {
      if (input.userId === this.failing && input.kind === 'coach.daily') {
        this.failing = null;
        throw new Error('notifications are down');
      }
      return super.send(input);
    }
  }

  it('every member is sent once, their milestones marked once and their nudge sent once', async () => {
    const members = [await quietPastMilestones(), await quietPastMilestones(), await quietPastMilestones()];
    const jobs = members.map((m) => ({ workspaceId: m.ctx.workspaceId, userId: m.ctx.userId!, day: DAY }));
    const deps = { ...base, notifier: new FailsOnce(members[1]!.ctx.userId!) };
    await expect(runDailyBatch(deps, jobs)).rejects.toThrow(/^1 of 3 mornings failed.*notifications are down/);
    // The job's retry, a minute later.
    const later = new Date(now.getTime() + 60_000);
    const again = await runDailyBatch({ ...deps, now: () => later }, jobs);
    expect(again.map((o) => o.kind)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(again.map((o) => o.kind === 'duplicate' && o.delivered)).toEqual([false, true, false]);

    for (const [i, m] of members.entries()) {
      const userId = m.ctx.userId!;
      await eventuallyCount(userId, 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(
        notificationsFor(userId)
          .map((n) => n.kind)
          .sort(),
      ).toEqual(['coach.daily', 'coach.intervention']);
      const rows = await env.database.db
        .select()
        .from(schema.coachMessages)
        .where(eq(schema.coachMessages.userId, userId));
      expect(rows.map((r) => r.kind).sort()).toEqual(['daily', 'intervention']);
      expect(rows.every((r) => r.notificationId !== null)).toBe(true);
      // Marked once: by the first run, or (the member whose send failed) by the retry.
      const [goal] = await env.database.db.select().from(schema.coachGoals).where(eq(schema.coachGoals.userId, userId));
      const at = (i === 1 ? later : now).toISOString();
      expect(goal!.milestones.filter((x) => x.celebratedAt).map((x) => [x.value, x.celebratedAt])).toEqual([
        [125, at],
        [150, at],
      ]);
    }
  });
});

describe('interventions', () => {
  async function quietMember(): Promise<Ws> {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 10, () => 300);
    // Posted daily, then nothing for the last 6 days.
    await addHistory(
      env,
      ws,
      dailyPosts(now, ZONE, 20, () => 12, 6),
    );
    await setGoal(base, ws.ctx, { metric: 'followers', target: 500, dueDate: '2027-03-01', account: ws.accountId });
    return ws;
  }

  it('a member gone quiet gets one specific nudge, then none during its cool-down', async () => {
    const ws = await quietMember();
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY };
    const out = await runDaily(base, job);
    expect(out).toMatchObject({ kind: 'sent', intervention: 'no_posts' });
    const sent = await eventuallyCount(ws.ctx.userId!, 2);
    expect(sent.find((n) => n.kind === 'coach.intervention')!.text).toBe(
      'No post in 5 days. One short post today restarts your streak.',
    );
    // Each kind has its own cool-down: the next day, the fall in engagement the silence caused.
    const at = (days: number) => ({ ...base, now: () => new Date(now.getTime() + days * 86_400_000) });
    expect(await runDaily(at(1), { ...job, day: '2026-12-09' })).toMatchObject({ intervention: 'falling_engagement' });
    expect(await runDaily(at(2), { ...job, day: '2026-12-10' })).toMatchObject({ kind: 'sent', intervention: null });
    expect(await runDaily(at(3), { ...job, day: '2026-12-11' })).toMatchObject({ intervention: 'no_posts' });
  });

  it('a muted kind is never sent', async () => {
    const ws = await quietMember();
    await updateSettings(base, ws.ctx, { muted: ['no_posts'] });
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY };
    expect(await runDaily(base, job)).toMatchObject({ kind: 'sent', intervention: 'falling_engagement' });
    await updateSettings(base, ws.ctx, { muted: ['no_posts', 'falling_engagement'] });
    const next = { ...base, now: () => new Date(now.getTime() + 4 * 86_400_000) };
    expect(await runDaily(next, { ...job, day: '2026-12-12' })).toMatchObject({ kind: 'sent', intervention: null });
  });

  it('an account that cannot publish comes first; then posts waiting for approval', async () => {
    const ws = await member();
    const db = env.database.db;
    await db
      .update(schema.socialAccounts)
      .set({ status: 'needs_reconnect' })
      .where(eq(schema.socialAccounts.id, ws.accountId));
    const [post] = await db
      .insert(schema.posts)
      .values({ workspaceId: ws.ctx.workspaceId, content: 'waiting' })
      .returning();
    await db.insert(schema.postTargets).values({
      workspaceId: ws.ctx.workspaceId,
      postId: post!.id,
      socialAccountId: ws.accountId,
      platform: ws.platform,
      content: 'waiting',
      status: 'pending_approval',
      updatedAt: new Date(now.getTime() - 2 * 86_400_000),
    });
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY };
    expect(await runDaily(base, job)).toMatchObject({ intervention: 'failing_account' });
    const handle = (await db.select().from(schema.socialAccounts).where(eq(schema.socialAccounts.id, ws.accountId)))[0]!
      .handle;
    const nudge = (await eventuallyCount(ws.ctx.userId!, 2)).find((n) => n.kind === 'coach.intervention')!;
    expect(nudge.text).toBe(
      `${ws.platform} @${handle} needs reconnecting: nothing can publish there until it is. Reconnect it in Accounts.`,
    );
    const next = { ...base, now: () => new Date(now.getTime() + 86_400_000) };
    await updateSettings(base, ws.ctx, { muted: ['failing_account'] });
    expect(await runDaily(next, { ...job, day: '2026-12-09' })).toMatchObject({ intervention: 'approvals_waiting' });
  });

  it('falling engagement and a draft pile are named with their figures', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 10, () => 300);
    // Daily posts: 40 likes each the week before last, 10 in the last week.
    await addHistory(
      env,
      ws,
      dailyPosts(now, ZONE, 14, (d) => (d <= 7 ? 10 : 40)),
    );
    await setGoal(base, ws.ctx, { metric: 'followers', target: 500, dueDate: '2027-03-01', account: ws.accountId });
    const post = await env.database.db
      .insert(schema.posts)
      .values(Array.from({ length: 5 }, (_, i) => ({ workspaceId: ws.ctx.workspaceId, content: `idea ${i}` })))
      .returning();
    await env.database.db.insert(schema.postTargets).values(
      post.map((p) => ({
        workspaceId: ws.ctx.workspaceId,
        postId: p.id,
        socialAccountId: ws.accountId,
        platform: ws.platform,
        content: p.content,
      })),
    );
    const out = await runDaily(base, { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, day: DAY });
    expect(out).toMatchObject({ kind: 'sent', intervention: 'falling_engagement' });
    const n = (await eventuallyCount(ws.ctx.userId!, 2)).find((x) => x.kind === 'coach.intervention')!;
    expect(n.text).toBe(
      'Engagements fell to 70 in the last 7 days from 280 the week before (-75%). Try your best hours and the formats that work for you.',
    );
    // The daily message offered a waiting draft at its suggested time.
    const daily = notificationsFor(ws.ctx.userId!).find((x) => x.kind === 'coach.daily')!;
    const actions = (daily.data as { actions: Array<{ type: string; label: string }> }).actions;
    expect(actions[0]).toMatchObject({ type: 'draft' });
    expect(actions[0]!.label).toContain('draft "idea');
    // Next day: falling engagement is cooling down, the draft pile is next.
    const next = new Date(now.getTime() + 86_400_000);
    const out2 = await runDaily(
      { ...base, now: () => next },
      {
        workspaceId: ws.ctx.workspaceId,
        userId: ws.ctx.userId!,
        day: '2026-12-09',
      },
    );
    expect(out2).toMatchObject({ intervention: 'draft_pile' });
    void randomUUID;
  });
});
