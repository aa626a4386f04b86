/**
 * One voice session: the pipeline from microphone frames to spoken answers, independent of
 * the socket. Frames go through the turn detector (Silero VAD); each utterance goes, as WAV,
 * to speech-to-text; its transcript starts a chat turn through the host (or answers the
 * confirmation the turn is waiting for); the turn's tokens are cut into sentences and
 * spoken as they complete. Speech from the user while Herald is answering is a barge-in
 * once it has lasted `bargeInMinSpeechMs` (a click or a cough stops nothing): audio stops, the
 * turn is cancelled, and only what was heard is kept. It is checked on every speech window of
 * the utterance, so speech that began before the answer counts too. A user who goes on talking
 * after a pause is not answered in between: a transcript that arrives while the user speaks is
 * held and joined to the next one, and an answer cut before it was heard for
 * `CONTINUATION_GRACE_MS` gives its words back to the next utterance (one turn, one answer).
 * A cancelled turn (a typed `cancel`) stops its audio too (`voice_audio_stopped`).
 *
 * Failures of the engines never end the session: the user reads them as `error` events and,
 * when speech output is on, hears a short sentence saying so.
 */
import { randomUUID } from 'node:crypto';
import { HeraldError, isHeraldError } from '../core/index.js';
import { encodeWav, FRAME_BYTES, FRAME_MS, INPUT_SAMPLE_RATE, type Pcm } from './audio.js';
import { parseVoiceAnswer, type VoiceAnswer } from './confirm.js';
import { Speaker } from './speaker.js';
import { spokenConfirmation, spokenText } from './spoken.js';
import {
  CONTINUATION_GRACE_MS,
  type Speculation,
  type TurnEventLike,
  type VoiceDecision,
  type VoiceEngines,
  type VoiceHost,
} from './session-types.js';
import { turnCompleteness } from './end-of-turn.js';
import { isStreaming, type SpeechSegment, type SpeechStream } from './stt/types.js';
import { SentenceSplitter } from './tts/sentences.js';
import { TurnDetector, type TurnDetectorOptions, type Utterance } from './turn-detector.js';
import { SileroStream, VAD_WINDOW_MS } from './vad.js';
import type { VoiceEvent } from './events.js';

export * from './session-types.js';

/** Audio paused because the user spoke over it: a real interruption once words are heard, else it resumes. */
interface Interruption {
  turn: TurnState | null;
  turnId: string | null;
  /** The utterance that paused it: its transcript decides. */
  utteranceId: string;
  atMs: number;
  /** What had been heard of the answer when it paused. */
  spoken: string;
  /** When the answer began to be heard (null: not yet), and when the user's speech began (performance.now). */
  heardFrom: number | null;
  speechAt: number;
  /** Herald was speaking (not only working on the reply) when it paused. */
  speaking: boolean;
}

/** A transcript waiting for the end of the user's turn, with its speculative turn. */
interface PendingTurn {
  id: string;
  /** The turn's whole text (earlier words included). */
  said: string;
  joined: boolean;
  transcript: { utteranceId: string; text: string; startMs: number; endMs: number };
  /** Silence after the speech that ends the turn (from how complete the transcript reads). */
  needMs: number;
  /** The speculative turn; `starting` until the host answered. */
  spec: Speculation | undefined;
  starting: boolean;
  /** Not a turn: the answer to the confirmation `turnId` is waiting for, read once the user's turn is over. */
  answers?: string;
}

interface TurnState {
  id: string;
  /** What the user said (the turn's text), given back when the turn is cut before it was heard. */
  text: string;
  splitter: SentenceSplitter;
  ended: boolean;
  waiting: string | null;
}

export class VoiceSession {
  readonly threadId: string;
  readonly #engines: VoiceEngines;
  readonly #host: VoiceHost;
  readonly #detector: TurnDetector;
  readonly #speaker: Speaker | null;
  readonly #abort = new AbortController();
  #inputMuted = false;
  #outputMuted = false;
  #utterances = 0;
  readonly #idPrefix = `utt_${randomUUID().slice(0, 8)}_`;
  #utteranceId = '';
  #partialAt = 0;
  #partialBusy = false;
  /** Final transcripts, one at a time and in order. */
  #stt: Promise<void> = Promise.resolve();
  #turn: TurnState | null = null;
  #stopped = false;
  /** The text of the turn being started (until its message_start). */
  #starting = '';
  /** What the user said before a pause, held to be joined to what they say next. */
  #carry = '';
  /** The held transcript's utterance (answered alone if no more speech follows). */
  #held: { id: string; startMs: number; endMs: number } | null = null;
  /** Wall-clock start of the current utterance, and whether its barge-in was decided. */
  #speechAt = 0;
  #bargeChecked = true;
  #interruption: Interruption | null = null;
  #pending: PendingTurn | null = null;
  /** A streaming engine's stream, and the current utterance's segment of it (audio going out as it comes). */
  readonly #stream: SpeechStream | null;
  #segment: SpeechSegment | null = null;
  /** Speech so far in the current utterance (for a streamed partial's barge-in). */
  #speechMs = 0;

