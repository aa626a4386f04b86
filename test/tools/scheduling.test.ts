/**
 * Slots, recurring posts, CSV import and posting caps, through the real service functions
 * on PGlite and Redis, validated by the real Bluesky connector (no worker: nothing publishes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { getPost, getTarget } from '../../core/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import type { Connector } from '../../connectors/index.js';
import {
  addToQueue,
  createSeries,
  importCsv,
  listScheduled,
  materializeSeries,
  schedulePost,
  setSlots,
  showInZone,
  stopSeries,
  type Series,
} from '../../tools/scheduling/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let env: PublishingEnv;
const bluesky = createBlueskyConnector({ timeoutMs: 1_000 });
// The same connector with a small daily cap, to exercise the quota ledger.
const capped: Connector = {
  ...bluesky,
  platform: 'capped',
  capabilities: (a) => ({ ...bluesky.capabilities(a), platform: 'capped', postsPerAccountPerDay: 2 }),
};

beforeAll(async () => {
  env = await startPublishingEnv({ connectors: [bluesky, capped] });
});
afterAll(() => env?.close());

let n = 0;
async function setup(timeZone = 'Europe/Paris', platform = 'bluesky') {
  const { ctx, workspaceId } = await env.newWorkspace(timeZone);
  const handle = `acct${++n}.test`;
  const accountId = await env.addAccount(workspaceId, {
    platform,
    externalId: `did:plc:test${n}x${Date.now()}`,
    handle,
    credentials: { service: 'http://127.0.0.1:9', did: `did:plc:test${n}`, handle, accessJwt: 'a', refreshJwt: 'r' },
  });
  return { ctx, workspaceId, accountId, handle };
}

describe('posting slots and "add to queue"', () => {
  it('takes the next free slot in the account zone, skipping taken ones', async () => {
    const { ctx, accountId } = await setup('America/New_York');
    await setSlots(env.deps, ctx, accountId, [
      { weekday: 1, time: '09:00' },
      { weekday: 3, time: '17:30' },
    ]);
    const first = await addToQueue(env.deps, ctx, { content: 'first', targets: [{ socialAccountId: accountId }] });
    const second = await addToQueue(env.deps, ctx, { content: 'second', targets: [{ socialAccountId: accountId }] });
    const [a, b] = [first.targets[0]!.scheduledAt!, second.targets[0]!.scheduledAt!];
    const la = DateTime.fromJSDate(a, { zone: 'America/New_York' });
    const lb = DateTime.fromJSDate(b, { zone: 'America/New_York' });
    const slots = [
      [1, '09:00'],
      [3, '17:30'],
    ];
    expect(slots).toContainEqual([la.weekday, la.toFormat('HH:mm')]);
    expect(slots).toContainEqual([lb.weekday, lb.toFormat('HH:mm')]);
    expect(b.getTime()).toBeGreaterThan(a.getTime());
    expect(a.getTime()).toBeGreaterThan(Date.now());
    expect(first.targets[0]!.scheduledAtLocal).toMatch(/-0[45]:00$/);
  });

  it('posts queued at the same moment on one account each get their own slot', async () => {
    const { ctx, accountId } = await setup('Europe/Berlin');
    await setSlots(env.deps, ctx, accountId, [
      { weekday: 2, time: '08:00' },
      { weekday: 4, time: '12:00' },
      { weekday: 6, time: '10:00' },
    ]);
    const queued = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        addToQueue(env.deps, ctx, { content: `at once ${i}`, targets: [{ socialAccountId: accountId }] }),
      ),
    );
    const times = queued.map((q) => q.targets[0]!.scheduledAt!.getTime());
    expect(new Set(times).size).toBe(6);
  });

  it('without slots, explains what to do; bad slots are refused', async () => {
    const { ctx, accountId } = await setup();
    await expect(
      addToQueue(env.deps, ctx, { content: 'x', targets: [{ socialAccountId: accountId }] }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('no posting slots'),
    });
    await expect(setSlots(env.deps, ctx, accountId, [{ weekday: 8, time: '09:00' }])).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(setSlots(env.deps, ctx, accountId, [{ weekday: 1, time: '9am' }])).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      setSlots(env.deps, ctx, accountId, [{ weekday: 1, time: '09:00' }], 'Nowhere/Land'),
    ).rejects.toMatchObject({ code: 'invalid_time' });
    await expect(
      createSeries(env.deps, ctx, {
        rrule: 'FREQ=MINUTELY;INTERVAL=5',
        start: '2027-01-01T09:00',
        content: 'x',
        targets: [{ socialAccountId: accountId }],
      }),
    ).rejects.toMatchObject({ code: 'validation_failed', message: expect.stringContaining('at most hourly') });
  });
});

describe('recurring posts', () => {
  it('creates occurrences within the horizon as scheduled posts, at 09:00 local, never twice', async () => {
    const { ctx, accountId, workspaceId } = await setup('Europe/Paris');
    const start = DateTime.now().setZone('Europe/Paris').plus({ days: 1 }).toFormat("yyyy-MM-dd'T'09:00");
    const { series, created } = await createSeries(env.deps, ctx, {
      rrule: 'FREQ=DAILY;COUNT=5',
      start,
      content: 'daily tip',
      targets: [{ socialAccountId: accountId }],
    });
    expect(created).toBe(5);
    const upcoming = await listScheduled(env.deps, ctx, {
      from: new Date(),
      to: new Date(Date.now() + 30 * 86_400_000),
    });
    expect(upcoming).toHaveLength(5);
    for (const t of upcoming) expect(showInZone(t.scheduledAt!, 'Europe/Paris')).toMatch(/T09:00:00\.000\+0[12]:00$/);
    const post = await getPost(env.deps.db, workspaceId, upcoming[0]!.postId);
    expect(post?.post.seriesId).toBe(series.id);
    // A second materialisation (as the maintenance job does) adds nothing.
    expect(await materializeSeries(env.deps, ctx, { ...series, materializedUntil: null } as Series)).toBe(0);
    await stopSeries(env.deps, ctx, series.id);
  });

  it('refuses a bad rule or start', async () => {
    const { ctx, accountId } = await setup();
    await expect(
      createSeries(env.deps, ctx, {
        rrule: 'FREQ=OFTEN',
        start: '2027-01-01T09:00',
        content: 'x',
        targets: [{ socialAccountId: accountId }],
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      createSeries(env.deps, ctx, {
        rrule: 'FREQ=DAILY',
        start: 'tomorrow 9am',
        content: 'x',
        targets: [{ socialAccountId: accountId }],
      }),
    ).rejects.toMatchObject({ code: 'invalid_time' });
  });
});

describe('CSV import', () => {
  it('imports valid rows and reports each broken row with its problems, by column', async () => {
    const { ctx, handle, workspaceId } = await setup('Europe/Paris');
    const day = DateTime.now().setZone('Europe/Paris').plus({ days: 2 }).toFormat('yyyy-MM-dd');
    const csv = [
      'Account,Text,Scheduled_At,time_zone,thread',
      `${handle},Hello from CSV,${day} 10:00,,`,
      `@${handle},"Quoted, with comma",${day}T11:00:00Z,,`,
      `nobody.test,Orphan,${day} 10:00,,`,
      `${handle},${'x'.repeat(301)},${day} 12:00,,`,
      `${handle},Past,2020-01-01 10:00,,`,
      `${handle},Bad zone,${day} 10:00,Mars/Base,`,
      `${handle},,${day} 10:00,,`,
      `${handle},Thread start,${day} 13:00,America/New_York,"second part\n---\nthird part"`,
    ].join('\n');
    const report = await importCsv(env.deps, ctx, csv);
    expect(report.imported.map((r) => r.row)).toEqual([2, 3, 9]);
    expect(report.rejected.map((r) => r.row)).toEqual([4, 5, 6, 7, 8]);
    const problems = (row: number) => report.rejected.find((r) => r.row === row)!.problems;
    expect(problems(4)).toEqual([{ column: 'account', message: expect.stringContaining('nobody.test') }]);
    expect(problems(5)).toEqual([{ column: 'text', message: expect.stringContaining('300') }]);
    expect(problems(6)).toEqual([{ column: 'scheduled_at', message: expect.stringContaining('in the past') }]);
    expect(problems(7)).toEqual([{ column: 'time_zone', message: expect.stringContaining('Mars/Base') }]);
    expect(problems(8)).toContainEqual({ column: 'text', message: 'text is empty' });
    const thread = await getTarget(env.deps.db, workspaceId, report.imported[2]!.targetId);
    expect(thread?.threadParts).toEqual(['second part', 'third part']);
    expect(report.imported[2]!.scheduledAt).toMatch(/T13:00:00\.000-0[45]:00$/);
  });

  it('a file-level problem imports nothing', async () => {
    const { ctx, handle } = await setup();
    const day = DateTime.now().plus({ days: 2 }).toFormat('yyyy-MM-dd');
    for (const [file, message] of [
      ['', 'empty'],
      [`account,text\n${handle},hi`, 'Missing column'],
      [`account,text,scheduled_at,colour\n${handle},hi,${day} 10:00,red`, 'Unknown column'],
      [`account,text,scheduled_at\n${handle},"unterminated,${day} 10:00`, 'not valid CSV'],
      [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x01]), 'binary'],
      [`account,text,scheduled_at\n${handle},a,${day} 10:00,extra`, 'not valid CSV'],
    ] as const) {
      await expect(importCsv(env.deps, ctx, file as string)).rejects.toMatchObject({
        code: 'csv_invalid',
        message: expect.stringContaining(message),
      });
    }
    expect(
      await listScheduled(env.deps, ctx, { from: new Date(), to: new Date(Date.now() + 10 * 86_400_000) }),
    ).toEqual([]);
  });
});

describe('posting caps', () => {
  it('refuses a post that would exceed the cap in a rolling 24 hours', async () => {
    const { ctx, accountId } = await setup('UTC', 'capped');
    const base = Date.now() + 3_600_000;
    await schedulePost(env.deps, ctx, {
      content: 'one',
      targets: [{ socialAccountId: accountId }],
      at: new Date(base),
    });
    await schedulePost(env.deps, ctx, {
      content: 'two',
      targets: [{ socialAccountId: accountId }],
      at: new Date(base + 3_600_000),
    });
    await expect(
      schedulePost(env.deps, ctx, {
        content: 'three',
        targets: [{ socialAccountId: accountId }],
        at: new Date(base + 7_200_000),
      }),
    ).rejects.toMatchObject({
      code: 'quota_exceeded',
      details: { accounts: [expect.objectContaining({ cap: 2, count: 3 })] },
    });
    // A day later there is room again.
    await schedulePost(env.deps, ctx, {
      content: 'later',
      targets: [{ socialAccountId: accountId }],
      at: new Date(base + 26 * 3_600_000),
    });
  });
});
