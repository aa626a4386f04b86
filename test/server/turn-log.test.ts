/**
 * A turn's log after a write to Redis failed (its own redis-server refusing writes with OOM,
 * for real): Redis must never hold the turn with a hole in it — a reader on another node would
 * take events 1, 2, 4 and the end for the whole turn — and once Redis takes writes again it
 * gets the whole kept window, end included, even when no event follows the failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnStore } from '../../server/ws/turn-buffer.js';
import { startOwnRedis, type OwnRedis } from '../helpers/own-redis.js';

let own: OwnRedis;
let store: TurnStore;
const owner = { workspaceId: 'ws-1', ownerKey: 'u:1' };
const errors: unknown[] = [];

beforeAll(async () => {
  own = await startOwnRedis();
  store = new TurnStore(own.redis, 'turnlog', { maxEvents: 100, maxBytes: 1 << 20, ttlMs: 60_000 }, (err) =>
    errors.push(err),
  );
});
afterAll(async () => {
  await own?.close();
});

const event = (turnId: string, seq: number, type = 'token') => JSON.stringify({ type, turnId, seq });
const seqs = (events: string[]) => events.map((e) => (JSON.parse(e) as { seq: number }).seq);

/** What a reader on another node gets once Redis says the turn ended (or after 10 s: whatever it holds). */
async function endedInRedis(turnId: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const read = await store.read(turnId, owner, 0);
    if (read?.ended || Date.now() > deadline) return read;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a turn log after a failed Redis write', () => {
  it('never leaves Redis a log with a hole: the event that failed is written again with the rest', async () => {
    const log = store.log('turn-hole', owner);
    log.append(1, event('turn-hole', 1, 'message_start'), false);
    log.append(2, event('turn-hole', 2), false);
    await log.flushed();
    expect(log.journaled).toBe(true);
    await own.refuseWrites();
    log.append(3, event('turn-hole', 3), false);
    await log.flushed();
    expect(log.journaled).toBe(false);
    expect(errors.length).toBeGreaterThan(0);
    await own.allowWrites();
    log.append(4, event('turn-hole', 4, 'message_end'), true);
    const read = await endedInRedis('turn-hole');
    expect(read).toMatchObject({ ended: true, lastSeq: 4, firstSeq: 1 });
    expect(seqs(read!.events)).toEqual([1, 2, 3, 4]);
    expect(await log.rejournaled()).toBe(true);
    expect(log.journaled).toBe(true);
  });

  it('writes the end that failed once Redis takes writes again, with no event after it', async () => {
    const log = store.log('turn-end', owner);
    log.append(1, event('turn-end', 1, 'message_start'), false);
    await log.flushed();
    await own.refuseWrites();
    log.append(2, event('turn-end', 2), false);
    log.append(3, event('turn-end', 3, 'message_end'), true);
    await log.flushed();
    expect(log.journaled).toBe(false);
    expect((await store.read('turn-end', owner, 0))?.ended).toBe(false);
    await own.allowWrites();
    const read = await endedInRedis('turn-end');
    expect(read).toMatchObject({ ended: true, lastSeq: 3 });
    expect(seqs(read!.events)).toEqual([1, 2, 3]);
    expect(await log.rejournaled()).toBe(true);
  });

  it('gives up when the TTL passes (rejournaled answers false, even when asked later), and a later event starts over', async () => {
    // A TTL of 600 ms: the retries (250 ms, doubling) give up within about a second.
    const short = new TurnStore(
      own.redis,
      'turnlog-short',
      { maxEvents: 100, maxBytes: 1 << 20, ttlMs: 600 },
      () => {},
    );
    const log = short.log('turn-gone', owner);
    await own.refuseWrites();
    log.append(1, event('turn-gone', 1, 'message_start'), false);
    await log.flushed();
    expect(await log.rejournaled()).toBe(false);
    // Asked again after giving up: answered at once, not left waiting.
    expect(await Promise.race([log.rejournaled(), new Promise((r) => setTimeout(() => r('waiting'), 2_000))])).toBe(
      false,
    );
    await own.allowWrites();
    log.append(2, event('turn-gone', 2, 'message_end'), true);
    expect(await log.rejournaled()).toBe(true);
    const read = await short.read('turn-gone', owner, 0);
    expect(read).toMatchObject({ ended: true, lastSeq: 2, firstSeq: 1 });
    expect(seqs(read!.events)).toEqual([1, 2]);
  });
});
