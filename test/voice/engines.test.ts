/**
 * The speech engines against real parts: the `openai` and `groq-sdk` clients and a whisper.cpp
 * server client talking to a scripted speech server on loopback; eSpeak NG (WebAssembly) itself; a
 * stand-in `whisper-cli` program to show how arguments reach the child. Also the sentence
 * splitter and the reading of spoken confirmation answers.
 */
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeraldError } from '../../core/index.js';
import {
  encodeWav,
  EspeakTextToSpeech,
  GroqSpeechToText,
  OpenAiSpeechToText,
  OpenAiTextToSpeech,
  parseVoiceAnswer,
  SentenceSplitter,
  WhisperCliSpeechToText,
  WhisperServerSpeechToText,
  type SpeechToText,
} from '../../voice/index.js';
import { speech } from '../fakes/speech-audio.js';
import { startFakeSpeech, type FakeSpeech } from '../fakes/speech.js';

let fake: FakeSpeech;
let dir: string;
const wav = async () => encodeWav({ sampleRate: 16_000, data: await speech('Hello there.') });

beforeAll(async () => {
  fake = await startFakeSpeech();
  dir = await mkdtemp(join(tmpdir(), 'herald-voice-engines-'));
});
afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (!isHeraldError(err)) throw err;
    return { code: err.code, message: err.message, details: err.details as Record<string, unknown> };
  }
  throw new Error('expected a failure');
}

const signal = () => AbortSignal.timeout(10_000);

describe('speech-to-text engines', () => {
  const engines: [string, string, () => SpeechToText][] = [
    [
      'openai',
      '/v1/audio/transcriptions',
      () => new OpenAiSpeechToText({ baseUrl: fake.openaiUrl, apiKey: 'sk-test', model: 'whisper-1', timeoutMs: 2000 }),
    ],
    [
      'groq',
      '/openai/v1/audio/transcriptions',
      () =>
        new GroqSpeechToText({
          baseUrl: fake.groqUrl,
          apiKey: 'gsk-test',
          model: 'whisper-large-v3-turbo',
          timeoutMs: 2000,
        }),
    ],
    ['whisper-server', '/inference', () => new WhisperServerSpeechToText({ url: fake.whisperUrl, timeoutMs: 2000 })],
  ];

  for (const [name, path, make] of engines) {
    it(`${name}: sends the utterance as a 16 kHz WAV to ${path} and returns the text`, async () => {
      fake.script(['  schedule a post  ']);
      const before = fake.transcriptions.length;
      const text = await make().transcribe(await wav(), { signal: signal() });
      expect(text).toBe('schedule a post');
      const req = fake.transcriptions[before]!;
      expect(req.path).toBe(path);
      expect(req.audio.sampleRate).toBe(16_000);
      expect(req.audio.data.equals(await speech('Hello there.'))).toBe(true);
      if (name !== 'whisper-server') expect(req.model).toBe(name === 'groq' ? 'whisper-large-v3-turbo' : 'whisper-1');
    });

    it(`${name}: an engine error and a hang are speech_to_text_failed with the reason`, async () => {
      fake.script([{ status: 500 }]);
      expect(await failure(make().transcribe(await wav(), { signal: signal() }))).toMatchObject({
        code: 'speech_to_text_failed',
        details: { engine: name, reason: 'status' },
      });
      fake.script([{ hang: true }]);
      const slow = await failure(make().transcribe(await wav(), { signal: AbortSignal.timeout(300) }));
      expect(slow).toMatchObject({ code: 'speech_to_text_failed', details: { engine: name, reason: 'timeout' } });
    });
  }

  it('a closed port reads as unreachable', async () => {
    const closed = await startFakeSpeech();
    await closed.close();
    const stt = new OpenAiSpeechToText({ baseUrl: closed.openaiUrl, model: 'whisper-1', timeoutMs: 2000 });
    expect(await failure(stt.transcribe(await wav(), { signal: signal() }))).toMatchObject({
      code: 'speech_to_text_failed',
      details: { reason: 'unreachable' },
    });
  });

  it('whisper-cli: a missing program or model is voice_unavailable naming the command that gets it', async () => {
    const noBin = new WhisperCliSpeechToText({
      bin: join(dir, 'no-such-whisper-cli'),
      model: join(dir, 'm.bin'),
      timeoutMs: 2000,
    });
    const bin = await failure(noBin.check());
    expect(bin.code).toBe('voice_unavailable');
    expect(bin.message).toContain('cmake --build build');
    const stand = await standIn('ok');
    const noModel = new WhisperCliSpeechToText({ bin: stand, model: join(dir, 'ggml-base.en.bin'), timeoutMs: 2000 });
    const model = await failure(noModel.check());
    expect(model.code).toBe('voice_unavailable');
    expect(model.message).toContain('download-ggml-model.sh base.en');
    expect(model.details).toMatchObject({ missing: 'model' });
  });

  it('whisper-cli: arguments reach the program as they are (no shell), the WAV is a private temp file, removed after', async () => {
    const modelPath = join(dir, 'a model; $(touch pwned) `id`.bin');
    await writeFile(modelPath, 'not really a model');
    const bin = await standIn('args');
    const stt = new WhisperCliSpeechToText({ bin, model: modelPath, timeoutMs: 5000 });
    await stt.check();
    const out = JSON.parse(await stt.transcribe(await wav(), { signal: signal(), language: 'en' })) as string[];
    expect(out.slice(0, 2)).toEqual(['-m', modelPath]);
    expect(out).toContain('-nt');
    const file = out[out.indexOf('-f') + 1]!;
    expect(file).toMatch(/herald-stt-.*utterance\.wav$/);
    expect(await readdir(dir)).not.toContain('pwned');
    await expect(readdir(join(file, '..'))).rejects.toThrow();
  });

  it('whisper-cli: a program that runs past the deadline is killed and reported as a timeout', async () => {
    const bin = await standIn('hang');
    await writeFile(join(dir, 'model.bin'), 'x');
    const stt = new WhisperCliSpeechToText({ bin, model: join(dir, 'model.bin'), timeoutMs: 300 });
    expect(await failure(stt.transcribe(await wav(), { signal: signal() }))).toMatchObject({
      code: 'speech_to_text_failed',
      details: { reason: 'timeout' },
    });
  });
});

