/**
 * Rising topics against planted history, on PostgreSQL when TEST_DATABASE_URL is set (PGlite
 * otherwise): a term that rose around this date 52 weeks ago and rises again now is flagged
 * seasonal, scored lower than the same rise without that history, and its alert says so; a
 * term that was flat last year is rising but not seasonal; a workspace without data from a
 * year ago claims nothing (null). And the term's own baseline: once a workspace has a week of
 * history, a term that comes and goes is not rising when it comes back, a new one is (z-score).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrendItem } from '../../connectors/trend-source.js';
import { listNotifications, Notifier } from '../../tools/notifications/index.js';
import {
  checkAlerts,
  risingTopics,
  SEASON_LAG_DAYS,
  SEASONAL_DISCOUNT,
  setAlertSettings,
  setNiche,
  storeItems,
  TREND_ALERT_KIND,
} from '../../tools/trends/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
let dispose: () => Promise<void>;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

beforeAll(async () => {
  // The counting is SQL: run it where production runs it when a server is given.
  const db = TEST_DATABASE_URL ? await openPostgresForTest(TEST_DATABASE_URL) : await openPgliteForTest();
  dispose = db.dispose;
  env = await startPublishingEnv({ connectors: [], database: db.database });
});
afterAll(async () => {
  await env?.close();
  await dispose?.();
});

const item = (id: string, title: string): TrendItem => ({
  externalId: id,
  title,
  url: `https://example.test/${id}`,
  tags: [],
  engagement: 1,
  publishedAt: null,
});

/** Plants `n` items titled `title <i>` first seen at `at`. */
const plant = (workspaceId: string, prefix: string, title: string, n: number, at: number) =>
  storeItems(
    env.deps.db,
    workspaceId,
    'mastodon',
    Array.from({ length: n }, (_, i) => item(`${prefix}-${i}`, `${title} ${i}`)),
    new Date(at),
  );

/** This year's window: six new mentions of each term, none the window before. */
const plantNow = async (workspaceId: string, now: number) => {
  await plant(workspaceId, 'now-pumpkin', 'Pumpkin spice coffee', 6, now - HOUR);
  await plant(workspaceId, 'now-martini', 'Espresso martini coffee', 6, now - HOUR);
};

describe('seasonal terms', () => {
  it('a term that rose around this date last year is flagged seasonal and scored lower; a term flat last year is not', async () => {
    const now = Date.parse('2026-10-20T12:00:00Z');
    const ws = await env.newWorkspace();
    await setNiche(env.deps, ws.ctx, { keywords: ['coffee'] });
    const yearAgo = now - SEASON_LAG_DAYS * DAY;
    // Last year: "pumpkin" five times two days off the same date, never in the weeks before;
    // "martini" once every two days for six weeks (flat), through the same date.
    await plant(ws.workspaceId, 'ly-pumpkin', 'Pumpkin pie', 5, yearAgo + 2 * DAY);
    for (let d = -40; d <= 6; d += 2)
      await plant(ws.workspaceId, `ly-martini${d}`, 'Martini night', 1, yearAgo + d * DAY);
    await plantNow(ws.workspaceId, now);

    const result = await risingTopics({ db: env.deps.db, now: () => new Date(now) }, ws.ctx);
    const pumpkin = result.topics.find((t) => t.term === 'pumpkin')!;
    const martini = result.topics.find((t) => t.term === 'martini')!;
    expect(pumpkin).toMatchObject({ seasonal: true, lastYear: { mentions: 5, expected: 0 } });
    expect(martini.seasonal).toBe(false);
    expect(martini.lastYear!.mentions).toBeGreaterThan(0);
    expect(martini.lastYear!.expected).toBeGreaterThan(martini.lastYear!.mentions / 1.5);
    // Same rise now, same relevance: the seasonal one is the less novel, by the discount.
    expect(martini.score - pumpkin.score).toBeCloseTo(SEASONAL_DISCOUNT, 1);
    expect(result.note).toContain('Seasonal (rose around this date last year too): pumpkin');
    expect(result.note).not.toMatch(/Seasonal[^.]*martini/);

    // Its alert says it is seasonal; the others' do not ("coffee", "espresso" rise too).
    await setAlertSettings(env.deps, ws.ctx, { perDay: 10 });
    const notifier = new Notifier({ db: env.deps.db, events: env.events });
    const sent = await checkAlerts(
      { db: env.deps.db, now: () => new Date(now), notify: (input) => notifier.send(input) },
      ws.workspaceId,
    );
    expect(sent.map((a) => a.term)).toContain('pumpkin');
    const { items } = await listNotifications(env.deps, {
      workspaceId: ws.workspaceId,
      userId: ws.userId,
      role: 'viewer',
    });
    const alerts = items.filter((n) => n.kind === TREND_ALERT_KIND);
    const pumpkinAlert = alerts.find((n) => (n.data as { term: string }).term === 'pumpkin')!;
    expect(pumpkinAlert.text).toContain('Seasonal: it rose around this date last year too (5 mentions then)');
    expect(pumpkinAlert.data).toMatchObject({ seasonal: true });
    for (const n of alerts.filter((a) => (a.data as { term: string }).term !== 'pumpkin'))
      expect(n.text).not.toContain('Seasonal');
  });

  it('without data from a year ago nothing is claimed; last year outside the same date is not seasonal', async () => {
    const now = Date.parse('2026-10-20T12:00:00Z');
    const fresh = await env.newWorkspace();
    await setNiche(env.deps, fresh.ctx, { keywords: ['coffee'] });
    await plantNow(fresh.workspaceId, now);
    const none = await risingTopics({ db: env.deps.db, now: () => new Date(now) }, fresh.ctx);
    expect(none.topics.find((t) => t.term === 'pumpkin')).toMatchObject({ seasonal: null, lastYear: null });
    expect(none.note).not.toContain('Seasonal');

    // A burst a year ago but two months off the date: history exists, the term is not seasonal.
    const ws = await env.newWorkspace();
    await setNiche(env.deps, ws.ctx, { keywords: ['coffee'] });
    await plant(ws.workspaceId, 'ly-off', 'Pumpkin pie', 8, now - (SEASON_LAG_DAYS + 60) * DAY);
    await plantNow(ws.workspaceId, now);
    const off = await risingTopics({ db: env.deps.db, now: () => new Date(now) }, ws.ctx);
    expect(off.topics.find((t) => t.term === 'pumpkin')).toMatchObject({
      seasonal: false,
      lastYear: { mentions: 0, expected: 0 },
    });
    // Another workspace's history never makes this one's term seasonal.
    expect(none.topics.find((t) => t.term === 'pumpkin')!.seasonal).toBeNull();
  });
});

