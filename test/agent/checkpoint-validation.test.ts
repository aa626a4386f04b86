/**
 * `DbCheckpointSaver` against LangGraph's own checkpointer conformance suite
 * (`@langchain/langgraph-checkpoint-validation`: put, putWrites, getTuple, list, deleteThread),
 * on an in-memory PGlite with Herald's migrations, and on PostgreSQL too when
 * TEST_DATABASE_URL names a server. The suite's thread ids are bare ("1",
 * uuids), so the saver is given one test workspace for every thread; each checkpointer the
 * suite creates starts from an empty table. The suite expects Jest-style globals; this
 * project's vitest runs without them, so they are handed over before it is declared.
 */
import { JsonPlusSerializer, uuid6, type Checkpoint } from '@langchain/langgraph-checkpoint';
import { validate } from '@langchain/langgraph-checkpoint-validation';
import { eq } from 'drizzle-orm';
import * as vitest from 'vitest';
import { DbCheckpointSaver } from '../../agent/index.js';
import { createWorkspace, schema, type Database } from '../../core/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';

const { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } = vitest;
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test });

function validateOn(name: string, open: () => Promise<{ database: Database; dispose: () => Promise<void> }>): void {
  let database: Database;
  let dispose: () => Promise<void>;
  let workspaceId: string;
  async function clear(): Promise<void> {
    const { agentCheckpointBlobs: b, agentCheckpointWrites: w, agentCheckpoints: c } = schema;
    await database.db.delete(b).where(eq(b.workspaceId, workspaceId));
    await database.db.delete(w).where(eq(w.workspaceId, workspaceId));
    await database.db.delete(c).where(eq(c.workspaceId, workspaceId));
  }
  validate({
    checkpointerName: `DbCheckpointSaver (${name})`,
    beforeAllTimeout: 60_000,
    async beforeAll() {
      ({ database, dispose } = await open());
      workspaceId = (await createWorkspace(database.db, { name: 'validation', slug: 'validation' })).id;
    },
    async afterAll() {
      await dispose();
    },
    async createCheckpointer() {
      await clear();
      return new DbCheckpointSaver(database.db, { workspaceOf: () => workspaceId });
    },
    async destroyCheckpointer() {
      await clear();
    },
  });
}

validateOn('PGlite', openPgliteForTest);
const postgresUrl = TEST_DATABASE_URL;
if (postgresUrl) validateOn('PostgreSQL', () => openPostgresForTest(postgresUrl));

describe('checkpoints written before delta storage', () => {
  it('are still read: a value kept inline in an older checkpoint is found by its version', async () => {
    const legacy = await openPgliteForTest();
    const db = legacy.database.db;
    const ws = (await createWorkspace(db, { name: 'legacy', slug: 'legacy' })).id;
    const saver = new DbCheckpointSaver(db, { workspaceOf: () => ws });
    const serde = new JsonPlusSerializer();
    const old: Checkpoint = {
      v: 4,
      id: uuid6(0),
      ts: new Date().toISOString(),
      channel_values: { messages: ['hello'], focus: { postId: 'p1' } },
      channel_versions: { messages: 1, focus: 1 },
      versions_seen: {},
    };
    // A row as the saver wrote it before: every channel value inline.
    const [type, checkpoint] = await serde.dumpsTyped(old);
    const [metadataType, metadata] = await serde.dumpsTyped({ source: 'loop', step: 0, parents: {} });
    await db.insert(schema.agentCheckpoints).values({
      workspaceId: ws,
      threadId: 't',
      checkpointNs: '',
      checkpointId: old.id,
      type,
      checkpoint,
      metadataType,
      metadata,
    });
    const next: Checkpoint = {
      ...old,
      id: uuid6(1),
      channel_values: { messages: ['hello', 'again'], focus: { postId: 'p1' } },
      channel_versions: { messages: 2, focus: 1 },
    };
    const config = await saver.put(
      { configurable: { thread_id: 't', checkpoint_ns: '', checkpoint_id: old.id } },
      next,
      { source: 'loop', step: 1, parents: {} },
      { messages: 2 },
    );
    expect((await saver.getTuple(config))?.checkpoint.channel_values).toEqual({
      messages: ['hello', 'again'],
      focus: { postId: 'p1' },
    });
    await legacy.dispose();
  });
});
