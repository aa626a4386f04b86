/**
 * Turn-taking over the real `/v1/ws` WebSocket, with real espeak-ng speech streamed in real
 * time, real Silero VAD and real espeak-ng answers: a user who pauses and goes on is answered
 * once, for the whole sentence; a click during an answer stops nothing; a typed `cancel`
 * silences the answer. Timings are never asserted, only the order and content of events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quiet, speech } from '../fakes/speech-audio.js';
import { startVoice, utterance, VoiceTestEnv, type Client, type Ev } from './voice-client.js';

const env = new VoiceTestEnv();
beforeAll(() => env.start());
afterAll(() => env.close());

/** 60 ms out of the middle of a spoken "Yes": Silero hears speech, too short to be a turn. */
async function click(): Promise<Buffer> {
  const s = await speech('Yes');
  const at = Math.floor((s.length * 0.35) / 2) * 2;
  return s.subarray(at, at + 60 * 32);
}

/** The text a turn answered (the echo handler's tokens). */
const answerOf = (c: Client, turnId: string) =>
  c.events
    .filter((e) => e.type === 'token' && e.turnId === turnId)
    .map((e) => e.text)
    .join('');

const spokenTurns = (c: Client, from: number) =>
  c.events.slice(from).filter((e): e is Ev & { turnId: string } => e.type === 'voice_audio_end' && !!e.turnId);

