/**
 * Interventions: the blockers the coach looks for each morning — an account that cannot
 * publish (needs reconnecting, or posts failed yesterday), posts waiting for approval, no
 * post in days, engagement falling week on week, a pile of drafts — and the one short,
 * specific nudge it sends about the most pressing of them: at most one a day, each kind
 * with its own cool-down, never a kind the member muted. Figures come from analytics.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { listSocialAccounts, schema } from '../core/index.js';
import { dailySeries, overview } from '../tools/analytics/index.js';
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

/** Every blocker found now, most pressing first. */
export async function detectBlockers(deps: CoachDeps, ctx: CoachContext, now: Date): Promise<Blocker[]> {
  const zone = ctx.timeZone;
  const a = { db: deps.db };
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  const out: Blocker[] = [];
  const accounts = await listSocialAccounts(deps.db, ctx.workspaceId, { includeDisconnected: false });
  const broken = accounts.filter((x) => x.status === 'needs_reconnect');
  const failed = (await deps.db.execute(sql`
    select count(*)::int as n from post_targets
    where workspace_id = ${ctx.workspaceId} and status = 'failed'
      and updated_at >= ${today.minus({ days: 1 }).toJSDate().toISOString()}::timestamptz`)) as {
    rows: Array<{ n: number }>;
  };
  const failedN = Number(failed.rows[0]?.n ?? 0);
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
  const waiting = (await deps.db.execute(sql`
    select count(distinct post_id)::int as n from post_targets
    where workspace_id = ${ctx.workspaceId} and status = 'pending_approval'
      and updated_at <= ${new Date(now.getTime() - APPROVAL_WAIT_HOURS * 3_600_000).toISOString()}::timestamptz`)) as {
    rows: Array<{ n: number }>;
  };
  const waitingN = Number(waiting.rows[0]?.n ?? 0);
  if (waitingN > 0)
    out.push({
      kind: 'approvals_waiting',
      text: `${waitingN} post${waitingN === 1 ? ' has' : 's have'} waited more than ${APPROVAL_WAIT_HOURS} hours for approval: approve or reject ${waitingN === 1 ? 'it' : 'them'} so the plan keeps moving.`,
      facts: { waiting: waitingN, hours: APPROVAL_WAIT_HOURS },
    });
  const month = await dailySeries(a, ctx, { from: today.minus({ days: 30 }).toJSDate(), to: now });
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
  const week = await overview(a, ctx, { from: today.minus({ days: 7 }).toJSDate(), to: today.toJSDate() });
  const change = week.changePct.engagements;
  if (change !== null && change <= FALLING_PCT && week.previous.engagements >= FALLING_MIN_BEFORE)
    out.push({
      kind: 'falling_engagement',
      text: `Engagements fell to ${week.current.engagements} in the last 7 days from ${week.previous.engagements} the week before (${change}%). Try your best hours and the formats that work for you.`,
      facts: { engagements: week.current.engagements, before: week.previous.engagements, changePct: change },
    });
  const drafts = await waitingDrafts(deps, ctx, 1);
  if (drafts.total >= DRAFT_PILE)
    out.push({
      kind: 'draft_pile',
      text: `${drafts.total} drafts are waiting. Schedule the best one today, or clear the ones you will not use.`,
      facts: { drafts: drafts.total },
    });
  return out;
}

/** The blocker to nudge about now: not muted, out of its cool-down; null if none. */
export async function pickIntervention(
  deps: CoachDeps,
  ctx: CoachContext & { userId: string },
  muted: readonly string[],
  now: Date,
): Promise<Blocker | null> {
  const blockers = await detectBlockers(deps, ctx, now);
  const m = schema.coachMessages;
  for (const b of blockers) {
    if (muted.includes(b.kind)) continue;
    const [last] = await deps.db
      .select({ at: m.createdAt })
      .from(m)
      .where(
        and(
          eq(m.workspaceId, ctx.workspaceId),
          eq(m.userId, ctx.userId),
          eq(m.kind, 'intervention'),
          eq(m.topic, b.kind),
        ),
      )
      .orderBy(desc(m.createdAt))
      .limit(1);
    if (last && now.getTime() - last.at.getTime() < COOL_DOWN_DAYS[b.kind] * 86_400_000 - 3_600_000) continue;
    return b;
  }
  return null;
}
