/**
 * A LangGraph checkpointer on Herald's own database (drizzle), so PostgreSQL and PGlite keep
 * conversations the same way and a restart loses nothing — a confirmation asked before the
 * restart can still be answered after it. Thread ids start with the workspace id
 * (`threadKey`), which every row also carries, so deleting a workspace deletes its threads.
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  WRITES_IDX_MAP,
  writesSortKey,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { schema, type Db } from '../../core/index.js';

const SEP = '/';

/** The LangGraph thread id of one person's conversation in one workspace. */
export function threadKey(workspaceId: string, ownerKey: string, threadId: string): string {
  return [workspaceId, ownerKey, threadId].join(SEP);
}

function workspaceOf(threadId: string): string {
  const ws = threadId.split(SEP, 1)[0] ?? '';
  if (!/^[0-9a-f-]{36}$/i.test(ws)) throw new Error(`Thread id ${threadId} does not start with a workspace id`);
  return ws;
}

function required(config: RunnableConfig, field: 'thread_id' | 'checkpoint_id'): string {
  const v: unknown = config.configurable?.[field];
  if (typeof v !== 'string' || v === '') throw new Error(`The run config has no configurable.${field}`);
  return v;
}

type CheckpointRow = typeof schema.agentCheckpoints.$inferSelect;

export class DbCheckpointSaver extends BaseCheckpointSaver {
  constructor(
    private readonly db: Db,
    serde?: SerializerProtocol,
  ) {
    super(serde);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (!threadId) return undefined;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const id = getCheckpointId(config);
    const c = schema.agentCheckpoints;
    const where = and(eq(c.threadId, threadId), eq(c.checkpointNs, ns), ...(id ? [eq(c.checkpointId, id)] : []));
    const [row] = await this.db.select().from(c).where(where).orderBy(desc(c.checkpointId)).limit(1);
    return row ? this.#tuple(row) : undefined;
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const c = schema.agentCheckpoints;
    const threadId = config.configurable?.thread_id as string | undefined;
    const ns = config.configurable?.checkpoint_ns as string | undefined;
    const id = config.configurable?.checkpoint_id as string | undefined;
    const before = options?.before?.configurable?.checkpoint_id as string | undefined;
    const rows = await this.db
      .select()
      .from(c)
      .where(
        and(
          ...(threadId ? [eq(c.threadId, threadId)] : []),
          ...(ns !== undefined ? [eq(c.checkpointNs, ns)] : []),
          ...(id ? [eq(c.checkpointId, id)] : []),
          ...(before ? [lt(c.checkpointId, before)] : []),
        ),
      )
      .orderBy(c.threadId, c.checkpointNs, desc(c.checkpointId));
    let remaining = options?.limit;
    for (const row of rows) {
      if (remaining !== undefined && remaining <= 0) return;
      const tuple = await this.#tuple(row);
      const filter = options?.filter;
      const metadata = (tuple.metadata ?? {}) as Record<string, unknown>;
      if (filter && !Object.entries(filter).every(([k, v]) => metadata[k] === v)) continue;
      if (remaining !== undefined) remaining--;
      yield tuple;
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata): Promise<RunnableConfig> {
    const threadId = required(config, 'thread_id');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const [[type, bytes], [metadataType, metadataBytes]] = await Promise.all([
      this.serde.dumpsTyped(copyCheckpoint(checkpoint)),
      this.serde.dumpsTyped(metadata),
    ]);
    const row = {
      workspaceId: workspaceOf(threadId),
      threadId,
      checkpointNs: ns,
      checkpointId: checkpoint.id,
      parentCheckpointId: (config.configurable?.checkpoint_id as string | undefined) ?? null,
      type,
      checkpoint: bytes,
      metadataType,
      metadata: metadataBytes,
    };
    const c = schema.agentCheckpoints;
    await this.db
      .insert(c)
      .values(row)
      .onConflictDoUpdate({
        target: [c.threadId, c.checkpointNs, c.checkpointId],
        set: { type, checkpoint: bytes, metadataType, metadata: metadataBytes },
      });
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = required(config, 'thread_id');
    const checkpointId = required(config, 'checkpoint_id');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const workspaceId = workspaceOf(threadId);
    const w = schema.agentCheckpointWrites;
    for (const [i, [channel, value]] of writes.entries()) {
      const idx = WRITES_IDX_MAP[channel] ?? i;
      const [type, bytes] = await this.serde.dumpsTyped(value);
      const row = {
        workspaceId,
        threadId,
        checkpointNs: ns,
        checkpointId,
        taskId,
        idx,
        channel,
        type,
        value: bytes,
        taskPath: taskPath ?? '',
      };
      const target = [w.threadId, w.checkpointNs, w.checkpointId, w.taskId, w.idx];
      // Special writes (errors, interrupts: negative idx) replace; regular ones are written once.
      if (idx < 0) {
        await this.db
          .insert(w)
          .values(row)
          .onConflictDoUpdate({ target, set: { channel, type, value: bytes } });
      } else {
        await this.db.insert(w).values(row).onConflictDoNothing({ target });
      }
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.db.delete(schema.agentCheckpointWrites).where(eq(schema.agentCheckpointWrites.threadId, threadId));
    await this.db.delete(schema.agentCheckpoints).where(eq(schema.agentCheckpoints.threadId, threadId));
  }

  async #tuple(row: CheckpointRow): Promise<CheckpointTuple> {
    const w = schema.agentCheckpointWrites;
    const writes = await this.db
      .select()
      .from(w)
      .where(
        and(eq(w.threadId, row.threadId), eq(w.checkpointNs, row.checkpointNs), eq(w.checkpointId, row.checkpointId)),
      )
      .orderBy(sql`${w.taskPath}, ${w.taskId}, ${w.idx}`);
    writes.sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.taskPath, a.taskId, a.idx), writesSortKey(b.taskPath, b.taskId, b.idx)),
    );
    const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
      writes.map(
        async (x) => [x.taskId, x.channel, await this.serde.loadsTyped(x.type, x.value)] as CheckpointPendingWrite,
      ),
    );
    const configurable = { thread_id: row.threadId, checkpoint_ns: row.checkpointNs };
    return {
      config: { configurable: { ...configurable, checkpoint_id: row.checkpointId } },
      checkpoint: (await this.serde.loadsTyped(row.type, row.checkpoint)) as Checkpoint,
      metadata: (await this.serde.loadsTyped(row.metadataType, row.metadata)) as CheckpointMetadata,
      pendingWrites,
      ...(row.parentCheckpointId
        ? { parentConfig: { configurable: { ...configurable, checkpoint_id: row.parentCheckpointId } } }
        : {}),
    };
  }
}
