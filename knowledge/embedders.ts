/**
 * Turning text into vectors. Two embedders: the offline default, `lexical`, which hashes word
 * and character n-grams into a fixed-size vector (feature hashing) — it needs nothing
 * downloaded and finds text sharing words and word pieces with the query, but it is LEXICAL,
 * not semantic: "cheap" does not find "inexpensive". `ollama:<model>` calls an Ollama
 * server's `/api/embed` (e.g. `nomic-embed-text`), and `openai:<model>` any OpenAI-compatible
 * `/v1/embeddings` (e.g. `text-embedding-3-small`), for semantic vectors.
 */
import { HeraldError } from '../core/index.js';

export interface Embedder {
  /** Recorded on each collection: `lexical-v2`, `ollama:nomic-embed-text`, `openai:text-embedding-3-small`. */
  readonly model: string;
  /** Known up front for `lexical`; learned from the first answer for Ollama. */
  dimension(): Promise<number>;
  embed(texts: string[]): Promise<number[][]>;
}

/** Length of lexical vectors. */
export const LEXICAL_DIMENSION = 1024;
/** v2: FNV-1a + mixer buckets (v1 hashed with MD5; a v1 workspace re-embeds on first use). */
export const LEXICAL_MODEL = 'lexical-v2';

const WORD = /[\p{L}\p{N}]+/gu;

export function words(text: string): string[] {
  return (text.toLowerCase().normalize('NFKC').match(WORD) ?? []).filter((w) => w.length > 1 || /\d/.test(w));
}

/**
 * The feature's bucket, signed (`index + 1`, negated for sign -1): FNV-1a over the UTF-16
 * code units, finished with MurmurHash3's mixer so the low bits (index) and the top bit
 * (sign) are independent. Fast enough to hash every feature of 100,000 chunks in seconds.
 */
function bucket(feature: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < feature.length; i++) h = Math.imul(h ^ feature.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (((h >>> 0) % LEXICAL_DIMENSION) + 1) * (h < 0 ? -1 : 1);
}

/**
 * Feature hashing over words (weight 1), word bigrams (0.5) and character trigrams of each
 * word (0.3, so "posting" and "posts" share features), log-scaled counts, L2-normalised.
 */
export function lexicalVector(text: string): number[] {
  const v = new Float64Array(LEXICAL_DIMENSION);
  lexicalVectorInto(text, v);
  return Array.from(v);
}

/**
 * {@link lexicalVector} written into `into` (LEXICAL_DIMENSION entries, all zero on entry)
 * instead of a new vector: the very same numbers. Returns the indices it set, ascending, so a
 * caller scoring many texts reads and clears only those (trend relevance: a few dozen of 1,024).
 */
export function lexicalVectorInto(text: string, into: Float64Array): number[] {
  const counts = new Map<string, number>();
  const add = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  const ws = words(text);
  ws.forEach((w, i) => {
    add(`w:${w}`, 1);
    if (i > 0) add(`b:${ws[i - 1]} ${w}`, 0.5);
    const padded = `^${w}$`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.3);
  });
  const touched = new Set<number>();
  for (const [f, c] of counts) {
    const b = bucket(f);
    const at = Math.abs(b) - 1;
    into[at]! += Math.sign(b) * Math.log1p(c);
    touched.add(at);
  }
  const set = [...touched].sort((a, b) => a - b);
  // Summed in index order, as over the whole vector (a zero entry adds nothing).
  let sq = 0;
  for (const i of set) sq += into[i]! * into[i]!;
  const norm = Math.sqrt(sq);
  // An empty text gets a fixed unit vector: Chroma refuses all-zero vectors under cosine.
  if (norm === 0) {
    for (const i of set) into[i] = 0;
    into[0] = 1;
    return [0];
  }
  for (const i of set) into[i] = into[i]! / norm;
  return set;
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

/** What a remote embedder reaches its server with: how to call it, and what an answer is. */
interface RemoteCall {
  url: URL;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
  /** Names the server in messages: `Ollama at host:11434`. */
  who: string;
  /** Maps a non-2xx answer to a typed error. */
  refused(status: number, body: string): HeraldError;
  /** Error code for a server that does not answer (or answers 5xx). */
  downCode: 'ollama_unavailable' | 'model_unavailable';
  /** The vectors in an answer, or undefined when it has none. */
  vectors(answer: unknown): number[][] | undefined;
}

