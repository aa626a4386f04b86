/**
 * Recurring posts: an RFC 5545 rule (via `rrule`) read in an IANA zone. Occurrences are
 * computed on wall-clock time and only then placed in the zone, so "every Monday 09:00" stays
 * at 09:00 local across DST changes. Occurrences within the horizon become ordinary scheduled
 * posts (visible in the calendar, editable, cancellable one by one); a unique (series,
 * occurrence) key makes materialising twice a no-op.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { DateTime } from 'luxon';
import rrulePkg, { type Options as RRuleOptions } from 'rrule';
import { HeraldError, isHeraldError, schema } from '../../core/index.js';
import { audit, nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { createScheduled, requireDirectScheduling, type TargetInput } from './service.js';
import { assertTimeZone, wallClockToInstantLenient } from './time.js';
import { checkTargets } from './validation.js';

const { RRule } = rrulePkg;

export type Series = typeof schema.recurringSeries.$inferSelect;

/** Occurrences are created this far ahead. */
export const RECURRENCE_HORIZON_DAYS = 14;
const LOCAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

export function parseRule(rule: string): Partial<RRuleOptions> {
  const text = rule.trim().replace(/^RRULE:/i, '');
  let options: Partial<RRuleOptions>;
  try {
    options = RRule.parseString(text);
    if (options.freq === undefined || options.freq === null) throw new Error('FREQ is required');
    // Each occurrence is a post on every target: more often than hourly is a mistake (and
    // would create thousands of posts per materialisation), not a schedule.
    if (options.freq === RRule.MINUTELY || options.freq === RRule.SECONDLY)
      throw new Error('a series repeats at most hourly (FREQ=HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)');
    if (Array.isArray(options.byweekday) && options.byweekday.some((d) => d === null || d === undefined))
      throw new Error('BYDAY has an unknown day');
    if (options.dtstart) throw new Error('DTSTART is given separately as the start');
    // Compute one occurrence to catch rules that parse but cannot run.
    new RRule({ ...options, dtstart: new Date(Date.UTC(2026, 0, 1)) }).all((_, i) => i < 1);
  } catch (err) {
    throw new HeraldError('validation_failed', {
      message: `"${rule}" is not a valid RFC 5545 recurrence rule: ${(err as Error).message}`,
    });
  }
  return options;
}

/** Instants of the series in [from, to), in order. */
export function occurrences(series: Pick<Series, 'rrule' | 'startLocal' | 'timeZone'>, from: Date, to: Date): Date[] {
  // Floating time: wall-clock values carried in UTC dates, so the rule never sees a DST shift.
  const floating = (d: Date) =>
    DateTime.fromJSDate(d, { zone: series.timeZone }).setZone('utc', { keepLocalTime: true }).toJSDate();
  const dtstart = DateTime.fromISO(series.startLocal, { zone: 'utc' }).toJSDate();
  const rule = new RRule({ ...parseRule(series.rrule), dtstart });
  const dayMs = 86_400_000;
  return rule
    .between(new Date(floating(from).getTime() - dayMs), new Date(floating(to).getTime() + dayMs), true)
    .map((d) => {
      const w = DateTime.fromJSDate(d, { zone: 'utc' });
      return wallClockToInstantLenient(
        { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute },
        series.timeZone,
      );
    })
    .filter((at) => at >= from && at < to);
}

export interface SeriesInput {
  /** e.g. `FREQ=WEEKLY;BYDAY=MO;BYHOUR=9` or with `RRULE:` prefix; COUNT and UNTIL work as in RFC 5545. */
  rrule: string;
  /** First occurrence, wall-clock `YYYY-MM-DDTHH:MM` in `timeZone`. */
  start: string;
  timeZone?: string;
  content: string;
  targets: TargetInput[];
}

/**
 * Checks a series' rule, start, zone and targets (against their platforms, as a post would
 * be) and returns the columns to store.
 */
