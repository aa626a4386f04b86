/**
 * The coach's number check (coach/message.ts): a figure the model states must be one of the
 * facts it was shown — a digit inside an id it never saw (a goal's UUID, an action id) is no
 * figure, so "7" is refused even when a UUID holds a 7.
 */
import { describe, expect, it } from 'vitest';
import { checkNumbers, promptOf, type DailyFacts } from '../../coach/index.js';

const GOAL = '7a7b7c7d-7777-4777-8777-777777777777';
const facts: DailyFacts = {
  day: '2026-12-07',
  timeZone: 'Etc/GMT+5',
  yesterday: {
    date: '2026-12-06',
    posts: 2,
    engagements: 41,
    engagementsDayBefore: 30,
    engagementsChangePct: 37,
    followerGrowth: null,
  },
  streak: 3,
  goals: [
    {
      goalId: GOAL,
      label: 'Followers',
      current: 600,
      target: 1000,
      progressPct: 60,
      probabilityPct: 80,
      onTrack: true,
      dueDate: '2027-03-01',
      nextMilestone: { value: 750, due: '2027-01-10' },
    },
  ],
  reached: [{ goalId: GOAL, label: 'Followers', value: 500 }],
  actions: [
    {
      id: 'a1',
      type: 'slot',
      label: 'Post at 18:00 on Mastodon',
      why: 'your best hour',
    } as DailyFacts['actions'][number],
  ],
  insight: { text: 'Questions get twice the replies.', source: 'what_works' },
  drafts: 0,
};

describe('the coach number check', () => {
  it('accepts the figures shown to the model and refuses digits that only ids hold', () => {
    expect(promptOf(facts).user).not.toContain(GOAL);
    expect(
      checkNumbers('41 engagements on 2 posts, 3 days in a row; 600 of 1,000 by 2027-03-01. Post at 18:00.', facts),
    ).toEqual({
      ok: true,
      unknown: [],
    });
    // 7 and 4777 appear only inside the goal's id, 5 only in the time zone's name.
    expect(checkNumbers('7 new followers, 4777 views, 5 posts', facts)).toEqual({
      ok: false,
      unknown: ['7', '4777', '5'],
    });
  });
});
