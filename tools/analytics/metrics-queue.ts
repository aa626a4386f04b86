/**
 * The metrics queue: one delayed BullMQ job per published target per stage of the decaying
 * schedule (job id `<target>.<stage>`, so scheduling twice is a no-op), and a daily job that
 * snapshots every active account's audience and re-schedules any stage a published target is
 * missing (the backstop when a publish hook was lost). A 429 moves the job back to delayed
 * until the platform's reset without using a try; a deleted post removes its later stages.
 * A second schedule (`report-tick`, every 15 minutes) adds each member's weekly report job,
 * delayed to Monday 09:00 in their zone (`report-delivery.ts`).
 */
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { and, eq, gte, inArray } from 'drizzle-orm';
import { schema } from '../../core/index.js';
import { dueReports, deliverWeeklyReport, REPORT_TICK_EVERY_MS, reportRecipients } from './report-delivery.js';
import type { ReportDeliveryDeps, WeeklyReportJob } from './report-delivery.js';
import {
  collectAccountStats,
  collectTargetMetrics,
  DEFAULT_STAGES,
  type CollectDeps,
  type CollectOutcome,
} from './collect.js';

export const METRICS_QUEUE = 'herald-metrics';
/** How often account audiences are snapshotted (and missing stages re-scheduled). */
export const DEFAULT_DAILY_EVERY_MS = 86_400_000;
export const DEFAULT_METRICS_ATTEMPTS = 5;
export const DEFAULT_METRICS_BACKOFF_MS = 60_000;
export const DEFAULT_METRICS_CONCURRENCY = 4;
/** The daily backstop re-schedules a missing stage only while it is less overdue than this. */
export const STALE_STAGE_MS = 86_400_000;

export type MetricsJobData =
  | { kind: 'post'; workspaceId: string; targetId: string; stage: string }
  | { kind: 'account'; workspaceId: string; accountId: string; day: string }
  | { kind: 'daily' }
  | { kind: 'report-tick' }
  | ({ kind: 'report' } & WeeklyReportJob);

export interface MetricsQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string;
  /** The decaying schedule. Default {@link DEFAULT_STAGES} (1h, 6h, 24h, 72h, 7d, 30d). */
  stages?: ReadonlyArray<{ name: string; afterMs: number }>;
  /** Tries per read for transient failures (rate-limit waits do not count). Default 5. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 60000 ms. */
  backoffMs?: number;
}

export class MetricsQueue {
  readonly queue: Queue<MetricsJobData>;
  readonly stages: ReadonlyArray<{ name: string; afterMs: number }>;
  readonly #jobOptions: JobsOptions;

