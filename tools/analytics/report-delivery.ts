/**
 * The weekly report, delivered: every member of a workspace with an active account gets last
 * week's report on Monday at 09:00 in their own zone (read on that very Monday, so a DST change
 * moves nothing), through the notifier that fans out to the WebSocket, Slack and Telegram
 * deliverers — unless they turned it off. The metrics queue's `report-tick` job scheduler adds
 * each member's job (job id per member and week), and the notification's dedupe key
 * (`analytics.weekly_report.<member>.<week>`) makes a retry, a second worker or a restart
 * send nothing twice: at most once per member, workspace and week.
 */
import { and, eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { HeraldError, memberZone, requireRole, schema, type Db, type Role } from '../../core/index.js';
import type { SendInput } from '../notifications/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { weeklyReport } from './report.js';

/** ISO weekday the report goes out on (Monday). */
export const WEEKLY_REPORT_WEEKDAY = 1;
/** Local time it goes out at, in the member's zone. */
export const WEEKLY_REPORT_TIME = '09:00';
/** Between two ticks of the report schedule. */
export const REPORT_TICK_EVERY_MS = 15 * 60_000;
/** A tick adds the reports due before now + this (more than a tick, so none falls between two). */
export const REPORT_LOOKAHEAD_MS = 20 * 60_000;
/** A Monday morning missed (workers down) is still sent up to this late, then skipped for the week. */
export const REPORT_LATE_MS = 12 * 3_600_000;
export const WEEKLY_REPORT_KIND = 'analytics.weekly_report';

export interface ReportSettings {
  weeklyReport: boolean;
  /** When it goes out, in words ("Monday 09:00 Europe/Paris"). */
  sendsAt: string;
  timeZone: string;
}

export const ReportSettingsInput = z.strictObject({ weeklyReport: z.boolean() });
export type ReportSettingsInput = z.infer<typeof ReportSettingsInput>;

export interface ReportDeliveryDeps {
  db: Db;
  /** The notifier's `send` (WebSocket, Slack, Telegram); unset, nothing is sent. */
  notify?: ((input: SendInput) => Promise<unknown>) | undefined;
  now?: (() => Date) | undefined;
}

function memberOf(ctx: ServiceContext): string {
  requireRole(ctx, 'viewer');
  if (!ctx.userId)
    throw new HeraldError('forbidden', {
      message: 'Report delivery is a member’s choice; this caller acts for no one',
    });
  return ctx.userId;
}

/** The caller's own choice in this workspace (on unless turned off). */
export async function getReportSettings(
  deps: Pick<ReportDeliveryDeps, 'db'>,
  ctx: ServiceContext,
): Promise<ReportSettings> {
  const userId = memberOf(ctx);
  const t = schema.analyticsReportSettings;
  const [row] = await deps.db
    .select({ weeklyReport: t.weeklyReport })
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId)));
  return {
    weeklyReport: row?.weeklyReport ?? true,
    sendsAt: `Monday ${WEEKLY_REPORT_TIME} ${ctx.timeZone}`,
    timeZone: ctx.timeZone,
  };
}

/** Turns the caller's weekly report on or off in this workspace (any member, for themselves). */
export async function updateReportSettings(
  deps: Pick<ReportDeliveryDeps, 'db'>,
  ctx: ServiceContext,
  input: ReportSettingsInput,
): Promise<ReportSettings> {
  const userId = memberOf(ctx);
  const parsed = ReportSettingsInput.safeParse(input);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.') || '(settings)'}: ${i.message}`).join('; '),
    });
  const t = schema.analyticsReportSettings;
  await deps.db
    .insert(t)
    .values({ workspaceId: ctx.workspaceId, userId, weeklyReport: parsed.data.weeklyReport })
    .onConflictDoUpdate({
      target: [t.workspaceId, t.userId],
      set: { weeklyReport: parsed.data.weeklyReport, updatedAt: new Date() },
    });
  return getReportSettings(deps, ctx);
}

export interface ReportRecipient {
  workspaceId: string;
  userId: string;
  timeZone: string;
}

