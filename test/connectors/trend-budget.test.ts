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