  constructor(engines: VoiceEngines, host: VoiceHost, threadId: string) {
    this.#engines = engines;
    this.#host = host;
    this.threadId = threadId;
    this.#stream = isStreaming(engines.stt) ? engines.stt.stream({ language: engines.options.language }) : null;
    this.#detector = new TurnDetector(
      new SileroStream(engines.vad),
      {
        speechStart: (atMs) => this.#speechStart(atMs),
        utterance: (u) => this.#utterance(u),
        misfire: (atMs) => {
          this.#segment?.cancel();
          this.#segment = null;
          // Too short to be speech: an answer it paused plays on.
          if (this.#interruption?.utteranceId === this.#utteranceId) this.#resumeAnswer();
          host.send({
            type: 'voice_activity',
            speaking: false,
            atMs,
            utteranceId: this.#utteranceId,
            dropped: 'too_short',
          });
          // A held transcript waited for more words that did not come: answer it now.
          this.#stt = this.#stt.then(() => this.#release());
        },
        progress: (audio, speechMs) => this.#progress(audio, speechMs),
        silence: (ms) => this.#decideEnd(ms),
        audio: (frames) => {
          for (const f of frames) this.#segment?.push(f);
        },
      },
      engines.options.detector,
    );
    const tts = engines.tts;
    this.#speaker = tts
      ? new Speaker(
          tts,
          {
            announce: (a) => host.send({ type: 'voice_audio', encoding: 'pcm_s16le', ...a }),
            frame: (f) => host.sendAudio(f),
            failed: (turnId, err) =>
              host.error(
                isHeraldError(err) ? err : new HeraldError('text_to_speech_failed', { cause: err }),
                turnId ? { turnId } : {},
              ),
            drained: (turnId) => host.send({ type: 'voice_audio_end', turnId }),
          },
          engines.options.outputLeadMs,
        )
      : null;
  }

  get detectorOptions(): TurnDetectorOptions {
    return this.#detector.options;
  }

