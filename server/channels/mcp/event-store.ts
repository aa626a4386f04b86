/**
 * Resumability of a stateful MCP session's SSE streams (Streamable HTTP, "Resumability and
 * Redelivery"): the SDK's transport stores every event it sends here before writing it, each
 * with an id (`<streamId>.<n>`); a client whose POST or GET stream dropped sends
 * `GET /mcp` with `Last-Event-ID`, and the events of that stream after that id are sent again,
 * then the stream goes on where it was (an answer still being computed arrives on it).
 *
 * One store per session, in the memory of the process holding the session: a session is
 * itself per process (sessions.ts), so the store lives and dies with it and an id from another
 * session finds nothing. Bounded by count and by size: the last `maxEvents` events of the
 * session are kept, and fewer when they come to more than `maxBytes` (a few large tool results
 * must not keep a session's memory growing; the newest event is always kept).
 */
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Events kept per session (the oldest go first). */
export const MAX_EVENTS_PER_SESSION = 1_000;
/** Bytes of kept events per session (their JSON), at most (the oldest go first). */
export const MAX_EVENT_BYTES_PER_SESSION = 8 * 1024 * 1024;

interface Stored {
  id: EventId;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
}

export class SessionEventStore implements EventStore {
  readonly #events: Stored[] = [];
  readonly #byId = new Map<EventId, Stored>();
  readonly #max: number;
  readonly #maxBytes: number;
  #seq = 0;
  #bytes = 0;

  constructor(opts: { maxEvents?: number; maxBytes?: number } = {}) {
    this.#max = opts.maxEvents ?? MAX_EVENTS_PER_SESSION;
    this.#maxBytes = opts.maxBytes ?? MAX_EVENT_BYTES_PER_SESSION;
  }

  get size(): number {
    return this.#events.length;
  }

  /** Bytes of the events kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const bytes = Buffer.byteLength(JSON.stringify(message));
    const event = { id: `${streamId}.${++this.#seq}`, streamId, message, bytes };
    this.#events.push(event);
    this.#byId.set(event.id, event);
    this.#bytes += bytes;
    while (this.#events.length > this.#max || (this.#bytes > this.#maxBytes && this.#events.length > 1)) {
      const gone = this.#events.shift()!;
      this.#byId.delete(gone.id);
      this.#bytes -= gone.bytes;
    }
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
