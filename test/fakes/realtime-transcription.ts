/**
 * A scripted OpenAI Realtime transcription server for tests and benchmarks, on loopback, so
 * Herald's streaming engine (`VOICE_STT=openai-realtime`) talks to something that behaves like
 * the real one. It follows OpenAI's documents:
 * - https://developers.openai.com/api/docs/guides/realtime-transcription — connect to
 *   `/v1/realtime?intent=transcription` (a URL with a `model` opens a conversation session,
 *   which refuses a transcription `session.update`), send `session.update` with
 *   `type: "transcription"`, 24 kHz `audio/pcm` and `turn_detection: null`, stream
 *   `input_audio_buffer.append` (base64 PCM16), `input_audio_buffer.commit` each turn; deltas
 *   arrive as speech does, and a final transcript after the commit;
 * - https://platform.openai.com/docs/api-reference/realtime-client-events and
 *   https://platform.openai.com/docs/api-reference/realtime-server-events — `session.created`,
 *   `session.updated`, `input_audio_buffer.committed` (`item_id`, `previous_item_id`),
 *   `input_audio_buffer.cleared`, `conversation.item.input_audio_transcription.delta`
 *   (`item_id`, `content_index`, `delta`), `.completed` (`transcript`, `usage`), `.failed`
 *   (`error`), and `error` (`error.type`, `code`, `message`, `event_id` of the client event);
 *   committing an empty buffer is an error; one `input_audio_buffer.append` carries at most
 *   15 MiB of audio ("The client may choose how much audio to place in each event up to a
 *   maximum of 15 MiB", client-events reference), counted here on the base64 text as sent. The
 *   exact error text for a bigger one is not documented; this one is an `invalid_request_error`
 *   naming no client event (an append carries no `event_id`), so the engine loses the session.
 *
 * Each committed utterance takes the next reply of the script: its words come as deltas while
 * its audio arrives (one per `msPerDelta` of audio, as a streaming model would), the rest and
 * the final transcript `finalDelayMs` after the commit. A reply may also fail or hang.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export type RealtimeReply = string | { text: string; finalDelayMs?: number } | { fail: string } | { hang: true };

export interface RealtimeSession {
  url: string;
  authorization: string | undefined;
  /** Every `session.update`'s `session`, in order. */
  updates: Record<string, unknown>[];
  /** Each committed utterance's audio (24 kHz PCM16) and the id it got. */
  committed: { itemId: string; audio: Buffer }[];
  /** `input_audio_buffer.clear`s received. */
  cleared: number;
  /** The largest `input_audio_buffer.append` accepted (base64 characters). */
  largestAppend: number;
  /** Items whose final transcript (or failure) has been sent. */
  finished: string[];
}

export interface FakeRealtimeOptions {
  /** Milliseconds of audio per word delta while it arrives. Default 300. */
  msPerDelta?: number;
  /** Time from the commit to the final transcript. Default 0. */
  finalDelayMs?: number;
}

export interface FakeRealtime {
  /** The API root to give the engine (`http://127.0.0.1:port/v1`). */
  readonly baseUrl: string;
  readonly sessions: RealtimeSession[];
  script(replies: RealtimeReply[] | (() => RealtimeReply)): void;
  /** Closes every open session's socket from the server side (the engine must reconnect). */
  dropConnections(): void;
  close(): Promise<void>;
}

const PCM_RATE = 24_000;
/** The most audio one `input_audio_buffer.append` may carry. */
export const MAX_APPEND_BYTES = 15 * 1024 * 1024;