  /** One frame of microphone audio (640 bytes); anything else is refused with `invalid_audio_frame`. */
  frame(data: Buffer): void {
    if (this.#stopped) return;
    if (data.length !== FRAME_BYTES) {
      this.#host.error(
        new HeraldError('invalid_audio_frame', {
          message: `An audio frame is ${FRAME_BYTES} bytes (${FRAME_MS} ms of 16-bit PCM at ${INPUT_SAMPLE_RATE} Hz, mono); got ${data.length}${data.length % 2 ? ' (an odd count: not whole samples)' : ''}. It was dropped.`,
          details: { bytes: data.length, expectedBytes: FRAME_BYTES },
        }),
      );
      return;
    }
    if (this.#inputMuted) return;
    this.#detector.push(data).catch((err: unknown) => this.#host.warn(err, 'voice activity detection failed'));
  }

  /** The user cancelled `turnId` (typed `cancel`): its audio stops now, queued sentences are dropped. */
  cancelled(turnId: string): void {
    if (this.#interruption?.turnId === turnId) this.#interruption = null;
    if (!this.#speaker?.holds(turnId)) return;
    const spoken = this.#speaker.stop(turnId);
    this.#host.send({ type: 'voice_audio_stopped', turnId, reason: 'cancelled', spoken });
  }

  mute(input: boolean | undefined, output: boolean | undefined): void {
    if (input !== undefined && input !== this.#inputMuted) {
      this.#inputMuted = input;
      if (input) {
        this.#detector.reset();
        this.#segment?.cancel();
        this.#segment = null;
      }
    }
    if (output !== undefined) {
      this.#outputMuted = output;
      if (output) {
        this.#interruption = null;
        this.#speaker?.stop(this.#turn?.id ?? null);
      }
    }
    this.#host.send({ type: 'voice_muted', input: this.#inputMuted, output: this.#outputMuted });
  }

  /** Ends the session: stops audio and pending speech-to-text. A running turn goes on as text. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#interruption = null;
    this.#pending?.spec?.discard();
    this.#pending = null;
    this.#abort.abort();
    this.#speaker?.stop(null);
    this.#detector.reset();
    this.#segment = null;
    this.#stream?.close();
  }

  /** An event of a turn this session started, as sent to the client. */
  onTurnEvent(e: TurnEventLike): void {
    if (e.type === 'message_start') {
      if (!e.turnId) return;
      this.#turn = {
        id: e.turnId,
        text: this.#starting,
        splitter: new SentenceSplitter(),
        ended: false,
        waiting: null,
      };
      return;
    }
    const turn = this.#turn;
    if (!turn || e.turnId !== turn.id) return;
    switch (e.type) {
      case 'token':
        for (const s of turn.splitter.push(e.text ?? '')) this.#say(turn.id, s);
        return;
      case 'confirm_request': {
        turn.waiting = e.requestId ?? null;
        const rest = turn.splitter.flush();
        if (rest) this.#say(turn.id, rest);
        // A short question; the exact action (the post's text) is in the confirm_request event.
        this.#say(turn.id, spokenConfirmation(e.action));
        return;
      }
      case 'confirm_result':
        if (turn.waiting === e.requestId) turn.waiting = null;
        return;
      case 'message_end': {
        turn.ended = true;
        turn.waiting = null;
        if (e.reason === 'cancelled') {
          // Cancelled by the user (a typed cancel, not a barge-in that already stopped it): stop talking now.
          this.cancelled(turn.id);
          return;
        }
        const rest = turn.splitter.flush();
        if (rest) this.#say(turn.id, rest);
        if (e.reason === 'error') this.#say(turn.id, `Sorry, that failed. ${e.error?.message ?? ''}`.trim());
        return;
      }
    }
  }

  #say(turnId: string | null, text: string): void {
    if (this.#outputMuted || this.#stopped || !this.#speaker) return;
    const spoken = spokenText(text);
    if (/\w/.test(spoken)) this.#speaker.say(turnId, spoken);
  }

  /** A signal for one speech-to-text request: its deadline, or the session stopping. */
  #deadline(): { signal: AbortSignal; done(): void } {
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    const timer = setTimeout(
      () => ctl.abort(new DOMException('speech-to-text deadline', 'TimeoutError')),
      this.#engines.options.sttTimeoutMs,
    );
    this.#abort.signal.addEventListener('abort', stop, { once: true });
    return {
      signal: ctl.signal,
      done: () => {
        clearTimeout(timer);
        this.#abort.signal.removeEventListener('abort', stop);
      },
    };
  }

  #speechStart(atMs: number): void {
    this.#utteranceId = `${this.#idPrefix}${++this.#utterances}`;
    this.#partialAt = 0;
    this.#host.send({ type: 'voice_activity', speaking: true, atMs, utteranceId: this.#utteranceId });
    this.#speechAt = performance.now();
    this.#bargeChecked = false;
    this.#speechMs = VAD_WINDOW_MS;
    this.#segment?.cancel();
    this.#segment = null;
    if (this.#stream && !this.#stopped) {
      const id = this.#utteranceId;
      const startMs = atMs;
      try {
        this.#segment = this.#stream.begin((text) => this.#streamed(id, startMs, text));
      } catch (err) {
        this.#host.warn(err, 'speech stream did not start');
      }
    }
    this.#bargeIn(VAD_WINDOW_MS);
  }

  /** A streaming engine revised the current utterance's transcript: a partial, and a first word may interrupt. */
  #streamed(id: string, startMs: number, text: string): void {
    if (id !== this.#utteranceId || this.#stopped || !text) return;
    this.#host.send({ type: 'transcript', utteranceId: id, text, final: false, startMs });
    if (/\w/.test(text)) this.#bargeIn(this.#speechMs, true);
  }

