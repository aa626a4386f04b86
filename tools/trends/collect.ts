/**
 * Collection: every source runs for a workspace side by side (one failing never stops the
 * others); the items are upserted once per workspace, source and id — a seen item keeps its
 * first-seen time and moves its engagement to `prev_engagement`, so velocity is the change
 * between two collections — and each source's health (last ok, last error) is recorded.
 * Followed feeds are not polled here: {@link ingestFeedEvent} takes the knowledge poller's
 * `knowledge.feed` events. Each item's relevance to the niche is measured as it is stored
 * (relevance.ts: keywords and the workspace's embedder), and after a collection the rising
 * topics are checked for alerts (alerts.ts).
 */
import { sql } from 'drizzle-orm';
import { schema, type Db, type KnowledgeFeedEvent, type Logger } from '../../core/index.js';
import { httpUrlOrNull, TrendSourceError, type TrendItem, type TrendSource } from '../../connectors/trend-source.js';
import type { Embedder } from '../../knowledge/index.js';
import type { SendInput } from '../notifications/index.js';
import { checkAlerts, type SentAlert } from './alerts.js';
import { readNiche } from './niche.js';
import { scoreRelevance, type Relevance } from './relevance.js';
import { termsOf } from './terms.js';

export interface TrendsDeps {
  db: Db;
  sources: TrendSource[];
  now?: () => Date;
  /** The workspace's embedder (knowledge's `resolveEmbedder`); absent or null: keywords alone. */
  embedderFor?: ((workspaceId: string) => Promise<Embedder | null>) | undefined;
  /** Where trend alerts go (tools/notifications' `Notifier`); absent: no alerts are sent. */
  notify?: ((input: SendInput) => Promise<unknown>) | undefined;
}

/** The parts of {@link TrendsDeps} a process binds once knowledge and the notifier are up. */
export type TrendsHooks = Pick<TrendsDeps, 'embedderFor' | 'notify'>;

async function embedderOf(deps: Pick<TrendsDeps, 'embedderFor'>, workspaceId: string): Promise<Embedder | null> {
  try {
    return (await deps.embedderFor?.(workspaceId)) ?? null;
  } catch {
    return null;
  }
}

export interface SourceOutcome {
  source: string;
  ok: boolean;
  items: number;
  error: string | null;
  retryAt: string | null;
}

/** The UTC hours of `trend_term_counts` are counted from here (`date_bin`: no time zone involved, once per item). */
const EPOCH = '2000-01-01T00:00:00Z';

/** Source name of items taken from followed feeds. */
export const FEED_SOURCE = 'feeds';

export async function storeItems(
  db: Db,
  workspaceId: string,
  source: string,
  items: TrendItem[],
  now: Date,
  relevance: Array<Relevance | null> = [],
) {
  if (items.length === 0) return;
  // Once per id (the last copy wins), as jsonb_to_recordset rows: one parameter per statement
  // instead of one per value, so a batch of a thousand is one short statement to build and parse.
  const rows = new Map(
    items.map((i, n) => {
      const externalId = i.externalId.slice(0, 2000);
      return [
        externalId,
        {
          external_id: externalId,
          title: i.title.slice(0, 1000),
          // Only http(s) links are kept (never javascript: or data:).
          url: httpUrlOrNull(i.url),
          terms: termsOf(i.title, i.tags),
          engagement: Math.max(0, Math.round(i.engagement)),
          relevance: relevance[n]?.relevance ?? null,
          relevance_why: relevance[n]?.why ?? null,
          published_at: i.publishedAt && !Number.isNaN(i.publishedAt.getTime()) ? i.publishedAt.toISOString() : null,
        },
      ];
    }),
  );
  const at = now.toISOString();
  // The items and their term counts (trend_term_counts, read by rising.ts and seasonal.ts)
  // change together, in one transaction.
  await db.transaction(async (tx) => {
    // One writer per workspace and source at a time, taken before the statement below starts
    // (and takes its snapshot), so the stored terms it reads stay the ones it replaces.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${workspaceId}), hashtext(${source}))`);
    // One statement: the batch is parsed once, and the stored rows it replaces (`before`), the
    // upsert and the count changes are one round trip. Every part of a statement sees the same
    // snapshot, so `before` holds the rows as they were and `up` returns them as written (a
    // seen item keeps its first-seen time). A new item counts once in the hour it is first
    // seen; one seen again keeps its first-seen hour, and only a change of its terms moves
    // counts (its old terms out, the new ones in: what is unchanged sums to zero and is not
    // written). `before` probes the unique index once per row (the `limit 1` keeps the planner
    // from hashing all of the workspace's items for the source when the table has no statistics
    // yet, as it does on a new table: that grew with the table, 50–70 ms a batch at 60,000
    // items). Counts are written in a fixed order, so two writers of one workspace never wait on
    // each other's rows crosswise.
    await tx.execute(sql`
      with x as (
        select * from jsonb_to_recordset(${JSON.stringify([...rows.values()])}::jsonb) as x(external_id text,
          title text, url text, terms text[], engagement integer, relevance real, relevance_why jsonb,
          published_at timestamptz)
      ), before as (
        select t.terms, t.bucket from x
        cross join lateral (
          select terms, date_bin('1 hour', first_seen_at, ${EPOCH}::timestamptz) as bucket from trend_items
          where workspace_id = ${workspaceId} and source = ${source} and external_id = x.external_id
          limit 1
        ) as t
      ), up as (
        insert into trend_items (workspace_id, source, external_id, title, url, terms, engagement, prev_engagement,
                                 relevance, relevance_why, published_at, first_seen_at, last_seen_at)
        select ${workspaceId}::uuid, ${source}, x.external_id, x.title, x.url, x.terms, x.engagement, x.engagement,
               x.relevance, x.relevance_why, x.published_at, ${at}::timestamptz, ${at}::timestamptz
        from x
        on conflict (workspace_id, source, external_id) do update set
          title = excluded.title, url = excluded.url, terms = excluded.terms, relevance = excluded.relevance,
          relevance_why = excluded.relevance_why, prev_engagement = trend_items.engagement,
          engagement = excluded.engagement, last_seen_at = excluded.last_seen_at
        returning terms, date_bin('1 hour', first_seen_at, ${EPOCH}::timestamptz) as bucket
      ), moved as (
        select bucket, term, -1 as n from before, unnest(terms) as term
        union all
        select bucket, term, 1 from up, unnest(terms) as term
      )
      insert into trend_term_counts (workspace_id, bucket, term, n)
      select ${workspaceId}::uuid, bucket, term, sum(n)::int from moved
      group by bucket, term
      having sum(n) <> 0
      order by bucket, term
      on conflict (workspace_id, bucket, term) do update set n = trend_term_counts.n + excluded.n`);
  });
}

