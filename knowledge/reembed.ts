/**
 * Changing the embedding model re-embeds in the background. A workspace's chunks live in a
 * collection per model. Two paths lead there:
 *
 * - A workspace's own change (`changeEmbedder`, `embedder-change.ts`) queues one `reembed` job
 *   for the whole workspace (`reembedWorkspace`): it embeds every ready source's stored text
 *   with the new model into that model's collection, under the source's live generation, while
 *   search keeps reading the old collection; when every source is in, it switches the
 *   workspace's active embedder in one transaction. A newer change stops it.
 * - The process default (`KNOWLEDGE_EMBEDDER`) changing under workspaces that chose none, or
 *   an ingestion that finished under an embedder the workspace has since left:
 *   `ensureCurrentModel` gives each source embedded with another model a new generation and a
 *   re-embed job of its own; until a source's job is done, search does not return it.
 */
import { and, eq, isNotNull, isNull, ne, or, sql } from 'drizzle-orm';
import { HeraldError, schema, type Db, type Logger } from '../core/index.js';
import {
  embeddersOf,
  readKnowledgeSettings,
  resolveEmbedder,
  writeKnowledgeSettings,
  type Embedders,
} from './embedder-settings.js';
import { embedChunks, planChunks, type IngestLimits } from './ingest.js';
import type { KnowledgeQueue } from './queue.js';
import type { KnowledgeStore } from './store.js';

const { knowledgeSources } = schema;

/** `workspace|model` pairs this process already brought up to date. */
const current = new Set<string>();

/** Queues a re-embed of every source embedded with another model than the active one; returns how many. */
export async function ensureCurrentModel(
  deps: { db: Db; queue: KnowledgeQueue; store: KnowledgeStore; embedders?: Embedders | undefined },
  workspaceId: string,
): Promise<number> {
  const model = (await resolveEmbedder(deps, workspaceId)).model;
  const key = `${workspaceId}|${model}`;
  if (current.has(key)) return 0;
  const stale = await deps.db
    .update(knowledgeSources)
    .set({ generation: sql`${knowledgeSources.generation} + 1`, status: 'pending', error: null, updatedAt: new Date() })
    .where(
      and(
        eq(knowledgeSources.workspaceId, workspaceId),
        isNotNull(knowledgeSources.readyGeneration),
        or(ne(knowledgeSources.embeddingModel, model), isNull(knowledgeSources.embeddingModel)),
        // Sources already being (re-)ingested will be embedded with this model anyway.
        ne(knowledgeSources.status, 'pending'),
        ne(knowledgeSources.status, 'ingesting'),
        ne(knowledgeSources.status, 'retrying'),
      ),
    )
    .returning({ id: knowledgeSources.id, generation: knowledgeSources.generation });
  for (const s of stale)
    await deps.queue.enqueue({ workspaceId, sourceId: s.id, generation: s.generation, reembed: true });
  current.add(key);
  return stale.length;
}

export interface ReembedDeps {
  db: Db;
  store: KnowledgeStore;
  embedders?: Embedders | undefined;
  limits: IngestLimits;
  logger?: Logger | undefined;
}

export type ReembedResult =
  | { outcome: 'switched'; sources: number; chunks: number }
  | { outcome: 'superseded' }
  | { outcome: 'failed'; error: { code: string; message: string } };

/**
 * The `reembed` job's body: fills the new model's collection from every ready source's stored
 * text, then makes it the workspace's active embedder. Sources re-ingested meanwhile (under the
 * old model) are picked up again before switching. A failure leaves the old embedder active
 * and records the error on the pending change; retryable ones (Chroma or the model server
 * down) are rethrown for BullMQ to retry.
 */
