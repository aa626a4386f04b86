/**
 * bench:knowledge — the knowledge base on one synthetic corpus (default 100,000 chunks), one
 * run, against a Chroma server started from the `chromadb` package and PGlite:
 *
 * (a) ingestion: chunks/s through `ingestSource` (the ingestion job's body: chunk, embed with
 *     the offline lexical embedder, write to Chroma, retire old chunks, mark ready), sources
 *     of 100 chunks, two at a time like the default worker — no BullMQ round trip;
 * (b) query latency: Herald's `searchKnowledge` (resolve the workspace's embedder, embed, the
 *     vector query of a pool of neighbours, keyword scoring, fusion, the join with PostgreSQL)
 *     against the baseline, a direct Chroma client query of the same vector for the top 10,
 *     paired per query → p50/p99 and the ratio of p50s; plus how many of the hybrid top 10
 *     contain a query word, how often the whole-collection keyword query had to run, and
 *     what that query (`$contains`, which every search ran before) costs alone;
 * (c) recall@10 of Herald's vector leg (`vectorQuery` on the collection Herald built, with its
 *     HNSW settings) against exact brute-force nearest neighbours over the same vectors (a
 *     result tied with the 10th within 1e-3 counts, as in ann-benchmarks; strict id overlap is
 *     printed too); and,
 *     for information, how many of the hybrid top 10 are exact neighbours (fusion with
 *     keyword hits reorders on purpose, so that figure is not a recall target).
 *
 * BENCH_CHUNKS (default 100000), BENCH_QUERIES (default 100), BENCH_RECALL_QUERIES (default
 * 100), BENCH_EF_SEARCH (default: the store's). CHROMA_URL uses a running Chroma instead.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, createUser, createWorkspace, openDatabase, schema } from '../core/index.js';
import {
  ingestSource,
  KnowledgeStore,
  LexicalEmbedder,
  poolSize,
  searchKnowledge,
  searchStats,
  startChroma,
  vectorQuery,
  type Embedder,
  type KnowledgeContext,
} from '../knowledge/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 100_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 100);
const RECALL_QUERIES = Number(process.env.BENCH_RECALL_QUERIES ?? 100);
const EF_SEARCH = process.env.BENCH_EF_SEARCH ? Number(process.env.BENCH_EF_SEARCH) : undefined;
const PER_SOURCE = 100;
const CONCURRENCY = 2;
const K = 10;
const logger = createLogger({ level: 'silent' });

// A deterministic corpus: pseudo-words with a Zipf-like frequency, 5 sentences per chunk.
let seed = 42;
const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'tu', 'sen', 'vor', 'qui', 'bel', 'dan', 'pho', 'gri', 'ze', 'nu', 'tal'];
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => {
  let w = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) w += SYLLABLES[n % SYLLABLES.length];
  return w;
});
const word = () => VOCABULARY[Math.floor(VOCABULARY.length * rand() ** 2.5)]!;
const sentence = (n: number) => {
  const s = Array.from({ length: n }, word).join(' ');
  return `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
};
/** One Markdown section per chunk (sections are never merged), numbered so none repeats. */
const section = (i: number) =>
  `# ${word()} ${word()} ${i}\n\n${Array.from({ length: 5 }, () => sentence(10)).join(' ')}`;

/** The lexical embedder, keeping each chunk's vector (by text hash) while `recording`. */
class RecordingEmbedder implements Embedder {
  readonly inner = new LexicalEmbedder();
  readonly model = this.inner.model;
  recording = true;
  readonly texts: string[] = [];
  readonly vectors: Float32Array[] = [];
  dimension() {
    return this.inner.dimension();
  }
  async embed(texts: string[]) {
    const out = await this.inner.embed(texts);
    if (this.recording) {
      this.texts.push(...texts);
      for (const v of out) this.vectors.push(Float32Array.from(v));
    }
    return out;
  }
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const p = (a: number[], q: number) => round(percentile(sorted(a), q), 3);
const hashOf = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);
/** Chunk ids are `<source>:<generation>:<first 32 hex of the text's SHA-256>`. */
const hashOfId = (id: string) => id.split(':')[2]!;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-knowledge-'));
const chroma = await startChroma({ url: process.env.CHROMA_URL, dataDir, startTimeoutMs: 60_000, logger });
const database = await openDatabase({ kind: 'pglite' });
const ws = await createWorkspace(database.db, { name: 'Bench', slug: 'bench-knowledge' });
const user = await createUser(database.db, { email: 'bench@example.com' });
const ctx: KnowledgeContext = { workspaceId: ws.id, userId: user.id, role: 'owner', channel: 'bench' };
const embedder = new RecordingEmbedder();
const store = new KnowledgeStore(chroma.client, embedder, EF_SEARCH ? { hnsw: { efSearch: EF_SEARCH } } : {});
const deps = { db: database.db, store, events: null, limits: { maxBytes: 1 << 24, fetchTimeoutMs: 1_000 }, logger };

