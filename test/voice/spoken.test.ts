/**
 * What Herald says, as opposed to what it writes: the spoken-text normaliser applied before
 * text-to-speech, and the short question a confirmation is asked with — measured by speaking
 * it with the real eSpeak NG engine (under 4 s; the written summary takes far longer).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EspeakTextToSpeech, pcmMs, spokenConfirmation, spokenText } from '../../voice/index.js';

const tts = new EspeakTextToSpeech({});
afterAll(() => tts.close());

describe('spokenText', () => {
  it('drops Markdown and list markers, says a URL as "the link"', () => {
    expect(spokenText('**Done!** Your post is *scheduled*.')).toBe('Done! Your post is scheduled.');
    expect(spokenText('1. Draft the post')).toBe('Draft the post');
    expect(spokenText('- first item')).toBe('first item');
    expect(spokenText('## Your week')).toBe('Your week');
    expect(spokenText('See [the report](https://x.example/r/1) or https://shop.example.com/sale?id=3 now.')).toBe(
      'See the report or the link now.',
    );
    expect(spokenText('Run `list_posts` first.')).toBe('Run list_posts first.');
  });

  it('says time zones, dates, clock times, money and percentages as people do', () => {
    expect(spokenText('It goes out at 09:00 (Europe/Paris).')).toBe('It goes out at 9 AM Paris time.');
    expect(spokenText('In America/New_York it is 14:30.')).toBe('In New York time it is 2:30 PM.');
    expect(spokenText('Moved to Mon, Dec 14, 2026, 09:00 (Europe/Paris).')).toMatch(
      /^Moved to Monday, December 14th(, 2026)? at 9 AM Paris time\.$/,
    );
    expect(spokenText('Due 2026-03-01T00:00:00Z.')).toMatch(/^Due March 1st(, 2026)? at midnight UTC\.$/);
    expect(spokenText('Lunch at 12:00, dinner at 7:30 pm.')).toBe('Lunch at noon, dinner at 7:30 pm.');
    expect(spokenText('It earned $12.50 and €1 from 1,234 clicks, up 15%.')).toBe(
      'It earned 12 dollars 50 cents and 1 euro from 1234 clicks, up 15 percent.',
    );
    expect(spokenText('Use #summer & tag @herald 🎉')).toBe('Use hashtag summer and tag at herald');
  });
});

describe('spokenConfirmation', () => {
  // Shaped as the schedule_post tool describes its action.
  const text =
    'Our summer sale starts Monday: 30% off everything in the shop until Sunday night, with free shipping on orders over $50. See https://shop.example.com/sale';
  const action = {
    summary: `Schedule at Mon, Dec 14, 2026, 09:00 (Europe/Paris) on Mastodon (@herald@mastodon.social): "${text}"`,
    details: {
      tool: 'schedule_post',
      at: '2026-12-14T08:00:00.000Z',
      atLocal: 'Mon, Dec 14, 2026, 09:00 (Europe/Paris)',
      targets: [{ platform: 'mastodon', handle: 'herald@mastodon.social', text }],
    },
  };

  it('asks the verb, the platforms and when, without the post text', () => {
    const now = new Date('2026-12-10T12:00:00Z');
    expect(spokenConfirmation(action, now)).toBe('Schedule it on Mastodon for Monday at 9 AM?');
    expect(spokenConfirmation(action, new Date('2026-12-13T12:00:00Z'))).toBe(
      'Schedule it on Mastodon for tomorrow at 9 AM?',
    );
    const two = { ...action, details: { ...action.details, targets: [{ platform: 'x' }, { platform: 'bluesky' }] } };
    expect(spokenConfirmation(two, now)).toBe('Schedule it on X and Bluesky for Monday at 9 AM?');
    expect(spokenConfirmation({ summary: 'Echo "ship it"', details: { text: 'ship it' } })).toBe('Echo "ship it"?');
    expect(spokenConfirmation({ summary: `Cancel the x post at 09:00 (Europe/Paris): "${text}"` })).toBe(
      'Cancel the x post at 9 AM?',
    );
  });

  it('is under 4 s of speech, where the written summary read out takes several times longer', async () => {
    const now = new Date('2026-12-10T12:00:00Z');
    const short = await tts.synthesize(spokenConfirmation(action, now), AbortSignal.timeout(10_000));
    const long = await tts.synthesize(`${action.summary}. Shall I go ahead?`, AbortSignal.timeout(10_000));
    expect(pcmMs(short)).toBeLessThan(4000);
    expect(pcmMs(long)).toBeGreaterThan(3 * pcmMs(short));
  });
});
