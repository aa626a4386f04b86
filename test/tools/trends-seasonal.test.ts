/**
 * Seasonality from planted history on PGlite: a term that rose around this date 52 weeks ago
 * and rises again now is flagged seasonal, scored lower than the same rise without that
 * history, and its alert says so; a term that was flat last year is rising but not seasonal;
 * a workspace without data from a year ago claims nothing (null).
 */
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
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
});
afterAll(async () => {
  await env?.close();
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
