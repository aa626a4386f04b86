/**
 * Ingestion runs as BullMQ jobs on the `herald-knowledge` queue: one job per (source,
 * generation), so asking twice for the same ingest is a no-op and a re-ingest gets a job of
 * its own. Progress goes to the job (`job.progress`) and to the event bus
 * (`knowledge.ingest`). `past_post` jobs (one per published target, `past-posts.ts`) add a
 * published post as a source and ingest it in the same job; `reembed` jobs (one per embedder
 * change, `reembed.ts`) re-embed a whole workspace for its new embedder; `feed_poll_tick` (a job
 * scheduler) and `feed_poll` jobs keep followed feeds fresh (`feed-poller.ts`). Retryable failures
 * (Chroma or Ollama down, a URL timing out) are retried with backoff — 3 attempts in all by
 * default, the source `retrying` in between; bad input fails the source at once.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import {
  FEED_POLL_JOB,
  FEED_POLL_SCHEDULER_ID,
  FEED_POLL_TICK_JOB,
  FEED_POLL_TICK_MS,
  pollFeedSource,
  queueDueFeedPolls,
  type FeedPollJobData,
} from './feed-poller.js';
import { ingestSource, type IngestAttempt, type IngestDeps } from './ingest.js';
import { ingestPastPost } from './past-posts.js';
import { reembedWorkspace } from './reembed.js';

export const KNOWLEDGE_QUEUE = 'herald-knowledge';

export interface IngestJobData {
  workspaceId: string;
  sourceId: string;
  generation: number;
  /** Embed the stored text again (a model change) rather than fetching a URL or feed anew. */
  reembed?: boolean;
}

/** A `past_post` job: add (or refresh) the knowledge source of one published target. */
export interface PastPostJobData {
  workspaceId: string;
  targetId: string;
}

/** A `reembed` job: fill a workspace's pending embedder's collection, then switch to it (`reembed.ts`). */
export interface ReembedJobData {
  workspaceId: string;
  /** The pending change (`settings.knowledge.next.changeId`) this job serves. */
  changeId: string;
}

export type KnowledgeJobData =
  IngestJobData | PastPostJobData | ReembedJobData | FeedPollJobData | Record<string, never>;
const isPastPost = (d: KnowledgeJobData): d is PastPostJobData => 'targetId' in d;
const isReembed = (d: KnowledgeJobData): d is ReembedJobData => 'changeId' in d;

/** One job per embedder change. */
export const reembedJobId = (workspaceId: string, changeId: string) => `reembed-${workspaceId}-${changeId}`;

export interface KnowledgeQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string | undefined;
  /** Attempts per job in all (the first and its retries) for retryable failures. Default 3. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 2000 ms. */
  backoffMs?: number;
}

export class KnowledgeQueue {
  readonly queue: Queue<KnowledgeJobData>;
  readonly #opts: KnowledgeQueueOptions;

  constructor(opts: KnowledgeQueueOptions) {
    this.#opts = opts;
    this.queue = new Queue<KnowledgeJobData>(KNOWLEDGE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  }

  async enqueue(data: IngestJobData): Promise<void> {
    await this.queue.add('ingest', data, this.#jobOptions(`${data.sourceId}-g${data.generation}`));
  }

  /** One job per target: processes that all hear the same `published` event queue it once. */
  async enqueuePastPost(data: PastPostJobData): Promise<void> {
    await this.queue.add('past_post', data, this.#jobOptions(`past-post-${data.targetId}`));
  }

  /** The workspace-wide re-embed after an embedder change; its progress is `{ chunksDone, chunksTotal }`. */
  async enqueueReembed(data: ReembedJobData): Promise<void> {
    await this.queue.add('reembed', data, this.#jobOptions(reembedJobId(data.workspaceId, data.changeId)));
  }

  #jobOptions(jobId: string) {
    return {
      jobId,
      attempts: this.#opts.maxAttempts ?? 3,
      backoff: { type: 'exponential' as const, delay: this.#opts.backoffMs ?? 2_000 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

export interface KnowledgeWorkerOptions {
  connection: ConnectionOptions;
  prefix?: string | undefined;
  /** Jobs at once per process. Default 2. */
  concurrency?: number;
  /**
   * The feed poller's tick (a BullMQ job scheduler, upserted by every worker process: one
   * schedule whatever their number). Default `FEED_POLL_TICK_MS` (a minute).
   */
  feedPollEveryMs?: number;
}

/** This run's attempt, and the wait BullMQ will make before the next (its backoff formulas). */
function attemptOf(job: Job<KnowledgeJobData>): IngestAttempt {
  const attempt = job.attemptsMade + 1;
  const backoff = job.opts.backoff;
  const delay = typeof backoff === 'number' ? backoff : (backoff?.delay ?? 0);
  const exponential = typeof backoff === 'object' && backoff.type === 'exponential';
  return {
    attempt,
    maxAttempts: job.opts.attempts ?? 1,
    retryDelayMs: exponential ? 2 ** (attempt - 1) * delay : delay,
  };
}

export function startKnowledgeWorker(deps: IngestDeps, opts: KnowledgeWorkerOptions): Worker<KnowledgeJobData> {
  // The tick queues poll jobs on the same queue.
  const polls = new Queue(KNOWLEDGE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  const worker = new Worker<KnowledgeJobData>(
    KNOWLEDGE_QUEUE,
    async (job) => {
      if (job.name === FEED_POLL_TICK_JOB) return queueDueFeedPolls(deps.db, polls);
      if (job.name === FEED_POLL_JOB) {
        const { workspaceId, sourceId } = job.data as FeedPollJobData;
        return pollFeedSource(deps, workspaceId, sourceId);
      }
      const progress = (done: number, total: number) => job.updateProgress({ chunksDone: done, chunksTotal: total });
      if (isPastPost(job.data))
        return ingestPastPost(deps, job.data.workspaceId, job.data.targetId, progress, { attempt: attemptOf(job) });
      if (isReembed(job.data)) return reembedWorkspace(deps, job.data.workspaceId, job.data.changeId, progress);
      const { workspaceId, sourceId, generation, reembed } = job.data as IngestJobData;
      return ingestSource(deps, workspaceId, sourceId, generation, progress, {
        reembed: reembed === true,
        attempt: attemptOf(job),
      });
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 2 },
  );
  worker.on('error', (err) => deps.logger?.error({ err }, 'knowledge worker error'));
  worker.on('closed', () => void polls.close().catch(() => undefined));
  polls
    .upsertJobScheduler(
      FEED_POLL_SCHEDULER_ID,
      { every: opts.feedPollEveryMs ?? FEED_POLL_TICK_MS },
      { name: FEED_POLL_TICK_JOB, data: {}, opts: { removeOnComplete: true, removeOnFail: { count: 100 } } },
    )
    .catch((err: unknown) => deps.logger?.error({ err }, 'feed poll schedule not set'));
  return worker;
}
