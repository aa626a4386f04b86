/**
 * The agent's workspace-settings cache: served only while its change signal stays where it
 * was when the settings were read, never while changes cannot be heard, and never past its
 * time to live. (End to end — a change over REST followed by a turn — in
 * `agent-autonomy.test.ts`.)
 */
import { describe, expect, it } from 'vitest';
import { SettingsCache, type TurnSettings } from '../../agent/index.js';
import { DEFAULT_MODEL_POLICY } from '../../agent/models/index.js';

const WS = '00000000-0000-4000-8000-000000000001';

function harness(opts: { ttlMs?: number; max?: number } = {}) {
  const signal = { available: true, epoch: 0 };
  let clock = 0;
  const cache = new SettingsCache(signal, { ...opts, now: () => clock });
  let stored: TurnSettings = { policy: DEFAULT_MODEL_POLICY, autopilot: [] };
  let loads = 0;
  const load = () => {
    loads++;
    return Promise.resolve(stored);
  };
  return {
    signal,
    cache,
    get: (ws = WS) => cache.get(ws, load),
    set: (s: string[]) => (stored = { policy: DEFAULT_MODEL_POLICY, autopilot: s }),
    loads: () => loads,
    tick: (ms: number) => (clock += ms),
  };
}

describe('the workspace settings cache', () => {
  it('reads a workspace once while nothing changes', async () => {
    const h = harness();
    await h.get();
    await h.get();
    await h.get();
    expect(h.loads()).toBe(1);
  });

  it('reads again after any change is heard, and serves the new settings', async () => {
    const h = harness();
    expect((await h.get()).autopilot).toEqual([]);
    h.set(['schedule_post']);
    h.signal.epoch++;
    expect((await h.get()).autopilot).toEqual(['schedule_post']);
    expect(h.loads()).toBe(2);
  });

  it('does not keep a read that a change overtook', async () => {
    const h = harness();
    const signal = h.signal;
    // The change is heard while the read is on its way: what it read may be the old value.
    await h.cache.get(WS, () => {
      signal.epoch++;
      return Promise.resolve({ policy: DEFAULT_MODEL_POLICY, autopilot: ['cancel'] });
    });
    h.set(['schedule_post']);
    expect((await h.get()).autopilot).toEqual(['schedule_post']);
  });

  it('neither serves nor keeps anything while changes cannot be heard', async () => {
    const h = harness();
    await h.get();
    h.signal.available = false;
    await h.get();
    await h.get();
    expect(h.loads()).toBe(3);
    h.signal.available = true;
    await h.get();
    expect(h.loads()).toBe(3);
  });

  it('reads again once an entry has lived its time', async () => {
    const h = harness({ ttlMs: 1_000 });
    await h.get();
    h.tick(999);
    await h.get();
    expect(h.loads()).toBe(1);
    h.tick(1);
    await h.get();
    expect(h.loads()).toBe(2);
  });

  it('keeps at most `max` workspaces', async () => {
    const h = harness({ max: 2 });
    await h.get('a');
    await h.get('b');
    await h.get('c');
    await h.get('c');
    await h.get('b');
    expect(h.loads()).toBe(3);
    await h.get('a');
    expect(h.loads()).toBe(4);
  });
});
