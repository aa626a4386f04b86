/**
 * The feed poller: keeps followed RSS/Atom sources fresh. One BullMQ job scheduler
 * (`feed-poll-tick`, every `FEED_POLL_TICK_MS`) on the knowledge queue claims the followed
 * sources that are due (`next_poll_at` passed) — moving each one's `next_poll_at` on in the
 * same statement that claims it, so processes ticking together poll a feed once — and queues
 * one `feed_poll` job per source. A poll is a conditional GET (the last `ETag` /
 * `Last-Modified`): 304 is `not_modified`; an answer is merged with the kept items
 * (`feed-items.ts`) and, if anything changed, ingested as a new generation in the same job.
 * Each poll's health is recorded on the source (`feed`) and published as a `knowledge.feed`
 * event with the new items: a second reader of the same feeds (trends) subscribes to those
 * rather than polling again — one poller, not two.
 */
import { createHash } from 'node:crypto';
import { and, asc, eq, isNotNull, lte, sql } from 'drizzle-orm';
import type { Queue } from 'bullmq';
import { isHeraldError, schema, type Db } from '../core/index.js';
import { fetchFeedItems, mergeFeedItems, renderFeedItems, type FeedState } from './feed-items.js';
import { ingestSource, type IngestDeps } from './ingest.js';

const { knowledgeSources } = schema;

/** How often due feeds are looked for. */
export const FEED_POLL_TICK_MS = 60_000;
/** Due feeds claimed per tick (the rest wait for the next). */
export const FEED_POLL_BATCH = 100;
/** A followed feed's poll interval unless the source names one, and its bounds. */
export const DEFAULT_FEED_INTERVAL_MINUTES = 60;
export const MIN_FEED_INTERVAL_MINUTES = 5;
export const MAX_FEED_INTERVAL_MINUTES = 7 * 24 * 60;
/** After failed polls the interval doubles per failure, up to this many times the interval. */
const MAX_BACKOFF_FACTOR = 16;

export const FEED_POLL_TICK_JOB = 'feed_poll_tick';
export const FEED_POLL_JOB = 'feed_poll';
export const FEED_POLL_SCHEDULER_ID = 'feed-poll-tick';

export interface FeedPollJobData {
  workspaceId: string;
  sourceId: string;
}

/** The follow settings as a new source stores them (no poll yet). */
export function newFeedState(follow: {
  intervalMinutes?: number | undefined;
  removedItems?: 'keep' | 'drop' | undefined;
}): FeedState {
  return {
    intervalMinutes: follow.intervalMinutes ?? DEFAULT_FEED_INTERVAL_MINUTES,
    removedItems: follow.removedItems ?? 'keep',
    etag: null,
    lastModified: null,
    lastPolledAt: null,
    lastStatus: null,
    lastError: null,
    consecutiveFailures: 0,
    lastNewItems: 0,
  };
}

const minutes = (n: number) => n * 60_000;

/**
 * One tick: claims the due followed feeds and queues a poll for each. The claim moves
 * `next_poll_at` on by the source's interval, conditioned on the value read, so only one
 * process claims a given due time; the job id (source and due time) makes the queueing
 * idempotent too.
 */
