/**
 * The console's side of the WebSocket protocol (docs/protocol.md, `herald.v1`). The access
 * token travels as a subprotocol (browsers cannot set headers on a WebSocket). A dropped
 * connection reconnects with a fresh token and sends `resume` for every turn that had not
 * ended, from the last `seq` it saw, so no event is lost; events at or below that `seq` are
 * dropped, so none is shown twice. A message not yet acknowledged is sent again under its
 * same `id`, which the server answers as a duplicate instead of starting a second turn.
 */
import { api } from './api.ts';

export type ServerEvent = { type: string; turnId?: string; seq?: number } & Record<string, unknown>;
type Listener = (e: ServerEvent) => void;
export type SocketState = 'connecting' | 'open' | 'closed';

const MAX_BACKOFF_MS = 10_000;

export class ChatSocket {
  #ws: WebSocket | null = null;
  #closed = false;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Last seq seen per turn that has not ended. */
  readonly #open = new Map<string, number>();
  /** Client messages sent but not yet acked, by id. */
  readonly #unacked = new Map<string, Record<string, unknown>>();
  readonly #listeners = new Set<Listener>();
  readonly #stateListeners = new Set<(s: SocketState) => void>();
  readonly #binaryListeners = new Set<(data: ArrayBuffer) => void>();
  state: SocketState = 'connecting';

  constructor() {
    void this.#connect();
  }

  on(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  onState(fn: (s: SocketState) => void): () => void {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  /** Sends a message; a `user_message` is kept until acked and re-sent after a reconnect. */
  send(msg: Record<string, unknown>): void {
    if (msg.type === 'user_message') this.#unacked.set(msg.id as string, msg);
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  /** Binary frames from Herald: a voice session's speech (docs/protocol.md, Audio out). */
  onBinary(fn: (data: ArrayBuffer) => void): () => void {
    this.#binaryListeners.add(fn);
    return () => this.#binaryListeners.delete(fn);
  }

  /** A binary frame to Herald (a voice session's microphone audio); dropped while disconnected. */
  sendBinary(data: ArrayBuffer): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(data);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
  }

  #setState(s: SocketState): void {
    this.state = s;
    for (const fn of this.#stateListeners) fn(s);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    this.#setState('connecting');
    let token: string;
    try {
      // A fresh access token each time: the last one may have expired while we were away.
      token = this.#attempt === 0 && api.tokens ? api.tokens.accessToken : (await api.refresh()).accessToken;
    } catch {
      this.#retry();
      return;
    }
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
    const ws = new WebSocket(url, ['herald.v1', `herald.auth.${token}`]);
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (m) => {
      if (m.data instanceof ArrayBuffer) {
        for (const fn of this.#binaryListeners) fn(m.data);
        return;
      }
      if (typeof m.data !== 'string') return;
      this.#receive(JSON.parse(m.data) as ServerEvent);
    };
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#setState('closed');
      this.#retry();
    };
  }

  #retry(): void {
    if (this.#closed) return;
    this.#attempt++;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.#attempt, 6));
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  #receive(e: ServerEvent): void {
    if (e.type === 'ready') {
      this.#attempt = 0;
      this.#setState('open');
      for (const [turnId, afterSeq] of this.#open) this.#ws?.send(JSON.stringify({ type: 'resume', turnId, afterSeq }));
      for (const msg of this.#unacked.values()) this.#ws?.send(JSON.stringify(msg));
    }
    if (e.type === 'ack') {
      this.#unacked.delete(e.id as string);
      const turnId = e.turnId as string;
      if (!this.#open.has(turnId)) {
        this.#open.set(turnId, 0);
        // Acked again after a reconnect: its first events went to the old connection.
        if (e.duplicate === true) this.#ws?.send(JSON.stringify({ type: 'resume', turnId, afterSeq: 0 }));
      }
    }
    // A turn started by voice has no ack: its message_start opens it.
    if (e.type === 'message_start' && e.turnId && !this.#open.has(e.turnId) && e.clientMessageId)
      this.#open.set(e.turnId, 0);
    if (e.turnId && typeof e.seq === 'number') {
      const last = this.#open.get(e.turnId);
      if (last === undefined || e.seq <= last) return; // ended already, or seen: a replay overlap
      if (e.type === 'message_end') this.#open.delete(e.turnId);
      else this.#open.set(e.turnId, e.seq);
    }
    for (const fn of this.#listeners) fn(e);
  }
}
