/**
 * bench:trends — a stream of items across the six trend sources ingested the way collection
 * does it (terms extracted, relevance measured with the lexical embedder against the niche's
 * keywords, upserted once per workspace, source and id with the term counts), beside the
 * baseline: the same items inserted into the same table by the same method (one
 * jsonb_to_recordset statement per batch of the same size) with no scoring and no counts (no
 * terms, no relevance, plain insert). The two sides alternate segment by segment so load
 * changes fall on both. Then the rising-topics query's latency over the scored workspace.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test; a scratch database is created and dropped).
 * BENCH_ITEMS (default 1,000,000), BENCH_BATCH (default 1,000), BENCH_RUNS (default 50),
 * BENCH_SEGMENT (items per alternation segment, default 60,000: ten batches per source).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { addMember, createUser, createWorkspace, openDatabase } from '../core/index.js';
import type { TrendItem } from '../connectors/trend-source.js';
import { LexicalEmbedder } from '../knowledge/index.js';
import { risingTopics, scoreRelevance, setNiche, storeItems } from '../tools/trends/index.js';
import type { ServiceContext } from '../tools/scheduling/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const SOURCES = ['mastodon', 'hackernews', 'feeds', 'bluesky', 'reddit', 'google_trends'];
/** Items per alternation segment: ten batches per source by default. */
const SEGMENT = Number(process.env.BENCH_SEGMENT ?? 10 * SOURCES.length * BATCH);
const KEYWORDS = ['espresso', 'cold brew', 'latte art'];
const WORDS =
  'espresso ristretto crema grinder latte art cold brew barista roast beans pour over kettle election senate football match weather storm market stocks crypto movie premiere album tour recipe garden'.split(
    ' ',
  );
const adminUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const dbName = `herald_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString();
const database = await openDatabase({ kind: 'postgres', url: dbUrl, poolMax: 4 });
const db = database.db;

/** Deterministic pseudo-random stream (xorshift), so both sides get the very same items. */
function* stream(): Generator<{ source: string; item: TrendItem }> {
  let x = 2463534242;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  for (let i = 0; i < ITEMS; i++) {
    const n = 4 + Math.floor(rnd() * 8);
    const words = Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]!);
    yield {
      source: SOURCES[i % SOURCES.length]!,
      item: {
        externalId: `item-${i}`,
        title: `${words.join(' ')} ${i}`,
        url: `https://example.test/${i}`,
        tags: rnd() < 0.3 ? [words[0]!] : [],
        engagement: Math.floor(rnd() * 500),
        publishedAt: null,
      },
    };
  }
}

async function workspace(name: string) {
  const ws = await createWorkspace(db, { name, slug: `${name}-${randomBytes(4).toString('hex')}`, timeZone: 'UTC' });
  const user = await createUser(db, { email: `${name}-${randomBytes(4).toString('hex')}@bench.test`, timeZone: 'UTC' });
  await addMember(db, ws.id, user.id, 'owner');
  const ctx: ServiceContext = { workspaceId: ws.id, userId: user.id, role: 'owner', timeZone: 'UTC', channel: 'bench' };
  return ctx;
}

const DAY = 86_400_000;
const start = Date.now();
/** Items arrive over two days (the current window and the one before), in stream order. */
const seenAt = (i: number) => new Date(start - 2 * DAY + Math.floor((i / ITEMS) * 2 * DAY));

