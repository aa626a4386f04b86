/**
 * Trend sources against their fakes over real HTTP: Mastodon's trends endpoints and the HN
 * Search API. Items come back in the shared shape, a malformed item is skipped, a 429 with
 * Retry-After pauses the source's own budget (no further calls until it passes), and one
 * failing instance does not hide another's trends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHackerNewsFake, type HackerNewsFake } from '../../connectors/hackernews/fake.js';
import { HackerNewsSource } from '../../connectors/hackernews/index.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { MastodonTrendsSource } from '../../connectors/mastodon/trends.js';
import { RateBudget, TrendSourceError } from '../../connectors/trend-source.js';
import { setOutboundPolicy } from '../../core/index.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
const mastodon = async () => {
  const f = await startMastodonFake();
  open.push(f);
  return f;
};
const query = (instances: MastodonFake[], keywords: string[] = []) => ({
  keywords,
  languages: ['en'],
  mastodonInstances: instances.map((i) => i.url),
});

describe('Mastodon trends source', () => {
  it('reads tags, statuses and links, skipping a malformed status and other languages', async () => {
    const m = await mastodon();
    m.setTrends({
      tags: [{ name: 'Espresso', uses: [40, 10] }],
      statuses: [
        {
          id: '1',
          content: '<p>New <b>espresso</b> grinder</p>',
          createdAt: new Date().toISOString(),
          favourites: 5,
          reblogs: 2,
          replies: 1,
          tags: ['espresso'],
        },
        {
          id: '2',
          content: '<p>Hallo</p>',
          language: 'de',
          createdAt: new Date().toISOString(),
          favourites: 1,
          reblogs: 0,
          replies: 0,
          tags: [],
        },
      ],
      links: [{ url: 'https://news.example/beans', title: 'Bean prices', description: 'up again', uses: [12] }],
      rawStatuses: [{ id: 'broken', content: 42 }],
    });
    const items = await new MastodonTrendsSource().fetch(query([m]));
    expect(items.map((i) => i.title)).toEqual(['#Espresso', 'New espresso grinder', 'Bean prices — up again']);
    expect(items[0]!.engagement).toBe(40);
    expect(items[1]!.engagement).toBe(8);
    expect(items[1]!.tags).toEqual(['espresso']);
  });

  it('a 429 with Retry-After pauses that instance; another instance still delivers', async () => {
    const [a, b] = [await mastodon(), await mastodon()];
    a.setTrends({ tags: [{ name: 'latte', uses: [3] }] });
    b.setTrends({ tags: [{ name: 'mocha', uses: [4] }] });
    a.throttleTrends(1, 120);
    const source = new MastodonTrendsSource();
    const items = await source.fetch(query([a, b]));
    expect(items.map((i) => i.title)).toEqual(['#mocha']);
    const callsBefore = a.requests().length;
    await expect(source.fetch(query([a]))).rejects.toMatchObject({ kind: 'rate_limited' });
    // Paused by its own budget: the instance was not asked again.
    expect(a.requests().length).toBe(callsBefore);
  });
});

describe('Mastodon trends source: per-instance budgets are bounded', () => {
  it('keeps at most maxHosts instance budgets, however many instances niches name; a live one keeps its pause', async () => {
    const a = await mastodon();
    a.setTrends({ tags: [{ name: 'espresso', uses: [3] }] });
    a.throttleTrends(1, 600);
    const source = new MastodonTrendsSource({ maxHosts: 3 });
    await expect(source.fetch(query([a]))).rejects.toMatchObject({ kind: 'rate_limited' });
    // Instances that answer nothing (closed ports on loopback), each a host of its own.
    for (let port = 1; port <= 6; port++)
      await source
        .fetch({ keywords: [], languages: [], mastodonInstances: [`http://127.0.0.1:${port}`] })
        .catch(() => undefined);
    expect(source.trackedHosts).toBe(3);
    // Three hosts kept, the least recently used dropped: the paused instance is asked again.
    a.setTrends({ tags: [{ name: 'espresso', uses: [3] }] });
    const items = await source.fetch(query([a]));
    expect(items.map((i) => i.title)).toEqual(['#espresso']);

    // A host still in use keeps its budget (and so its pause) while others come and go.
    const b = await mastodon();
    b.throttleTrends(1, 600);
    const kept = new MastodonTrendsSource({ maxHosts: 3 });
    await expect(kept.fetch(query([b]))).rejects.toMatchObject({ kind: 'rate_limited' });
    const asked = b.requests().length;
    for (let port = 1; port <= 4; port++) {
      await kept
        .fetch({ keywords: [], languages: [], mastodonInstances: [`http://127.0.0.1:${port}`] })
        .catch(() => undefined);
      await expect(kept.fetch(query([b]))).rejects.toMatchObject({ kind: 'rate_limited' });
    }
    expect(b.requests()).toHaveLength(asked);
    expect(kept.trackedHosts).toBeLessThanOrEqual(3);
  });
});

describe('Mastodon trends source: instances are addresses users typed', () => {
  afterEach(() => setOutboundPolicy({ allow: ['loopback'] }));

  it('an instance on a loopback address is refused under the default policy, and nothing is asked of it', async () => {
    const m = await mastodon();
    m.setTrends({ tags: [{ name: 'latte', uses: [3] }] });
    // The default install: OUTBOUND_ALLOW unset, public addresses only (test/setup allows loopback).
    setOutboundPolicy({ allow: [] });
    const err = await new MastodonTrendsSource().fetch(query([m])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrendSourceError);
    expect(err).toMatchObject({ kind: 'unavailable' });
    expect((err as Error).message).toMatch(/127\.0\.0\.1.*loopback/);
    expect(m.requests()).toHaveLength(0);
  });
});

describe('Hacker News source', () => {
  let hn: HackerNewsFake;
  it('searches each keyword, merges stories, counts points and comments, skips malformed hits', async () => {
    hn = await startHackerNewsFake();
    open.push(hn);
    const now = Math.floor(Date.now() / 1000);
    hn.addStory({
      objectID: '10',
      title: 'Espresso machines teardown',
      url: 'https://x.example/t',
      points: 50,
      num_comments: 10,
      created_at_i: now,
    });
    hn.addStory({ objectID: '11', title: 'Rust 2.0', points: 500, num_comments: 100, created_at_i: now });
    hn.addRawHit({ title: 'no id' });
    const items = await new HackerNewsSource({ baseUrl: hn.url }).fetch({
      keywords: ['espresso'],
      languages: [],
      mastodonInstances: [],
    });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ externalId: '10', engagement: 60, url: 'https://x.example/t' });
    expect(hn.requests()[0]).toContain('tags=story');
  });

  it('a 429 says when to retry (from Retry-After)', async () => {
    hn = await startHackerNewsFake();
    open.push(hn);
    hn.failNext(1, 429, 90);
    const before = Date.now();
    const err = await new HackerNewsSource({ baseUrl: hn.url })
      .fetch({ keywords: ['espresso'], languages: [], mastodonInstances: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrendSourceError);
    expect((err as TrendSourceError).retryAt!.getTime()).toBeGreaterThanOrEqual(before + 89_000);
  });
});

describe('shared budgets split fairly by workspaces', () => {
  it('Hacker News: a niche with many keywords searches its share, another workspace still searches, the next window goes on with the rest', async () => {
    const hn = await startHackerNewsFake();
    open.push(hn);
    let t = 0;
    const source = new HackerNewsSource({ baseUrl: hn.url, budget: { calls: 4, windowMs: 3_600_000 }, now: () => t });
    const asked = () => hn.requests().map((r) => new URL(r, 'http://x').searchParams.get('query'));
    const q = (workspaceId: string, keywords: string[]) => ({
      keywords,
      languages: [],
      mastodonInstances: [],
      workspaceId,
    });
    const many = ['espresso', 'grinder', 'latte', 'crema', 'roast', 'moka'];

    await source.fetch(q('ws-a', many));
    expect(asked()).toEqual(['espresso', 'grinder']); // half the server's window at most
    await source.fetch(q('ws-b', ['tea']));
    expect(asked()).toEqual(['espresso', 'grinder', 'tea']);
    await expect(source.fetch(q('ws-a', many))).rejects.toMatchObject({
      kind: 'rate_limited',
      message: expect.stringContaining('fair share'),
    });
    t = 3_600_000;
    await source.fetch(q('ws-a', many));
    expect(asked().slice(3)).toEqual(['latte', 'crema']);
  });
});

describe('rate budget', () => {
  it('refuses calls past its own budget until the window passes, and honours an HTTP-date Retry-After', () => {
    let t = 0;
    const budget = new RateBudget('x', { calls: 2, windowMs: 1_000 }, () => t);
    budget.take();
    budget.take();
    expect(() => budget.take()).toThrow(TrendSourceError);
    t = 1_000;
    expect(() => budget.take()).not.toThrow();
    const until = budget.pause(new Date(5_000).toUTCString());
    expect(until.getTime()).toBe(5_000);
    t = 4_999;
    expect(() => budget.take()).toThrow(/429/);
  });
});
