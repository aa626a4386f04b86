/**
 * Seed knowledge: the best practices shipped in `knowledge/seed/best-practices.md` are added to
 * a workspace the first time its knowledge base is used, once, and are then found by search.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, openDatabase, type Database } from '../../core/index.js';
import {
  ensureSeeded,
  listSources,
  loadSeedDocuments,
  searchKnowledge,
  type KnowledgeContext,
  type SeedDocument,
} from '../../knowledge/index.js';
import {
  startKnowledgeEnv,
  startTestChroma,
  waitForIngest,
  type KnowledgeEnv,
  type TestChroma,
} from './knowledge-env.js';

let chroma: TestChroma;
let database: Database;
let env: KnowledgeEnv;
let seed: SeedDocument[];
const workspaces: string[] = [];

beforeAll(async () => {
  [chroma, database, seed] = await Promise.all([
    startTestChroma(),
    openDatabase({ kind: 'pglite' }),
    loadSeedDocuments(),
  ]);
  env = await startKnowledgeEnv({
    db: database.db,
    events: null,
    chroma: chroma.handle,
    prefix: `htest-${randomUUID().slice(0, 8)}`,
    seed,
  });
}, 60_000);

afterAll(async () => {
  for (const ws of workspaces) await env?.deps.store.dropWorkspace(ws);
  await env?.close();
  await database?.close();
  await chroma?.close();
});

async function workspace(): Promise<KnowledgeContext> {
  const ws = await createWorkspace(database.db, { name: 'S', slug: `s-${randomUUID().slice(0, 12)}` });
  workspaces.push(ws.id);
  return { workspaceId: ws.id, userId: null, role: 'owner', channel: 'rest' };
}

describe('seed knowledge', () => {
  it('ships one best-practice document per platform section', () => {
    const titles = seed.map((d) => d.title);
    for (const platform of ['General', 'X', 'Bluesky', 'Mastodon', 'LinkedIn', 'Instagram', 'Pinterest'])
      expect(titles).toContain(`Best practices: ${platform}`);
    expect(new Set(seed.map((d) => d.key)).size).toBe(seed.length);
    expect(seed.find((d) => d.key === 'best-practices/bluesky')!.text).toContain('300 characters');
  });

  it('is loaded into a workspace on first use, once even when asked twice at the same time, and searchable', async () => {
    const ctx = await workspace();
    const added = await Promise.all([ensureSeeded(env.deps, ctx.workspaceId), ensureSeeded(env.deps, ctx.workspaceId)]);
    expect(added[0] + added[1]).toBe(seed.length);
    const sources = await listSources(env.deps, ctx);
    expect(sources).toHaveLength(seed.length);
    expect(sources.every((s) => s.docType === 'best_practice' && s.metadata.seed)).toBe(true);
    for (const s of sources) expect((await waitForIngest(env.deps, ctx, s.id)).status).toBe('ready');

    const hits = await searchKnowledge(env.deps, ctx, 'how many characters can a Bluesky post have', {
      types: ['best_practice'],
    });
    expect(hits[0]!.source.title).toBe('Best practices: Bluesky');
    expect(hits[0]!.text).toContain('300 characters');
  });

  it('a workspace whose knowledge base is first used by a search gets the seed too', async () => {
    const ctx = await workspace();
    await searchKnowledge(env.deps, ctx, 'hashtags');
    expect(await listSources(env.deps, ctx)).toHaveLength(seed.length);
  });
});
