/**
 * When the morning message fires: at the member's chosen local time on that very day, so
 * a DST change in Europe/Paris or America/New_York moves nothing (the delayed BullMQ job is
 * due at 08:30 local on both sides of each change); one job per member and day however many
 * ticks add it; and — on PostgreSQL, workers in two processes — a worker SIGKILLed in the
 * middle of writing the message leaves it to the other, which sends it exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Worker } from 'bullmq';
import { DateTime } from 'luxon';
import { afterAll, describe, expect, it } from 'vitest';
import { coachWriter } from '../../agent/index.js';
import { LedgerUsageSink, ModelRegistry, ModelRouter } from '../../agent/models/index.js';
import {
  CoachQueue,
  dueMessages,
  runDaily,
  runTick,
  setGoal,
  startCoachWorker,
  updateSettings,
  type CoachMember,
} from '../../coach/index.js';
import { createRedisConnection, schema, type HeraldEvent } from '../../core/index.js';
import { Notifier } from '../../tools/notifications/index.js';
import { startFakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { REDIS_URL, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { waitFor } from '../helpers/processes.js';
import { workspaceWithAccount } from '../tools/analytics-history.js';
import { addFollowers } from './coach-history.js';

const member = (timeZone: string, dailyTime = '08:30', quietDays: number[] = []): CoachMember => ({
  workspaceId: 'w',
  userId: 'u',
  timeZone,
  dailyTime,
  quietDays,
});
const utc = (iso: string) => new Date(iso);

describe('the daily instant through DST changes', () => {
  const cases: Array<[string, string, string, string]> = [
    // zone, day, a moment before the message (UTC), 08:30 local that day (UTC)
    ['Europe/Paris', '2026-03-28', '2026-03-28T07:20:00Z', '2026-03-28T07:30:00.000Z'], // CET, UTC+1
    ['Europe/Paris', '2026-03-29', '2026-03-29T06:20:00Z', '2026-03-29T06:30:00.000Z'], // CEST from 01:00Z
    ['Europe/Paris', '2026-10-25', '2026-10-25T07:20:00Z', '2026-10-25T07:30:00.000Z'], // back to CET
    ['America/New_York', '2026-03-07', '2026-03-07T13:20:00Z', '2026-03-07T13:30:00.000Z'], // EST
    ['America/New_York', '2026-03-08', '2026-03-08T12:20:00Z', '2026-03-08T12:30:00.000Z'], // EDT from 07:00Z
    ['America/New_York', '2026-11-01', '2026-11-01T13:20:00Z', '2026-11-01T13:30:00.000Z'], // back to EST
  ];

  it.each(cases)('%s on %s: 08:30 local', (zone, day, before, expected) => {
    expect(dueMessages(member(zone), utc(before))).toEqual([{ day, at: utc(expected) }]);
    expect(DateTime.fromISO(expected, { zone }).toFormat('HH:mm')).toBe('08:30');
  });

  it('nothing outside the window, nothing on a quiet day, a late morning still within three hours', () => {
    expect(dueMessages(member('Europe/Paris'), utc('2026-03-29T05:00:00Z'))).toEqual([]);
    expect(dueMessages(member('Europe/Paris', '08:30', [7]), utc('2026-03-29T06:20:00Z'))).toEqual([]);
    expect(dueMessages(member('Europe/Paris'), utc('2026-03-29T08:00:00Z'))).toEqual([
      { day: '2026-03-29', at: utc('2026-03-29T06:30:00Z') },
    ]);
    expect(dueMessages(member('Europe/Paris'), utc('2026-03-29T10:00:00Z'))).toEqual([]);
  });
});

describe('the tick on BullMQ', () => {
  let env: PublishingEnv;
  let queue: CoachQueue;
  const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
  afterAll(async () => {
    await queue?.queue.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await bull.quit();
    await env?.close();
  });

  it('adds one delayed job per member and day, due at 08:30 local in both zones across their DST changes', async () => {
    env = await startPublishingEnv({ connectors: [] });
    queue = new CoachQueue({ connection: bull, prefix: `${env.prefix}-coach` });
    const deps = { db: env.database.db, scheduling: env.deps };
    const paris = await workspaceWithAccount(env, { timeZone: 'Europe/Paris' });
    const ny = await workspaceWithAccount(env, { timeZone: 'America/New_York' });
    for (const w of [paris, ny]) {
      await addFollowers(env, w, new Date(), 3, () => 10);
      await setGoal(deps, w.ctx, { metric: 'followers', target: 20, dueDate: '2029-06-01', account: w.accountId });
    }
    // Ticks around each change; each adds the member's job due that morning.
    const ticks = ['2026-03-29T06:20:00Z', '2026-03-08T12:20:00Z', '2026-11-01T13:20:00Z', '2026-03-28T07:20:00Z'];
    for (const t of ticks) {
      await runTick(deps, queue, utc(t));
      await runTick(deps, queue, utc(t)); // a second tick (or a second worker's): nothing more
    }
    const jobs = await queue.queue.getDelayed();
    const due = (j: (typeof jobs)[number]) => new Date(j.timestamp + (j.opts.delay ?? 0)).getTime() - j.timestamp;
    expect(jobs).toHaveLength(4);
    // Each tick had one member due: a batch of one, naming the member and the local day.
    const job = (w: typeof paris, day: string) =>
      jobs.find(
        (j) =>
          j.data.kind === 'daily-batch' &&
          j.data.members.some((m) => m.workspaceId === w.ctx.workspaceId && m.userId === w.ctx.userId && m.day === day),
      )!;
    // Each delay is what separates its tick from 08:30 local that day: ten minutes.
    for (const [w, day] of [
      [paris, '2026-03-29'],
      [ny, '2026-03-08'],
      [ny, '2026-11-01'],
      [paris, '2026-03-28'],
    ] as const) {
      expect(job(w, day).data).toMatchObject({ kind: 'daily-batch', members: [{ day }] });
      expect(due(job(w, day))).toBe(10 * 60_000);
    }
    // A quiet day adds nothing.
    await updateSettings(deps, paris.ctx, { quietDays: [5] });
    await runTick(deps, queue, utc('2026-04-03T06:20:00Z')); // a Friday
    expect(await queue.queue.getDelayed()).toHaveLength(4);
  }, 60_000);
});

describe.runIf(!!TEST_DATABASE_URL)('two workers and a SIGKILL (PostgreSQL)', () => {
  it('the morning a SIGKILLed worker was writing is sent once, by the other worker', async () => {
    const scratch = await openPostgresForTest(TEST_DATABASE_URL!);
    let hangFirst = true;
    const llm = await startFakeLlm({
      openai: (): FakeReply => {
        if (hangFirst) {
          hangFirst = false;
          return { hang: true };
        }
        return { text: 'Good morning! One post today keeps you moving.' };
      },
    });
    const env = await startPublishingEnv({ connectors: [], database: scratch.database });
    const events: HeraldEvent[] = await env.recordEvents();
    const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
    const prefix = `${env.prefix}-coach-${randomUUID().slice(0, 4)}`;
    const queue = new CoachQueue({ connection: bull, prefix });
    let child: ChildProcess | undefined;
    let worker: Worker | undefined;
    try {
      const w = await workspaceWithAccount(env, { timeZone: 'Europe/Paris' });
      const deps = { db: scratch.database.db, scheduling: env.deps };
      await addFollowers(env, w, new Date(), 5, () => 50);
      await setGoal(deps, w.ctx, { metric: 'followers', target: 100, dueDate: '2029-06-01', account: w.accountId });
      const day = DateTime.now().setZone('Europe/Paris').toFormat('yyyy-LL-dd');
      const job = { workspaceId: w.ctx.workspaceId, userId: w.ctx.userId!, day };

      child = spawn(process.execPath, ['--import', 'tsx', 'test/coach/coach-worker-child.ts'], {
        env: {
          ...process.env,
          COACH_CRASH_DATABASE_URL: scratch.url,
          COACH_CRASH_PREFIX: prefix,
          COACH_CRASH_LLM_URL: llm.openaiUrl,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        child!.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
        child!.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      await queue.addDaily(job, 0);
      // The child has the job and is waiting on the model: kill it there.
      await waitFor(
        () => (llm.requests.some((r) => r.protocol === 'openai') ? true : undefined),
        30_000,
        'the model call',
      );
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));

      const router = new ModelRouter({
        registry: new ModelRegistry(),
        providers: { openai: { apiKey: 'sk-test', baseUrl: llm.openaiUrl } },
        usage: new LedgerUsageSink(scratch.database.db, { cacheMs: 0 }),
      });
      worker = startCoachWorker(
        {
          ...deps,
          notifier: new Notifier({ db: scratch.database.db, events: env.events }),
          writer: coachWriter(router, scratch.database.db),
        },
        queue,
        { connection: bull, prefix, lockDurationMs: 2_000, stalledIntervalMs: 1_000 },
      );
      // The stalled job comes back to the live worker, which sends it.
      await waitFor(
        () => (events.some((e) => e.type === 'notification' && e.userId === w.ctx.userId) ? true : undefined),
        30_000,
        'the morning notification',
      );
      // Another tick, another run, the job added again: nothing more.
      await queue.addDaily(job, 0);
      expect(
        await runDaily({ ...deps, notifier: new Notifier({ db: scratch.database.db, events: env.events }) }, job),
      ).toMatchObject({
        kind: 'duplicate',
        delivered: false,
      });
      await new Promise((r) => setTimeout(r, 1_000));
      const mine = events.filter(
        (e) => e.type === 'notification' && e.userId === w.ctx.userId && e.kind === 'coach.daily',
      );
      expect(mine).toHaveLength(1);
      // ...and the day's one nudge (nothing was ever posted), once too.
      expect(events.filter((e) => e.type === 'notification' && e.userId === w.ctx.userId)).toHaveLength(2);
      expect((mine[0] as { text: string }).text).toBe('Good morning! One post today keeps you moving.');
      const rows = await scratch.database.db.select().from(schema.coachMessages);
      expect(rows.filter((r) => r.userId === w.ctx.userId && r.kind === 'daily')).toHaveLength(1);
      const notes = await scratch.database.db.select().from(schema.notifications);
      expect(
        notes
          .filter((n) => n.userId === w.ctx.userId)
          .map((n) => n.kind)
          .sort(),
      ).toEqual(['coach.daily', 'coach.intervention']);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await worker?.close();
      await queue.queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await bull.quit();
      await env.close();
      await llm.close();
      await scratch.dispose();
    }
  }, 90_000);
});
