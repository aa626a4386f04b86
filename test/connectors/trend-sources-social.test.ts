/**
 * Bluesky, Reddit and Google Trends as trend sources, each against its fake over real HTTP:
 * items in the shared shape, paging, a malformed item skipped, a 429 pausing the source's own
 * budget (no further calls until it passes), a source that is down reported as unavailable,
 * and one failing target (a subreddit, a country) not hiding the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBlueskyTrendsFake } from '../../connectors/bluesky/trends-fake.js';
import { BlueskyTrendsSource } from '../../connectors/bluesky/trends.js';
import { startGoogleTrendsFake } from '../../connectors/google-trends/fake.js';
import { approxTraffic, GoogleTrendsSource } from '../../connectors/google-trends/index.js';
import { startRedditFake } from '../../connectors/reddit/fake.js';
import { REDDIT_USER_AGENT, RedditSource } from '../../connectors/reddit/index.js';
import type { TrendQuery } from '../../connectors/trend-source.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});
async function started<T extends { close(): Promise<void> }>(p: Promise<T>): Promise<T> {
  const f = await p;
  open.push(f);
  return f;
}
const q = (over: Partial<TrendQuery> = {}): TrendQuery => ({
  keywords: [],
  languages: [],
  mastodonInstances: [],
  subreddits: [],
  regions: [],
  ...over,
});
const nowS = () => Math.floor(Date.now() / 1000);

describe('Bluesky trends source', () => {
  it('reads trending topics and searches posts per keyword across pages, with hashtags, engagement and language', async () => {
    const f = await started(startBlueskyTrendsFake());
    f.setTopics([
      {
        topic: 'espresso',
        displayName: 'Espresso',
        description: 'People are talking about crema',
        link: '/profile/trending.bsky.app/feed/espresso',
      },
      { topic: 'elections', link: '/search?q=elections' },
    ]);
    for (let i = 0; i < 60; i++)
      f.addPost({
        rkey: `3k${String(i).padStart(4, '0')}`,
        handle: 'barista.test',
        text: `Espresso tip ${i} #espresso`,
        createdAt: new Date(Date.now() - i * 60_000).toISOString(),
        langs: ['en'],
        hashtags: ['espresso'],
        likes: i,
        reposts: 1,
      });
    f.addPost({
      rkey: '3kde',
      handle: 'kaffee.test',
      text: 'Espresso am Morgen',
      createdAt: new Date().toISOString(),
      langs: ['de'],
    });
    f.addRawPost({ uri: 'not-an-at-uri', record: { text: 42 } });
    const items = await new BlueskyTrendsSource({ baseUrl: f.url, pages: 2 }).fetch(
      q({ keywords: ['espresso'], languages: ['en'] }),
    );
    const topics = items.filter((i) => i.externalId.startsWith('topic:'));
    expect(topics.map((t) => t.title)).toEqual(['Espresso — People are talking about crema', 'elections']);
    expect(topics[0]!.url).toBe('https://bsky.app/profile/trending.bsky.app/feed/espresso');
    const posts = items.filter((i) => i.externalId.startsWith('at://'));
    // Two pages of 50 hold all 60 English posts; the German one and the malformed entry are not kept.
    expect(posts).toHaveLength(60);
    expect(posts.every((p) => p.title.startsWith('Espresso tip'))).toBe(true);
    const p10 = posts.find((p) => p.title.startsWith('Espresso tip 10 '))!;
    expect(p10).toMatchObject({
      tags: ['espresso'],
      engagement: 11,
      url: 'https://bsky.app/profile/barista.test/post/3k0010',
    });
    const searches = f.requests().filter((r) => r.includes('searchPosts'));
    expect(searches).toHaveLength(2);
    expect(searches[0]).toContain('lang=en');
    expect(searches[1]).toContain('cursor=50');
  });

  it('a 429 with RateLimit-Reset pauses the source until then; the AppView down is unavailable', async () => {
    const f = await started(startBlueskyTrendsFake());
    f.failNext(1, 429, 300);
    const source = new BlueskyTrendsSource({ baseUrl: f.url });
    const err = await source.fetch(q({ keywords: ['x1'] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ source: 'bluesky', kind: 'rate_limited' });
    expect((err as { retryAt: Date }).retryAt.getTime()).toBeGreaterThan(Date.now() + 250_000);
    const calls = f.requests().length;
    await expect(source.fetch(q({ keywords: ['x1'] }))).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(f.requests().length).toBe(calls);

    f.failNext(1, 502);
    await expect(new BlueskyTrendsSource({ baseUrl: f.url }).fetch(q({ keywords: ['x1'] }))).rejects.toMatchObject({
      kind: 'unavailable',
    });
    const gone = f.url;
    await f.close();
    open.pop();
    await expect(
      new BlueskyTrendsSource({ baseUrl: gone, timeoutMs: 2000 }).fetch(q({ keywords: ['x1'] })),
    ).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });
});

describe('Reddit source', () => {
  it('reads hot (paged by after) and top of the day with a descriptive User-Agent; stickied, NSFW and malformed children are left out', async () => {
    const f = await started(startRedditFake());
    for (let i = 0; i < 70; i++)
      f.addPost({
        id: `a${i}`,
        subreddit: 'espresso',
        title: `Dialing in shot ${i}`,
        score: 100 - i,
        comments: 3,
        createdUtc: nowS() - i * 60,
      });
    f.addPost({
      id: 'pin',
      subreddit: 'espresso',
      title: 'Weekly thread',
      score: 999,
      comments: 0,
      createdUtc: nowS(),
      stickied: true,
    });
    f.addPost({
      id: 'nsfw',
      subreddit: 'espresso',
      title: 'Not for work',
      score: 5,
      comments: 0,
      createdUtc: nowS(),
      over18: true,
    });
    f.addRawChild('espresso', { kind: 't3', data: { id: 'bad' } });
    f.addRawChild('espresso', { kind: 't1', data: { id: 'comment', body: 'a comment' } });
    const items = await new RedditSource({ baseUrl: f.url, pages: 2 }).fetch(q({ subreddits: ['espresso'] }));
    expect(items).toHaveLength(70);
    const first = items.find((i) => i.externalId === 't3_a0')!;
    expect(first).toMatchObject({ title: 'Dialing in shot 0', engagement: 103, tags: ['espresso'] });
    expect(first.url).toMatch(/^https:\/\/www\.reddit\.com\/r\/espresso\/comments\/a0\//);
    const reqs = f.requests();
    expect(reqs.map((r) => r.path.split('?')[0])).toEqual([
      '/r/espresso/hot.json',
      '/r/espresso/hot.json',
      '/r/espresso/top.json',
    ]);
    expect(reqs[1]!.path).toContain('after=t3_');
    expect(reqs[2]!.path).toContain('t=day');
    expect(reqs.every((r) => r.userAgent === REDDIT_USER_AGENT)).toBe(true);
  });

  it('a 429 pauses Reddit by X-Ratelimit-Reset; one unknown subreddit does not hide another', async () => {
    const f = await started(startRedditFake());
    f.addPost({ id: 'b1', subreddit: 'coffee', title: 'Cold brew ratios', score: 10, comments: 1, createdUtc: nowS() });
    const both = await new RedditSource({ baseUrl: f.url }).fetch(q({ subreddits: ['coffee', 'nosuchsub'] }));
    expect(both.map((i) => i.title)).toEqual(['Cold brew ratios']);

    const source = new RedditSource({ baseUrl: f.url });
    f.failNext(1, 429, 240);
    const err = await source.fetch(q({ subreddits: ['coffee'] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ source: 'reddit', kind: 'rate_limited' });
    expect((err as { retryAt: Date }).retryAt.getTime()).toBeGreaterThan(Date.now() + 200_000);
    const calls = f.requests().length;
    await expect(source.fetch(q({ subreddits: ['coffee'] }))).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(f.requests().length).toBe(calls);

    // A generic User-Agent is throttled by Reddit: the source says so instead of delivering nothing silently.
    await expect(
      new RedditSource({ baseUrl: f.url, userAgent: 'node' }).fetch(q({ subreddits: ['coffee'] })),
    ).rejects.toMatchObject({ kind: 'rate_limited' });
    f.failNext(5, 503);
    await expect(new RedditSource({ baseUrl: f.url }).fetch(q({ subreddits: ['coffee'] }))).rejects.toMatchObject({
      kind: 'unavailable',
    });
  });
});

describe('Reddit budget shared fairly by workspaces', () => {
  it('a niche with many subreddits takes only its share; another workspace still reads; the next window goes on where it stopped', async () => {
    const f = await started(startRedditFake());
    const many = ['beans', 'grinders', 'latte', 'moka', 'roasting', 'tamping'];
    for (const [n, sub] of [...many, 'tea'].entries())
      f.addPost({ id: `f${n}`, subreddit: sub, title: `News from ${sub}`, score: 5, comments: 0, createdUtc: nowS() });
    let t = 0;
    // Reddit's overall limit here: 8 calls a window for the whole server.
    const source = new RedditSource({ baseUrl: f.url, budget: { calls: 8, windowMs: 60_000 }, now: () => t });
    const subsAsked = () =>
      f
        .requests()
        .map((r) => /^\/r\/([^/]+)\//.exec(r.path)?.[1])
        .filter(Boolean);

    // Workspace A alone: at most half the window (4 calls: hot + top of two subreddits), not all 12 it would need.
    const first = await source.fetch(q({ subreddits: many, workspaceId: 'ws-a' }));
    expect(first.map((i) => i.title).sort()).toEqual(['News from beans', 'News from grinders']);
    expect(f.requests()).toHaveLength(4);
    // Workspace B, in the same window, still reads its subreddit.
    const b = await source.fetch(q({ subreddits: ['tea'], workspaceId: 'ws-b' }));
    expect(b.map((i) => i.title)).toEqual(['News from tea']);
    // A again in that window: its share is spent, and Reddit is not asked.
    const calls = f.requests().length;
    await expect(source.fetch(q({ subreddits: many, workspaceId: 'ws-a' }))).rejects.toMatchObject({
      kind: 'rate_limited',
      message: expect.stringContaining('fair share'),
    });
    expect(f.requests()).toHaveLength(calls);

    // The next window: A goes on with the subreddits it did not read yet (two workspaces share: 4 each).
    t = 60_000;
    const next = await source.fetch(q({ subreddits: many, workspaceId: 'ws-a' }));
    expect(next.map((i) => i.title).sort()).toEqual(['News from latte', 'News from moka']);
    expect(new Set(subsAsked().slice(calls))).toEqual(new Set(['latte', 'moka']));

    // A 429 is the server's (per IP): it holds every workspace.
    t = 120_000;
    f.failNext(1, 429, 300);
    await expect(source.fetch(q({ subreddits: ['tea'], workspaceId: 'ws-b' }))).rejects.toMatchObject({
      kind: 'rate_limited',
    });
    const afterPause = f.requests().length;
    await expect(source.fetch(q({ subreddits: many, workspaceId: 'ws-a' }))).rejects.toMatchObject({
      kind: 'rate_limited',
    });
    expect(f.requests()).toHaveLength(afterPause);
  });
});

describe('Google Trends source', () => {
  it('reads the daily trending RSS per country with its ht: fields; a broken feed is malformed, another country still delivers', async () => {
    const f = await started(startGoogleTrendsFake());
    f.setTrending('US', [
      {
        title: 'pumpkin spice latte',
        traffic: '20,000+',
        news: [{ title: 'The PSL is back', url: 'https://news.example/psl', source: 'Example News' }],
      },
      { title: 'world cup', traffic: '2M+' },
    ]);
    f.setRaw('GB', '<rss><channel><item><title>broken');
    const source = new GoogleTrendsSource({ baseUrl: f.url });
    const items = await source.fetch(q({ regions: ['us', 'GB'] }));
    expect(items.map((i) => [i.externalId, i.engagement])).toEqual([
      ['US:pumpkin spice latte', 20_000],
      ['US:world cup', 2_000_000],
    ]);
    expect(items[0]).toMatchObject({
      title: 'pumpkin spice latte — The PSL is back (Example News)',
      url: 'https://news.example/psl',
    });
    expect(items[1]!.url).toContain('/trends/explore?geo=US&q=world%20cup');
    await expect(source.fetch(q({ regions: ['GB'] }))).rejects.toMatchObject({ kind: 'malformed' });
    expect(approxTraffic('200+')).toBe(200);
    expect(approxTraffic('50K+')).toBe(50_000);
  });

  it('429 pauses the source (a minute when Google names no time); 503 is unavailable', async () => {
    const f = await started(startGoogleTrendsFake());
    f.setTrending('DE', [{ title: 'glühwein', traffic: '500+' }]);
    const source = new GoogleTrendsSource({ baseUrl: f.url });
    f.failNext(1, 429);
    const err = await source.fetch(q({ regions: ['DE'] })).catch((e: unknown) => e);
    expect(err).toMatchObject({ source: 'google_trends', kind: 'rate_limited' });
    const calls = f.requests().length;
    await expect(source.fetch(q({ regions: ['DE'] }))).rejects.toMatchObject({ kind: 'rate_limited' });
    expect(f.requests().length).toBe(calls);
    f.failNext(1, 503);
    await expect(new GoogleTrendsSource({ baseUrl: f.url }).fetch(q({ regions: ['DE'] }))).rejects.toMatchObject({
      kind: 'unavailable',
    });
    expect(await new GoogleTrendsSource({ baseUrl: f.url }).fetch(q({ regions: ['DE'] }))).toHaveLength(1);
  });
});
