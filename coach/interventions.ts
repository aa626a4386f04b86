/**
 * Interventions: the blockers the coach looks for each morning — an account that cannot
 * publish (needs reconnecting, or posts failed yesterday), posts waiting for approval, no
 * post in days, engagement falling week on week, a pile of drafts — and the one short,
 * specific nudge it sends about the most pressing of them: at most one a day, each kind
 * with its own cool-down, never a kind the member muted. Figures come from analytics.
 */
import { and, asc, eq, inArray, max, ne, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { listSocialAccounts, schema } from '../core/index.js';
import { dailySeries, dailySeriesBatch, overview, overviewBatch } from '../tools/analytics/index.js';
import type { CoachContext, CoachDeps } from './context.js';
import { waitingDrafts } from './facts.js';
import type { InterventionKind } from './settings.js';

/** Days a kind stays quiet after its nudge (docs/coach.md). */
export const COOL_DOWN_DAYS: Record<InterventionKind, number> = {
  failing_account: 1,
  approvals_waiting: 2,
  no_posts: 3,
  falling_engagement: 7,
  draft_pile: 5,
};
/** Days without a published post before `no_posts`. */
export const QUIET_DAYS_BEFORE_NUDGE = 3;
/** Engagements down this much (percent, last 7 days against the 7 before) before `falling_engagement`... */
export const FALLING_PCT = -30;
/** ...on at least this many engagements the week before. */
export const FALLING_MIN_BEFORE = 10;
/** Drafts waiting before `draft_pile`. */
export const DRAFT_PILE = 5;
/** Hours a post waits for approval before `approvals_waiting`. */
export const APPROVAL_WAIT_HOURS = 24;

export interface Blocker {
  kind: InterventionKind;
  text: string;
  facts: Record<string, unknown>;
}

/** What blockers are found from: read for one member here, or for a whole batch at once. */
export interface BlockerInput {
  /** The workspace's connected accounts (not disconnected), by platform and handle. */
  accounts: Array<{ id: string; platform: string; handle: string; status: string }>;
  /** Posts that failed since yesterday began (member's zone). */
  failed: number;
  /** Posts waiting more than `APPROVAL_WAIT_HOURS` for approval. */
  waiting: number;
  /** The daily series from 30 days before today to now. */
  month: Awaited<ReturnType<typeof dailySeries>>;
  /** The last 7 full days beside the 7 before. */
  week: Awaited<ReturnType<typeof overview>>;
  /** Drafts waiting on active accounts. */
  drafts: number;
}

/** The ranges and instants a member's blockers are read over, in their zone. */
function blockerRanges(zone: string, now: Date) {
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  return {
    failedSince: today.minus({ days: 1 }).toJSDate(),
    waitingBefore: new Date(now.getTime() - APPROVAL_WAIT_HOURS * 3_600_000),
    month: { from: today.minus({ days: 30 }).toJSDate(), to: now },
    week: { from: today.minus({ days: 7 }).toJSDate(), to: today.toJSDate() },
  };
}

/** Every blocker found now, most pressing first. */
export async function detectBlockers(deps: CoachDeps, ctx: CoachContext, now: Date): Promise<Blocker[]> {
  const a = { db: deps.db };
  const r = blockerRanges(ctx.timeZone, now);
  const [accounts, failed, waiting, month, week, drafts] = await Promise.all([
    listSocialAccounts(deps.db, ctx.workspaceId, { includeDisconnected: false }),
    deps.db.execute(sql`
      select count(*)::int as n from post_targets
      where workspace_id = ${ctx.workspaceId} and status = 'failed'
        and updated_at >= ${r.failedSince.toISOString()}::timestamptz`) as Promise<{ rows: Array<{ n: number }> }>,
    deps.db.execute(sql`
      select count(distinct post_id)::int as n from post_targets
      where workspace_id = ${ctx.workspaceId} and status = 'pending_approval'
        and updated_at <= ${r.waitingBefore.toISOString()}::timestamptz`) as Promise<{ rows: Array<{ n: number }> }>,
    dailySeries(a, ctx, r.month),
    overview(a, ctx, r.week),
    waitingDrafts(deps, ctx, 1),
  ]);
  return blockersFrom({
    accounts,
    failed: Number(failed.rows[0]?.n ?? 0),
    waiting: Number(waiting.rows[0]?.n ?? 0),
    month,
    week,
    drafts: drafts.total,
  });
}

/** Each member's blockers (same order), as `detectBlockers` finds them: seven queries for the batch. */
export async function detectBlockersBatch(deps: CoachDeps, members: CoachContext[], now: Date): Promise<Blocker[][]> {
  if (members.length === 0) return [];
  const db = deps.db;
  const ranges = members.map((m) => blockerRanges(m.timeZone, now));
  const workspaceIds = [...new Set(members.map((m) => m.workspaceId))];
  const wsArray = sql`${`{${workspaceIds.join(',')}}`}::uuid[]`;
  const a = schema.socialAccounts;
  const counts = (rows: Array<Record<string, unknown>>, key: string) =>
    new Map(rows.map((r) => [String(r[key]), Number(r.n)]));
  const [accountRows, failed, waiting, months, weeks, drafts] = await Promise.all([
    db
      .select({ id: a.id, workspaceId: a.workspaceId, platform: a.platform, handle: a.handle, status: a.status })
      .from(a)
      .where(and(inArray(a.workspaceId, workspaceIds), ne(a.status, 'disconnected')))
      .orderBy(asc(a.platform), asc(a.handle)),
    db.execute(sql`
      select q.k, count(t.id)::int as n
      from unnest(${`{${members.map((_, i) => i).join(',')}}`}::int[],
                  ${`{${members.map((m) => m.workspaceId).join(',')}}`}::uuid[],
                  ${`{${ranges.map((r) => r.failedSince.toISOString()).join(',')}}`}::timestamptz[]) as q(k, ws, since)
      join post_targets t on t.workspace_id = q.ws and t.status = 'failed' and t.updated_at >= q.since
      group by q.k`) as Promise<{ rows: Array<Record<string, unknown>> }>,
    db.execute(sql`
      select workspace_id, count(distinct post_id)::int as n from post_targets
      where workspace_id = any(${wsArray}) and status = 'pending_approval'
        and updated_at <= ${ranges[0]!.waitingBefore.toISOString()}::timestamptz
      group by workspace_id`) as Promise<{ rows: Array<Record<string, unknown>> }>,
    dailySeriesBatch(
      db,
      members.map((m, i) => ({ workspaceId: m.workspaceId, range: ranges[i]!.month, timeZone: m.timeZone })),
    ),
    overviewBatch(
      db,
      members.map((m, i) => ({ workspaceId: m.workspaceId, range: ranges[i]!.week, timeZone: m.timeZone })),
    ),
    db.execute(sql`
      select t.workspace_id, count(*)::int as n
      from post_targets t
      join posts p on p.workspace_id = t.workspace_id and p.id = t.post_id
      join social_accounts a on a.workspace_id = t.workspace_id and a.id = t.social_account_id and a.status = 'active'
      where t.workspace_id = any(${wsArray}) and t.status = 'draft'
      group by t.workspace_id`) as Promise<{ rows: Array<Record<string, unknown>> }>,
  ]);
  const accountsOf = new Map<string, BlockerInput['accounts']>();
  for (const r of accountRows) accountsOf.set(r.workspaceId, [...(accountsOf.get(r.workspaceId) ?? []), r]);
  const failedOf = counts(failed.rows, 'k');
  const waitingOf = counts(waiting.rows, 'workspace_id');
  const draftsOf = counts(drafts.rows, 'workspace_id');
  return members.map((m, i) =>
    blockersFrom({
      accounts: accountsOf.get(m.workspaceId) ?? [],
      failed: failedOf.get(String(i)) ?? 0,
      waiting: waitingOf.get(m.workspaceId) ?? 0,
      month: months[i]!,
      week: weeks[i]!,
      drafts: draftsOf.get(m.workspaceId) ?? 0,
    }),
  );
}

/** The blockers in what was read, most pressing first. */
export function blockersFrom(input: BlockerInput): Blocker[] {
  const { accounts, month, week } = input;
  const out: Blocker[] = [];
  const broken = accounts.filter((x) => x.status === 'needs_reconnect');
  const failedN = input.failed;
  if (broken.length || failedN) {
    const who = broken.map((x) => `${x.platform} @${x.handle}`).join(', ');
    out.push({
      kind: 'failing_account',
      text: broken.length
        ? `${who} needs reconnecting: nothing can publish there until it is. Reconnect it in Accounts.`
        : `${failedN} post${failedN === 1 ? '' : 's'} failed to publish since yesterday: open them to see why and retry.`,
      facts: {
        needsReconnect: broken.map((x) => ({ id: x.id, platform: x.platform, handle: x.handle })),
        failed: failedN,
      },
    });
  }
  const waitingN = input.waiting;
  if (waitingN > 0)
    out.push({
      kind: 'approvals_waiting',
      text: `${waitingN} post${waitingN === 1 ? ' has' : 's have'} waited more than ${APPROVAL_WAIT_HOURS} hours for approval: approve or reject ${waitingN === 1 ? 'it' : 'them'} so the plan keeps moving.`,
      facts: { waiting: waitingN, hours: APPROVAL_WAIT_HOURS },
    });
  let idle = 0;
  for (let i = month.days.length - 1; i >= 0 && month.days[i]!.posts === 0; i--) idle++;
  // `idle` counts today too; full days without a post are one fewer.
  const daysIdle = Math.max(0, idle - 1);
  if (daysIdle >= QUIET_DAYS_BEFORE_NUDGE && accounts.length > 0)
    out.push({
      kind: 'no_posts',
      text:
        idle >= month.days.length
          ? `Nothing published in the last ${month.days.length - 1} days. One short post today restarts the habit.`
          : `No post in ${daysIdle} days. One short post today restarts your streak.`,
      facts: { daysWithoutPost: daysIdle },
    });
  const change = week.changePct.engagements;
  if (change !== null && change <= FALLING_PCT && week.previous.engagements >= FALLING_MIN_BEFORE)
    out.push({
      kind: 'falling_engagement',
      text: `Engagements fell to ${week.current.engagements} in the last 7 days from ${week.previous.engagements} the week before (${change}%). Try your best hours and the formats that work for you.`,
      facts: { engagements: week.current.engagements, before: week.previous.engagements, changePct: change },
    });
  if (input.drafts >= DRAFT_PILE)
    out.push({
      kind: 'draft_pile',
      text: `${input.drafts} drafts are waiting. Schedule the best one today, or clear the ones you will not use.`,
      facts: { drafts: input.drafts },
    });
  return out;
}

/** When the member was last nudged about each kind: one query for a batch of members. */
export async function lastNudges(
  deps: CoachDeps,
  members: Array<{ workspaceId: string; userId: string }>,
): Promise<Map<string, Date>> {
  if (members.length === 0) return new Map();
  const m = schema.coachMessages;
  const rows = await deps.db
    .select({ workspaceId: m.workspaceId, userId: m.userId, topic: m.topic, at: max(m.createdAt) })
    .from(m)
    .where(
      and(
        inArray(m.workspaceId, [...new Set(members.map((x) => x.workspaceId))]),
        inArray(m.userId, [...new Set(members.map((x) => x.userId))]),
        eq(m.kind, 'intervention'),
      ),
    )
    .groupBy(m.workspaceId, m.userId, m.topic);
  return new Map(rows.filter((r) => r.at).map((r) => [`${r.workspaceId}/${r.userId}/${r.topic}`, r.at!]));
}

/** The blocker to nudge about now: not muted, out of its cool-down; null if none. */
export async function pickIntervention(
  deps: CoachDeps,
  ctx: CoachContext & { userId: string },
  muted: readonly string[],
  now: Date,
  /** What a batch has read already: the member's blockers and when each kind was last sent. */
  known?: { blockers: Blocker[]; lastSent: Map<string, Date> },
): Promise<Blocker | null> {
  const blockers = known?.blockers ?? (await detectBlockers(deps, ctx, now));
  const candidates = blockers.filter((b) => !muted.includes(b.kind));
  if (candidates.length === 0) return null;
  const lastSent = known?.lastSent ?? (await lastNudges(deps, [ctx]));
  for (const b of candidates) {
    const last = lastSent.get(`${ctx.workspaceId}/${ctx.userId}/${b.kind}`);
    if (last && now.getTime() - last.getTime() < COOL_DOWN_DAYS[b.kind] * 86_400_000 - 3_600_000) continue;
    return b;
  }
  return null;
}
