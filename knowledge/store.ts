/**
 * The Chroma side: one collection per workspace (and embedding model), named from the
 * workspace id. Isolation is by construction — every read and write starts from
 * `collectionFor(workspaceId)`, so no query can reach another workspace's vectors by forgetting
 * a filter — and each collection records the embedding model and dimension it was built with
 * (collection metadata); a changed model gets a new collection that re-embedding fills. Chunks carry
 * `source_id`, `generation`, `doc_type`, `created_ts` and `platform` as metadata for filtering.
 */
import { createHash } from 'node:crypto';
import type { ChromaClient, Collection, EmbeddingFunction, Metadata, Where } from 'chromadb';
import { HeraldError } from '../core/index.js';
import type { Embedder } from './embedders.js';

export interface StoredChunk {
  id: string;
  text: string;
  vector: number[];
  metadata: ChunkMetadata;
}

export interface ChunkMetadata extends Metadata {
  source_id: string;
  generation: number;
  doc_type: string;
  /** Source creation time, epoch seconds (Chroma filters numbers, not dates). */
  created_ts: number;
  /** The platform a past post went out on; null for other documents. */
  platform: string | null;
  heading: string | null;
  chunk_index: number;
  hash: string;
}

const workspacePrefix = (workspaceId: string) => `herald_ws_${workspaceId.replace(/-/g, '').toLowerCase()}_`;

/**
 * `herald_ws_<workspace>_<model slug>-<model hash>`: one collection per workspace and
 * embedding model, so a new model fills a new collection while the old one still answers.
 */
