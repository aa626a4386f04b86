/**
 * Remote embeddings through the scripted model server — Ollama's `/api/embed` and an
 * OpenAI-compatible `/v1/embeddings` — stored in a real Chroma: the collection records the model and its dimension, search uses the same model,
 * a different embedder is refused rather than mixed in, and Ollama being down fails the
 * ingestion as retryable without writing anything.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, createWorkspace, openDatabase, schema, type Database } from '../../core/index.js';
import {
  collectionName,
  createSource,
  ensureCurrentModel,
  ingestSource,
  KnowledgeStore,
  LEXICAL_MODEL,
  LexicalEmbedder,
  embedderFromSpec,
  OllamaEmbedder,
  OpenAIEmbedder,
  searchKnowledge,
  searchStats,
  type IngestDeps,
  type KnowledgeContext,
} from '../../knowledge/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { freePort } from '../helpers/processes.js';
import { startKnowledgeEnv, startTestChroma, waitForIngest, type TestChroma } from './knowledge-env.js';

let chroma: TestChroma;
let llm: FakeLlm;
let database: Database;
const workspaces: string[] = [];

beforeAll(async () => {
  [chroma, llm, database] = await Promise.all([
    startTestChroma(),
    startFakeLlm({ embeddingDims: 16, ollamaModels: ['nomic-embed-text'], openaiEmbeddingKey: 'sk-test' }),
    openDatabase({ kind: 'pglite' }),
  ]);
}, 60_000);

afterAll(async () => {
  const store = new KnowledgeStore(chroma.handle.client, new LexicalEmbedder());
  for (const ws of workspaces) await store.dropWorkspace(ws);
  await llm?.close();
  await database?.close();
  await chroma?.close();
});

async function workspace(): Promise<KnowledgeContext> {
  const ws = await createWorkspace(database.db, { name: 'K', slug: `k-${randomUUID().slice(0, 12)}` });
  const user = await createUser(database.db, { email: `${randomUUID()}@example.com` });
  workspaces.push(ws.id);
  return { workspaceId: ws.id, userId: user.id, role: 'owner', channel: 'rest' };
}

async function addRow(ctx: KnowledgeContext, text: string) {
  const [row] = await database.db
    .insert(schema.knowledgeSources)
    .values({ workspaceId: ctx.workspaceId, docType: 'note', format: 'text', title: 'n', content: text })
    .returning();
  return row!;
}

const depsWith = (store: KnowledgeStore): IngestDeps => ({
  db: database.db,
  store,
  events: null,
  limits: { maxBytes: 1 << 20, fetchTimeoutMs: 1_000 },
});

describe('Ollama embeddings', () => {
  it('embeds through /api/embed, records model and dimension on the collection, and searches with them', async () => {
    const ctx = await workspace();
    const store = new KnowledgeStore(
      chroma.handle.client,
      new OllamaEmbedder({ baseUrl: llm.ollamaUrl, model: 'nomic-embed-text' }),
    );
    const text = 'Our spring launch is the Alfama teapot.\n\nIt ships on the first of March.';
    const row = await addRow(ctx, text);
    const before = llm.requests.length;
    expect(await ingestSource(depsWith(store), ctx.workspaceId, row.id, 1)).toEqual({ outcome: 'ready', chunks: 1 });
    const embedCalls = llm.requests.slice(before).filter((r) => r.path === '/api/embed');
    expect(embedCalls.length).toBeGreaterThanOrEqual(1);
    expect(embedCalls.every((r) => r.body.model === 'nomic-embed-text')).toBe(true);

    const collection = await chroma.handle.client.getCollection({
      name: collectionName(ctx.workspaceId, 'ollama:nomic-embed-text'),
    });
    expect(collection.metadata).toMatchObject({ embedding_model: 'ollama:nomic-embed-text', embedding_dimension: 16 });

    // The fake's vectors are a hash of the text: the identical text is the nearest neighbour.
    const stored = (await collection.get({ where: { source_id: row.id } })).documents[0]!;
    const hits = await searchKnowledge({ db: database.db, store }, ctx, stored);
    expect(hits[0]).toMatchObject({ text: stored, source: { id: row.id } });
    expect(hits[0]!.similarity).toBeCloseTo(1, 4);

    // The same model name answering another dimension is refused, not silently mixed in.
    const other = await startFakeLlm({ embeddingDims: 24 });
    try {
      const resized = new KnowledgeStore(
        chroma.handle.client,
        new OllamaEmbedder({ baseUrl: other.ollamaUrl, model: 'nomic-embed-text' }),
      );
      await expect(searchKnowledge({ db: database.db, store: resized }, ctx, 'teapot')).rejects.toMatchObject({
        code: 'knowledge_embedding_mismatch',
        details: { collectionDimension: 16, configuredDimension: 24 },
      });
    } finally {
      await other.close();
    }
  });

  it('changing the model re-embeds every source in the background, from its stored text', async () => {
    const ctx = await workspace();
    const lexical = await startKnowledgeEnv({
      db: database.db,
      events: null,
      chroma: chroma.handle,
      prefix: `lx-${randomUUID().slice(0, 8)}`,
    });
    const ollama = await startKnowledgeEnv({
      db: database.db,
      events: null,
      chroma: chroma.handle,
      prefix: `ol-${randomUUID().slice(0, 8)}`,
      embedder: new OllamaEmbedder({ baseUrl: llm.ollamaUrl, model: 'nomic-embed-text' }),
    });
    try {
      const source = await createSource(lexical.deps, ctx, {
        docType: 'product',
        title: 'Teapot',
        format: 'text',
        text: 'The Alfama teapot holds one litre.',
      });
      expect(await waitForIngest(lexical.deps, ctx, source.id)).toMatchObject({ embeddingModel: LEXICAL_MODEL });

      // The first use under the new model queues the re-embed.
      expect(await ensureCurrentModel(ollama.deps, ctx.workspaceId)).toBe(1);
      const redone = await waitForIngest(ollama.deps, ctx, source.id, 2);
      expect(redone).toMatchObject({ status: 'ready', embeddingModel: 'ollama:nomic-embed-text', chunkCount: 1 });
      const hits = await searchKnowledge(ollama.deps, ctx, 'The Alfama teapot holds one litre.');
      expect(hits[0]).toMatchObject({ source: { id: source.id } });
      expect(hits[0]!.similarity).toBeCloseTo(1, 4);
      // Nothing left to do, and the old model's collection is untouched.
      expect(await ensureCurrentModel(ollama.deps, ctx.workspaceId)).toBe(0);
      const names = (await chroma.handle.client.listCollections()).map((c) => c.name);
      expect(names).toEqual(
        expect.arrayContaining([
          collectionName(ctx.workspaceId, LEXICAL_MODEL),
          collectionName(ctx.workspaceId, 'ollama:nomic-embed-text'),
        ]),
      );
    } finally {
      await lexical.close();
      await ollama.close();
    }
  });

  it('a word found only far from the query vector is still a hit: the keyword query covers the whole collection', async () => {
    const ctx = await workspace();
    const store = new KnowledgeStore(
      chroma.handle.client,
      new OllamaEmbedder({ baseUrl: llm.ollamaUrl, model: 'nomic-embed-text' }),
    );
    // 120 sections; the fake's vectors are hashes, so the nearest neighbours of a query are
    // arbitrary and the one section naming Zanzibar is rarely among the vector pool.
    const sections = Array.from({ length: 120 }, (_, i) =>
      i === 77
        ? `# Section ${i}\n\nOur spice supplier ships cloves from Zanzibar every spring.`
        : `# Section ${i}\n\nPlain filler text number ${i} about mugs, glazes and kilns.`,
    );
    const row = await addRow(ctx, sections.join('\n\n'));
    await database.db
      .update(schema.knowledgeSources)
      .set({ format: 'markdown' })
      .where(eq(schema.knowledgeSources.id, row.id));
    expect(await ingestSource(depsWith(store), ctx.workspaceId, row.id, 1)).toEqual({ outcome: 'ready', chunks: 120 });
    const fallbacks = searchStats.keywordFallbacks;
    const hits = await searchKnowledge({ db: database.db, store }, ctx, 'cloves from zanzibar', {}, 5);
    expect(hits[0]).toMatchObject({ heading: 'Section 77', keywordMatches: 3 });
    expect(searchStats.keywordFallbacks).toBe(fallbacks + 1);
    expect(hits[0]!.similarity).toBeGreaterThan(-1);
  });

  it('Ollama down fails the ingestion as retryable and writes nothing', async () => {
    const ctx = await workspace();
    const store = new KnowledgeStore(
      chroma.handle.client,
      new OllamaEmbedder({
        baseUrl: `http://127.0.0.1:${await freePort()}`,
        model: 'nomic-embed-text',
        timeoutMs: 1_000,
      }),
    );
    const row = await addRow(ctx, 'Anything at all.');
    await expect(ingestSource(depsWith(store), ctx.workspaceId, row.id, 1)).rejects.toMatchObject({
      code: 'ollama_unavailable',
      retryable: true,
    });
    const after = (await database.db.select().from(schema.knowledgeSources)).find((r) => r.id === row.id);
    expect(after).toMatchObject({ status: 'failed', error: { code: 'ollama_unavailable' }, chunkCount: 0 });
    const names = (await chroma.handle.client.listCollections()).map((c) => c.name);
    expect(names).not.toContain(collectionName(ctx.workspaceId, 'ollama:nomic-embed-text'));
  });
});

describe('OpenAI-compatible embeddings', () => {
  it('embeds through /v1/embeddings with the key, in input order, and search finds the chunk', async () => {
    const ctx = await workspace();
    const embedder = embedderFromSpec('openai:text-embedding-3-small', {
      openai: { baseUrl: llm.openaiUrl, apiKey: 'sk-test' },
    });
    expect(embedder).toBeInstanceOf(OpenAIEmbedder);
    const store = new KnowledgeStore(chroma.handle.client, embedder, { batchSize: 2 });
    // Several chunks in one request: the fake answers them in reverse, the embedder must reorder.
    const text = ['# Alfama', 'The Alfama teapot holds one litre.', '# Tagus', 'The Tagus mug holds 350 ml.'].join(
      '\n\n',
    );
    const row = await addRow(ctx, text);
    const before = llm.requests.length;
    const deps = { ...depsWith(store), limits: { maxBytes: 1 << 20, fetchTimeoutMs: 1_000, chunkMaxChars: 60 } };
    // `text` rows are not Markdown: turn the row into one so each heading is a chunk.
    await database.db
      .update(schema.knowledgeSources)
      .set({ format: 'markdown' })
      .where(eq(schema.knowledgeSources.id, row.id));
    expect(await ingestSource(deps, ctx.workspaceId, row.id, 1)).toEqual({ outcome: 'ready', chunks: 2 });
    const calls = llm.requests.slice(before).filter((r) => r.path === '/v1/embeddings');
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls[0]!.headers.authorization).toBe('Bearer sk-test');
    expect(calls.every((r) => r.body.model === 'text-embedding-3-small')).toBe(true);

    const collection = await chroma.handle.client.getCollection({
      name: collectionName(ctx.workspaceId, 'openai:text-embedding-3-small'),
    });
    expect(collection.metadata).toMatchObject({
      embedding_model: 'openai:text-embedding-3-small',
      embedding_dimension: 16,
    });
    for (const chunk of ['Alfama\n\nThe Alfama teapot holds one litre.', 'Tagus\n\nThe Tagus mug holds 350 ml.']) {
      const hits = await searchKnowledge({ db: database.db, store }, ctx, chunk);
      expect(hits[0]).toMatchObject({ text: chunk, source: { id: row.id } });
      expect(hits[0]!.similarity).toBeCloseTo(1, 4);
    }
  });

  it('a refused key fails the source with embedder_refused, not retried, and writes nothing', async () => {
    const ctx = await workspace();
    const store = new KnowledgeStore(
      chroma.handle.client,
      new OpenAIEmbedder({ baseUrl: llm.openaiUrl, apiKey: 'sk-wrong', model: 'text-embedding-3-small' }),
    );
    const row = await addRow(ctx, 'Anything at all.');
    expect(await ingestSource(depsWith(store), ctx.workspaceId, row.id, 1)).toMatchObject({
      outcome: 'failed',
      error: { code: 'embedder_refused' },
    });
    const after = (await database.db.select().from(schema.knowledgeSources)).find((r) => r.id === row.id);
    expect(after).toMatchObject({ status: 'failed', error: { code: 'embedder_refused' }, chunkCount: 0 });
    expect(after!.error!.message).toContain('HTTP 401');
    expect(() => embedderFromSpec('openai:text-embedding-3-small', {})).toThrow(/OPENAI_API_KEY or OPENAI_BASE_URL/);
  });
});
