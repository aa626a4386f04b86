/**
 * Changing the embedding model re-embeds in the background. A workspace's chunks live in a
 * collection per model; when the configured embedder is not the one a ready source was
 * embedded with, the source gets a new generation and a re-embed job (its stored text is
 * embedded again — a URL or feed is not fetched anew), reported like any ingestion through
 * `knowledge.ingest` events. Until a source's job is done, search (which reads the new
 * model's collection) does not find it.
 */
import { and, eq, isNotNull, ne, or, isNull, sql } from 'drizzle-orm';
import { schema, type Db } from '../core/index.js';
import type { KnowledgeQueue } from './queue.js';
import type { KnowledgeStore } from './store.js';

const { knowledgeSources } = schema;

/** `workspace|model` pairs this process already brought up to date. */
const current = new Set<string>();

/** Queues a re-embed of every source embedded with another model; returns how many. */
export async function ensureCurrentModel(
  deps: { db: Db; queue: KnowledgeQueue; store: KnowledgeStore },
  workspaceId: string,
): Promise<number> {
  const model = deps.store.embedder.model;
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
      ),
    )
    .returning({ id: knowledgeSources.id, generation: knowledgeSources.generation });
  for (const s of stale)
    await deps.queue.enqueue({ workspaceId, sourceId: s.id, generation: s.generation, reembed: true });
  current.add(key);
  return stale.length;
}
