/**
 * Checkpoints written behind their run: a run that cannot act has its answer go out before
 * its checkpoint is stored, yet the thread never looks older than its own writes to this
 * process — every later read waits for them — a failed one is reported to whoever waits
 * for it, and a confirmation is stored before it is shown. Writes are held back by a
 * serializer that waits (a gate, or a pause) so that the order is what is tested.
 */
import { emptyCheckpoint, JsonPlusSerializer, uuid6 } from '@langchain/langgraph-checkpoint';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DbCheckpointSaver, threadKey, WRITE_BEHIND } from '../../agent/index.js';
import { createWorkspace, schema, type Database } from '../../core/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startAgentEnv, toolResults, type AgentEnv } from './agent-env.js';

/** A serializer whose writes wait while `hold` is set, or pause `pauseMs` each, and fail while `fail` is set. */
class HeldSerde extends JsonPlusSerializer {
  hold: Promise<void> | undefined;
  pauseMs = 0;
  fail = false;

  override async dumpsTyped(value: unknown): Promise<[string, Uint8Array]> {
    if (this.hold) await this.hold;
    if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    if (this.fail) throw new Error('disk full');
    return super.dumpsTyped(value);
  }
}

const settledYet = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true)).catch(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

function onDatabase(name: string, open: () => Promise<{ database: Database; dispose: () => Promise<void> }>) {
  describe(`a checkpoint written behind its run (${name})`, () => {
    let database: Database;
    let dispose: () => Promise<void>;
    let workspaceId: string;

    beforeAll(async () => {
      ({ database, dispose } = await open());
      workspaceId = (await createWorkspace(database.db, { name: 'behind', slug: `behind-${Date.now()}` })).id;
    }, 60_000);
    afterAll(async () => {
      await dispose?.();
    });

    const stored = async (threadId: string) => {
      const c = schema.agentCheckpoints;
      return (await database.db.select().from(c).where(eq(c.threadId, threadId))).map((r) => r.checkpointId);
    };

    it('is stored after the call returns, and a later read of the thread waits for it', async () => {
      const serde = new HeldSerde();
      const saver = new DbCheckpointSaver(database.db, { serde });
      const threadId = threadKey(workspaceId, 'u', 'held');
      let release!: () => void;
      serde.hold = new Promise<void>((r) => (release = r));
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1) };
      const config = { configurable: { thread_id: threadId, checkpoint_ns: '', [WRITE_BEHIND]: true } };
      await saver.put(config, checkpoint, { source: 'loop', step: 0, parents: {} }, {});
      expect(await stored(threadId)).toEqual([]);

      const read = saver.getTuple({ configurable: { thread_id: threadId } });
      expect(await settledYet(read)).toBe(false);
      release();
      expect((await read)?.checkpoint.id).toBe(checkpoint.id);
      expect(await stored(threadId)).toEqual([checkpoint.id]);
      await saver.written(threadId);
    });

    it('that fails is reported once to whoever waits for it, and the thread stays readable', async () => {
      const serde = new HeldSerde();
      const saver = new DbCheckpointSaver(database.db, { serde });
      const threadId = threadKey(workspaceId, 'u', 'failed');
      serde.fail = true;
      const config = { configurable: { thread_id: threadId, checkpoint_ns: '', [WRITE_BEHIND]: true } };
      await saver.put(config, { ...emptyCheckpoint(), id: uuid6(-1) }, { source: 'loop', step: 0, parents: {} }, {});
      await expect(saver.written(threadId)).rejects.toThrow('disk full');
      await expect(saver.written(threadId)).resolves.toBeUndefined();
      serde.fail = false;
      expect(await saver.getTuple({ configurable: { thread_id: threadId } })).toBeUndefined();
    });

    it('is not how other writes are stored: they are done when the call returns', async () => {
      const saver = new DbCheckpointSaver(database.db, { serde: new HeldSerde() });
      const threadId = threadKey(workspaceId, 'u', 'direct');
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(-1) };
      await saver.put(
        { configurable: { thread_id: threadId, checkpoint_ns: '' } },
        checkpoint,
        { source: 'loop', step: 0, parents: {} },
        {},
      );
      expect(await stored(threadId)).toEqual([checkpoint.id]);
    });
  });
}

onDatabase('PGlite', openPgliteForTest);
const postgresUrl = TEST_DATABASE_URL;
if (postgresUrl) onDatabase('PostgreSQL', () => openPostgresForTest(postgresUrl));

