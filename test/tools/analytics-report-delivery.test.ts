/**
 * The weekly report, delivered: on PGlite with real Redis (BullMQ) and the real notifier, a
 * member gets last week's report once per week however often it is sent or ticked, at Monday
 * 09:00 in their own zone through DST changes, through every deliverer; a member who turned it
 * off (REST or the agent tool reach the same service) gets nothing, in that workspace only.
 */
import { randomUUID } from 'node:crypto';
import { Job, type Worker } from 'bullmq';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createLogger, createRedisConnection, createUser, schema } from '../../core/index.js';
import { ConnectorRegistry } from '../../connectors/index.js';
import {
  deliverWeeklyReport,
  dueReports,
  getReportSettings,
  MetricsQueue,
  reportRecipients,
  runReportTick,
  startMetricsWorker,
  updateReportSettings,
  WEEKLY_REPORT_KIND,
} from '../../tools/analytics/index.js';
import { Notifier, type Notification } from '../../tools/notifications/index.js';
import { AccountGate } from '../../tools/publishing/account-gate.js';
import { eventually, REDIS_URL } from '../helpers/publishing-env.js';
import { addHistory, openHistory, workspaceWithAccount } from './analytics-history.js';

let h: Awaited<ReturnType<typeof openHistory>>;
let notifier: Notifier;
const delivered: Notification[] = [];

beforeAll(async () => {
  h = await openHistory();
  notifier = new Notifier({ db: h.database.db, events: null, logger: createLogger({ level: 'silent' }) });
  notifier.addDeliverer({ name: 'capture', deliver: async (n) => void delivered.push(n) });
});
afterAll(() => h?.database.close());

const deps = () => ({ db: h.database.db, notify: (input: Parameters<Notifier['send']>[0]) => notifier.send(input) });
/** The Monday 09:00 (Europe/Paris) of the week of 7 Dec 2026, and the one after. */
const MONDAY = '2026-12-07';

