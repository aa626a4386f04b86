/**
 * bench:trends — a stream of items across the six trend sources ingested the way collection
 * does it (terms extracted, relevance measured with the lexical embedder against the niche's
 * keywords, upserted once per workspace, source and id), beside the baseline: the same items
 * inserted into the same table with no scoring (no terms, no relevance, plain insert). Then
 * the rising-topics query's latency over the scored workspace.
 *
 * Needs PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test; a scratch database is created and dropped).
 * BENCH_ITEMS (default 1,000,000), BENCH_BATCH (default 1,000), BENCH_RUNS (default 50).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { addMember, createUser, createWorkspace, openDatabase, schema } from '../core/index.js';
import type { TrendItem } from '../connectors/trend-source.js';
import { LexicalEmbedder } from '../knowledge/index.js';
import { risingTopics, scoreRelevance, setNiche, storeItems } from '../tools/trends/index.js';
import type { ServiceContext } from '../tools/scheduling/index.js';
import { percentile, printResult, printTable, round } from './lib.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);
const SOURCES = ['mastodon', 'hackernews', 'feeds', 'bluesky', 'reddit', 'google_trends'];
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

  // Baseline: the same items into the same table, no scoring (no terms, no relevance).
  let t0 = performance.now();
  let batch: Array<{ source: string; item: TrendItem }> = [];
  let i = 0;
  const flushBase = async () => {
    if (!batch.length) return;
    const at = seenAt(i);
    await db.insert(schema.trendItems).values(
      batch.map(({ source, item }) => ({
        workspaceId: base.workspaceId,
        source,
        externalId: item.externalId,
        title: item.title,
        url: item.url,
        engagement: item.engagement,
        prevEngagement: item.engagement,
        firstSeenAt: at,
        lastSeenAt: at,
      })),
    );
    batch = [];
  };
  for (const s of stream()) {
    batch.push(s);
    i += 1;
    if (batch.length >= BATCH) await flushBase();
  }
  await flushBase();
  const baseMs = performance.now() - t0;

  // Herald: terms, relevance (lexical embedder + keywords) and the collection's upsert, per source batch.
  t0 = performance.now();
  const bySource = new Map<string, TrendItem[]>();
  i = 0;
  const flush = async (source: string, items: TrendItem[]) => {
    const relevance = await scoreRelevance(embedder, KEYWORDS, items);
    await storeItems(db, herald.workspaceId, source, items, seenAt(i), relevance);
  };
  for (const { source, item } of stream()) {
    i += 1;
    const list = bySource.get(source) ?? [];
    list.push(item);
    bySource.set(source, list);
    if (list.length >= BATCH) {
      bySource.set(source, []);
      await flush(source, list);
    }
  }
  for (const [source, list] of bySource) if (list.length) await flush(source, list);
  const heraldMs = performance.now() - t0;

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
    { side: 'baseline (plain insert, no scoring)', items_per_s: round(basePerS), seconds: round(baseMs / 1000, 1) },
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
