/**
 * Public surface of `knowledge/`: Chroma's lifecycle, the embedders, the workspace-scoped
 * source and search service, and the ingestion queue and worker (docs/knowledge.md).
 */
export { startChroma, type ChromaHandle, type ChromaOptions } from './chroma-server.js';
export {
  embedderFromSpec,
  LexicalEmbedder,
  OllamaEmbedder,
  LEXICAL_DIMENSION,
  LEXICAL_MODEL,
  type Embedder,
  type OllamaEmbedderOptions,
} from './embedders.js';
export { chunkText, type Chunk, type ChunkOptions } from './chunking.js';
export { extractMainContent } from './html.js';
export { parseFeed, type FeedItem } from './feed.js';
export { collectionName, KnowledgeStore } from './store.js';
export { ingestSource, type IngestDeps, type IngestLimits, type IngestResult } from './ingest.js';
export { KNOWLEDGE_QUEUE, KnowledgeQueue, startKnowledgeWorker, type IngestJobData } from './queue.js';
export {
  createSource,
  deleteSource,
  getSource,
  listSources,
  replaceSource,
  searchKnowledge,
  type KnowledgeDeps,
  type SourceInput,
} from './service.js';
export { ensureCurrentModel } from './reembed.js';
export { ensureSeeded, loadSeedDocuments, parseSeed, SEED_VERSION, type SeedDocument } from './seed.js';
export * from './types.js';
