/**
 * Goals, progress, forecast and plan from planted histories (PGlite, the tables analytics
 * collection fills): a goal starts from the measured baseline; a growing account is
 * forecast to arrive, a flat or falling one is not, with the interval of the fitted line;
 * milestones are marked once; the weekly plan takes its hours from best-time and its
 * formats from what-works; another workspace's member sees none of it.
 */
import { DateTime } from 'luxon';
import { linearRegression, linearRegressionLine } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropGoal, getProgress, listGoals, setGoal, type CoachDeps } from '../../coach/index.js';
import { accountAnalytics, overview } from '../../tools/analytics/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { workspaceWithAccount } from '../tools/analytics-history.js';
import { addFollowers, addHistory, dailyPosts, seeded } from './coach-history.js';

const ZONE = 'Europe/Paris';
const now = new Date('2026-12-07T10:00:00Z');
let env: PublishingEnv;
let deps: CoachDeps;

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
  deps = { db: env.database.db, scheduling: { ...env.deps, now: () => now }, now: () => now };
});
afterAll(async () => {
  await env?.close();
});

const dueIn = (days: number) => DateTime.fromJSDate(now, { zone: ZONE }).plus({ days }).toFormat('yyyy-LL-dd');

describe('goals', () => {
  it('start from the baseline analytics measured, with four milestones on the way', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 30, (d) => 500 - d * 2);
    const goal = await setGoal(deps, ws.ctx, {
      metric: 'followers',
      target: 1000,
      dueDate: dueIn(100),
      account: ws.accountId,
    });
    const a = await accountAnalytics({ db: env.database.db }, ws.ctx, ws.accountId, {
      from: new Date(now.getTime() - 40 * 86_400_000),
      to: now,
    });
    expect(goal.baseline).toBe(a.audience.at(-1)!.followers);
    expect(goal.baseline).toBe(500);
    expect(goal.milestones.map((m) => m.value)).toEqual([625, 750, 875, 1000]);
    expect(goal.milestones.at(-1)!.due).toBe(dueIn(100));
    expect(goal.label).toBe(
      `1,000 followers on ${ws.platform} @${(await listGoals(deps, ws.ctx))[0]!.account!.handle} by ${dueIn(100)}`,
    );
  });

  it('refuses what it cannot measure or read, with typed errors', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await expect(
      setGoal(deps, ws.ctx, { metric: 'followers', target: 1000, dueDate: dueIn(30), account: ws.accountId }),
    ).rejects.toMatchObject({ code: 'goal_unmeasurable', status: 422 });
    await expect(
      setGoal(deps, ws.ctx, { metric: 'followers', target: 1000, dueDate: dueIn(30) }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      setGoal(deps, ws.ctx, { metric: 'posts_per_week', target: 5, dueDate: dueIn(-1) }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      setGoal(deps, ws.ctx, { metric: 'posts_per_week', target: 5, dueDate: dueIn(30), account: 'tiktok' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('progress and forecast', () => {
  async function followersGoal(curve: (d: number) => number, target: number, days = 180) {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 60, curve);
    const goal = await setGoal(deps, ws.ctx, {
      metric: 'followers',
      target,
      dueDate: dueIn(days),
      account: ws.accountId,
    });
    const { goals } = await getProgress(deps, ws.ctx);
    return { ws, goal, p: goals[0]! };
  }

  it('a growing account is forecast to arrive: the least-squares line, its interval, a high chance', async () => {
    const noise = seeded(3);
    const curve = (d: number) => 200 + 5 * (59 - d) + (noise() - 0.5) * 6;
    const { p } = await followersGoal(curve, 1000);
    // The same line fitted here, independently, through what was stored.
    const pts = p.series.map((s) => [s.x, s.value]);
    const line = linearRegressionLine(linearRegression(pts));
    expect(p.series).toHaveLength(60);
    expect(p.forecast!.predicted).toBeCloseTo(line(180), 0);
    expect(p.forecast!.low).toBeLessThan(p.forecast!.predicted);
    expect(p.forecast!.high).toBeGreaterThan(p.forecast!.predicted);
    expect(p.forecast!.slope).toBeCloseTo(5, 0);
    expect(p.forecast!.probabilityPct).toBeGreaterThanOrEqual(95);
    expect(p.onTrack).toBe(true);
    expect(p.summary).toContain('% chance of arriving on time');
  });

  it('a flat account is not: the chance is low', async () => {
    const noise = seeded(4);
    const { p } = await followersGoal(() => 400 + (noise() - 0.5) * 4, 1000);
    expect(Math.abs(p.forecast!.slope)).toBeLessThan(0.5);
    expect(p.forecast!.probabilityPct).toBeLessThan(5);
    expect(p.onTrack).toBe(false);
  });

  it('a falling account is forecast below where it started', async () => {
    const { p, goal } = await followersGoal((d) => 300 + 2 * d, 600);
    expect(p.forecast!.slope).toBeCloseTo(-2, 1);
    expect(p.forecast!.predicted).toBeLessThan(goal.baseline);
    expect(p.forecast!.probabilityPct).toBe(0);
    expect(p.progressPct).toBe(0);
  });

  it('too few measurements: no forecast, and it says so', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 2, (d) => 100 + d);
    await setGoal(deps, ws.ctx, { metric: 'followers', target: 200, dueDate: dueIn(60), account: ws.accountId });
    const [p] = (await getProgress(deps, ws.ctx)).goals;
    expect(p!.forecast).toBeNull();
    expect(p!.onTrack).toBeNull();
    expect(p!.summary).toContain('too few measurements for a forecast yet (2 of 3)');
  });

  it('marks a milestone reached once, when the figure crosses it', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 10, () => 100);
    const goal = await setGoal(deps, ws.ctx, {
      metric: 'followers',
      target: 200,
      dueDate: dueIn(60),
      account: ws.accountId,
    });
    expect((await getProgress(deps, ws.ctx)).goals[0]!.newlyReached).toEqual([]);
    // Tomorrow's snapshot: 130 followers, past the 125 milestone.
    const later = new Date(now.getTime() + 86_400_000);
    await addFollowers(env, ws, later, 1, () => 130);
    const tomorrow = { ...deps, now: () => later };
    const first = (await getProgress(tomorrow, ws.ctx)).goals[0]!;
    expect(first.newlyReached.map((m) => m.value)).toEqual([125]);
    expect(first.nextMilestone!.value).toBe(150);
    const again = (await getProgress(tomorrow, ws.ctx)).goals[0]!;
    expect(again.newlyReached).toEqual([]);
    expect(again.goal.milestones[0]!.reachedAt).not.toBeNull();
    expect(goal.milestones[0]!.reachedAt).toBeNull();
  });
});

describe('weekly plan', () => {
  it('a posts-per-week goal asks for the next milestone, at the best hours, in the formats that work', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    // 90 posts over 150 days: those on Tuesday 18:00 with media do far better.
    const rnd = seeded(11);
    const posts = Array.from({ length: 90 }, (_, i) => {
      const good = i % 5 === 0;
      let at = DateTime.fromJSDate(now, { zone: ZONE }).minus({ days: 3 + Math.floor(rnd() * 150) });
      at = good ? at.set({ weekday: 2, hour: 18, minute: 5 }) : at.set({ weekday: 4, hour: 8 + Math.floor(rnd() * 4) });
      if (at.toJSDate() > now) at = at.minus({ weeks: 1 });
      return {
        publishedAt: at.toJSDate(),
        content: `post ${i}`,
        media: good ? 1 : 0,
        likes: Math.round((good ? 80 : 8) * (0.7 + rnd() * 0.6)),
      };
    });
    await addHistory(env, ws, posts);
    const goal = await setGoal(deps, ws.ctx, { metric: 'posts_per_week', target: 10, dueDate: dueIn(70) });
    const [p] = (await getProgress(deps, ws.ctx)).goals;
    const milestone = goal.milestones[0]!.value;
    expect(p!.plan.postsPerWeek).toBe(milestone);
    expect(p!.plan.accounts[0]!.hours[0]).toBe('Tue 18:00');
    expect(p!.plan.formats).toContain('Posts with media');
    expect(p!.plan.reason).toContain(`next milestone is ${milestone} posts per week`);
  });

  it('a followers goal sizes the week from the gap and what a post brought lately', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, ws, now, 60, (d) => 1000 - d * 2);
    await addHistory(
      env,
      ws,
      dailyPosts(now, ZONE, 28, () => 5),
    );
    await setGoal(deps, ws.ctx, { metric: 'followers', target: 1500, dueDate: dueIn(70), account: ws.platform });
    const [p] = (await getProgress(deps, ws.ctx)).goals;
    // 500 followers in 10 weeks = 50 a week; 27 posts in the last 28 days brought 56 followers (~2.07 a post): 25 posts, capped at 21.
    expect(p!.plan.reason).toContain('50 more followers a week are needed');
    expect(p!.plan.postsPerWeek).toBe(21);
  });
});

