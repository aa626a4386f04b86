/**
 * The calendar: every target with a time in a range, read and shown in the caller's zone (or
 * one asked for), with a count per local day.
 */
import { HeraldError, requireRole, type TargetStatus } from '../../core/index.js';
import type { SchedulingDeps } from '../scheduling/context.js';
import { listScheduled } from '../scheduling/service.js';
import { parseUserTime, showInZone } from '../scheduling/time.js';
import { timeField, type PostsContext } from './service.js';

/**
 * The calendar: every target with a time in [from, to), read and shown in the caller's zone
 * (or `zone`), with a count per local day.
 */
export async function calendar(
  deps: SchedulingDeps,
  ctx: PostsContext,
  range: { from: string; to: string; zone?: string | undefined; statuses?: TargetStatus[] | undefined },
) {
  requireRole(ctx, 'viewer');
  const zoned = range.zone ? { ...ctx, timeZone: range.zone } : ctx;
  const from = timeField('from', () => parseUserTime(range.from, zoned.timeZone));
  const to = timeField('to', () => parseUserTime(range.to, zoned.timeZone));
  if (to.getTime() - from.getTime() > 366 * 24 * 3600 * 1000)
    throw new HeraldError('invalid_time', { message: 'A calendar range can span at most 366 days' });
  const items = await listScheduled(deps, zoned, {
    from,
    to,
    ...(range.statuses?.length ? { statuses: range.statuses } : {}),
  });
  const days: Record<string, number> = {};
  for (const t of items) {
    const day = t.scheduledAtLocal!.slice(0, 10);
    days[day] = (days[day] ?? 0) + 1;
  }
  return {
    timeZone: zoned.timeZone,
    from: showInZone(from, zoned.timeZone),
    to: showInZone(to, zoned.timeZone),
    days,
    items,
  };
}