  constructor(opts: MetricsQueueOptions) {
    this.queue = new Queue<MetricsJobData>(METRICS_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.stages = opts.stages ?? DEFAULT_STAGES;
    this.#jobOptions = {
      attempts: opts.maxAttempts ?? DEFAULT_METRICS_ATTEMPTS,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? DEFAULT_METRICS_BACKOFF_MS, jitter: 0.5 },
      removeOnComplete: { age: 40 * 86_400, count: 200_000 },
      removeOnFail: { age: 7 * 86_400 },
    };
  }

  /** Schedules the target's stages that are not `done` (all of them on publishing). */
  async schedule(
    target: { workspaceId: string; id: string; publishedAt: Date },
    done: ReadonlySet<string> = new Set(),
  ): Promise<void> {
    const now = Date.now();
    const jobs = this.stages
      .filter((s) => !done.has(s.name))
      .map((s) => ({
        name: 'post',
        data: { kind: 'post' as const, workspaceId: target.workspaceId, targetId: target.id, stage: s.name },
        opts: {
          ...this.#jobOptions,
          jobId: `${target.id}.${s.name}`,
          delay: Math.max(0, target.publishedAt.getTime() + s.afterMs - now),
        },
      }));
    if (jobs.length > 0) await this.queue.addBulk(jobs);
  }

  /** Schedules every stage of a target just published (the publish worker's hook). */
  async scheduleTarget(db: CollectDeps['db'], target: { workspaceId: string; targetId: string }): Promise<void> {
    const t = schema.postTargets;
    const [row] = await db
      .select({ publishedAt: t.publishedAt, status: t.status })
      .from(t)
      .where(and(eq(t.workspaceId, target.workspaceId), eq(t.id, target.targetId)));
    if (row?.status !== 'published') return;
    await this.schedule({
      workspaceId: target.workspaceId,
      id: target.targetId,
      publishedAt: row.publishedAt ?? new Date(),
    });
  }

  /** Removes the target's stages that have not run (its post is gone). */
  async stop(targetId: string): Promise<void> {
    for (const s of this.stages) {
      const job = await this.queue.getJob(`${targetId}.${s.name}`);
      if (job && (await job.getState()) === 'delayed') await job.remove().catch(() => undefined);
    }
  }

  /** Upserts the daily audience job and the weekly reports' tick (idempotent across processes). */
  async startDaily(everyMs = DEFAULT_DAILY_EVERY_MS, reportTickEveryMs = REPORT_TICK_EVERY_MS): Promise<void> {
    await this.queue.upsertJobScheduler('daily', { every: everyMs }, { name: 'daily', data: { kind: 'daily' } });
    await this.queue.upsertJobScheduler(
      'report-tick',
      { every: reportTickEveryMs },
      { name: 'report-tick', data: { kind: 'report-tick' } },
    );
  }

  /** Adds a member's weekly report, delayed to its instant; a second add of the same week is a no-op. */
  async addWeeklyReport(job: WeeklyReportJob, delayMs: number): Promise<void> {
    await this.queue.add(
      'report',
      { kind: 'report', ...job },
      {
        jobId: `report.${job.workspaceId}.${job.userId}.${job.week}`,
        delay: Math.max(0, delayMs),
        attempts: 3,
        backoff: { type: 'exponential', delay: 60_000 },
        removeOnComplete: { age: 14 * 86_400 },
        removeOnFail: { age: 14 * 86_400 },
      },
    );
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Every active account's audience today, and the stages published targets still miss. */
export async function runDaily(
  deps: CollectDeps,
  queue: MetricsQueue,
  now = new Date(),
): Promise<{ accounts: number; rescheduled: number }> {
  const day = now.toISOString().slice(0, 10);
  const a = schema.socialAccounts;
  const accounts = await deps.db.select({ id: a.id, workspaceId: a.workspaceId }).from(a).where(eq(a.status, 'active'));
  await queue.queue.addBulk(
    accounts.map((x) => ({
      name: 'account',
      data: { kind: 'account' as const, workspaceId: x.workspaceId, accountId: x.id, day },
      opts: {
        jobId: `account.${x.id}.${day}`,
        attempts: 3,
        backoff: { type: 'exponential', delay: 60_000 },
        removeOnComplete: { age: 3 * 86_400 },
      },
    })),
  );
  const longest = Math.max(...queue.stages.map((s) => s.afterMs));
  const t = schema.postTargets;
  const targets = await deps.db
    .select({ id: t.id, workspaceId: t.workspaceId, publishedAt: t.publishedAt })
    .from(t)
    .where(and(eq(t.status, 'published'), gte(t.publishedAt, new Date(now.getTime() - longest - 86_400_000))));
  let rescheduled = 0;
  const m = schema.metricSnapshots;
  for (let i = 0; i < targets.length; i += 500) {
    const batch = targets.slice(i, i + 500);
    const rows = await deps.db
      .select({ targetId: m.targetId, stage: m.stage, status: m.status })
      .from(m)
      .where(
        inArray(
          m.targetId,
          batch.map((x) => x.id),
        ),
      );
    const done = new Map<string, Set<string>>();
    const gone = new Set(rows.filter((r) => r.status === 'deleted').map((r) => r.targetId));
    for (const r of rows) done.set(r.targetId, (done.get(r.targetId) ?? new Set()).add(r.stage));
    for (const x of batch) {
      if (!x.publishedAt || gone.has(x.id)) continue;
      const have = new Set(done.get(x.id) ?? []);
      // A stage overdue by more than a day is skipped: read now, it would not be that stage.
      for (const s of queue.stages)
        if (x.publishedAt.getTime() + s.afterMs < now.getTime() - STALE_STAGE_MS) have.add(s.name);
      if (have.size >= queue.stages.length) continue;
      await queue.schedule({ workspaceId: x.workspaceId, id: x.id, publishedAt: x.publishedAt }, have);
      rescheduled++;
    }
  }
  return { accounts: accounts.length, rescheduled };
}

/** The report tick: every member's weekly report that falls due soon, added once. */
export async function runReportTick(
  deps: Pick<ReportDeliveryDeps, 'db'>,
  queue: MetricsQueue,
  now = new Date(),
): Promise<number> {
  let added = 0;
  for (const member of await reportRecipients(deps.db)) {
    for (const due of dueReports(member, now)) {
      await queue.addWeeklyReport(
        { workspaceId: member.workspaceId, userId: member.userId, week: due.week },
        due.at.getTime() - now.getTime(),
      );
      added++;
    }
  }
  return added;
}

export interface MetricsWorkerOptions {
  connection: ConnectionOptions;
  prefix?: string;
  /** Reads in flight at once in this process. Default 4. */
  concurrency?: number;
}

export function startMetricsWorker(
  deps: CollectDeps & Pick<ReportDeliveryDeps, 'notify' | 'now'>,
  queue: MetricsQueue,
  opts: MetricsWorkerOptions,
): Worker<MetricsJobData> {
  const worker = new Worker<MetricsJobData>(
    METRICS_QUEUE,
    async (job: Job<MetricsJobData>, token?: string) => {
      const d = job.data;
      if (d.kind === 'daily') return runDaily(deps, queue);
      if (d.kind === 'report-tick') return runReportTick(deps, queue, deps.now?.() ?? new Date());
      if (d.kind === 'report') {
        const sent = await deliverWeeklyReport(deps, { workspaceId: d.workspaceId, userId: d.userId, week: d.week });
        return sent.kind === 'skipped' ? `skipped: ${sent.reason}` : sent.kind;
      }
      const run = {
        holder: `metrics:${job.id}:${token ?? ''}`,
        lastTry: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      };
      const outcome: CollectOutcome =
        d.kind === 'post'
          ? await collectTargetMetrics(deps, { ...d, ...run })
          : await collectAccountStats(deps, { ...d, ...run });
      switch (outcome.kind) {
        case 'defer':
          await job.moveToDelayed(outcome.until, token);
          throw new DelayedError(outcome.reason);
        case 'retry':
          throw outcome.error;
        case 'stopped':
          if (d.kind === 'post') await queue.stop(d.targetId);
          return outcome.status;
        case 'stored':
          return outcome.status;
        case 'skipped':
          return `skipped: ${outcome.reason}`;
      }
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? DEFAULT_METRICS_CONCURRENCY },
  );
  worker.on('failed', (job, err) => {
    if (err instanceof DelayedError) return;
    deps.logger.warn(
      { jobId: job?.id, attemptsMade: job?.attemptsMade, err: { message: err.message } },
      'metrics read failed',
    );
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'metrics worker error'));
  return worker;
}