/** Members who get the report: in a workspace with an active account, and not turned off. */
export async function reportRecipients(db: Db): Promise<ReportRecipient[]> {
  const res = (await db.execute(sql`
    select m.workspace_id, m.user_id,
      -- The member's zone, or the workspace's while theirs is the UTC default (as REST reads it).
      case when u.time_zone <> 'UTC' then u.time_zone else w.time_zone end as time_zone
    from memberships m
    join users u on u.id = m.user_id
    join workspaces w on w.id = m.workspace_id
    left join analytics_report_settings s on s.workspace_id = m.workspace_id and s.user_id = m.user_id
    where coalesce(s.weekly_report, true)
      and exists (select 1 from social_accounts a where a.workspace_id = m.workspace_id and a.status = 'active')`)) as {
    rows: Array<{ workspace_id: string; user_id: string; time_zone: string }>;
  };
  return res.rows.map((r) => ({ workspaceId: r.workspace_id, userId: r.user_id, timeZone: r.time_zone }));
}

/**
 * The member's report instants (Monday 09:00 local, this week's and next week's) that fall in
 * [now − late, now + ahead), each with its week: the Monday it goes out, YYYY-MM-DD.
 */
export function dueReports(
  member: Pick<ReportRecipient, 'timeZone'>,
  now: Date,
  window: { lateMs: number; aheadMs: number } = { lateMs: REPORT_LATE_MS, aheadMs: REPORT_LOOKAHEAD_MS },
): Array<{ week: string; at: Date }> {
  const [hour, minute] = WEEKLY_REPORT_TIME.split(':').map(Number) as [number, number];
  const local = DateTime.fromJSDate(now, { zone: member.timeZone }).startOf('day');
  const monday = local.minus({ days: local.weekday - WEEKLY_REPORT_WEEKDAY });
  const out: Array<{ week: string; at: Date }> = [];
  for (const d of [monday, monday.plus({ weeks: 1 })]) {
    const at = d.set({ hour, minute, second: 0, millisecond: 0 }).toJSDate();
    const delta = at.getTime() - now.getTime();
    if (delta >= -window.lateMs && delta < window.aheadMs) out.push({ week: d.toFormat('yyyy-LL-dd'), at });
  }
  return out;
}

export interface WeeklyReportJob {
  workspaceId: string;
  userId: string;
  /** The Monday (YYYY-MM-DD, the member's zone) it goes out: the report covers the week before. */
  week: string;
}

export type ReportDelivery =
  { kind: 'sent'; from: string; to: string } | { kind: 'duplicate' } | { kind: 'skipped'; reason: string };

/** Renders last week's report for the member and sends it once (the job's body, also callable directly). */
export async function deliverWeeklyReport(deps: ReportDeliveryDeps, job: WeeklyReportJob): Promise<ReportDelivery> {
  const m = schema.memberships;
  const u = schema.users;
  const [member] = await deps.db
    .select({ role: m.role, timeZone: memberZone })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .innerJoin(schema.workspaces, eq(schema.workspaces.id, m.workspaceId))
    .where(and(eq(m.workspaceId, job.workspaceId), eq(m.userId, job.userId)));
  if (!member) return { kind: 'skipped', reason: 'no longer a member' };
  const ctx: ServiceContext = {
    workspaceId: job.workspaceId,
    userId: job.userId,
    role: member.role as Role,
    timeZone: member.timeZone,
    channel: 'system',
    actorKind: 'system',
  };
  if (!(await getReportSettings(deps, ctx)).weeklyReport) return { kind: 'skipped', reason: 'weekly report is off' };
  if (!deps.notify) return { kind: 'skipped', reason: 'no notifier' };
  const monday = DateTime.fromISO(job.week, { zone: ctx.timeZone });
  if (!monday.isValid || monday.weekday !== WEEKLY_REPORT_WEEKDAY)
    return { kind: 'skipped', reason: `${job.week} is not a Monday in ${ctx.timeZone}` };
  // Read as of that Monday morning: the report is the full week before it, whenever the job runs.
  const asOf = monday.set({ hour: 9 }).toJSDate();
  const report = await weeklyReport({ db: deps.db }, ctx, asOf);
  const sent = (await deps.notify({
    workspaceId: job.workspaceId,
    userId: job.userId,
    kind: WEEKLY_REPORT_KIND,
    text: report.markdown,
    data: {
      week: job.week,
      from: report.from,
      to: report.to,
      timeZone: report.timeZone,
      charts: {
        daily: '/v1/analytics/report/charts/daily.svg',
        platforms: '/v1/analytics/report/charts/platforms.svg',
      },
    },
    dedupeKey: `${WEEKLY_REPORT_KIND}.${job.userId}.${job.week}`,
  })) as { duplicate?: boolean } | undefined;
  return sent?.duplicate ? { kind: 'duplicate' } : { kind: 'sent', from: report.from, to: report.to };
}
