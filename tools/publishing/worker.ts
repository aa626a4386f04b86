/**
 * The BullMQ side of publishing: runs `publishTarget` for each job and turns its outcome
 * into BullMQ's terms — done, deferred (moved back to delayed without using up a try:
 * rate limits, busy accounts, asynchronous processing) or retried with jittered backoff.
 */
import { DelayedError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { PUBLISH_QUEUE, type PublishJobData } from './queue.js';
import { publishTarget } from './publish-target.js';
import type { PublishWorkerDeps } from './worker-deps.js';

export interface PublishWorkerOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string;
  /** Jobs processed at once by this process. Default 16. */
  concurrency?: number;
  /** How long a job's lock lasts without renewal before another worker may take it over. Default 30000 ms. */
  lockDurationMs?: number;
  /** How often stalled jobs (their worker died) are looked for. Default 15000 ms. */
  stalledIntervalMs?: number;
}

export const DEFAULT_PUBLISH_CONCURRENCY = 16;

export function startPublishWorker(deps: PublishWorkerDeps, opts: PublishWorkerOptions): Worker<PublishJobData> {
  const worker = new Worker<PublishJobData>(
    PUBLISH_QUEUE,
    async (job: Job<PublishJobData>, token?: string) => {
      const outcome = await publishTarget(deps, job.data.workspaceId, job.data.targetId, {
        lastTry: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        holder: `${job.id}:${token ?? ''}`,
      });
      switch (outcome.kind) {
        case 'done':
          if (outcome.status === 'published' && deps.onPublished)
            await deps
              .onPublished(job.data)
              .catch((err: unknown) =>
                deps.logger.warn({ targetId: job.data.targetId, err }, 'after-publish hook failed'),
              );
          return outcome.status;
        case 'defer':
          await job.moveToDelayed(outcome.until, token);
          throw new DelayedError(outcome.reason);
        case 'retry':
          throw outcome.error;
      }
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 15_000,
      // A job whose worker died is always taken over; the journal makes that safe, and the
      // reconciler is the backstop if BullMQ ever gives up on one.
      maxStalledCount: 1_000,
    },
  );
  worker.on('failed', (job, err) => {
    if (err instanceof DelayedError) return;
    deps.logger.warn(
      { jobId: job?.id, attemptsMade: job?.attemptsMade, err: { message: err.message, name: err.name } },
      'publish try failed',
    );
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'publish worker error'));
  return worker;
}
