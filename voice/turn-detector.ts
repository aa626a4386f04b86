/**
 * Finds the user's turns in a stream of 20 ms frames with Silero VAD: speech starts when a
 * window's probability reaches `positiveThreshold`; the turn ends after `endSilenceMs` of
 * windows below `negativeThreshold` (in between, nothing changes: hysteresis).
 *
 * The silence is counted from the last audible frame of the last speech window, not from
 * the window's end: Silero's probability stays high for a window or three after a voice
 * stops, so counting from where it falls would make every turn that much longer than the
 * configured silence. "Audible" is a frame's RMS above four times the noise floor measured
 * in the frames before the speech (and above -48 dBFS); the end is moved back at most
 * `MAX_END_REFINE_MS`, and never past a window the model heard as speech. The utterance
 * handed on starts `preSpeechMs` before the first speech window, so soft onsets are kept.
 * Utterances shorter than `minSpeechMs` of speech are dropped as misfires (a cough, a click).
 * Speech lasting `maxUtteranceMs` is cut there (the audio handed on is at most that long) and
 * handed on as `capped`; what follows it is ignored until the next end-of-turn silence.
 *
 * Times are stream times: milliseconds of audio received since the session started.
 */
import { FRAME_BYTES, FRAME_MS, INPUT_SAMPLE_RATE, pcm16ToFloat32, type Pcm } from './audio.js';
import { type SileroStream, VAD_WINDOW_MS, VAD_WINDOW_SAMPLES } from './vad.js';

export interface TurnDetectorOptions {
  /** Probability at or above which a window is speech. Default 0.5. */
  positiveThreshold: number;
  /** Probability below which a window is silence (end-of-turn counting). Default 0.35. */
  negativeThreshold: number;
  /** Audio kept from before speech was detected. Default 300 ms. */
  preSpeechMs: number;
  /** Silence that ends a turn. Default 600 ms. */
  endSilenceMs: number;
  /** Speech shorter than this is not a turn. Default 150 ms. */
  minSpeechMs: number;
  /** Longest utterance handed to speech-to-text. Default 30 s. */
  maxUtteranceMs: number;
  /**
   * Speculative turns: the speech so far is handed on after this much silence (a pause, maybe
   * the end), and `silence` reports the silence after it, so the session decides the end of
   * the turn. 0: utterances end at `endSilenceMs` (no speculation). Default 0 here; Herald's configuration
   * turns it on (`SPECULATIVE_PAUSE_MS`).
   */
  pauseMs: number;
}

export const TURN_DETECTOR_DEFAULTS: TurnDetectorOptions = Object.freeze({
  positiveThreshold: 0.5,
  negativeThreshold: 0.35,
  preSpeechMs: 300,
  endSilenceMs: 600,
  minSpeechMs: 150,
  maxUtteranceMs: 30_000,
  pauseMs: 0,
});

export interface Utterance {
  audio: Pcm;
  /** Stream time of the first speech window. */
  startMs: number;
  /** Stream time at which the last speech window ended. */
  endMs: number;
  /** Cut at `maxUtteranceMs`. */
  capped: boolean;
}

export interface TurnDetectorEvents {
  speechStart(atMs: number): void;
  /** A whole utterance (`capped`: cut at the cap, the rest is being ignored). */
  utterance(u: Utterance): void;
  /** Speech so short it was dropped. */
  misfire(atMs: number): void;
  /** While speaking, every window: the audio so far (for partial transcripts). */
  progress?(audioSoFar: () => Pcm, speechMs: number): void;
  /** After an utterance, every window until speech starts again: the silence since its audible end. */
  silence?(silenceMs: number): void;
  /**
   * The utterance's audio as it comes, for engines that transcribe while the user speaks: the
   * pre-speech padding right after `speechStart`, then each frame while speaking.
   */
  audio?(frames: Buffer[]): void;
}

type State = 'idle' | 'speaking' | 'overflow';

/** How far back from the last speech window's end the audible end of speech may be placed. */
export const MAX_END_REFINE_MS = 160;
/** -48 dBFS: quieter frames are never "audible", whatever the noise floor. */
const MIN_AUDIBLE_RMS = 0.004;
/** Frames whose loudness is remembered (covers the refinement span and a window). */
const RECENT_FRAMES = Math.ceil((MAX_END_REFINE_MS + 64) / 20);

