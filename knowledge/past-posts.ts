/**
 * Every published post becomes knowledge: the agent can look up what the user posted, where
 * and when, and how it did. A listener on the event bus turns each `target.status` event to
 * `published` into a `past_post` job (job id per target, so several worker processes hearing
 * the same event queue it once); the job reads the published target and adds or refreshes one
 * `past_post` source per target, with `platform`, `publishedAt`, `postId`, `targetId` and
 * `url` as metadata (search filters on platform and on the publish time). Metrics come later
 * through `updatePastPostMetrics`, which stores them as metadata and in the searchable text.
 */
import { and, eq, sql } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type EventBus, type Logger } from '../core/index.js';
import { ingestSource, type IngestDeps, type IngestOptions, type IngestResult } from './ingest.js';
import type { KnowledgeQueue } from './queue.js';
import type { KnowledgeContext, SourceView } from './types.js';
import { auditSource, viewOf } from './source-rows.js';

const { knowledgeSources, postTargets } = schema;

/** Numbers a platform reports for a post: `likes`, `reposts`, `replies`, `impressions`... */
export type PostMetrics = Record<string, number>;

const PERFORMANCE = '\n\nPerformance';

/** The searchable text: the post (all its thread parts), then its metrics when known. */
function pastPostText(postText: string, metrics: PostMetrics | null, at: string | null): string {
  if (!metrics || Object.keys(metrics).length === 0) return postText;
  const line = Object.entries(metrics)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${postText}${PERFORMANCE}${at ? ` (as of ${at.slice(0, 10)})` : ''}: ${line}.`;
}

const bodyOf = (content: string) => {
  const at = content.lastIndexOf(PERFORMANCE);
  return at < 0 ? content : content.slice(0, at);
};

async function sourceOfTarget(db: Db, workspaceId: string, targetId: string) {
  const [row] = await db
    .select()
    .from(knowledgeSources)
    .where(
      and(
        eq(knowledgeSources.workspaceId, workspaceId),
        eq(knowledgeSources.docType, 'past_post'),
        sql`${knowledgeSources.metadata}->>'targetId' = ${targetId}`,
      ),
    )
    .limit(1);
  return row;
}

/**
 * The `past_post` job: adds (or refreshes) the source of one published target and ingests it
 * at once. A target that is gone or not published is skipped.
 */
export async function ingestPastPost(
  deps: IngestDeps,
  workspaceId: string,
  targetId: string,
  onProgress?: (done: number, total: number) => Promise<void>,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const [t] = await deps.db
    .select()
    .from(postTargets)
    .where(and(eq(postTargets.workspaceId, workspaceId), eq(postTargets.id, targetId)));
  if (!t || t.status !== 'published') return { outcome: 'superseded' };
  const publishedAt = (t.publishedAt ?? t.updatedAt).toISOString();
  const existing = await sourceOfTarget(deps.db, workspaceId, targetId);
  const metrics = (existing?.metadata.metrics as PostMetrics | undefined) ?? null;
  const metadata = {
    ...existing?.metadata,
    targetId,
    postId: t.postId,
    platform: t.platform,
    publishedAt,
    url: t.platformUrl,
    platformPostId: t.platformPostId,
  };
  const postText = [t.content, ...t.threadParts].join('\n\n');
  const values = {
    title: `${t.platform} post of ${publishedAt.slice(0, 10)}: ${t.content.replace(/\s+/g, ' ').slice(0, 60)}`,
    url: t.platformUrl,
    content: pastPostText(postText, metrics, (existing?.metadata.metricsAt as string | undefined) ?? null),
    metadata,
  };
  const [row] = existing
    ? await deps.db
        .update(knowledgeSources)
        .set({
          ...values,
          status: 'pending',
          error: null,
          generation: existing.generation + 1,
          updatedAt: new Date(),
        })
        .where(and(eq(knowledgeSources.id, existing.id), eq(knowledgeSources.generation, existing.generation)))
        .returning()
    : await deps.db
        .insert(knowledgeSources)
        .values({ workspaceId, docType: 'past_post', format: 'text', ...values })
        .returning();
  if (!row) return { outcome: 'superseded' };
  return ingestSource(deps, workspaceId, row.id, row.generation, onProgress, opts);
}

/**
 * Records a published post's metrics (merged into what it had) and re-ingests it, so search
 * shows how the post did. Analytics calls it through `pastPostMetricsSink` after each snapshot.
 */
export async function updatePastPostMetrics(
  deps: { db: Db; queue: KnowledgeQueue },
  ctx: KnowledgeContext,
  targetId: string,
  metrics: PostMetrics,
  at: Date = new Date(),
): Promise<SourceView> {
  requireRole(ctx, 'editor');
  for (const [k, v] of Object.entries(metrics))
    if (!Number.isFinite(v))
      throw new HeraldError('validation_failed', {
        message: `The metric ${k} is not a number`,
        details: { metric: k },
      });
  const existing = await sourceOfTarget(deps.db, ctx.workspaceId, targetId);
  if (!existing)
    throw new HeraldError('not_found', { message: `No past post for target ${targetId} in this workspace` });
  const merged = { ...(existing.metadata.metrics as PostMetrics | undefined), ...metrics };
  const metricsAt = at.toISOString();
  const [row] = await deps.db
    .update(knowledgeSources)
    .set({
      content: pastPostText(bodyOf(existing.content ?? ''), merged, metricsAt),
      metadata: { ...existing.metadata, metrics: merged, metricsAt },
      status: 'pending',
      error: null,
      generation: existing.generation + 1,
      updatedAt: new Date(),
    })
    .where(and(eq(knowledgeSources.id, existing.id), eq(knowledgeSources.generation, existing.generation)))
    .returning();
  if (!row) throw new HeraldError('conflict', { message: 'The past post changed meanwhile; try again' });
  await deps.queue.enqueue({ workspaceId: ctx.workspaceId, sourceId: row.id, generation: row.generation });
  await auditSource(deps.db, ctx, 'knowledge.past_post.metrics', row.id, { targetId, metrics: Object.keys(metrics) });
  return viewOf(row);
}

/**
 * What analytics calls after each stored `ok` snapshot (`CollectDeps.onMeasured`): the post's
 * past_post source takes the counters, as Herald itself (audited as `system`). A target with
 * no past_post source yet (not ingested, or knowledge off) is skipped.
 */
export function pastPostMetricsSink(deps: {
  db: Db;
  queue: KnowledgeQueue;
}): (m: { workspaceId: string; targetId: string; metrics: PostMetrics; at: Date }) => Promise<void> {
  return async (m) => {
    const ctx: KnowledgeContext = {
      workspaceId: m.workspaceId,
      userId: null,
      channel: 'analytics',
      actorKind: 'system',
      role: 'owner',
    };
    try {
      await updatePastPostMetrics(deps, ctx, m.targetId, m.metrics, m.at);
    } catch (err) {
      if (err instanceof HeraldError && err.code === 'not_found') return;
      throw err;
    }
  };
}

/**
 * Queues a `past_post` job for every target published from now on (any workspace). Run it in
 * processes that run the knowledge worker; returns the unsubscribe. Events published while no
 * listener runs are not replayed (Redis pub/sub).
 */
export async function listenForPublishedPosts(
  events: EventBus,
  queue: KnowledgeQueue,
  logger?: Logger,
): Promise<() => Promise<void>> {
  return events.subscribe('*', (e) => {
    if (e.type !== 'target.status' || e.to !== 'published') return;
    queue
      .enqueuePastPost({ workspaceId: e.workspaceId, targetId: e.targetId })
      .catch((err: unknown) =>
        logger?.warn({ err, targetId: e.targetId }, 'past post not queued for the knowledge base'),
      );
  });
}
