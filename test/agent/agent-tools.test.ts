/**
 * The agent's drafting, timing and analytics tools called as the graph calls them
 * (`runTool`, the session's workspace), and the fast path's "show last week's stats" over
 * the real WebSocket with no model call. PGlite, Redis, a fake Mastodon.
 */
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, type ToolEnv } from '../../agent/index.js';
import { schema } from '../../core/index.js';
import { setSlots } from '../../tools/scheduling/index.js';
import { startAgentEnv, type AgentEnv } from './agent-env.js';

let env: AgentEnv;
const ZONE = 'Europe/Paris';

beforeAll(async () => {
  env = await startAgentEnv();
}, 60_000);

afterAll(async () => {
  await env?.close();
});

function toolEnv(p: { workspaceId: string; userId: string }): ToolEnv {
  return {
    deps: env.api.env.deps,
    session: { workspaceId: p.workspaceId, userId: p.userId, role: 'owner', timeZone: ZONE, channel: 'test' },
    now: () => new Date(),
  };
}

async function ok<T>(promise: ReturnType<typeof runTool>): Promise<T> {
  const outcome = await promise;
  if (!outcome.ok) throw new Error(`tool failed: ${outcome.error.code} ${outcome.error.message}`);
  return outcome.output as T;
}

type Draft = { postId: string; targets: Array<{ targetId: string; text: string; status: string }> };

