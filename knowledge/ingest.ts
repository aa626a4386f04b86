/**
 * One ingestion: read the source row, get its text (as given, or fetched from its URL),
 * chunk, embed with progress, write the new generation's chunks, then retire the old ones
 * and mark the source ready. A failure leaves the previous chunks (if any) in place and in
 * use — nothing half-written — and says so: `retrying` while the job has attempts left,
 * then `failed`, or `ready` with `refreshError` when older chunks still serve.
 */
import { and, eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { HeraldError, isHeraldError, schema, type Db, type EventBus, type Logger } from '../core/index.js';
import { chunkText } from './chunking.js';
import { catalogueChunks } from './files.js';
import { resolveEmbedder, type Embedders } from './embedder-settings.js';
import type { Embedder } from './embedders.js';
import { fetchFeedItems, mergeFeedItems, renderFeedItems, type FetchedFeed, type MergedItems } from './feed-items.js';
import { checkText, fetchPage } from './input.js';
import type { SourceRow } from './source-rows.js';
import type { ChunkMetadata, KnowledgeStore, StoredChunk } from './store.js';

const { knowledgeSources } = schema;

export interface IngestLimits {
  /** Largest text or fetched page, bytes. */
  maxBytes: number;
  /** Largest uploaded file, bytes (the upload route's cap). Default 20 MiB. */
  uploadMaxBytes?: number;
  fetchTimeoutMs: number;
  chunkMaxChars?: number;
  chunkOverlapChars?: number;
}

export interface IngestDeps {
  db: Db;
  store: KnowledgeStore;
  /** Embedders by spec, for workspaces that chose their own; unset: the store's for all. */
  embedders?: Embedders | undefined;
  events: EventBus | null;
  limits: IngestLimits;
  logger?: Logger;
}

/** Texts embedded per progress step. */
export const EMBED_STEP = 64;

/** A chunk ready to embed: its id, text and metadata for one generation of its source. */
export type PlannedChunk = Omit<StoredChunk, 'vector'>;

/**
 * Chunks a source's text for one generation: a CSV catalogue one chunk per row, anything else
 * by headings and sentences. Ids are `<source>:<generation>:<text hash>`.
 */
export function planChunks(
  source: Pick<SourceRow, 'id' | 'format' | 'docType' | 'createdAt'>,
  metadata: Record<string, unknown>,
  generation: number,
  text: string,
  limits: IngestLimits,
): PlannedChunk[] {
  // One code point per accented letter (a macOS file may spell "é" as e + U+0301), so the
  // keyword query's case-insensitive match (`search.ts`) sees the same letters as the query.
  const normalised = text.normalize('NFC');
  const chunks =
    source.format === 'csv'
      ? catalogueChunks(normalised)
      : chunkText(normalised, {
          markdown: source.format !== 'text',
          ...(limits.chunkMaxChars ? { maxChars: limits.chunkMaxChars } : {}),
          ...(limits.chunkOverlapChars !== undefined ? { overlapChars: limits.chunkOverlapChars } : {}),
        });
  // A past post is dated by its publication, so date filters find posts by when they went out.
  const publishedAt = typeof metadata.publishedAt === 'string' ? new Date(metadata.publishedAt) : null;
  const createdTs = Math.floor((publishedAt?.getTime() || source.createdAt.getTime()) / 1000);
  const platform = typeof metadata.platform === 'string' ? metadata.platform : null;
  return chunks.map((c) => ({
    id: `${source.id}:${generation}:${c.hash.slice(0, 32)}`,
    text: c.text,
    metadata: {
      source_id: source.id,
      generation,
      doc_type: source.docType,
      created_ts: createdTs,
      platform,
      heading: c.heading,
      chunk_index: c.index,
      hash: c.hash,
    } satisfies ChunkMetadata,
  }));
}

/** Embeds planned chunks in steps of `EMBED_STEP`, reporting each step. */
export async function embedChunks(
  embedder: Embedder,
  chunks: PlannedChunk[],
  onStep: (done: number) => Promise<void>,
): Promise<StoredChunk[]> {
  const vectors: number[][] = [];
  for (let i = 0; i < chunks.length; i += EMBED_STEP) {
    vectors.push(...(await embedder.embed(chunks.slice(i, i + EMBED_STEP).map((c) => c.text))));
    await onStep(vectors.length);
  }
  return chunks.map((c, i) => ({ ...c, vector: vectors[i]! }));
}

export type IngestResult =
  | { outcome: 'ready'; chunks: number }
  | { outcome: 'failed'; error: { code: string; message: string } }
  | { outcome: 'superseded' };

/** Which attempt of its job an ingestion is, so a failure can say whether another follows. */
export interface IngestAttempt {
  /** 1-based. */
  attempt: number;
  /** Attempts the job makes in all (BullMQ's `attempts`). */
  maxAttempts: number;
  /** The wait before the next attempt, should this one fail retryably. */
  retryDelayMs: number;
}

export interface IngestOptions {
  /** Embed the stored text again rather than fetching a URL or feed anew. */
  reembed?: boolean;
  /** Default: the only attempt. */
  attempt?: IngestAttempt;
  /** A feed the poller already fetched and merged: ingested as is, not fetched again. */
  feed?: { fetched: FetchedFeed; merged: MergedItems };
}

export async function ingestSource(
  deps: IngestDeps,
  workspaceId: string,
  sourceId: string,
  generation: number,
  onProgress: (done: number, total: number) => Promise<void> = async () => undefined,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const attempt = opts.attempt ?? { attempt: 1, maxAttempts: 1, retryDelayMs: 0 };
  const where = and(eq(knowledgeSources.workspaceId, workspaceId), eq(knowledgeSources.id, sourceId));
  const current = async () => (await deps.db.select().from(knowledgeSources).where(where))[0];
  const source = await current();
  // Deleted, or a newer re-ingest was asked for: that job does the work.
  if (!source || source.generation !== generation) return { outcome: 'superseded' };

  const emit = (
    status: 'ingesting' | 'retrying' | 'ready' | 'failed',
    done: number,
    total: number | null,
    error = null as { code: string; message: string } | null,
  ) =>
    deps.events
      ?.publish({
        type: 'knowledge.ingest',
        workspaceId,
        sourceId,
        generation,
        status,
        chunksDone: done,
        chunksTotal: total,
        error,
        attempt: attempt.attempt,
        maxAttempts: attempt.maxAttempts,
        at: new Date().toISOString(),
      })
      .catch((err: unknown) => deps.logger?.warn({ err }, 'knowledge event not published'));

  await deps.db
    .update(knowledgeSources)
    .set({
      status: 'ingesting',
      attempt: attempt.attempt,
      maxAttempts: attempt.maxAttempts,
      nextAttemptAt: null,
      updatedAt: new Date(),
    })
    .where(and(where, eq(knowledgeSources.generation, generation)));
  await emit('ingesting', 0, null);
  let text: string;
  let feedColumns: Partial<Pick<SourceRow, 'feed' | 'feedItems'>> = {};
  const metadata = { ...source.metadata };
  try {
    const fetchOpts = { timeoutMs: deps.limits.fetchTimeoutMs, maxBytes: deps.limits.maxBytes };
    if (opts.reembed && source.content) {
      text = source.content;
    } else if (source.format === 'url') {
      const page = await fetchPage(source.url!, fetchOpts);
      text = page.text;
      metadata.pageTitle = page.title;
      metadata.finalUrl = page.finalUrl;
      metadata.charset = page.charset.encoding;
    } else if (source.format === 'feed') {
      // The poller hands over what it fetched and merged; a first ingest or a PUT fetches.
      const fetched = opts.feed?.fetched ?? (await fetchFeedItems(source.url!, fetchOpts))!;
      const merged =
        opts.feed?.merged ?? mergeFeedItems(source.feedItems ?? [], fetched.items, source.feed?.removedItems ?? 'drop');
      const rendered = renderFeedItems(merged.items, deps.limits.maxBytes, fetched.items.length);
      text = rendered.text;
      feedColumns = {
        feedItems: rendered.items,
        ...(source.feed ? { feed: { ...source.feed, etag: fetched.etag, lastModified: fetched.lastModified } } : {}),
      };
      metadata.feedTitle = fetched.title;
      metadata.feedItems = rendered.items.length;
      metadata.finalUrl = fetched.finalUrl;
      metadata.charset = fetched.charset.encoding;
    } else {
      text = checkText(source.content ?? '', deps.limits.maxBytes);
    }
    const planned = planChunks(source, metadata, generation, text, deps.limits);
    if (planned.length === 0)
      throw new HeraldError('knowledge_input_invalid', {
        message: 'The source has no text to learn from',
        details: { reason: 'empty' },
      });

    let embedder = await resolveEmbedder(deps, workspaceId);
    let stored: StoredChunk[];
    for (;;) {
      stored = await embedChunks(embedder, planned, async (done) => {
        await onProgress(done, planned.length);
        await emit('ingesting', done, planned.length);
      });
      await deps.store.writeGeneration(workspaceId, sourceId, generation, stored, embedder);
      // The workspace switched embedders meanwhile (a re-embed finished): embed for the new one.
      const now = await resolveEmbedder(deps, workspaceId);
      if (now.model === embedder.model) break;
      await deps.store.deleteSourceChunks(workspaceId, sourceId, generation + 1, embedder).catch(() => undefined);
      embedder = now;
    }

    const updated = await deps.db
      .update(knowledgeSources)
      .set({
        status: 'ready',
        error: null,
        refreshError: null,
        nextAttemptAt: null,
        readyGeneration: generation,
        chunkCount: stored.length,
        embeddingModel: embedder.model,
        ...(source.format === 'url' || source.format === 'feed' ? { content: text } : {}),
        ...feedColumns,
        contentSha256: createHash('sha256').update(text).digest('hex'),
        metadata,
        ingestedAt: new Date(),
        updatedAt: new Date(),
      })
      .where(and(where, eq(knowledgeSources.generation, generation)))
      .returning({ id: knowledgeSources.id });
    if (updated.length === 0) {
      // Deleted or re-ingested while we worked: our chunks are not wanted.
      await deps.store.deleteSourceChunks(workspaceId, sourceId, generation + 1, embedder).catch(() => undefined);
      if (!(await current()))
        await deps.store.deleteSourceChunks(workspaceId, sourceId, undefined, embedder).catch(() => undefined);
      return { outcome: 'superseded' };
    }
    await deps.store.deleteSourceChunks(workspaceId, sourceId, generation, embedder);
    await emit('ready', stored.length, stored.length);
    return { outcome: 'ready', chunks: stored.length };
  } catch (err) {
    const error = isHeraldError(err)
      ? { code: err.code, message: err.message }
      : { code: 'internal', message: 'The ingestion failed unexpectedly' };
    if (!isHeraldError(err)) deps.logger?.error({ err, sourceId }, 'knowledge ingestion failed');
    // Chroma or Ollama down, a URL timing out: worth retrying. Bad input: not.
    const retryable = isHeraldError(err) && err.retryable;
    const final = !retryable || attempt.attempt >= attempt.maxAttempts;
    // Honest statuses: `retrying` while another attempt is queued; when none is left, `failed`
    // only if nothing serves — a failed refresh leaves the source `ready` on its old chunks.
    const serving = source.readyGeneration !== null;
    await deps.db
      .update(knowledgeSources)
      .set({
        ...(!final
          ? { status: 'retrying', error, nextAttemptAt: new Date(Date.now() + attempt.retryDelayMs) }
          : serving
            ? { status: 'ready', error: null, refreshError: { ...error, at: new Date().toISOString() } }
            : { status: 'failed', error }),
        ...(final ? { nextAttemptAt: null } : {}),
        updatedAt: new Date(),
      })
      .where(and(where, eq(knowledgeSources.generation, generation)));
    await emit(final ? 'failed' : 'retrying', 0, null, error);
    if (retryable) throw err;
    return { outcome: 'failed', error };
  }
}