/** Posts one embedding request and checks the answer holds one non-empty vector per text. */
async function embedRemote(call: RemoteCall, count: number): Promise<number[][]> {
  let res: Response;
  try {
    res = await fetch(call.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
  } catch (cause) {
    throw new HeraldError(call.downCode, {
      message: `${call.who} did not answer the embedding request: ${(cause as Error).message}`,
      cause,
    });
  }
  if (res.status >= 500)
    throw new HeraldError(call.downCode, { message: `${call.who} answered ${res.status} to ${call.url.pathname}` });
  if (!res.ok) throw call.refused(res.status, await res.text().catch(() => ''));
  const vectors = call.vectors(await res.json().catch(() => undefined));
  if (!Array.isArray(vectors) || vectors.length !== count || vectors.some((v) => !Array.isArray(v) || !v.length))
    throw new HeraldError(call.downCode, {
      message: `${call.who} answered ${call.url.pathname} without one vector per text`,
    });
  return vectors;
}

/** The batching and dimension-learning both remote embedders share. */
abstract class RemoteEmbedder implements Embedder {
  abstract readonly model: string;
  readonly #batchSize: number;
  #dimension: number | undefined;

  constructor(batchSize: number | undefined) {
    this.#batchSize = batchSize ?? 64;
  }

  protected abstract call(input: string[]): Promise<number[][]>;

  async dimension(): Promise<number> {
    if (this.#dimension === undefined) await this.embed(['dimension probe']);
    return this.#dimension!;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.#batchSize) {
      const vectors = await this.call(texts.slice(i, i + this.#batchSize));
      this.#dimension ??= vectors[0]!.length;
      out.push(...vectors);
    }
    return out;
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

export class OllamaEmbedder extends RemoteEmbedder {
  readonly model: string;
  readonly #opts: OllamaEmbedderOptions;

  constructor(opts: OllamaEmbedderOptions) {
    super(opts.batchSize);
    this.#opts = opts;
    this.model = `ollama:${opts.model}`;
  }

  protected call(input: string[]): Promise<number[][]> {
    const name = this.#opts.model;
    return embedRemote(
      {
        url: new URL('/api/embed', this.#opts.baseUrl),
        headers: {},
        body: { model: name, input },
        timeoutMs: this.#opts.timeoutMs ?? 60_000,
        who: `Ollama at ${new URL(this.#opts.baseUrl).host}`,
        downCode: 'ollama_unavailable',
        refused: (status) =>
          status === 404
            ? new HeraldError('model_not_found', {
                message: `Ollama has no model ${name}; pull it first (ollama pull ${name})`,
              })
            : new HeraldError('ollama_unavailable', { message: `Ollama answered ${status} to /api/embed` }),
        vectors: (answer) => (answer as { embeddings?: number[][] } | undefined)?.embeddings,
      },
      input.length,
    );
  }
}

export interface OpenAIEmbedderOptions {
  /** Up to and including `/v1`, as `OPENAI_BASE_URL`. Default `https://api.openai.com/v1`. */
  baseUrl?: string | undefined;
  /** Sent as a bearer token when set (local servers often need none). */
  apiKey?: string | undefined;
  /** e.g. `text-embedding-3-small`. */
  model: string;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Texts per request. Default 64. */
  batchSize?: number;
}

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, LM Studio, LocalAI...). */
export class OpenAIEmbedder extends RemoteEmbedder {
  readonly model: string;
  readonly #opts: OpenAIEmbedderOptions;

  constructor(opts: OpenAIEmbedderOptions) {
    super(opts.batchSize);
    this.#opts = opts;
    this.model = `openai:${opts.model}`;
  }

  protected call(input: string[]): Promise<number[][]> {
    const base = (this.#opts.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
    const url = new URL(`${base}/embeddings`);
    const name = this.#opts.model;
    return embedRemote(
      {
        url,
        headers: this.#opts.apiKey ? { authorization: `Bearer ${this.#opts.apiKey}` } : {},
        body: { model: name, input, encoding_format: 'float' },
        timeoutMs: this.#opts.timeoutMs ?? 60_000,
        who: `The embedding endpoint at ${url.host}`,
        downCode: 'model_unavailable',
        refused: (status, body) => {
          const detail = body.slice(0, 200);
          if (status === 404)
            return new HeraldError('model_not_found', {
              message: `${url.host} has no embedding model ${name}`,
              details: { status },
            });
          if (status === 429)
            return new HeraldError('rate_limited', { message: `${url.host} is rate-limiting embedding requests` });
          return new HeraldError('embedder_refused', {
            message: `${url.host} refused the embedding request (HTTP ${status})${detail ? `: ${detail}` : ''}`,
            details: { status },
          });
        },
        vectors: (answer) => {
          const data = (answer as { data?: Array<{ index?: number; embedding?: number[] }> } | undefined)?.data;
          if (!Array.isArray(data)) return undefined;
          // The spec orders by `index`; sort in case a server does not.
          return [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding ?? []);
        },
      },
      input.length,
    );
  }
}

export interface EmbedderEndpoints {
  ollamaUrl?: string | undefined;
  openai?: { apiKey?: string | undefined; baseUrl?: string | undefined } | undefined;
}

/** `lexical`, `ollama:<model>` (needs an Ollama URL) or `openai:<model>` (the OpenAI-compatible endpoint). */
export function embedderFromSpec(spec: string, endpoints: EmbedderEndpoints): Embedder {
  if (spec === 'lexical') return new LexicalEmbedder();
  const [kind, ...rest] = spec.split(':');
  const model = rest.join(':');
  if (kind === 'ollama' && model) {
    if (!endpoints.ollamaUrl)
      throw new HeraldError('config_invalid', { message: `The embedder ${spec} needs OLLAMA_URL to be set` });
    return new OllamaEmbedder({ baseUrl: endpoints.ollamaUrl, model });
  }
  if (kind === 'openai' && model) {
    if (!endpoints.openai)
      throw new HeraldError('config_invalid', {
        message: `The embedder ${spec} needs OPENAI_API_KEY or OPENAI_BASE_URL to be set`,
      });
    return new OpenAIEmbedder({ ...endpoints.openai, model });
  }
  throw new HeraldError('config_invalid', {
    message: `An embedder is "lexical", "ollama:<model>" or "openai:<model>", not "${spec}"`,
  });
}
