/**
 * Streaming speech-to-text over OpenAI's Realtime API in transcription mode, so the final
 * transcript is ready almost as soon as the user stops: the audio went out while they spoke.
 * One WebSocket per voice session (`…/realtime?intent=transcription`), configured once with
 * `session.update` (`type: "transcription"`, 24 kHz PCM, `turn_detection: null`: Herald's own
 * VAD decides where an utterance ends). Each utterance is a segment of it: its frames are
 * appended as they arrive (`input_audio_buffer.append`), `input_audio_buffer.commit` ends it,
 * `conversation.item.input_audio_transcription.delta` events are partial results and
 * `…completed` the final one; a misfire is dropped with `input_audio_buffer.clear`.
 * Wire format: https://developers.openai.com/api/docs/guides/realtime-transcription and the
 * Realtime client/server event reference (https://platform.openai.com/docs/api-reference/realtime-client-events,
 * https://platform.openai.com/docs/api-reference/realtime-server-events). Self-hosted servers
 * speak it too (speaches serves `/v1/realtime?intent=transcription`).
 *
 * Not the SDK's `OpenAIRealtimeWS`: it always dials `wss:` and puts a `model` in the URL, which
 * opens a conversation session that refuses a transcription `session.update`, and it cannot
 * reach a plain-`ws:` local server. The `ws` client carries the same JSON events; the SDK's
 * types describe them. Herald's 16 kHz frames are resampled to the API's 24 kHz on the way.
 */
import { WebSocket, type RawData } from 'ws';
import type {
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemInputAudioTranscriptionDeltaEvent,
  ConversationItemInputAudioTranscriptionFailedEvent,
  InputAudioBufferCommittedEvent,
  RealtimeClientEvent,
  RealtimeErrorEvent,
} from 'openai/resources/realtime/realtime';
import { decodeWav, INPUT_SAMPLE_RATE } from '../audio.js';
import {
  sttFailed,
  type SpeechSegment,
  type SpeechStream,
  type StreamingSpeechToText,
  type TranscribeOptions,
} from './types.js';

/** The only PCM rate the Realtime API takes. */
export const REALTIME_PCM_RATE = 24_000;

/**
 * PCM bytes per `input_audio_buffer.append` (base64: 1 MiB). The API takes at most 15 MiB of audio
 * in one event (about 245 s of 24 kHz PCM once base64-encoded) and answers a bigger one with an
 * error naming no client event, which costs the whole connection; a 300 s voice note goes in pieces.
 */
export const APPEND_PCM_BYTES = 768 * 1024;

export interface RealtimeSttOptions {
  /** The API root (`https://api.openai.com/v1`, `http://127.0.0.1:8000/v1`); `/realtime` is added, http(s) becomes ws(s). */
  baseUrl: string;
  apiKey?: string | undefined;
  /** Transcription model, e.g. `gpt-realtime-whisper`, `gpt-4o-mini-transcribe`. */
  model: string;
  /** Connecting and configuring a session may take at most this long. */
  timeoutMs: number;
}

