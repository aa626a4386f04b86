/**
 * The outgoing half of a voice session: sentences in, paced audio frames out. Each sentence
 * is synthesised as soon as it arrives (the next one is ready while the current one plays),
 * announced with a `voice_audio` event stating its sample rate, and sent as 20 ms frames no
 * more than `leadMs` ahead of real time, so that stopping (barge-in) stops what the user hears
 * within that lead. It remembers when each sentence played, to tell what was actually heard.
 * It can pause (the user may be interrupting): nothing more is sent, the rest of the sentence
 * being played is kept from where the user stopped hearing it, and `resume` plays on from there.
 */
import { frameBytesAt, framesOf, FRAME_MS, type Pcm } from './audio.js';
import type { TextToSpeech } from './tts/types.js';

export interface SpeakerHost {
  /** Called before a sentence's frames. */
  announce(info: { turnId: string | null; text: string; sampleRate: number; frameBytes: number; frames: number }): void;
  frame(frame: Buffer): void;
  /** A sentence could not be synthesised (it still reached the client as text). */
  failed(turnId: string | null, err: unknown): void;
  /** Everything queued has been sent. */
  drained(turnId: string | null): void;
}

interface Queued {
  turnId: string | null;
  text: string;
  pcm: Promise<Pcm | null>;
}

interface Played {
  turnId: string | null;
  text: string;
  /** Wall-clock (performance.now) span during which the client plays it. */
  from: number;
  to: number;
  /** The sentence's frames and sample rate (to resume it from where a pause cut it). */
  frames?: Buffer[];
  sampleRate?: number;
}

export class Speaker {
  readonly #tts: TextToSpeech;
  readonly #host: SpeakerHost;
  readonly #leadMs: number;
  #queue: Queued[] = [];
  #frames: Buffer[] = [];
  #current: Played | null = null;
  #played: Played[] = [];
  /** When the audio sent so far will have finished playing. */
  #playhead = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Ends the pump waiting on `#timer`. */
  #wake: (() => void) | undefined;
  #abort = new AbortController();
  #running = false;
  #generation = 0;
  #paused = false;

  constructor(tts: TextToSpeech, host: SpeakerHost, leadMs: number) {
    this.#tts = tts;
    this.#host = host;
    this.#leadMs = leadMs;
  }

  /** True while audio is queued, being synthesised, or still playing at the client (paused included). */
  get active(): boolean {
    return this.#queue.length > 0 || this.#frames.length > 0 || this.#running || performance.now() < this.#playhead;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True while a sentence of `turnId` is queued, being sent, or still playing at the client. */
  holds(turnId: string | null): boolean {
    const now = performance.now();
    return (
      this.#queue.some((q) => q.turnId === turnId) ||
      (this.#current?.turnId === turnId && this.#current.to > now) ||
      this.#played.some((p) => p.turnId === turnId && p.to > now)
    );
  }

  /** Wall-clock time (performance.now) at which `turnId`'s first sentence began to play; null: not yet. */
  startedAt(turnId: string | null): number | null {
    const now = performance.now();
    const first = [...this.#played, ...(this.#current ? [this.#current] : [])].find((p) => p.turnId === turnId);
    return first && first.from <= now ? first.from : null;
  }

  say(turnId: string | null, text: string): void {
    // One signal per sentence, linked to the speaker's: clients may leave listeners on it.
    const stopped = this.#abort.signal;
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    stopped.addEventListener('abort', stop, { once: true });
    const pcm = this.#tts
      .synthesize(text, ctl.signal)
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) this.#host.failed(turnId, err);
        return null;
      })
      .finally(() => stopped.removeEventListener('abort', stop));
    this.#queue.push({ turnId, text, pcm });
    if (!this.#running && !this.#paused) void this.#run();
  }

  /**
   * Stops sending at once but keeps what is left: the queue, and the sentence being played
   * from the frame the client had reached (what it buffered beyond is dropped by the client on
   * `voice_paused`). Returns what the client has heard of `turnId` so far.
   */
  pause(turnId: string | null): string {
    const now = performance.now();
    const heard = this.#heard(turnId, now);
    if (this.#paused) return heard;
    this.#paused = true;
    this.#halt(now);
    const cur = this.#current;
    this.#current = null;
    if (cur?.frames && cur.sampleRate) {
      const total = cur.frames.length;
      const at = Math.max(0, Math.min(total, Math.floor((now - cur.from) / FRAME_MS)));
      const words = cur.text.split(/\s+/);
      const n = Math.floor((words.length * at) / Math.max(1, total));
      if (at > 0) this.#played.push({ turnId: cur.turnId, text: words.slice(0, n).join(' '), from: cur.from, to: now });
      if (at < total) {
        const pcm = { sampleRate: cur.sampleRate, data: Buffer.concat(cur.frames.slice(at)) };
        this.#queue.unshift({
          turnId: cur.turnId,
          text: words.slice(n).join(' ') || cur.text,
          pcm: Promise.resolve(pcm),
        });
      }
    }
    return heard;
  }