describe('turn-taking', () => {
  it('a pause then more speech is answered once, after the whole sentence', async () => {
    const c = await env.connect();
    await startVoice(c);
    // Speech-to-text as slow as a hosted engine, so the first part's transcript lands as the user goes on.
    env.fake.script([
      { text: 'Schedule a post about', delayMs: 150 },
      { text: 'the summer sale for tomorrow.', delayMs: 150 },
    ]);
    const from = c.events.length;
    const audio = Buffer.concat([
      quiet(300, 81),
      await speech('Schedule a post about'),
      quiet(700, 82),
      await speech('the summer sale for tomorrow.'),
      quiet(1200, 83),
    ]);
    await c.stream(audio, true);
    const ends = await c.next('an answer spoken', () => spokenTurns(c, from).length > 0, from);
    void ends;
    // Time for a second answer to show up, if there were one.
    await new Promise((r) => setTimeout(r, 1500));
    const spoken = spokenTurns(c, from);
    expect(spoken).toHaveLength(1);
    expect(answerOf(c, spoken[0]!.turnId)).toBe('Schedule a post about the summer sale for tomorrow.');
    // Every answer that was started and not finished was cut, and none of its audio came after the cut.
    const finals = c.events.slice(from).filter((e) => e.type === 'transcript' && e.final === true);
    expect(finals.at(-1)).toMatchObject({
      use: 'turn',
      turnText: 'Schedule a post about the summer sale for tomorrow.',
    });
    const barge = c.events.slice(from).find((e) => e.type === 'voice_barge_in');
    if (barge) {
      expect(barge).toMatchObject({ continued: true, spoken: '' });
      const at = c.events.indexOf(barge);
      const cut = barge.turnId;
      const after = c.events.slice(at).filter((e) => e.type === 'voice_audio' && e.turnId === cut);
      expect(after).toEqual([]);
    } else expect(finals.map((e) => e.use)).toEqual(['held', 'turn']);
  });

  it('a 60 ms click during an answer stops nothing: every sentence is spoken to the end', async () => {
    const c = await env.connect();
    await startVoice(c);
    const reply = 'This answer goes on for a while. It has three sentences. The last one ends here.';
    env.fake.script([reply]);
    const from = c.events.length;
    await c.stream(await utterance('Tell me something.', 85), true);
    const start = await c.next('turn', (e) => e.type === 'message_start', from);
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 20, from);
    const clickAt = c.events.length;
    await c.stream(Buffer.concat([quiet(100, 86), await click(), quiet(700, 87)]), true);
    // The VAD heard it, and dropped it as too short.
    await c.next('dropped', (e) => e.type === 'voice_activity' && e.dropped === 'too_short', clickAt);
    await c.next('answer end', (e) => e.type === 'voice_audio_end' && e.turnId === start.turnId, from);
    expect(c.events.slice(from).filter((e) => e.type === 'voice_barge_in')).toEqual([]);
    const sentences = c.events.slice(from).filter((e) => e.type === 'voice_audio' && e.turnId === start.turnId);
    expect(sentences.map((e) => e.text)).toEqual([
      'This answer goes on for a while.',
      'It has three sentences.',
      'The last one ends here.',
    ]);
  });

  it('a typed cancel stops the spoken answer even after its text has ended: queued sentences are dropped', async () => {
    const c = await env.connect();
    await startVoice(c);
    const reply =
      'One sentence to start with. Then a second one follows. A third sentence comes next. ' +
      'The fourth is here too. And a fifth to end with.';
    env.fake.script([reply]);
    const from = c.events.length;
    await c.stream(await utterance('Talk for a while.', 89), true);
    const start = await c.next('turn', (e) => e.type === 'message_start', from);
    const turnId = start.turnId!;
    await c.next('text done', (e) => e.type === 'message_end' && e.turnId === turnId, from);
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 20, from);
    c.send({ type: 'cancel', turnId });
    const stopped = await c.next('stopped', (e) => e.type === 'voice_audio_stopped', from);
    expect(stopped).toMatchObject({ turnId, reason: 'cancelled' });
    expect(reply.startsWith(stopped.spoken as string)).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    const after = c.events.slice(c.events.indexOf(stopped));
    expect(after.filter((e) => e.type === '(audio)' || e.type === 'voice_audio')).toEqual([]);
    expect(after.some((e) => e.type === 'voice_audio_end' && e.turnId === turnId)).toBe(false);
  });

  it('a cough over the answer (long enough to pause it, no words in it) resumes the answer where it stopped', async () => {
    const c = await env.connect();
    await startVoice(c);
    const reply = 'This answer keeps going for a while. It has a second sentence too. And then a third one ends it.';
    // The "cough": a sound the VAD takes for speech for longer than the barge-in minimum, transcribed as nothing.
    env.fake.script([reply, '']);
    const from = c.events.length;
    await c.stream(await utterance('Tell me a story.', 91), true);
    const start = await c.next('turn', (e) => e.type === 'message_start', from);
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 20, from);
    const coughAt = c.events.length;
    await c.stream(Buffer.concat([quiet(100, 92), await speech('Hmm, hmm.'), quiet(800, 93)]), true);
    const paused = await c.next('paused', (e) => e.type === 'voice_paused', coughAt);
    expect(paused.turnId).toBe(start.turnId);
    const resumed = await c.next('resumed', (e) => e.type === 'voice_resumed', coughAt);
    expect(resumed.turnId).toBe(start.turnId);
    await c.next('answer end', (e) => e.type === 'voice_audio_end' && e.turnId === start.turnId, from);
    const after = c.events.slice(from);
    expect(after.filter((e) => e.type === 'voice_barge_in')).toEqual([]);
    expect(after.find((e) => e.type === 'message_end')?.reason).toBe('done');
    // Nothing was sent between the pause and the resumption; then the rest of the answer, from where it stopped.
    const pausedAt = c.events.indexOf(paused);
    const resumedAt = c.events.indexOf(resumed);
    expect(c.events.slice(pausedAt, resumedAt).filter((e) => e.type === '(audio)' || e.type === 'voice_audio')).toEqual(
      [],
    );
    const rest = c.events.slice(resumedAt).filter((e) => e.type === 'voice_audio');
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.at(-1)!.text).toBe('And then a third one ends it.');
    const first = rest[0]!.text!;
    expect(reply.includes(first)).toBe(true);
  });

  it('voice_stop during an answer stops its audio at once', async () => {
    const c = await env.connect();
    await startVoice(c);
    env.fake.script(['One sentence to start with. Then a second one follows. A third sentence comes next.']);
    const from = c.events.length;
    await c.stream(await utterance('Talk to me.', 95), true);
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 10, from);
    c.send({ type: 'voice_stop' });
    const stopped = await c.next('stopped', (e) => e.type === 'voice_stopped', from);
    await new Promise((r) => setTimeout(r, 600));
    const after = c.events.slice(c.events.indexOf(stopped));
    expect(after.filter((e) => e.type === '(audio)' || e.type === 'voice_audio')).toEqual([]);
  });

  it('a first transcribed word interrupts the answer before the minimum speech is reached', async () => {
    // A minimum no utterance here reaches: only the partial transcript's first word can interrupt.
    const url = await env.app({}, { partialIntervalMs: 200, bargeInMinSpeechMs: 60_000 });
    const c = await env.connect(url);
    await startVoice(c);
    const reply = 'Here is a long answer that the user will not let me finish, because it goes on and on.';
    let started = false;
    env.fake.script(() => (started ? 'Stop' : reply));
    const from = c.events.length;
    await c.stream(await utterance('Tell me at length.', 97), true);
    const start = await c.next('turn', (e) => e.type === 'message_start', from);
    started = true;
    await c.next('answer audio', () => c.events.slice(from).filter((e) => e.type === '(audio)').length >= 10, from);
    const at = c.events.length;
    await c.stream(Buffer.concat([await speech('Stop, stop right there.'), quiet(700, 98)]), true);
    const barge = await c.next('barge-in', (e) => e.type === 'voice_barge_in', at);
    expect(barge.turnId).toBe(start.turnId);
    const bargeAt = c.events.indexOf(barge);
    // Nothing of the answer after the cut.
    const nextAudio = c.index((e) => e.type === 'voice_audio', bargeAt);
    const cut = c.events.slice(bargeAt, nextAudio < 0 ? undefined : nextAudio);
    expect(cut.filter((e) => e.type === '(audio)')).toEqual([]);
    if (nextAudio >= 0) expect(c.events[nextAudio]!.turnId).not.toBe(start.turnId);
    // Paused, then cut, on the partial's word: before the utterance's final transcript.
    expect(c.index((e) => e.type === 'voice_paused', at)).toBeLessThan(bargeAt);
    expect(c.index((e) => e.type === 'transcript' && e.final === false && e.text === 'Stop', at)).toBeLessThan(bargeAt);
    const final = await c.next('final', (e) => e.type === 'transcript' && e.final === true, at);
    expect(c.events.indexOf(final)).toBeGreaterThan(bargeAt);
    env.fake.script([]);
  });

  it('an answer to a confirmation split by a pause is read whole: "Yes, but" ... "change the time to ten" is one answer', async () => {
    // Speculative turns as Herald configures them: the first part is transcribed at the pause.
    const url = await env.app({ pauseMs: 200 });
    const c = await env.connect(url);
    await startVoice(c);
    env.fake.script(['/confirm ship it']);
    const asked = c.events.length;
    await c.stream(await utterance('Post ship it.', 101), true);
    const request = await c.next('confirm_request', (e) => e.type === 'confirm_request', asked);
    await c.next('spoken question', (e) => e.type === 'voice_audio_end' && e.turnId === request.turnId, asked);
    env.fake.script([
      { text: 'Yes, but', delayMs: 150 },
      { text: 'change the time to ten.', delayMs: 150 },
    ]);
    const from = c.events.length;
    const audio = Buffer.concat([
      quiet(300, 102),
      await speech('Yes, but'),
      quiet(700, 103),
      await speech('change the time to ten.'),
      quiet(1200, 104),
    ]);
    await c.stream(audio, true);
    const results = () => c.events.slice(from).filter((e) => e.type === 'confirm_result');
    await c.next('confirm_result', (e) => e.type === 'confirm_result', from);
    expect(results()).toEqual([
      expect.objectContaining({ turnId: request.turnId, outcome: 'confirmed', edit: { at: '10:00' } }),
    ]);
    const finals = c.events.slice(from).filter((e) => e.type === 'transcript' && e.final === true);
    // Each part held while the silence after it is judged; the whole read once the user is done.
    expect(finals.map((e) => e.use)).toEqual(['held', 'held', 'confirm']);
    expect(finals.at(-1)).toMatchObject({
      text: 'change the time to ten.',
      turnText: 'Yes, but change the time to ten.',
    });
    // The second part started no turn of its own.
    expect(c.events.slice(from).filter((e) => e.type === 'message_start')).toEqual([]);
    env.fake.script([]);
  });
});
