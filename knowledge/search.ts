/**
 * Hybrid search over one workspace's collection: a vector query and a keyword query (chunks
 * containing the query's words, via Chroma's document filter) run with the same metadata
 * filters, and their rankings are fused (reciprocal rank fusion, k = 60). Chunks are then
 * joined with their source rows in PostgreSQL: chunks of a deleted source, or of a generation
 * that is not the source's live one, are dropped, so a half-finished re-ingest or a leftover
 * never shows.
 */
import { and, eq, inArray } from 'drizzle-orm';
import type { Collection, Where, WhereDocument } from 'chromadb';
import { schema, type Db } from '../core/index.js';
import { words } from './embedders.js';
import type { ChunkMetadata, KnowledgeStore } from './store.js';
import type { DocType, SearchFilters, SearchHit } from './types.js';

const { knowledgeSources } = schema;
const RRF_K = 60;
/** Chunks the keyword leg considers. */
const KEYWORD_POOL = 200;
/** Keyword terms used per query (the longest words, usually the most telling). */
const MAX_TERMS = 4;

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

function keywordFilter(terms: string[]): WhereDocument | undefined {
  // Chroma's $contains is case-sensitive: try the word as typed lower-case and capitalised.
  const forms = [...new Set(terms.flatMap((t) => [t, t.charAt(0).toUpperCase() + t.slice(1)]))];
  if (forms.length === 0) return undefined;
  return forms.length === 1 ? { $contains: forms[0]! } : { $or: forms.map((t) => ({ $contains: t })) };
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

export async function hybridSearch(
  deps: { db: Db; store: KnowledgeStore },
  workspaceId: string,
  query: string,
  filters: SearchFilters,
  limit: number,
): Promise<SearchHit[]> {
  const collection = await deps.store.collectionFor(workspaceId, false);
  if (!collection) return [];
  const where = whereOf(filters);
  const [vector] = await deps.store.embedder.embed([query]);
  const pool = Math.min(100, Math.max(limit * 4, 20));
  const terms = [...new Set(words(query))].sort((a, b) => b.length - a.length).slice(0, MAX_TERMS);
  const whereDocument = keywordFilter(terms);

  const [byVector, byKeyword] = await Promise.all([
    vectorQuery(collection, vector!, pool, where),
    whereDocument
      ? collection.get<ChunkMetadata>({
          whereDocument,
          ...(where ? { where } : {}),
          limit: KEYWORD_POOL,
          // Vectors only for the few keyword-only chunks that make the final list (below).
          include: ['documents', 'metadatas'],
        })
      : null,
  ]);

  const candidates = new Map<string, Candidate>();
  const countTerms = (text: string) => {
    const have = new Set(words(text));
    return terms.filter((t) => have.has(t)).length;
  };
  byVector.ids[0]?.forEach((id, rank) => {
    const text = byVector.documents[0]?.[rank] ?? '';
    candidates.set(id, {
      id,
      text,
      meta: byVector.metadatas[0]![rank]!,
      // Cosine space: distance = 1 - similarity.
      similarity: 1 - (byVector.distances?.[0]?.[rank] ?? 1),
      keywordMatches: countTerms(text),
      keywordWeight: 0,
      score: 1 / (RRF_K + rank + 1),
    });
  });
  if (byKeyword) {
    const docs = byKeyword.ids.map((id, i) => {
      const text = byKeyword.documents[i] ?? '';
      return { id, text, have: new Set(words(text)), meta: byKeyword.metadatas[i]! };
    });
    // Rarer words weigh more (inverse document frequency over the matching chunks), so
    // "Bluesky" outranks "post" in "how long can a Bluesky post be".
    const idf = new Map(
      terms.map((t) => [t, Math.log(1 + (docs.length + 1) / (1 + docs.filter((d) => d.have.has(t)).length))]),
    );
    const ranked = docs
      .map((d) => {
        const hit = terms.filter((t) => d.have.has(t));
        return { ...d, matches: hit.length, weight: hit.reduce((w, t) => w + idf.get(t)!, 0) };
      })
      // A substring hit inside a longer word ("post" in "poster") is not a word match.
      .filter((r) => r.matches > 0)
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
  const sources = await deps.db
    .select()
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
