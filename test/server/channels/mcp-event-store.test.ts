/**
 * The per-session MCP event store (server/channels/mcp/event-store.ts) keeps the last events
 * by count and by size: a few large tool results cannot keep a session's memory growing, the
 * newest event is always kept, and an id that fell out replays nothing.
 */
import { describe, expect, it } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SessionEventStore } from '../../../server/channels/mcp/event-store.js';

const result = (id: number, text: string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id,
  result: { content: [{ type: 'text', text }] },
});

describe('MCP session event store', () => {
  it('drops the oldest events once their JSON passes the byte bound, keeping the newest', async () => {
    const store = new SessionEventStore({ maxEvents: 1_000, maxBytes: 10_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent('s1', result(i, 'x'.repeat(3_000))));
    // Three results of ~3 KB fit in 10 KB, a fourth does not.
    expect(store.size).toBe(3);
    expect(store.bytes).toBeLessThanOrEqual(10_000);
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect(await store.getStreamIdForEventId(ids[2]!)).toBe('s1');
    const replayed: string[] = [];
    await store.replayEventsAfter(ids[2]!, { send: async (id) => void replayed.push(id) });
    expect(replayed).toEqual([ids[3], ids[4]]);

    // One event larger than the bound alone is still kept (the newest), and only it.
    const big = await store.storeEvent('s1', result(9, 'y'.repeat(50_000)));
    expect(store.size).toBe(1);
    expect(await store.getStreamIdForEventId(big)).toBe('s1');
    const small = await store.storeEvent('s1', result(10, 'z'));
    expect(store.size).toBe(1);
    expect(await store.getStreamIdForEventId(small)).toBe('s1');
  });

  it('still keeps at most maxEvents small events', async () => {
    const store = new SessionEventStore({ maxEvents: 3 });
    for (let i = 0; i < 10; i++) await store.storeEvent('s', result(i, 'a'));
    expect(store.size).toBe(3);
  });
});
