/**
 * Best time to post from an account's own history (PGlite, synthetic snapshots as the
 * collector stores them): a planted good hour is found and `suggest_time`'s service cites it
 * with its confidence; a handful of posts is called weak and the suggestion falls back and
 * says why; suggested weekly slots start at the planted hour, spread over the week, and can be
 * applied as they are; another workspace's account is not found.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bestTimes, estimateHours, suggestSlots, suggestTimes } from '../../tools/analytics/index.js';
import { listSlots, setSlots } from '../../tools/scheduling/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { addHistory, seeded, workspaceWithAccount, type HistoryPost } from './analytics-history.js';

const ZONE = 'Europe/Paris';
let env: PublishingEnv;
const now = new Date();

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
});
afterAll(async () => {
  await env?.close();
});

/** Posts at random hours over the last 150 days; those on Tuesday 18:00 (Paris) do far better. */
function planted(count: number, seed: number): HistoryPost[] {
  const rnd = seeded(seed);
  const posts: HistoryPost[] = [];
  for (let i = 0; i < count; i++) {
    const good = i % 6 === 0;
    const daysAgo = 2 + Math.floor(rnd() * 150);
    let at = DateTime.fromJSDate(now, { zone: ZONE }).minus({ days: daysAgo });
    at = good
      ? at.set({ weekday: 2, hour: 18, minute: 5 })
      : at.set({ hour: 7 + Math.floor(rnd() * 15), minute: Math.floor(rnd() * 60) });
    if (at.toJSDate() > now) at = at.minus({ weeks: 1 });
    if (!good && at.weekday === 2 && at.hour >= 16 && at.hour <= 20) at = at.plus({ days: 1 });
    const likes = Math.round((good ? 60 : 10) * (0.6 + rnd() * 0.8));
    posts.push({ publishedAt: at.toJSDate(), content: `post ${i}`, likes });
  }
  return posts;
}

describe('best time to post', () => {
  it('recovers a planted good hour from 90 posts and calls it strong; suggest_time cites it', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addHistory(env, ws, planted(90, 7));
    const result = await bestTimes(env.deps, ws.ctx, ws.accountId, now);
    expect(result).toMatchObject({ posts: 90, confidence: 'strong', basis: 'based on 90 posts; strong' });
    expect(result.best[0]).toMatchObject({ weekday: 2, hour: 18, label: 'Tue 18:00' });
    expect(result.best[0]!.liftPct).toBeGreaterThan(50);

    const { suggestions } = await suggestTimes(env.deps, ws.ctx, { socialAccountIds: [ws.accountId], after: now });
    const s = suggestions[0]!;
    expect(s.basis).toBe('best_hours');
    expect(s.reason).toContain('Tue 18:00');
    expect(s.reason).toContain('based on 90 posts; strong');
    expect(DateTime.fromISO(s.at, { zone: ZONE }).toFormat('c HH:mm')).toBe('2 18:00');
  });

  it('says weak with a handful of posts, stays near the prior, and the suggestion falls back saying why', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addHistory(env, ws, planted(4, 11));
    const result = await bestTimes(env.deps, ws.ctx, ws.accountId, now);
    expect(result).toMatchObject({ posts: 4, confidence: 'weak', basis: 'based on 4 posts; weak' });
    const { suggestions } = await suggestTimes(env.deps, ws.ctx, { socialAccountIds: [ws.accountId], after: now });
    expect(suggestions[0]!.basis).toBe('past_posts');
    expect(suggestions[0]!.reason).toContain('based on 4 posts; weak');
  });

  it('shrinks a lone lucky hour toward the prior but trusts a repeated one', () => {
    const quiet = Array.from({ length: 40 }, (_, i) => ({ how: 30 + (i % 10) * 7, y: Math.log1p(10) }));
    const lucky = estimateHours([...quiet, { how: 100, y: Math.log1p(200) }]);
    const repeated = estimateHours([...quiet, ...Array.from({ length: 12 }, () => ({ how: 100, y: Math.log1p(200) }))]);
    const rawLift = Math.log1p(200) - lucky.mean;
    expect(lucky.est[100]! - lucky.mean).toBeLessThan(rawLift * 0.9);
    expect(repeated.est[100]! - repeated.mean).toBeGreaterThan(lucky.est[100]! - lucky.mean);
  });

  it('suggests weekly slots led by the planted hour, spread over the week, that setSlots takes as they are', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    await addHistory(env, ws, planted(90, 7));
    const s = await suggestSlots(env.deps, ws.ctx, ws.accountId, { perWeek: 10, now });
    expect(s).toMatchObject({ confidence: 'strong', timeZone: ZONE, basis: 'based on 90 posts; strong' });
    expect(s.slots).toHaveLength(10);
    expect(s.slots).toContainEqual(expect.objectContaining({ weekday: 2, time: '18:00', label: 'Tue 18:00' }));
    const best = s.slots.reduce((a, b) => (b.liftPct > a.liftPct ? b : a));
    expect(best).toMatchObject({ weekday: 2, time: '18:00' });
    // At most two a day (⌈10/7⌉) and never within three hours of each other on a day.
    for (let day = 1; day <= 7; day++) {
      const hours = s.slots.filter((x) => x.weekday === day).map((x) => Number(x.time.slice(0, 2)));
      expect(hours.length).toBeLessThanOrEqual(2);
      if (hours.length === 2) expect(Math.abs(hours[0]! - hours[1]!)).toBeGreaterThanOrEqual(3);
    }
    const applied = await setSlots(env.deps, ws.ctx, ws.accountId, s.slots, s.timeZone);
    expect(applied).toHaveLength(10);
    expect((await listSlots(env.deps, ws.ctx, ws.accountId)).length).toBe(10);
  });

  it('with no history, suggests one weekday-working-hour slot a day and says it is the general pattern', async () => {
    const ws = await workspaceWithAccount(env, { timeZone: ZONE });
    const s = await suggestSlots(env.deps, ws.ctx, ws.accountId, { perWeek: 5, now });
    expect(s.confidence).toBe('weak');
    expect(s.reason).toContain('general pattern');
    expect(s.slots.map((x) => x.weekday)).toEqual([1, 2, 3, 4, 5]);
    for (const x of s.slots) expect(Number(x.time.slice(0, 2))).toBeGreaterThanOrEqual(8);
    await expect(suggestSlots(env.deps, ws.ctx, ws.accountId, { perWeek: 0, now })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('finds no account of another workspace', async () => {
    const mine = await workspaceWithAccount(env, { timeZone: ZONE });
    const theirs = await workspaceWithAccount(env, { timeZone: ZONE });
    await expect(bestTimes(env.deps, mine.ctx, theirs.accountId, now)).rejects.toMatchObject({ code: 'not_found' });
    await expect(suggestSlots(env.deps, mine.ctx, theirs.accountId, { perWeek: 7, now })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
