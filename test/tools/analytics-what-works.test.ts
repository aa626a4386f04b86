/**
 * What works for you, on synthetic histories stored as the collector stores them (PGlite):
 * a planted effect (media triples engagement) is found and called sure, everything else
 * stays unclear; pure noise yields no finding; a handful of posts claims nothing; another
 * workspace's posts never count.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whatWorks } from '../../tools/analytics/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { addHistory, seeded, workspaceWithAccount, type HistoryPost } from './analytics-history.js';

let env: PublishingEnv;
const now = new Date();

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [] });
});
afterAll(async () => {
  await env?.close();
});

/** Posts with random features; `effect` says how media changes engagement. */
function history(count: number, seed: number, effect: (media: boolean) => number): HistoryPost[] {
  const rnd = seeded(seed);
  const words = ['launch', 'today', 'thanks', 'team', 'update', 'new', 'read', 'more'];
  return Array.from({ length: count }, () => {
    const media = rnd() < 0.5;
    let text = Array.from({ length: 5 + Math.floor(rnd() * 30) }, () => words[Math.floor(rnd() * words.length)]).join(
      ' ',
    );
    if (rnd() < 0.4) text += ' https://example.com/x';
    if (rnd() < 0.3) text += ' #herald';
    if (rnd() < 0.3) text += ' what do you think?';
    if (rnd() < 0.3) text += ' 🎉';
    const at = DateTime.fromJSDate(now)
      .minus({ days: 1 + Math.floor(rnd() * 170) })
      .set({ hour: Math.floor(rnd() * 24) });
    return {
      publishedAt: at.toJSDate(),
      content: text,
      media: media ? 1 : 0,
      ...(rnd() < 0.2 ? { threadParts: ['more'] } : {}),
      likes: Math.round(effect(media) * (0.5 + rnd())),
    };
  });
}

describe('what works for you', () => {
  it('finds a planted effect (media) and calls nothing else sure', async () => {
    const ws = await workspaceWithAccount(env);
    await addHistory(
      env,
      ws,
      history(200, 3, (media) => (media ? 30 : 10)),
    );
    const result = await whatWorks(env.deps, ws.ctx, { now });
    const media = result.findings.find((f) => f.feature === 'media')!;
    expect(media).toMatchObject({ certainty: 'strong' });
    expect(media.top).toBeGreaterThan(media.rest + 0.3);
    expect(media.effectSize).toBeGreaterThan(0.5);
    expect(result.findings.filter((f) => f.certainty !== 'unclear').map((f) => f.feature)).toEqual(['media']);
    expect(result.summary).toContain('Posts with media');
  });

  it('finds nothing in noise', async () => {
    const ws = await workspaceWithAccount(env);
    await addHistory(
      env,
      ws,
      history(200, 5, () => 20),
    );
    const result = await whatWorks(env.deps, ws.ctx, { now });
    expect(result.posts).toBe(200);
    expect(result.findings.every((f) => f.certainty === 'unclear')).toBe(true);
    expect(result.summary).toContain('nothing sets your top');
  });

  it('claims nothing from a handful of posts, and never reads another workspace', async () => {
    const few = await workspaceWithAccount(env);
    await addHistory(
      env,
      few,
      history(10, 9, (m) => (m ? 30 : 10)),
    );
    const result = await whatWorks(env.deps, few.ctx, { now });
    expect(result).toMatchObject({ posts: 10, findings: [] });
    expect(result.summary).toContain('Too few');
    const other = await workspaceWithAccount(env);
    expect((await whatWorks(env.deps, other.ctx, { now })).posts).toBe(0);
  });
});