  /** Plays on from where `pause` stopped. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#running && this.#queue.length > 0) void this.#run();
  }

  /**
   * Stops at once: nothing more is sent. Returns what the client has heard of `turnId`'s
   * sentences by now (a sentence cut midway counts its words in proportion).
   */
  stop(turnId: string | null): string {
    const now = performance.now();
    const heard = this.#heard(turnId, now);
    this.#paused = false;
    this.#abort.abort();
    this.#abort = new AbortController();
    this.#queue = [];
    this.#halt(now);
    this.#current = null;
    this.#played = [];
    return heard;
  }

  /** Ends the pump: nothing more is sent (the queue is left as it is). */
  #halt(now: number): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
    this.#frames = [];
    this.#running = false;
    this.#playhead = Math.min(this.#playhead, now);
  }

  /** What the client has heard of `turnId`'s sentences by `now` (a sentence cut midway: its words in proportion). */
  #heard(turnId: string | null, now: number): string {
    const spans = [...this.#played, ...(this.#current ? [this.#current] : [])].filter((p) => p.turnId === turnId);
    const heard: string[] = [];
    for (const p of spans) {
      if (p.from >= now) break;
      if (p.to <= now) {
        heard.push(p.text);
        continue;
      }
      const words = p.text.split(/\s+/);
      const n = Math.floor((words.length * (now - p.from)) / (p.to - p.from));
      if (n > 0) heard.push(words.slice(0, n).join(' '));
      break;
    }
    return heard.join(' ');
  }

  async #run(): Promise<void> {
    this.#running = true;
    const generation = this.#generation;
    while (this.#queue.length > 0 && generation === this.#generation) {
      const next = this.#queue[0]!;
      const pcm = await next.pcm;
      if (generation !== this.#generation) return;
      this.#queue.shift();
      if (!pcm || pcm.data.length === 0) continue;
      const frameBytes = frameBytesAt(pcm.sampleRate);
      const frames = framesOf(pcm.data, frameBytes);
      this.#host.announce({
        turnId: next.turnId,
        text: next.text,
        sampleRate: pcm.sampleRate,
        frameBytes,
        frames: frames.length,
      });
      const now = performance.now();
      const from = Math.max(now, this.#playhead);
      this.#current = {
        turnId: next.turnId,
        text: next.text,
        from,
        to: from + frames.length * FRAME_MS,
        frames,
        sampleRate: pcm.sampleRate,
      };
      this.#frames = [...frames];
      await this.#pump(generation);
      if (generation !== this.#generation) return;
      const { frames: _f, sampleRate: _r, ...played } = this.#current;
      this.#played.push(played);
      this.#current = null;
      if (this.#queue.length === 0) this.#host.drained(next.turnId);
    }
    if (generation === this.#generation) this.#running = false;
  }

  /** Sends the current sentence's frames, keeping at most `leadMs` ahead of playback. */
  #pump(generation: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      const step = () => {
        this.#timer = undefined;
        if (generation !== this.#generation) return resolve();
        const now = performance.now();
        if (this.#playhead < now) this.#playhead = now;
        while (this.#frames.length > 0 && this.#playhead - now < this.#leadMs) {
          this.#host.frame(this.#frames.shift()!);
          this.#playhead += FRAME_MS;
        }
        if (this.#frames.length === 0) return resolve();
        this.#timer = setTimeout(step, Math.max(1, this.#playhead - now - this.#leadMs));
      };
      step();
    });
  }
}
