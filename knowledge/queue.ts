/**
 * Ingestion runs as BullMQ jobs on the `herald-knowledge` queue: one job per (source,
 * generation), so asking twice for the same ingest is a no-op and a re-ingest gets a job of
 * its own. Progress goes to the job (`job.progress`) and to the event bus
 * (`knowledge.ingest`). Retryable failures (Chroma or Ollama down, a URL timing out) are
 * retried with backoff; bad input fails the source at once.
 */
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { ingestSource, type IngestDeps } from './ingest.js';

export const KNOWLEDGE_QUEUE = 'herald-knowledge';

export interface IngestJobData {
  workspaceId: string;
  sourceId: string;
  generation: number;
  /** Embed the stored text again (a model change) rather than fetching a URL or feed anew. */
  reembed?: boolean;
}

export interface KnowledgeQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix. Default `bull`. */
  prefix?: string | undefined;
  /** Tries per job for retryable failures. Default 3. */
  maxAttempts?: number;
  /** First retry delay, doubled each time. Default 2000 ms. */
  backoffMs?: number;
}

export class KnowledgeQueue {
  readonly queue: Queue<IngestJobData>;
  readonly #opts: KnowledgeQueueOptions;

  constructor(opts: KnowledgeQueueOptions) {
    this.#opts = opts;
    this.queue = new Queue<IngestJobData>(KNOWLEDGE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
  }

  async enqueue(data: IngestJobData): Promise<void> {
    await this.queue.add('ingest', data, {
      jobId: `${data.sourceId}-g${data.generation}`,
      attempts: this.#opts.maxAttempts ?? 3,
      backoff: { type: 'exponential', delay: this.#opts.backoffMs ?? 2_000 },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
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
}

export function startKnowledgeWorker(deps: IngestDeps, opts: KnowledgeWorkerOptions): Worker<IngestJobData> {
  const worker = new Worker<IngestJobData>(
    KNOWLEDGE_QUEUE,
    async (job) => {
      const { workspaceId, sourceId, generation, reembed } = job.data;
      return ingestSource(
        deps,
        workspaceId,
        sourceId,
        generation,
        (done, total) => job.updateProgress({ chunksDone: done, chunksTotal: total }),
        { reembed: reembed === true },
      );
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: opts.concurrency ?? 2 },
  );
  worker.on('error', (err) => deps.logger?.error({ err }, 'knowledge worker error'));
  return worker;
}
