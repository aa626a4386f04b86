/**
 * Hybrid search over one workspace's collection (of its active embedder). The vector query
 * fetches a pool of neighbours (5 × the limit, 40-200) and every pooled chunk is scored in
 * process for the query's words (inverse-document-frequency weighted); the vector and keyword
 * rankings are fused (reciprocal rank fusion, k = 60). Only when the pool holds fewer than
 * `limit` chunks with any query word does a keyword query over the whole collection (Chroma's
 * document filter, a case-insensitive whole-word regex) add keyword-only hits: that query scans every document, which made it
 * 98% of a search's time on 100,000 chunks when it ran on every search (docs/knowledge.md).
 * Chunks are then joined with their source rows in PostgreSQL: chunks of a deleted source, or
 * of a generation that is not the source's live one, are dropped, so a half-finished
 * re-ingest or a leftover never shows.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Collection, Where, WhereDocument } from 'chromadb';
import { schema, type Db } from '../core/index.js';
import { resolveEmbedder, type Embedders } from './embedder-settings.js';
import { words } from './embedders.js';
import type { ChunkMetadata, KnowledgeStore } from './store.js';
import type { DocType, SearchFilters, SearchHit } from './types.js';

const { knowledgeSources } = schema;
const RRF_K = 60;
/** Chunks the whole-collection keyword query (the fallback) considers. */
const KEYWORD_POOL = 200;
/** Keyword terms used per query (the longest words, usually the most telling). */
const MAX_TERMS = 4;
/** Vector neighbours fetched per result asked for, and the pool's bounds. */
const POOL_PER_RESULT = 5;
const POOL_MIN = 40;
const POOL_MAX = 200;

/** How many vector neighbours a search of `limit` results pools. */
export const poolSize = (limit: number) => Math.min(POOL_MAX, Math.max(limit * POOL_PER_RESULT, POOL_MIN));

