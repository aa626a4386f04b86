/**
 * Resumability of a stateful MCP session's SSE streams (Streamable HTTP, "Resumability and
 * Redelivery"): the SDK's transport stores every event it sends here before writing it, each
 * with an id (`<streamId>.<n>`); a client whose POST or GET stream dropped sends
 * `GET /mcp` with `Last-Event-ID`, and the events of that stream after that id are sent again,
 * then the stream goes on where it was (an answer still being computed arrives on it).
 *
 * One store per session, in the memory of the process holding the session: a session is
 * itself per process (sessions.ts), so the store lives and dies with it and an id from another
 * session finds nothing. Bounded: the last `maxEvents` events of the session are kept.
 */
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Events kept per session (the oldest go first). */
export const MAX_EVENTS_PER_SESSION = 1_000;

interface Stored {
  id: EventId;
  streamId: StreamId;
  message: JSONRPCMessage;
}

export class SessionEventStore implements EventStore {
  readonly #events: Stored[] = [];
  readonly #byId = new Map<EventId, Stored>();
  readonly #max: number;
  #seq = 0;

  constructor(opts: { maxEvents?: number } = {}) {
    this.#max = opts.maxEvents ?? MAX_EVENTS_PER_SESSION;
  }

  get size(): number {
    return this.#events.length;
  }

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const event = { id: `${streamId}.${++this.#seq}`, streamId, message };
    this.#events.push(event);
    this.#byId.set(event.id, event);
    while (this.#events.length > this.#max) this.#byId.delete(this.#events.shift()!.id);
    return Promise.resolve(event.id);
  }

  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return Promise.resolve(this.#byId.get(eventId)?.streamId);
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#byId.get(lastEventId);
    // The transport asked getStreamIdForEventId first, so an unknown id never gets here.
    if (!last) return '';
    const from = this.#events.indexOf(last) + 1;
    for (const e of this.#events.slice(from)) {
      // A priming event (no message, only an id for the client to resume from) is not sent again.
      if (e.streamId === last.streamId && 'jsonrpc' in e.message) await send(e.id, e.message);
    }
    return last.streamId;
  }
}