/** A stand-in for whisper-cli: prints its arguments as JSON, or hangs. */
async function standIn(mode: 'ok' | 'args' | 'hang'): Promise<string> {
  const path = join(dir, `whisper-cli-${mode}`);
  const body =
    mode === 'hang' ? 'setInterval(() => {}, 1000);' : 'process.stdout.write(JSON.stringify(process.argv.slice(2)));';
  await writeFile(path, `#!/usr/bin/env node\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('text-to-speech engines', () => {
  it('espeak-ng speaks a sentence as 16-bit PCM at its own rate', async () => {
    const tts = new EspeakTextToSpeech();
    const pcm = await tts.synthesize('Your post is scheduled.', signal());
    await tts.close();
    expect(pcm.sampleRate).toBe(22_050);
    // About a second of speech, not silence.
    expect(pcm.data.length / 2 / pcm.sampleRate).toBeGreaterThan(0.8);
    let peak = 0;
    for (let i = 0; i < pcm.data.length; i += 2) peak = Math.max(peak, Math.abs(pcm.data.readInt16LE(i)));
    expect(peak).toBeGreaterThan(3000);
  });

  it('espeak-ng reads text that looks like options as text (it is read from a file, not the command line)', async () => {
    const tts = new EspeakTextToSpeech();
    const pcm = await tts.synthesize('--help -w /tmp/x.wav', signal());
    await tts.close();
    expect(pcm.data.length).toBeGreaterThan(22_050);
  });

  it('espeak-ng: an unknown voice, a stopped request and a run past the deadline are text_to_speech_failed', async () => {
    const unknown = new EspeakTextToSpeech({ voice: 'xx-nowhere' });
    expect(await failure(unknown.synthesize('Hello.', signal()))).toMatchObject({
      code: 'text_to_speech_failed',
      message: expect.stringContaining('voice does not exist') as unknown,
    });
    await unknown.close();

    const tts = new EspeakTextToSpeech();
    const stop = new AbortController();
    const stopped = tts.synthesize('This sentence is never heard.', stop.signal);
    stop.abort();
    expect(await failure(stopped)).toMatchObject({ code: 'text_to_speech_failed', message: 'Speaking was stopped' });
    // The engine carries on after a stopped sentence.
    expect((await tts.synthesize('Still here.', signal())).data.length).toBeGreaterThan(0);
    await tts.close();

    const late = new EspeakTextToSpeech({ timeoutMs: 1 });
    expect(await failure(late.synthesize('Too slow.', signal()))).toMatchObject({
      code: 'text_to_speech_failed',
      message: 'espeak-ng took longer than 1 ms',
    });
    await late.close();
  });

  it('OpenAI-compatible /audio/speech: asks for raw PCM and states 24 kHz', async () => {
    const tts = new OpenAiTextToSpeech({
      baseUrl: fake.openaiUrl,
      apiKey: 'sk-t',
      model: 'tts-1',
      voice: 'alloy',
      timeoutMs: 2000,
    });
    const pcm = await tts.synthesize('Hello.', signal());
    expect(pcm.sampleRate).toBe(24_000);
    expect(pcm.data.length).toBeGreaterThan(0);
    expect(fake.speech.at(-1)).toMatchObject({
      model: 'tts-1',
      voice: 'alloy',
      input: 'Hello.',
      responseFormat: 'pcm',
      authorization: 'Bearer sk-t',
    });
    const down = new OpenAiTextToSpeech({
      baseUrl: 'http://127.0.0.1:9/v1',
      model: 'tts-1',
      voice: 'alloy',
      timeoutMs: 2000,
    });
    expect(await failure(down.synthesize('Hi.', signal()))).toMatchObject({ code: 'text_to_speech_failed' });
  });
});

describe('sentences and spoken answers', () => {
  it('cuts a streamed reply into sentences as they complete', () => {
    const s = new SentenceSplitter();
    const out: string[] = [];
    for (const t of ['Sure', '. I drafted it', ' for 9:00', ' tomorrow. Shall', ' I post it? ', 'It costs 3.5 credits'])
      out.push(...s.push(t));
    expect(out).toEqual(['Sure.', 'I drafted it for 9:00 tomorrow.', 'Shall I post it?']);
    expect(s.flush()).toBe('It costs 3.5 credits');
    const long = new SentenceSplitter(40);
    expect(long.push('one, two, three, four, five, six, seven, eight, nine, ten')).toEqual([
      'one, two, three, four, five, six,',
    ]);
  });

  it('reads yes, no and changes of time or text', () => {
    expect(parseVoiceAnswer('Yes.')).toEqual({ confirmed: true });
    expect(parseVoiceAnswer('Sure, go ahead')).toEqual({ confirmed: true });
    expect(parseVoiceAnswer('No.')).toMatchObject({ confirmed: false });
    expect(parseVoiceAnswer('Cancel that')).toMatchObject({ confirmed: false });
    expect(parseVoiceAnswer('Change the time to ten.')).toEqual({ confirmed: true, edit: { at: '10:00' } });
    expect(parseVoiceAnswer('change the time to ten thirty pm')).toEqual({ confirmed: true, edit: { at: '10:30 pm' } });
    expect(parseVoiceAnswer('Move it to Friday at 3pm')).toEqual({ confirmed: true, edit: { at: 'friday at 3pm' } });
    expect(parseVoiceAnswer('Change the text to Summer sale: 25% off!')).toEqual({
      confirmed: true,
      edit: { text: 'Summer sale: 25% off!' },
    });
    expect(parseVoiceAnswer('What is the weather like')).toBeNull();
    expect(parseVoiceAnswer('')).toBeNull();
  });
});
