/**
 * A LangGraph checkpointer on Herald's own database (drizzle), so PostgreSQL and PGlite keep
 * conversations the same way and a restart loses nothing — a confirmation asked before the
 * restart can still be answered after it. Thread ids start with the workspace id
 * (`threadKey`), which every row also carries, so deleting a workspace deletes its threads.
 *
 * Each call is one statement (one round trip): `getTuple` reads the checkpoint, its pending
 * writes and its channel values together; `put` stores the checkpoint and its new channel
 * values together; `putWrites` stores all of a task's writes at once.
 *
 * A run may let its writes be stored behind it (`WRITE_BEHIND`): they are queued per thread
 * and the call returns at once, so the run's answer goes out before its checkpoint is
 * written. Every later call on the thread through this saver waits for the queue first, so
 * this process never reads a thread older than its own writes; `written(thread)` waits for
 * them and reports a failure (the chat handler waits before it shows a confirmation).
 */
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  TASKS,
  WRITES_IDX_MAP,
  writesSortKey,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type ChannelVersions,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { schema, type Db, type Logger } from '../../core/index.js';

const SEP = '/';
/** How many older checkpoints a read searches for a value stored before delta storage. */
const LEGACY_SCAN = 200;

/** A bytea column as both drivers return it (node-postgres: a Buffer, PGlite: a Uint8Array). */
const bytes = (v: Uint8Array | null): Uint8Array => v ?? new Uint8Array();

/** The LangGraph thread id of one person's conversation in one workspace. */
export function threadKey(workspaceId: string, ownerKey: string, threadId: string): string {
  return [workspaceId, ownerKey, threadId].join(SEP);
}