/** The transcription session's WebSocket URL for an API root. */
export function realtimeUrl(baseUrl: string): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/realtime`);
  url.protocol = url.protocol === 'http:' || url.protocol === 'ws:' ? 'ws:' : 'wss:';
  url.searchParams.set('intent', 'transcription');
  return url.toString();
}

/** 16 kHz → 24 kHz, linear, across frame boundaries (a frame's last outputs need the next frame's first sample). */
export class Upsampler {
  /** Input samples consumed so far, and the next output sample's index. */
  #inCount = 0;
  #outIndex = 0;
  #last = 0;

  push(pcm: Buffer): Buffer {
    const n = pcm.length >> 1;
    const at = (i: number) => (i < this.#inCount ? this.#last : pcm.readInt16LE((i - this.#inCount) * 2));
    const out: number[] = [];
    for (;;) {
      const x = (this.#outIndex * INPUT_SAMPLE_RATE) / REALTIME_PCM_RATE;
      const j = Math.floor(x);
      if (j + 1 >= this.#inCount + n) break;
      const a = at(j);
      const b = at(j + 1);
      out.push(Math.round(a + (b - a) * (x - j)));
      this.#outIndex++;
    }
    if (n > 0) this.#last = pcm.readInt16LE((n - 1) * 2);
    this.#inCount += n;
    const buf = Buffer.alloc(out.length * 2);
    out.forEach((v, i) => buf.writeInt16LE(v, i * 2));
    return buf;
  }

  /** What is left at the end: as many samples in all as resampling the whole at once gives. */
  flush(): Buffer {
    const total = Math.floor((this.#inCount * REALTIME_PCM_RATE) / INPUT_SAMPLE_RATE);
    const n = Math.max(0, total - this.#outIndex);
    this.#outIndex += n;
    const buf = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) buf.writeInt16LE(this.#last, i * 2);
    return buf;
  }
}

type ServerEvent =
  | ConversationItemInputAudioTranscriptionDeltaEvent
  | ConversationItemInputAudioTranscriptionCompletedEvent
  | ConversationItemInputAudioTranscriptionFailedEvent
  | InputAudioBufferCommittedEvent
  | RealtimeErrorEvent
  | { type: string; event_id?: string };

/** One utterance on the connection: open (audio going out), committed (waiting for its text), settled. */
class Segment implements SpeechSegment {
  itemId: string | null = null;
  text = '';
  state: 'open' | 'committed' | 'settled' | 'cancelled' = 'open';
  /** `input_audio_buffer.commit` went out (the segment may have settled since, by a timeout). */
  commitSent = false;
  readonly commitEventId: string;
  readonly #up = new Upsampler();
  readonly #conn: RealtimeConnection;
  readonly #partial: (text: string) => void;
  #resolve!: (text: string) => void;
  #reject!: (err: unknown) => void;
  readonly result: Promise<string>;

  constructor(conn: RealtimeConnection, partial: (text: string) => void, commitEventId: string) {
    this.#conn = conn;
    this.#partial = partial;
    this.commitEventId = commitEventId;
    this.result = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.result.catch(() => undefined);
  }

  push(pcm: Buffer): void {
    if (this.state !== 'open') return;
    this.#append(this.#up.push(pcm));
  }

  #append(audio: Buffer): void {
    for (let at = 0; at < audio.length; at += APPEND_PCM_BYTES) {
      const piece = audio.subarray(at, at + APPEND_PCM_BYTES);
      this.#conn.send({ type: 'input_audio_buffer.append', audio: piece.toString('base64') });
    }
  }

  finish(signal: AbortSignal): Promise<string> {
    if (this.state === 'open') {
      this.#append(this.#up.flush());
      this.state = 'committed';
      this.commitSent = true;
      this.#conn.send({ type: 'input_audio_buffer.commit', event_id: this.commitEventId });
    }
    if (signal.aborted) this.fail(this.#timeout());
    else signal.addEventListener('abort', () => this.fail(this.#timeout()), { once: true });
    return this.result;
  }

  cancel(): void {
    if (this.state !== 'open') return;
    this.state = 'cancelled';
    this.#conn.send({ type: 'input_audio_buffer.clear' });
  }

  delta(text: string): void {
    if (this.state === 'settled' || this.state === 'cancelled') return;
    this.text += text;
    this.#partial(this.text.trim());
  }

  done(text: string): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    this.#resolve(text.trim());
  }

  fail(err: unknown): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    this.#reject(err);
  }

  #timeout() {
    return sttFailed('openai-realtime', 'timeout', 'The realtime speech-to-text engine did not answer in time');
  }
}

/** The WebSocket of one voice session: opened at its first utterance, again after it drops. */
class RealtimeConnection implements SpeechStream {
  readonly #options: RealtimeSttOptions;
  readonly #language: string | undefined;
  #ws: WebSocket | null = null;
  #ready = false;
  #closed = false;
  /** Sent once the session is configured. */
  #queue: string[] = [];
  /**
   * Segments whose buffer the server has not yet answered for (`committed` or `cleared`), in the
   * order begun. The server handles events in order, so what it says about the input buffer (a
   * streaming model's deltas before the commit, the `committed` that names the item) is about
   * the first of them. A segment that timed out stays here, settled, so its events are dropped.
   */
  #pending: Segment[] = [];
  /**
   * Segments by the item the server committed them as. A settled one stays (an utterance that
   * timed out is abandoned, not forgotten), so a transcript that comes late is dropped rather
   * than given to the next utterance.
   */
  #items = new Map<string, Segment>();
  #next = 0;

  constructor(options: RealtimeSttOptions, language: string | undefined) {
    this.#options = options;
    this.#language = language;
  }

  begin(partial: (text: string) => void): SpeechSegment {
    if (this.#closed) throw sttFailed('openai-realtime', 'failed', 'The speech stream is closed');
    if (!this.#ws) this.#connect();
    const segment = new Segment(this, partial, `herald_commit_${++this.#next}`);
    this.#pending.push(segment);
    return segment;
  }

  close(): void {
    this.#closed = true;
    this.#drop(sttFailed('openai-realtime', 'failed', 'The voice session ended'));
  }

  send(event: RealtimeClientEvent): void {
    const data = JSON.stringify(event);
    if (this.#ready && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(data);
    else this.#queue.push(data);
  }

  #connect(): void {
    const { baseUrl, apiKey, model, timeoutMs } = this.#options;
    const ws = new WebSocket(realtimeUrl(baseUrl), {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      handshakeTimeout: timeoutMs,
    });
    this.#ws = ws;
    this.#ready = false;
    const configure: RealtimeClientEvent = {
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: REALTIME_PCM_RATE },
            transcription: { model, ...(this.#language ? { language: this.#language } : {}) },
            turn_detection: null,
          },
        },
      },
    };
    ws.on('open', () => {
      ws.send(JSON.stringify(configure));
      // Events are handled in order, so the audio queued meanwhile may follow at once.
      this.#ready = true;
      for (const data of this.#queue) ws.send(data);
      this.#queue = [];
    });
    ws.on('message', (data: RawData) => this.#event(data));
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      this.#drop(
        sttFailed('openai-realtime', 'status', `The realtime speech-to-text engine answered HTTP ${status}`),
        ws,
      );
    });
    ws.on('close', () =>
      this.#drop(
        sttFailed('openai-realtime', 'unreachable', 'The realtime speech-to-text engine cannot be reached'),
        ws,
      ),
    );
  }

  /** The connection is gone: every segment on it fails; the next utterance connects again. */
  #drop(err: unknown, ws = this.#ws): void {
    if (ws !== this.#ws) return;
    const segments = [...this.#pending, ...this.#items.values()];
    this.#pending = [];
    this.#items = new Map();
    this.#queue = [];
    this.#ws = null;
    this.#ready = false;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
    for (const s of segments) s.fail(err);
  }

  #event(data: RawData): void {
    let event: ServerEvent;
    try {
      event = JSON.parse(String(data)) as ServerEvent;
    } catch {
      return;
    }
    switch (event.type) {
      case 'input_audio_buffer.committed': {
        const e = event as InputAudioBufferCommittedEvent;
        // A cleared buffer was answered before this commit (the server keeps the order).
        while (this.#pending[0]?.state === 'cancelled') this.#pending.shift();
        const s = this.#pending[0];
        if (!s?.commitSent) return; // not a commit of ours
        this.#pending.shift();
        s.itemId = e.item_id;
        this.#items.set(e.item_id, s);
        return;
      }
      case 'input_audio_buffer.cleared': {
        if (this.#pending[0]?.state === 'cancelled') this.#pending.shift();
        return;
      }
      case 'conversation.item.input_audio_transcription.delta': {
        const e = event as ConversationItemInputAudioTranscriptionDeltaEvent;
        this.#segmentOf(e.item_id)?.delta(e.delta ?? '');
        return;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const e = event as ConversationItemInputAudioTranscriptionCompletedEvent;
        this.#items.get(e.item_id)?.done(e.transcript);
        return;
      }
      case 'conversation.item.input_audio_transcription.failed': {
        const e = event as ConversationItemInputAudioTranscriptionFailedEvent;
        this.#items
          .get(e.item_id)
          ?.fail(
            sttFailed(
              'openai-realtime',
              'failed',
              `The realtime transcription failed: ${e.error?.message ?? 'no reason'}`,
            ),
          );
        return;
      }
      case 'error': {
        const e = (event as RealtimeErrorEvent).error;
        const err = sttFailed('openai-realtime', 'status', `The realtime speech-to-text engine refused: ${e?.message}`);
        // An error about one commit fails that utterance; one about the session fails them all.
        // (One that timed out is only let go: no `committed` will come for it.)
        const s = this.#pending.find((x) => x.commitEventId === e?.event_id);
        if (s) {
          this.#pending = this.#pending.filter((x) => x !== s);
          s.fail(err);
        } else if (e?.event_id === undefined || e.event_id === null) this.#drop(err);
        return;
      }
    }
  }

  /**
   * The segment an item's events belong to: the one committed as it, else (a streaming model
   * sends deltas before the commit names the item) the one whose buffer the server is on.
   * A settled or cancelled segment ignores them.
   */
  #segmentOf(itemId: string): Segment | undefined {
    return this.#items.get(itemId) ?? this.#pending[0];
  }
}

