/**
 * Trend relevance, alerts and hashtag suggestions on PGlite with the sources' fakes over real
 * HTTP and a scripted embedding server (Ollama's /api/embed): relevance comes from the
 * workspace's embedder plus keywords and filters a mixed stream (and falls back to keywords
 * when the embedder is down); one failing source never stops the others; a term rising fast
 * alerts every member once, then the cool-down, the daily cap, muted terms and the mute hold;
 * suggest_hashtags offers what rises and leaves out what the draft already has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlueskyTrendsFake, type BlueskyTrendsFake } from '../../connectors/bluesky/trends-fake.js';
import { BlueskyTrendsSource } from '../../connectors/bluesky/trends.js';
import { startGoogleTrendsFake, type GoogleTrendsFake } from '../../connectors/google-trends/fake.js';
import { GoogleTrendsSource } from '../../connectors/google-trends/index.js';
import { startRedditFake, type RedditFake } from '../../connectors/reddit/fake.js';
import { RedditSource } from '../../connectors/reddit/index.js';
import { addMember, createUser } from '../../core/index.js';
import { OllamaEmbedder } from '../../knowledge/index.js';
import { listNotifications, Notifier } from '../../tools/notifications/index.js';
import {
  collectAndAlert,
  collectWorkspace,
  getAlerts,
  risingTopics,
  RELEVANCE_THRESHOLD,
  scoreRelevance,
  setAlertSettings,
  setNiche,
  suggestHashtags,
  TREND_ALERT_KIND,
  type TrendsDeps,
} from '../../tools/trends/index.js';
import { startScriptedEmbedder, type ScriptedEmbedder } from '../fakes/scripted-embedder.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
let emb: ScriptedEmbedder;
let bsky: BlueskyTrendsFake;
let reddit: RedditFake;
let google: GoogleTrendsFake;
let embedder: OllamaEmbedder;

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
  emb = await startScriptedEmbedder({
    coffee: ['espresso', 'ristretto', 'crema', 'barista', 'coffee', 'latte', 'grinder'],
    politics: ['senate', 'vote', 'election', 'ballot'],
  });
  embedder = new OllamaEmbedder({ baseUrl: emb.url, model: 'scripted-embed' });
  [bsky, reddit, google] = await Promise.all([startBlueskyTrendsFake(), startRedditFake(), startGoogleTrendsFake()]);
});
afterAll(async () => {
  await Promise.all([bsky?.close(), reddit?.close(), google?.close(), emb?.close()]);
  await env?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

describe('relevance', () => {
  it('measures items with the embedder and the keywords: a close item without the keyword is relevant, an unrelated one is not', async () => {
    const items = [
      { title: 'Espresso machine deals this week', tags: [] },
      { title: 'Ristretto pulls taste sweeter with a finer grind', tags: [] },
      { title: 'Senate vote tonight', tags: [] },
    ];
    const [kw, close, off] = await scoreRelevance(embedder, ['espresso'], items);
    expect(kw).toMatchObject({ why: { keywords: ['espresso'], embedder: 'ollama:scripted-embed' } });
    expect(kw!.relevance).toBeGreaterThanOrEqual(0.9);
    expect(close!.why).toMatchObject({ keywords: [], nearest: 'espresso' });
    expect(close!.why.similarity).toBeGreaterThan(0.9);
    expect(close!.relevance).toBeGreaterThanOrEqual(RELEVANCE_THRESHOLD);
    expect(off!.relevance).toBeLessThan(RELEVANCE_THRESHOLD);

    // The embedder down: keywords alone decide, and the reason says the embedder failed.
    emb.setDown(true);
    try {
      const [kw2, close2] = await scoreRelevance(embedder, ['espresso'], items);
      expect(kw2!.relevance).toBe(1);
      expect(close2).toMatchObject({ relevance: 0, why: { embedder: null } });
      expect(close2!.why.embedderError).toMatch(/503/);
    } finally {
      emb.setDown(false);
    }
  });

  it('collection stores relevance with its reasons; rising topics keep the relevant and drop the off-niche, while a failing source stops nothing', async () => {
    const ws = await env.newWorkspace();
    await setNiche(env.deps, ws.ctx, {
      keywords: ['espresso'],
      subreddits: ['coffeelab', 'brokensub'],
      regions: ['US'],
    });
    const titles = ['alpha', 'bravo', 'charlie', 'delta'];
    titles.forEach((w, i) => {
      reddit.addPost({
        id: `r${i}`,
        subreddit: 'coffeelab',
        title: `Ristretto ${w}`,
        score: 5,
        comments: 1,
        createdUtc: nowS(),
      });
      reddit.addPost({
        id: `s${i}`,
        subreddit: 'coffeelab',
        title: `Senate ${w}`,
        score: 5,
        comments: 1,
        createdUtc: nowS(),
      });
    });
    titles.forEach((w, i) =>
      bsky.addPost({ rkey: `3r${i}`, handle: 'b.test', text: `espresso ${w}`, createdAt: new Date().toISOString() }),
    );
    // Google Trends is down for this collection.
    google.failNext(1, 503);
    const deps: TrendsDeps = {
      db: env.deps.db,
      sources: [
        new BlueskyTrendsSource({ baseUrl: bsky.url }),
        new RedditSource({ baseUrl: reddit.url }),
        new GoogleTrendsSource({ baseUrl: google.url }),
      ],
      embedderFor: async () => embedder,
    };
    const outcomes = await collectWorkspace(deps, ws.workspaceId);
    expect(Object.fromEntries(outcomes.map((o) => [o.source, o.ok]))).toEqual({
      bluesky: true,
      reddit: true,
      google_trends: false,
    });
    expect(outcomes.find((o) => o.source === 'google_trends')!.error).toContain('unavailable');
    expect(outcomes.find((o) => o.source === 'reddit')!.items).toBe(8);

    const { topics, sources } = await risingTopics(env.deps, ws.ctx);
    const terms = topics.map((t) => t.term);
    expect(terms).toEqual(expect.arrayContaining(['ristretto', 'espresso']));
    expect(terms).not.toContain('senate');
    const ristretto = topics.find((t) => t.term === 'ristretto')!;
    expect(ristretto.sources).toEqual(['reddit']);
    expect(ristretto.why).toMatchObject({ keywords: [], nearest: 'espresso', embedder: 'ollama:scripted-embed' });
    expect(ristretto.evidence[0]).toMatchObject({ source: 'reddit', why: { nearest: 'espresso' } });
    expect(topics.find((t) => t.term === 'espresso')!.why.keywords).toEqual(['espresso']);
    expect(sources.find((s) => s.source === 'google_trends')).toMatchObject({ failing: true });
  });
});

describe('alerts', () => {
  it('a term rising fast alerts each member once; cool-down, daily cap, muted terms and the mute hold', async () => {
    const ws = await env.newWorkspace();
    const second = await createUser(env.deps.db, { email: `${crypto.randomUUID()}@example.com`, timeZone: 'UTC' });
    await addMember(env.deps.db, ws.workspaceId, second.id, 'viewer');
    await setNiche(env.deps, ws.ctx, { keywords: ['espresso'], regions: ['FR'] });
    const notifier = new Notifier({ db: env.deps.db, events: env.events });
    const searches: Array<{ title: string; traffic: string }> = [];
    const plant = (term: string) => {
      for (const w of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'])
        searches.push({ title: `${term} ${w}${term.length}`, traffic: '500+' });
      google.setTrending('FR', [...searches]);
    };
    const deps: TrendsDeps = {
      db: env.deps.db,
      sources: [new GoogleTrendsSource({ baseUrl: google.url })],
      embedderFor: async () => embedder,
      notify: (input) => notifier.send(input),
    };
    plant('ristretto');
    const first = await collectAndAlert(deps, ws.workspaceId);
    expect(first.alerts.map((a) => [a.term, a.recipients])).toEqual([['ristretto', 2]]);
    for (const userId of [ws.userId, second.id]) {
      const { items } = await listNotifications(env.deps, { workspaceId: ws.workspaceId, userId, role: 'viewer' });
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ kind: TREND_ALERT_KIND, data: { term: 'ristretto' } });
      expect(items[0]!.text).toMatch(/^Rising in your niche: "ristretto" — 6 new mentions .* close to "espresso"/);
    }
    // Still rising at the next collection: the cool-down holds it.
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts).toEqual([]);

    // The daily cap: one a day leaves "crema" unsent; three lets it through.
    await setAlertSettings(env.deps, ws.ctx, { perDay: 1 });
    plant('crema');
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts).toEqual([]);
    await setAlertSettings(env.deps, ws.ctx, { perDay: 3, mutedTerms: ['#Barista'] });
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts.map((a) => a.term)).toEqual(['crema']);
    // A muted term never alerts; a muted workspace alerts nothing until unmuted.
    plant('barista');
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts).toEqual([]);
    await setAlertSettings(env.deps, ws.ctx, { mutedTerms: [], muteForHours: 24 });
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts).toEqual([]);
    await setAlertSettings(env.deps, ws.ctx, { muteForHours: 0 });
    expect((await collectAndAlert(deps, ws.workspaceId)).alerts.map((a) => a.term)).toEqual(['barista']);

    const { settings, recent } = await getAlerts(env.deps, ws.ctx);
    expect(settings).toMatchObject({ mutedUntil: null, mutedTerms: [], perDay: 3, cooldownHours: 24 });
    expect(recent.map((r) => r.term)).toEqual(['barista', 'crema', 'ristretto']);
    const { items } = await listNotifications(env.deps, {
      workspaceId: ws.workspaceId,
      userId: second.id,
      role: 'viewer',
    });
    expect(items).toHaveLength(3);

    // Viewers read alerts but may not change them.
    await expect(
      setAlertSettings(env.deps, { ...ws.ctx, userId: second.id, role: 'viewer' }, { muteForHours: 1 }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    // Another workspace sees none of it.
    const other = await env.newWorkspace();
    expect((await getAlerts(env.deps, other.ctx)).recent).toEqual([]);
  });
});

describe('suggest_hashtags', () => {
  it('offers rising terms fitted to the platform, with why, and leaves out hashtags the draft has', async () => {
    const ws = await env.newWorkspace();
    await setNiche(env.deps, ws.ctx, { keywords: ['espresso'], regions: ['IT'] });
    google.setTrending(
      'IT',
      ['uno', 'due', 'tre', 'quattro']
        .map((w) => ({ title: `latte ${w}`, traffic: '1000+' }))
        .concat(['cinque', 'sei', 'sette'].map((w) => ({ title: `grinder ${w}`, traffic: '200+' }))),
    );
    await collectWorkspace(
      {
        db: env.deps.db,
        sources: [new GoogleTrendsSource({ baseUrl: google.url })],
        embedderFor: async () => embedder,
      },
      ws.workspaceId,
    );
    const r = await suggestHashtags(env.deps, ws.ctx, { platform: 'threads', text: 'A morning latte' });
    expect(r.hashtags).toHaveLength(1);
    expect(r.hashtags[0]).toMatchObject({ tag: '#latte', from: ['rising'] });
    expect(r.hashtags[0]!.why).toContain('google_trends');
    expect(r.hashtags[0]!.why).toContain('your draft mentions it');
    const without = await suggestHashtags(env.deps, ws.ctx, { platform: 'bluesky', text: 'Morning #latte' });
    expect(without.hashtags.map((h) => h.tag)).toEqual(['#grinder']);
    await expect(suggestHashtags(env.deps, ws.ctx, { platform: 'myspace' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});
