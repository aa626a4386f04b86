/**
 * A workspace's embedder, seen and changed by its people: `embedderStatus` (any member) tells
 * which model and dimension search uses and how far a change has come; `changeEmbedder`
 * (admin) checks the new spec — it must be one this server can build, and the model must
 * answer an embedding request — then records it as pending and queues the workspace's
 * `reembed` job. Search keeps using the old embedder until that job switches (`reembed.ts`).
 */
import { randomUUID } from 'node:crypto';
import { auditAs, HeraldError, requireRole, type Db } from '../core/index.js';
import {
  embeddersOf,
  readKnowledgeSettings,
  specOf,
  writeKnowledgeSettings,
  type Embedders,
} from './embedder-settings.js';
import type { Embedder } from './embedders.js';
import { reembedJobId, type KnowledgeQueue } from './queue.js';
import type { KnowledgeStore } from './store.js';
import type { KnowledgeContext } from './types.js';

export interface EmbedderDeps {
  db: Db;
  store: KnowledgeStore;
  queue: KnowledgeQueue;
  embedders?: Embedders | undefined;
}

export interface EmbedderStatus {
  /** The spec search uses now: `lexical`, `ollama:<model>`, `openai:<model>`. */
  embedder: string;
  /** The model recorded on the collection (`lexical-v2` for `lexical`). */
  model: string;
  /** Vector length; null until the model has answered once (remote models). */
  dimension: number | null;
  /** Whether the workspace follows the server's `KNOWLEDGE_EMBEDDER` (it chose none). */
  isDefault: boolean;
  /** `ready`: nothing pending; `reembedding`: a change is being embedded; `failed`: the last change failed. */
  status: 'ready' | 'reembedding' | 'failed';
  /** The pending change, with progress in chunks; null when none. */
  pending: {
    embedder: string;
    model: string | null;
    requestedAt: string;
    progress: { done: number; total: number } | null;
    error: { code: string; message: string } | null;
  } | null;
}

/** A remote model's dimension, when this process has learned it, without calling the model. */
async function knownDimension(embedder: Embedder, store: KnowledgeStore, workspaceId: string): Promise<number | null> {
  if (specOf(embedder) === 'lexical') return embedder.dimension();
  const meta = await store.collectionMetadata(workspaceId, embedder.model);
  const d = meta?.embedding_dimension;
  return typeof d === 'number' ? d : null;
}

export async function embedderStatus(deps: EmbedderDeps, ctx: KnowledgeContext): Promise<EmbedderStatus> {
  requireRole(ctx, 'viewer');
  const embedders = embeddersOf(deps);
  const settings = await readKnowledgeSettings(deps.db, ctx.workspaceId);
  const spec = settings.embedder ?? embedders.defaultSpec;
  const active = embedders.forSpec(spec);
  const next = settings.next ?? null;
  let progress: { done: number; total: number } | null = null;
  if (next) {
    const job = await deps.queue.queue.getJob(reembedJobId(ctx.workspaceId, next.changeId)).catch(() => undefined);
    const p = job?.progress as { chunksDone?: number; chunksTotal?: number } | undefined;
    if (typeof p?.chunksDone === 'number' && typeof p.chunksTotal === 'number')
      progress = { done: p.chunksDone, total: p.chunksTotal };
  }
  let nextModel: string | null = null;
  if (next)
    try {
      nextModel = embedders.forSpec(next.embedder).model;
    } catch {
      nextModel = null;
    }
  return {
    embedder: spec,
    model: active.model,
    dimension: await knownDimension(active, deps.store, ctx.workspaceId),
    isDefault: settings.embedder === undefined,
    status: next ? next.status : 'ready',
    pending: next
      ? {
          embedder: next.embedder,
          model: nextModel,
          requestedAt: next.requestedAt,
          progress,
          error: next.error ?? null,
        }
      : null,
  };
}

/** Asks the model for one vector; a model that is missing or refuses makes the spec invalid. */
async function probe(embedder: Embedder, spec: string): Promise<void> {
  try {
    await embedder.dimension();
  } catch (err) {
    if (err instanceof HeraldError && !err.retryable)
      throw new HeraldError('knowledge_embedder_invalid', {
        message: `The embedder ${spec} cannot be used: ${err.message}`,
        details: { embedder: spec, reason: err.code },
        cause: err,
      });
    // The model server is down: say so (503), as any call to it would.
    throw err;
  }
}

/**
 * Changes the workspace's embedder (admin). The same spec as the active one cancels a pending
 * change; another spec is checked, recorded as pending, and re-embedded in the background.
 */
export async function changeEmbedder(deps: EmbedderDeps, ctx: KnowledgeContext, spec: string): Promise<EmbedderStatus> {
  requireRole(ctx, 'admin');
  const embedders = embeddersOf(deps);
  const target = embedders.forSpec(spec.trim());
  const wanted = spec.trim();
  const settings = await readKnowledgeSettings(deps.db, ctx.workspaceId);
  const active = settings.embedder ?? embedders.defaultSpec;
  if (wanted === active) {
    if (settings.next) {
      await writeKnowledgeSettings(deps.db, ctx.workspaceId, { ...settings, next: null });
      await auditAs(
        deps.db,
        ctx,
        'knowledge.embedder.cancel',
        { type: 'knowledge_base', id: ctx.workspaceId },
        {
          cancelled: settings.next.embedder,
        },
      );
    }
    return embedderStatus(deps, ctx);
  }
  if (settings.next?.embedder === wanted && settings.next.status === 'reembedding') return embedderStatus(deps, ctx);
  await probe(target, wanted);
  const changeId = randomUUID();
  await writeKnowledgeSettings(deps.db, ctx.workspaceId, {
    ...settings,
    next: { embedder: wanted, changeId, requestedAt: new Date().toISOString(), status: 'reembedding', error: null },
  });
  try {
    await deps.queue.enqueueReembed({ workspaceId: ctx.workspaceId, changeId });
  } catch (cause) {
    // No job, no pending change: put the settings back as they were.
    await writeKnowledgeSettings(deps.db, ctx.workspaceId, settings, changeId);
    throw new HeraldError('redis_unavailable', { message: 'The ingestion queue is not answering', cause });
  }
  await auditAs(
    deps.db,
    ctx,
    'knowledge.embedder.change',
    { type: 'knowledge_base', id: ctx.workspaceId },
    {
      from: active,
      to: wanted,
      changeId,
    },
  );
  return embedderStatus(deps, ctx);
}
