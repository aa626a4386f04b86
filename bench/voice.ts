/**
 * bench:voice — what Herald adds between the end of someone's speech and its answer, over
 * the real `/v1/ws` WebSocket on loopback with the real Silero VAD, and speech engines that
 * answer instantly (the scripted OpenAI-compatible speech server: `/audio/transcriptions` and
 * `/audio/speech`), so every millisecond measured is Herald's:
 *
 * (a) 50 utterances (espeak-ng speech, its silent edges trimmed, streamed in real time as
 *     20 ms frames) on one session: end of speech → final transcript event, → first audio
 *     frame of the answer, and Herald's overhead: the first minus the configured end-of-turn
 *     silence (the wait that is policy, not cost). The baseline side by side is that silence.
 *     Part of that overhead is the VAD's: Silero's probability stays high for a few windows
 *     after the voice stops, so it places the end of speech late. The table splits it off;
 *     what remains ("pipeline") is measured from where the VAD put the end of speech.
 * (b) concurrent sessions, doubling, each streaming utterances in real time: the most
 *     sessions for which the pipeline overhead stays under 100 ms at p99 (the VAD's lateness
 *     does not depend on load; it is reported beside).
 * (c) voice to voice with engines as slow as hosted ones (STT 150 ms, first token 200 ms):
 *     today's endpointing, speculative turns, and speculative turns with a streaming
 *     speech-to-text engine (the Realtime transcription protocol, test/fakes/realtime-transcription.ts:
 *     audio sent as it is spoken, the final transcript `STREAM_FINAL_MS` after the commit), in
 *     one run; then pause-then-continue and click trials.
 *
 * The client runs in the same process as the server (it only sends prepared frames).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import { createSession } from '../core/index.js';
import { authPlugin } from '../server/plugins/auth.js';
import { errorsPlugin } from '../server/plugins/errors.js';
import { wsRoutes, type ChatHandler } from '../server/ws/index.js';
import {
  FRAME_BYTES,
  framesOf,
  loadSileroModel,
  OpenAiRealtimeSpeechToText,
  OpenAiSpeechToText,
  OpenAiTextToSpeech,
  SPECULATIVE_PAUSE_MS,
  TURN_DETECTOR_DEFAULTS,
  VOICE_DEFAULTS,
  type VoiceEngines,
} from '../voice/index.js';
import { startApiEnv } from '../test/helpers/api-env.js';
import { speech } from '../test/fakes/speech-audio.js';
import { startFakeRealtime } from '../test/fakes/realtime-transcription.js';
import { startFakeSpeech } from '../test/fakes/speech.js';
import { percentile, printResult, printTable, round } from './lib.js';

const UTTERANCES = Number(process.env.BENCH_UTTERANCES ?? 50);
const END_SILENCE_MS = Number(process.env.BENCH_END_SILENCE_MS ?? TURN_DETECTOR_DEFAULTS.endSilenceMs);
const PER_SESSION = Number(process.env.BENCH_UTTERANCES_PER_SESSION ?? 3);
const MAX_SESSIONS = Number(process.env.BENCH_MAX_SESSIONS ?? 128);
const GOAL_P99_MS = 100;

const SENTENCES = [
  'Schedule a post about the summer sale.',
  'What is scheduled for tomorrow?',
  'Move it to Friday at three.',
  'Yes, go ahead.',
  'Draft a post about our launch.',
];

/** espeak-ng speech at 16 kHz with its silent edges cut, so "end of speech" is the last sound. */
async function trimmedSpeech(text: string): Promise<Buffer> {
  const pcm = await speech(text);
  const loud = (i: number) => Math.abs(pcm.readInt16LE(i * 2)) > 300;
  let a = 0;
  let b = pcm.length / 2 - 1;
  while (a < b && !loud(a)) a++;
  while (b > a && !loud(b)) b--;
  return pcm.subarray(a * 2, (b + 1) * 2);
}