describe('weekly figures and drift', () => {
  it('an engagements-per-week goal starts from the last 7 days of analytics; the plan is redrawn when the verdict flips', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addHistory(
      env,
      ws,
      dailyPosts(now, ZONE, 40, (d) => 30 - Math.floor(d / 2)),
    );
    const today = DateTime.fromJSDate(now, { zone: ZONE }).startOf('day');
    const week = await overview({ db: env.database.db }, ws.ctx, {
      from: today.minus({ days: 6 }).toJSDate(),
      to: now,
    });
    const goal = await setGoal(deps, ws.ctx, { metric: 'engagements_per_week', target: 260, dueDate: dueIn(28) });
    expect(goal.baseline).toBe(week.current.engagements);
    const first = (await getProgress(deps, ws.ctx)).goals[0]!;
    expect(first.unit).toBe('week');
    expect(first.onTrack).toBe(true);
    const drawn = first.plan.drawnAt;
    // A week of nothing: the trend turns, the verdict flips, the plan is drawn again.
    const later = new Date(now.getTime() + 8 * 86_400_000);
    const after = (await getProgress({ ...deps, now: () => later }, ws.ctx)).goals[0]!;
    expect(after.onTrack).toBe(false);
    expect(after.plan.drawnAt).not.toBe(drawn);
    expect(after.plan.onTrack).toBe(false);
  });
});

describe('isolation', () => {
  it("another workspace's member sees none of a member's goals and cannot drop them", async () => {
    const a = await workspaceWithAccount(env, { timeZone: ZONE });
    const b = await workspaceWithAccount(env, { timeZone: ZONE });
    await addFollowers(env, a, now, 5, () => 50);
    const goal = await setGoal(deps, a.ctx, {
      metric: 'followers',
      target: 100,
      dueDate: dueIn(30),
      account: a.accountId,
    });
    expect(await listGoals(deps, b.ctx)).toEqual([]);
    await expect(dropGoal(deps, b.ctx, goal.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      setGoal(deps, b.ctx, { metric: 'followers', target: 100, dueDate: dueIn(30), account: a.accountId }),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect((await dropGoal(deps, a.ctx, goal.id)).status).toBe('abandoned');
  });
});
