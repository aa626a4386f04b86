/**
 * How relevant an item is to the niche, measured — not guessed by a model — from two signals:
 * the niche's keywords (an item naming one) and the workspace's embedder (the one its
 * knowledge base uses: the cosine between the item's text and the nearest keyword). Each item
 * gets a score from 0 to 1 and the reasons for it, stored with the item. When the embedder
 * fails (Ollama down), keywords alone decide and the reason says so.
 */
import { LEXICAL_DIMENSION, LexicalEmbedder, lexicalVectorInto, type Embedder } from '../../knowledge/index.js';
import type { TrendItem } from '../../connectors/trend-source.js';
import { matchesTerms, termsOf } from './terms.js';

/** Weight of a keyword match in the score (the embedder's similarity has the rest). */
export const KEYWORD_WEIGHT = 0.5;
/** Cosine at or below which the embedder says "unrelated" (0), and at or above which "same topic" (1). */
export const SIMILARITY_FLOOR = 0.25;
export const SIMILARITY_CEILING = 0.75;
/** An item is relevant from this score: a keyword alone (0.5), or a cosine of 0.6 or more alone. */
export const RELEVANCE_THRESHOLD = 0.35;

export interface RelevanceWhy {
  /** Niche keywords the item names. */
  keywords: string[];
  /** The keyword the embedder finds nearest, and the cosine to it. */
  nearest: string | null;
  similarity: number | null;
  /** The embedder's model (`ollama:nomic-embed-text`, `lexical-v2`); null when none was used. */
  embedder: string | null;
  /** Why the embedder was not used, when it failed. */
  embedderError?: string;
}

export interface Relevance {
  relevance: number;
  why: RelevanceWhy;
}

/**
 * A keyword's vector kept for the cosines of a whole batch: the indices of its non-zero entries
 * and its squared norm, so each item's dot product reads only those entries (a lexical keyword
 * has a few dozen of 1,024). The sums run in the same order as over every entry, so each cosine
 * is the very number a dense loop gives.
 */
interface KeywordVector {
  v: number[];
  nonZero: number[];
  /** Squared norm over the whole vector. */
  sq: number;
}

const squares = (v: number[], n: number) => {
  let sq = 0;
  for (let i = 0; i < n; i++) sq += v[i]! * v[i]!;
  return sq;
};

const keywordVector = (v: number[]): KeywordVector => ({
  v,
  nonZero: v.flatMap((x, i) => (x !== 0 ? [i] : [])),
  sq: squares(v, v.length),
});

/** The cosine over the first min(length) entries of both, as a dense loop would give it. */
function cosine(k: KeywordVector, v: ArrayLike<number>, itemSquares: (n: number) => number): number {
  const n = Math.min(k.v.length, v.length);
  let dot = 0;
  for (const i of k.nonZero) {
    if (i >= n) break;
    dot += k.v[i]! * v[i]!;
  }
  const na = n === k.v.length ? k.sq : squares(k.v, n);
  const nb = itemSquares(n);
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Texts per embed call: the remote embedders' default request size (a larger configured batch
 * size, or 64 keywords and more, costs more requests than one call for the whole batch would),
 * and few enough vectors that they die young.
 */
const EMBED_CHUNK = 64;

const round = (x: number) => Math.round(x * 1000) / 1000;

/** What is embedded of an item: its title and its tags as hashtags. */
const textOf = (i: Pick<TrendItem, 'title' | 'tags'>) => [i.title, ...i.tags.map((t) => `#${t}`)].join(' ');

export const isRelevant = (relevance: number | null) => relevance === null || relevance >= RELEVANCE_THRESHOLD;

/**
 * Scores items against the niche's keywords. Without keywords nothing is measured (null: every
 * item counts as relevant, as before a niche is described).
 */