function quiet(ms: number): Buffer {
  const out = Buffer.alloc(Math.round(16 * ms) * 2);
  for (let i = 0; i < out.length / 2; i++) out.writeInt16LE(Math.round(Math.random() * 160 - 80), i * 2);
  return out;
}

const voiceAudio = await Promise.all(SENTENCES.map(trimmedSpeech));

const [api, fake, vad] = await Promise.all([startApiEnv(), startFakeSpeech(), loadSileroModel()]);
fake.script(() => 'Sure. Done.');
const voice: VoiceEngines = {
  stt: new OpenAiSpeechToText({ baseUrl: fake.openaiUrl, apiKey: 'sk-bench', model: 'whisper-1', timeoutMs: 10_000 }),
  tts: new OpenAiTextToSpeech({
    baseUrl: fake.openaiUrl,
    apiKey: 'sk-bench',
    model: 'tts-1',
    voice: 'alloy',
    timeoutMs: 10_000,
  }),
  vad,
  options: { ...VOICE_DEFAULTS, detector: { endSilenceMs: END_SILENCE_MS } },
};
const apps: FastifyInstance[] = [];
async function serve(engines: VoiceEngines, handler?: ChatHandler): Promise<string> {
  const a = Fastify();
  await a.register(errorsPlugin);
  await a.register(authPlugin, { deps: api.deps.auth });
  await a.register(wsRoutes, { prefix: '/v1', deps: api.deps, voice: engines, ...(handler ? { handler } : {}) });
  apps.push(a);
  return `${(await a.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/v1/ws`;
}
let url = await serve(voice);
const instantUrl = url;

/**
 * Engine latencies of the measurement: speech-to-text answers in 150 ms, the model's
 * first token comes 200 ms after the turn starts (then "Sure. Done."). Only for part (c).
 */
const STT_MS = 150;
const FIRST_TOKEN_MS = 200;
/**
 * A streaming engine has heard the utterance by the time it is committed: what is left is the
 * last chunk's decoding and a round trip. 60 ms is an assumption (no provider publishes this
 * figure), a little less than half of the batch engine's 150 ms; `BENCH_STREAM_FINAL_MS` changes it.
 */
const STREAM_FINAL_MS = Number(process.env.BENCH_STREAM_FINAL_MS ?? 60);
const modelLike: ChatHandler = {
  async handle(_turn, sink, signal) {
    await new Promise((r) => setTimeout(r, FIRST_TOKEN_MS));
    if (signal.aborted) return;
    sink.token('Sure. ');
    sink.token('Done.');
  },
};

interface Sample {
  /** End of speech → final transcript event. */
  transcriptMs: number;
  /** End of speech → first audio frame of the answer. */
  audioMs: number;
  /** transcriptMs minus the end-of-turn silence. */
  overheadMs: number;
  /** How much later than the real end of speech the VAD put it (part of the overhead). */
  vadLateMs: number;
}

