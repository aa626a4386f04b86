/**
 * The coach's "done when", end to end: a member sets a goal over REST and picks the minute
 * it is now in Paris as their time; the coach's tick and worker (BullMQ on Redis) prepare
 * the morning message through the real router (a scripted OpenAI-protocol model) and it
 * arrives on the member's open WebSocket as a `notification` frame — not on another
 * member's — with figures equal to analytics'; its draft action is approved with one
 * confirm in chat; "how am I doing?" answers from get_progress's forecast; the REST history
 * shows the action acted on.
 */
import { DateTime } from 'luxon';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coachWriter } from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import { CoachQueue, checkNumbers, runTick, startCoachWorker, type DailyFacts } from '../../coach/index.js';
import { createRedisConnection } from '../../core/index.js';
import { overview } from '../../tools/analytics/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import { startAgentEnv, toolResults, type AgentEnv, type Client } from '../agent/agent-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';
import { addFollowers, addHistory, dailyPosts } from './coach-history.js';

const ZONE = 'Europe/Paris';
let env: AgentEnv;
let queue: CoachQueue;
let worker: Worker;
const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });

beforeAll(async () => {
  env = await startAgentEnv();
  const db = env.api.env.database.db;
  const router = new ModelRouter({
    registry: new ModelRegistry(),
    providers: { openai: { apiKey: 'sk-test', baseUrl: env.llm.openaiUrl } },
    usage: new LedgerUsageSink(db, { cacheMs: 0 }),
  });
  const prefix = `${env.api.env.prefix}-coach`;
  queue = new CoachQueue({ connection: bull, prefix });
  worker = startCoachWorker(
    {
      db,
      scheduling: env.api.env.deps,
      notifier: new Notifier({ db, events: env.api.env.events }),
      writer: coachWriter(router, db),
    },
    queue,
    { connection: bull, prefix },
  );
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await queue?.queue.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  await bull.quit();
  await env?.close();
});

