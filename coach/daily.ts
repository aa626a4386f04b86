/**
 * Members' mornings on their local day, a batch at a time (the queue's job: the members due
 * at one instant): the daily message (facts from analytics, read for the whole batch; written
 * by the model through the router, with a post drafted for each slot action, and checked
 * number by number — a text that states a figure the facts do not hold is not sent, the
 * template with the same facts is), the milestones it celebrates (once), and at most one
 * intervention. Idempotent per member and day: the message row is unique per day and the
 * notification per dedupe key, so a retry after a crash, or a second worker, finds what the
 * first stored and sends nothing twice. The steps after the store (send, mark the milestones,
 * the day's nudge) are each idempotent, and the message's notification is noted on its row only
 * after all of them: a stored row without one was not finished, and a retry runs them again
 * (`finishStored`). `runDaily` is a batch of one.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { memberZone, schema, type Role } from '../core/index.js';
import { nowOf, type CoachContext, type CoachDeps } from './context.js';
import type { DailyFacts } from './facts.js';
import { dailyFactsSettled, mapLimited } from './facts-batch.js';
import { detectBlockersBatch, lastNudges, pickIntervention, type Blocker } from './interventions.js';
import { checkNumbers, promptOf, renderTemplate, splitDrafts } from './message.js';

export interface DailyJob {
  workspaceId: string;
  userId: string;
  /** Local day (YYYY-MM-DD) the message is for. */
  day: string;
}

type Member = CoachContext & { userId: string };

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

/** The model's text when it passes the check (with the posts it drafted for the slots); else the template, with why. */
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
  /** Slot action id → the post the model drafted for it (checked). */
  drafts: Map<string, string>;
}> {
  const template = renderTemplate(facts);
  const none = new Map<string, string>();
  if (!deps.writer)
    return { text: template, source: 'template', model: null, rejectedText: null, rejectedReason: null, drafts: none };
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
      drafts: none,
    };
  }
  const { message: text, drafts } = splitDrafts(written.text.trim(), facts);
  const check = checkNumbers(text, facts);
  if (text && check.ok)
    return { text, source: 'model', model: written.model, rejectedText: null, rejectedReason: null, drafts };
  return {
    text: template,
    source: 'template',
    model: written.model,
    rejectedText: written.text.trim().slice(0, 4_000),
    rejectedReason: text
      ? `numbers not in the analytics facts: ${check.unknown.join(', ')}`
      : 'the model wrote nothing',
    drafts: none,
  };
}

/**
 * Sends a stored coach message through the notifier (once per dedupe key) and, unless the
 * caller records it for many at once (`recordNotification`), notes the notification on it.
 */
async function sendStored(
  deps: CoachDeps,
  row: typeof schema.coachMessages.$inferSelect,
  opts: { record?: boolean } = {},
): Promise<{ delivered: boolean; notificationId: string | null }> {
  if (!deps.notifier) return { delivered: false, notificationId: null };
  const sent = await deps.notifier.send({
    workspaceId: row.workspaceId,
    userId: row.userId,
    kind: `coach.${row.kind}`,
    text: row.text,
    data: { messageId: row.id, day: row.day, topic: row.topic, actions: row.actions, facts: row.facts },
    dedupeKey: `coach.${row.kind}.${row.userId}.${row.day}`,
  });
  if (!row.notificationId && opts.record !== false)
    await recordNotifications(deps, [{ ...row, notificationId: sent.notification.id }]);
  return { delivered: sent.deliveredBy.length > 0, notificationId: sent.notification.id };
}