describe('the chat handler with checkpoints written behind', () => {
  let env: AgentEnv;
  beforeAll(async () => {
    env = await startAgentEnv();
  }, 60_000);
  afterAll(async () => {
    await env?.close();
  });

  /** Every write of this agent's checkpoints pauses first, as a slow database would. */
  async function slowAgent() {
    const serde = new HeldSerde();
    const saver = new DbCheckpointSaver(env.api.env.database.db, { serde });
    const agent = await env.startAgent({ checkpointer: saver });
    const slow = () => {
      serde.pauseMs = 150;
    };
    return { ...agent, slow };
  }

  it('records a fast-path answer in the thread before the next turn reads it', async () => {
    const { p } = await env.personWithMastodon();
    const agent = await slowAgent();
    const c = await env.connect(p, agent.url);
    agent.slow();
    const before = env.modelCalls();
    const list = await c.say("what's scheduled this week", 't-behind-fast');
    expect(await c.end(list)).toMatchObject({ reason: 'done' });
    expect(env.modelCalls()).toBe(before);
    const answer = c.text(list);
    expect(answer).toContain('Nothing is scheduled this week');

    // Asked at once: the model is shown the whole thread, the fast-path answer included.
    let seen: Array<{ role: string; content: unknown }> = [];
    env.brain = (req) => {
      seen = req.body.messages as typeof seen;
      return { text: 'Indeed.' };
    };
    const next = await c.say('so I am free?', 't-behind-fast');
    expect(await c.end(next)).toMatchObject({ reason: 'done' });
    expect(seen.filter((m) => m.role !== 'system').map((m) => [m.role, m.content])).toEqual([
      ['user', "what's scheduled this week"],
      ['assistant', answer],
      ['user', 'so I am free?'],
    ]);
    c.close();
    await agent.close();
  });

  it('settled() (run at shutdown) leaves every answer written, for the next process to read', async () => {
    const { p } = await env.personWithMastodon();
    const agent = await slowAgent();
    const c = await env.connect(p, agent.url);
    agent.slow();
    const list = await c.say("what's scheduled this week", 't-behind-shutdown');
    expect(await c.end(list)).toMatchObject({ reason: 'done' });
    c.close();
    await agent.handler.settled();
    // A new process: a saver of its own, nothing queued, reading the database.
    const fresh = new DbCheckpointSaver(env.api.env.database.db);
    const tuple = await fresh.getTuple({
      configurable: { thread_id: threadKey(p.workspaceId, `u:${p.userId}`, 't-behind-shutdown') },
    });
    const messages = (tuple?.checkpoint.channel_values.messages ?? []) as Array<{ content: unknown }>;
    expect(messages.map((m) => m.content)).toEqual(["what's scheduled this week", c.text(list)]);
    await agent.close();
  });

  it('answers a fast-path command only after a confirmation left open on the thread', async () => {
    const { p } = await env.personWithMastodon();
    env.brain = (req) =>
      toolResults(req).length > 0
        ? { text: 'Left as it was.' }
        : {
            toolCalls: [
              { name: 'schedule_post', args: { text: 'Later', accounts: ['mastodon'], at: 'tomorrow at 9' } },
            ],
          };
    const c = await env.connect(p);
    const first = await c.say('schedule "Later" on mastodon tomorrow at 9', 't-behind-open');
    await c.confirmRequest(first);
    c.send({ type: 'cancel', turnId: first });
    expect(await c.end(first)).toMatchObject({ reason: 'cancelled' });

    const list = await c.say("what's scheduled this week", 't-behind-open');
    const ask = await c.confirmRequest(list);
    expect(c.text(list)).toBe('');
    c.send({ type: 'reject', turnId: list, requestId: ask.requestId });
    expect(await c.end(list)).toMatchObject({ reason: 'done' });
    expect(c.text(list)).toContain('Nothing is scheduled this week');
    c.close();
  });

  it('stores a confirmation before it is shown', async () => {
    const { p } = await env.personWithMastodon();
    const agent = await slowAgent();
    env.brain = (req) =>
      toolResults(req).length > 0
        ? { text: 'Left as it was.' }
        : {
            toolCalls: [
              { name: 'schedule_post', args: { text: 'Hello', accounts: ['mastodon'], at: 'tomorrow at 9' } },
            ],
          };
    const c = await env.connect(p, agent.url);
    agent.slow();
    const turn = await c.say('schedule "Hello" on mastodon tomorrow at 9', 't-behind-confirm');
    const ask = await c.confirmRequest(turn);
    const w = schema.agentCheckpointWrites;
    const interrupts = await env.api.env.database.db
      .select()
      .from(w)
      .where(and(eq(w.workspaceId, p.workspaceId), eq(w.channel, '__interrupt__')));
    expect(interrupts).toHaveLength(1);
    c.send({ type: 'reject', turnId: turn, requestId: ask.requestId });
    await c.end(turn);
    c.close();
    await agent.close();
  });
});