describe("the term's own baseline", () => {
  it("a rise must stand out of the term's own baseline once there is history: a term that comes and goes is not rising, a new one is", async () => {
    const ws = await env.newWorkspace();
    await setNiche(env.deps, ws.ctx, { keywords: ['coffee'] });
    const now = Date.now();
    const db = env.deps.db;
    // Seven days of history (24 h windows): "aeropress" nine times every other day, none
    // yesterday; "siphon" never; other coffee chatter every day, so every window has data.
    for (let day = 1; day <= 7; day++) {
      const at = new Date(now - day * 24 * HOUR - HOUR);
      const aero =
        day % 2 === 0 ? Array.from({ length: 9 }, (_, i) => item(`a${day}-${i}`, `Coffee aeropress recipe ${i}`)) : [];
      await storeItems(db, ws.workspaceId, 'reddit', [...aero, item(`c${day}`, `Coffee chatter day ${day}`)], at);
    }
    await storeItems(
      db,
      ws.workspaceId,
      'reddit',
      [
        ...Array.from({ length: 9 }, (_, i) => item(`an${i}`, `Coffee aeropress again ${i}`)),
        ...Array.from({ length: 6 }, (_, i) => item(`s${i}`, `Coffee siphon brewing ${i}`)),
      ],
      new Date(now - HOUR),
    );
    const { topics } = await risingTopics({ db, now: () => new Date(now) }, ws.ctx, { limit: 100 });
    const terms = topics.map((t) => t.term);
    // Nine now against none the window before passes the ratio, but not its own baseline (mean 3.86, sd 4.45).
    expect(terms).not.toContain('aeropress');
    const siphon = topics.find((t) => t.term === 'siphon')!;
    expect(siphon).toMatchObject({ mentions: { current: 6, previous: 0 }, z: 6, baseline: { windows: 7, mean: 0 } });

    // Without that history (a new workspace), the ratio alone decides and z is not claimed.
    const fresh = await env.newWorkspace();
    await setNiche(env.deps, fresh.ctx, { keywords: ['coffee'] });
    await storeItems(
      db,
      fresh.workspaceId,
      'reddit',
      Array.from({ length: 9 }, (_, i) => item(`fa${i}`, `Coffee aeropress again ${i}`)),
      new Date(now - HOUR),
    );
    const young = (await risingTopics({ db, now: () => new Date(now) }, fresh.ctx)).topics.find(
      (t) => t.term === 'aeropress',
    );
    expect(young).toMatchObject({ z: null, baseline: null, mentions: { current: 9, previous: 0 } });
  });
});

