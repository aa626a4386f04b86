/**
 * The knowledge base's service functions — the one place every channel (REST, the agent's
 * tools, later bots and MCP) adds, changes, deletes, lists and searches sources. Each takes
 * the caller's context first; every query names its workspace, and Chroma is reached only
 * through the workspace's own collection. Adding or changing a source stores it and queues
 * its ingestion; text is checked up front so bad input fails the request, not just the job.
 */
import { and, desc, eq, inArray } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type EventBus } from '../core/index.js';
import { checkCatalogue, readUploadedFile, type UploadedFile } from './files.js';
import { MAX_FEED_INTERVAL_MINUTES, MIN_FEED_INTERVAL_MINUTES, newFeedState } from './feed-poller.js';
import { embeddersOf, readKnowledgeSettings, resolveEmbedder, type Embedders } from './embedder-settings.js';
import { checkText } from './input.js';
import type { IngestLimits } from './ingest.js';
import type { KnowledgeQueue } from './queue.js';
import { hybridSearch } from './search.js';
import { ensureCurrentModel } from './reembed.js';
import { ensureSeeded, type SeedDocument } from './seed.js';
import { auditSource, rowOf, scoped, viewOf } from './source-rows.js';
import type { KnowledgeStore } from './store.js';
import type { DocType, KnowledgeContext, SearchFilters, SearchHit, SourceFormat, SourceView } from './types.js';

const { knowledgeSources } = schema;

export interface KnowledgeDeps {
  db: Db;
  store: KnowledgeStore;
  queue: KnowledgeQueue;
  events: EventBus | null;
  limits: IngestLimits;
  /**
   * Embedders by spec (`KNOWLEDGE_EMBEDDER` is the default), for workspaces that choose their
   * own (docs/knowledge.md); unset: every workspace uses the store's embedder.
   */
  embedders?: Embedders | undefined;
  /** Seed documents added to each workspace on first use (`loadSeedDocuments()`); unset: none. */
  seed?: SeedDocument[] | undefined;
}

export interface SourceInput {
  docType: DocType;
  title: string;
  /** `text`, `markdown` or `csv` with `text`; `url` or `feed` with `url`; `pdf` only as an upload. */
  format: SourceFormat;
  text?: string | undefined;
  url?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /**
   * `feed` only: poll the feed on a schedule and ingest what is new (`feed-poller.ts`).
   * Absent or null: the feed is read once (and on `PUT`).
   */
  follow?: FollowInput | null | undefined;
}

export interface FollowInput {
  /** Minutes between polls, 5 to 10,080 (a week). Default 60. */
  intervalMinutes?: number | undefined;
  /** Items the feed no longer lists: `keep` them searchable (default) or `drop` them. */
  removedItems?: 'keep' | 'drop' | undefined;
}

/** A followed feed's columns (settings, first poll one interval after now); not followed: none. */
function followColumns(input: SourceInput) {
  if (!input.follow) return { feed: null, nextPollAt: null };
  if (input.format !== 'feed')
    throw new HeraldError('validation_failed', { message: 'Only a feed source can be followed' });
  const feed = newFeedState(input.follow);
  if (feed.intervalMinutes < MIN_FEED_INTERVAL_MINUTES || feed.intervalMinutes > MAX_FEED_INTERVAL_MINUTES)
    throw new HeraldError('validation_failed', {
      message: `follow.intervalMinutes must be between ${MIN_FEED_INTERVAL_MINUTES} and ${MAX_FEED_INTERVAL_MINUTES}`,
    });
  return { feed, nextPollAt: new Date(Date.now() + feed.intervalMinutes * 60_000) };
}

/** Checks the input's shape and text; returns the columns to store. */
function columnsOf(deps: KnowledgeDeps, input: SourceInput) {
  return { ...contentColumns(deps, input), ...followColumns(input), feedItems: null };
}

