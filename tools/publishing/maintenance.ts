/**
 * Repeatable background jobs on their own queue: the reconciler (every
 * `reconcileEveryMs`) and the materialisation of recurring posts (every
 * `recurrenceEveryMs`). Job schedulers are upserted by id, so every process may register
 * them and each still runs once per interval.
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../../core/index.js';
import { materializeAllSeries, type SchedulingDeps } from '../scheduling/index.js';
import { reconcile } from './reconciler.js';

export const MAINTENANCE_QUEUE = 'herald-maintenance';

export interface MaintenanceOptions {
  connection: ConnectionOptions;
  prefix?: string;
  /** Default 30000 ms. */
  reconcileEveryMs?: number;
  /** Default 10 minutes. */
  recurrenceEveryMs?: number;
}

export async function startMaintenance(
  deps: SchedulingDeps & { logger: Logger },
  opts: MaintenanceOptions,
): Promise<{ close(): Promise<void> }> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  await queue.upsertJobScheduler('reconcile', { every: opts.reconcileEveryMs ?? 30_000 }, { name: 'reconcile' });
  await queue.upsertJobScheduler(
    'recurrence',
    { every: opts.recurrenceEveryMs ?? 10 * 60_000 },
    { name: 'recurrence' },
  );
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.name === 'reconcile') return reconcile({ db: deps.db, queue: deps.queue, logger: deps.logger });
      if (job.name === 'recurrence') return materializeAllSeries(deps);
      return undefined;
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'maintenance worker error'));
  worker.on('failed', (job, err) => deps.logger.error({ job: job?.name, err }, 'maintenance job failed'));
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
