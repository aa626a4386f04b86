/**
 * The knowledge base's vocabulary: document types, source formats and the shapes services
 * and routes exchange. A source is one document; its chunks are what search returns.
 */
import type { AuditActor, Role } from '../core/index.js';

export const DOC_TYPES = [
  'brand_guide',
  'past_post',
  'product',
  'best_practice',
  'note',
  'web_page',
  'feed_item',
] as const;
export type DocType = (typeof DOC_TYPES)[number];

/**
 * `url`: a web page (main content); `feed`: an RSS or Atom feed (one section per item);
 * `csv`: a product catalogue (one chunk per row); `pdf`: an uploaded PDF's text layer.
 */
export const SOURCE_FORMATS = ['text', 'markdown', 'url', 'feed', 'csv', 'pdf'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/**
 * `pending` (queued), `ingesting`, `retrying` (an attempt failed retryably and another is
 * queued: `error` is the last one, `attempt` of `maxAttempts`, `nextAttemptAt`), `ready`
 * (its chunks serve; `refreshError` says when the latest re-ingest failed and older chunks
 * still serve), `failed` (no attempt left and nothing serves).
 */
export type SourceStatus = 'pending' | 'ingesting' | 'retrying' | 'ready' | 'failed';

/**
 * Who asks, and for which workspace: every knowledge function takes this first. Reading
 * needs viewer; adding, changing and deleting sources needs editor.
 */
export interface KnowledgeContext extends AuditActor {
  role: Role;
}

export interface SourceView {
  id: string;
  docType: DocType;
  format: SourceFormat;
  title: string;
  url: string | null;
  metadata: Record<string, unknown>;
  status: SourceStatus;
  error: { code: string; message: string } | null;
  /** Attempts the current (or last) ingestion made, of how many in all; 0 before the first. */
  attempt: number;
  maxAttempts: number;
  /** While `retrying`: when the next attempt runs. */
  nextAttemptAt: string | null;
  /** The last refresh failed (no attempt left) while an older generation serves; null after a success. */
  refreshError: { code: string; message: string; at: string } | null;
  /** A followed feed's settings and poll health; null when the source is not followed. */
  feed: FeedView | null;
  generation: number;
  chunkCount: number;
  embeddingModel: string | null;
  ingestedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface FeedView {
  intervalMinutes: number;
  removedItems: 'keep' | 'drop';
  /** Items the source holds now (the feed's, plus removed ones kept). */
  items: number;
  nextPollAt: string | null;
  lastPolledAt: string | null;
  /** `changed` (ingested anew), `unchanged`, `not_modified` (HTTP 304), `failed`; null before the first poll. */
  lastStatus: 'changed' | 'unchanged' | 'not_modified' | 'failed' | null;
  lastError: { code: string; message: string } | null;
  consecutiveFailures: number;
  /** Items the last poll found new. */
  lastNewItems: number;
  /** The validators the next poll sends (`If-None-Match`, `If-Modified-Since`). */
  etag: string | null;
  lastModified: string | null;
}

export interface SearchFilters {
  types?: DocType[] | undefined;
  sourceIds?: string[] | undefined;
  /** Past posts published on these platforms (`bluesky`, `x`...); other documents have none. */
  platforms?: string[] | undefined;
  /** Sources created (past posts: published) at or after this instant. */
  from?: Date | undefined;
  /** Sources created (past posts: published) before this instant. */
  to?: Date | undefined;
}

export interface SearchHit {
  chunkId: string;
  text: string;
  heading: string | null;
  /** Fused rank score (higher is better); comparable within one result list only. */
  score: number;
  /** Cosine similarity of the query and chunk vectors, -1..1. */
  similarity: number;
  /** How many of the query's words the chunk contains. */
  keywordMatches: number;
  source: {
    id: string;
    title: string;
    docType: DocType;
    url: string | null;
    createdAt: string;
    /** Past posts: where and when it went out, and its metrics when known. */
    platform: string | null;
    publishedAt: string | null;
    metrics: Record<string, number> | null;
  };
}
