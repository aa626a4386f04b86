/**
 * A source row as the services see it: read within the caller's workspace only, shown as a
 * `SourceView`, and audited under the caller's name.
 */
import { and, eq } from 'drizzle-orm';
import { auditAs, HeraldError, schema, type Db } from '../core/index.js';
import type { DocType, KnowledgeContext, SourceFormat, SourceStatus, SourceView } from './types.js';

const { knowledgeSources } = schema;

export type SourceRow = typeof knowledgeSources.$inferSelect;

export function viewOf(r: SourceRow): SourceView {
  return {
    id: r.id,
    docType: r.docType as DocType,
    format: r.format as SourceFormat,
    title: r.title,
    url: r.url,
    metadata: r.metadata,
    status: r.status as SourceStatus,
    error: r.error ?? null,
    attempt: r.attempt,
    maxAttempts: r.maxAttempts,
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    refreshError: r.refreshError ?? null,
    feed: r.feed
      ? {
          intervalMinutes: r.feed.intervalMinutes,
          removedItems: r.feed.removedItems,
          items: r.feedItems?.length ?? 0,
          nextPollAt: r.nextPollAt?.toISOString() ?? null,
          lastPolledAt: r.feed.lastPolledAt,
          lastStatus: r.feed.lastStatus,
          lastError: r.feed.lastError,
          consecutiveFailures: r.feed.consecutiveFailures,
          lastNewItems: r.feed.lastNewItems,
          etag: r.feed.etag,
          lastModified: r.feed.lastModified,
        }
      : null,
    generation: r.generation,
    chunkCount: r.chunkCount,
    embeddingModel: r.embeddingModel,
    ingestedAt: r.ingestedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export const auditSource = (
  db: Db,
  ctx: KnowledgeContext,
  action: string,
  id: string,
  details: Record<string, unknown> = {},
) => auditAs(db, ctx, action, { type: 'knowledge_source', id }, details);

export const scoped = (ctx: { workspaceId: string }, id: string) =>
  and(eq(knowledgeSources.workspaceId, ctx.workspaceId), eq(knowledgeSources.id, id));

export async function rowOf(db: Db, ctx: { workspaceId: string }, id: string): Promise<SourceRow> {
  const [row] = await db.select().from(knowledgeSources).where(scoped(ctx, id));
  if (!row) throw new HeraldError('not_found', { message: `No knowledge source ${id} in this workspace` });
  return row;
}
