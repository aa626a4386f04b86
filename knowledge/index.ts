/**
 * Public surface of `knowledge/`: Chroma's lifecycle, the embedders, the workspace-scoped
 * source and search service, and the ingestion queue and worker (docs/knowledge.md).
 */
export { startChroma, type ChromaHandle, type ChromaOptions } from './chroma-server.js';
export {
  embedderFromSpec,
  LexicalEmbedder,
  lexicalVectorInto,
  OllamaEmbedder,
  OpenAIEmbedder,
  LEXICAL_DIMENSION,
  LEXICAL_MODEL,
  type Embedder,
  type OllamaEmbedderOptions,
  type OpenAIEmbedderOptions,
  type EmbedderEndpoints,
} from './embedders.js';
export { chunkText, type Chunk, type ChunkOptions } from './chunking.js';
export { extractMainContent, decodeEntities } from './html.js';
// Capped page fetches and markup decoding, for product pages (tools/campaigns).
export { fetchCapped, isHtml } from './input.js';
export { decodeMarkup } from './charset.js';
export { parseFeed, type FeedItem } from './feed.js';
export { Embedders, specOf, resolveEmbedder, type KnowledgeSettings } from './embedder-settings.js';
export { changeEmbedder, embedderStatus, type EmbedderDeps, type EmbedderStatus } from './embedder-change.js';
export { collectionName, DEFAULT_HNSW, KnowledgeStore, type HnswOptions } from './store.js';
export { hybridSearch, poolSize, searchStats, vectorQuery } from './search.js';
export { ingestSource, type IngestDeps, type IngestLimits, type IngestResult } from './ingest.js';
export {
  KNOWLEDGE_QUEUE,
  KnowledgeQueue,
  startKnowledgeWorker,
  type IngestJobData,
  type KnowledgeJobData,
  type PastPostJobData,
  type ReembedJobData,
} from './queue.js';
export { catalogueChunks, readUploadedFile, type UploadedFile } from './files.js';
export {
  DEFAULT_FEED_INTERVAL_MINUTES,
  FEED_POLL_TICK_MS,
  MAX_FEED_INTERVAL_MINUTES,
  MIN_FEED_INTERVAL_MINUTES,
  pollFeedSource,
  queueDueFeedPolls,
  type FeedPollJobData,
  type PollOutcome,
} from './feed-poller.js';
export { listenForPublishedPosts, updatePastPostMetrics, pastPostMetricsSink, type PostMetrics } from './past-posts.js';
export {
  createSource,
  deleteSource,
  getSource,
  getSourceText,
  listSources,
  replaceSource,
  searchKnowledge,
  uploadSource,
  type FollowInput,
  type KnowledgeDeps,
  type SourceInput,
  type SourceText,
  type UploadInput,
} from './service.js';
export { ensureCurrentModel, reembedWorkspace, type ReembedResult } from './reembed.js';
export { ensureSeeded, loadSeedDocuments, parseSeed, SEED_VERSION, type SeedDocument } from './seed.js';
export * from './types.js';
