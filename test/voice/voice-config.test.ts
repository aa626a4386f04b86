/**
 * The voice engines `npm start` builds from the environment (loadConfig → voiceConfigOf →
 * createVoiceEngines, as server/runtime.ts does), pointed at a local server that speaks
 * OpenAI's `/audio/transcriptions` wire format. Audio meant for a local server must reach it,
 * never the cloud: `VOICE_STT_URL` first, then `OPENAI_BASE_URL` / `GROQ_BASE_URL`. The turn-taking
 * settings reach the session options, and contradicting ones stop start-up with `config_invalid`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeraldError, loadConfig } from '../../core/index.js';
import { createVoiceEngines, encodeWav, voiceConfigOf, type VoiceEngines } from '../../voice/index.js';
import { speech } from '../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../fakes/speech.js';

let fake: FakeSpeech;
beforeAll(async () => {
  fake = await startFakeSpeech({ fallback: 'post the launch note' });
});
afterAll(async () => {
  await fake?.close();
});

/** The engines `npm start` would build with exactly `env` (no .env file, no process env). */
async function enginesFor(env: Record<string, string>): Promise<VoiceEngines> {
  const engines = await createVoiceEngines(voiceConfigOf(loadConfig({ env, readDotenv: false })));
  if (!engines) throw new Error('no voice engines for this environment');
  return engines;
}

async function transcribeWith(env: Record<string, string>) {
  const engines = await enginesFor(env);
  const before = fake.transcriptions.length;
  const wav = encodeWav({ sampleRate: 16_000, data: await speech('Post the launch note.') });
  const text = await engines.stt.transcribe(wav, { signal: AbortSignal.timeout(5000) });
  return { text, engine: engines.stt.name, request: fake.transcriptions[before] };
}

describe('speech-to-text endpoints from the environment', () => {
  it('VOICE_STT=openai with VOICE_STT_URL sends the audio there (with the OpenAI key), not to the cloud', async () => {
    const out = await transcribeWith({
      VOICE_STT: 'openai',
      VOICE_STT_URL: fake.openaiUrl,
      OPENAI_API_KEY: 'sk-local',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    });
    expect(out.engine).toBe('openai');
    expect(out.text).toBe('post the launch note');
    expect(out.request).toMatchObject({
      path: '/v1/audio/transcriptions',
      model: 'whisper-1',
      authorization: 'Bearer sk-local',
    });
  });

  it('VOICE_STT=openai without VOICE_STT_URL uses OPENAI_BASE_URL (set alone, no key, for local servers)', async () => {
    const out = await transcribeWith({ VOICE_STT: 'openai', OPENAI_BASE_URL: fake.openaiUrl });
    expect(out.text).toBe('post the launch note');
    expect(out.request?.path).toBe('/v1/audio/transcriptions');
  });

  it('VOICE_STT=groq uses GROQ_BASE_URL, and VOICE_STT_URL over it', async () => {
    const viaBase = await transcribeWith({ VOICE_STT: 'groq', GROQ_API_KEY: 'gsk-local', GROQ_BASE_URL: fake.groqUrl });
    expect(viaBase.engine).toBe('groq');
    expect(viaBase.request).toMatchObject({
      path: '/openai/v1/audio/transcriptions',
      model: 'whisper-large-v3-turbo',
      authorization: 'Bearer gsk-local',
    });
    const viaUrl = await transcribeWith({
      VOICE_STT: 'groq',
      GROQ_API_KEY: 'gsk-local',
      GROQ_BASE_URL: 'http://127.0.0.1:9',
      VOICE_STT_URL: fake.groqUrl,
      VOICE_STT_MODEL: 'distil-whisper',
    });
    expect(viaUrl.request).toMatchObject({ path: '/openai/v1/audio/transcriptions', model: 'distil-whisper' });
  });

  it('whisper-server listens at VOICE_STT_URL', async () => {
    const out = await transcribeWith({ VOICE_STT: 'whisper-server', VOICE_STT_URL: fake.whisperUrl });
    expect(out.text).toBe('post the launch note');
    expect(out.request?.path).toBe('/inference');
  });
});

