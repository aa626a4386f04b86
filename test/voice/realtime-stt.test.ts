/**
 * Streaming speech-to-text (`VOICE_STT=openai-realtime`) against a local server that speaks
 * OpenAI's Realtime transcription protocol (test/fakes/realtime-transcription.ts): the engine
 * alone (a session of segments on one socket, partials while audio goes out, failures as
 * `speech_to_text_failed`, reconnecting after a drop), from the environment, and in a voice
 * session over `/v1/ws` with real espeak-ng speech streamed in real time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeraldError, loadConfig } from '../../core/index.js';
import {
  createVoiceEngines,
  encodeWav,
  FRAME_BYTES,
  framesOf,
  isStreaming,
  OpenAiRealtimeSpeechToText,
  realtimeUrl,
  resamplePcm,
  Upsampler,
  voiceConfigOf,
  type StreamingSpeechToText,
} from '../../voice/index.js';
import { startFakeRealtime, type FakeRealtime } from '../fakes/realtime-transcription.js';
import { quiet, speech } from '../fakes/speech-audio.js';
import { startVoice, utterance, VoiceTestEnv } from './voice-client.js';

let fake: FakeRealtime;
const env = new VoiceTestEnv();
beforeAll(async () => {
  [fake] = await Promise.all([startFakeRealtime({ msPerDelta: 250 }), env.start()]);
});
afterAll(async () => {
  await fake?.close();
  await env.close();
});

const engine = (baseUrl = fake.baseUrl) =>
  new OpenAiRealtimeSpeechToText({ baseUrl, apiKey: 'sk-rt', model: 'gpt-realtime-whisper', timeoutMs: 2000 });

async function failure(p: Promise<unknown>): Promise<{ code: string; reason: unknown; message: string }> {
  try {
    await p;
  } catch (err) {
    if (!isHeraldError(err)) throw err;
    return { code: err.code, reason: (err.details as { reason?: unknown }).reason, message: err.message };
  }
  throw new Error('expected a failure');
}

describe('16 kHz → 24 kHz for the Realtime API', () => {
  it('frame by frame gives the same samples as the whole signal at once', () => {
    const pcm = Buffer.alloc(16_000 * 2);
    for (let i = 0; i < 16_000; i++)
      pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)), i * 2);
    const up = new Upsampler();
    const pieces = framesOf(pcm, FRAME_BYTES).map((f) => up.push(f));
    const streamed = Buffer.concat([...pieces, up.flush()]);
    const whole = resamplePcm({ sampleRate: 16_000, data: pcm }, 24_000).data;
    expect(streamed.length).toBe(whole.length);
    expect(streamed.equals(whole)).toBe(true);
  });

  it('the session URL: /realtime?intent=transcription, ws for http and wss for https', () => {
    expect(realtimeUrl('http://127.0.0.1:8000/v1')).toBe('ws://127.0.0.1:8000/v1/realtime?intent=transcription');
    expect(realtimeUrl('https://api.openai.com/v1/')).toBe('wss://api.openai.com/v1/realtime?intent=transcription');
  });
});

describe('the openai-realtime engine', () => {
  it('a whole WAV: one transcription session, configured for 24 kHz PCM with no server turn detection', async () => {
    fake.script(['  Post the launch note. ']);
    const before = fake.sessions.length;
    const pcm = await speech('Post the launch note.');
    const text = await engine().transcribe(encodeWav({ sampleRate: 16_000, data: pcm }), {
      signal: AbortSignal.timeout(5000),
      language: 'en',
    });
    expect(text).toBe('Post the launch note.');
    const s = fake.sessions[before]!;
    expect(s.url).toBe('/v1/realtime?intent=transcription');
    expect(s.authorization).toBe('Bearer sk-rt');
    expect(s.updates).toEqual([
      {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24_000 },
            transcription: { model: 'gpt-realtime-whisper', language: 'en' },
            turn_detection: null,
          },
        },
      },
    ]);
    // All of the audio, at 24 kHz.
    expect(s.committed).toHaveLength(1);
    expect(s.committed[0]!.audio.length / 2).toBe(Math.floor(((pcm.length / 2) * 3) / 2));
  });

  it('a stream: utterances are segments of one socket, partials come while the audio goes out, a dropped one is cleared', async () => {
    fake.script(['Schedule a post about the summer sale.', 'What is scheduled for tomorrow?']);
    const before = fake.sessions.length;
    const stt = engine();
    expect(isStreaming(stt)).toBe(true);
    const stream = (stt as StreamingSpeechToText).stream();
    const partials: string[] = [];
    const first = stream.begin((t) => partials.push(t));
    const frames = framesOf(await speech('Schedule a post about the summer sale.'), FRAME_BYTES);
    for (const f of frames) first.push(f);
    // The partials arrive before the commit: the engine heard the audio as it came.
    await expect.poll(() => partials.length, { timeout: 5000 }).toBeGreaterThan(2);
    const beforeCommit = [...partials];
    expect(beforeCommit.every((p) => 'Schedule a post about the summer sale.'.startsWith(p))).toBe(true);
    expect(await first.finish(AbortSignal.timeout(5000))).toBe('Schedule a post about the summer sale.');
    // A misfire: begun, then dropped; it takes no reply from the script.
    const click = stream.begin(() => undefined);
    click.push(frames[10]!);
    click.cancel();
    const second = stream.begin(() => undefined);
    for (const f of framesOf(await speech('What is scheduled for tomorrow?'), FRAME_BYTES)) second.push(f);
    expect(await second.finish(AbortSignal.timeout(5000))).toBe('What is scheduled for tomorrow?');
    stream.close();
    expect(fake.sessions.length - before).toBe(1);
    const s = fake.sessions[before]!;
    expect(s.committed).toHaveLength(2);
    expect(s.cleared).toBe(1);
    expect(s.updates).toHaveLength(1);
  });

  it('failures are speech_to_text_failed: a failed transcription, no answer in time, an engine that is not there; a dropped socket is dialled again', async () => {
    const pcm = framesOf(await speech('Hello there.'), FRAME_BYTES);
    const stream = engine().stream();
    const say = (signal = AbortSignal.timeout(5000)) => {
      const seg = stream.begin(() => undefined);
      for (const f of pcm) seg.push(f);
      return seg.finish(signal);
    };
    fake.script([{ fail: 'Audio was unintelligible.' }]);
    expect(await failure(say())).toMatchObject({ code: 'speech_to_text_failed', reason: 'failed' });
    fake.script([{ hang: true }]);
    expect(await failure(say(AbortSignal.timeout(300)))).toMatchObject({
      code: 'speech_to_text_failed',
      reason: 'timeout',
    });
    // The server drops the socket: what was waiting fails, the next utterance connects again.
    fake.script([{ hang: true }, 'Hello there.']);
    const committed = fake.sessions.at(-1)!.committed.length;
    const waiting = say();
    await expect.poll(() => fake.sessions.at(-1)!.committed.length, { timeout: 5000 }).toBeGreaterThan(committed);
    const sessions = fake.sessions.length;
    fake.dropConnections();
    expect(await failure(waiting)).toMatchObject({ code: 'speech_to_text_failed', reason: 'unreachable' });
    expect(await say()).toBe('Hello there.');
    expect(fake.sessions.length).toBe(sessions + 1);
    stream.close();
    const nobody = engine('http://127.0.0.1:9/v1').stream();
    const seg = nobody.begin(() => undefined);
    seg.push(pcm[0]!);
    expect(await failure(seg.finish(AbortSignal.timeout(5000)))).toMatchObject({
      code: 'speech_to_text_failed',
      reason: 'unreachable',
    });
    nobody.close();
  });

  it('a transcript that comes after its utterance timed out is dropped, not given to the next utterance', async () => {
    const hello = framesOf(await speech('Hello there.'), FRAME_BYTES);
    const next = framesOf(await speech('What is scheduled for tomorrow?'), FRAME_BYTES);
    fake.script([{ text: 'Hello there.', finalDelayMs: 800 }, 'What is scheduled for tomorrow?']);
    const stream = engine().stream();
    const late = stream.begin(() => undefined);
    for (const f of hello) late.push(f);
    expect(await failure(late.finish(AbortSignal.timeout(150)))).toMatchObject({
      code: 'speech_to_text_failed',
      reason: 'timeout',
    });
    const partials: string[] = [];
    const second = stream.begin((t) => partials.push(t));
    second.push(next[0]!);
    // The first utterance's transcript goes out while the second is still being spoken.
    const s = fake.sessions.at(-1)!;
    await expect.poll(() => s.finished.length, { timeout: 5000 }).toBe(1);
    for (const f of next.slice(1)) second.push(f);
    expect(await second.finish(AbortSignal.timeout(5000))).toBe('What is scheduled for tomorrow?');
    expect(partials.every((p) => 'What is scheduled for tomorrow?'.startsWith(p))).toBe(true);
    expect(s.committed).toHaveLength(2);
    stream.close();
  });

  it('a 300 s voice note (over the 15 MiB one append may carry) goes out in appends of at most 1 MiB', async () => {
    // 300 s of a quiet 220 Hz tone at 16 kHz: 14.4 MB at 24 kHz, 19.2 MB as base64.
    const seconds = 300;
    const pcm = Buffer.alloc(seconds * 16_000 * 2);
    for (let i = 0; i < seconds * 16_000; i++)
      pcm.writeInt16LE(Math.round(2000 * Math.sin((2 * Math.PI * 220 * i) / 16_000)), i * 2);
    fake.script(['A long voice note.']);
    const before = fake.sessions.length;
    const long = new OpenAiRealtimeSpeechToText({
      baseUrl: fake.baseUrl,
      apiKey: 'sk-rt',
      model: 'gpt-realtime-whisper',
      timeoutMs: 20_000,
    });
    const text = await long.transcribe(encodeWav({ sampleRate: 16_000, data: pcm }), {
      signal: AbortSignal.timeout(30_000),
    });
    expect(text).toBe('A long voice note.');
    const s = fake.sessions[before]!;
    expect(s.committed).toHaveLength(1);
    expect(s.committed[0]!.audio.length / 2).toBe(seconds * 24_000);
    expect(s.largestAppend).toBeGreaterThan(0);
    expect(s.largestAppend).toBeLessThanOrEqual(1024 * 1024);
  }, 60_000);

  it('VOICE_STT=openai-realtime from the environment reaches VOICE_STT_URL with the OpenAI key and the streaming model', async () => {
    const engines = await createVoiceEngines(
      voiceConfigOf(
        loadConfig({
          env: {
            VOICE_STT: 'openai-realtime',
            VOICE_STT_URL: fake.baseUrl,
            OPENAI_API_KEY: 'sk-local',
            OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
          },
          readDotenv: false,
        }),
      ),
    );
    fake.script(['Post the launch note.']);
    const before = fake.sessions.length;
    const wav = encodeWav({ sampleRate: 16_000, data: await speech('Post the launch note.') });
    expect(engines?.stt.name).toBe('openai-realtime');
    expect(await engines!.stt.transcribe(wav, { signal: AbortSignal.timeout(5000) })).toBe('Post the launch note.');
    expect(fake.sessions[before]).toMatchObject({ authorization: 'Bearer sk-local' });
    expect(fake.sessions[before]!.updates[0]).toMatchObject({
      audio: { input: { transcription: { model: 'gpt-realtime-whisper' } } },
    });
  });
});

describe('a voice session with a streaming engine', () => {
  it('speech in real time: partial transcripts while the user speaks, then the final and the answer, on one engine socket', async () => {
    const url = await env.app({ pauseMs: 200 }, { stt: engine() });
    const c = await env.connect(url);
    const before = fake.sessions.length;
    await startVoice(c);
    fake.script(['Schedule a post about the summer sale.']);
    const from = c.events.length;
    await c.stream(await utterance('Schedule a post about the summer sale.', 111), true);
    const final = await c.next('final', (e) => e.type === 'transcript' && e.final === true && e.use === 'turn', from);
    expect(final.text).toBe('Schedule a post about the summer sale.');
    const partials = c.events.slice(from, c.events.indexOf(final)).filter((e) => e.type === 'transcript' && !e.final);
    expect(partials.length).toBeGreaterThan(1);
    expect(partials.every((p) => p.utteranceId === final.utteranceId)).toBe(true);
    // The echo handler's answer is spoken.
    await c.next('answer audio', (e) => e.type === 'voice_audio_end' && !!e.turnId, from);
    expect(fake.sessions.length - before).toBe(1);
    expect(fake.sessions.at(-1)!.committed).toHaveLength(1);
  });

  it('a pause then more speech: two segments, answered once with the whole sentence', async () => {
    const url = await env.app({ pauseMs: 200 }, { stt: engine() });
    const c = await env.connect(url);
    await startVoice(c);
    fake.script(['Schedule a post about', 'the summer sale for tomorrow.']);
    const from = c.events.length;
    await c.stream(
      Buffer.concat([
        quiet(300, 112),
        await speech('Schedule a post about'),
        quiet(700, 113),
        await speech('the summer sale for tomorrow.'),
        quiet(1200, 114),
      ]),
      true,
    );
    const turn = await c.next('turn', (e) => e.type === 'transcript' && e.use === 'turn', from);
    expect(turn.turnText).toBe('Schedule a post about the summer sale for tomorrow.');
    await c.next('answer audio', (e) => e.type === 'voice_audio_end' && !!e.turnId, from);
    await new Promise((r) => setTimeout(r, 800));
    const turns = c.events.slice(from).filter((e) => e.type === 'message_start');
    expect(turns).toHaveLength(1);
    expect(fake.sessions.at(-1)!.committed).toHaveLength(2);
  });
});