function contentColumns(deps: KnowledgeDeps, input: SourceInput) {
  if (input.format === 'url' || input.format === 'feed') {
    if (!input.url || input.text !== undefined)
      throw new HeraldError('validation_failed', { message: `A ${input.format} source takes \`url\` and no \`text\`` });
    let u: URL;
    try {
      u = new URL(input.url);
    } catch {
      throw new HeraldError('validation_failed', { message: `"${input.url}" is not a URL` });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new HeraldError('validation_failed', { message: 'Only http and https URLs can be fetched' });
    return { url: u.toString(), content: null };
  }
  if (input.format === 'pdf')
    throw new HeraldError('validation_failed', {
      message: 'A PDF is uploaded as a file: POST /v1/knowledge/sources/upload',
    });
  if (input.text === undefined || input.url !== undefined)
    throw new HeraldError('validation_failed', { message: `A ${input.format} source takes \`text\` and no \`url\`` });
  if (input.format === 'csv') checkCatalogue(input.text, deps.limits.maxBytes);
  return { url: null, content: checkText(input.text, deps.limits.maxBytes) };
}

/** Stores a checked source (after seeding the workspace) and queues its ingestion. */
async function insertAndQueue(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  values: Omit<typeof knowledgeSources.$inferInsert, 'workspaceId' | 'createdBy'>,
): Promise<SourceView> {
  await ensureSeeded(deps, ctx.workspaceId);
  const [row] = await deps.db
    .insert(knowledgeSources)
    .values({ ...values, workspaceId: ctx.workspaceId, createdBy: ctx.userId })
    .returning();
  try {
    await deps.queue.enqueue({ workspaceId: ctx.workspaceId, sourceId: row!.id, generation: row!.generation });
  } catch (cause) {
    // No job, no source: a row that would stay pending forever helps nobody.
    await deps.db.delete(knowledgeSources).where(scoped(ctx, row!.id));
    throw new HeraldError('redis_unavailable', { message: 'The ingestion queue is not answering', cause });
  }
  await auditSource(deps.db, ctx, 'knowledge.source.create', row!.id, { docType: row!.docType, format: row!.format });
  return viewOf(row!);
}

export async function createSource(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  input: SourceInput,
): Promise<SourceView> {
  requireRole(ctx, 'editor');
  const columns = columnsOf(deps, input);
  return insertAndQueue(deps, ctx, {
    docType: input.docType,
    format: input.format,
    title: input.title,
    ...columns,
    metadata: input.metadata ?? {},
  });
}

export interface UploadInput {
  file: UploadedFile;
  /** Default: `product` for a CSV catalogue, `note` otherwise. */
  docType?: DocType | undefined;
  /** Default: the file name. */
  title?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Adds an uploaded file (PDF, CSV product catalogue, text, Markdown) as a source. Its text is
 * extracted and checked here, so an empty, binary or text-less file fails the request and
 * stores nothing; the file itself is not kept.
 */
export async function uploadSource(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  input: UploadInput,
): Promise<SourceView> {
  requireRole(ctx, 'editor');
  const read = await readUploadedFile(input.file, deps.limits.maxBytes);
  const fileName = input.file.fileName?.slice(0, 300) || null;
  return insertAndQueue(deps, ctx, {
    docType: input.docType ?? (read.format === 'csv' ? 'product' : 'note'),
    format: read.format,
    title: input.title ?? fileName ?? `Uploaded ${read.format}`,
    url: null,
    content: read.text,
    metadata: { ...input.metadata, ...read.metadata, fileName, fileBytes: input.file.bytes.length },
  });
}

/** Replaces the source's content (and type, title) and re-ingests it; old chunks serve until the new ones are in. */
export async function replaceSource(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  id: string,
  input: SourceInput,
): Promise<SourceView> {
  requireRole(ctx, 'editor');
  const current = await rowOf(deps.db, ctx, id);
  const columns = columnsOf(deps, input);
  const [row] = await deps.db
    .update(knowledgeSources)
    .set({
      docType: input.docType,
      format: input.format,
      title: input.title,
      ...columns,
      metadata: input.metadata ?? current.metadata,
      status: 'pending',
      error: null,
      generation: current.generation + 1,
      updatedAt: new Date(),
    })
    .where(and(scoped(ctx, id), eq(knowledgeSources.generation, current.generation)))
    .returning();
  if (!row) throw new HeraldError('conflict', { message: 'The source changed meanwhile; try again' });
  await deps.queue.enqueue({ workspaceId: ctx.workspaceId, sourceId: id, generation: row.generation });
  await auditSource(deps.db, ctx, 'knowledge.source.replace', id, { generation: row.generation });
  return viewOf(row);
}

/** Deletes the source and its chunks. The row goes first, so search stops citing it at once. */
export async function deleteSource(deps: KnowledgeDeps, ctx: KnowledgeContext, id: string): Promise<void> {
  requireRole(ctx, 'editor');
  const deleted = await deps.db.delete(knowledgeSources).where(scoped(ctx, id)).returning({ id: knowledgeSources.id });
  if (deleted.length === 0)
    throw new HeraldError('not_found', { message: `No knowledge source ${id} in this workspace` });
  // From the active embedder's collection and from a pending change's, which may hold it already.
  await deps.store.deleteSourceChunks(ctx.workspaceId, id, undefined, await resolveEmbedder(deps, ctx.workspaceId));
  const pending = (await readKnowledgeSettings(deps.db, ctx.workspaceId)).next;
  if (pending) {
    const embedder = (() => {
      try {
        return embeddersOf(deps).forSpec(pending.embedder);
      } catch {
        return null;
      }
    })();
    if (embedder) await deps.store.deleteSourceChunks(ctx.workspaceId, id, undefined, embedder);
  }
  await auditSource(deps.db, ctx, 'knowledge.source.delete', id, {});
}

export async function getSource(deps: KnowledgeDeps, ctx: KnowledgeContext, id: string): Promise<SourceView> {
  requireRole(ctx, 'viewer');
  return viewOf(await rowOf(deps.db, ctx, id));
}

/** A source's whole text, as stored: what was given or uploaded, or what was read from its URL. */
export interface SourceText {
  id: string;
  docType: DocType;
  format: SourceFormat;
  title: string;
  url: string | null;
  status: SourceView['status'];
  /** The generation the text belongs to (its chunks serve search once it is `ready`). */
  generation: number;
  /** In its own order, whole; null while a URL or feed has not been read yet. */
  text: string | null;
  updatedAt: string;
}

/**
 * A source's full text in order (viewer), read from its stored content rather than put back
 * together from its chunks (which overlap and are ranked, not ordered, by search).
 */
export async function getSourceText(
  deps: Pick<KnowledgeDeps, 'db'>,
  ctx: KnowledgeContext,
  id: string,
): Promise<SourceText> {
  requireRole(ctx, 'viewer');
  const row = await rowOf(deps.db, ctx, id);
  const view = viewOf(row);
  return {
    id: view.id,
    docType: view.docType,
    format: view.format,
    title: view.title,
    url: view.url,
    status: view.status,
    generation: view.generation,
    text: row.content,
    updatedAt: view.updatedAt,
  };
}

export async function listSources(
  deps: KnowledgeDeps,
  ctx: KnowledgeContext,
  opts: { types?: DocType[] | undefined; limit?: number | undefined } = {},
): Promise<SourceView[]> {
  requireRole(ctx, 'viewer');
  await ensureSeeded(deps, ctx.workspaceId);
  await ensureCurrentModel(deps, ctx.workspaceId);
  const rows = await deps.db
    .select()
    .from(knowledgeSources)
    .where(
      and(
        eq(knowledgeSources.workspaceId, ctx.workspaceId),
        opts.types?.length ? inArray(knowledgeSources.docType, opts.types) : undefined,
      ),
    )
    .orderBy(desc(knowledgeSources.createdAt), desc(knowledgeSources.id))
    .limit(Math.min(opts.limit ?? 50, 500));
  return rows.map(viewOf);
}

export async function searchKnowledge(
  deps: Pick<KnowledgeDeps, 'db' | 'store'> & Partial<Pick<KnowledgeDeps, 'queue' | 'seed' | 'embedders'>>,
  ctx: KnowledgeContext,
  query: string,
  filters: SearchFilters = {},
  limit = 8,
): Promise<SearchHit[]> {
  requireRole(ctx, 'viewer');
  if (!query.trim()) throw new HeraldError('validation_failed', { message: 'Give words to search for' });
  if (deps.queue) {
    const withQueue = { ...deps, queue: deps.queue };
    await ensureSeeded(withQueue, ctx.workspaceId);
    await ensureCurrentModel(withQueue, ctx.workspaceId);
  }
  return hybridSearch(deps, ctx.workspaceId, query, filters, Math.min(Math.max(limit, 1), 50));
}