export async function queueDueFeedPolls(db: Db, queue: Queue, now = new Date()): Promise<number> {
  const due = await db
    .select({
      id: knowledgeSources.id,
      workspaceId: knowledgeSources.workspaceId,
      nextPollAt: knowledgeSources.nextPollAt,
      feed: knowledgeSources.feed,
    })
    .from(knowledgeSources)
    .where(and(isNotNull(knowledgeSources.nextPollAt), lte(knowledgeSources.nextPollAt, now)))
    .orderBy(asc(knowledgeSources.nextPollAt))
    .limit(FEED_POLL_BATCH);
  let queued = 0;
  for (const row of due) {
    const next = new Date(now.getTime() + minutes(row.feed?.intervalMinutes ?? DEFAULT_FEED_INTERVAL_MINUTES));
    const claimed = await db
      .update(knowledgeSources)
      .set({ nextPollAt: next })
      .where(and(eq(knowledgeSources.id, row.id), eq(knowledgeSources.nextPollAt, row.nextPollAt!)))
      .returning({ id: knowledgeSources.id });
    if (claimed.length === 0) continue;
    await queue.add(FEED_POLL_JOB, { workspaceId: row.workspaceId, sourceId: row.id } satisfies FeedPollJobData, {
      jobId: `feed-poll-${row.id}-${row.nextPollAt!.getTime()}`,
      // A failed poll is recorded on the source and tried at the next due time, not retried here.
      attempts: 1,
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    queued++;
  }
  return queued;
}

export type PollOutcome = 'changed' | 'unchanged' | 'not_modified' | 'failed' | 'skipped';

/** Polls one followed feed source now (a `feed_poll` job). */
export async function pollFeedSource(deps: IngestDeps, workspaceId: string, sourceId: string): Promise<PollOutcome> {
  const where = and(eq(knowledgeSources.workspaceId, workspaceId), eq(knowledgeSources.id, sourceId));
  const [row] = await deps.db.select().from(knowledgeSources).where(where);
  if (!row?.feed || row.format !== 'feed' || !row.url) return 'skipped';
  // An ingestion in flight fetches the feed itself; the next due time polls again.
  if (row.status === 'pending' || row.status === 'ingesting' || row.status === 'retrying') return 'skipped';
  const feed = row.feed;
  const at = new Date();

  const record = async (
    status: Exclude<PollOutcome, 'skipped'>,
    extra: Partial<FeedState> = {},
    newItems: Array<{ title: string; link: string | null; date: string | null; summary: string }> = [],
    error: { code: string; message: string } | null = null,
  ) => {
    const failures = status === 'failed' ? feed.consecutiveFailures + 1 : 0;
    const health: Partial<FeedState> = {
      lastPolledAt: at.toISOString(),
      lastStatus: status,
      lastError: error,
      consecutiveFailures: failures,
      lastNewItems: newItems.length,
      ...extra,
    };
    // Merged into the stored object (jsonb ||): follow settings changed meanwhile are kept.
    await deps.db
      .update(knowledgeSources)
      .set({
        feed: sql`${knowledgeSources.feed} || ${JSON.stringify(health)}::jsonb`,
        // Failing feeds are polled less often: the interval doubles per failure, capped.
        ...(failures > 0
          ? {
              nextPollAt: new Date(
                at.getTime() + minutes(feed.intervalMinutes) * Math.min(2 ** (failures - 1), MAX_BACKOFF_FACTOR),
              ),
            }
          : {}),
      })
      .where(and(where, isNotNull(knowledgeSources.feed)));
    await deps.events
      ?.publish({
        type: 'knowledge.feed',
        workspaceId,
        sourceId,
        url: row.url!,
        status,
        newItems,
        error,
        at: at.toISOString(),
      })
      .catch((err: unknown) => deps.logger?.warn({ err }, 'knowledge feed event not published'));
    return status;
  };

  try {
    const fetchOpts = { timeoutMs: deps.limits.fetchTimeoutMs, maxBytes: deps.limits.maxBytes };
    const fetched = await fetchFeedItems(row.url, fetchOpts, { etag: feed.etag, lastModified: feed.lastModified });
    if (!fetched) return await record('not_modified');
    const merged = mergeFeedItems(row.feedItems ?? [], fetched.items, feed.removedItems);
    const { text } = renderFeedItems(merged.items, deps.limits.maxBytes, fetched.items.length);
    const validators = { etag: fetched.etag, lastModified: fetched.lastModified };
    if (createHash('sha256').update(text).digest('hex') === row.contentSha256)
      return await record('unchanged', validators);

    // Something changed: a new generation, ingested here from what was just fetched.
    const [bumped] = await deps.db
      .update(knowledgeSources)
      .set({ generation: row.generation + 1, status: 'pending', updatedAt: new Date() })
      .where(and(where, eq(knowledgeSources.generation, row.generation)))
      .returning({ generation: knowledgeSources.generation });
    if (!bumped) return 'skipped'; // replaced meanwhile: that ingestion reads the feed
    const result = await ingestSource(deps, workspaceId, sourceId, bumped.generation, undefined, {
      feed: { fetched, merged },
    });
    if (result.outcome === 'failed') return await record('failed', {}, [], result.error);
    if (result.outcome === 'superseded') return 'skipped';
    const added = new Set(merged.added);
    const newItems = fetched.items
      .filter((i) => added.has(i.key))
      .map(({ title, link, date, summary }) => ({ title, link, date, summary }));
    return await record('changed', {}, newItems);
  } catch (err) {
    const error = isHeraldError(err)
      ? { code: err.code, message: err.message }
      : { code: 'internal', message: 'The feed poll failed unexpectedly' };
    if (!isHeraldError(err)) deps.logger?.error({ err, sourceId }, 'feed poll failed');
    return record('failed', {}, [], error);
  }
}
