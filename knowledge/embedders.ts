/**
 * Turning text into vectors. Two embedders: the offline default, `lexical`, which hashes word
 * and character n-grams into a fixed-size vector (feature hashing) — it needs nothing
 * downloaded and finds text sharing words and word pieces with the query, but it is LEXICAL,
 * not semantic: "cheap" does not find "inexpensive". And `ollama:<model>`, which calls an
 * Ollama server's `/api/embed` (e.g. `nomic-embed-text`) for semantic vectors.
 */
import { createHash } from 'node:crypto';
import { HeraldError } from '../core/index.js';

export interface Embedder {
  /** Recorded on each collection: `lexical-v1`, `ollama:nomic-embed-text`. */
  readonly model: string;
  /** Known up front for `lexical`; learned from the first answer for Ollama. */
  dimension(): Promise<number>;
  embed(texts: string[]): Promise<number[][]>;
}

/** Length of lexical vectors. */
export const LEXICAL_DIMENSION = 1024;
export const LEXICAL_MODEL = 'lexical-v1';

const WORD = /[\p{L}\p{N}]+/gu;

export function words(text: string): string[] {
  return (text.toLowerCase().normalize('NFKC').match(WORD) ?? []).filter((w) => w.length > 1 || /\d/.test(w));
}

function bucket(feature: string): { index: number; sign: number } {
  const h = createHash('md5').update(feature).digest();
  return { index: h.readUInt32LE(0) % LEXICAL_DIMENSION, sign: h[4]! & 1 ? 1 : -1 };
}

/**
 * Feature hashing over words (weight 1), word bigrams (0.5) and character trigrams of each
 * word (0.3, so "posting" and "posts" share features), log-scaled counts, L2-normalised.
 */
export function lexicalVector(text: string): number[] {
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  const ws = words(text);
  ws.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${ws[i - 1]} ${w}`, 0.5);
    const padded = `^${w}$`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.3);
  });
  const v = new Array<number>(LEXICAL_DIMENSION).fill(0);
  for (const [f, c] of counts) {
    const { index, sign } = bucket(f);
    v[index]! += sign * Math.log1p(c);
  }
  const norm = Math.hypot(...v);
  // An empty text gets a fixed unit vector: Chroma refuses all-zero vectors under cosine.
  if (norm === 0) return v.map((_, i) => (i === 0 ? 1 : 0));
  return v.map((x) => x / norm);
}

export class LexicalEmbedder implements Embedder {
  readonly model = LEXICAL_MODEL;
  dimension(): Promise<number> {
    return Promise.resolve(LEXICAL_DIMENSION);
  }
  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map(lexicalVector));
  }
}

export interface OllamaEmbedderOptions {
  baseUrl: string;
  /** An installed embedding model, e.g. `nomic-embed-text`. */
  model: string;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Texts per request. Default 64. */
  batchSize?: number;
}

export class OllamaEmbedder implements Embedder {
  readonly model: string;
  readonly #opts: OllamaEmbedderOptions;
  #dimension: number | undefined;

  constructor(opts: OllamaEmbedderOptions) {
    this.#opts = opts;
    this.model = `ollama:${opts.model}`;
  }

  async dimension(): Promise<number> {
    if (this.#dimension === undefined) await this.embed(['dimension probe']);
    return this.#dimension!;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    const size = this.#opts.batchSize ?? 64;
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.#call(texts.slice(i, i + size))));
    return out;
  }

  async #call(input: string[]): Promise<number[][]> {
    let res: Response;
    try {
      res = await fetch(new URL('/api/embed', this.#opts.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: this.#opts.model, input }),
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 60_000),
      });
    } catch (cause) {
      throw new HeraldError('ollama_unavailable', {
        message: `Ollama at ${new URL(this.#opts.baseUrl).host} did not answer the embedding request: ${(cause as Error).message}`,
        cause,
      });
    }
    if (res.status === 404)
      throw new HeraldError('model_not_found', {
        message: `Ollama has no model ${this.#opts.model}; pull it first (ollama pull ${this.#opts.model})`,
      });
    if (!res.ok)
      throw new HeraldError('ollama_unavailable', { message: `Ollama answered ${res.status} to /api/embed` });
    const body = (await res.json()) as { embeddings?: number[][] };
    const vectors = body.embeddings;
    if (!Array.isArray(vectors) || vectors.length !== input.length || vectors.some((v) => !v.length))
      throw new HeraldError('ollama_unavailable', {
        message: 'Ollama answered /api/embed without one vector per text',
      });
    this.#dimension ??= vectors[0]!.length;
    return vectors;
  }
}

/** `lexical` or `ollama:<model>` (the latter needs an Ollama URL). */
export function embedderFromSpec(spec: string, ollamaUrl: string | undefined): Embedder {
  if (spec === 'lexical') return new LexicalEmbedder();
  if (spec.startsWith('ollama:') && spec.length > 'ollama:'.length) {
    if (!ollamaUrl)
      throw new HeraldError('config_invalid', { message: `KNOWLEDGE_EMBEDDER=${spec} needs OLLAMA_URL to be set` });
    return new OllamaEmbedder({ baseUrl: ollamaUrl, model: spec.slice('ollama:'.length) });
  }
  throw new HeraldError('config_invalid', {
    message: `KNOWLEDGE_EMBEDDER must be "lexical" or "ollama:<model>", not "${spec}"`,
  });
}