export function collectionName(workspaceId: string, model: string): string {
  const slug = model
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${workspacePrefix(workspaceId)}${slug}-${createHash('sha256').update(model).digest('hex').slice(0, 8)}`;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e?.name === 'ChromaNotFoundError' || /does not exist|not found/i.test(e?.message ?? '');
}

function unavailable(cause: unknown): HeraldError {
  return new HeraldError('chroma_unavailable', {
    message: `Chroma failed: ${(cause as Error)?.message ?? String(cause)}`,
    cause,
  });
}

/**
 * HNSW settings of new collections. With Chroma's defaults (ef_search 100, ef_construction
 * 100, 16 links) the vector query found about half of the exact 10 nearest neighbours on
 * 100,000 lexical chunks; with these, all of them, at the same query time and ~10% slower
 * writes (`npm run bench:knowledge`). Existing collections keep the settings they were
 * created with.
 */
export interface HnswOptions {
  /** Candidates kept while searching. Default 1000 (Chroma: 100). */
  efSearch?: number;
  /** Candidates kept while building. Default 200 (Chroma: 100). */
  efConstruction?: number;
  /** Links per node. Default 32 (Chroma: 16). */
  maxNeighbors?: number;
}

export const DEFAULT_HNSW: Required<HnswOptions> = { efSearch: 1000, efConstruction: 200, maxNeighbors: 32 };

export class KnowledgeStore {
  readonly client: ChromaClient;
  /** The default embedder (`KNOWLEDGE_EMBEDDER`); methods take a workspace's own where it chose one. */
  readonly embedder: Embedder;
  /** Writes per Chroma request. */
  readonly batchSize: number;

  /** Handed to the client so it never looks for an embedding package of its own. */
  readonly #embeddingFunction: EmbeddingFunction;

  readonly hnsw: Required<HnswOptions>;

  constructor(client: ChromaClient, embedder: Embedder, opts: { batchSize?: number; hnsw?: HnswOptions } = {}) {
    this.#embeddingFunction = { name: 'herald', generate: (texts) => embedder.embed(texts) };
    this.client = client;
    this.embedder = embedder;
    this.batchSize = opts.batchSize ?? 500;
    this.hnsw = { ...DEFAULT_HNSW, ...opts.hnsw };
  }

  /**
   * The workspace's collection for `embedder` (default: the store's); created (recording model
   * and dimension) when `create`, else null if absent.
   */
  async collectionFor(
    workspaceId: string,
    create: boolean,
    embedder: Embedder = this.embedder,
  ): Promise<Collection | null> {
    const name = collectionName(workspaceId, embedder.model);
    let collection: Collection;
    try {
      if (create) {
        collection = await this.client.getOrCreateCollection({
          name,
          metadata: {
            herald_workspace_id: workspaceId,
            embedding_model: embedder.model,
            embedding_dimension: await embedder.dimension(),
          },
          configuration: {
            hnsw: {
              space: 'cosine',
              ef_search: this.hnsw.efSearch,
              ef_construction: this.hnsw.efConstruction,
              max_neighbors: this.hnsw.maxNeighbors,
            },
          },
          // Herald embeds itself: no embedding function is recorded on the collection.
          embeddingFunction: null,
        });
      } else {
        collection = await this.client.getCollection({ name, embeddingFunction: this.#embeddingFunction });
      }
    } catch (err) {
      if (err instanceof HeraldError) throw err;
      if (!create && isMissing(err)) return null;
      throw unavailable(err);
    }
    await this.#checkModel(collection, embedder);
    return collection;
  }

  async #checkModel(collection: Collection, embedder: Embedder): Promise<void> {
    const meta = collection.metadata ?? {};
    const dimension = await embedder.dimension();
    if (meta.embedding_model !== embedder.model || meta.embedding_dimension !== dimension)
      throw new HeraldError('knowledge_embedding_mismatch', {
        message: `This workspace's knowledge was embedded with ${String(meta.embedding_model)} (${String(meta.embedding_dimension)} dimensions); the configured embedder is ${embedder.model} (${dimension})`,
        details: {
          collectionModel: meta.embedding_model ?? null,
          collectionDimension: meta.embedding_dimension ?? null,
          configuredModel: embedder.model,
          configuredDimension: dimension,
        },
      });
  }

  /**
   * Writes one generation of a source's chunks; if any batch fails, removes what this
   * generation already wrote, so a failed ingest leaves nothing half-written.
   */
  async writeGeneration(
    workspaceId: string,
    sourceId: string,
    generation: number,
    chunks: StoredChunk[],
    embedder: Embedder = this.embedder,
  ) {
    const collection = (await this.collectionFor(workspaceId, true, embedder))!;
    try {
      for (let i = 0; i < chunks.length; i += this.batchSize) {
        const batch = chunks.slice(i, i + this.batchSize);
        await collection.upsert({
          ids: batch.map((c) => c.id),
          embeddings: batch.map((c) => c.vector),
          documents: batch.map((c) => c.text),
          metadatas: batch.map((c) => c.metadata),
        });
      }
    } catch (err) {
      await collection.delete({ where: { $and: [{ source_id: sourceId }, { generation }] } }).catch(() => undefined);
      throw err instanceof HeraldError ? err : unavailable(err);
    }
  }

  /** Deletes the source's chunks of generations before `generation` (all of them when omitted). */
  async deleteSourceChunks(
    workspaceId: string,
    sourceId: string,
    beforeGeneration?: number,
    embedder: Embedder = this.embedder,
  ): Promise<void> {
    const collection = await this.collectionFor(workspaceId, false, embedder).catch((err: unknown) => {
      // A model mismatch must not block deleting: open the collection as it is.
      if (err instanceof HeraldError && err.code === 'knowledge_embedding_mismatch')
        return this.client.getCollection({
          name: collectionName(workspaceId, embedder.model),
          embeddingFunction: this.#embeddingFunction,
        });
      throw err;
    });
    if (!collection) return;
    const where: Where =
      beforeGeneration === undefined
        ? { source_id: sourceId }
        : { $and: [{ source_id: sourceId }, { generation: { $lt: beforeGeneration } }] };
    try {
      await collection.delete({ where });
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Removes the workspace's collections, of every model (its whole knowledge base). */
  async dropWorkspace(workspaceId: string): Promise<void> {
    try {
      const prefix = workspacePrefix(workspaceId);
      const names: string[] = [];
      for (let offset = 0; ; offset += 100) {
        const page = await this.client.listCollections({ limit: 100, offset });
        names.push(...page.map((c) => c.name).filter((n) => n.startsWith(prefix)));
        if (page.length < 100) break;
      }
      for (const name of names) {
        this.#handles.delete(name);
        await this.client.deleteCollection({ name });
      }
    } catch (err) {
      if (!isMissing(err)) throw unavailable(err);
    }
  }

  /** Read handles by collection name, so a search skips the lookup round trip (`readCollection`). */
  readonly #handles = new Map<string, Collection>();

  /**
   * The workspace's collection for reading (search), its handle kept after the first lookup;
   * null if absent. A handle can outlive its collection (another process dropped and rebuilt
   * it): a reader that fails with one calls `forgetCollection` and looks it up again.
   */
  async readCollection(workspaceId: string, embedder: Embedder = this.embedder): Promise<Collection | null> {
    const name = collectionName(workspaceId, embedder.model);
    const known = this.#handles.get(name);
    if (known) {
      await this.#checkModel(known, embedder);
      return known;
    }
    const collection = await this.collectionFor(workspaceId, false, embedder);
    if (collection) this.#handles.set(name, collection);
    return collection;
  }

  /** The metadata recorded on the workspace's collection of `model` (no model check, no embedding call); null if absent. */
  async collectionMetadata(workspaceId: string, model: string): Promise<Record<string, unknown> | null> {
    try {
      const c = await this.client.getCollection({
        name: collectionName(workspaceId, model),
        embeddingFunction: this.#embeddingFunction,
      });
      return c.metadata ?? {};
    } catch (err) {
      if (isMissing(err)) return null;
      throw unavailable(err);
    }
  }

  forgetCollection(workspaceId: string, model: string): void {
    this.#handles.delete(collectionName(workspaceId, model));
  }

  /** Drops the workspace's collection of one model (a re-embed starts it afresh). */
  async dropCollection(workspaceId: string, model: string): Promise<void> {
    this.forgetCollection(workspaceId, model);
    try {
      await this.client.deleteCollection({ name: collectionName(workspaceId, model) });
    } catch (err) {
      if (!isMissing(err)) throw unavailable(err);
    }
  }

  async countChunks(workspaceId: string, sourceId?: string, embedder: Embedder = this.embedder): Promise<number> {
    const collection = await this.collectionFor(workspaceId, false, embedder);
    if (!collection) return 0;
    if (!sourceId) return collection.count();
    const got = await collection.get({ where: { source_id: sourceId }, include: [] });
    return got.ids.length;
  }
}
