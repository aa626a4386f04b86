/**
 * Turning text into vectors. Two embedders: the offline default, `lexical`, which hashes word
 * and character n-grams into a fixed-size vector (feature hashing) — it needs nothing
 * downloaded and finds text sharing words and word pieces with the query, but it is LEXICAL,
 * not semantic: "cheap" does not find "inexpensive". `ollama:<model>` calls an Ollama
 * server's `/api/embed` (e.g. `nomic-embed-text`), and `openai:<model>` any OpenAI-compatible
 * `/v1/embeddings` (e.g. `text-embedding-3-small`), for semantic vectors.
 */
import { LRUCache } from 'lru-cache';
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
 * What a word contributes to a vector, kept so a word met again is not cut into features and
 * hashed again: its features in the order a vector counts them — `w:word` (weight 1), then its
 * character trigrams `c:…` (0.3 each) — with their buckets, and the bigrams it starts
 * (`b:word next`, 0.5), learned as they are met. The very strings and buckets the definition
 * above builds, so a vector is the same to the last bit whether a word was cached or not.
 */
interface WordFeatures {
  /** The word, copied (not a slice keeping the text it was cut from alive). */
  word: string;
  features: string[];
  buckets: number[];
  bigrams: Map<string, { feature: string; bucket: number }>;
}

/**
 * Words kept (the vocabulary of recent texts), only words of up to 32 characters (a longer
 * "word", e.g. unspaced Thai or a hex dump, is computed each time), and bigrams kept per word:
 * about 5 MB for everyday words, at most ~25 MB.
 */
const WORDS_CACHED = 5_000;
const CACHED_WORD_LENGTH = 32;
const BIGRAMS_PER_WORD = 16;
const wordCache = new LRUCache<string, WordFeatures>({ max: WORDS_CACHED });

function featuresOf(text: string): WordFeatures {
  const cached = wordCache.get(text);
  if (cached) return cached;
  const caching = text.length <= CACHED_WORD_LENGTH;
  const word = caching ? Buffer.from(text, 'utf16le').toString('utf16le') : text;
  const features = [`w:${word}`];
  const padded = `^${word}$`;
  for (let j = 0; j + 3 <= padded.length; j++) features.push(`c:${padded.slice(j, j + 3)}`);
  const entry = { word, features, buckets: features.map(bucket), bigrams: new Map() };
  if (caching) wordCache.set(word, entry);
  return entry;
}

/** The bigram `b:prev word`, kept on the previous word's entry. */
function bigramOf(prev: WordFeatures, next: WordFeatures): { feature: string; bucket: number } {
  const known = prev.bigrams.get(next.word);
  if (known) return known;
  const feature = `b:${prev.word} ${next.word}`;
  const made = { feature, bucket: bucket(feature) };
  // Kept only between cached words: a long word (not copied, maybe a slice of its whole text)
  // is never held by the cache, as a key or in a feature.
  if (prev.bigrams.size < BIGRAMS_PER_WORD && next.word.length <= CACHED_WORD_LENGTH) prev.bigrams.set(next.word, made);
  return made;
}

/** Which of a vector's indices a call set, one bit each (cleared before it returns). */
const touchedBits = new Uint32Array(LEXICAL_DIMENSION / 32);

/**
 * A text's features and their summed weights, in first-met order (slot k), reused from text to
 * text. A feature met again is found by its bucket: the slots of one bucket are chained
 * (`slotNext`, from `headOf[bucket]`, valid while `stampOf[bucket]` is this text's `stamp`) and
 * compared by their feature string — the grouping a Map keyed by the string gives.
 */
let slots = 0;
const slotFeature: string[] = [];
const slotBucket: number[] = [];
const slotCount: number[] = [];
const slotNext: number[] = [];
const headOf = new Int32Array(LEXICAL_DIMENSION);
const stampOf = new Uint32Array(LEXICAL_DIMENSION);
let stamp = 0;

function count(feature: string, bucket: number, weight: number) {
  const at = Math.abs(bucket) - 1;
  if (stampOf[at] !== stamp) {
    stampOf[at] = stamp;
    headOf[at] = -1;
  }
  for (let k = headOf[at]!; k !== -1; k = slotNext[k]!) {
    if (slotFeature[k] === feature) {
      slotCount[k]! += weight;
      return;
    }
  }
  const k = slots++;
  slotFeature[k] = feature;
  slotBucket[k] = bucket;
  slotCount[k] = weight;
  slotNext[k] = headOf[at]!;
  headOf[at] = k;
}

/**
 * {@link lexicalVector} written into `into` (LEXICAL_DIMENSION entries, all zero on entry)
 * instead of a new vector: the very same numbers. Returns the indices it set, ascending, so a
 * caller scoring many texts reads and clears only those (trend relevance: a few dozen of 1,024).
 *
 * The definition: each feature's count is summed in the order the features are first met
 * (per word: the word, the bigram it ends, its trigrams), then each feature adds
 * sign × log1p(count) to its bucket in that order, then the vector is L2-normalised.
 */
export function lexicalVectorInto(text: string, into: Float64Array): number[] {
  stamp = stamp === 0xffffffff ? (stampOf.fill(0), 1) : stamp + 1;
  slots = 0;
  const ws = words(text);
  let prev: WordFeatures | null = null;
  for (let i = 0; i < ws.length; i++) {
    const word = featuresOf(ws[i]!);
    count(word.features[0]!, word.buckets[0]!, 1);
    if (prev) {
      const b = bigramOf(prev, word);
      count(b.feature, b.bucket, 0.5);
    }
    for (let j = 1; j < word.features.length; j++) count(word.features[j]!, word.buckets[j]!, 0.3);
    prev = word;
  }
  for (let k = 0; k < slots; k++) {
    const b = slotBucket[k]!;
    const at = Math.abs(b) - 1;
    into[at]! += Math.sign(b) * Math.log1p(slotCount[k]!);
    touchedBits[at >>> 5]! |= 1 << (at & 31);
  }
  // A very long text's features are not kept alive by the slots until the next one.
  if (slots > 4_096) for (const a of [slotFeature, slotBucket, slotCount, slotNext]) a.length = 0;
  // The indices set, ascending: read off the bitmap (and clear it), lowest bit first.
  const set: number[] = [];
  for (let word = 0; word < touchedBits.length; word++) {
    let bits = touchedBits[word]!;
    if (bits === 0) continue;
    touchedBits[word] = 0;
    while (bits !== 0) {
      const low = bits & -bits;
      set.push(word * 32 + 31 - Math.clz32(low));
      bits ^= low;
    }
  }
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
