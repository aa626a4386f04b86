/**
 * The coach on BullMQ: one job scheduler (`coach-tick`, every 5 minutes — one schedule
 * however many workers run) whose tick looks at every member with an active goal and, when
 * their chosen local time (default 08:30, read in their zone on that very day, so a DST
 * change moves nothing) falls within the next quarter hour, adds their day to a job delayed
 * to that instant. The members due at the same instant share jobs of up to `DAILY_BATCH_SIZE`
 * (their facts are read together: `runDailyBatch`). A job's id is a digest of its members and
 * days, so ticks, workers and restarts add the same batch once; a member
 * who lands in two batches (the list changed between ticks), or a job retried after a crash,
 * is guarded by the day's unique message row and the notification's dedupe key (`daily.ts`).
 */
import { createHash } from 'node:crypto';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { memberZone, schema, type Logger } from '../core/index.js';
import type { CoachDeps } from './context.js';
import { runDailyBatch, type DailyJob, type DailyOutcome } from './daily.js';
import { DEFAULT_DAILY_TIME } from './settings.js';

export const COACH_QUEUE = 'herald-coach';
/** Between two ticks. */
export const DEFAULT_TICK_EVERY_MS = 5 * 60_000;
/** A tick adds the jobs due before now + this (more than a tick, so none falls between two). */
export const LOOKAHEAD_MS = 15 * 60_000;
/** A morning missed by more than this (workers down) is skipped, not sent late in the day. */
export const LATE_MS = 3 * 3_600_000;

/** Members in one daily job at most (those due at the same instant are split into jobs this size). */
export const DAILY_BATCH_SIZE = 200;

export type CoachJobData =
  | { kind: 'tick' }
  /** The members' mornings due at one instant (`at`, ISO). */
  | { kind: 'daily-batch'; at: string; members: DailyJob[] }
  /** One member's morning: jobs added before batches existed, still run when found. */
  | ({ kind: 'daily' } & DailyJob);

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

  /**
   * Adds the mornings due at one instant as one job, delayed to it; the same members and days
   * again add nothing (the job id is their digest).
   */
  async addDailyBatch(members: DailyJob[], at: Date, delayMs: number): Promise<void> {
    const digest = createHash('sha1')
      .update(
        members
          .map((m) => `${m.workspaceId}.${m.userId}.${m.day}`)
          .sort()
          .join('|'),
      )
      .digest('hex')
      .slice(0, 20);
    await this.queue.add(
      'daily',
      { kind: 'daily-batch', at: at.toISOString(), members },
      {
        jobId: `daily.${digest}`,
        delay: Math.max(0, delayMs),
        attempts: 3,
        backoff: { type: 'exponential', delay: 30_000 },
        removeOnComplete: { age: 2 * 86_400 },
        removeOnFail: { age: 7 * 86_400 },
      },
    );
  }

  /** Adds one member's day (a batch of one), delayed to its instant; added again, nothing. */
  async addDaily(job: DailyJob, delayMs: number): Promise<void> {
    await this.addDailyBatch([job], new Date(Date.now() + Math.max(0, delayMs)), delayMs);
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

/** The tick: every member's day that falls due soon, in batches per instant, each added once. Returns the mornings added. */
export async function runTick(
  deps: Pick<CoachDeps, 'db'>,
  queue: CoachQueue,
  now = new Date(),
  opts: { batchSize?: number } = {},
): Promise<number> {
  const byInstant = new Map<number, DailyJob[]>();
  for (const member of await coachMembers(deps))
    for (const due of dueMessages(member, now)) {
      const list = byInstant.get(due.at.getTime()) ?? [];
      list.push({ workspaceId: member.workspaceId, userId: member.userId, day: due.day });
      byInstant.set(due.at.getTime(), list);
    }
  const size = Math.max(1, opts.batchSize ?? DAILY_BATCH_SIZE);
  let added = 0;
  for (const [at, list] of byInstant) {
    // A stable order, so the next tick cuts the same batches (and their ids match).
    list.sort((a, b) => `${a.workspaceId}.${a.userId}.${a.day}`.localeCompare(`${b.workspaceId}.${b.userId}.${b.day}`));
    for (let i = 0; i < list.length; i += size) {
      const batch = list.slice(i, i + size);
      await queue.addDailyBatch(batch, new Date(at), at - now.getTime());
      added += batch.length;
    }
  }
  return added;
}

/** What a daily job did, kept as its return value: how many mornings were sent, found sent, skipped. */
export interface DailyBatchSummary {
  members: number;
  sent: number;
  duplicate: number;
  skipped: number;
  /** Sent from the template after the model's text failed its check or no model answered. */
  template: number;
}

export function summarize(outcomes: DailyOutcome[]): DailyBatchSummary {
  const s: DailyBatchSummary = { members: outcomes.length, sent: 0, duplicate: 0, skipped: 0, template: 0 };
  for (const o of outcomes) {
    s[o.kind]++;
    if (o.kind === 'sent' && o.source === 'template') s.template++;
  }
  return s;
}

export interface CoachWorkerOptions extends CoachQueueOptions {
  /** Daily jobs (batches) run at once in this process; each prepares `memberConcurrency` members at once. Default 1. */
  concurrency?: number;
  /** Members of one batch prepared at once. Default `DEFAULT_DAILY_CONCURRENCY` (16). */
  memberConcurrency?: number;
  /** Members per daily job the tick adds. Default `DAILY_BATCH_SIZE` (200). */
  batchSize?: number;
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
    async (job: Job<CoachJobData>): Promise<number | DailyBatchSummary> => {
      const d = job.data;
      if (d.kind === 'tick') return runTick(deps, queue, deps.now?.() ?? new Date(), { batchSize: opts.batchSize });
      const jobs =
        d.kind === 'daily-batch' ? d.members : [{ workspaceId: d.workspaceId, userId: d.userId, day: d.day }];
      const outcomes = await runDailyBatch(deps, jobs, { concurrency: opts.memberConcurrency });
      return summarize(outcomes);
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1,
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
