/**
 * The usage ledger writer (agent/models/accounting.ts) on a real PGlite database: rows are
 * written in batches behind the reply, and `flush()` — what shutdown and readers of the
 * ledger wait on — settles only once every row recorded so far is in the table, including a
 * batch whose write had already started.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerUsageSink, type UsageRecord } from '../../agent/models/index.js';
import { createWorkspace, schema, type Database } from '../../core/index.js';
import { openPgliteForTest } from '../helpers/databases.js';

let database: Database;
let dispose: () => Promise<void>;
let workspaceId: string;

beforeAll(async () => {
  ({ database, dispose } = await openPgliteForTest());
  workspaceId = (await createWorkspace(database.db, { name: 'Ledger', slug: 'usage-ledger-test' })).id;
});
afterAll(async () => {
  await dispose();
});

const entry = (taskKind: string): UsageRecord => ({
  userId: null,
  taskKind,
  provider: 'openai',
  model: 'gpt-test',
  local: false,
  inputTokens: 10,
  outputTokens: 5,
  costUsd: 0.001,
  latencyMs: 12,
  routeReason: 'test',
});

const kinds = async () =>
  (
    await database.db
      .select({ taskKind: schema.usageLedger.taskKind })
      .from(schema.usageLedger)
      .where(eq(schema.usageLedger.workspaceId, workspaceId))
  )
    .map((r) => r.taskKind)
    .sort();

describe('usage ledger batches', () => {
  it('flush() writes the waiting batch and waits for one already being written', async () => {
    // batchMs 0: each record starts its write at once, so the row is on its way when flush runs.
    const eager = new LedgerUsageSink(database.db, { batchMs: 0 });
    let written = false;
    const recorded = eager.record(workspaceId, entry('in-flight')).then(() => (written = true));
    await eager.flush();
    expect(written).toBe(true);

    // A long batch window: the row waits for its batch until flush writes it.
    const batched = new LedgerUsageSink(database.db, { batchMs: 60_000 });
    const waiting = batched.record(workspaceId, entry('waiting'));
    await batched.flush();
    expect(await kinds()).toEqual(['in-flight', 'waiting']);
    await Promise.all([recorded, waiting]);
  });
});
