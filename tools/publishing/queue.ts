/**
 * The publish queue: one delayed BullMQ job per target, job id = target id, so enqueuing a
 * target twice is a no-op and a job can always be found from its target. Moving a post in
 * time changes the job's delay; cancelling removes the job (the worker also re-checks the
 * target's status, so a job that escapes removal does nothing).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

export const PUBLISH_QUEUE = 'herald-publish';

export interface PublishJobData {
  workspaceId: string;
  targetId: string;
}

export interface PublishQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix; tests use their own to stay apart. Default `bull`. */
  prefix?: string;
  /** Tries per job for transient failures (rate-limit waits do not count). Default 8. */
  maxAttempts?: number;
  /** First retry delay, doubled each time with jitter. Default 2000 ms. */
  backoffMs?: number;
  now?: () => number;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
export const DEFAULT_BACKOFF_MS = 2_000;

export class PublishQueue {
  readonly queue: Queue<PublishJobData>;
  readonly #now: () => number;
  readonly #jobOptions: JobsOptions;

  constructor(opts: PublishQueueOptions) {
    this.queue = new Queue<PublishJobData>(PUBLISH_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.#now = opts.now ?? Date.now;
    this.#jobOptions = {
      attempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      backoff: { type: 'exponential', delay: opts.backoffMs ?? DEFAULT_BACKOFF_MS, jitter: 0.5 },
      // Finished jobs are kept a while so a late duplicate enqueue stays a no-op.
      removeOnComplete: { age: 24 * 3600, count: 50_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  #delay(scheduledAt: Date | null): number {
    return Math.max(0, (scheduledAt?.getTime() ?? 0) - this.#now());
  }

  async enqueue(target: { workspaceId: string; id: string; scheduledAt: Date | null }): Promise<void> {
    await this.queue.add(
      'publish',
      { workspaceId: target.workspaceId, targetId: target.id },
      { ...this.#jobOptions, jobId: target.id, delay: this.#delay(target.scheduledAt) },
    );
  }

  async enqueueMany(targets: Array<{ workspaceId: string; id: string; scheduledAt: Date | null }>): Promise<void> {
    if (targets.length === 0) return;
    await this.queue.addBulk(
      targets.map((t) => ({
        name: 'publish',
        data: { workspaceId: t.workspaceId, targetId: t.id },
        opts: { ...this.#jobOptions, jobId: t.id, delay: this.#delay(t.scheduledAt) },
      })),
    );
  }

  /** Moves the target's job to its new time, re-creating it when it is gone or already finished. */
  async reschedule(target: { workspaceId: string; id: string; scheduledAt: Date | null }): Promise<void> {
    const job = await this.queue.getJob(target.id);
    if (job) {
      const state = await job.getState();
      if (state === 'delayed') {
        await job.changeDelay(this.#delay(target.scheduledAt));
        return;
      }
      if (state === 'active') return; // the worker re-reads the target and defers to its new time
      await job.remove().catch(() => undefined);
    }
    await this.enqueue(target);
  }

  /** Removes the target's job if it has not started; true when there is no job left waiting. */
  async remove(targetId: string): Promise<void> {
    const job = await this.queue.getJob(targetId);
    if (job && (await job.getState()) !== 'active') await job.remove().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
