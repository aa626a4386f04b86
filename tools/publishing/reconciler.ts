/**
 * The reconciler: finds targets that should have a publish job but do not — Redis lost its
 * data, a deploy dropped jobs, BullMQ gave up on a stalled job — and queues them again.
 * It can never cause a second publish: the job id is the target id, and the worker re-reads
 * the target and its attempt journal before calling any platform.
 */
import { and, asc, eq, gt, lt, lte, or } from 'drizzle-orm';
import { schema, type Db, type Logger } from '../../core/index.js';
import type { PublishQueue } from './queue.js';

export interface ReconcileOptions {
  /** Scheduled targets due within this horizon must have a job. Default 10 minutes. */
  horizonMs?: number;
  /** A target in `publishing` untouched for this long is checked. Default 2 minutes. */
  stuckAfterMs?: number;
  batchSize?: number;
}

export interface ReconcileReport {
  checked: number;
  requeued: number;
}

export async function reconcile(
  deps: { db: Db; queue: PublishQueue; logger: Logger },
  opts: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const t = schema.postTargets;
  const now = Date.now();
  const horizon = new Date(now + (opts.horizonMs ?? 10 * 60_000));
  const stuck = new Date(now - (opts.stuckAfterMs ?? 2 * 60_000));
  const batchSize = opts.batchSize ?? 500;
  const report: ReconcileReport = { checked: 0, requeued: 0 };
  // Pages by id (keyset), not by offset: targets publish and leave the result set while the
  // sweep runs, and an offset would then skip the ones that moved up into the gap.
  let after: string | null = null;
  for (;;) {
    // All workspaces: this is the system's own consistency check, not a tenant query.
    const rows = await deps.db
      .select({ id: t.id, workspaceId: t.workspaceId, scheduledAt: t.scheduledAt, status: t.status })
      .from(t)
      .where(
        and(
          or(
            and(eq(t.status, 'scheduled'), lte(t.scheduledAt, horizon)),
            and(eq(t.status, 'publishing'), lt(t.updatedAt, stuck)),
          ),
          after === null ? undefined : gt(t.id, after),
        ),
      )
      .orderBy(asc(t.id))
      .limit(batchSize);
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    report.checked += rows.length;
    const states = await Promise.all(rows.map((r) => deps.queue.queue.getJobState(r.id)));
    for (const [i, row] of rows.entries()) {
      const state = states[i];
      if (state === 'unknown' || state === 'completed' || state === 'failed') {
        if (state !== 'unknown') await (await deps.queue.queue.getJob(row.id))?.remove().catch(() => undefined);
        await deps.queue.enqueue(row);
        report.requeued++;
      }
    }
    if (rows.length < batchSize) break;
  }
  if (report.requeued > 0) deps.logger.warn(report, 'reconciler queued targets that had no job');
  return report;
}