export async function recordHealth(db: Db, workspaceId: string, outcome: SourceOutcome, now: Date) {
  const h = schema.trendSourceHealth;
  const set = outcome.ok
    ? { lastOkAt: now, lastItems: outcome.items }
    : { lastErrorAt: now, lastError: outcome.error?.slice(0, 500) ?? 'failed' };
  await db
    .insert(h)
    .values({ workspaceId, source: outcome.source, ...set })
    .onConflictDoUpdate({ target: [h.workspaceId, h.source], set });
}

/** Collects every source once for the workspace's niche. */
export async function collectWorkspace(deps: TrendsDeps, workspaceId: string): Promise<SourceOutcome[]> {
  const now = deps.now?.() ?? new Date();
  const niche = await readNiche(deps.db, workspaceId);
  const embedder = await embedderOf(deps, workspaceId);
  return Promise.all(
    deps.sources.map(async (source): Promise<SourceOutcome> => {
      let outcome: SourceOutcome;
      try {
        const items = await source.fetch({ ...niche, workspaceId });
        const relevance = await scoreRelevance(embedder, niche.keywords, items);
        await storeItems(deps.db, workspaceId, source.name, items, now, relevance);
        outcome = { source: source.name, ok: true, items: items.length, error: null, retryAt: null };
      } catch (err) {
        const e = err instanceof TrendSourceError ? err : null;
        outcome = {
          source: source.name,
          ok: false,
          items: 0,
          error: e ? `${e.kind}: ${e.message}` : `failed: ${(err as Error).message}`,
          retryAt: e?.retryAt?.toISOString() ?? null,
        };
      }
      await recordHealth(deps.db, workspaceId, outcome, now);
      return outcome;
    }),
  );
}

/** Collects, then alerts the members on what now rises fast (alerts.ts); an alert failing never fails the collection. */
export async function collectAndAlert(
  deps: TrendsDeps & { logger?: Logger | undefined },
  workspaceId: string,
): Promise<{ outcomes: SourceOutcome[]; alerts: SentAlert[] }> {
  const outcomes = await collectWorkspace(deps, workspaceId);
  let alerts: SentAlert[] = [];
  try {
    alerts = await checkAlerts(deps, workspaceId);
  } catch (err) {
    deps.logger?.warn({ err: { message: (err as Error).message }, workspaceId }, 'trends: alerts not checked');
  }
  return { outcomes, alerts };
}

/** A followed feed's poll (published by knowledge's one poller) becomes trend items and feed health. */
export async function ingestFeedEvent(
  db: Db,
  event: KnowledgeFeedEvent,
  now = new Date(),
  embedderFor?: TrendsDeps['embedderFor'],
): Promise<void> {
  if (event.status === 'failed') {
    await recordHealth(
      db,
      event.workspaceId,
      {
        source: FEED_SOURCE,
        ok: false,
        items: 0,
        error: `${event.url}: ${event.error?.message ?? 'failed'}`,
        retryAt: null,
      },
      now,
    );
    return;
  }
  const items: TrendItem[] = event.newItems.map((i) => ({
    externalId: i.link ?? `${event.sourceId}:${i.title}:${i.date ?? ''}`,
    title: i.summary ? `${i.title} — ${i.summary}`.slice(0, 500) : i.title,
    url: i.link,
    tags: [],
    engagement: 0,
    publishedAt: i.date ? new Date(i.date) : null,
  }));
  const niche = await readNiche(db, event.workspaceId);
  const relevance = await scoreRelevance(await embedderOf({ embedderFor }, event.workspaceId), niche.keywords, items);
  await storeItems(db, event.workspaceId, FEED_SOURCE, items, now, relevance);
  await recordHealth(
    db,
    event.workspaceId,
    { source: FEED_SOURCE, ok: true, items: items.length, error: null, retryAt: null },
    now,
  );
}
