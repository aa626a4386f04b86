/**
 * The embedder as a workspace setting, against a real Chroma server, Redis, PGlite and the
 * scripted Ollama server: an admin's change is checked, then re-embedded by a background job
 * whose progress shows, while search keeps answering from the old model's collection; it
 * switches when every source is in. Invalid specs change nothing, only admins may change it,
 * and another workspace never notices.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisConnection, schema } from '../../core/index.js';
import {
  changeEmbedder,
  collectionName,
  Embedders,
  embedderStatus,
  KnowledgeQueue,
  LEXICAL_MODEL,
  reembedWorkspace,
  searchKnowledge,
  type EmbedderStatus,
  type KnowledgeContext,
  type KnowledgeDeps,
} from '../../knowledge/index.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import type { ApiEnv, Person } from '../helpers/api-env.js';
import { REDIS_URL } from '../helpers/publishing-env.js';
import { ownerContext, searchOverRest, startKnowledgeApi, waitForIngest, type KnowledgeApi } from './knowledge-env.js';

const OLLAMA = 'ollama:nomic-embed-text';

let llm: FakeLlm;
let stack: KnowledgeApi;
let api: ApiEnv;
let deps: KnowledgeDeps;
const people: Person[] = [];

beforeAll(async () => {
  llm = await startFakeLlm({ embeddingDims: 16, ollamaModels: ['nomic-embed-text'] });
  stack = await startKnowledgeApi({}, { embedders: new Embedders({ ollamaUrl: llm.ollamaUrl }, 'lexical') });
  api = stack.api;
  deps = stack.kenv.deps;
}, 60_000);

afterAll(async () => {
  await stack?.close(people.map((p) => p.workspaceId));
  await llm?.close();
});

async function person(): Promise<Person> {
  const p = await api.signUp();
  people.push(p);
  return p;
}

async function addSource(p: Person, title: string, text: string, model = LEXICAL_MODEL) {
  const res = await api.app.inject({
    method: 'POST',
    url: '/v1/knowledge/sources',
    headers: p.auth,
    payload: { docType: 'note', title, format: 'markdown', text },
  });
  expect(res.statusCode, res.body).toBe(202);
  const source = await waitForIngest(deps, ownerContext(p), res.json().id);
  expect(source).toMatchObject({ status: 'ready', embeddingModel: model });
  return source;
}

async function status(p: Person): Promise<EmbedderStatus> {
  const res = await api.app.inject({ method: 'GET', url: '/v1/knowledge/embedder', headers: p.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const putEmbedder = (p: Person, embedder: string) =>
  api.app.inject({ method: 'PUT', url: '/v1/knowledge/embedder', headers: p.auth, payload: { embedder } });

const settingsOf = async (workspaceId: string) =>
  (await deps.db.select().from(schema.workspaces).where(eq(schema.workspaces.id, workspaceId)))[0]!.settings;

const embedCallsFor = (text: string) =>
  llm.requests.filter((r) => r.path === '/api/embed' && (r.body.input as string[]).includes(text)).length;

async function invite(owner: Person, role: 'viewer' | 'editor' | 'admin'): Promise<Person> {
  const inv = await api.app.inject({
    method: 'POST',
    url: '/v1/invitations',
    headers: owner.auth,
    payload: { email: `${randomUUID()}@example.com`, role },
  });
  expect(inv.statusCode, inv.body).toBe(201);
  return api.signUp({ invitationToken: inv.json().token });
}

describe('the embedder, per workspace', () => {
  it('an admin changes it; the workspace re-embeds in the background with progress and search switches to the new model', async () => {
    const a = await person();
    const b = await person();
    const teapot = await addSource(a, 'Teapot', '# Alfama teapot\n\nThe Alfama teapot holds one litre of tea.');
    const mug = await addSource(a, 'Mug', '# Tagus mug\n\nThe Tagus mug holds 350 ml and comes in cobalt blue.');
    const bSource = await addSource(b, 'Vase', '# Douro vase\n\nThe Douro vase is glazed in celadon green.');

    expect(await status(a)).toMatchObject({
      embedder: 'lexical',
      model: LEXICAL_MODEL,
      dimension: 1024,
      isDefault: true,
      status: 'ready',
      pending: null,
    });

    const put = await putEmbedder(a, OLLAMA);
    expect(put.statusCode, put.body).toBe(202);
    expect(put.json()).toMatchObject({
      embedder: 'lexical',
      status: 'reembedding',
      pending: { embedder: OLLAMA, model: OLLAMA, error: null },
    });

    // The worker re-embeds, then switches.
    const deadline = Date.now() + 20_000;
    let now = await status(a);
    while (now.embedder !== OLLAMA) {
      expect(now.status).toBe('reembedding');
      if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 50));
      now = await status(a);
    }
    expect(now).toMatchObject({ model: OLLAMA, dimension: 16, isDefault: false, status: 'ready', pending: null });

    // The job's progress reached its total: every chunk of both sources.
    const jobs = (await deps.queue.queue.getJobs(['completed'])).filter(
      (j) => j.name === 'reembed' && j.data.workspaceId === a.workspaceId,
    );
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.progress).toEqual({ chunksDone: 2, chunksTotal: 2 });
    expect(jobs[0]!.returnvalue).toEqual({ outcome: 'switched', sources: 2, chunks: 2 });

    // Sources keep their generation; they now say which model their live chunks have.
    const rows = await deps.db
      .select()
      .from(schema.knowledgeSources)
      .where(eq(schema.knowledgeSources.workspaceId, a.workspaceId));
    for (const id of [teapot.id, mug.id])
      expect(rows.find((r) => r.id === id)).toMatchObject({ embeddingModel: OLLAMA, readyGeneration: 1 });
    const collection = await deps.store.client.getCollection({ name: collectionName(a.workspaceId, OLLAMA) });
    expect(collection.metadata).toMatchObject({ embedding_model: OLLAMA, embedding_dimension: 16 });
    expect(await collection.count()).toBe(2);

    // Search embeds the query with Ollama and finds the chunk by its new vector (the fake's
    // vectors hash the text: only the identical text is similar).
    const chunk = (await collection.get({ where: { source_id: mug.id } })).documents[0]!;
    const before = embedCallsFor(chunk);
    const hits = await searchOverRest(api.app, a, chunk);
    expect(embedCallsFor(chunk)).toBe(before + 1);
    expect(hits[0]).toMatchObject({ text: chunk, source: { id: mug.id } });
    expect(hits[0]!.similarity).toBeCloseTo(1, 4);

    // A source added now is embedded with the workspace's new model.
    await addSource(a, 'Jug', '# Minho jug\n\nThe Minho jug pours without dripping.', OLLAMA);

    // The change is audited.
    const audit = await deps.db
      .select()
      .from(schema.auditLog)
      .where(
        and(eq(schema.auditLog.workspaceId, a.workspaceId), eq(schema.auditLog.action, 'knowledge.embedder.change')),
      );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ from: 'lexical', to: OLLAMA });

    // Workspace B never noticed: still lexical, same chunks, same collection, lexical search.
    expect(await status(b)).toMatchObject({
      embedder: 'lexical',
      model: LEXICAL_MODEL,
      status: 'ready',
      isDefault: true,
    });
    const bRow = (
      await deps.db.select().from(schema.knowledgeSources).where(eq(schema.knowledgeSources.id, bSource.id))
    )[0]!;
    expect(bRow).toMatchObject({ embeddingModel: LEXICAL_MODEL, readyGeneration: 1 });
    const names = (await deps.store.client.listCollections()).map((c) => c.name);
    expect(names).not.toContain(collectionName(b.workspaceId, OLLAMA));
    const bQuery = 'Douro vase celadon';
    expect((await searchOverRest(api.app, b, bQuery))[0]).toMatchObject({ source: { id: bSource.id } });
    expect(embedCallsFor(bQuery)).toBe(0);
    expect(await settingsOf(b.workspaceId)).not.toHaveProperty('knowledge');
  });

  it('an invalid embedder answers 400 and changes nothing', async () => {
    const a = await person();
    await addSource(a, 'Teapot', 'The Alfama teapot holds one litre.');
    const before = await settingsOf(a.workspaceId);
    for (const [spec, reason] of [
      ['word2vec:glove', 'unknown_kind'],
      ['ollama:', 'unknown_kind'],
      // This server has no OpenAI-compatible endpoint configured.
      ['openai:text-embedding-3-small', 'not_configured'],
    ] as const) {
      const res = await putEmbedder(a, spec);
      expect(res.statusCode, spec).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'knowledge_embedder_invalid', details: { reason } });
    }
    expect((await putEmbedder(a, '')).statusCode).toBe(400);
    expect(await settingsOf(a.workspaceId)).toEqual(before);
    expect(await status(a)).toMatchObject({ embedder: 'lexical', status: 'ready', pending: null });
    const jobs = (await deps.queue.queue.getJobs(['waiting', 'active', 'completed', 'failed'])).filter(
      (j) => j.name === 'reembed' && j.data.workspaceId === a.workspaceId,
    );
    expect(jobs).toHaveLength(0);
  });

  it('viewers and editors may see the embedder but not change it', async () => {
    const owner = await person();
    for (const role of ['viewer', 'editor'] as const) {
      const member = await invite(owner, role);
      expect((await status(member)).embedder).toBe('lexical');
      const res = await putEmbedder(member, OLLAMA);
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toMatchObject({ code: 'forbidden', details: { required: 'admin' } });
    }
    const admin = await invite(owner, 'admin');
    expect((await putEmbedder(admin, 'lexical')).statusCode).toBe(200); // already active: nothing to do
    expect(await settingsOf(owner.workspaceId)).not.toHaveProperty('knowledge');
  });

  it('search answers from the old collection until the new one is complete; a newer change stops an older job', async () => {
    const a = await person();
    const ctx: KnowledgeContext = ownerContext(a);
    const teapot = await addSource(a, 'Teapot', 'The Alfama teapot holds one litre.');
    await addSource(a, 'Mug', 'The Tagus mug holds 350 ml.');
    // A queue no worker reads: the jobs are run by hand below.
    const connection = createRedisConnection(REDIS_URL, { purpose: 'worker' });
    const idle = new KnowledgeQueue({ connection, prefix: `idle-${randomUUID().slice(0, 8)}` });
    const manual = { ...deps, queue: idle };
    try {
      const first = await changeEmbedder(manual, ctx, OLLAMA);
      const firstId = (await settingsOf(a.workspaceId)).knowledge as { next: { changeId: string } };
      // Back to lexical before the job ran: the change is cancelled and its job does nothing.
      expect(first.status).toBe('reembedding');
      expect(await changeEmbedder(manual, ctx, 'lexical')).toMatchObject({ embedder: 'lexical', pending: null });
      expect(await reembedWorkspace(manual, a.workspaceId, firstId.next.changeId)).toEqual({ outcome: 'superseded' });

      await changeEmbedder(manual, ctx, OLLAMA);
      const { next } = (await settingsOf(a.workspaceId)).knowledge as { next: { changeId: string } };
      const query = 'The Alfama teapot holds one litre.';
      const seen: Array<[number, number]> = [];
      let checkedMidway = false;
      const result = await reembedWorkspace(manual, a.workspaceId, next.changeId, async (done, total) => {
        seen.push([done, total]);
        if (done === 1 && seen.filter(([d]) => d === 1).length === 1) {
          // Half-way: search still answers, from the lexical collection (no Ollama call).
          const calls = embedCallsFor(query);
          const hits = await searchKnowledge(manual, ctx, query);
          expect(hits[0]).toMatchObject({ source: { id: teapot.id } });
          expect(embedCallsFor(query)).toBe(calls);
          expect((await embedderStatus(manual, ctx)).status).toBe('reembedding');
          checkedMidway = true;
        }
      });
      expect(checkedMidway).toBe(true);
      expect(result).toEqual({ outcome: 'switched', sources: 2, chunks: 2 });
      expect(seen.at(-1)).toEqual([2, 2]);
      const calls = embedCallsFor(query);
      expect((await searchKnowledge(manual, ctx, query))[0]).toMatchObject({ source: { id: teapot.id } });
      expect(embedCallsFor(query)).toBe(calls + 1);
      expect(await embedderStatus(manual, ctx)).toMatchObject({ embedder: OLLAMA, status: 'ready' });
    } finally {
      await idle.queue.obliterate({ force: true }).catch(() => undefined);
      await idle.close();
      await connection.quit();
    }
  });

  it('the model server failing mid-way leaves the old embedder active and the change marked failed', async () => {
    const a = await person();
    const ctx: KnowledgeContext = ownerContext(a);
    const teapot = await addSource(a, 'Teapot', 'The Alfama teapot holds one litre.');
    const other = await startFakeLlm({ embeddingDims: 8, ollamaModels: ['nomic-embed-text'] });
    const connection = createRedisConnection(REDIS_URL, { purpose: 'worker' });
    const idle = new KnowledgeQueue({ connection, prefix: `idle-${randomUUID().slice(0, 8)}` });
    const manual = {
      ...deps,
      queue: idle,
      embedders: new Embedders({ ollamaUrl: other.ollamaUrl }, 'lexical', deps.store.embedder),
    };
    try {
      await changeEmbedder(manual, ctx, OLLAMA); // the model answers the check...
      await other.close(); // ...then goes away
      const { next } = (await settingsOf(a.workspaceId)).knowledge as { next: { changeId: string } };
      await expect(reembedWorkspace(manual, a.workspaceId, next.changeId)).rejects.toMatchObject({
        code: 'ollama_unavailable',
        retryable: true,
      });
      expect(await embedderStatus(manual, ctx)).toMatchObject({
        embedder: 'lexical',
        status: 'failed',
        pending: { embedder: OLLAMA, error: { code: 'ollama_unavailable' } },
      });
      expect((await searchKnowledge(manual, ctx, 'Alfama teapot'))[0]).toMatchObject({ source: { id: teapot.id } });
    } finally {
      await idle.queue.obliterate({ force: true }).catch(() => undefined);
      await idle.close();
      await connection.quit();
    }
  });
});
