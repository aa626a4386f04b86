/**
 * Managing recurring series after they are created: list them with their next occurrences,
 * pause (nothing more goes out until resumed), resume (occurrences from now on, none
 * back-filled), stop (for good), and edit what the next occurrences say or when they fall.
 *
 * Occurrences already created as posts are ordinary scheduled posts. Pausing or editing
 * removes the ones still waiting (every target scheduled, pending approval or a draft) and
 * creates them again from the series; an occurrence someone cancelled by hand keeps its
 * (series, occurrence) key and so stays cancelled, and one that is publishing or published
 * is never touched.
 */
import { and, eq, gte, inArray, notExists } from 'drizzle-orm';
import { HeraldError, requireRole, schema } from '../../core/index.js';
import { audit, nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { checkSeriesInput, materializeSeries, occurrences, type Series, type SeriesInput } from './recurrence.js';
import { requireDirectScheduling } from './service.js';
import { showInZone } from './time.js';

export type SeriesStatus = 'active' | 'paused' | 'stopped';

export interface SeriesView extends Series {
  status: SeriesStatus;
  /** The next few occurrences, shown in the series' zone (none when paused or stopped). */
  next: string[];
}

/** How many coming occurrences a series is shown with. */
export const SERIES_PREVIEW = 5;
const PREVIEW_WINDOWS_DAYS = [2, 31, 366];

export const statusOf = (s: Series): SeriesStatus => (s.stoppedAt ? 'stopped' : s.active ? 'active' : 'paused');

function view(deps: SchedulingDeps, s: Series): SeriesView {
  const status = statusOf(s);
  const now = nowOf(deps);
  let found: Date[] = [];
  // Widening windows: an hourly series fills the preview in a day without computing a year.
  if (status === 'active')
    for (const days of PREVIEW_WINDOWS_DAYS) {
      found = occurrences(s, now, new Date(now.getTime() + days * 86_400_000));
      if (found.length >= SERIES_PREVIEW) break;
    }
  const next = found.slice(0, SERIES_PREVIEW).map((at) => showInZone(at, s.timeZone));
  return { ...s, status, next };
}

async function requireSeries(deps: SchedulingDeps, ctx: ServiceContext, seriesId: string): Promise<Series> {
  const t = schema.recurringSeries;
  const [row] = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, seriesId)));
  if (!row) throw new HeraldError('not_found', { message: `No recurring series ${seriesId} in this workspace` });
  return row;
}

function refuse(series: Series, verb: string): HeraldError {
  return new HeraldError('invalid_state', {
    message: `Cannot ${verb} a series that is ${statusOf(series)}`,
    details: { seriesId: series.id, status: statusOf(series) },
  });
}

/** Every series of the workspace, newest first. */
export async function listSeries(deps: SchedulingDeps, ctx: ServiceContext): Promise<SeriesView[]> {
  requireRole(ctx, 'viewer');
  const t = schema.recurringSeries;
  const rows = await deps.db.select().from(t).where(eq(t.workspaceId, ctx.workspaceId));
  return rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).map((s) => view(deps, s));
}

export async function getSeries(deps: SchedulingDeps, ctx: ServiceContext, seriesId: string): Promise<SeriesView> {
  requireRole(ctx, 'viewer');
  return view(deps, await requireSeries(deps, ctx, seriesId));
}

/**
 * Deletes the series' occurrences from now on that have not started going out, with their
 * queue jobs; returns how many posts were removed.
 */
async function dropWaitingOccurrences(deps: SchedulingDeps, ctx: ServiceContext, series: Series): Promise<number> {
  const p = schema.posts;
  const t = schema.postTargets;
  const future = and(eq(p.workspaceId, ctx.workspaceId), eq(p.seriesId, series.id), gte(p.occurrenceAt, nowOf(deps)));
  const targets = await deps.db
    .select({ id: t.id, postId: t.postId })
    .from(t)
    .innerJoin(p, and(eq(p.workspaceId, t.workspaceId), eq(p.id, t.postId)))
    .where(future);
  if (targets.length === 0) return 0;
  // Any target that has started going out (or was cancelled by hand) keeps its post.
  const started = deps.db
    .select({ one: t.id })
    .from(t)
    .where(
      and(
        eq(t.workspaceId, ctx.workspaceId),
        eq(t.postId, p.id),
        inArray(t.status, ['publishing', 'published', 'failed', 'unconfirmed', 'cancelled']),
      ),
    );
  const removed = await deps.db
    .delete(p)
    .where(and(future, inArray(p.id, [...new Set(targets.map((x) => x.postId))]), notExists(started)))
    .returning({ id: p.id });
  const gone = new Set(removed.map((r) => r.id));
  // The targets went with their posts (cascade); their delayed jobs go too.
  for (const x of targets) if (gone.has(x.postId)) await deps.queue.remove(x.id);
  return gone.size;
}