describe('term counts kept at ingest', () => {
  /** The counts of a workspace, as `hour term` → n (zeros left out). */
  const kept = async (workspaceId: string) => {
    const r = await env.deps.db.execute(sql`
      select bucket, term, n from trend_term_counts where workspace_id = ${workspaceId} and n <> 0`);
    return new Map(
      (r as unknown as { rows: Array<{ bucket: string | Date; term: string; n: number }> }).rows.map((x) => [
        `${new Date(x.bucket).toISOString()} ${x.term}`,
        Number(x.n),
      ]),
    );
  };
  /** The same, recounted from the stored items. */
  const recount = async (workspaceId: string) => {
    const r = await env.deps.db.execute(sql`
      select date_trunc('hour', first_seen_at at time zone 'UTC') at time zone 'UTC' as bucket, term, count(*)::int as n
      from trend_items, unnest(terms) as term where workspace_id = ${workspaceId} group by 1, 2`);
    return new Map(
      (r as unknown as { rows: Array<{ bucket: string | Date; term: string; n: number }> }).rows.map((x) => [
        `${new Date(x.bucket).toISOString()} ${x.term}`,
        Number(x.n),
      ]),
    );
  };

  it('equal a recount from the items after a mixed ingest; an item stored twice counts once', async () => {
    const now = Date.parse('2026-10-20T12:30:00Z');
    const ws = await env.newWorkspace();
    const other = await env.newWorkspace();
    const tagged = (id: string, title: string, tags: string[]): TrendItem => ({ ...item(id, title), tags });
    // Two sources, three hours, a hashtag, one id twice in a batch.
    await storeItems(
      env.deps.db,
      ws.workspaceId,
      'mastodon',
      [
        item('a', 'Cortado crema guide'),
        tagged('b', 'Cortado at home', ['#Barista']),
        item('a', 'Cortado crema guide'),
      ],
      new Date(now - 2 * HOUR),
    );
    await storeItems(env.deps.db, ws.workspaceId, 'reddit', [item('a', 'Cortado crema guide')], new Date(now - HOUR));
    await storeItems(env.deps.db, other.workspaceId, 'mastodon', [item('a', 'Cortado crema guide')], new Date(now));
    // Seen again an hour later: same item, same first-seen hour, no second count.
    await storeItems(
      env.deps.db,
      ws.workspaceId,
      'mastodon',
      [item('a', 'Cortado crema guide'), item('c', 'Crema science')],
      new Date(now),
    );
    const hour = (x: number) => new Date(Math.floor(x / HOUR) * HOUR).toISOString();
    let counts = await kept(ws.workspaceId);
    expect(counts.get(`${hour(now - 2 * HOUR)} cortado`)).toBe(2);
    expect(counts.get(`${hour(now - 2 * HOUR)} crema`)).toBe(1);
    expect(counts.get(`${hour(now - 2 * HOUR)} barista`)).toBe(1);
    expect(counts.get(`${hour(now - HOUR)} cortado`)).toBe(1);
    expect(counts.get(`${hour(now)} crema`)).toBe(1);
    expect(counts.has(`${hour(now)} cortado`)).toBe(false);
    expect(counts).toEqual(await recount(ws.workspaceId));
    // Seen again with a new title: its old terms leave its first-seen hour, the new ones come in.
    await storeItems(env.deps.db, ws.workspaceId, 'mastodon', [item('a', 'Flat white guide')], new Date(now + HOUR));
    counts = await kept(ws.workspaceId);
    expect(counts.get(`${hour(now - 2 * HOUR)} cortado`)).toBe(1);
    expect(counts.get(`${hour(now - 2 * HOUR)} flat`)).toBe(1);
    expect(counts).toEqual(await recount(ws.workspaceId));
    // Another workspace's items never count here.
    expect(await kept(other.workspaceId)).toEqual(await recount(other.workspaceId));
    expect(await kept(other.workspaceId)).toEqual(
      new Map([
        [`${hour(now)} cortado`, 1],
        [`${hour(now)} crema`, 1],
        [`${hour(now)} guide`, 1],
      ]),
    );
  });
});

describe('window counts at the edges', () => {
  // Items exactly at, and a millisecond either side of, each window boundary of a one-hour
  // window, with now at the start, early in and late in an hour: the hour a boundary falls in
  // is counted on one side from the items and taken from the kept count on the other, and the
  // totals must be what a recount of those items gives (now is in, the first boundary is in, a
  // millisecond before it and after now are out).
  for (const minute of [0, 10, 50]) {
    it(`mentions and baseline are exact with now at minute ${minute} of an hour`, async () => {
      const now = Date.parse('2026-10-20T12:00:00Z') + minute * 60_000;
      const ws = await env.newWorkspace();
      await setNiche(env.deps, ws.ctx, { keywords: ['coffee'] });
      let n = 0;
      const at = async (t: number) => {
        n += 1;
        await storeItems(env.deps.db, ws.workspaceId, 'mastodon', [item(`c${n}`, `Coffee news ${n}`)], new Date(t));
      };
      // Current window [now − 1 h, now]: four, one a millisecond after now does not count.
      for (const t of [now, now - 1, now - HOUR, now - HOUR / 2, now + 1]) await at(t);
      // The window before [now − 2 h, now − 1 h): two.
      for (const t of [now - HOUR - 1, now - 2 * HOUR]) await at(t);
      // Baseline windows 4 and 7 (the oldest starts at now − 8 h): one each; before it, none.
      for (const t of [now - 4 * HOUR - 1, now - 8 * HOUR, now - 8 * HOUR - 1]) await at(t);

      const result = await risingTopics({ db: env.deps.db, now: () => new Date(now) }, ws.ctx, { windowHours: 1 });
      const coffee = result.topics.find((t) => t.term === 'coffee');
      expect(coffee?.mentions).toEqual({ current: 4, previous: 2 });
      // Windows 1, 4 and 7 have items: counts 2, 1, 1.
      expect(coffee?.baseline).toEqual({ windows: 3, mean: 1.33 });
      expect(coffee?.z).toBe(2.31);
    });
  }
});
