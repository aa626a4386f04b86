/**
 * How relevant an item is to the niche, measured — not guessed by a model — from two signals:
 * the niche's keywords (an item naming one) and the workspace's embedder (the one its
 * knowledge base uses: the cosine between the item's text and the nearest keyword). Each item
 * gets a score from 0 to 1 and the reasons for it, stored with the item. When the embedder
 * fails (Ollama down), keywords alone decide and the reason says so.
 */
import type { Embedder } from '../../knowledge/index.js';
import type { TrendItem } from '../../connectors/trend-source.js';
import { matchesKeyword, termsOf } from './terms.js';

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

const cosine = (a: number[], b: number[]) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
};

const round = (x: number) => Math.round(x * 1000) / 1000;

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
  const hits = items.map((i) => {
    const terms = new Set(termsOf(i.title, i.tags));
    return keywords.filter((k) => matchesKeyword(terms, k));
  });
  let vectors: number[][] | null = null;
  let embedderError: string | undefined;
  if (embedder) {
    try {
      vectors = await embedder.embed([
        ...keywords,
        ...items.map((i) => [i.title, ...i.tags.map((t) => `#${t}`)].join(' ')),
      ]);
    } catch (err) {
      embedderError = (err as Error).message.slice(0, 200);
    }
  }
  return items.map((_, n) => {
    let nearest: string | null = null;
    let similarity: number | null = null;
    if (vectors) {
      const v = vectors[keywords.length + n]!;
      keywords.forEach((k, i) => {
        const c = cosine(vectors![i]!, v);
        if (similarity === null || c > similarity) {
          similarity = c;
          nearest = k;
        }
      });
    }
    const semantic =
      similarity === null
        ? 0
        : Math.min(1, Math.max(0, (similarity - SIMILARITY_FLOOR) / (SIMILARITY_CEILING - SIMILARITY_FLOOR)));
    const keywordPart = hits[n]!.length ? 1 : 0;
    // Keywords alone decide when no embedder answered: a match is fully relevant then.
    const relevance = vectors ? KEYWORD_WEIGHT * keywordPart + (1 - KEYWORD_WEIGHT) * semantic : keywordPart;
    return {
      relevance: round(relevance),
      why: {
        keywords: hits[n]!,
        nearest,
        similarity: similarity === null ? null : round(similarity),
        embedder: vectors ? embedder!.model : null,
        ...(embedderError ? { embedderError } : {}),
      },
    };
  });
}