describe('the morning message', () => {
  it('arrives over the WebSocket at the chosen time, true to analytics; its draft is approved with one confirm; "how am I doing?" answers with the forecast', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const other = await env.api.signUp({ timeZone: ZONE });
    const db = env.api.env.database;
    const now = new Date();
    const ctx = {
      workspaceId: p.workspaceId,
      userId: p.userId,
      role: 'owner' as const,
      timeZone: ZONE,
      channel: 'rest',
    };
    const ws = { ctx, accountId, platform: 'mastodon' };
    await addFollowers({ database: db }, ws, now, 30, (d) => 600 - 4 * d + (d % 3));
    await addHistory(
      { database: db },
      ws,
      dailyPosts(now, ZONE, 14, (d) => 6 + (d % 5)),
    );

    const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
      env.api.app.inject({ method, url, headers: p.auth, ...(payload === undefined ? {} : { payload }) });
    const due = DateTime.now().setZone(ZONE).plus({ months: 3 }).toFormat('yyyy-LL-dd');
    const goal = await api('POST', '/v1/coach/goals', {
      metric: 'followers',
      target: 1000,
      dueDate: due,
      account: 'mastodon',
    });
    expect(goal.statusCode, goal.body).toBe(201);
    expect(goal.json()).toMatchObject({ baseline: 600, target: 1000, dueDate: due });
    const draft = await api('POST', '/v1/posts', {
      content: 'Our spring menu is here',
      draft: true,
      targets: [{ socialAccountId: accountId }],
    });
    expect(draft.statusCode, draft.body).toBe(201);
    const minute = DateTime.fromJSDate(now, { zone: ZONE }).toFormat('HH:mm');
    expect((await api('PUT', '/v1/coach/settings', { dailyTime: minute })).json()).toMatchObject({
      dailyTime: minute,
      timeZone: ZONE,
    });

    const c: Client = await env.connect(p);
    const bystander: Client = await env.connect(other);
    // The model writes from the facts it is given (numbers copied, never computed).
    env.brain = (req) => {
      if (req.tools.length === 0) {
        const f = JSON.parse(req.lastUserText.replace(/^FACTS:\n/, '')) as {
          yesterday: { posts: number; engagements: number };
          streakDays: number;
          goals: Array<{ current: number; probabilityPct: number }>;
          actions: string[];
        };
        return {
          text: `Good morning! Yesterday: ${f.yesterday.posts} post, ${f.yesterday.engagements} engagements. Streak ${f.streakDays} days. Followers now ${f.goals[0]!.current}, ${f.goals[0]!.probabilityPct}% likely on time.\n${f.actions.map((a, i) => `${i + 1}. ${a}`).join('\n')}`,
        };
      }
      return { text: 'unscripted' };
    };
    expect(await runTick({ db: db.db }, queue, new Date())).toBe(1);
    expect(await runTick({ db: db.db }, queue, new Date())).toBe(1); // the same job id: added once
    const frame = await c.next('notification', (e) => e.type === 'notification');
    expect(frame.kind).toBe('coach.daily');
    const facts = (frame.data as { facts: DailyFacts }).facts;
    const today = DateTime.fromJSDate(now, { zone: ZONE }).startOf('day');
    const y = await overview({ db: db.db }, ctx, { from: today.minus({ days: 1 }).toJSDate(), to: today.toJSDate() });
    expect(facts.yesterday).toMatchObject({ posts: y.current.posts, engagements: y.current.engagements });
    expect(frame.text).toContain(
      `Yesterday: ${y.current.posts} post, ${y.current.engagements} engagements. Streak 14 days.`,
    );
    expect(frame.text).toContain('Followers now 600');
    expect(checkNumbers(frame.text as string, facts).ok).toBe(true);
    const action = facts.actions[0]!;
    expect(action).toMatchObject({ id: 'a1', type: 'draft', postId: draft.json().id });

    // One confirm in chat schedules the draft at the suggested time.
    env.brain = (req) =>
      toolResults(req).length === 0
        ? { toolCalls: [{ name: 'accept_coach_action', args: { actionId: 'a1' } }] }
        : { text: 'Scheduled.' };
    const turn = await c.say('yes, schedule that draft', 'coach-thread');
    const ask = await c.confirmRequest(turn);
    expect(ask.action!.summary).toBe(`Schedule the mastodon draft "Our spring menu is here" for ${action.atLocal}`);
    c.send({ type: 'confirm', turnId: turn, requestId: ask.requestId });
    await c.end(turn);
    const post = await api('GET', `/v1/posts/${draft.json().id as string}`);
    expect(post.json().targets[0]).toMatchObject({ status: 'scheduled' });

    // "How am I doing?" reads get_progress: the forecast's chance and range.
    let progress = '';
    env.brain = (req) => {
      if (toolResults(req).length === 0) return { toolCalls: [{ name: 'get_progress', args: {} }] };
      progress = toolResults(req)[0]!;
      return { text: 'You are on your way.' };
    };
    const how = await c.say('how am I doing?', 'coach-thread');
    await c.end(how);
    const read = JSON.parse(progress) as {
      goals: Array<{ current: number; forecast: { probabilityPct: number; low: number; high: number } }>;
    };
    expect(read.goals[0]!.current).toBe(600);
    expect(read.goals[0]!.forecast.probabilityPct).toBe(facts.goals[0]!.probabilityPct);
    expect(read.goals[0]!.forecast.low).toBeLessThan(read.goals[0]!.forecast.high);

    const history = (await api('GET', '/v1/coach/history')).json();
    expect(history.items[0]).toMatchObject({ kind: 'daily', source: 'model' });
    expect(history.items[0].actions[0]).toMatchObject({ id: 'a1', acted: true });
    expect(history.effectiveness.acted).toBe(1);
    const listed = (await api('GET', '/v1/notifications')).json();
    expect(listed.items.map((n: { kind: string }) => n.kind)).toContain('coach.daily');
    expect(bystander.events.filter((e) => e.type === 'notification')).toEqual([]);
    c.close();
    bystander.close();
  }, 60_000);
});