try {
  const herald = await workspace('herald');
  const base = await workspace('baseline');
  await setNiche({ db }, herald, { keywords: KEYWORDS });
  await setNiche({ db }, base, { keywords: KEYWORDS });
  const embedder = new LexicalEmbedder();

  // Both sides batch the same way (per source, BATCH items, a partial batch flushed at a
  // segment's end) and write one jsonb_to_recordset statement per batch. The stream is taken in
  // segments of SEGMENT items, each written by both sides, in alternating order (baseline first
  // in even segments, Herald first in odd ones), so a change of machine load or of table size
  // during the run falls on both sides alike. Generating the items is timed on neither side.
  type Side = (source: string, items: TrendItem[], at: Date) => Promise<void>;
  // Baseline: the same items into the same table by the same one-statement method, no scoring
  // (no terms, no relevance) and no term counts: a plain insert.
  const baseline: Side = async (source, items, at) => {
    const rows = items.map((item) => ({
      external_id: item.externalId,
      title: item.title,
      url: item.url,
      engagement: item.engagement,
      published_at: null,
    }));
    await db.execute(sql`
      insert into trend_items (workspace_id, source, external_id, title, url, engagement, prev_engagement,
                               published_at, first_seen_at, last_seen_at)
      select ${base.workspaceId}::uuid, ${source}, x.external_id, x.title, x.url, x.engagement, x.engagement,
             x.published_at, ${at.toISOString()}::timestamptz, ${at.toISOString()}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(external_id text, title text, url text,
           engagement integer, published_at timestamptz)`);
  };
  // Herald: terms, relevance (lexical embedder + keywords) and the collection's upsert with the term counts.
  const heraldSide: Side = async (source, items, at) => {
    const relevance = await scoreRelevance(embedder, KEYWORDS, items);
    await storeItems(db, herald.workspaceId, source, items, at, relevance);
  };
  /** Writes one segment (items from global index `first`) through a side; returns its milliseconds. */
  const run = async (side: Side, segment: Array<{ source: string; item: TrendItem }>, first: number) => {
    const t0 = performance.now();
    const bySource = new Map<string, TrendItem[]>();
    let i = first;
    for (const { source, item } of segment) {
      i += 1;
      const list = bySource.get(source) ?? [];
      list.push(item);
      bySource.set(source, list);
      if (list.length >= BATCH) {
        bySource.set(source, []);
        await side(source, list, seenAt(i));
      }
    }
    for (const [source, list] of bySource) if (list.length) await side(source, list, seenAt(i));
    return performance.now() - t0;
  };
  let baseMs = 0;
  let heraldMs = 0;
  let segment: Array<{ source: string; item: TrendItem }> = [];
  let first = 0;
  let k = 0;
  const flushSegment = async () => {
    if (!segment.length) return;
    if (k % 2 === 0) {
      baseMs += await run(baseline, segment, first);
      heraldMs += await run(heraldSide, segment, first);
    } else {
      heraldMs += await run(heraldSide, segment, first);
      baseMs += await run(baseline, segment, first);
    }
    first += segment.length;
    segment = [];
    k += 1;
  };
  for (const s of stream()) {
    segment.push(s);
    if (segment.length >= SEGMENT) await flushSegment();
  }
  await flushSegment();

  // The trends query over the scored workspace.
  await risingTopics({ db }, herald);
  const lat: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const q0 = performance.now();
    await risingTopics({ db }, herald);
    lat.push(performance.now() - q0);
  }
  lat.sort((a, b) => a - b);

  const itemsPerS = ITEMS / (heraldMs / 1000);
  const basePerS = ITEMS / (baseMs / 1000);
  printTable(`bench:trends — ${ITEMS.toLocaleString()} items across ${SOURCES.length} sources, batches of ${BATCH}`, [
    { side: 'herald (terms + relevance + upsert)', items_per_s: round(itemsPerS), seconds: round(heraldMs / 1000, 1) },
    {
      side: 'baseline (same one-statement insert, no scoring, no counts)',
      items_per_s: round(basePerS),
      seconds: round(baseMs / 1000, 1),
    },
  ]);
  printTable(`rising topics query (${RUNS} runs)`, [
    { p50_ms: round(percentile(lat, 50), 1), p99_ms: round(percentile(lat, 99), 1) },
  ]);
  printResult({
    bench: 'trends',
    items: ITEMS,
    items_per_s: round(itemsPerS),
    baseline_per_s: round(basePerS),
    ratio: round(itemsPerS / basePerS, 2),
    query_p99_ms: round(percentile(lat, 99), 1),
  });
} finally {
  await database.close();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.end();
}