export class OpenAiRealtimeSpeechToText implements StreamingSpeechToText {
  readonly name = 'openai-realtime';
  readonly #options: RealtimeSttOptions;

  constructor(options: RealtimeSttOptions) {
    this.#options = options;
  }

  async check(): Promise<void> {}

  stream(options: { language?: string | undefined } = {}): SpeechStream {
    return new RealtimeConnection(this.#options, options.language);
  }

  /** A whole WAV at once (partial transcripts of the batch kind): a session of one segment. */
  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    const pcm = decodeWav(wav);
    if (pcm.sampleRate !== INPUT_SAMPLE_RATE) {
      throw sttFailed(this.name, 'failed', `The realtime engine takes ${INPUT_SAMPLE_RATE} Hz audio here`);
    }
    const conn = new RealtimeConnection(this.#options, options.language);
    try {
      const segment = conn.begin(() => undefined);
      // In pieces, so the resampler never holds the whole clip as numbers.
      for (let at = 0; at < pcm.data.length; at += APPEND_PCM_BYTES) {
        segment.push(pcm.data.subarray(at, at + APPEND_PCM_BYTES));
      }
      return await segment.finish(AbortSignal.any([options.signal, AbortSignal.timeout(this.#options.timeoutMs)]));
    } finally {
      conn.close();
    }
  }
}
