/**
 * The shared trend-source budget (connectors/trend-source.ts): a collection that cannot make
 * even its shared list call and one target's calls is refused as rate_limited, saying when,
 * and spends nothing — the call it would have paid for is never made.
 */
import { describe, expect, it } from 'vitest';
import { FairRotation, FairShareBudget } from '../../connectors/trend-source.js';

describe('fair rotation over a shared budget', () => {
  it('refuses without spending when fewer calls are left than the shared list and one target need', () => {
    let t = 0;
    const budget = new FairShareBudget('bluesky', { calls: 4, windowMs: 60_000, maxShare: 0.5 }, () => t);
    const rotation = new FairRotation(budget);
    // A share of 2: the shared list (1) and one keyword (1).
    expect(rotation.pick('ws-a', ['espresso', 'latte', 'moka'], 1, 1)).toEqual(['espresso']);
    budget.take('ws-a');
    // One call left: the list alone would spend it for nothing.
    expect(budget.remaining('ws-a')).toBe(1);
    let refused: unknown;
    try {
      rotation.pick('ws-a', ['espresso', 'latte', 'moka'], 1, 1);
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ kind: 'rate_limited', retryAt: new Date(60_000) });
    expect((refused as Error).message).toContain('2 calls needed, 1 left');
    expect(budget.remaining('ws-a')).toBe(1);
    // The next window: the rotation goes on with the next keyword.
    t = 60_000;
    expect(rotation.pick('ws-a', ['espresso', 'latte', 'moka'], 1, 1)).toEqual(['latte']);
  });
});

describe('a fair share smaller than one collection', () => {
  /** Each window, the workspaces collect in the same order, spending what pick allows. */
  function collectWindows(budget: FairShareBudget, rotation: FairRotation, workspaces: string[], windows: number) {
    const collected = new Map(workspaces.map((w) => [w, 0]));
    const perWindow: number[] = [];
    const refusals: string[] = [];
    return {
      collected,
      perWindow,
      refusals,
      run(setTime: (w: number) => void, callsPerTarget: number, fixedCalls = 0) {
        for (let w = 0; w < windows; w++) {
          setTime(w);
          let calls = 0;
          for (const ws of workspaces) {
            let chosen: string[];
            try {
              chosen = rotation.pick(ws, ['sub-a', 'sub-b', 'sub-c'], callsPerTarget, fixedCalls);
            } catch (err) {
              expect(err).toMatchObject({ kind: 'rate_limited' });
              // A refusal says when to retry: never in the past.
              const retryAt = (err as { retryAt: Date | null }).retryAt;
              expect(retryAt!.getTime()).toBeGreaterThan(w * 60_000);
              refusals.push((err as Error).message);
              continue;
            }
            for (let i = 0; i < fixedCalls + chosen.length * callsPerTarget; i++) budget.take(ws);
            calls += fixedCalls + chosen.length * callsPerTarget;
            collected.set(ws, collected.get(ws)! + 1);
          }
          perWindow.push(calls);
        }
      },
    };
  }

  it('lets a 6th workspace on Reddit (10 calls a minute, 2 a subreddit) collect every other window, within 10 calls a window', () => {
    let t = 0;
    const budget = new FairShareBudget('reddit', { calls: 10, windowMs: 60_000 }, () => t);
    const rotation = new FairRotation(budget);
    const workspaces = ['ws-1', 'ws-2', 'ws-3', 'ws-4', 'ws-5', 'ws-6'];
    const run = collectWindows(budget, rotation, workspaces, 10);
    run.run((w) => (t = w * 60_000), 2);
    // Share 1 of 10 calls, a subreddit 2: each workspace saves its share and collects every
    // other window; the old code refused the 6th every time ("2 calls needed, 1 left").
    for (const ws of workspaces) expect(run.collected.get(ws), ws).toBeGreaterThanOrEqual(4);
    for (const calls of run.perWindow) expect(calls).toBeLessThanOrEqual(10);
    expect(run.refusals.some((m) => m.includes('2 calls needed') && m.includes('retry next window'))).toBe(true);
  });

  it('lets every one of 25 workspaces collect in turn when they outnumber the calls, within 10 calls a window', () => {
    let t = 0;
    const budget = new FairShareBudget('reddit', { calls: 10, windowMs: 60_000 }, () => t);
    const rotation = new FairRotation(budget);
    const workspaces = Array.from({ length: 25 }, (_, i) => `ws-${i + 1}`);
    const run = collectWindows(budget, rotation, workspaces, 40);
    run.run((w) => (t = w * 60_000), 2);
    // 5 collections a window for 25 workspaces: each collects about every 5th window.
    for (const ws of workspaces) expect(run.collected.get(ws), ws).toBeGreaterThanOrEqual(5);
    for (const calls of run.perWindow) expect(calls).toBeLessThanOrEqual(10);
  });

  it('lets Bluesky workspaces beyond 30 (60 calls a minute, topics + 1 keyword) collect', () => {
    let t = 0;
    const budget = new FairShareBudget('bluesky', { calls: 60, windowMs: 60_000 }, () => t);
    const rotation = new FairRotation(budget);
    const workspaces = Array.from({ length: 35 }, (_, i) => `ws-${i + 1}`);
    const run = collectWindows(budget, rotation, workspaces, 10);
    run.run((w) => (t = w * 60_000), 1, 1);
    for (const ws of workspaces) expect(run.collected.get(ws), ws).toBeGreaterThanOrEqual(4);
    for (const calls of run.perWindow) expect(calls).toBeLessThanOrEqual(60);
  });

  it('never passes the 429 pause: a saved share waits for it', () => {
    let t = 0;
    const budget = new FairShareBudget('reddit', { calls: 10, windowMs: 60_000 }, () => t);
    const rotation = new FairRotation(budget);
    const workspaces = ['ws-1', 'ws-2', 'ws-3', 'ws-4', 'ws-5', 'ws-6'];
    const collect = (ws: string) => {
      const calls = 2 * rotation.pick(ws, ['sub-a'], 2).length;
      for (let i = 0; i < calls; i++) budget.take(ws);
    };
    // The first five collect; the 6th, refused, saves its share of 1.
    for (const ws of workspaces.slice(0, 5)) collect(ws);
    expect(() => collect('ws-6')).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
    t = 60_000;
    // The 6th has saved 2 calls when the platform says 429 for 3 minutes.
    expect(budget.pause('180')).toEqual(new Date(240_000));
    for (t = 60_000; t < 240_000; t += 60_000)
      for (const ws of workspaces)
        expect(() => rotation.pick(ws, ['sub-a'], 2)).toThrow(expect.objectContaining({ retryAt: new Date(240_000) }));
    t = 240_000;
    expect(rotation.pick('ws-6', ['sub-a'], 2)).toEqual(['sub-a']);
  });
});
