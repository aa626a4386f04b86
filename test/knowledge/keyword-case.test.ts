/**
 * The keyword half of hybrid search under a non-lexical embedder (the scripted Ollama server's
 * vectors are hashes: they carry no word at all). A product code in capitals, a mixed-case
 * name and an accented word are found by any spelling of their case, over REST, although the
 * vector query's pool of neighbours does not hold them (checked first, so the test proves the
 * whole-collection keyword query found them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedders, poolSize, vectorQuery, type Embedder } from '../../knowledge/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import type { Person } from '../helpers/api-env.js';
import { ownerContext, searchOverRest, startKnowledgeApi, waitForIngest, type KnowledgeApi } from './knowledge-env.js';

const OLLAMA = 'ollama:nomic-embed-text';
const LIMIT = 5;

let llm: FakeLlm;
let stack: KnowledgeApi;
let p: Person;
let embedder: Embedder;
const targets: Record<string, string> = {};

async function addSource(title: string, format: 'text' | 'markdown', text: string) {
  const res = await stack.api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: p.auth,
    payload: { docType: 'note', title, format, text },
  });
  expect(res.statusCode, res.body).toBe(202);
  const source = await waitForIngest(stack.kenv.deps, ownerContext(p), res.json().id);
  expect(source).toMatchObject({ status: 'ready', embeddingModel: OLLAMA });
  return source;
}

beforeAll(async () => {
  llm = await startFakeLlm({ embeddingDims: 16, ollamaModels: ['nomic-embed-text'] });
  // The server's default embedder is Ollama, as `KNOWLEDGE_EMBEDDER=ollama:nomic-embed-text` makes it.
  const embedders = new Embedders({ ollamaUrl: llm.ollamaUrl }, OLLAMA);
  stack = await startKnowledgeApi({}, { embedders });
  embedder = embedders.defaultEmbedder;
  p = await stack.api.signUp();
  // 300 near-miss sections (one chunk each) around the queries' words, then the three targets.
  const filler = Array.from(
    { length: 300 },
    (_, i) =>
      `# Catalogue entry ${i}\n\nThe vortex ${i} phone case and the cafe cream ${i} kit ship from the depot in batch ${i}.`,
  ).join('\n\n');
  await addSource('Near misses', 'markdown', filler);
  targets.code = (await addSource('Code', 'text', 'Part number ZQXVORTEK fits the 2026 rail kit.')).id;
  targets.mixed = (await addSource('Phone', 'text', 'The iPhone sleeve is stitched from waxed canvas.')).id;
  targets.accent = (await addSource('Menu', 'text', 'Le CAFÉ CRÈME du matin est servi avec une tartine.')).id;
}, 120_000);

afterAll(async () => {
  await stack?.close(p ? [p.workspaceId] : []);
  await llm?.close();
});

describe('keyword matching ignores case under a non-lexical embedder', () => {
  const cases: Array<[string, keyof typeof targets]> = [
    ['ZQXVORTEK', 'code'],
    ['zqxvortek', 'code'],
    ['Zqxvortek part', 'code'],
    ['iphone', 'mixed'],
    ['IPHONE sleeve', 'mixed'],
    ['iPhone', 'mixed'],
    ['crème café', 'accent'],
    ['Crème', 'accent'],
    ['CAFÉ matin', 'accent'],
  ];
  it.each(cases)('"%s" finds the %s document in the top 5', async (query, target) => {
    const collection = (await stack.kenv.deps.store.readCollection(p.workspaceId, embedder))!;
    const [vector] = await embedder.embed([query]);
    const pool = await vectorQuery(collection, vector!, poolSize(LIMIT));
    // Not reachable by the vector leg: only the keyword query can find it.
    expect(pool.metadatas[0]!.map((m) => m!.source_id)).not.toContain(targets[target]);

    const hits = await searchOverRest(stack.api.app, p, query, `&limit=${LIMIT}`);
    expect(hits.map((h) => h.source.id)).toContain(targets[target]);
    expect(hits.find((h) => h.source.id === targets[target])!.keywordMatches).toBeGreaterThan(0);
  });

  it('a word inside a longer word is not a keyword match', async () => {
    const hits = await searchOverRest(stack.api.app, p, 'ZQXVORTE', `&limit=${LIMIT}`);
    expect(hits.filter((h) => h.keywordMatches > 0)).toEqual([]);
  });
});
