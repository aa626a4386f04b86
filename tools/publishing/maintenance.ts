/**
 * Repeatable background jobs on their own queue: the reconciler (every
 * `reconcileEveryMs`), the materialisation of recurring posts (every
 * `recurrenceEveryMs`) and, given the cipher, refreshing platform tokens ahead of expiry
 * (every `tokenRefreshEveryMs`). Job schedulers are upserted by id, so every process may register
 * them and each still runs once per interval.
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger, SecretCipher } from '../../core/index.js';
import { DEFAULT_REFRESH_EVERY_MS, refreshExpiringTokens } from '../accounts/index.js';
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
  /** Default {@link DEFAULT_REFRESH_EVERY_MS} (5 minutes). */
  tokenRefreshEveryMs?: number;
}

export async function startMaintenance(
  deps: SchedulingDeps & { logger: Logger; cipher?: SecretCipher },
  opts: MaintenanceOptions,
): Promise<{ close(): Promise<void> }> {
  const queue = new Queue(MAINTENANCE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  await queue.upsertJobScheduler('reconcile', { every: opts.reconcileEveryMs ?? 30_000 }, { name: 'reconcile' });
  await queue.upsertJobScheduler(
    'recurrence',
    { every: opts.recurrenceEveryMs ?? 10 * 60_000 },
    { name: 'recurrence' },
  );
  if (deps.cipher) {
    await queue.upsertJobScheduler(
      'token-refresh',
      { every: opts.tokenRefreshEveryMs ?? DEFAULT_REFRESH_EVERY_MS },
      { name: 'token-refresh' },
    );
  }
  const worker = new Worker(
    MAINTENANCE_QUEUE,
    async (job) => {
      if (job.name === 'reconcile') return reconcile({ db: deps.db, queue: deps.queue, logger: deps.logger });
      if (job.name === 'recurrence') return materializeAllSeries(deps);
      if (job.name === 'token-refresh' && deps.cipher) return refreshExpiringTokens({ ...deps, cipher: deps.cipher });
      return undefined;
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'maintenance worker error'));
  worker.on('failed', (job, err) => deps.logger.error({ job: job?.name, err }, 'maintenance job failed'));
  return {
    async close() {
      // A worker closed while its connection is still connecting dies of an uncaught
      // "Connection is closed" (server/runtime.ts, closeWorker): let it finish connecting.
      await worker.waitUntilReady().catch(() => undefined);
      await worker.close();
      await queue.close();
    },
  };
}
