/**
 * Trend collection on a BullMQ schedule: one job scheduler (`trends-tick`) on the
 * `herald-trends` queue — one schedule however many workers run — whose tick queues a
 * `collect` job per workspace with a niche (job id per workspace and tick, so two ticks never
 * collect a workspace twice). The worker also listens for `knowledge.feed` events, so
 * followed feeds reach trends from the one knowledge poller instead of being polled again.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { schema, type EventBus, type Logger } from '../../core/index.js';
import { collectAndAlert, ingestFeedEvent, type TrendsDeps } from './collect.js';

export const TRENDS_QUEUE = 'herald-trends';
/** Between two collections of every workspace (so velocity is measured over this long). */
export const DEFAULT_TRENDS_EVERY_MS = 30 * 60_000;

export type TrendsJobData = { kind: 'tick' } | { kind: 'collect'; workspaceId: string };

export interface TrendsQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string;
}

export class TrendsQueue {
  readonly queue: Queue<TrendsJobData>;
  constructor(opts: TrendsQueueOptions) {
    this.queue = new Queue<TrendsJobData>(TRENDS_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  }

  /** Upserts the one schedule (idempotent across processes). */
  async startSchedule(everyMs = DEFAULT_TRENDS_EVERY_MS): Promise<void> {
    await this.queue.upsertJobScheduler('trends-tick', { every: everyMs }, { name: 'tick', data: { kind: 'tick' } });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The tick: a collect job per workspace that has a niche. */
export async function runTick(deps: TrendsDeps, queue: TrendsQueue, tickId: string): Promise<number> {
  const rows = await deps.db.select({ workspaceId: schema.trendNiches.workspaceId }).from(schema.trendNiches);
  await queue.queue.addBulk(
    rows.map((r) => ({
      name: 'collect',
      data: { kind: 'collect' as const, workspaceId: r.workspaceId },
      opts: { jobId: `collect.${r.workspaceId}.${tickId}`, removeOnComplete: 100, removeOnFail: 100 },
    })),
  );
  return rows.length;
}

export interface TrendsWorker {
  worker: Worker<TrendsJobData>;
  /** Stops taking knowledge.feed events (the worker is closed by its owner, or by `close`). */
  stopListening(): Promise<void>;
  close(): Promise<void>;
}

export async function startTrendsWorker(
  deps: TrendsDeps & { logger: Logger; events: EventBus | null },
  queue: TrendsQueue,
  opts: TrendsQueueOptions & { concurrency?: number },
): Promise<TrendsWorker> {
  const worker = new Worker<TrendsJobData>(
    TRENDS_QUEUE,
    async (job: Job<TrendsJobData>): Promise<number | Awaited<ReturnType<typeof collectAndAlert>>> =>
      job.data.kind === 'tick'
        ? runTick(deps, queue, String(job.timestamp))
        : collectAndAlert(deps, job.data.workspaceId),
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 2 },
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'trends worker error'));
  const unsubscribe = deps.events
    ? await deps.events.subscribe('*', (e) => {
        if (e.type !== 'knowledge.feed') return;
        ingestFeedEvent(deps.db, e, deps.now?.() ?? new Date(), deps.embedderFor).catch((err: unknown) =>
          deps.logger.warn({ err, sourceId: e.sourceId }, 'trends: feed event not stored'),
        );
      })
    : null;
  return {
    worker,
    stopListening: async () => {
      await unsubscribe?.();
    },
    close: async () => {
      await unsubscribe?.();
      await worker.close();
    },
  };
}
