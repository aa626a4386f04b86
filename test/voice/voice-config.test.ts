/**
 * The voice engines `npm start` builds from the environment (loadConfig → voiceConfigOf →
 * createVoiceEngines, as server/runtime.ts does), pointed at a local server that speaks
 * OpenAI's `/audio/transcriptions` wire format. Audio meant for a local server must reach it,
 * never the cloud: `VOICE_STT_URL` first, then `OPENAI_BASE_URL` / `GROQ_BASE_URL`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/index.js';
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
