/**
 * A real knowledge stack for tests: a Chroma server started from the `chromadb` package
 * (one per test file, files in a temporary directory), the ingestion queue and an
 * in-process ingestion worker on the test Redis, over a given database and event bus.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createLogger, createRedisConnection, type Db, type EventBus } from '../../core/index.js';
import {
  type Embedders,
  getSource,
  KnowledgeQueue,
  KnowledgeStore,
  LexicalEmbedder,
  startChroma,
  startKnowledgeWorker,
  type ChromaHandle,
  type Embedder,
  type KnowledgeJobData,
  type IngestLimits,
  type KnowledgeContext,
  type KnowledgeDeps,
  type SearchHit,
  type SeedDocument,
  type SourceView,
} from '../../knowledge/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

export interface TestChroma {
  handle: ChromaHandle;
  close(): Promise<void>;
}

export async function startTestChroma(): Promise<TestChroma> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-knowledge-'));
  const handle = await startChroma({
    url: undefined,
    dataDir,
    startTimeoutMs: 30_000,
    logger: createLogger({ level: 'silent' }),
  });
  return {
    handle,
    async close() {
      await handle.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface KnowledgeEnv {
  deps: KnowledgeDeps;
  worker: Worker<KnowledgeJobData>;
  close(): Promise<void>;
}

export async function startKnowledgeEnv(opts: {
  db: Db;
  events: EventBus | null;
  chroma: ChromaHandle;
  prefix: string;
  embedder?: Embedder;
  /** Embedders workspaces may choose (their default replaces `embedder`). */
  embedders?: Embedders;
  limits?: Partial<IngestLimits>;
  batchSize?: number;
  seed?: SeedDocument[];
  /** Attempts per ingestion job (default 1: a failure is final at once) and the first retry's delay. */
  maxAttempts?: number;
  backoffMs?: number;
  /** The feed poller's tick; `npm start` runs it every minute (the default). */
  feedPollEveryMs?: number;
}): Promise<KnowledgeEnv> {
  const connection = createRedisConnection(REDIS_URL, { purpose: 'worker' });
  const defaultEmbedder = opts.embedders?.defaultEmbedder ?? opts.embedder ?? new LexicalEmbedder();
  const store = new KnowledgeStore(opts.chroma.client, defaultEmbedder, {
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  });
  const queue = new KnowledgeQueue({
    connection,
    prefix: `${opts.prefix}-k`,
    maxAttempts: opts.maxAttempts ?? 1,
    ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
  });
  const deps: KnowledgeDeps = {
    db: opts.db,
    store,
    queue,
    events: opts.events,
    limits: { maxBytes: 64 * 1024, fetchTimeoutMs: 2_000, ...opts.limits },
    ...(opts.seed ? { seed: opts.seed } : {}),
    ...(opts.embedders ? { embedders: opts.embedders } : {}),
  };
  const worker = startKnowledgeWorker(
    { ...deps, logger: createLogger({ level: 'silent' }) },
    {
      connection,
      prefix: `${opts.prefix}-k`,
      concurrency: 4,
      ...(opts.feedPollEveryMs ? { feedPollEveryMs: opts.feedPollEveryMs } : {}),
    },
  );
  return {
    deps,
    worker,
    async close() {
      await worker.close();
      await queue.queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await connection.quit();
    },
  };
}

/** Polls the source until its ingestion for `generation` (default: its current one) has finished. */
export async function waitForIngest(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  id: string,
  generation?: number,
): Promise<SourceView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await getSource(deps, ctx, id);
    if ((generation === undefined || s.generation === generation) && (s.status === 'ready' || s.status === 'failed'))
      return s;
    if (Date.now() > deadline) throw new Error(`source ${id} still ${s.status} (generation ${s.generation})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A workspace owner's context, as REST builds it. */
export const ownerContext = (p: { workspaceId: string; userId: string }): KnowledgeContext => ({
  workspaceId: p.workspaceId,
  userId: p.userId,
  role: 'owner',
  channel: 'rest',
});

/** `GET /v1/knowledge/search` as this person; `extra` is more of the query string (`&type=note`). */
export async function searchOverRest(
  app: FastifyInstance,
  p: { auth: Record<string, string> },
  q: string,
  extra = '',
): Promise<SearchHit[]> {
  const res = await app.inject({
    method: 'GET',
    url: `/v1/knowledge/search?q=${encodeURIComponent(q)}${extra}`,
    headers: p.auth,
  });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { items: SearchHit[] }).items;
}

export interface KnowledgeApi {
  chroma: TestChroma;
  kenv: KnowledgeEnv;
  /** The REST API serving `/v1/knowledge` over `kenv`. */
  api: ApiEnv;
  /** Drops these workspaces' collections, then stops everything. */
  close(workspaceIds: string[]): Promise<void>;
}

/** Chroma, the knowledge stack and the REST API over one database and event bus. */
export async function startKnowledgeApi(
  limits: Partial<IngestLimits> = {},
  opts: { embedders?: Embedders; maxAttempts?: number; backoffMs?: number; feedPollEveryMs?: number } = {},
): Promise<KnowledgeApi> {
  const chroma = await startTestChroma();
  let kenv: KnowledgeEnv | undefined;
  const api = await startApiEnv({
    knowledge: async (env) => {
      kenv = await startKnowledgeEnv({
        db: env.database.db,
        events: env.events,
        chroma: chroma.handle,
        prefix: env.prefix,
        limits,
        ...opts,
      });
      return kenv.deps;
    },
  });
  return {
    chroma,
    kenv: kenv!,
    api,
    async close(workspaceIds) {
      for (const ws of workspaceIds) await kenv?.deps.store.dropWorkspace(ws);
      await api.close();
      await kenv?.close();
      await chroma.close();
    },
  };
}