/** Notes each message's notification on it: one statement for them all. */
async function recordNotifications(
  deps: CoachDeps,
  rows: Array<{ id: string; workspaceId: string; notificationId: string }>,
): Promise<void> {
  if (rows.length === 0) return;
  const list = (f: (r: (typeof rows)[number]) => string) => `{${rows.map(f).join(',')}}`;
  await deps.db.execute(sql`
    update coach_messages m set notification_id = v.nid
    from unnest(${list((r) => r.id)}::uuid[], ${list((r) => r.workspaceId)}::uuid[],
                ${list((r) => r.notificationId)}::uuid[]) as v(id, ws, nid)
    where m.workspace_id = v.ws and m.id = v.id and m.notification_id is null`);
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

/** Members a batch prepares at once (facts, model calls, writes). Default 16. */
export const DEFAULT_DAILY_CONCURRENCY = 16;

const keyOf = (workspaceId: string, userId: string) => `${workspaceId}/${userId}`;

/** Each job's member context (role and zone now), settings and stored message of the day: three queries for the batch. */
async function readBatch(deps: CoachDeps, jobs: DailyJob[]) {
  const workspaceIds = [...new Set(jobs.map((j) => j.workspaceId))];
  const userIds = [...new Set(jobs.map((j) => j.userId))];
  const m = schema.memberships;
  const u = schema.users;
  const s = schema.coachSettings;
  const msg = schema.coachMessages;
  const [members, settings, stored] = await Promise.all([
    deps.db
      .select({ workspaceId: m.workspaceId, userId: m.userId, role: m.role, timeZone: memberZone })
      .from(m)
      .innerJoin(u, eq(u.id, m.userId))
      .innerJoin(schema.workspaces, eq(schema.workspaces.id, m.workspaceId))
      .where(and(inArray(m.workspaceId, workspaceIds), inArray(m.userId, userIds))),
    deps.db
      .select()
      .from(s)
      .where(and(inArray(s.workspaceId, workspaceIds), inArray(s.userId, userIds))),
    deps.db
      .select()
      .from(msg)
      .where(
        and(
          inArray(msg.workspaceId, workspaceIds),
          inArray(msg.userId, userIds),
          eq(msg.kind, 'daily'),
          inArray(msg.day, [...new Set(jobs.map((j) => j.day))]),
        ),
      ),
  ]);
  // The `in` lists cross workspaces and members: only each job's own pair counts.
  return {
    memberOf: new Map(members.map((r) => [keyOf(r.workspaceId, r.userId), r])),
    settingsOf: new Map(settings.map((r) => [keyOf(r.workspaceId, r.userId), r])),
    storedOf: new Map(stored.map((r) => [`${keyOf(r.workspaceId, r.userId)}/${r.day}`, r])),
  };
}

/**
 * The mornings of many members at once — the queue's job (`queue.ts` gathers the members due
 * at the same instant). What is read the same way for every member is read once for the batch
 * (who they are, their settings, the day's stored messages, then the facts: `dailyFactsBatch`);
 * each member's message is then written, checked, stored and sent on its own, `concurrency` at
 * a time, exactly as `runDaily` does for one. Outcomes in the order of `jobs`.
 */
export async function runDailyBatch(
  deps: CoachDeps,
  jobs: DailyJob[],
  opts: { concurrency?: number | undefined } = {},
): Promise<DailyOutcome[]> {
  if (jobs.length === 0) return [];
  const now = nowOf(deps);
  const { memberOf, settingsOf, storedOf } = await readBatch(deps, jobs);
  const out = new Array<DailyOutcome>(jobs.length);
  const due: Array<{ i: number; job: DailyJob; member: Member; muted: string[] }> = [];
  const seen = new Set<string>();
  const resend: Array<{ i: number; row: typeof schema.coachMessages.$inferSelect; member: Member; muted: string[] }> =
    [];
  for (const [i, job] of jobs.entries()) {
    const key = keyOf(job.workspaceId, job.userId);
    const row = memberOf.get(key);
    if (!row) {
      out[i] = { kind: 'skipped', reason: 'no longer a member' };
      continue;
    }
    const member: Member = {
      workspaceId: job.workspaceId,
      userId: job.userId,
      role: row.role as Role,
      timeZone: row.timeZone,
      channel: 'coach',
      actorKind: 'system',
    };
    const settings = settingsOf.get(key);
    if (!(settings?.enabled ?? true)) {
      out[i] = { kind: 'skipped', reason: 'coaching is off' };
      continue;
    }
    const weekday = DateTime.fromISO(job.day, { zone: member.timeZone }).weekday;
    if ((settings?.quietDays ?? []).includes(weekday)) {
      out[i] = { kind: 'skipped', reason: 'a quiet day' };
      continue;
    }
    const existing = storedOf.get(`${key}/${job.day}`);
    // The same member and day twice in one batch: the second finds what the first stored.
    if (existing || seen.has(`${key}/${job.day}`)) {
      if (existing) resend.push({ i, row: existing, member, muted: settings?.muted ?? [] });
      else due.push({ i, job, member, muted: settings?.muted ?? [] });
      continue;
    }
    seen.add(`${key}/${job.day}`);
    due.push({ i, job, member, muted: settings?.muted ?? [] });
  }
  const concurrency = opts.concurrency ?? DEFAULT_DAILY_CONCURRENCY;
  // A member whose own reads or sends fail does not hold up the others: their morning is retried (below).
  const failures: Error[] = [];
  const failed = (err: unknown) => {
    failures.push(err instanceof Error ? err : new Error(String(err)));
  };
  // A run that stopped after storing the message: finish what it stored (each step at most once).
  await mapLimited(resend, concurrency, async ({ i, row, member, muted }) => {
    try {
      out[i] = await finishStored(deps, row, member, muted, now);
    } catch (err) {
      failed(err);
    }
  });
  const all = [...due];
  const settled = await dailyFactsSettled(
    deps,
    all.map((d) => d.member),
    now,
    { concurrency },
  );
  const facts: DailyFacts[] = [];
  due.length = 0;
  for (const [k, f] of settled.entries()) {
    if (f instanceof Error) failures.push(f);
    else {
      due.push(all[k]!);
      facts.push(f);
    }
  }
  // The day's blockers and the last nudge of each kind, for the whole batch too.
  const [blockers, lastSent] = await Promise.all([
    detectBlockersBatch(
      deps,
      due.map((d) => d.member),
      now,
    ),
    lastNudges(
      deps,
      due.map((d) => d.member),
    ),
  ]);
  // Each message written (the model, or the template) and checked, `concurrency` at a time...
  const written = await mapLimited(due, concurrency, (d, k) => writeMessage(deps, d.member, facts[k]!));
  // ...stored once, all in one statement (a day's row that exists already is left as it is)...
  const m = schema.coachMessages;
  const values = due.map((d, k) => ({
    workspaceId: d.job.workspaceId,
    userId: d.job.userId,
    kind: 'daily',
    day: d.job.day,
    text: written[k]!.text,
    facts: facts[k]! as unknown as Record<string, unknown>,
    // A slot carries the post the model drafted for it: accepted in one tap.
    actions: facts[k]!.actions.map((a) =>
      written[k]!.drafts.has(a.id) ? { ...a, text: written[k]!.drafts.get(a.id) } : a,
    ) as unknown as Array<Record<string, unknown>>,
    source: written[k]!.source,
    model: written[k]!.model,
    rejectedText: written[k]!.rejectedText,
    rejectedReason: written[k]!.rejectedReason,
    createdAt: now,
  }));
  const inserted = values.length ? await deps.db.insert(m).values(values).onConflictDoNothing().returning() : [];
  const freshOf = new Map(inserted.map((r) => [`${keyOf(r.workspaceId, r.userId)}/${r.day}`, r]));
  // ...then sent, the milestones marked and the day's nudge picked, member by member.
  const notified: Array<{ id: string; workspaceId: string; notificationId: string }> = [];
  await mapLimited(due, concurrency, (d, k) => sendOne(d, k).catch(failed));
  // Noted last: a row without its notification is one a retry finishes.
  await recordNotifications(deps, notified);
  if (failures.length)
    // The job is retried (BullMQ attempts): what was stored is found and not sent twice.
    throw new Error(
      `${failures.length} of ${jobs.length} mornings failed, the others were sent: ${failures[0]!.message.slice(0, 500)}`,
      { cause: failures[0] },
    );
  return out;

  async function sendOne(d: (typeof due)[number], k: number): Promise<void> {
    const key = `${keyOf(d.job.workspaceId, d.job.userId)}/${d.job.day}`;
    const row = freshOf.get(key);
    freshOf.delete(key); // the same member and day twice in a batch: the second is a duplicate
    if (!row) {
      const stored = await insertOnce(deps, values[k]!);
      out[d.i] = await finishStored(deps, stored.row, d.member, d.muted, now);
      return;
    }
    const sent = await sendStored(deps, row, { record: false });
    await markCelebrated(deps, d.member, facts[k]!, now);
    const intervention = await runIntervention(deps, d.member, d.job.day, d.muted, now, {
      blockers: blockers[k]!,
      lastSent,
    });
    // Only now is the morning done: a failure above leaves the row for the retry to finish.
    if (sent.notificationId)
      notified.push({ id: row.id, workspaceId: row.workspaceId, notificationId: sent.notificationId });
    out[d.i] = {
      kind: 'sent',
      messageId: row.id,
      source: written[k]!.source,
      rejected: written[k]!.rejectedReason,
      intervention,
    };
  }
}

/** The morning of one member and day (a batch of one: the same path as the queue's job). */
export async function runDaily(deps: CoachDeps, job: DailyJob): Promise<DailyOutcome> {
  const [outcome] = await runDailyBatch(deps, [job]);
  return outcome!;
}

/**
 * A daily message stored by an earlier run (a retry, or a second worker): when its notification
 * is noted on it the morning was done, and it is only sent again (the notifier's dedupe key
 * makes that a no-op). Otherwise the run stopped after the store — killed, its lock lost, or a
 * step failed — and the steps are run again, each idempotent: the send (dedupe key), the
 * milestones the stored facts celebrate (only those not yet marked are marked), and the day's
 * nudge (the one stored, re-sent; else picked now), then the notification is noted.
 */
async function finishStored(
  deps: CoachDeps,
  row: typeof schema.coachMessages.$inferSelect,
  member: Member,
  muted: readonly string[],
  now: Date,
): Promise<DailyOutcome> {
  if (row.notificationId)
    return { kind: 'duplicate', messageId: row.id, delivered: (await sendStored(deps, row)).delivered };
  const sent = await sendStored(deps, row, { record: false });
  await markCelebrated(deps, member, row.facts as unknown as DailyFacts, now);
  const m = schema.coachMessages;
  const [nudge] = await deps.db
    .select()
    .from(m)
    .where(
      and(eq(m.workspaceId, row.workspaceId), eq(m.userId, row.userId), eq(m.kind, 'intervention'), eq(m.day, row.day)),
    );
  if (nudge) await sendStored(deps, nudge);
  else await runIntervention(deps, member, row.day, muted, now);
  if (sent.notificationId)
    await recordNotifications(deps, [
      { id: row.id, workspaceId: row.workspaceId, notificationId: sent.notificationId },
    ]);
  return { kind: 'duplicate', messageId: row.id, delivered: sent.delivered };
}

/** Milestones the message celebrated are not celebrated again (a second call marks nothing more). */
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
  /** What a batch has read already (`detectBlockersBatch`, `lastNudges`). */
  known?: { blockers: Blocker[]; lastSent: Map<string, Date> },
): Promise<string | null> {
  const blocker = await pickIntervention(deps, ctx, muted, now, known);
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
