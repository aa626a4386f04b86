/**
 * One member's morning on one local day: the daily message (facts from analytics, written
 * by the model through the router and checked number by number — a text that states a
 * figure the facts do not hold is not sent, the template with the same facts is), the
 * milestones it celebrates (once), and at most one intervention. Idempotent per member and
 * day: the message row is unique per day and the notification per dedupe key, so a retry
 * after a crash, or a second worker, finds what the first stored and sends nothing twice.
 */
import { and, eq } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { memberZone, schema, type Role } from '../core/index.js';
import { nowOf, type CoachContext, type CoachDeps } from './context.js';
import { dailyFacts, type DailyFacts } from './facts.js';
import { pickIntervention } from './interventions.js';
import { checkNumbers, promptOf, renderTemplate } from './message.js';
import { getSettings } from './settings.js';

export interface DailyJob {
  workspaceId: string;
  userId: string;
  /** Local day (YYYY-MM-DD) the message is for. */
  day: string;
}

export type DailyOutcome =
  | {
      kind: 'sent';
      messageId: string;
      source: 'model' | 'template';
      rejected: string | null;
      intervention: string | null;
    }
  | { kind: 'duplicate'; messageId: string; delivered: boolean }
  | { kind: 'skipped'; reason: string };

/** The member's context for a job: their role and zone now (a member who left gets nothing). */
export async function memberContext(
  deps: CoachDeps,
  workspaceId: string,
  userId: string,
): Promise<CoachContext | null> {
  const m = schema.memberships;
  const u = schema.users;
  const [row] = await deps.db
    .select({ role: m.role, timeZone: memberZone })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .innerJoin(schema.workspaces, eq(schema.workspaces.id, m.workspaceId))
    .where(and(eq(m.workspaceId, workspaceId), eq(m.userId, userId)));
  if (!row) return null;
  return { workspaceId, userId, role: row.role as Role, timeZone: row.timeZone, channel: 'coach', actorKind: 'system' };
}

/** The model's text when it passes the check; else the template, with why. */
export async function writeMessage(
  deps: CoachDeps,
  ctx: CoachContext & { userId: string },
  facts: DailyFacts,
): Promise<{
  text: string;
  source: 'model' | 'template';
  model: string | null;
  rejectedText: string | null;
  rejectedReason: string | null;
}> {
  const template = renderTemplate(facts);
  if (!deps.writer)
    return { text: template, source: 'template', model: null, rejectedText: null, rejectedReason: null };
  let written: { text: string; model: string };
  try {
    written = await deps.writer({ workspaceId: ctx.workspaceId, userId: ctx.userId, ...promptOf(facts) });
  } catch (err) {
    return {
      text: template,
      source: 'template',
      model: null,
      rejectedText: null,
      rejectedReason: `no model wrote it: ${(err as Error).message.slice(0, 300)}`,
    };
  }
  const text = written.text.trim();
  const check = checkNumbers(text, facts);
  if (text && check.ok)
    return { text, source: 'model', model: written.model, rejectedText: null, rejectedReason: null };
  return {
    text: template,
    source: 'template',
    model: written.model,
    rejectedText: text.slice(0, 4_000),
    rejectedReason: text
      ? `numbers not in the analytics facts: ${check.unknown.join(', ')}`
      : 'the model wrote nothing',
  };
}

/** Stores (once) and sends a coach message through the notifier. */
async function sendStored(deps: CoachDeps, row: typeof schema.coachMessages.$inferSelect): Promise<boolean> {
  if (!deps.notifier) return false;
  const sent = await deps.notifier.send({
    workspaceId: row.workspaceId,
    userId: row.userId,
    kind: `coach.${row.kind}`,
    text: row.text,
    data: { messageId: row.id, day: row.day, topic: row.topic, actions: row.actions, facts: row.facts },
    dedupeKey: `coach.${row.kind}.${row.userId}.${row.day}`,
  });
  if (!row.notificationId) {
    const m = schema.coachMessages;
    await deps.db
      .update(m)
      .set({ notificationId: sent.notification.id })
      .where(and(eq(m.workspaceId, row.workspaceId), eq(m.id, row.id)));
  }
  return sent.deliveredBy.length > 0;
}

