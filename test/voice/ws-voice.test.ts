/**
 * Voice over the real `/v1/ws` WebSocket: real espeak-ng speech streamed as 20 ms frames (in
 * real time and faster), real Silero VAD, real espeak-ng answers, transcripts from the
 * scripted OpenAI-compatible speech server through the `openai` client, and the echo handler
 * answering turns (it also asks for confirmation with `/confirm`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperCliSpeechToText } from '../../voice/index.js';
import { msOf, quiet, speech } from '../fakes/speech-audio.js';
import type { FakeSpeech } from '../fakes/speech.js';
import {
  finalTranscript,
  startVoice,
  utterance,
  VoiceTestEnv,
  type Client,
  type Ev,
  type RecordingHandler,
} from './voice-client.js';

const env = new VoiceTestEnv();
let fake: FakeSpeech;
let handler: RecordingHandler;
beforeAll(async () => {
  await env.start();
  ({ fake, handler } = env);
});
afterAll(() => env.close());
const startVoiceApp = (...args: Parameters<VoiceTestEnv['app']>) => env.app(...args);
const connect = (at?: string) => env.connect(at);

describe('voice session: what is accepted and what is refused', () => {
  it('refuses audio before voice_start, and a sample rate or encoding that is not 16 kHz pcm_s16le', async () => {
    const c = await connect();
    c.ws.send(Buffer.alloc(640), { binary: true });
    expect((await c.next('error', (e) => e.type === 'error')).error).toMatchObject({ code: 'unsupported_frame' });
    let from = c.events.length;
    c.send({ type: 'voice_start', sampleRate: 8000 });
    const rate = await c.next('refusal', (e) => e.type === 'error', from);
    expect(rate.error).toMatchObject({
      code: 'unsupported_audio_format',
      details: { accepted: { sampleRate: 16000 } },
    });
    from = c.events.length;
    c.send({ type: 'voice_start', sampleRate: 16000, encoding: 'opus' });
    expect((await c.next('refusal', (e) => e.type === 'error', from)).error).toMatchObject({
      code: 'unsupported_audio_format',
    });
    from = c.events.length;
    c.send({ type: 'voice_mute', input: true });
    expect((await c.next('refusal', (e) => e.type === 'error', from)).error).toMatchObject({ code: 'invalid_state' });
    const started = await startVoice(c);
    expect(started).toMatchObject({
      type: 'voice_started',
      input: { sampleRate: 16000, encoding: 'pcm_s16le', channels: 1, frameMs: 20, frameBytes: 640 },
      output: { encoding: 'pcm_s16le', engine: 'espeak-ng' },
      stt: 'openai',
      vad: { endSilenceMs: 500 },
    });
    from = c.events.length;
    c.send({ type: 'voice_start', sampleRate: 16000 });
    expect((await c.next('refusal', (e) => e.type === 'error', from)).error).toMatchObject({ code: 'invalid_state' });
  });

  it('a local whisper.cpp without its model refuses voice_start with voice_unavailable naming the download command', async () => {
    const missing = await startVoiceApp(
      {},
      {
        stt: new WhisperCliSpeechToText({
          bin: process.execPath,
          model: '/nonexistent/ggml-base.en.bin',
          timeoutMs: 1000,
        }),
      },
    );
    const c = await connect(missing);
    const refused = await startVoice(c);
    expect(refused.error).toMatchObject({ code: 'voice_unavailable', details: { missing: 'model' } });
    expect((refused.error as { message: string }).message).toContain('download-ggml-model.sh');
    // The connection carries on: chat still works.
    c.send({ type: 'ping', id: 'still-open' });
    await c.next('pong', (e) => e.type === 'pong');
  });

  it('frames of the wrong size or an odd byte count get invalid_audio_frame; the session carries on', async () => {
    const c = await connect();
    await startVoice(c);
    const from = c.events.length;
    c.ws.send(Buffer.alloc(641), { binary: true });
    c.ws.send(Buffer.alloc(320), { binary: true });
    await c.next('two errors', () => c.events.slice(from).filter((e) => e.type === 'error').length >= 2, from);
    const errors = c.events.slice(from).filter((e) => e.type === 'error');
    expect(errors.map((e) => e.error)).toMatchObject([
      { code: 'invalid_audio_frame', details: { bytes: 641, expectedBytes: 640 } },
      { code: 'invalid_audio_frame', details: { bytes: 320, expectedBytes: 640 } },
    ]);
    expect((errors[0]!.error as { message: string }).message).toContain('odd');
    fake.script(['still here']);
    const later = c.events.length;
    await c.stream(await utterance('Are you still there?'));
    expect(await finalTranscript(c, later)).toMatchObject({ text: 'still here', use: 'turn' });
  });

  it('audio with no speech costs nothing: no activity, no transcription', async () => {
    const c = await connect();
    await startVoice(c);
    const from = c.events.length;
    const sent = fake.transcriptions.length;
    await c.stream(quiet(3000, 11));
    c.send({ type: 'ping', id: 'after-quiet' });
    await c.next('pong', (e) => e.type === 'pong', from);
    // The ping is answered after every frame before it was analysed.
    await new Promise((r) => setTimeout(r, 300));
    expect(c.events.slice(from).filter((e) => e.type === 'voice_activity' || e.type === 'transcript')).toEqual([]);
    expect(fake.transcriptions.length).toBe(sent);
  });
});

describe('a spoken turn', () => {
  it('speech streamed in real time becomes a transcript, a turn, and an answer spoken sentence by sentence', async () => {
    const c = await connect();
    await startVoice(c);
    const from = c.events.length;
    const said = await speech('Schedule a post about the summer sale.');
    fake.script(['Hello there. This is Herald speaking.']);
    const sent = fake.transcriptions.length;
    await c.stream(Buffer.concat([quiet(400, 3), said, quiet(900, 4)]), true);
    const transcript = await finalTranscript(c, from);
    expect(transcript).toMatchObject({
      type: 'transcript',
      final: true,
      text: 'Hello there. This is Herald speaking.',
      use: 'turn',
    });
    // The utterance reached speech-to-text as one WAV: the speech, its padding, not the whole stream.
    const stt = fake.transcriptions[sent]!;
    expect(fake.transcriptions.length).toBe(sent + 1);
    expect(msOf(stt.audio.data)).toBeGreaterThan(msOf(said) - 300);
    expect(msOf(stt.audio.data)).toBeLessThan(msOf(said) + 300 + 500);

    const start = await c.next('message_start', (e) => e.type === 'message_start', from);
    expect(start.clientMessageId).toBe(transcript.utteranceId);
    const turnId = start.turnId!;
    await c.next('message_end', (e) => e.type === 'message_end' && e.turnId === turnId, from);
    await c.next('voice_audio_end', (e) => e.type === 'voice_audio_end' && e.turnId === turnId, from);

    const activity = c.events.slice(from).filter((e) => e.type === 'voice_activity');
    expect(activity.map((e) => e.speaking)).toEqual([true, false]);
    expect(activity[0]!.atMs as number).toBeGreaterThan(300);

    // Each sentence: announced with its rate and frame count, then exactly that many frames.
    const out = c.events.slice(c.index((e) => e.type === 'voice_audio', from));
    const sentences: { text: string; frames: number }[] = [];
    let expected = 0;
    for (const e of out) {
      if (e.type === 'voice_audio') {
        expect(expected).toBe(0);
        expect(e).toMatchObject({ turnId, sampleRate: 22050, encoding: 'pcm_s16le', frameBytes: 882 });
        expected = e.frames as number;
        sentences.push({ text: e.text!, frames: expected });
      } else if (e.type === '(audio)') {
        expect(e.bytes).toBe(882);
        expected--;
      }
    }
    expect(expected).toBe(0);
    expect(sentences.map((s) => s.text)).toEqual(['Hello there.', 'This is Herald speaking.']);
    // The first sentence was spoken before the reply's second sentence had been synthesised:
    // it is announced before message_end would have let a whole-reply TTS start.
    expect(c.index((e) => e.type === 'voice_audio', from)).toBeLessThan(
      c.index((e) => e.type === 'voice_audio' && e.text === 'This is Herald speaking.', from),
    );
  });

  it('the speech engine down or slow: the user reads and hears it, and the session survives', async () => {
    const c = await connect();
    await startVoice(c);
    fake.script([{ status: 500 }, { hang: true }, 'third time lucky']);
    let from = c.events.length;
    await c.stream(await utterance('First try.', 21));
    const down = await finalTranscript(c, from);
    expect(down.error).toMatchObject({ code: 'speech_to_text_failed', details: { reason: 'status' } });
    const apology = await c.next('spoken apology', (e) => e.type === 'voice_audio', from);
    expect(apology).toMatchObject({ turnId: null });
    expect(apology.text).toContain("couldn't make out");
    from = c.events.length;
    await c.stream(await utterance('Second try.', 23));
    const slow = await finalTranscript(c, from);
    expect(slow.error).toMatchObject({ code: 'speech_to_text_failed', details: { reason: 'timeout' } });
    from = c.events.length;
    await c.stream(await utterance('Third try.', 25));
    expect(await finalTranscript(c, from)).toMatchObject({ text: 'third time lucky' });
  });

  it('barge-in: speaking over the answer stops its audio at once, cancels the turn, and keeps only what was heard', async () => {
    const c = await connect();
    await startVoice(c);
    const reply =
      'Here is a long answer. It has many sentences. Each one takes a while to say. ' +
      'You will not hear all of them. The user will talk over me. That is fine.';
    fake.script([reply, 'Stop.']);
    const from = c.events.length;
    await c.stream(await utterance('Tell me everything.', 31));
    const first = await c.next('first turn', (e) => e.type === 'message_start', from);
    // Wait until some of the answer has been sent, then talk over it.
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 40, from);
    await c.stream(await utterance('Stop.', 33));
    const barge = await c.next('barge-in', (e) => e.type === 'voice_barge_in', from);
    // The audio paused at the barge-in minimum; the words cut it, cancelling the reply if it was still being written.
    expect(barge.turnId).toBe(first.turnId);
    expect(c.index((e) => e.type === 'voice_paused' && e.turnId === first.turnId, from)).toBeLessThan(
      c.events.indexOf(barge),
    );
    const end = await c.next('ended', (e) => e.type === 'message_end' && e.turnId === first.turnId, from);
    expect(end.reason).toBe(barge.cancelled ? 'cancelled' : 'done');

    // Not one frame of the old answer after the barge-in event.
    const at = c.events.indexOf(barge);
    const nextAudio = c.index((e) => e.type === 'voice_audio', at);
    const after = c.events.slice(at, nextAudio < 0 ? undefined : nextAudio);
    expect(after.filter((e) => e.type === '(audio)')).toEqual([]);
    if (nextAudio >= 0) expect(c.events[nextAudio]!.turnId).not.toBe(first.turnId);

    // What was heard: a prefix of the answer, shorter than it, at least the first sentence.
    const spoken = barge.spoken as string;
    expect(reply.startsWith(spoken)).toBe(true);
    expect(spoken.length).toBeLessThan(reply.length);
    expect(spoken.length).toBeGreaterThan(0);
    await c.next('kept', () => handler.kept.some((k) => k.turnId === first.turnId));
    expect(handler.kept.find((k) => k.turnId === first.turnId)).toEqual({ turnId: first.turnId, text: reply, spoken });
    // The interruption itself is the next turn.
    expect(await finalTranscript(c, at)).toMatchObject({ text: 'Stop.', use: 'turn' });
  });

  it('barge-in after the reply has been written: the audio stops and the conversation still keeps only what was heard', async () => {
    const c = await connect();
    await startVoice(c);
    const reply = 'First sentence is here. Second sentence is here. Third sentence is here. Fourth one is here.';
    fake.script([reply, 'Wait.']);
    const from = c.events.length;
    await c.stream(await utterance('Say four things.', 35));
    const first = await c.next('first turn', (e) => e.type === 'message_start', from);
    await c.next('done', (e) => e.type === 'message_end' && e.turnId === first.turnId, from);
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 30, from);
    await c.stream(await utterance('Wait.', 37));
    const barge = await c.next('barge-in', (e) => e.type === 'voice_barge_in', from);
    expect(barge).toMatchObject({ turnId: first.turnId, cancelled: false });
    const spoken = barge.spoken as string;
    expect(reply.startsWith(spoken)).toBe(true);
    expect(spoken.length).toBeLessThan(reply.length);
    await c.next('kept', () => handler.kept.some((k) => k.turnId === first.turnId));
    expect(handler.kept.find((k) => k.turnId === first.turnId)?.spoken).toBe(spoken);
    expect(await finalTranscript(c, c.events.indexOf(barge))).toMatchObject({ text: 'Wait.', use: 'turn' });
  });

  it('an utterance longer than the cap is cut, answered, and the user is told', async () => {
    const capped = await startVoiceApp({ maxUtteranceMs: 1500 });
    const c = await connect(capped);
    await startVoice(c);
    fake.script(['the first part']);
    const from = c.events.length;
    const sent = fake.transcriptions.length;
    await c.stream(await utterance('one two three four five six seven eight nine ten eleven twelve', 41));
    const err = await c.next('too long', (e) => e.type === 'error', from);
    expect(err.error).toMatchObject({ code: 'utterance_too_long', details: { maxMs: 1500 } });
    expect(await c.next('transcript', (e) => e.type === 'transcript' && e.final === true, from)).toMatchObject({
      text: 'the first part',
    });
    expect(msOf(fake.transcriptions[sent]!.audio.data)).toBeLessThanOrEqual(1520);
    await c.next('spoken notice', (e) => e.type === 'voice_audio' && /too long/.test(e.text ?? ''), from);
  });
});

describe('partial transcripts', () => {
  it('while the user speaks, partial transcripts of the audio so far come before the final one', async () => {
    const partial = await startVoiceApp({}, { partialIntervalMs: 400 });
    const c = await connect(partial);
    await startVoice(c);
    // The scripted engine says how much audio it was given.
    fake.script((req) => `heard ${Math.round(req.audio.data.length / 32)} ms`);
    const from = c.events.length;
    await c.stream(await utterance('Schedule a post about the summer sale for tomorrow at nine.', 71), true);
    const final = await c.next('final', (e) => e.type === 'transcript' && e.final === true, from);
    const partials = c.events.slice(from, c.events.indexOf(final)).filter((e) => e.type === 'transcript');
    expect(partials.length).toBeGreaterThan(0);
    for (const p of partials) expect(p).toMatchObject({ final: false, utteranceId: final.utteranceId });
    const ms = (e: Ev) => Number(/heard (\d+) ms/.exec(e.text!)![1]);
    // Each partial heard more than the one before, and the final heard the most.
    const heard = [...partials, final].map(ms);
    expect([...heard].sort((a, b) => a - b)).toEqual(heard);
    expect(ms(final)).toBeGreaterThan(ms(partials[0]!));
    fake.script([]);
  });
});

describe('confirmation by voice', () => {
  async function askedToConfirm(c: Client, answer: string): Promise<{ from: number; turnId: string }> {
    fake.script(['/confirm ship it', answer]);
    const from = c.events.length;
    await c.stream(await utterance('Post ship it.', 51));
    const req = await c.next('confirm_request', (e) => e.type === 'confirm_request', from);
    const prompt = await c.next('spoken question', (e) => e.type === 'voice_audio' && e.turnId === req.turnId, from);
    expect(prompt.text).toBe('Echo "ship it"?');
    return { from, turnId: req.turnId! };
  }

  it('"yes" approves the waiting request', async () => {
    const c = await connect();
    await startVoice(c);
    const { from, turnId } = await askedToConfirm(c, 'Yes, go ahead.');
    await c.stream(await utterance('Yes, go ahead.', 53));
    const result = await c.next('confirm_result', (e) => e.type === 'confirm_result', from);
    expect(result).toMatchObject({ turnId, outcome: 'confirmed' });
    await c.next('tool_end', (e) => e.type === 'tool_end' && e.turnId === turnId, from);
    const transcript = c.events.slice(from).filter((e) => e.type === 'transcript' && e.final);
    expect(transcript.map((e) => e.use)).toEqual(['turn', 'confirm']);
  });

  it('"no" rejects it', async () => {
    const c = await connect();
    await startVoice(c);
    const { from, turnId } = await askedToConfirm(c, 'No.');
    await c.stream(await utterance('No.', 55));
    expect(await c.next('confirm_result', (e) => e.type === 'confirm_result', from)).toMatchObject({
      turnId,
      outcome: 'rejected',
    });
  });

  it('"change the time to ten" approves with the new time; anything else keeps it waiting', async () => {
    const c = await connect();
    await startVoice(c);
    const { from, turnId } = await askedToConfirm(c, 'What is the weather?');
    const asked = c.events.length;
    await c.stream(await utterance('What is the weather?', 57));
    expect((await finalTranscript(c, asked)).use).toBe('not_an_answer');
    expect(c.events.slice(from).some((e) => e.type === 'confirm_result')).toBe(false);
    fake.script(['Change the time to ten.']);
    await c.stream(await utterance('Change the time to ten.', 59));
    expect(await c.next('confirm_result', (e) => e.type === 'confirm_result', from)).toMatchObject({
      turnId,
      outcome: 'confirmed',
      edit: { at: '10:00' },
    });
  });
});

describe('mute and stop', () => {
  it('a muted microphone is not listened to; voice_stop ends the session and audio is refused again', async () => {
    const c = await connect();
    await startVoice(c);
    let from = c.events.length;
    c.send({ type: 'voice_mute', input: true });
    expect(await c.next('muted', (e) => e.type === 'voice_muted', from)).toMatchObject({ input: true, output: false });
    const sent = fake.transcriptions.length;
    await c.stream(await utterance('Nobody hears this.', 61));
    c.send({ type: 'voice_mute', input: false });
    await c.next('unmuted', (e) => e.type === 'voice_muted' && e.input === false, from);
    expect(c.events.slice(from).filter((e) => e.type === 'voice_activity')).toEqual([]);
    expect(fake.transcriptions.length).toBe(sent);
    from = c.events.length;
    c.send({ type: 'voice_stop' });
    await c.next('stopped', (e) => e.type === 'voice_stopped', from);
    c.ws.send(Buffer.alloc(640), { binary: true });
    expect((await c.next('refused', (e) => e.type === 'error', from)).error).toMatchObject({
      code: 'unsupported_frame',
    });
  });
});