function rms(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / samples.length);
}

export class TurnDetector {
  readonly options: TurnDetectorOptions;
  readonly #vad: SileroStream;
  readonly #on: TurnDetectorEvents;
  #state: State = 'idle';
  /** Samples received so far. */
  #samples = 0;
  readonly #window = new Float32Array(VAD_WINDOW_SAMPLES);
  #windowFill = 0;
  /** Frames before speech (pre-speech padding), newest last. */
  #pre: Buffer[] = [];
  #frames: Buffer[] = [];
  #startMs = 0;
  #lastSpeechEndMs = 0;
  #speechMs = 0;
  #silenceMs = 0;
  /** The last frames' end times and loudness, newest last. */
  #recent: Array<{ endMs: number; rms: number }> = [];
  /** Loudness of the frames before speech, newest last (for the noise floor). */
  #idleRms: number[] = [];
  #audibleRms = MIN_AUDIBLE_RMS;
  /** Where the current silence started (the audible end of the last speech window); null while speech goes on. */
  #audibleEndMs: number | null = null;
  /** The audible end of the last utterance handed on (silence is reported from it); null while speaking. */
  #utteranceEndMs: number | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(vad: SileroStream, on: TurnDetectorEvents, options: Partial<TurnDetectorOptions> = {}) {
    this.options = { ...TURN_DETECTOR_DEFAULTS, ...options };
    this.#vad = vad;
    this.#on = on;
  }

  get speaking(): boolean {
    return this.#state === 'speaking';
  }

  /** Stream time now (ms of audio received). */
  get nowMs(): number {
    return (this.#samples / INPUT_SAMPLE_RATE) * 1000;
  }

  /** Takes one 640-byte frame; frames are analysed in the order given. Resolves when this one is. */
  push(frame: Buffer): Promise<void> {
    this.#queue = this.#queue.then(() => this.#frame(frame));
    return this.#queue;
  }

  /** Forgets any speech in progress (mute, stop) without handing it on. */
  reset(): void {
    this.#queue = this.#queue.then(() => {
      this.#state = 'idle';
      this.#utteranceEndMs = null;
      this.#frames = [];
      this.#pre = [];
      this.#windowFill = 0;
      this.#vad.reset();
    });
  }

  async #frame(frame: Buffer): Promise<void> {
    if (frame.length !== FRAME_BYTES) throw new Error(`a frame is ${FRAME_BYTES} bytes`);
    const floats = pcm16ToFloat32(frame);
    this.#samples += floats.length;
    const loudness = rms(floats);
    this.#recent.push({ endMs: this.nowMs, rms: loudness });
    if (this.#recent.length > RECENT_FRAMES) this.#recent.shift();
    if (this.#state !== 'speaking') {
      this.#idleRms.push(loudness);
      if (this.#idleRms.length > 50) this.#idleRms.shift();
    }
    if (this.#state === 'speaking') {
      this.#frames.push(frame);
      this.#on.audio?.([frame]);
    } else {
      this.#pre.push(frame);
      const keep = Math.ceil(this.options.preSpeechMs / FRAME_MS) + Math.ceil(VAD_WINDOW_MS / FRAME_MS);
      if (this.#pre.length > keep) this.#pre.splice(0, this.#pre.length - keep);
    }
    let at = 0;
    while (at < floats.length) {
      const n = Math.min(floats.length - at, VAD_WINDOW_SAMPLES - this.#windowFill);
      this.#window.set(floats.subarray(at, at + n), this.#windowFill);
      this.#windowFill += n;
      at += n;
      if (this.#windowFill === VAD_WINDOW_SAMPLES) {
        this.#windowFill = 0;
        // Stream time at the window's end: the samples after it in this frame are not in it yet.
        const endMs = ((this.#samples - (floats.length - at)) / INPUT_SAMPLE_RATE) * 1000;
        this.#decide(await this.#vad.probability(this.#window), endMs);
      }
    }
  }

  #decide(p: number, endMs: number): void {
    const o = this.options;
    const speech = p >= o.positiveThreshold;
    const silence = p < o.negativeThreshold;
    if (this.#state === 'idle') {
      if (!speech) {
        if (this.#utteranceEndMs !== null) this.#on.silence?.(endMs - this.#utteranceEndMs);
        return;
      }
      this.#state = 'speaking';
      this.#audibleRms = this.#audibleThreshold();
      this.#audibleEndMs = null;
      this.#startMs = endMs - VAD_WINDOW_MS;
      this.#lastSpeechEndMs = endMs;
      this.#speechMs = VAD_WINDOW_MS;
      this.#silenceMs = 0;
      // Pre-speech padding: the frames covering the window plus `preSpeechMs` before it.
      const keep = Math.ceil((o.preSpeechMs + VAD_WINDOW_MS) / FRAME_MS);
      this.#frames = this.#pre.slice(-keep);
      this.#pre = [];
      this.#on.speechStart(this.#startMs);
      this.#on.audio?.([...this.#frames]);
      return;
    }
    if (this.#state === 'overflow') {
      this.#silenceMs = silence ? this.#silenceMs + VAD_WINDOW_MS : speech ? 0 : this.#silenceMs;
      if (this.#silenceMs >= o.endSilenceMs) this.#state = 'idle';
      return;
    }
    if (speech) {
      this.#speechMs += VAD_WINDOW_MS;
      this.#lastSpeechEndMs = endMs;
    }
    // Silence runs from the last audible frame of the last speech window; a window in between
    // the thresholds does not end the turn, but does not restart the count either.
    // Placed once, at the first window after the speech, while its frames are still remembered.
    if (speech) this.#audibleEndMs = null;
    else this.#audibleEndMs ??= this.#audibleEnd();
    const audibleEndMs = this.#audibleEndMs ?? endMs;
    this.#silenceMs = speech ? 0 : endMs - audibleEndMs;
    const endsAt = o.pauseMs > 0 ? o.pauseMs : o.endSilenceMs;
    if (!silence && !speech && this.#silenceMs >= endsAt) return this.#progressed();
    if (this.#silenceMs >= endsAt) {
      this.#state = 'idle';
      if (this.#speechMs < o.minSpeechMs) {
        this.#frames = [];
        this.#on.misfire(this.#lastSpeechEndMs);
        return;
      }
      this.#handOn(false, audibleEndMs);
      this.#utteranceEndMs = audibleEndMs;
      this.#on.silence?.(endMs - audibleEndMs);
      return;
    }
    // The cap counts speech from its start, not the padding before it nor a closing pause.
    if (this.#lastSpeechEndMs - this.#startMs >= o.maxUtteranceMs) {
      this.#handOn(true, endMs);
      this.#state = 'overflow';
      this.#silenceMs = 0;
      return;
    }
    this.#progressed();
  }

  /** Four times the noise floor (the median loudness of the frames before the speech; their older half, clear of the onset). */
  #audibleThreshold(): number {
    const before = this.#idleRms.slice(0, Math.max(1, this.#idleRms.length - Math.ceil(VAD_WINDOW_MS / FRAME_MS) - 2));
    this.#idleRms = [];
    const sorted = [...before].sort((a, b) => a - b);
    const floor = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : 0;
    return Math.max(MIN_AUDIBLE_RMS, floor * 4);
  }

  /** End time of the last audible frame up to the last speech window's end, at most `MAX_END_REFINE_MS` earlier. */
  #audibleEnd(): number {
    const last = this.#lastSpeechEndMs;
    const earliest = last - MAX_END_REFINE_MS;
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const f = this.#recent[i]!;
      if (f.endMs > last) continue;
      if (f.endMs <= earliest) break;
      if (f.rms >= this.#audibleRms) return f.endMs;
    }
    return earliest;
  }

  #progressed(): void {
    this.#on.progress?.(() => ({ sampleRate: INPUT_SAMPLE_RATE, data: Buffer.concat(this.#frames) }), this.#speechMs);
  }

  #handOn(capped: boolean, endMs: number): void {
    const frames = this.#frames;
    this.#frames = [];
    // Keep a little of the trailing silence (a natural ending), not all of it.
    const trailing = capped ? 0 : Math.max(0, Math.floor((this.#silenceMs - 200) / FRAME_MS));
    const kept = capped
      ? frames.slice(0, Math.ceil(this.options.maxUtteranceMs / FRAME_MS))
      : trailing > 0
        ? frames.slice(0, Math.max(1, frames.length - trailing))
        : frames;
    this.#on.utterance({
      audio: { sampleRate: INPUT_SAMPLE_RATE, data: Buffer.concat(kept) },
      startMs: this.#startMs,
      endMs,
      capped,
    });
  }
}