export async function startFakeRealtime(options: FakeRealtimeOptions = {}): Promise<FakeRealtime> {
  let script: RealtimeReply[] | (() => RealtimeReply) = [];
  const sessions: RealtimeSession[] = [];
  const sockets = new Set<WebSocket>();
  const timers = new Set<NodeJS.Timeout>();
  let events = 0;
  let items = 0;
  const msPerDelta = options.msPerDelta ?? 300;

  const peek = (): RealtimeReply =>
    typeof script === 'function' ? script() : (script[0] ?? { fail: 'script exhausted' });
  const take = (peeked: RealtimeReply): RealtimeReply => {
    if (typeof script !== 'function') script.shift();
    return peeked;
  };

  const server = http.createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/v1/realtime') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req, url));
  });

  function serve(ws: WebSocket, req: http.IncomingMessage, url: URL): void {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    const transcription = url.searchParams.get('intent') === 'transcription';
    const session: RealtimeSession = {
      url: req.url ?? '',
      authorization: req.headers.authorization,
      updates: [],
      committed: [],
      cleared: 0,
      largestAppend: 0,
      finished: [],
    };
    sessions.push(session);
    const send = (event: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event_id: `event_${++events}`, ...event }));
    };
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    let configured = false;
    let previousItem: string | null = null;
    /** The utterance being appended: its audio, item id, and the words sent as deltas so far. */
    let buffer: Buffer[] = [];
    let bytes = 0;
    let itemId: string | null = null;
    let reply: RealtimeReply | null = null;
    let sentWords = 0;
    const words = (r: RealtimeReply | null) =>
      r && (typeof r === 'string' || 'text' in r) ? (typeof r === 'string' ? r : r.text).split(/(?<= )/) : [];
    const error = (code: string, message: string, clientEventId: unknown) =>
      send({
        type: 'error',
        error: { type: 'invalid_request_error', code, message, param: null, event_id: clientEventId ?? null },
      });

    send({
      type: 'session.created',
      session: transcription
        ? { object: 'realtime.session', type: 'transcription', id: `sess_${sessions.length}` }
        : { object: 'realtime.session', type: 'realtime', id: `sess_${sessions.length}` },
    });
    ws.on('message', (data) => {
      let e: { type?: string; event_id?: string; session?: Record<string, unknown>; audio?: string };
      try {
        e = JSON.parse(String(data));
      } catch {
        return error('invalid_json', 'The event is not JSON.', null);
      }
      switch (e.type) {
        case 'session.update': {
          if (!transcription && e.session?.type === 'transcription') {
            return error(
              'invalid_value',
              'Passing a transcription session update event to a realtime session is not allowed.',
              e.event_id,
            );
          }
          const input = (e.session?.audio as { input?: { format?: { type?: string; rate?: number } } } | undefined)
            ?.input;
          if (input?.format && (input.format.type !== 'audio/pcm' || input.format.rate !== PCM_RATE)) {
            return error('invalid_value', 'Only 24 kHz audio/pcm is supported.', e.event_id);
          }
          session.updates.push(e.session ?? {});
          configured = true;
          return send({ type: 'session.updated', session: { type: 'transcription', ...e.session } });
        }
        case 'input_audio_buffer.append': {
          if (!configured) return error('session_not_configured', 'Send session.update first.', e.event_id);
          if ((e.audio ?? '').length > MAX_APPEND_BYTES) {
            return error(
              'invalid_value',
              `Audio in one input_audio_buffer.append may be at most 15 MiB, got ${e.audio!.length} bytes.`,
              e.event_id,
            );
          }
          session.largestAppend = Math.max(session.largestAppend, (e.audio ?? '').length);
          const audio = Buffer.from(e.audio ?? '', 'base64');
          buffer.push(audio);
          bytes += audio.length;
          itemId ??= `item_${++items}`;
          reply ??= peek();
          // A streaming model: a word per `msPerDelta` of audio heard, never the last one before the commit.
          const w = words(reply);
          const due = Math.min(w.length - 1, Math.floor(((bytes / 2 / PCM_RATE) * 1000) / msPerDelta));
          for (; sentWords < due; sentWords++) {
            send({
              type: 'conversation.item.input_audio_transcription.delta',
              item_id: itemId,
              content_index: 0,
              delta: w[sentWords],
            });
          }
          return;
        }
        case 'input_audio_buffer.clear': {
          buffer = [];
          bytes = 0;
          itemId = null;
          reply = null;
          sentWords = 0;
          session.cleared++;
          return send({ type: 'input_audio_buffer.cleared' });
        }
        case 'input_audio_buffer.commit': {
          const ms = (bytes / 2 / PCM_RATE) * 1000;
          if (ms < 100) {
            return error(
              'input_audio_buffer_commit_empty',
              `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
              e.event_id,
            );
          }
          const id = itemId!;
          const r = take(reply ?? peek());
          const w = words(r);
          const from = sentWords;
          session.committed.push({ itemId: id, audio: Buffer.concat(buffer) });
          send({ type: 'input_audio_buffer.committed', item_id: id, previous_item_id: previousItem });
          previousItem = id;
          buffer = [];
          bytes = 0;
          itemId = null;
          reply = null;
          sentWords = 0;
          if (typeof r === 'object' && 'hang' in r) return;
          const delay =
            typeof r === 'object' && 'finalDelayMs' in r ? (r.finalDelayMs ?? 0) : (options.finalDelayMs ?? 0);
          later(delay, () => {
            if (ws.readyState === ws.OPEN) session.finished.push(id);
            if (typeof r === 'object' && 'fail' in r) {
              return send({
                type: 'conversation.item.input_audio_transcription.failed',
                item_id: id,
                content_index: 0,
                error: { type: 'transcription_error', code: 'audio_unintelligible', message: r.fail, param: null },
              });
            }
            for (const delta of w.slice(from)) {
              send({ type: 'conversation.item.input_audio_transcription.delta', item_id: id, content_index: 0, delta });
            }
            send({
              type: 'conversation.item.input_audio_transcription.completed',
              item_id: id,
              content_index: 0,
              transcript: w.join(''),
              usage: { type: 'duration', seconds: Math.round(ms) / 1000 },
            });
          });
          return;
        }
        default:
          return error('invalid_value', `Unknown event type ${JSON.stringify(e.type)}.`, e.event_id);
      }
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: `${base}/v1`,
    sessions,
    script(replies) {
      script = replies;
    },
    dropConnections() {
      for (const ws of sockets) ws.terminate();
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