function workspaceFromThread(threadId: string): string {
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
type WriteRow = Pick<
  typeof schema.agentCheckpointWrites.$inferSelect,
  'taskId' | 'channel' | 'taskPath' | 'idx' | 'type' | 'value'
>;
type BlobRow = Pick<typeof schema.agentCheckpointBlobs.$inferSelect, 'channel' | 'type' | 'value'>;

/** One row of the combined read: the checkpoint (part 0), a pending write (1) or a channel value (2). */
interface ReadRow extends Record<string, unknown> {
  part: number;
  a: string;
  b: string | null;
  c: string | null;
  idx: number | null;
  type: string;
  value: Uint8Array | null;
  extra: Uint8Array | null;
}

/**
 * Configurable key of a run's read memo (`ReadMemo`): set by a caller that reads a thread's
 * state just before running it (`getState`, then `invoke`), so the run starts from that read
 * instead of reading the same rows again.
 */
export const READ_MEMO = 'herald_read_memo';

/**
 * One read handed to the next. The first latest-checkpoint read of the thread is kept, the
 * next one takes it (a copy), and then the memo is spent; any write to the thread spends it
 * too, so a run never starts from a state older than its own writes.
 */
export interface ReadMemo {
  key?: string;
  tuple?: CheckpointTuple | undefined;
  state?: 'kept' | 'spent';
}

/**
 * Configurable key: `true` when the run's writes may be stored behind it — a run that cannot
 * act (the chat handler's `exit` durability), whose checkpoint changes nothing of what it
 * said, and whose loss in a crash loses only the record of a turn that did nothing.
 */
export const WRITE_BEHIND = 'herald_write_behind';

/**
 * Configurable key: a speculative run's hold (a voice turn started before the user was done):
 * its writes are queued behind it and made only if the hold resolves true (committed); false
 * (dropped) and they are never made, so a dropped turn leaves the thread as it was.
 */
export const HOLD_WRITES = 'herald_hold_writes';

const holdOf = (config: RunnableConfig) => config.configurable?.[HOLD_WRITES] as Promise<boolean> | undefined;

/** One thread's queued writes: the last of them, and the first failure since `written`. */
interface WriteQueue {
  tail: Promise<void>;
  error?: unknown;
}

export interface DbCheckpointSaverOptions {
  /** Where a failed write-behind is reported when nobody waits for it. */
  logger?: Logger | undefined;
  serde?: SerializerProtocol | undefined;
  /**
   * The workspace a thread's rows belong to. Default: the thread id's first segment
   * (`threadKey`). The checkpoint validation suite, whose thread ids are bare, maps them all to
   * one test workspace.
   */
  workspaceOf?: ((threadId: string) => string) | undefined;
}

export class DbCheckpointSaver extends BaseCheckpointSaver {
  readonly #workspaceOf: (threadId: string) => string;
  readonly #logger: Logger | undefined;
  readonly #queues = new Map<string, WriteQueue>();

  constructor(
    private readonly db: Db,
    options: DbCheckpointSaverOptions = {},
  ) {
    super(options.serde);
    this.#workspaceOf = options.workspaceOf ?? workspaceFromThread;
    this.#logger = options.logger;
  }

  /** Waits for the thread's writes queued behind runs; throws the first that failed. */
  async written(threadId: string): Promise<void> {
    const queue = this.#queues.get(threadId);
    if (!queue) return;
    await queue.tail;
    const { error } = queue;
    delete queue.error;
    if (error !== undefined) throw error;
  }

  /** Waits for every write queued behind a run (shutdown, benchmarks). */
  async settled(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.tail));
  }

  /**
   * Runs `op` after the thread's queued writes; queued itself (returning at once) when `behind`
   * or held (then run only once `hold` resolves true).
   */
  #inOrder(
    threadId: string,
    behind: boolean,
    hold: Promise<boolean> | undefined,
    write: () => Promise<void>,
  ): Promise<void> {
    const op = hold ? async () => void ((await hold) && (await write())) : write;
    if (hold) behind = true;
    const queue = this.#queues.get(threadId);
    if (!behind) return queue ? queue.tail.then(op) : op();
    const q = queue ?? { tail: Promise.resolve() };
    // After what is waiting to run now (the run's answer going out): an in-process database
    // (PGlite) would otherwise do the write on the same thread before the answer leaves.
    const tail = q.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(op)
      .catch((err: unknown) => {
        q.error ??= err;
        this.#logger?.error({ err, threadId }, 'a checkpoint written behind its run failed');
      });
    q.tail = tail;
    this.#queues.set(threadId, q);
    // Idle and nothing to report: forget the queue.
    void tail.then(() => {
      if (q.tail === tail && q.error === undefined && this.#queues.get(threadId) === q) this.#queues.delete(threadId);
    });
    return Promise.resolve();
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as string | undefined;
    if (!threadId) return undefined;
    await this.#queues.get(threadId)?.tail;
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const id = getCheckpointId(config);
    const memo = id ? undefined : (config.configurable?.[READ_MEMO] as ReadMemo | undefined);
    const key = `${threadId}\u0000${ns}`;
    if (memo?.state === 'kept' && memo.key === key) {
      memo.state = 'spent';
      const t = memo.tuple;
      return t && { ...t, checkpoint: copyCheckpoint(t.checkpoint), pendingWrites: [...(t.pendingWrites ?? [])] };
    }
    const tuple = await this.#read(threadId, ns, id);
    if (memo && memo.state === undefined) Object.assign(memo, { key, tuple, state: 'kept' });
    return tuple;
  }

  /**
   * The checkpoint (the latest of the thread, or `id`), its pending writes and its channel
   * values in one call of `herald_checkpoint_read` (migration 0008), whose queries are
   * planned once per connection. The channel versions are read from the stored checkpoint
   * when it is JSON (the default serializer); otherwise the values are read by a second query.
   */
  async #read(threadId: string, ns: string, id: string | undefined): Promise<CheckpointTuple | undefined> {
    const result = (await this.db.execute(
      sql`select * from herald_checkpoint_read(${threadId}, ${ns}, ${id || null})`,
    )) as unknown as { rows: ReadRow[] };
    const head = result.rows.find((r) => Number(r.part) === 0);
    if (!head) return undefined;
    const row: CheckpointRow = {
      workspaceId: '',
      threadId,
      checkpointNs: ns,
      checkpointId: head.a,
      parentCheckpointId: head.b,
      type: head.type,
      checkpoint: bytes(head.value),
      metadataType: head.c ?? '',
      metadata: bytes(head.extra),
      createdAt: new Date(0),
    };
    const writes: WriteRow[] = [];
    const blobs: BlobRow[] = [];
    for (const r of result.rows) {
      if (Number(r.part) === 1)
        writes.push({
          taskId: r.a,
          channel: r.b ?? '',
          taskPath: r.c ?? '',
          idx: Number(r.idx),
          type: r.type,
          value: bytes(r.value),
        });
      else if (Number(r.part) === 2) blobs.push({ channel: r.a, type: r.type, value: r.value && bytes(r.value) });
    }
    return this.#tuple(row, { writes, blobs: head.type === 'json' ? blobs : undefined });
  }

  async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    const c = schema.agentCheckpoints;
    const threadId = config.configurable?.thread_id as string | undefined;
    const ns = config.configurable?.checkpoint_ns as string | undefined;
    const id = config.configurable?.checkpoint_id as string | undefined;
    const before = options?.before?.configurable?.checkpoint_id as string | undefined;
    if (threadId) await this.#queues.get(threadId)?.tail;
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

  /**
   * Stores the checkpoint without its channel values, and each channel named in `newVersions`
   * once per version (delta storage): unchanged channels are not copied again.
   */
  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions = {},
  ): Promise<RunnableConfig> {
    const threadId = required(config, 'thread_id');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const workspaceId = this.#workspaceOf(threadId);
    // LangGraph hands over a copy made for this call; the run does not touch it again.
    const copy = copyCheckpoint(checkpoint);
    const parentCheckpointId = (config.configurable?.checkpoint_id as string | undefined) ?? null;
    this.#spendMemos(config);
    await this.#inOrder(threadId, config.configurable?.[WRITE_BEHIND] === true, holdOf(config), async () => {
      const values = copy.channel_values;
      copy.channel_values = {};
      const blobs = await Promise.all(
        Object.entries(newVersions).map(async ([channel, version]) => {
          const [type, value] =
            channel in values ? await this.serde.dumpsTyped(values[channel]) : (['empty', null] as const);
          return { workspaceId, threadId, checkpointNs: ns, channel, version: String(version), type, value };
        }),
      );
      const [[type, bytes], [metadataType, metadataBytes]] = await Promise.all([
        this.serde.dumpsTyped(copy),
        this.serde.dumpsTyped(metadata),
      ]);
      const row = {
        workspaceId,
        threadId,
        checkpointNs: ns,
        checkpointId: checkpoint.id,
        parentCheckpointId,
        type,
        checkpoint: bytes,
        metadataType,
        metadata: metadataBytes,
      };
      const c = schema.agentCheckpoints;
      const b = schema.agentCheckpointBlobs;
      const insertCheckpoint = this.db
        .insert(c)
        .values(row)
        .onConflictDoUpdate({
          target: [c.threadId, c.checkpointNs, c.checkpointId],
          set: {
            type: sql`excluded.type`,
            checkpoint: sql`excluded.checkpoint`,
            metadataType: sql`excluded.metadata_type`,
            metadata: sql`excluded.metadata`,
          },
        });
      if (blobs.length === 0) await insertCheckpoint;
      else {
        const insertBlobs = this.db
          .insert(b)
          .values(blobs)
          .onConflictDoNothing({ target: [b.threadId, b.checkpointNs, b.channel, b.version] });
        // One statement: the values and the checkpoint naming them are stored together or not at all.
        await this.db.execute(sql`with blobs as (${insertBlobs.getSQL()}) ${insertCheckpoint.getSQL()}`);
      }
    });
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const threadId = required(config, 'thread_id');
    const checkpointId = required(config, 'checkpoint_id');
    const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
    const workspaceId = this.#workspaceOf(threadId);
    if (writes.length === 0) return;
    this.#spendMemos(config);
    await this.#inOrder(threadId, config.configurable?.[WRITE_BEHIND] === true, holdOf(config), async () => {
      const w = schema.agentCheckpointWrites;
      const rows = await Promise.all(
        writes.map(async ([channel, value], i) => {
          const [type, bytes] = await this.serde.dumpsTyped(value);
          return {
            workspaceId,
            threadId,
            checkpointNs: ns,
            checkpointId,
            taskId,
            idx: WRITES_IDX_MAP[channel] ?? i,
            channel,
            type,
            value: bytes,
            taskPath: taskPath ?? '',
          };
        }),
      );
      // Special writes (errors, interrupts: negative idx) replace; regular ones are written once.
      await this.db
        .insert(w)
        .values(rows)
        .onConflictDoUpdate({
          target: [w.threadId, w.checkpointNs, w.checkpointId, w.taskId, w.idx],
          set: { channel: sql`excluded.channel`, type: sql`excluded.type`, value: sql`excluded.value` },
          setWhere: sql`excluded.idx < 0`,
        });
    });
  }

  /** A write to the thread: a memo's read is no longer its latest state. */
  #spendMemos(config: RunnableConfig): void {
    const memo = config.configurable?.[READ_MEMO] as ReadMemo | undefined;
    if (memo) memo.state = 'spent';
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.#queues.get(threadId)?.tail;
    await this.db.delete(schema.agentCheckpointBlobs).where(eq(schema.agentCheckpointBlobs.threadId, threadId));
    await this.db.delete(schema.agentCheckpointWrites).where(eq(schema.agentCheckpointWrites.threadId, threadId));
    await this.db.delete(schema.agentCheckpoints).where(eq(schema.agentCheckpoints.threadId, threadId));
  }

  /** Each channel at the version the checkpoint names (rows written before delta storage carry them inline). */
  async #channelValues(
    row: CheckpointRow,
    checkpoint: Checkpoint,
    loaded: BlobRow[] | undefined,
  ): Promise<Record<string, unknown>> {
    const wanted = Object.entries(checkpoint.channel_versions ?? {});
    if (wanted.length === 0) return {};
    const b = schema.agentCheckpointBlobs;
    const blobs =
      loaded ??
      (await this.db
        .select()
        .from(b)
        .where(
          and(
            eq(b.threadId, row.threadId),
            eq(b.checkpointNs, row.checkpointNs),
            or(...wanted.map(([channel, version]) => and(eq(b.channel, channel), eq(b.version, String(version))))),
          ),
        ));
    const values: Record<string, unknown> = {};
    const found = new Set<string>();
    for (const blob of blobs) {
      found.add(blob.channel);
      if (blob.type !== 'empty' && blob.value)
        values[blob.channel] = await this.serde.loadsTyped(blob.type, blob.value);
    }
    const missing = wanted.filter(([channel]) => !found.has(channel) && !(channel in checkpoint.channel_values));
    if (missing.length > 0) Object.assign(values, await this.#legacyValues(row, missing));
    return values;
  }

  /**
   * Channel versions written before delta storage live inline in an older checkpoint of the
   * thread: the newest one naming the same version holds the value.
   */
  async #legacyValues(row: CheckpointRow, missing: Array<[string, unknown]>): Promise<Record<string, unknown>> {
    const c = schema.agentCheckpoints;
    const older = await this.db
      .select()
      .from(c)
      .where(
        and(eq(c.threadId, row.threadId), eq(c.checkpointNs, row.checkpointNs), lt(c.checkpointId, row.checkpointId)),
      )
      .orderBy(desc(c.checkpointId))
      .limit(LEGACY_SCAN);
    const values: Record<string, unknown> = {};
    let left = missing;
    for (const r of older) {
      if (left.length === 0) break;
      const old = (await this.serde.loadsTyped(r.type, r.checkpoint)) as Checkpoint;
      left = left.filter(([channel, version]) => {
        const inline = old.channel_values ?? {};
        if (!(channel in inline) || String(old.channel_versions?.[channel]) !== String(version)) return true;
        values[channel] = inline[channel];
        return false;
      });
    }
    return values;
  }

  /**
   * Checkpoints older than format 4 kept pending sends as writes of the parent checkpoint;
   * LangGraph now expects them in the `TASKS` channel (as its own savers migrate them).
   */
  async #migratePendingSends(checkpoint: Checkpoint, row: CheckpointRow): Promise<void> {
    const w = schema.agentCheckpointWrites;
    const sends = await this.db
      .select()
      .from(w)
      .where(
        and(
          eq(w.threadId, row.threadId),
          eq(w.checkpointNs, row.checkpointNs),
          eq(w.checkpointId, row.parentCheckpointId!),
          eq(w.channel, TASKS),
        ),
      )
      .orderBy(sql`${w.taskPath}, ${w.taskId}, ${w.idx}`);
    checkpoint.channel_values ??= {};
    checkpoint.channel_values[TASKS] = await Promise.all(sends.map((x) => this.serde.loadsTyped(x.type, x.value)));
    checkpoint.channel_versions ??= {};
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  /** The tuple of a checkpoint row; its writes and channel values are read unless given. */
  async #tuple(
    row: CheckpointRow,
    loaded: { writes?: WriteRow[]; blobs?: BlobRow[] | undefined } = {},
  ): Promise<CheckpointTuple> {
    const w = schema.agentCheckpointWrites;
    const writes =
      loaded.writes ??
      (await this.db
        .select()
        .from(w)
        .where(
          and(eq(w.threadId, row.threadId), eq(w.checkpointNs, row.checkpointNs), eq(w.checkpointId, row.checkpointId)),
        ));
    writes.sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.taskPath, a.taskId, a.idx), writesSortKey(b.taskPath, b.taskId, b.idx)),
    );
    const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
      writes.map(
        async (x) => [x.taskId, x.channel, await this.serde.loadsTyped(x.type, x.value)] as CheckpointPendingWrite,
      ),
    );
    const configurable = { thread_id: row.threadId, checkpoint_ns: row.checkpointNs };
    const checkpoint = (await this.serde.loadsTyped(row.type, row.checkpoint)) as Checkpoint;
    checkpoint.channel_values = {
      ...checkpoint.channel_values,
      ...(await this.#channelValues(row, checkpoint, loaded.blobs)),
    };
    if (checkpoint.v < 4 && row.parentCheckpointId) await this.#migratePendingSends(checkpoint, row);
    return {
      config: { configurable: { ...configurable, checkpoint_id: row.checkpointId } },
      checkpoint,
      metadata: (await this.serde.loadsTyped(row.metadataType, row.metadata)) as CheckpointMetadata,
      pendingWrites,
      ...(row.parentCheckpointId
        ? { parentConfig: { configurable: { ...configurable, checkpoint_id: row.parentCheckpointId } } }
        : {}),
    };
  }
}