export async function checkSeriesInput(deps: SchedulingDeps, ctx: ServiceContext, input: SeriesInput) {
  const timeZone = assertTimeZone(input.timeZone ?? ctx.timeZone);
  parseRule(input.rrule);
  if (!LOCAL.test(input.start)) {
    throw new HeraldError('invalid_time', {
      message: `The start "${input.start}" must be a wall-clock time YYYY-MM-DDTHH:MM, read in ${timeZone}`,
    });
  }
  if (input.targets.length === 0)
    throw new HeraldError('validation_failed', { message: 'A series needs at least one target account' });
  const targets = input.targets.map((t) => ({
    socialAccountId: t.socialAccountId,
    content: t.content ?? input.content,
    threadParts: t.threadParts ?? [],
    media: t.media ?? [],
    options: t.options ?? {},
  }));
  await checkTargets(deps.db, deps.connectors, ctx.workspaceId, targets);
  return {
    rrule: input.rrule.trim().replace(/^RRULE:/i, ''),
    startLocal: input.start,
    timeZone,
    content: input.content,
    targets,
  };
}

export async function createSeries(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  input: SeriesInput,
): Promise<{ series: Series; created: number }> {
  await requireDirectScheduling(deps, ctx);
  const checked = await checkSeriesInput(deps, ctx, input);
  const [series] = await deps.db
    .insert(schema.recurringSeries)
    .values({ workspaceId: ctx.workspaceId, authorId: ctx.userId, ...checked })
    .returning();
  await audit(
    deps,
    ctx,
    'series.create',
    { type: 'recurring_series', id: series!.id },
    { rrule: series!.rrule, start: input.start, timeZone: checked.timeZone },
  );
  const created = await materializeSeries(deps, { ...ctx, timeZone: checked.timeZone }, series!);
  return { series: series!, created };
}

/** Creates the series' occurrences up to the horizon as scheduled posts; returns how many were new. */
export async function materializeSeries(deps: SchedulingDeps, ctx: ServiceContext, series: Series): Promise<number> {
  const now = nowOf(deps);
  const until = new Date(now.getTime() + RECURRENCE_HORIZON_DAYS * 86_400_000);
  const from = series.materializedUntil && series.materializedUntil > now ? series.materializedUntil : now;
  let created = 0;
  for (const at of occurrences(series, from, until)) {
    try {
      await createScheduled(
        deps,
        { ...ctx, timeZone: series.timeZone },
        { content: series.content, targets: series.targets },
        () => at,
        {
          seriesId: series.id,
          occurrenceAt: at,
          action: 'series.occurrence',
        },
      );
      created++;
    } catch (err) {
      // Already created by an earlier run: fine. Anything else stops this series' run.
      if (!isHeraldError(err, 'conflict')) throw err;
    }
  }
  await deps.db
    .update(schema.recurringSeries)
    .set({ materializedUntil: until, updatedAt: new Date() })
    .where(and(eq(schema.recurringSeries.workspaceId, series.workspaceId), eq(schema.recurringSeries.id, series.id)));
  return created;
}

/** The maintenance job: every active series, all workspaces, materialised up to the horizon. */
export async function materializeAllSeries(
  deps: SchedulingDeps,
): Promise<{ series: number; created: number; failed: number }> {
  const all = await deps.db
    .select()
    .from(schema.recurringSeries)
    .where(and(eq(schema.recurringSeries.active, true), isNull(schema.recurringSeries.stoppedAt)));
  let created = 0;
  let failed = 0;
  for (const s of all) {
    try {
      created += await materializeSeries(
        deps,
        {
          workspaceId: s.workspaceId,
          userId: s.authorId,
          timeZone: s.timeZone,
          // The series was created by someone allowed to schedule; the job acts for them.
          role: 'owner',
          channel: 'system',
          actorKind: 'system',
        },
        s,
      );
    } catch {
      failed++; // e.g. an account was disconnected; the series stays and is retried next run
    }
  }
  return { series: all.length, created, failed };
}
