/**
 * The agent's analytics tools called as the graph calls them (`runTool`, the session's
 * workspace) over a stored history: each answers from the session's own workspace, another
 * workspace's session sees none of it (not_found for its accounts and posts), and the
 * "show last week's stats" fast path answers with the engagement figures beside the week
 * before, with no model call. PGlite, Redis, a fake Mastodon.
 */
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, type ToolEnv } from '../../agent/index.js';
import { startAgentEnv, type AgentEnv } from './agent-env.js';
import { addHistory, seeded, type HistoryPost } from '../tools/analytics-history.js';

let env: AgentEnv;
const ZONE = 'Europe/Paris';

beforeAll(async () => {
  env = await startAgentEnv();
}, 60_000);
afterAll(async () => {
  await env?.close();
});

const toolEnv = (p: { workspaceId: string; userId: string }): ToolEnv => ({
  deps: env.api.env.deps,
  session: { workspaceId: p.workspaceId, userId: p.userId, role: 'viewer', timeZone: ZONE, channel: 'test' },
  now: () => new Date(),
});

/** 40 posts over the last 60 days plus three last week, 10 + i likes each. */
function history(): HistoryPost[] {
  const rnd = seeded(1);
  const lastWeek = DateTime.now().setZone(ZONE).startOf('week').minus({ weeks: 1 });
  const posts: HistoryPost[] = Array.from({ length: 40 }, (_, i) => ({
    publishedAt: DateTime.now()
      .minus({ days: 15 + Math.floor(rnd() * 45), hours: Math.floor(rnd() * 24) })
      .toJSDate(),
    content: `older post ${i}`,
    likes: 10 + i,
  }));
  for (const [i, likes] of [4, 5, 6].entries())
    posts.push({ publishedAt: lastWeek.plus({ days: i + 1, hours: 10 }).toJSDate(), content: `last week ${i}`, likes });
  return posts;
}

describe('analytics tools', () => {
  it("answer from the session's workspace only, on every tool", async () => {
    const mine = await env.personWithMastodon();
    const theirs = await env.personWithMastodon();
    await addHistory(
      env.api.env,
      { ctx: { workspaceId: mine.p.workspaceId } as never, accountId: mine.accountId, platform: 'mastodon' },
      history(),
    );
    const e = toolEnv(mine.p);
    const other = toolEnv(theirs.p);

    const week = await runTool(e, 'get_analytics', { period: 'last week' });
    expect(week).toMatchObject({ ok: true, output: { metrics: { current: { measured: 3, likes: 15 } } } });
    const theirWeek = await runTool(other, 'get_analytics', { period: 'last week' });
    expect(theirWeek).toMatchObject({ ok: true, output: { metrics: { current: { measured: 0 } } } });

    const top = await runTool(e, 'get_top_posts', { period: 'last week', limit: 1 });
    expect(top).toMatchObject({ ok: true, output: { items: [{ likes: 6 }] } });
    expect(await runTool(other, 'get_top_posts', { period: 'last week' })).toMatchObject({ output: { items: [] } });

    const targetId = (top as { output: { items: Array<{ targetId: string }> } }).output.items[0]!.targetId;
    expect(await runTool(e, 'get_post_analytics', { targetId })).toMatchObject({ ok: true, output: { likes: 6 } });
    expect(await runTool(other, 'get_post_analytics', { targetId })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });

    expect(await runTool(e, 'get_account_analytics', { account: mine.accountId, period: 'last week' })).toMatchObject({
      ok: true,
      output: { current: { posts: 3 } },
    });
    expect(await runTool(other, 'get_account_analytics', { account: mine.accountId })).toMatchObject({ ok: false });
    expect(await runTool(e, 'get_best_times', { account: 'mastodon' })).toMatchObject({
      ok: true,
      output: { posts: 43, confidence: 'moderate' },
    });
    expect(await runTool(other, 'get_best_times', { account: mine.accountId })).toMatchObject({ ok: false });
    expect(await runTool(e, 'get_what_works', {})).toMatchObject({ ok: true, output: { posts: 43 } });
    expect(await runTool(other, 'get_what_works', {})).toMatchObject({ ok: true, output: { posts: 0 } });
    const daily = await runTool(e, 'get_daily_analytics', { period: 'last week' });
    expect(daily).toMatchObject({ ok: true });
    const days = (daily as { output: { days: Array<{ engagements: number }> } }).output.days;
    expect(days.reduce((n, d) => n + d.engagements, 0)).toBe(15);
    const report = await runTool(e, 'get_weekly_report', {});
    expect((report as { output: { markdown: string } }).output.markdown).toContain('| Engagements | 15 |');
    const theirReport = await runTool(other, 'get_weekly_report', {});
    expect((theirReport as { output: { markdown: string } }).output.markdown).toContain('| Engagements | 0 |');
    // The weekly report's delivery: turned off for this member here, still on in the other workspace.
    expect(await runTool(e, 'set_weekly_report', { enabled: false })).toMatchObject({
      ok: true,
      output: { weeklyReport: false },
    });
    expect(await runTool(e, 'set_weekly_report', {})).toMatchObject({ output: { weeklyReport: false } });
    expect(await runTool(other, 'set_weekly_report', {})).toMatchObject({ output: { weeklyReport: true } });
  });

  it('"show last week\'s stats" answers with the engagement figures and the week before, with no model', async () => {
    const mine = await env.personWithMastodon();
    await addHistory(
      env.api.env,
      { ctx: { workspaceId: mine.p.workspaceId } as never, accountId: mine.accountId, platform: 'mastodon' },
      history(),
    );
    env.brain = () => ({ status: 500, text: 'the fast path must not call the model' });
    const c = await env.connect(mine.p);
    const turn = await c.say("show last week's stats", 't-analytics');
    expect(await c.end(turn)).toMatchObject({ reason: 'done' });
    expect(c.text(turn)).toContain('Engagements 15 (likes 15, reposts 0, replies 0) on 3 measured posts, vs ');
    expect(c.text(turn)).toContain('no impressions from mastodon');
  });
});
