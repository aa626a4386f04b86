/**
 * The coach on BullMQ: one job scheduler (`coach-tick`, every 5 minutes — one schedule
 * however many workers run) whose tick looks at every member with an active goal and, when
 * their chosen local time (default 08:30, read in their zone on that very day, so a DST
 * change moves nothing) falls within the next quarter hour, adds their day's job, delayed
 * to that instant. The job id is `daily.<workspace>.<member>.<local day>`, so ticks, workers
 * and restarts add it once; the day's unique message row guards the rest (`daily.ts`).
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { memberZone, schema, type Logger } from '../core/index.js';
import type { CoachDeps } from './context.js';
import { runDaily, type DailyJob, type DailyOutcome } from './daily.js';
import { DEFAULT_DAILY_TIME } from './settings.js';

export const COACH_QUEUE = 'herald-coach';
/** Between two ticks. */
export const DEFAULT_TICK_EVERY_MS = 5 * 60_000;
/** A tick adds the jobs due before now + this (more than a tick, so none falls between two). */
export const LOOKAHEAD_MS = 15 * 60_000;
/** A morning missed by more than this (workers down) is skipped, not sent late in the day. */
export const LATE_MS = 3 * 3_600_000;

export type CoachJobData = { kind: 'tick' } | ({ kind: 'daily' } & DailyJob);

export interface CoachQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string;
}

export interface CoachMember {
  workspaceId: string;
  userId: string;
  timeZone: string;
  dailyTime: string;
  quietDays: number[];
}

export class CoachQueue {
  readonly queue: Queue<CoachJobData>;
  constructor(opts: CoachQueueOptions) {
    this.queue = new Queue<CoachJobData>(COACH_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  }

  /** Upserts the one schedule (idempotent across processes). */
  async startSchedule(everyMs = DEFAULT_TICK_EVERY_MS): Promise<void> {
    await this.queue.upsertJobScheduler('coach-tick', { every: everyMs }, { name: 'tick', data: { kind: 'tick' } });
  }

  /** Adds a member's day, delayed to its instant; a second add of the same day is a no-op. */
  async addDaily(job: DailyJob, delayMs: number): Promise<void> {
    await this.queue.add(
      'daily',
      { kind: 'daily', ...job },
      {
        jobId: `daily.${job.workspaceId}.${job.userId}.${job.day}`,
        delay: Math.max(0, delayMs),
        attempts: 3,
        backoff: { type: 'exponential', delay: 30_000 },
        removeOnComplete: { age: 2 * 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      },
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The instants of the member's daily message on their local today and tomorrow that fall in [now − late, now + ahead). */
export function dueMessages(
  member: CoachMember,
  now: Date,
  window: { lateMs: number; aheadMs: number } = { lateMs: LATE_MS, aheadMs: LOOKAHEAD_MS },
): Array<{ day: string; at: Date }> {
  const [hour, minute] = member.dailyTime.split(':').map(Number) as [number, number];
  const today = DateTime.fromJSDate(now, { zone: member.timeZone }).startOf('day');
  const out: Array<{ day: string; at: Date }> = [];
  for (const d of [today.minus({ days: 1 }), today, today.plus({ days: 1 })]) {
    if (member.quietDays.includes(d.weekday)) continue;
    const at = d.set({ hour, minute, second: 0, millisecond: 0 }).toJSDate();
    const delta = at.getTime() - now.getTime();
    if (delta >= -window.lateMs && delta < window.aheadMs) out.push({ day: d.toFormat('yyyy-LL-dd'), at });
  }
  return out;
}

/** Members with an active goal and coaching on, with their zone and chosen time. */
export async function coachMembers(deps: Pick<CoachDeps, 'db'>): Promise<CoachMember[]> {
  const g = schema.coachGoals;
  const u = schema.users;
  const s = schema.coachSettings;
  const m = schema.memberships;
  const rows = await deps.db
    .selectDistinct({
      workspaceId: g.workspaceId,
      userId: g.userId,
      timeZone: memberZone,
      dailyTime: sql<string>`coalesce(${s.dailyTime}, ${DEFAULT_DAILY_TIME})`,
      quietDays: sql<number[]>`coalesce(${s.quietDays}, '{}'::integer[])`,
    })
    .from(g)
    .innerJoin(u, eq(u.id, g.userId))
    .innerJoin(m, and(eq(m.workspaceId, g.workspaceId), eq(m.userId, g.userId)))
    .innerJoin(schema.workspaces, eq(schema.workspaces.id, g.workspaceId))
    .leftJoin(s, and(eq(s.workspaceId, g.workspaceId), eq(s.userId, g.userId)))
    .where(and(eq(g.status, 'active'), sql`coalesce(${s.enabled}, true)`));
  return rows.map((r) => ({ ...r, quietDays: (r.quietDays ?? []).map(Number) }));
}

/** The tick: every member's day that falls due soon, added once. */
export async function runTick(deps: Pick<CoachDeps, 'db'>, queue: CoachQueue, now = new Date()): Promise<number> {
  let added = 0;
  for (const member of await coachMembers(deps)) {
    for (const due of dueMessages(member, now)) {
      await queue.addDaily(
        { workspaceId: member.workspaceId, userId: member.userId, day: due.day },
        due.at.getTime() - now.getTime(),
      );
      added++;
    }
  }
  return added;
}

export interface CoachWorkerOptions extends CoachQueueOptions {
  /** Members prepared at once in this process. Default 4. */
  concurrency?: number;
  /** BullMQ lock; a worker that dies holding a job loses it after this. Default 30000. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export function startCoachWorker(
  deps: CoachDeps & { logger?: Logger | undefined },
  queue: CoachQueue,
  opts: CoachWorkerOptions,
): Worker<CoachJobData> {
  const worker = new Worker<CoachJobData>(
    COACH_QUEUE,
    async (job: Job<CoachJobData>): Promise<number | DailyOutcome> => {
      const d = job.data;
      if (d.kind === 'tick') return runTick(deps, queue, deps.now?.() ?? new Date());
      return runDaily(deps, { workspaceId: d.workspaceId, userId: d.userId, day: d.day });
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 4,
      ...(opts.lockDurationMs ? { lockDuration: opts.lockDurationMs } : {}),
      ...(opts.stalledIntervalMs ? { stalledInterval: opts.stalledIntervalMs } : {}),
    },
  );
  worker.on('failed', (job, err) =>
    deps.logger?.warn({ jobId: job?.id, err: { message: err.message } }, 'coach job failed'),
  );
  worker.on('error', (err) => deps.logger?.error({ err }, 'coach worker error'));
  return worker;
}