  /**
   * Barge-in, once the utterance has `bargeInMinSpeechMs` of speech (or a first transcribed
   * word, `word`) while Herald is speaking or still working on a reply the user is now talking
   * over. Checked on every speech window, so an answer that began while the user was already
   * speaking is caught. The audio pauses at once (`voice_paused`); the utterance's words make
   * it an interruption (`#interrupted`), none (a cough, a noise) resume it (`#resumeAnswer`).
   */
  #bargeIn(speechMs: number, word = false): void {
    const pending = this.#interruption;
    if (pending) {
      if (word && pending.utteranceId === this.#utteranceId) this.#interrupted();
      return;
    }
    if (this.#bargeChecked || (!word && speechMs < this.#engines.options.bargeInMinSpeechMs)) return;
    const turn = this.#turn;
    const speaking = this.#speaker?.active ?? false;
    const replying = !!turn && !turn.ended && !turn.waiting;
    if (!speaking && !replying) return;
    this.#bargeChecked = true;
    const turnId = turn?.id ?? null;
    const heardFrom = this.#speaker?.startedAt(turnId) ?? null;
    const spoken = this.#speaker?.pause(turnId) ?? '';
    const atMs = this.#detector.nowMs;
    this.#interruption = {
      turn,
      turnId,
      utteranceId: this.#utteranceId,
      atMs,
      spoken,
      heardFrom,
      speechAt: this.#speechAt,
      speaking,
    };
    this.#host.send({ type: 'voice_paused', turnId, atMs });
    if (word) this.#interrupted();
  }