try {
  // (a) ingestion
  const sources = Math.ceil(CHUNKS / PER_SOURCE);
  const ids: string[] = [];
  for (let s = 0; s < sources; s++) {
    const count = Math.min(PER_SOURCE, CHUNKS - s * PER_SOURCE);
    const content = Array.from({ length: count }, (_, i) => section(s * PER_SOURCE + i)).join('\n\n');
    const [row] = await database.db
      .insert(schema.knowledgeSources)
      .values({ workspaceId: ws.id, docType: 'note', format: 'markdown', title: `Source ${s}`, content })
      .returning({ id: schema.knowledgeSources.id });
    ids.push(row!.id);
  }
  await store.collectionFor(ws.id, true);
  let next = 0;
  let ingested = 0;
  const t0 = performance.now();
  let lastReport = t0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const r = await ingestSource(deps, ws.id, id, 1);
        if (r.outcome !== 'ready') throw new Error(`ingest ${id}: ${JSON.stringify(r)}`);
        ingested += r.chunks;
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          process.stderr.write(`ingested ${ingested}/${CHUNKS} chunks\n`);
        }
      }
    }),
  );
  const ingestS = (performance.now() - t0) / 1000;
  embedder.recording = false;
  const ingestPerS = ingested / ingestS;

  // Every stored vector, row-major, for the exact search.
  const dim = await embedder.dimension();
  const n = embedder.vectors.length;
  const matrix = new Float32Array(n * dim);
  embedder.vectors.forEach((v, i) => matrix.set(v, i * dim));
  const rowHash = embedder.texts.map(hashOf);
  const rowOfHash = new Map(rowHash.map((h, i) => [h, i]));
  embedder.vectors.length = 0;

  const similarity = (i: number, q: number[]) => {
    let dot = 0;
    const off = i * dim;
    for (let j = 0; j < dim; j++) dot += matrix[off + j]! * q[j]!;
    return dot;
  };
  /** The exact top K (by hash) and the K-th similarity. */
  const exactTop = (q: number[]) => {
    const best: Array<{ i: number; s: number }> = [];
    for (let i = 0; i < n; i++) {
      const dot = similarity(i, q);
      if (best.length < K || dot > best[K - 1]!.s) {
        best.push({ i, s: dot });
        best.sort((a, b) => b.s - a.s);
        if (best.length > K) best.pop();
      }
    }
    return { ids: new Set(best.map((b) => rowHash[b.i]!)), kth: best[K - 1]!.s };
  };
  /**
   * Found neighbours, counted as ann-benchmarks does: a result is a true neighbour when its
   * exact cosine distance is within (1 + 1e-3) of the K-th exact distance, so that chunks
   * tied with the K-th (common in a synthetic corpus) count; `strict` counts ids only.
   */
  const found = (ids: string[], q: number[], exact: { ids: Set<string>; kth: number }) => {
    let loose = 0;
    let strict = 0;
    for (const id of ids) {
      const h = hashOfId(id);
      if (exact.ids.has(h)) strict++;
      const row = rowOfHash.get(h);
      if (row !== undefined && 1 - similarity(row, q) <= (1 - exact.kth) * (1 + 1e-3)) loose++;
    }
    return { loose, strict };
  };

  // (b) query latency, paired: Herald's search, then the same vector straight to Chroma.
  const collection = (await store.collectionFor(ws.id, false))!;
  const queryText = () => `${word()} ${word()} ${word()} ${word()}`;
  const herald: number[] = [];
  const baseline: number[] = [];
  const wholeKeyword: number[] = [];
  let withKeyword = 0;
  searchStats.searches = searchStats.keywordFallbacks = 0;
  for (let i = 0; i < QUERIES + 10; i++) {
    const q = queryText();
    const t1 = performance.now();
    const hits = await searchKnowledge({ db: database.db, store }, ctx, q, {}, K);
    const t2 = performance.now();
    const [vector] = await store.embedder.embed([q]);
    const t3 = performance.now();
    await collection.query({
      queryEmbeddings: [vector!],
      nResults: K,
      include: ['documents', 'metadatas', 'distances'],
    });
    const t4 = performance.now();
    // What every search ran before it scored the vector pool: the keyword query over the
    // whole collection (Chroma's `$contains`), for comparison.
    const terms = [...new Set(q.toLowerCase().split(' '))].sort((a, b) => b.length - a.length).slice(0, 4);
    const forms = [...new Set(terms.flatMap((t) => [t, t.charAt(0).toUpperCase() + t.slice(1)]))];
    await collection.get({
      whereDocument: { $or: forms.map((t) => ({ $contains: t })) },
      limit: 200,
      include: ['documents', 'metadatas'],
    });
    const t5 = performance.now();
    if (hits.length === 0) throw new Error(`no hits for "${q}"`);
    if (i >= 10) {
      // The first ten warm both paths up.
      herald.push(t2 - t1);
      baseline.push(t4 - t3);
      wholeKeyword.push(t5 - t4);
      withKeyword += hits.filter((h) => h.keywordMatches > 0).length / hits.length;
    }
  }

  const fallbackRate = searchStats.keywordFallbacks / Math.max(1, searchStats.searches);
  const keywordShare = withKeyword / QUERIES;

  // (c) recall@10 against exact neighbours.
  let vectorFound = 0;
  let vectorStrict = 0;
  let hybridFound = 0;
  for (let i = 0; i < RECALL_QUERIES; i++) {
    const q = queryText();
    const [vector] = await store.embedder.embed([q]);
    const exact = exactTop(vector!);
    const got = found((await vectorQuery(collection, vector!, K)).ids[0]!, vector!, exact);
    vectorFound += got.loose;
    vectorStrict += got.strict;
    const hybrid = await searchKnowledge({ db: database.db, store }, ctx, q, {}, K);
    hybridFound += found(
      hybrid.map((h) => h.chunkId),
      vector!,
      exact,
    ).loose;
  }
  const recall = vectorFound / (RECALL_QUERIES * K);
  const recallStrict = vectorStrict / (RECALL_QUERIES * K);
  const hybridOverlap = hybridFound / (RECALL_QUERIES * K);

  printTable(`Ingestion, ${ingested} chunks in ${sources} sources, lexical embedder (${dim} dimensions)`, [
    { seconds: round(ingestS, 1), chunks_per_s: round(ingestPerS) },
  ]);
  printTable(`Query latency, ${QUERIES} queries, top ${K} (ms)`, [
    { path: 'direct Chroma client query (baseline)', p50: p(baseline, 50), p99: p(baseline, 99) },
    { path: "Herald's hybrid search", p50: p(herald, 50), p99: p(herald, 99) },
    {
      path: 'keyword query over the whole collection (ran on every search before)',
      p50: p(wholeKeyword, 50),
      p99: p(wholeKeyword, 99),
    },
  ]);
  printTable(`Hybrid search, ${QUERIES} queries (vector pool ${poolSize(K)})`, [
    { figure: 'share of the top 10 containing a query word', value: round(keywordShare, 4) },
    { figure: 'searches that ran the whole-collection keyword query', value: round(fallbackRate, 4) },
  ]);
  printTable(
    `Recall@${K} against exact neighbours, ${RECALL_QUERIES} queries (HNSW ef_search ${store.hnsw.efSearch})`,
    [
      { search: 'vector leg (HNSW), ties with the 10th counted (ann-benchmarks)', recall: round(recall, 4) },
      { search: 'vector leg (HNSW), exact ids only', recall: round(recallStrict, 4) },
      { search: 'hybrid top 10 (fused with keyword hits; informative)', recall: round(hybridOverlap, 4) },
    ],
  );
  printResult({
    bench: 'knowledge',
    chunks: ingested,
    ingest_per_s: round(ingestPerS),
    query_p50_ms: p(herald, 50),
    query_p99_ms: p(herald, 99),
    chroma_p50_ms: p(baseline, 50),
    chroma_p99_ms: p(baseline, 99),
    whole_keyword_p50_ms: p(wholeKeyword, 50),
    query_ratio: round(percentile(sorted(herald), 50) / percentile(sorted(baseline), 50), 3),
    recall_at_10: round(recall, 4),
    recall_at_10_strict: round(recallStrict, 4),
    hybrid_overlap_at_10: round(hybridOverlap, 4),
    keyword_share_at_10: round(keywordShare, 4),
    keyword_fallback_rate: round(fallbackRate, 4),
    ef_search: store.hnsw.efSearch,
  });
} finally {
  await store.dropWorkspace(ws.id).catch(() => undefined);
  await chroma.stop();
  await database.close();
  await rm(dataDir, { recursive: true, force: true });
}
