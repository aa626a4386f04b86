/**
 * Managing recurring series (pause, resume, stop, edit the next occurrences), CSV import's
 * dry run and idempotence, and queueing drafts into slots under the queue lock — through
 * the real service functions on PGlite and Redis, validated by the real Bluesky connector.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { schema } from '../../core/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { createPost, queuePostDraft } from '../../tools/posts/index.js';
import {
  createSeries,
  importCsv,
  listScheduled,
  listSeries,
  pauseSeries,
  resumeSeries,
  setSlots,
  stopSeries,
  updateSeries,
} from '../../tools/scheduling/index.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [createBlueskyConnector({ timeoutMs: 1_000 })] });
});
afterAll(() => env?.close());

let n = 0;
async function setup(timeZone = 'Europe/Paris') {
  const { ctx, workspaceId } = await env.newWorkspace(timeZone);
  const handle = `series${++n}.test`;
  const accountId = await env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: `did:plc:series${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:s${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
  return { ctx, workspaceId, accountId, handle };
}

const upcoming = (ctx: Awaited<ReturnType<typeof setup>>['ctx']) =>
  listScheduled(env.deps, ctx, {
    from: new Date(),
    to: new Date(Date.now() + 30 * 86_400_000),
    statuses: ['scheduled'],
  });

async function jobState(targetId: string) {
  const job = await env.queue.queue.getJob(targetId);
  return job ? job.getState() : null;
}

describe('recurring series after creation', () => {
  it('pauses (waiting occurrences and their jobs go), resumes from now, edits the next ones, stops for good', async () => {
    const { ctx, accountId, workspaceId } = await setup();
    const start = DateTime.now().setZone('Europe/Paris').plus({ days: 1 }).toFormat("yyyy-MM-dd'T'09:00");
    const { series } = await createSeries(env.deps, ctx, {
      rrule: 'FREQ=DAILY;COUNT=6',
      start,
      content: 'daily tip',
      targets: [{ socialAccountId: accountId }],
    });
    const before = await upcoming(ctx);
    expect(before).toHaveLength(6);
    expect(before.every((t) => t.scheduledAtLocal!.includes('T09:00:00'))).toBe(true);
    expect(await jobState(before[0]!.id)).toBe('delayed');

    // A user cancels one occurrence by hand: it stays cancelled through everything below.
    const { cancel } = await import('../../tools/scheduling/index.js');
    await cancel(env.deps, ctx, before[1]!.id);

    const paused = await pauseSeries(env.deps, ctx, series.id);
    expect(paused).toMatchObject({ removed: 5, series: { status: 'paused', next: [] } });
    expect(await upcoming(ctx)).toEqual([]);
    expect(await jobState(before[0]!.id)).toBeNull();
    await expect(pauseSeries(env.deps, ctx, series.id)).rejects.toMatchObject({ code: 'invalid_state' });

    const resumed = await resumeSeries(env.deps, ctx, series.id);
    expect(resumed.series.status).toBe('active');
    expect(resumed.created).toBe(5); // the hand-cancelled date is not made again
    expect((await upcoming(ctx)).map((t) => t.content)).toEqual(Array(5).fill('daily tip'));

    const edited = await updateSeries(env.deps, ctx, series.id, { content: 'better tip', rrule: 'FREQ=DAILY;COUNT=3' });
    expect(edited).toMatchObject({ replaced: 5, created: 2 });
    const now = await upcoming(ctx);
    expect(now.map((t) => t.content)).toEqual(['better tip', 'better tip']);
    for (const t of now) expect(await jobState(t.id)).toBe('delayed');
    const [cancelled] = await env.deps.db
      .select()
      .from(schema.postTargets)
      .where(and(eq(schema.postTargets.workspaceId, workspaceId), eq(schema.postTargets.status, 'cancelled')));
    expect(cancelled?.id).toBe(before[1]!.id);

    const stopped = await stopSeries(env.deps, ctx, series.id);
    expect(stopped.series.status).toBe('stopped');
    expect(await upcoming(ctx)).toHaveLength(2); // already scheduled ones stay
    await expect(resumeSeries(env.deps, ctx, series.id)).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(updateSeries(env.deps, ctx, series.id, { content: 'x' })).rejects.toMatchObject({
      code: 'invalid_state',
    });
    expect((await listSeries(env.deps, ctx)).map((s) => s.status)).toEqual(['stopped']);

    const other = await setup();
    await expect(pauseSeries(env.deps, other.ctx, series.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('checks the role: viewers read, editors manage, and an approval workspace keeps editors out', async () => {
    const { ctx, accountId, workspaceId } = await setup();
    const start = DateTime.now().setZone('Europe/Paris').plus({ days: 1 }).toFormat("yyyy-MM-dd'T'10:00");
    const input = { rrule: 'FREQ=WEEKLY', start, content: 'weekly', targets: [{ socialAccountId: accountId }] };
    const viewer = { ...ctx, role: 'viewer' as const };
    const editor = { ...ctx, role: 'editor' as const };
    await expect(createSeries(env.deps, viewer, input)).rejects.toMatchObject({ code: 'forbidden' });
    const { series } = await createSeries(env.deps, editor, input);
    expect(await listSeries(env.deps, viewer)).toHaveLength(1);
    for (const call of [pauseSeries, stopSeries])
      await expect(call(env.deps, viewer, series.id)).rejects.toMatchObject({ code: 'forbidden' });
    await env.deps.db
      .update(schema.workspaces)
      .set({ settings: { requireApproval: true } })
      .where(eq(schema.workspaces.id, workspaceId));
    await expect(createSeries(env.deps, editor, input)).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('approval'),
    });
    await expect(createSeries(env.deps, { ...ctx, role: 'admin' }, input)).resolves.toBeTruthy();
  });
});

describe('CSV import', () => {
  it('a dry run reports every row and imports nothing; the same file twice imports each row once', async () => {
    const { ctx, handle } = await setup('Europe/Paris');
    const day = DateTime.now().setZone('Europe/Paris').plus({ days: 3 }).toFormat('yyyy-MM-dd');
    const csv = [
      'account,text,scheduled_at,media_ids',
      `${handle},First,${day} 10:00,`,
      `${handle},Second,${day} 11:00,`,
      `${handle},Bad media,${day} 12:00,00000000-0000-4000-8000-000000000000`,
      `ghost,,nonsense,`,
    ].join('\n');
    const dry = await importCsv(env.deps, ctx, csv, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, rows: 4, imported: [], duplicates: [] });
    expect(dry.ready.map((r) => r.row)).toEqual([2, 3]);
    expect(dry.rejected).toEqual([
      { row: 4, problems: [{ column: 'media_ids', message: expect.any(String) }] },
      {
        row: 5,
        problems: [
          { column: 'account', message: expect.stringContaining('ghost') },
          { column: 'text', message: 'text is empty' },
          { column: 'scheduled_at', message: expect.stringContaining('nonsense') },
        ],
      },
    ]);
    expect(await upcoming(ctx)).toEqual([]);

    const first = await importCsv(env.deps, ctx, csv);
    expect(first.imported.map((r) => r.row)).toEqual([2, 3]);
    expect(first.rejected.map((r) => r.row)).toEqual([4, 5]);
    // Twice at once, then once more with a row added: nothing is imported twice.
    const [a, b] = await Promise.all([importCsv(env.deps, ctx, csv), importCsv(env.deps, ctx, csv)]);
    expect([...a.imported, ...b.imported]).toEqual([]);
    expect(a.duplicates.map((r) => r.row)).toEqual([2, 3]);
    const more = await importCsv(env.deps, ctx, `${csv}\n${handle},Third,${day} 13:00,`);
    expect(more.imported.map((r) => r.row)).toEqual([6]);
    expect(more.duplicates.map((r) => [r.row, r.postId])).toEqual(first.imported.map((r) => [r.row, r.postId]));
    expect((await upcoming(ctx)).map((t) => t.content)).toEqual(['First', 'Second', 'Third']);

    // A viewer may check a file, not import it.
    const viewer = { ...ctx, role: 'viewer' as const };
    expect((await importCsv(env.deps, viewer, csv, { dryRun: true })).duplicates).toHaveLength(2);
    await expect(importCsv(env.deps, viewer, csv)).rejects.toMatchObject({ code: 'forbidden' });
  });
});

describe('queueing a draft', () => {
  // PGlite runs one transaction at a time; PostgreSQL runs them side by side, where only the
  // advisory lock keeps two picks of the same slot apart.
  const databases: Array<[string, () => Promise<{ env: PublishingEnv; dispose: () => Promise<void> }>]> = [
    ['PGlite', async () => ({ env, dispose: async () => undefined })],
  ];
  if (TEST_DATABASE_URL)
    databases.push([
      'PostgreSQL',
      async () => {
        const pgdb = await openPostgresForTest(TEST_DATABASE_URL!);
        const pgEnv = await startPublishingEnv({
          connectors: [createBlueskyConnector({ timeoutMs: 1_000 })],
          database: pgdb.database,
        });
        return {
          env: pgEnv,
          dispose: async () => {
            await pgEnv.close();
            await pgdb.dispose();
          },
        };
      },
    ]);

  it.each(databases)(
    'on %s, drafts queued at the same moment on one account each take their own slot',
    async (_, open) => {
      const { env: e, dispose } = await open();
      try {
        const { ctx, workspaceId } = await e.newWorkspace('Europe/Berlin');
        const accountId = await e.addAccount(workspaceId, {
          platform: 'bluesky',
          externalId: `did:plc:queue${++n}x${Date.now()}`,
          handle: `queue${n}.test`,
          credentials: {
            service: 'http://127.0.0.1:9',
            did: `did:plc:q${n}`,
            handle: `queue${n}.test`,
            accessJwt: 'a',
            refreshJwt: 'r',
          },
        });
        await setSlots(e.deps, ctx, accountId, [
          { weekday: 1, time: '08:00' },
          { weekday: 3, time: '12:00' },
          { weekday: 5, time: '18:00' },
        ]);
        const drafts = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            createPost(e.deps, ctx, {
              content: `draft ${i}`,
              targets: [{ socialAccountId: accountId }],
              mode: 'draft',
            }),
          ),
        );
        const queued = await Promise.all(drafts.map((d) => queuePostDraft(e.deps, ctx, d.id)));
        const times = queued.map((q) => q.targets[0]!.scheduledAt!.getTime());
        expect(new Set(times).size).toBe(6);
        for (const q of queued) {
          expect(q.targets[0]!.status).toBe('scheduled');
          const local = DateTime.fromJSDate(q.targets[0]!.scheduledAt!, { zone: 'Europe/Berlin' });
          expect(['1 08:00', '3 12:00', '5 18:00']).toContain(`${local.weekday} ${local.toFormat('HH:mm')}`);
          expect(await (await e.queue.queue.getJob(q.targets[0]!.id))?.getState()).toBe('delayed');
        }
        await expect(queuePostDraft(e.deps, ctx, drafts[0]!.id)).rejects.toMatchObject({ code: 'invalid_state' });
        await expect(queuePostDraft(e.deps, { ...ctx, role: 'viewer' }, drafts[0]!.id)).rejects.toMatchObject({
          code: 'forbidden',
        });
      } finally {
        await dispose();
      }
    },
    60_000,
  );
});