describe('revise_draft', () => {
  it("replaces a draft's text, refuses what the platform would not take, and finds nothing in another workspace", async () => {
    const { p } = await env.personWithMastodon();
    const other = await env.personWithMastodon();
    const e = toolEnv(p);
    const draft = await ok<Draft>(runTool(e, 'draft_post', { text: 'First words', accounts: ['mastodon'] }));
    const revised = await ok<Draft>(runTool(e, 'revise_draft', { postId: draft.postId, text: 'Better words' }));
    expect(revised.targets.map((t) => [t.text, t.status])).toEqual([['Better words', 'draft']]);

    const tooLong = await runTool(e, 'revise_draft', { postId: draft.postId, text: 'x'.repeat(600) });
    expect(tooLong).toMatchObject({ ok: false, error: { code: 'target_invalid' } });
    const [row] = await env.api.env.database.db
      .select()
      .from(schema.postTargets)
      .where(eq(schema.postTargets.postId, draft.postId));
    expect(row).toMatchObject({ content: 'Better words', version: 2 });

    const elsewhere = await runTool(toolEnv(other.p), 'revise_draft', { postId: draft.postId, text: 'Hijacked' });
    expect(elsewhere).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('suggest_time', () => {
  it('says what it bases the time on: a default, past posts, then the posting slots', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const e = toolEnv(p);
    type Out = { suggestions: Array<{ basis: string; atLocal: string; at: string; reason: string }> };

    const first = await ok<Out>(runTool(e, 'suggest_time', {}));
    expect(first.suggestions).toHaveLength(1);
    expect(first.suggestions[0]).toMatchObject({ basis: 'default' });
    const dflt = DateTime.fromISO(first.suggestions[0]!.at, { zone: ZONE });
    expect([dflt.toFormat('HH:mm'), dflt.weekday <= 5]).toEqual(['09:00', true]);

    // Two posts went out at 17:30 in the user's zone.
    const draft = await ok<Draft>(runTool(e, 'draft_post', { text: 'Evening post', accounts: ['mastodon'] }));
    const second = await ok<Draft>(runTool(e, 'draft_post', { text: 'Another evening post', accounts: ['mastodon'] }));
    for (const [i, d] of [draft, second].entries())
      await env.api.env.database.db
        .update(schema.postTargets)
        .set({
          status: 'published',
          scheduledAt: DateTime.now()
            .setZone(ZONE)
            .minus({ days: i + 2 })
            .set({ hour: 17, minute: 30, second: 0, millisecond: 0 })
            .toJSDate(),
        })
        .where(eq(schema.postTargets.id, d.targets[0]!.targetId));
    const learned = await ok<Out>(runTool(e, 'suggest_time', { accounts: ['mastodon'] }));
    expect(learned.suggestions[0]).toMatchObject({ basis: 'past_posts' });
    expect(learned.suggestions[0]!.reason).toContain('2 of its 2 posts');
    expect(DateTime.fromISO(learned.suggestions[0]!.at, { zone: ZONE }).toFormat('HH:mm')).toBe('17:30');

    await setSlots(
      env.api.env.deps,
      { workspaceId: p.workspaceId, userId: p.userId, role: 'owner', timeZone: ZONE, channel: 'test' },
      accountId,
      [{ weekday: 3, time: '12:15' }],
    );
    const slotted = await ok<Out>(runTool(e, 'suggest_time', { accounts: [accountId] }));
    expect(slotted.suggestions[0]).toMatchObject({ basis: 'posting_slots' });
    const at = DateTime.fromISO(slotted.suggestions[0]!.at, { zone: ZONE });
    expect([at.weekday, at.toFormat('HH:mm')]).toEqual([3, '12:15']);
  });
});

describe('get_analytics and "show last week\'s stats"', () => {
  it('counts posts per status and platform, says no engagement was measured yet, and the fast path needs no model', async () => {
    const { p } = await env.personWithMastodon();
    const e = toolEnv(p);
    const lastWeek = DateTime.now().setZone(ZONE).startOf('week').minus({ weeks: 1 }).plus({ days: 2, hours: 10 });
    const made = [];
    for (const text of ['One', 'Two', 'Three'])
      made.push(await ok<Draft>(runTool(e, 'draft_post', { text, accounts: ['mastodon'] })));
    const statuses = ['published', 'published', 'failed'] as const;
    for (const [i, d] of made.entries())
      await env.api.env.database.db
        .update(schema.postTargets)
        .set({ status: statuses[i], scheduledAt: lastWeek.toJSDate() })
        .where(
          and(eq(schema.postTargets.id, d.targets[0]!.targetId), eq(schema.postTargets.workspaceId, p.workspaceId)),
        );

    const stats = await ok<{
      total: number;
      byStatus: Record<string, number>;
      metrics: { current: { measured: number } };
      note: string;
    }>(runTool(e, 'get_analytics', { period: 'last week' }));
    expect(stats).toMatchObject({
      total: 3,
      byStatus: { published: 2, failed: 1 },
      metrics: { current: { measured: 0 } },
    });
    expect(stats.note).toContain('No engagement measured yet');
    const recent = await ok<{ total: number }>(runTool(e, 'get_analytics', { period: 'today' }));
    expect(recent.total).toBe(0);

    env.brain = () => ({ status: 500, text: 'the fast path must not call the model' });
    const before = env.modelCalls();
    const c = await env.connect(p);
    const turn = await c.say("show last week's stats", 't-stats');
    expect(await c.end(turn)).toMatchObject({ reason: 'done' });
    const { periodOf } = await import('../../agent/tools/analytics.js');
    expect(c.text(turn)).toBe(
      `Last week, ${periodOf('last week', ZONE, new Date()).label} (${ZONE}): 2 published, 1 failed — mastodon: 2 published, 1 failed. No engagement measured yet for posts of this period or the one before.`,
    );
    expect(env.modelCalls()).toBe(before);
    c.close();
  });
});

describe('queue, slots, series and CSV through the agent', () => {
  it('add_to_queue calls run at once on one account each take their own slot (the queue lock)', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const e = toolEnv(p);
    await ok(
      runTool(e, 'set_slots', {
        account: 'mastodon',
        slots: [
          { weekday: 2, time: '10:00' },
          { weekday: 4, time: '16:00' },
        ],
      }),
    );
    const slots = await ok<{ slots: Array<{ weekday: number; time: string; timeZone: string }> }>(
      runTool(e, 'get_slots', { account: accountId }),
    );
    expect(slots.slots).toEqual([
      { weekday: 2, time: '10:00', timeZone: ZONE },
      { weekday: 4, time: '16:00', timeZone: ZONE },
    ]);
    const queued = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        ok<Draft>(runTool(e, 'add_to_queue', { text: `queued ${i}`, accounts: ['mastodon'] })),
      ),
    );
    const rows = await env.api.env.database.db
      .select()
      .from(schema.postTargets)
      .where(eq(schema.postTargets.workspaceId, p.workspaceId));
    expect(rows.map((r) => r.status)).toEqual(Array(5).fill('scheduled'));
    expect(new Set(rows.map((r) => r.scheduledAt!.getTime())).size).toBe(5);
    for (const r of rows) {
      const at = DateTime.fromJSDate(r.scheduledAt!, { zone: ZONE });
      expect(['2 10:00', '4 16:00']).toContain(`${at.weekday} ${at.toFormat('HH:mm')}`);
    }
    expect(queued.map((q) => q.targets[0]!.status)).toEqual(Array(5).fill('scheduled'));
  });

  it('creates, edits and lists a series; checks a CSV row by row, then imports it once', async () => {
    const { p } = await env.personWithMastodon();
    const e = toolEnv(p);
    const start = DateTime.now().setZone(ZONE).plus({ days: 1 }).toFormat("yyyy-MM-dd'T'08:30");
    type S = { seriesId: string; status: string; next: string[]; created?: number; replaced?: number };
    const made = await ok<S>(
      runTool(e, 'create_series', {
        text: 'Monday motivation',
        accounts: ['mastodon'],
        rrule: 'FREQ=DAILY;COUNT=3',
        start,
      }),
    );
    expect(made).toMatchObject({ status: 'active', created: 3 });
    expect(made.next[0]).toContain('T08:30:00');
    const edited = await ok<S>(runTool(e, 'edit_series', { seriesId: made.seriesId, text: 'Tuesday motivation' }));
    expect(edited).toMatchObject({ replaced: 3, created: 3 });
    expect(await ok<S[]>(runTool(e, 'list_series', {}))).toMatchObject([
      { seriesId: made.seriesId, text: 'Tuesday motivation' },
    ]);
    expect(await ok<S>(runTool(e, 'pause_series', { seriesId: made.seriesId }))).toMatchObject({ status: 'paused' });

    const day = DateTime.now().setZone(ZONE).plus({ days: 4 }).toFormat('yyyy-MM-dd');
    const csv = `account,text,scheduled_at\nmastodon,From the agent,${day} 12:00\nmastodon,,${day} 13:00`;
    const dry = await ok<{ ready: unknown[]; rejected: Array<{ row: number; problems: unknown[] }> }>(
      runTool(e, 'check_csv', { csv }),
    );
    expect(dry.ready).toHaveLength(1);
    expect(dry.rejected).toEqual([{ row: 3, problems: [{ column: 'text', message: 'text is empty' }] }]);
    const tool = (await import('../../agent/index.js')).TOOLS.get('import_csv')!;
    const action = await tool.describe!(e, { csv });
    expect(action.summary).toContain('1 to import, 0 already imported, 1 rejected');
    expect((await ok<{ imported: unknown[] }>(runTool(e, 'import_csv', { csv }))).imported).toHaveLength(1);
    const again = await ok<{ imported: unknown[]; duplicates: unknown[] }>(runTool(e, 'import_csv', { csv }));
    expect([again.imported.length, again.duplicates.length]).toEqual([0, 1]);
  });

  it('service errors name the field, never where it sat in an HTTP request', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const { createPost } = await import('../../tools/posts/index.js');
    const err = await createPost(
      env.api.env.deps,
      { workspaceId: p.workspaceId, userId: p.userId, role: 'owner', timeZone: ZONE, channel: 'agent' },
      { content: 'x', targets: [{ socialAccountId: accountId }], mode: 'schedule', at: '2020-01-01T09:00' },
    ).then(
      () => null,
      (e: unknown) => e as { code: string; details: { issues: unknown[] } },
    );
    expect(err).toMatchObject({ code: 'invalid_time' });
    expect(err!.details.issues).toEqual([{ field: 'at', message: expect.stringContaining('in the past') }]);
  });
});