describe('weekly report delivery', () => {
  it("sends last week's report once per member and week, through every deliverer", async () => {
    const ws = await workspaceWithAccount(h, { timeZone: 'Europe/Paris' });
    // Two posts in the week before Monday 7 Dec (Mon 30 Nov – Sun 6 Dec), one the week before.
    await addHistory(h, ws, [
      { publishedAt: new Date('2026-12-01T10:00:00Z'), content: 'first', likes: 12 },
      { publishedAt: new Date('2026-12-03T10:00:00Z'), content: 'second', likes: 30 },
      { publishedAt: new Date('2026-11-25T10:00:00Z'), content: 'older', likes: 5 },
    ]);
    const job = { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, week: MONDAY };
    const first = await deliverWeeklyReport(deps(), job);
    expect(first).toMatchObject({ kind: 'sent', from: 'Mon 30 Nov 2026, 00:00' });
    expect(await deliverWeeklyReport(deps(), job)).toEqual({ kind: 'duplicate' });
    const mine = delivered.filter((n) => n.userId === ws.ctx.userId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ kind: WEEKLY_REPORT_KIND, data: { week: MONDAY } });
    // The figures are last week's: 2 posts, 42 engagements, beside 1 post and 5 the week before.
    expect(mine[0]!.text).toMatch(/Posts published \| 2 \| 1/);
    expect(mine[0]!.text).toMatch(/Engagements \| 42 \| 5/);
    // A date that is not a Monday in the member's zone sends nothing.
    expect(await deliverWeeklyReport(deps(), { ...job, week: '2026-12-08' })).toMatchObject({ kind: 'skipped' });
  });

  it('a member who turned it off gets nothing, in that workspace only; others still get theirs', async () => {
    const ws = await workspaceWithAccount(h, { timeZone: 'Europe/Paris' });
    const other = await workspaceWithAccount(h, { timeZone: 'Europe/Paris' });
    // The same person is also a viewer of the other workspace.
    await addMember(h.database.db, other.ctx.workspaceId, ws.ctx.userId!, 'viewer');
    const colleague = await createUser(h.database.db, { email: `${randomUUID()}@example.com`, timeZone: 'Asia/Tokyo' });
    await addMember(h.database.db, ws.ctx.workspaceId, colleague.id, 'viewer');

    expect(await getReportSettings(h.database, ws.ctx)).toMatchObject({
      weeklyReport: true,
      sendsAt: 'Monday 09:00 Europe/Paris',
    });
    // A viewer may turn their own report off.
    const off = await updateReportSettings(h.database, { ...ws.ctx, role: 'viewer' }, { weeklyReport: false });
    expect(off.weeklyReport).toBe(false);
    await expect(
      updateReportSettings(h.database, ws.ctx, { weeklyReport: 'no' } as unknown as { weeklyReport: boolean }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(
      updateReportSettings(h.database, { ...ws.ctx, userId: null }, { weeklyReport: true }),
    ).rejects.toMatchObject({ code: 'forbidden' });

    const recipients = await reportRecipients(h.database.db);
    const has = (w: string, u: string) => recipients.some((r) => r.workspaceId === w && r.userId === u);
    expect(has(ws.ctx.workspaceId, ws.ctx.userId!)).toBe(false);
    expect(has(other.ctx.workspaceId, ws.ctx.userId!)).toBe(true);
    expect(recipients.find((r) => r.userId === colleague.id)).toMatchObject({ timeZone: 'Asia/Tokyo' });
    expect(
      await deliverWeeklyReport(deps(), { workspaceId: ws.ctx.workspaceId, userId: ws.ctx.userId!, week: MONDAY }),
    ).toEqual({ kind: 'skipped', reason: 'weekly report is off' });
    expect(
      await deliverWeeklyReport(deps(), {
        workspaceId: other.ctx.workspaceId,
        userId: ws.ctx.userId!,
        week: MONDAY,
      }),
    ).toMatchObject({ kind: 'sent' });
  });

  it('falls due on Monday 09:00 local through DST changes in two zones, and not on other days', () => {
    // Paris moved to summer time on Sunday 29 March 2026: 09:00 CEST is 07:00 UTC.
    expect(dueReports({ timeZone: 'Europe/Paris' }, new Date('2026-03-30T06:55:00Z'))).toEqual([
      { week: '2026-03-30', at: new Date('2026-03-30T07:00:00Z') },
    ]);
    // The Monday before it, 09:00 CET was 08:00 UTC.
    expect(dueReports({ timeZone: 'Europe/Paris' }, new Date('2026-03-23T07:50:00Z'))).toEqual([
      { week: '2026-03-23', at: new Date('2026-03-23T08:00:00Z') },
    ]);
    // New York left summer time on Sunday 1 November 2026: 09:00 EST is 14:00 UTC.
    expect(dueReports({ timeZone: 'America/New_York' }, new Date('2026-11-02T13:50:00Z'))).toEqual([
      { week: '2026-11-02', at: new Date('2026-11-02T14:00:00Z') },
    ]);
    // Late (workers were down) but the same day: still due; a day later: skipped.
    expect(dueReports({ timeZone: 'America/New_York' }, new Date('2026-11-02T20:00:00Z'))).toHaveLength(1);
    expect(dueReports({ timeZone: 'America/New_York' }, new Date('2026-11-03T14:00:00Z'))).toEqual([]);
    expect(dueReports({ timeZone: 'Europe/Paris' }, new Date('2026-03-27T07:00:00Z'))).toEqual([]);
  });

  it('the report schedule adds each member’s week once, and the metrics worker delivers it once', async () => {
    const ws = await workspaceWithAccount(h, { timeZone: 'Europe/Paris' });
    const bull = createRedisConnection(REDIS_URL, { purpose: 'worker' });
    const prefix = `test-reports-${randomUUID().slice(0, 8)}`;
    const queue = new MetricsQueue({ connection: bull, prefix });
    const gate = new AccountGate(bull, 60_000, prefix);
    let worker: Worker | undefined;
    try {
      // Monday 7 Dec 2026, 09:00 in Paris: the tick puts the report due now.
      const at = new Date('2026-12-07T08:00:00Z');
      const before = await runReportTick(h.database, queue, at);
      expect(before).toBeGreaterThanOrEqual(1);
      await runReportTick(h.database, queue, at);
      const id = `report.${ws.ctx.workspaceId}.${ws.ctx.userId}.${MONDAY}`;
      expect(await Job.fromId(queue.queue, id)).toBeDefined();
      const jobs = (await queue.queue.getJobs(['delayed', 'waiting', 'prioritized'])).filter((j) => j.id === id);
      expect(jobs).toHaveLength(1);
      worker = startMetricsWorker(
        {
          db: h.database.db,
          cipher: h.cipher,
          connectors: new ConnectorRegistry([]),
          gate,
          logger: createLogger({ level: 'silent' }),
          notify: (input) => notifier.send(input),
        },
        queue,
        { connection: bull, prefix },
      );
      const n = schema.notifications;
      const sent = await eventually(async () => {
        const rows = await h.database.db
          .select()
          .from(n)
          .where(and(eq(n.workspaceId, ws.ctx.workspaceId), eq(n.kind, WEEKLY_REPORT_KIND)));
        return rows.length > 0 && rows;
      });
      expect(sent).toHaveLength(1);
      expect(await (await Job.fromId(queue.queue, id))!.getState()).toBe('completed');
      // Ticking again the same morning adds nothing new and sends nothing twice.
      await runReportTick(h.database, queue, new Date('2026-12-07T08:05:00Z'));
      expect(delivered.filter((d) => d.workspaceId === ws.ctx.workspaceId)).toHaveLength(1);
    } finally {
      await worker?.close();
      await queue.queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await bull.quit();
    }
  });
});