function whereOf(f: SearchFilters): Where | undefined {
  const parts: Where[] = [];
  if (f.types?.length) parts.push({ doc_type: { $in: f.types } });
  if (f.sourceIds?.length) parts.push({ source_id: { $in: f.sourceIds } });
  if (f.platforms?.length) parts.push({ platform: { $in: f.platforms } });
  if (f.from) parts.push({ created_ts: { $gte: Math.floor(f.from.getTime() / 1000) } });
  if (f.to) parts.push({ created_ts: { $lt: Math.ceil(f.to.getTime() / 1000) } });
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/**
 * The whole-collection keyword query: any of `terms` as a whole word, in any case. Chroma's
 * `$contains` is case-sensitive, so "ZQXVORTEK", "iPhone" or "CRÈME" were missed by a
 * lower-case query; its `$regex` (Rust's regex, Unicode-aware) with `(?i)` matches them all.
 * Chunk text is stored NFC-normalised (`planChunks`) and the terms come from `words` (NFKC),
 * so an accented letter is one code point on both sides.
 */
function keywordFilter(terms: string[]): WhereDocument | undefined {
  if (terms.length === 0) return undefined;
  const escaped = terms.map((t) => t.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
  return { $regex: `(?i)\\b(?:${escaped.join('|')})\\b` };
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** The vector leg: the `n` chunks nearest `vector` in the collection's HNSW index. */
export function vectorQuery(collection: Collection, vector: number[], n: number, where?: Where) {
  return collection.query<ChunkMetadata>({
    queryEmbeddings: [vector],
    nResults: n,
    ...(where ? { where } : {}),
    include: ['documents', 'metadatas', 'distances'],
  });
}

interface Candidate {
  id: string;
  text: string;
  meta: ChunkMetadata;
  similarity: number;
  keywordMatches: number;
  /** IDF-weighted keyword score (0 when no query word is in the chunk). */
  keywordWeight: number;
  score: number;
}

/** Why a search ran the whole-collection keyword query; for the benchmark. */
export const searchStats = { searches: 0, keywordFallbacks: 0 };

export async function hybridSearch(
  deps: { db: Db; store: KnowledgeStore; embedders?: Embedders | undefined },
  workspaceId: string,
  query: string,
  filters: SearchFilters,
  limit: number,
): Promise<SearchHit[]> {
  const embedder = await resolveEmbedder(deps, workspaceId);
  let collection = await deps.store.readCollection(workspaceId, embedder);
  if (!collection) return [];
  const where = whereOf(filters);
  const [vector] = await embedder.embed([query]);
  const terms = [...new Set(words(query))].sort((a, b) => b.length - a.length).slice(0, MAX_TERMS);
  let byVector: Awaited<ReturnType<typeof vectorQuery>>;
  try {
    byVector = await vectorQuery(collection, vector!, poolSize(limit), where);
  } catch {
    // A kept handle whose collection was dropped and rebuilt elsewhere: look it up again.
    deps.store.forgetCollection(workspaceId, embedder.model);
    collection = await deps.store.readCollection(workspaceId, embedder);
    if (!collection) return [];
    byVector = await vectorQuery(collection, vector!, poolSize(limit), where);
  }
  searchStats.searches++;

  const candidates = new Map<string, Candidate>();
  const pooled: Array<{ id: string; text: string; meta: ChunkMetadata; have: Set<string> }> = [];
  byVector.ids[0]?.forEach((id, rank) => {
    const text = byVector.documents[0]?.[rank] ?? '';
    const have = new Set(words(text));
    pooled.push({ id, text, meta: byVector.metadatas[0]![rank]!, have });
    candidates.set(id, {
      id,
      text,
      meta: byVector.metadatas[0]![rank]!,
      // Cosine space: distance = 1 - similarity.
      similarity: 1 - (byVector.distances?.[0]?.[rank] ?? 1),
      keywordMatches: terms.filter((t) => have.has(t)).length,
      keywordWeight: 0,
      score: 1 / (RRF_K + rank + 1),
    });
  });
  let keywordDocs = pooled.filter((d) => terms.some((t) => d.have.has(t)));
  // The whole collection is searched for the words the pool has fewest of (none, usually):
  // the others are already represented, and each word costs the scan another pass.
  const inPool = terms.map((t) => keywordDocs.filter((d) => d.have.has(t)).length);
  const whereDocument = keywordFilter(terms.filter((_, i) => inPool[i] === Math.min(...inPool)));
  if (whereDocument && keywordDocs.length < limit) {
    // Too little keyword evidence near the query vector: look through the whole collection.
    searchStats.keywordFallbacks++;
    const byKeyword = await collection.get<ChunkMetadata>({
      whereDocument,
      ...(where ? { where } : {}),
      limit: KEYWORD_POOL,
      // Vectors only for the few keyword-only chunks that make the final list (below).
      include: ['documents', 'metadatas'],
    });
    const seen = new Set(keywordDocs.map((d) => d.id));
    byKeyword.ids.forEach((id, i) => {
      if (seen.has(id)) return;
      const text = byKeyword.documents[i] ?? '';
      keywordDocs.push({ id, text, meta: byKeyword.metadatas[i]!, have: new Set(words(text)) });
    });
    // A substring hit inside a longer word ("post" in "poster") is not a word match.
    keywordDocs = keywordDocs.filter((d) => terms.some((t) => d.have.has(t)));
  }
  if (keywordDocs.length) {
    // Rarer words weigh more (inverse document frequency over the chunks looked at), so
    // "Bluesky" outranks "post" in "how long can a Bluesky post be".
    const seenDocs = Math.max(pooled.length, keywordDocs.length);
    const idf = new Map(
      terms.map((t) => [t, Math.log(1 + (seenDocs + 1) / (1 + keywordDocs.filter((d) => d.have.has(t)).length))]),
    );
    const ranked = keywordDocs
      .map((d) => {
        const hit = terms.filter((t) => d.have.has(t));
        return { ...d, matches: hit.length, weight: hit.reduce((w, t) => w + idf.get(t)!, 0) };
      })
      .sort((a, b) => b.weight - a.weight);
    ranked.forEach((r, rank) => {
      const fused = 1 / (RRF_K + rank + 1);
      const existing = candidates.get(r.id);
      if (existing) {
        existing.score += fused;
        existing.keywordWeight = r.weight;
      } else
        candidates.set(r.id, {
          id: r.id,
          text: r.text,
          meta: r.meta,
          similarity: NaN, // filled in for the chunks returned
          keywordMatches: r.matches,
          keywordWeight: r.weight,
          score: fused,
        });
    });
  }
  if (candidates.size === 0) return [];

  const sourceIds = [...new Set([...candidates.values()].map((c) => c.meta.source_id))];
  // Not the source's text (`content`): it can be large, and a hit cites the source only.
  const sources = await deps.db
    .select({
      id: knowledgeSources.id,
      title: knowledgeSources.title,
      docType: knowledgeSources.docType,
      url: knowledgeSources.url,
      createdAt: knowledgeSources.createdAt,
      metadata: knowledgeSources.metadata,
      readyGeneration: knowledgeSources.readyGeneration,
    })
    .from(knowledgeSources)
    .where(and(eq(knowledgeSources.workspaceId, workspaceId), inArray(knowledgeSources.id, sourceIds)));
  const byId = new Map(sources.map((s) => [s.id, s]));

  const chosen = [...candidates.values()]
    .filter((c) => byId.get(c.meta.source_id)?.readyGeneration === c.meta.generation)
    // Equal fused ranks: the chunk matching rarer query words first, then the closer vector.
    .sort(
      (a, b) => b.score - a.score || b.keywordWeight - a.keywordWeight || (b.similarity || -2) - (a.similarity || -2),
    )
    .slice(0, limit);
  const unmeasured = chosen.filter((c) => Number.isNaN(c.similarity));
  if (unmeasured.length) {
    const got = await collection.get({ ids: unmeasured.map((c) => c.id), include: ['embeddings'] });
    const vectors = new Map(got.ids.map((id, i) => [id, got.embeddings[i]]));
    for (const c of unmeasured) {
      const v = vectors.get(c.id);
      c.similarity = v ? cosine(vector!, v) : 0;
    }
  }

  return chosen.map((c) => {
    const s = byId.get(c.meta.source_id)!;
    return {
      chunkId: c.id,
      text: c.text,
      heading: c.meta.heading ?? null,
      score: Number(c.score.toFixed(6)),
      similarity: Number(c.similarity.toFixed(4)),
      keywordMatches: c.keywordMatches,
      source: {
        id: s.id,
        title: s.title,
        docType: s.docType as DocType,
        url: s.url,
        createdAt: s.createdAt.toISOString(),
        platform: typeof s.metadata.platform === 'string' ? s.metadata.platform : null,
        publishedAt: typeof s.metadata.publishedAt === 'string' ? s.metadata.publishedAt : null,
        metrics: (s.metadata.metrics as Record<string, number> | undefined) ?? null,
      },
    };
  });
}