/** One voice session on its own connection, streaming utterances in real time, one after another. */
async function session(utterances: number, offset: number): Promise<Sample[]> {
  const { workspaceId, userId } = await api.env.newWorkspace();
  const s = await createSession(api.deps.db, userId, 'bench');
  const token = await api.deps.auth.signer.sign({ userId, sessionId: s.id, workspaceId });
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  let onTranscript: ((endMs: number) => void) | null = null;
  let onStarted: (() => void) | null = null;
  let onAudio: (() => void) | null = null;
  let waitingAudio = false;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      if (waitingAudio) {
        waitingAudio = false;
        onAudio?.();
      }
      return;
    }
    const e = JSON.parse(String(data)) as { type: string; final?: boolean; endMs?: number; error?: unknown };
    if (e.type === 'transcript' && e.final) {
      waitingAudio = true;
      onTranscript?.(e.endMs ?? NaN);
    } else if (e.type === 'voice_started') onStarted?.();
    else if (e.type === 'error') console.error('error event', e.error);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  ws.send(JSON.stringify({ type: 'voice_start', sampleRate: 16000 }));
  await started;
  await new Promise((r) => setTimeout(r, offset));
  /** Stream time (ms of audio sent) at the start of the current utterance. */
  let streamMs = 0;
  const samples: Sample[] = [];
  for (let u = 0; u < utterances; u++) {
    const said = voiceAudio[u % voiceAudio.length]!;
    const lead = quiet(300);
    const pcm = Buffer.concat([lead, said, quiet(END_SILENCE_MS + 700)]);
    const frames = framesOf(pcm, FRAME_BYTES);
    const endFrame = Math.ceil((lead.length + said.length) / FRAME_BYTES); // frames holding speech
    let speechEnd = 0;
    const transcript = new Promise<[number, number]>(
      (resolve) => (onTranscript = (endMs) => resolve([performance.now(), endMs])),
    );
    const audio = new Promise<number>((resolve) => (onAudio = () => resolve(performance.now())));
    const start = performance.now();
    for (let i = 0; i < frames.length; i++) {
      ws.send(frames[i]!, { binary: true });
      // The frame's audio ends when it would have been captured by a microphone: now.
      if (i + 1 === endFrame) speechEnd = performance.now();
      const due = start + (i + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
    const [[t, vadEndMs], a] = await Promise.all([transcript, audio]);
    const speechEndMs = streamMs + (lead.length + said.length) / 32;
    samples.push({
      transcriptMs: t - speechEnd,
      audioMs: a - speechEnd,
      overheadMs: t - speechEnd - END_SILENCE_MS,
      vadLateMs: vadEndMs - speechEndMs,
    });
    streamMs += frames.length * 20;
    // Let the answer's audio finish (it is paced in real time) so the next utterance is not a
    // barge-in; the microphone keeps sending quiet meanwhile, as a real one would.
    const gap = framesOf(quiet(600), FRAME_BYTES);
    const gapStart = performance.now();
    for (let i = 0; i < gap.length; i++) {
      ws.send(gap[i]!, { binary: true });
      const due = gapStart + (i + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
    streamMs += gap.length * 20;
  }
  ws.close();
  return samples;
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const pipeline = (samples: Sample[]) => samples.map((s) => s.overheadMs - s.vadLateMs);
const p = (a: number[], q: number) => round(percentile(sorted(a), q), 1);

// (c) voice-to-voice with realistic engine latencies: today's endpointing (the turn ends after
// END_SILENCE_MS of silence) against speculative turns (started at a 200 ms pause, committed by
// silence and how complete the transcript reads), in the same run.
const V2V_UTTERANCES = Number(process.env.BENCH_V2V_UTTERANCES ?? 20);
fake.script(() => ({ text: 'Schedule a post about the summer sale.', delayMs: STT_MS }));
const realistic = (detector: VoiceEngines['options']['detector']): VoiceEngines => ({
  ...voice,
  options: { ...VOICE_DEFAULTS, detector },
});
url = await serve(realistic({ endSilenceMs: END_SILENCE_MS, pauseMs: 0 }), modelLike);
const baseline = (await session(V2V_UTTERANCES, 0)).map((s) => s.audioMs);
url = await serve(realistic({ endSilenceMs: END_SILENCE_MS, pauseMs: SPECULATIVE_PAUSE_MS }), modelLike);
const speculative = (await session(V2V_UTTERANCES, 0)).map((s) => s.audioMs);
const realtime = await startFakeRealtime({ finalDelayMs: STREAM_FINAL_MS });
realtime.script(() => 'Schedule a post about the summer sale.');
url = await serve(
  {
    ...realistic({ endSilenceMs: END_SILENCE_MS, pauseMs: SPECULATIVE_PAUSE_MS }),
    stt: new OpenAiRealtimeSpeechToText({
      baseUrl: realtime.baseUrl,
      model: 'gpt-realtime-whisper',
      timeoutMs: 10_000,
    }),
  },
  modelLike,
);
const streaming = (await session(V2V_UTTERANCES, 0)).map((s) => s.audioMs);
await realtime.close();
url = await serve(realistic({ endSilenceMs: END_SILENCE_MS, pauseMs: SPECULATIVE_PAUSE_MS }), modelLike);

/** Pause-then-continue and click-during-answer trials on the speculative server: talk-overs and false interruptions. */
async function turnTakingTrials(trials: number): Promise<{ talkovers: number; falseInterruptions: number }> {
  const { workspaceId, userId } = await api.env.newWorkspace();
  const s = await createSession(api.deps.db, userId, 'bench');
  const token = await api.deps.auth.signer.sign({ userId, sessionId: s.id, workspaceId });
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const events: { type: string; at: number; turnId?: string }[] = [];
  ws.on('message', (data: RawData, isBinary: boolean) => {
    events.push(
      isBinary ? { type: '(audio)', at: performance.now() } : { ...JSON.parse(String(data)), at: performance.now() },
    );
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'voice_start', sampleRate: 16000 }));
  await new Promise((r) => setTimeout(r, 300));
  const send = async (pcm: Buffer) => {
    const frames = framesOf(pcm, FRAME_BYTES);
    const start = performance.now();
    for (let i = 0; i < frames.length; i++) {
      ws.send(frames[i]!, { binary: true });
      const due = start + (i + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    }
  };
  const first = await trimmedSpeech('Schedule a post about');
  const second = await trimmedSpeech('the summer sale for tomorrow.');
  const click = (await trimmedSpeech('Yes')).subarray(0, 60 * 32);
  let talkovers = 0;
  let falseInterruptions = 0;
  for (let t = 0; t < trials; t++) {
    fake.script([
      { text: 'Schedule a post about', delayMs: STT_MS },
      { text: 'the summer sale for tomorrow.', delayMs: STT_MS },
    ]);
    const from = events.length;
    await send(Buffer.concat([quiet(300), first, quiet(700), second]));
    const userDone = performance.now();
    // Any answer audio before the user finished is a talk-over.
    if (events.slice(from).some((e) => e.type === '(audio)' && e.at < userDone)) talkovers++;
    await send(quiet(1500));
    // A click while the answer plays must pause nothing.
    fake.script([{ text: 'Tell me more.', delayMs: STT_MS }]);
    const clickFrom = events.length;
    await send(Buffer.concat([quiet(300), await trimmedSpeech('Tell me more.'), quiet(700)]));
    await send(Buffer.concat([quiet(100), click, quiet(1200)]));
    if (events.slice(clickFrom).some((e) => e.type === 'voice_paused' || e.type === 'voice_barge_in'))
      falseInterruptions++;
  }
  ws.close();
  return { talkovers, falseInterruptions };
}
const trials = await turnTakingTrials(Number(process.env.BENCH_TURN_TRIALS ?? 3));
printTable(
  `Voice to voice: end of speech → first audio of the answer, STT ${STT_MS} ms, first token ${FIRST_TOKEN_MS} ms (ms)`,
  [
    { what: `today's endpointing (${END_SILENCE_MS} ms end silence)`, p50: p(baseline, 50), p95: p(baseline, 95) },
    { what: `speculative turns (${SPECULATIVE_PAUSE_MS} ms pause)`, p50: p(speculative, 50), p95: p(speculative, 95) },
    {
      what: `speculative + streaming STT (final ${STREAM_FINAL_MS} ms after commit)`,
      p50: p(streaming, 50),
      p95: p(streaming, 95),
    },
    { what: 'ratio (speculative / today)', p50: round(p(speculative, 50) / p(baseline, 50), 2), p95: '' },
    { what: 'ratio (streaming / today)', p50: round(p(streaming, 50) / p(baseline, 50), 2), p95: '' },
  ],
);
console.log(
  `pause-then-continue trials: ${trials.talkovers} talk-overs; click trials: ${trials.falseInterruptions} false interruptions`,
);
fake.script(() => 'Sure. Done.');
url = instantUrl;

// (a) one session, UTTERANCES utterances.
const one = await session(UTTERANCES, 0);
const overhead = one.map((s) => s.overheadMs);
printTable(`One session, ${UTTERANCES} utterances in real time, instant engines (ms after the end of speech)`, [
  { what: 'configured end-of-turn silence (baseline)', p50: END_SILENCE_MS, p99: END_SILENCE_MS },
  {
    what: 'final transcript event',
    p50: p(
      one.map((s) => s.transcriptMs),
      50,
    ),
    p99: p(
      one.map((s) => s.transcriptMs),
      99,
    ),
  },
  {
    what: 'first audio frame of the answer',
    p50: p(
      one.map((s) => s.audioMs),
      50,
    ),
    p99: p(
      one.map((s) => s.audioMs),
      99,
    ),
  },
  { what: "Herald's overhead (transcript − silence)", p50: p(overhead, 50), p99: p(overhead, 99) },
  {
    what: '  of which the VAD placed the end late by',
    p50: p(
      one.map((s) => s.vadLateMs),
      50,
    ),
    p99: p(
      one.map((s) => s.vadLateMs),
      99,
    ),
  },
  { what: '  pipeline (from where the VAD put the end)', p50: p(pipeline(one), 50), p99: p(pipeline(one), 99) },
]);

// (b) concurrent sessions, doubling until the pipeline's p99 passes the goal.
const levels: Record<string, number | string>[] = [];
let held = 0;
for (let n = 1; n <= MAX_SESSIONS; n *= 2) {
  const all = (await Promise.all(Array.from({ length: n }, (_, i) => session(PER_SESSION, (i * 1000) / n)))).flat();
  const o = pipeline(all);
  levels.push({
    sessions: n,
    utterances: all.length,
    pipeline_p50: p(o, 50),
    pipeline_p99: p(o, 99),
    overhead_p99: p(
      all.map((s) => s.overheadMs),
      99,
    ),
    first_audio_p99: p(
      all.map((s) => s.audioMs),
      99,
    ),
  });
  if (percentile(sorted(o), 99) >= GOAL_P99_MS) break;
  held = n;
}
printTable(`Concurrent sessions, ${PER_SESSION} utterances each (ms; goal: pipeline p99 < ${GOAL_P99_MS})`, levels);

for (const a of apps) await a.close();
await fake.close();
await api.close();
printResult({
  bench: 'voice',
  utterances: UTTERANCES,
  end_silence_ms: END_SILENCE_MS,
  transcript_p50_ms: p(
    one.map((s) => s.transcriptMs),
    50,
  ),
  transcript_p99_ms: p(
    one.map((s) => s.transcriptMs),
    99,
  ),
  first_audio_p50_ms: p(
    one.map((s) => s.audioMs),
    50,
  ),
  first_audio_p99_ms: p(
    one.map((s) => s.audioMs),
    99,
  ),
  overhead_p50_ms: p(overhead, 50),
  overhead_p99_ms: p(overhead, 99),
  vad_late_p50_ms: p(
    one.map((s) => s.vadLateMs),
    50,
  ),
  pipeline_p50_ms: p(pipeline(one), 50),
  pipeline_p99_ms: p(pipeline(one), 99),
  sessions: held,
  v2v_p50_ms: p(speculative, 50),
  v2v_p95_ms: p(speculative, 95),
  v2v_baseline_p50_ms: p(baseline, 50),
  v2v_baseline_p95_ms: p(baseline, 95),
  v2v_ratio: round(p(speculative, 50) / p(baseline, 50), 2),
  v2v_streaming_p50_ms: p(streaming, 50),
  v2v_streaming_p95_ms: p(streaming, 95),
  stream_final_ms: STREAM_FINAL_MS,
  talkovers: trials.talkovers,
  false_interruptions: trials.falseInterruptions,
});
process.exit(0);
