/**
 * Posting slots: a weekly schedule per account ("Mon–Fri 09:00 and 17:30, Europe/Paris").
 * "Add to queue" takes each target account's next slot that is in the future and not yet
 * taken by another post on that account. A slot inside a spring-forward gap moves forward by
 * the gap (02:30 becomes 03:30), as RFC 5545 does; it is never skipped.
 */
import { and, asc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { getSocialAccount, HeraldError, mapConstraintErrors, requireRole, schema, type Db } from '../../core/index.js';
import { audit, nowOf, type SchedulingDeps, type ServiceContext } from './context.js';
import { announceScheduled, insertScheduled, requireDirectScheduling, type TargetInput } from './service.js';
import { assertTimeZone, wallClockToInstantLenient } from './time.js';

export interface SlotInput {
  /** ISO weekday 1 (Monday) to 7 (Sunday). */
  weekday: number;
  /** `HH:MM`, 24-hour. */
  time: string;
}

export type PostingSlot = typeof schema.postingSlots.$inferSelect;

const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
/** How far ahead "add to queue" looks for a free slot. */
export const QUEUE_HORIZON_DAYS = 90;
/** Ten a day, every day: more is a mistake, not a schedule. */
export const MAX_SLOTS_PER_ACCOUNT = 70;

/** Replaces the account's weekly slots. */
export async function setSlots(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  socialAccountId: string,
  slots: SlotInput[],
  timeZone = ctx.timeZone,
): Promise<PostingSlot[]> {
  requireRole(ctx, 'editor');
  assertTimeZone(timeZone);
  const account = await getSocialAccount(deps.db, ctx.workspaceId, socialAccountId);
  if (!account)
    throw new HeraldError('not_found', { message: `No social account ${socialAccountId} in this workspace` });
  if (slots.length > MAX_SLOTS_PER_ACCOUNT)
    throw new HeraldError('validation_failed', {
      message: `An account takes at most ${MAX_SLOTS_PER_ACCOUNT} weekly slots; got ${slots.length}`,
    });
  for (const s of slots) {
    if (!Number.isInteger(s.weekday) || s.weekday < 1 || s.weekday > 7 || !TIME.test(s.time)) {
      throw new HeraldError('validation_failed', {
        message: `Slot ${JSON.stringify(s)} is invalid: weekday must be 1 (Monday) to 7 (Sunday) and time HH:MM`,
      });
    }
  }
  const t = schema.postingSlots;
  const rows = await mapConstraintErrors(
    () =>
      deps.db.transaction(async (tx) => {
        await tx.delete(t).where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.socialAccountId, socialAccountId)));
        if (slots.length === 0) return [];
        return tx
          .insert(t)
          .values(
            slots.map((s) => ({
              workspaceId: ctx.workspaceId,
              socialAccountId,
              weekday: s.weekday,
              localTime: s.time,
              timeZone,
            })),
          )
          .returning();
      }),
    'The same slot',
  );
  await audit(deps, ctx, 'slots.set', { type: 'social_account', id: socialAccountId }, { slots, timeZone });
  return rows.sort((a, b) => a.weekday - b.weekday || a.localTime.localeCompare(b.localTime));
}

export async function listSlots(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  socialAccountId: string,
): Promise<PostingSlot[]> {
  requireRole(ctx, 'viewer');
  const account = await getSocialAccount(deps.db, ctx.workspaceId, socialAccountId);
  if (!account)
    throw new HeraldError('not_found', { message: `No social account ${socialAccountId} in this workspace` });
  const t = schema.postingSlots;
  return deps.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.socialAccountId, socialAccountId)))
    .orderBy(asc(t.weekday), asc(t.localTime));
}

/** The account's slot instants in [from, from + days), earliest first. */
export function slotInstants(slots: PostingSlot[], from: Date, days: number): Date[] {
  const out: Date[] = [];
  for (const slot of slots) {
    const [hour, minute] = slot.localTime.split(':').map(Number) as [number, number];
    let day = DateTime.fromJSDate(from, { zone: slot.timeZone }).startOf('day');
    for (let i = 0; i <= days; i++, day = day.plus({ days: 1 })) {
      if (day.weekday !== slot.weekday) continue;
      const at = wallClockToInstantLenient(
        { year: day.year, month: day.month, day: day.day, hour, minute },
        slot.timeZone,
      );
      if (at >= from) out.push(at);
    }
  }
  return out.sort((a, b) => a.getTime() - b.getTime());
}

/** The first slot of the account at or after `from` that no other post on it takes. */
export async function nextFreeSlot(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  socialAccountId: string,
  from = nowOf(deps),
): Promise<Date> {
  const slots = await listSlots(deps, ctx, socialAccountId);
  if (slots.length === 0) {
    throw new HeraldError('validation_failed', {
      message: 'This account has no posting slots; set its weekly slots first or schedule at a time',
      details: { socialAccountId },
    });
  }
  const candidates = slotInstants(slots, from, QUEUE_HORIZON_DAYS);
  const t = schema.postTargets;
  const taken = await deps.db
    .select({ at: t.scheduledAt })
    .from(t)
    .where(
      and(
        eq(t.workspaceId, ctx.workspaceId),
        eq(t.socialAccountId, socialAccountId),
        inArray(t.status, ['scheduled', 'publishing', 'published']),
        gte(t.scheduledAt, from),
        lt(t.scheduledAt, new Date(from.getTime() + (QUEUE_HORIZON_DAYS + 1) * 86_400_000)),
      ),
    );
  const takenAt = new Set(taken.map((r) => r.at!.getTime()));
  const free = candidates.find((c) => !takenAt.has(c.getTime()));
  if (!free)
    throw new HeraldError('validation_failed', {
      message: `Every slot in the next ${QUEUE_HORIZON_DAYS} days is taken`,
    });
  return free;
}

/**
 * Schedules the post in each target account's next free slot. Picking the slot and storing
 * the post happen in one transaction holding a lock per account (PostgreSQL advisory locks,
 * taken in a fixed order), so two posts queued at once on the same account — from two
 * requests, channels or API nodes — never land in the same slot.
 */
export async function addToQueue(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  input: { content: string; targets: TargetInput[]; tags?: string[] },
) {
  await requireDirectScheduling(deps, ctx);
  const created = await withQueueLocks(
    deps,
    ctx,
    input.targets.map((t) => t.socialAccountId),
    (tx, times) => insertScheduled(deps, tx, ctx, input, (id) => times.get(id)!),
  );
  return announceScheduled(deps, ctx, created, 'post.queue');
}

/**
 * Runs `fn` in a transaction that holds each account's queue lock (PostgreSQL advisory
 * locks, taken in a fixed order) and gives it each account's next free slot: whatever `fn`
 * stores at those times is committed before another caller can pick a slot on the same
 * account. Every path that fills a slot goes through here.
 */
export async function withQueueLocks<T>(
  deps: SchedulingDeps,
  ctx: ServiceContext,
  socialAccountIds: string[],
  fn: (tx: Db, times: Map<string, Date>) => Promise<T>,
): Promise<T> {
  const now = nowOf(deps);
  const accounts = [...new Set(socialAccountIds)].sort();
  return deps.db.transaction(async (tx) => {
    for (const id of accounts)
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`herald:queue:${id}`}, 0))`);
    const times = new Map<string, Date>();
    for (const id of accounts) times.set(id, await nextFreeSlot({ ...deps, db: tx }, ctx, id, now));
    return fn(tx, times);
  });
}
