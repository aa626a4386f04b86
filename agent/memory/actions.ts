/**
 * The action journal: one row per approved side-effect tool call (thread + tool call id),
 * written before the service call and completed with its outcome after it. LangGraph re-runs
 * a node that never finished — a process that died in the middle of publishing replays the
 * tools step when the thread resumes — so the journal is what makes that replay safe: a
 * finished call returns its recorded outcome without running again, and an unfinished one
 * runs with `replay` set and what it recorded on the way (the draft it created), which each
 * tool uses to continue rather than start over.
 */
import { and, eq, sql } from 'drizzle-orm';
import { schema, type Db } from '../../core/index.js';
import type { ToolOutcome } from '../tools/index.js';
import type { ActionJournal } from '../tools/types.js';

export interface ActionKey {
  workspaceId: string;
  threadId: string;
  toolCallId: string;
  tool: string;
}

const a = schema.agentActions;
const where = (k: ActionKey) => and(eq(a.threadId, k.threadId), eq(a.toolCallId, k.toolCallId));

/**
 * Runs `fn` once per tool call across crashes and replays: a recorded outcome is returned as
 * it was; otherwise the call runs (told whether an earlier attempt started) and its outcome
 * is recorded.
 */
export async function runOnce(
  db: Db,
  key: ActionKey,
  fn: (journal: ActionJournal) => Promise<ToolOutcome>,
): Promise<ToolOutcome & { replayed: boolean }> {
  const inserted = await db
    .insert(a)
    .values({ workspaceId: key.workspaceId, threadId: key.threadId, toolCallId: key.toolCallId, tool: key.tool })
    .onConflictDoNothing({ target: [a.threadId, a.toolCallId] })
    .returning({ tool: a.tool });
  let progress: Record<string, unknown> = {};
  const replay = inserted.length === 0;
  if (replay) {
    const [row] = await db.select().from(a).where(where(key));
    if (row?.status === 'done' && row.outcome) return { ...(row.outcome as ToolOutcome), replayed: true };
    progress = row?.progress ?? {};
  }
  const journal: ActionJournal = {
    replay,
    progress,
    async note(more) {
      Object.assign(progress, more);
      await db
        .update(a)
        .set({ progress: { ...progress }, updatedAt: sql`now()` })
        .where(where(key));
    },
  };
  const outcome = await fn(journal);
  await db
    .update(a)
    .set({ status: 'done', outcome: outcome as unknown as Record<string, unknown>, updatedAt: sql`now()` })
    .where(where(key));
  return { ...outcome, replayed: false };
}
