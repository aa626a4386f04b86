/**
 * Turn detection on real speech: espeak-ng sentences laid on quiet noise, fed frame by frame
 * (faster than real time) through Silero VAD. Utterances must be found where the speech is,
 * silence and noise must find none, and the length cap must cut.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadSileroModel,
  SileroStream,
  TurnDetector,
  type TurnDetectorOptions,
  type Utterance,
} from '../../voice/index.js';
import { frames, msOf, quiet, speech } from '../fakes/speech-audio.js';

let model: Awaited<ReturnType<typeof loadSileroModel>>;
beforeAll(async () => {
  model = await loadSileroModel();
});

interface Seen {
  starts: number[];
  utterances: Utterance[];
  misfires: number[];
}

async function detect(pcm: Buffer, options: Partial<TurnDetectorOptions> = {}): Promise<Seen> {
  const seen: Seen = { starts: [], utterances: [], misfires: [] };
  const d = new TurnDetector(
    new SileroStream(model),
    {
      speechStart: (at) => seen.starts.push(at),
      utterance: (u) => seen.utterances.push(u),
      misfire: (at) => seen.misfires.push(at),
    },
    options,
  );
  for (const f of frames(pcm)) await d.push(f);
  return seen;
}

describe('turn detection (Silero VAD)', () => {
  it('finds two utterances where the speech is, with pre-speech padding and end-of-turn silence', async () => {
    const a = await speech('Schedule a post about the summer sale for tomorrow at nine.');
    const b = await speech('Yes, go ahead.');
    const lead = 1000;
    const gap = 1500;
    const pcm = Buffer.concat([quiet(lead), a, quiet(gap, 2), b, quiet(1500, 3)]);
    const aStart = lead;
    const aEnd = lead + msOf(a);
    const bStart = aEnd + gap;
    const bEnd = bStart + msOf(b);
    const seen = await detect(pcm, { endSilenceMs: 600, preSpeechMs: 300 });

    expect(seen.utterances).toHaveLength(2);
    const [u1, u2] = seen.utterances as [Utterance, Utterance];
    // espeak's output has a little silence at its edges; the VAD works in 32 ms windows.
    expect(u1.startMs).toBeGreaterThanOrEqual(aStart - 64);
    expect(u1.startMs).toBeLessThan(aStart + 250);
    expect(u1.endMs).toBeGreaterThan(aEnd - 400);
    expect(u1.endMs).toBeLessThanOrEqual(aEnd + 64);
    expect(u2.startMs).toBeGreaterThanOrEqual(bStart - 64);
    expect(u2.startMs).toBeLessThan(bStart + 250);
    expect(u2.endMs).toBeLessThanOrEqual(bEnd + 64);
    for (const u of seen.utterances) expect(u.capped).toBe(false);
    // The audio handed on covers the speech plus the padding before it.
    expect(msOf(u1.audio.data)).toBeGreaterThanOrEqual(u1.endMs - u1.startMs + 250);
    expect(msOf(u1.audio.data)).toBeLessThan(msOf(a) + 300 + 600);
    expect(u1.audio.sampleRate).toBe(16_000);
  });

  it('a pause shorter than the end-of-turn silence does not split the turn', async () => {
    const pcm = Buffer.concat([
      quiet(500),
      await speech('Draft a post.'),
      quiet(300, 4),
      await speech('About our launch.'),
      quiet(1200, 5),
    ]);
    const seen = await detect(pcm, { endSilenceMs: 700 });
    expect(seen.utterances).toHaveLength(1);
    const split = await detect(pcm, { endSilenceMs: 150 });
    expect(split.utterances.length).toBe(2);
  });

  it('the end-of-turn silence is counted from the last audible sound, not from where the VAD lets go', async () => {
    const sentences = ['Schedule a post about the summer sale.', 'What is scheduled for tomorrow?', 'Yes, go ahead.'];
    // quiet(): uniform noise of ±100, so an RMS of 100 / √3 in 16-bit units.
    const noiseRms = 100 / Math.sqrt(3) / 32768;
    for (const [i, text] of sentences.entries()) {
      const said = await speech(text);
      // The last 20 ms of the sentence louder than four times the background noise (the rule
      // the detector documents): where a listener hears it stop.
      let lastLoud = 0;
      for (let at = 0; at + 640 <= said.length; at += 640) {
        let sum = 0;
        for (let j = 0; j < 320; j++) sum += (said.readInt16LE(at + j * 2) / 32768) ** 2;
        if (Math.sqrt(sum / 320) > 4 * noiseRms) lastLoud = (at + 640) / 32;
      }
      const lead = 600;
      const heardEnd = lead + lastLoud;
      const pcm = Buffer.concat([quiet(lead, 10 + i), said, quiet(1500, 20 + i)]);
      let emittedAt = 0;
      const d = new TurnDetector(
        new SileroStream(model),
        { speechStart: () => {}, utterance: () => (emittedAt = d.nowMs), misfire: () => {} },
        { endSilenceMs: 500 },
      );
      for (const f of frames(pcm)) await d.push(f);
      // Quantisation only: the turn ends on a 32 ms window, the audible end is a 20 ms frame.
      // (Counted from where Silero's probability falls, the second sentence ends 60 ms late.)
      expect(emittedAt - heardEnd, text).toBeLessThanOrEqual(500 + 52);
      expect(emittedAt - heardEnd, text).toBeGreaterThanOrEqual(500 - 52);
    }
  });

  it('hears nothing in silence and low noise', async () => {
    const seen = await detect(quiet(5000, 9));
    expect(seen.starts).toEqual([]);
    expect(seen.utterances).toEqual([]);
  });

  it('caps an utterance at maxUtteranceMs and ignores the rest until a pause', async () => {
    const long = await speech(
      'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen',
    );
    expect(msOf(long)).toBeGreaterThan(3000);
    const pcm = Buffer.concat([quiet(300), long, quiet(1000, 6), await speech('Short one.'), quiet(1000, 7)]);
    const seen = await detect(pcm, { maxUtteranceMs: 1500, endSilenceMs: 600 });
    const capped = seen.utterances.filter((u) => u.capped);
    expect(capped).toHaveLength(1);
    expect(msOf(capped[0]!.audio.data)).toBeLessThanOrEqual(1500 + 40);
    // After the pause, the next sentence is an ordinary utterance again.
    expect(seen.utterances.at(-1)!.capped).toBe(false);
    expect(seen.utterances).toHaveLength(2);
  });

  it('drops a click shorter than minSpeechMs as a misfire', async () => {
    const click = (await speech('Ah.')).subarray(0, 16 * 2 * 120);
    const seen = await detect(Buffer.concat([quiet(500), click, quiet(1000, 8)]), { minSpeechMs: 400 });
    expect(seen.utterances).toEqual([]);
    expect(seen.misfires.length + seen.starts.length).toBeGreaterThan(0);
  });
});