export async function scoreRelevance(
  embedder: Embedder | null,
  keywords: string[],
  items: Array<Pick<TrendItem, 'title' | 'tags'>>,
): Promise<Array<Relevance | null>> {
  if (keywords.length === 0 || items.length === 0) return items.map(() => null);
  const keywordTerms = keywords.map((k) => termsOf(k, []));
  const hits = items.map((i) => {
    const terms = new Set(termsOf(i.title, i.tags));
    return keywords.filter((_, k) => matchesTerms(terms, keywordTerms[k]!));
  });
  // Nearest keyword and its cosine per item, measured a chunk of items at a time: a chunk's
  // vectors are scored and dropped before the next is embedded (a lexical vector is 8 KB, and
  // a whole batch's stayed alive long enough to be collected the slow way).
  const nearestOf: Array<string | null> = items.map(() => null);
  const similarityOf: Array<number | null> = items.map(() => null);
  let measured = false;
  let embedderError: string | undefined;
  const nearest = (item: number, v: ArrayLike<number>, itemSquares: (n: number) => number, kvs: KeywordVector[]) =>
    kvs.forEach((kv, k) => {
      const c = cosine(kv, v, itemSquares);
      const best = similarityOf[item];
      if (best === null || c > best!) {
        similarityOf[item] = c;
        nearestOf[item] = keywords[k]!;
      }
    });
  if (embedder instanceof LexicalEmbedder) {
    // The built-in lexical embedder, in process: each item's vector is written into one reused
    // buffer and only the entries it set are read and cleared — the same numbers as its
    // `embed`, without two 1,024-entry arrays per item to make and collect.
    const keywordVectors = (await embedder.embed(keywords)).map(keywordVector);
    const buffer = new Float64Array(LEXICAL_DIMENSION);
    items.forEach((item, n) => {
      const set = lexicalVectorInto(textOf(item), buffer);
      let sq = 0;
      for (const i of set) sq += buffer[i]! * buffer[i]!;
      // Both are LEXICAL_DIMENSION long: the cosine runs over all of it, whose squares are `sq`.
      nearest(n, buffer, () => sq, keywordVectors);
      for (const i of set) buffer[i] = 0;
    });
    measured = true;
  } else if (embedder) {
    try {
      let keywordVectors: KeywordVector[] = [];
      for (let start = 0; start < items.length;) {
        // The keywords go with the first chunk, so every call is one remote request.
        const first = start === 0 ? keywords.length : 0;
        const end = Math.min(items.length, start + Math.max(1, EMBED_CHUNK - first));
        const texts = items.slice(start, end).map(textOf);
        const vectors = await embedder.embed(start === 0 ? [...keywords, ...texts] : texts);
        if (start === 0) keywordVectors = keywords.map((_, k) => keywordVector(vectors[k]!));
        const at = start;
        start = end;
        texts.forEach((_, j) => {
          const v = vectors[first + j]!;
          // The item's squared norm once (again only for a keyword vector of another length).
          let sqLength = -1;
          let sq = 0;
          const itemSquares = (len: number) => {
            if (len !== sqLength) [sqLength, sq] = [len, squares(v, len)];
            return sq;
          };
          nearest(at + j, v, itemSquares, keywordVectors);
        });
      }
      measured = true;
    } catch (err) {
      // Keywords alone then, for the whole batch (what a chunk already measured is not used).
      embedderError = (err as Error).message.slice(0, 200);
    }
  }
  return items.map((_, n) => {
    const nearest = measured ? (nearestOf[n] ?? null) : null;
    const similarity = measured ? (similarityOf[n] ?? null) : null;
    const semantic =
      similarity === null
        ? 0
        : Math.min(1, Math.max(0, (similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR)));
    const keywordPart = hits[n]!.length ? 1 : 0;
    // Keywords alone decide when no embedder answered: a match is fully relevant then.
    const relevance = measured ? KEYWORD_WEIGHT * keywordPart + (1 - KEYWORD_WEIGHT) * semantic : keywordPart;
    return {
      relevance: round(relevance),
      why: {
        keywords: hits[n]!,
        nearest,
        similarity: similarity === null ? null : round(similarity),
        embedder: measured ? embedder!.model : null,
        ...(embedderError ? { embedderError } : {}),
      },
    };
  });
}
