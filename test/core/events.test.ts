/**
 * The event bus (core/events) over real Redis pub/sub: `subscribe` resolves only once Redis
 * has the subscription, for every caller — also one that joins a pattern whose first
 * subscriber's PSUBSCRIBE is still in flight — so an event published right after it reaches it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus, createRedisConnection, type HeraldEvent } from '../../core/index.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const publisher = createRedisConnection(REDIS_URL);
const bus = new EventBus(publisher, () => createRedisConnection(REDIS_URL));

afterAll(async () => {
  await bus.close();
  await publisher.quit();
});

function event(workspaceId: string): HeraldEvent {
  return {
    type: 'notification',
    workspaceId,
    userId: randomUUID(),
    notificationId: randomUUID(),
    kind: 'test.hello',
    text: 'hi',
    data: {},
    at: new Date().toISOString(),
  } as HeraldEvent;
}

describe('EventBus', () => {
  it('every subscriber of a pattern is live once its subscribe resolves, also the ones that joined while it was pending', async () => {
    for (let round = 0; round < 5; round++) {
      const ws = randomUUID();
      const seen: string[] = [];
      const first = bus.subscribe(ws, () => seen.push('first'));
      // Joins while the first PSUBSCRIBE is in flight, and publishes the moment it resolves.
      const unsubscribe = await bus.subscribe(ws, () => seen.push('second'));
      await publisher.publish(`herald:events:${ws}`, JSON.stringify(event(ws)));
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.sort()).toEqual(['first', 'second']);
      await unsubscribe();
      await (
        await first
      )();
    }
  });

  it('unsubscribing the last handler stops delivery; subscribing again delivers again', async () => {
    const ws = randomUUID();
    const seen: number[] = [];
    const off = await bus.subscribe(ws, () => seen.push(1));
    await off();
    await bus.publish(event(ws));
    const again = await bus.subscribe(ws, () => seen.push(2));
    await bus.publish(event(ws));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([2]);
    await again();
  });
});