async function setState(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  series: Series,
  fields: Partial<Pick<Series, 'active' | 'stoppedAt' | 'materializedUntil'>> & Partial<SeriesInputRow>,
): Promise<Series> {
  const t = schema.recurringSeries;
  const [row] = await deps.db
    .update(t)
    .set({ ...fields, updatedAt: new Date() })
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, series.id)))
    .returning();
  if (!row) throw new HeraldError('not_found', { message: `No recurring series ${series.id} in this workspace` });
  return row;
}

type SeriesInputRow = Pick<Series, 'rrule' | 'startLocal' | 'timeZone' | 'content' | 'targets'>;

/** Pauses an active series: no new occurrences, and the waiting ones are removed until it resumes. */
export async function pauseSeries(deps: SchedulingDeps, ctx: ServiceContext, seriesId: string) {
  requireRole(ctx, 'editor');
  const series = await requireSeries(deps, ctx, seriesId);
  if (statusOf(series) !== 'active') throw refuse(series, 'pause');
  const paused = await setState(deps, ctx, series, { active: false, materializedUntil: null });
  const removed = await dropWaitingOccurrences(deps, ctx, paused);
  await audit(deps, ctx, 'series.pause', { type: 'recurring_series', id: seriesId }, { removed });
  return { series: view(deps, paused), removed };
}

/** Resumes a paused series from now on: occurrences that fell during the pause are not made up. */
export async function resumeSeries(deps: SchedulingDeps, ctx: ServiceContext, seriesId: string) {
  await requireDirectScheduling(deps, ctx);
  const series = await requireSeries(deps, ctx, seriesId);
  if (statusOf(series) !== 'paused') throw refuse(series, 'resume');
  const resumed = await setState(deps, ctx, series, { active: true, materializedUntil: null });
  const created = await materializeSeries(deps, ctx, resumed);
  await audit(deps, ctx, 'series.resume', { type: 'recurring_series', id: seriesId }, { created });
  return { series: view(deps, resumed), created };
}

/** Stops a series for good; already scheduled occurrences stay and can be cancelled one by one. */
export async function stopSeries(deps: SchedulingDeps, ctx: ServiceContext, seriesId: string) {
  requireRole(ctx, 'editor');
  const series = await requireSeries(deps, ctx, seriesId);
  if (statusOf(series) === 'stopped') throw refuse(series, 'stop');
  const stopped = await setState(deps, ctx, series, { active: false, stoppedAt: nowOf(deps) });
  await audit(deps, ctx, 'series.stop', { type: 'recurring_series', id: seriesId });
  return { series: view(deps, stopped) };
}

/**
 * Changes what the next occurrences say (text, accounts) or when they fall (rule, start,
 * zone). Waiting occurrences are replaced by ones made from the new series; the ones already
 * going out or gone out keep what they had.
 */
export async function updateSeries(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  seriesId: string,
  change: Partial<SeriesInput>,
) {
  await requireDirectScheduling(deps, ctx);
  const series = await requireSeries(deps, ctx, seriesId);
  if (statusOf(series) === 'stopped') throw refuse(series, 'edit');
  const merged = await checkSeriesInput(deps, ctx, {
    rrule: change.rrule ?? series.rrule,
    start: change.start ?? series.startLocal,
    timeZone: change.timeZone ?? series.timeZone,
    content: change.content ?? series.content,
    // New text reaches every account that had the old text; an account's own variant stays.
    targets:
      change.targets ??
      series.targets.map((t) =>
        change.content !== undefined && t.content === series.content ? { ...t, content: change.content } : t,
      ),
  });
  const updated = await setState(deps, ctx, series, { ...merged, materializedUntil: null });
  const replaced = await dropWaitingOccurrences(deps, ctx, updated);
  const created = updated.active ? await materializeSeries(deps, ctx, updated) : 0;
  await audit(
    deps,
    ctx,
    'series.update',
    { type: 'recurring_series', id: seriesId },
    { changed: Object.keys(change), replaced, created },
  );
  return { series: view(deps, updated), replaced, created };
}