describe('turn-taking settings from the environment', () => {
  it('defaults: speculative turns at a 200 ms pause, 400/1500 ms for finished/unfinished turns, 250 ms of speech to barge in', async () => {
    const { options } = await enginesFor({ VOICE_STT: 'whisper-server', VOICE_STT_URL: fake.whisperUrl });
    expect(options).toMatchObject({
      completeSilenceMs: 400,
      incompleteSilenceMs: 1500,
      maxEndSilenceMs: 1500,
      bargeInMinSpeechMs: 250,
      detector: { pauseMs: 200, endSilenceMs: 600 },
    });
  });

  it('each VOICE_* turn setting reaches the session options', async () => {
    const { options } = await enginesFor({
      VOICE_STT: 'whisper-server',
      VOICE_STT_URL: fake.whisperUrl,
      VOICE_SPECULATIVE_PAUSE_MS: '250',
      VOICE_COMPLETE_SILENCE_MS: '350',
      VOICE_INCOMPLETE_SILENCE_MS: '1200',
      VOICE_MAX_END_SILENCE_MS: '1400',
      VOICE_BARGE_IN_MIN_SPEECH_MS: '300',
    });
    expect(options).toMatchObject({
      completeSilenceMs: 350,
      incompleteSilenceMs: 1200,
      maxEndSilenceMs: 1400,
      bargeInMinSpeechMs: 300,
      detector: { pauseMs: 250 },
    });
    const off = await enginesFor({
      VOICE_STT: 'whisper-server',
      VOICE_STT_URL: fake.whisperUrl,
      VOICE_SPECULATIVE_PAUSE_MS: '0',
    });
    expect(off.options.detector.pauseMs).toBe(0);
  });

  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig({ env: { VOICE_STT: 'whisper-server', ...env }, readDotenv: false });
    } catch (err) {
      if (!isHeraldError(err) || err.code !== 'config_invalid') throw err;
      return (err.details as { problems: { variable: string; problem: string }[] }).problems;
    }
    return [];
  };

  it('bad values and settings that contradict each other stop start-up with a typed config error naming the variable', () => {
    expect(problemsOf({ VOICE_BARGE_IN_MIN_SPEECH_MS: 'soon' }).map((p) => p.variable)).toEqual([
      'VOICE_BARGE_IN_MIN_SPEECH_MS',
    ]);
    expect(problemsOf({ VOICE_SPECULATIVE_PAUSE_MS: '-5' }).map((p) => p.variable)).toEqual([
      'VOICE_SPECULATIVE_PAUSE_MS',
    ]);
    // The pause must come before the shortest end of a turn.
    expect(problemsOf({ VOICE_SPECULATIVE_PAUSE_MS: '500' })).toEqual([
      expect.objectContaining({ variable: 'VOICE_SPECULATIVE_PAUSE_MS', problem: expect.stringContaining('400 ms') }),
    ]);
    expect(problemsOf({ VOICE_COMPLETE_SILENCE_MS: '150' }).map((p) => p.variable)).toEqual([
      'VOICE_COMPLETE_SILENCE_MS',
    ]);
    // A finished-sounding turn cannot wait longer than an unfinished one; the bound is not below either.
    expect(problemsOf({ VOICE_INCOMPLETE_SILENCE_MS: '300' }).map((p) => p.variable)).toEqual([
      'VOICE_INCOMPLETE_SILENCE_MS',
    ]);
    expect(problemsOf({ VOICE_MAX_END_SILENCE_MS: '300' }).map((p) => p.variable)).toEqual([
      'VOICE_MAX_END_SILENCE_MS',
    ]);
    expect(problemsOf({ VOICE_SPECULATIVE_PAUSE_MS: '0', VOICE_COMPLETE_SILENCE_MS: '150' })).toEqual([]);
  });
});