async function insertOnce(
  deps: CoachDeps,
  values: typeof schema.coachMessages.$inferInsert,
): Promise<{ row: typeof schema.coachMessages.$inferSelect; fresh: boolean }> {
  const m = schema.coachMessages;
  const [row] = await deps.db.insert(m).values(values).onConflictDoNothing().returning();
  if (row) return { row, fresh: true };
  const [existing] = await deps.db
    .select()
    .from(m)
    .where(
      and(
        eq(m.workspaceId, values.workspaceId),
        eq(m.userId, values.userId),
        eq(m.kind, values.kind),
        eq(m.day, values.day),
      ),
    );
  return { row: existing!, fresh: false };
}

/** The morning of one member and day (the queue's job, also callable directly). */
export async function runDaily(deps: CoachDeps, job: DailyJob): Promise<DailyOutcome> {
  const now = nowOf(deps);
  const ctx = await memberContext(deps, job.workspaceId, job.userId);
  if (!ctx) return { kind: 'skipped', reason: 'no longer a member' };
  const member = { ...ctx, userId: job.userId };
  const settings = await getSettings(deps, member);
  if (!settings.enabled) return { kind: 'skipped', reason: 'coaching is off' };
  const day = DateTime.fromISO(job.day, { zone: ctx.timeZone });
  if (settings.quietDays.includes(day.weekday)) return { kind: 'skipped', reason: 'a quiet day' };
  const m = schema.coachMessages;
  const [existing] = await deps.db
    .select()
    .from(m)
    .where(and(eq(m.workspaceId, job.workspaceId), eq(m.userId, job.userId), eq(m.kind, 'daily'), eq(m.day, job.day)));
  if (existing) {
    // A run that stopped after storing the message: send what it stored (at most once).
    const delivered = await sendStored(deps, existing);
    return { kind: 'duplicate', messageId: existing.id, delivered };
  }
  const facts = await dailyFacts(deps, member, now);
  const written = await writeMessage(deps, member, facts);
  const { row, fresh } = await insertOnce(deps, {
    workspaceId: job.workspaceId,
    userId: job.userId,
    kind: 'daily',
    day: job.day,
    text: written.text,
    facts: facts as unknown as Record<string, unknown>,
    actions: facts.actions as unknown as Array<Record<string, unknown>>,
    source: written.source,
    model: written.model,
    rejectedText: written.rejectedText,
    rejectedReason: written.rejectedReason,
    createdAt: now,
  });
  if (!fresh) return { kind: 'duplicate', messageId: row.id, delivered: await sendStored(deps, row) };
  await sendStored(deps, row);
  await markCelebrated(deps, member, facts, now);
  const intervention = await runIntervention(deps, member, job.day, settings.muted, now);
  return { kind: 'sent', messageId: row.id, source: written.source, rejected: written.rejectedReason, intervention };
}

/** Milestones the message celebrated are not celebrated again. */
async function markCelebrated(deps: CoachDeps, ctx: CoachContext, facts: DailyFacts, now: Date): Promise<void> {
  const t = schema.coachGoals;
  for (const goalId of new Set(facts.reached.map((r) => r.goalId))) {
    const [g] = await deps.db
      .select({ milestones: t.milestones })
      .from(t)
      .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, goalId)));
    if (!g) continue;
    const values = new Set(facts.reached.filter((r) => r.goalId === goalId).map((r) => r.value));
    await deps.db
      .update(t)
      .set({
        milestones: g.milestones.map((x) =>
          x.reachedAt && !x.celebratedAt && values.has(x.value) ? { ...x, celebratedAt: now.toISOString() } : x,
        ),
      })
      .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.id, goalId)));
  }
}

/** At most one nudge a day (the unique row per member, kind and day), respecting cool-downs and mutes. */
export async function runIntervention(
  deps: CoachDeps,
  ctx: CoachContext & { userId: string },
  day: string,
  muted: readonly string[],
  now: Date,
): Promise<string | null> {
  const blocker = await pickIntervention(deps, ctx, muted, now);
  if (!blocker) return null;
  const { row, fresh } = await insertOnce(deps, {
    workspaceId: ctx.workspaceId,
    userId: ctx.userId,
    kind: 'intervention',
    topic: blocker.kind,
    day,
    text: blocker.text,
    facts: blocker.facts,
    actions: [],
    source: 'template',
    createdAt: now,
  });
  await sendStored(deps, row);
  return fresh ? blocker.kind : null;
}