export async function reembedWorkspace(
  deps: ReembedDeps,
  workspaceId: string,
  changeId: string,
  onProgress: (done: number, total: number) => Promise<void> = async () => undefined,
): Promise<ReembedResult> {
  const stillWanted = async () => {
    const s = await readKnowledgeSettings(deps.db, workspaceId);
    return s.next?.changeId === changeId ? s : null;
  };
  const settings = await stillWanted();
  if (!settings?.next) return { outcome: 'superseded' };
  const next = settings.next;
  if (next.status !== 'reembedding')
    await writeKnowledgeSettings(
      deps.db,
      workspaceId,
      { ...settings, next: { ...next, status: 'reembedding', error: null } },
      changeId,
    );
  try {
    const target = embeddersOf(deps).forSpec(next.embedder);
    // The new model's collection starts empty: leftovers of an earlier change to it would crowd search.
    await deps.store.dropCollection(workspaceId, target.model);
    await deps.store.collectionFor(workspaceId, true, target);

    /** Source id → the generation whose chunks are in the new collection. */
    const done = new Map<string, number>();
    const skipped = new Map<string, number>();
    let chunksDone = 0;
    for (;;) {
      const rows = await deps.db
        .select()
        .from(knowledgeSources)
        .where(and(eq(knowledgeSources.workspaceId, workspaceId), isNotNull(knowledgeSources.readyGeneration)));
      const outstanding = rows.filter(
        (r) => done.get(r.id) !== r.readyGeneration && skipped.get(r.id) !== r.readyGeneration,
      );
      if (outstanding.length === 0) break;
      const total = chunksDone + outstanding.reduce((n, r) => n + r.chunkCount, 0);
      await onProgress(chunksDone, total);
      for (const row of outstanding) {
        if (!(await stillWanted())) return { outcome: 'superseded' };
        const generation = row.readyGeneration!;
        // Ready sources keep their text (URLs and feeds: as extracted). One without keeps its old
        // model's name, so after the switch `ensureCurrentModel` re-ingests it from its URL.
        if (row.content === null) {
          skipped.set(row.id, generation);
          continue;
        }
        const planned = planChunks(row, row.metadata, generation, row.content, deps.limits);
        const stored = await embedChunks(target, planned, (n) => onProgress(chunksDone + n, total));
        await deps.store.writeGeneration(workspaceId, row.id, generation, stored, target);
        if (done.has(row.id)) await deps.store.deleteSourceChunks(workspaceId, row.id, generation, target);
        done.set(row.id, generation);
        chunksDone += stored.length;
        await onProgress(chunksDone, total);
      }
    }

    // Switch: the new embedder becomes active and the sources say so, at once.
    const switched = await deps.db.transaction(async (tx) => {
      const ok = await writeKnowledgeSettings(tx, workspaceId, { embedder: next.embedder, next: null }, changeId);
      if (!ok) return false;
      for (const [id, generation] of done)
        await tx
          .update(knowledgeSources)
          .set({ embeddingModel: target.model })
          .where(
            and(
              eq(knowledgeSources.workspaceId, workspaceId),
              eq(knowledgeSources.id, id),
              eq(knowledgeSources.readyGeneration, generation),
            ),
          );
      return true;
    });
    if (!switched) return { outcome: 'superseded' };
    await onProgress(chunksDone, chunksDone);
    return { outcome: 'switched', sources: done.size, chunks: chunksDone };
  } catch (err) {
    const error =
      err instanceof HeraldError
        ? { code: err.code, message: err.message }
        : { code: 'internal', message: 'The re-embedding failed unexpectedly' };
    if (!(err instanceof HeraldError)) deps.logger?.error({ err, workspaceId }, 'knowledge re-embed failed');
    const now = await readKnowledgeSettings(deps.db, workspaceId);
    if (now.next?.changeId === changeId)
      await writeKnowledgeSettings(
        deps.db,
        workspaceId,
        { ...now, next: { ...now.next, status: 'failed', error } },
        changeId,
      );
    if (err instanceof HeraldError && err.retryable) throw err;
    return { outcome: 'failed', error };
  }
}