  /**
   * The user really spoke over the answer: its audio stops for good, a running turn is
   * cancelled and keeps only what was heard. If the user's speech began before the answer
   * could be heard (`CONTINUATION_GRACE_MS`), the answer replied to half a sentence: it keeps
   * nothing and its words are joined to what the user says now.
   */
  #interrupted(): void {
    const i = this.#interruption;
    if (!i) return;
    this.#interruption = null;
    const { turn, turnId } = i;
    const replying = !!turn && !turn.ended && !turn.waiting;
    const ours = replying || (!!turn && !!this.#speaker?.holds(turn.id));
    this.#speaker?.stop(turnId);
    const continued =
      !!turn && ours && !turn.waiting && (i.heardFrom === null || i.heardFrom > i.speechAt - CONTINUATION_GRACE_MS);
    this.#host.send({
      type: 'voice_barge_in',
      turnId,
      spoken: continued ? '' : i.spoken,
      atMs: i.atMs,
      cancelled: replying,
      ...(continued ? { continued: true } : {}),
    });
    if (turn && replying) {
      turn.ended = true;
      this.#host.cancelTurn(turn.id);
    }
    if (turn && continued) this.#carry = joined(turn.text, this.#carry);
    if (turn && (replying || i.speaking) && !turn.waiting) this.#host.keepSpoken(turn.id, continued ? '' : i.spoken);
  }

  /** A false interruption (no words: a cough, a noise): the answer plays on from where it paused. */
  #resumeAnswer(): void {
    const i = this.#interruption;
    if (!i) return;
    this.#interruption = null;
    this.#host.send({ type: 'voice_resumed', turnId: i.turnId, atMs: this.#detector.nowMs });
    this.#speaker?.resume();
  }

  #progress(audio: () => Pcm, speechMs: number): void {
    this.#speechMs = speechMs;
    this.#bargeIn(speechMs);
    // The user goes on after a pause: the turn was not over.
    if (this.#pending && speechMs >= this.#detector.options.minSpeechMs) this.#dropPending();
    // A streaming engine's partials come by themselves (`#streamed`).
    const every = this.#stream ? 0 : this.#engines.options.partialIntervalMs;
    if (!every || this.#partialBusy || speechMs - this.#partialAt < every) return;
    this.#partialAt = speechMs;
    this.#partialBusy = true;
    const id = this.#utteranceId;
    const startMs = this.#detector.nowMs - speechMs;
    const deadline = this.#deadline();
    this.#engines.stt
      .transcribe(encodeWav(audio()), { signal: deadline.signal, language: this.#engines.options.language })
      .then((text) => {
        // A partial that lands after its final is stale.
        if (id !== this.#utteranceId || this.#stopped) return;
        this.#host.send({ type: 'transcript', utteranceId: id, text, final: false, startMs });
        // A first word over the answer interrupts it, however short the speech so far.
        if (/\w/.test(text)) this.#bargeIn(speechMs, true);
      })
      .catch(() => undefined)
      .finally(() => {
        deadline.done();
        this.#partialBusy = false;
      });
  }

  #utterance(u: Utterance): void {
    const id = this.#utteranceId;
    this.#utteranceId = `${id}:done`;
    this.#host.send({ type: 'voice_activity', speaking: false, atMs: u.endMs, utteranceId: id });
    if (u.capped) {
      const maxMs = this.#detector.options.maxUtteranceMs;
      const err = new HeraldError('utterance_too_long', {
        message: `You spoke for more than ${maxMs / 1000} s without a pause: the first ${maxMs / 1000} s are answered, the rest until you pause is ignored`,
        details: { maxMs },
      });
      this.#host.error(err, { id });
      this.#say(null, `That was too long for me; I only heard the first ${maxMs / 1000} seconds.`);
    }
    const segment = this.#segment;
    this.#segment = null;
    let transcribe: (signal: AbortSignal) => Promise<string>;
    if (segment) {
      // Streaming: the audio is already out; the engine finishes now, while earlier finals are read.
      const streamDeadline = this.#deadline();
      const text = segment.finish(streamDeadline.signal).finally(() => streamDeadline.done());
      text.catch(() => undefined);
      transcribe = () => text;
    } else {
      const wav = encodeWav(u.audio);
      transcribe = (signal) => this.#engines.stt.transcribe(wav, { signal, language: this.#engines.options.language });
    }
    this.#stt = this.#stt.then(() => this.#final(id, transcribe, u));
  }

  async #final(id: string, transcribe: (signal: AbortSignal) => Promise<string>, u: Utterance): Promise<void> {
    if (this.#stopped) return;
    const deadline = this.#deadline();
    let text: string;
    try {
      text = await transcribe(deadline.signal);
    } catch (err) {
      if (this.#stopped) return;
      // Unheard, the speech that paused an answer is taken for an interruption (the apology follows).
      if (this.#interruption?.utteranceId === id) this.#interrupted();
      const error = isHeraldError(err) ? err : new HeraldError('speech_to_text_failed', { cause: err });
      if (!isHeraldError(err)) this.#host.warn(err, 'speech-to-text failed');
      this.#host.error(error, { id });
      this.#say(
        null,
        "Sorry, I couldn't make out what you said: speech recognition is not answering. Please try again.",
      );
      return;
    } finally {
      deadline.done();
    }
    if (this.#stopped) return;
    // The speech that paused an answer: words make it an interruption, none resume the answer.
    if (this.#interruption?.utteranceId === id) {
      if (/\w/.test(text)) this.#interrupted();
      else this.#resumeAnswer();
    }
    // A transcript still waiting for its turn's end: these words continue it.
    if (this.#pending) this.#dropPending();
    // Words said before a pause the user went on from (held, or given back by a cut answer).
    const carried = this.#carry;
    this.#carry = '';
    this.#held = null;
    const said = /\w/.test(text) ? joined(carried, text) : carried;
    const base = {
      type: 'transcript',
      utteranceId: id,
      text,
      final: true,
      startMs: u.startMs,
      endMs: u.endMs,
    } as const;
    if (!/\w/.test(said)) return this.#host.send({ ...base, use: 'none' });
    if (this.#detector.speaking) {
      // The user is talking again: answering now would talk over them (or take half an answer
      // to a confirmation for the whole). Held for their next words.
      this.#carry = said;
      this.#held = { id, startMs: u.startMs, endMs: u.endMs };
      return this.#host.send({ ...base, use: 'held' });
    }
    if (this.#detector.options.pauseMs > 0) return this.#hold(said, !!carried, base);
    const waiting = this.#waitingTurn();
    if (waiting) return this.#answer(waiting, said, base, !!carried);
    this.#host.send({ ...base, use: 'turn', ...(carried ? { turnText: said } : {}) });
    await this.#begin(said, id);
  }

  /** The turn waiting for a spoken answer to its confirmation request, if any. */
  #waitingTurn(): TurnState | null {
    const turn = this.#turn;
    return turn && !turn.ended && turn.waiting ? turn : null;
  }

  /**
   * The user's whole turn answers the confirmation `turn` waits for ("yes", "no", "change the
   * time to ten"); `said` is every word of it, a pause in between included ("Yes, but" ...
   * "change the time to ten" is one answer, not a yes).
   */
  #answer(turn: TurnState, said: string, base: Extract<VoiceEvent, { type: 'transcript' }>, joinedText: boolean): void {
    const answer = parseVoiceAnswer(said);
    const whole = joinedText ? { turnText: said } : {};
    if (!answer) {
      this.#host.send({ ...base, use: 'not_an_answer', ...whole });
      this.#say(turn.id, 'Please say yes, no, or what to change.');
      return;
    }
    this.#host.send({ ...base, use: 'confirm', ...whole });
    this.#speaker?.stop(turn.id);
    if (turn.waiting && this.#host.answer(turn.id, turn.waiting, decisionOf(answer))) turn.waiting = null;
  }

  /**
   * The transcript of the speech before a pause: the turn's end is decided by the silence
   * that follows and how complete the words read (`#decideEnd`); meanwhile its turn runs
   * speculatively, unseen, so the answer is ready when the end is decided, and is dropped
   * without a trace if the user goes on.
   */
  async #hold(said: string, joinedText: boolean, t: PendingTurn['transcript']): Promise<void> {
    const o = this.#engines.options;
    const completeness = turnCompleteness(said);
    const needMs = Math.min(
      o.maxEndSilenceMs,
      completeness === 'complete'
        ? o.completeSilenceMs
        : completeness === 'incomplete'
          ? o.incompleteSilenceMs
          : this.#detector.options.endSilenceMs,
    );
    // An answer to a confirmation is held the same way, but nothing runs before it is read.
    const answers = this.#waitingTurn()?.id;
    const pending: PendingTurn = {
      id: t.utteranceId,
      said,
      joined: joinedText,
      transcript: t,
      needMs,
      spec: undefined,
      starting: !answers,
      ...(answers ? { answers } : {}),
    };
    this.#pending = pending;
    this.#host.send({ type: 'transcript', ...t, final: true, use: 'held' });
    if (answers) return this.#decideEnd(this.#detector.nowMs - t.endMs);
    const started = await this.#begin(said, t.utteranceId, true);
    pending.starting = false;
    if (this.#pending !== pending) return pending.spec?.discard() ?? started.spec?.discard();
    if (!started.ok) {
      this.#pending = null;
      return;
    }
    pending.spec = started.spec;
    this.#decideEnd(this.#detector.nowMs - t.endMs);
  }

  /** Every window of silence after speech: the pending turn is committed once the silence it needs has passed. */
  #decideEnd(silenceMs: number): void {
    const p = this.#pending;
    if (!p || p.starting || this.#detector.speaking || silenceMs < p.needMs || this.#stopped) return;
    this.#pending = null;
    if (p.answers) {
      const turn = this.#waitingTurn();
      if (turn?.id === p.answers) {
        this.#answer(turn, p.said, { type: 'transcript', ...p.transcript, final: true }, p.joined);
        return;
      }
      // The request was settled meanwhile (typed, or it expired): the words are a turn of their own.
    }
    this.#host.send({
      type: 'transcript',
      ...p.transcript,
      final: true,
      use: 'turn',
      ...(p.joined ? { turnText: p.said } : {}),
    });
    this.#starting = p.said;
    if (p.spec) p.spec.commit();
    else void this.#begin(p.said, p.id);
  }

  /** The user went on: the pending turn's speculation is dropped and its words carried to what follows. */
  #dropPending(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    p.spec?.discard();
    this.#carry = joined(p.said, this.#carry);
    this.#held = { id: p.id, startMs: p.transcript.startMs, endMs: p.transcript.endMs };
  }

  /** A held transcript whose continuation turned out to be no speech (a click): it is the turn. */
  async #release(): Promise<void> {
    const said = this.#carry;
    const held = this.#held;
    if (!said || !held || this.#stopped || this.#detector.speaking) return;
    this.#carry = '';
    this.#held = null;
    const t = { utteranceId: held.id, text: said, startMs: held.startMs, endMs: held.endMs };
    if (this.#detector.options.pauseMs > 0) return this.#hold(said, false, t);
    const waiting = this.#waitingTurn();
    if (waiting) return this.#answer(waiting, said, { type: 'transcript', ...t, final: true }, false);
    this.#host.send({ type: 'transcript', ...t, final: true, use: 'turn' });
    await this.#begin(said, held.id);
  }

  async #begin(said: string, id: string, speculative = false): Promise<{ ok: boolean; spec?: Speculation }> {
    if (!speculative) this.#starting = said;
    try {
      const spec = await this.#host.startTurn(said, id, this.threadId, speculative);
      return spec ? { ok: true, spec } : { ok: true };
    } catch (err) {
      this.#host.error(isHeraldError(err) ? err : new HeraldError('internal'), { id });
      if (!isHeraldError(err)) this.#host.warn(err, 'voice turn failed to start');
      return { ok: false };
    }
  }
}

function joined(a: string, b: string): string {
  return a && b ? `${a} ${b}` : a || b;
}

function decisionOf(answer: NonNullable<VoiceAnswer>): VoiceDecision {
  if (answer.confirmed) return answer.edit ? { confirmed: true, edit: answer.edit } : { confirmed: true };
  return answer.reason ? { confirmed: false, message: answer.reason } : { confirmed: false };
}
