/** How complete a transcript reads: what decides how long the silence after it must last. */
import { describe, expect, it } from 'vitest';
import { turnCompleteness } from '../../voice/index.js';

describe('turnCompleteness', () => {
  it('reads final punctuation as complete, a dangling word or mark as unfinished, the rest as unknown', () => {
    expect(turnCompleteness('Schedule a post about the summer sale for tomorrow.')).toBe('complete');
    expect(turnCompleteness('What is scheduled for Friday?')).toBe('complete');
    expect(turnCompleteness('Yes, I do.')).toBe('complete');
    // Engines put a period after a fragment too: the last word says it is not over.
    expect(turnCompleteness('Schedule a post about.')).toBe('incomplete');
    expect(turnCompleteness('Schedule a post about')).toBe('incomplete');
    expect(turnCompleteness('Post it on Mastodon and')).toBe('incomplete');
    expect(turnCompleteness('Move it to Friday,')).toBe('incomplete');
    expect(turnCompleteness('Let me think...')).toBe('incomplete');
    expect(turnCompleteness('Draft a post for the launch')).toBe('unknown');
    expect(turnCompleteness('')).toBe('unknown');
  });
});
