/**
 * Validation at schedule time: every target is checked against its platform's connector
 * (text length by the platform's rule, media, threads, options) and its account's posting
 * cap, so failures are found when the user schedules — with the exact reason and limit —
 * not at publish time.
 */
import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { getSocialAccount, HeraldError, schema, type Db, type SocialAccount } from '../../core/index.js';
import type { Capabilities, ConnectorRegistry, ValidationIssue } from '../../connectors/index.js';
import { draftFor, type TargetContent } from '../publishing/draft.js';

export interface TargetProblem {
  socialAccountId: string;
  platform: string | null;
  handle: string | null;
  issues: Array<
    Pick<ValidationIssue, 'code' | 'message' | 'part'> & Partial<Pick<ValidationIssue, 'limit' | 'actual'>>
  >;
}

export interface CheckedTarget {
  account: SocialAccount;
  capabilities: Capabilities;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * A check another capability adds to schedule-time validation (campaigns: an affiliate link
 * needs its disclosure). Runs for every target given a time (`at`), after the platform's own
 * checks pass; it throws a typed error naming the rule the target breaks.
 */
export type TargetCheck = (
  db: Db,
  workspaceId: string,
  target: TargetContent & { account: SocialAccount; at: Date },
) => Promise<void>;

const targetChecks = new Set<TargetCheck>();

/** Adds a schedule-time check; returns its removal. */
export function addTargetCheck(check: TargetCheck): () => void {
  targetChecks.add(check);
  return () => targetChecks.delete(check);
}

/** Targets on the account that count against its cap in [from, to). */
export async function countScheduledOnAccount(
  db: Db,
  workspaceId: string,
  accountId: string,
  from: Date,
  to: Date,
  excludeTargetId?: string,
) {
  const t = schema.postTargets;
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(t)
    .where(
      and(
        eq(t.workspaceId, workspaceId),
        eq(t.socialAccountId, accountId),
        inArray(t.status, ['scheduled', 'publishing', 'published']),
        gte(t.scheduledAt, from),
        lt(t.scheduledAt, to),
        excludeTargetId ? sql`${t.id} <> ${excludeTargetId}` : undefined,
      ),
    );
  return row?.n ?? 0;
}

/**
 * The posting cap holds when neither the 24 h before nor the 24 h after the new time would
 * hold more posts than the cap (the two windows that contain the new post at an edge).
 */
async function quotaIssue(
  db: Db,
  workspaceId: string,
  account: SocialAccount,
  caps: Capabilities,
  at: Date,
  excludeTargetId?: string,
) {
  const cap = caps.postsPerAccountPerDay;
  if (cap === null) return undefined;
  const before = await countScheduledOnAccount(
    db,
    workspaceId,
    account.id,
    new Date(at.getTime() - DAY_MS + 1),
    new Date(at.getTime() + 1),
    excludeTargetId,
  );
  const after = await countScheduledOnAccount(
    db,
    workspaceId,
    account.id,
    at,
    new Date(at.getTime() + DAY_MS),
    excludeTargetId,
  );
  const worst = Math.max(before, after) + 1;
  if (worst <= cap) return undefined;
  return { cap, count: worst };
}

/**
 * Checks every target; throws `target_invalid` listing every problem of every target, or
 * `quota_exceeded` when only posting caps are in the way.
 */
export async function checkTargets(
  db: Db,
  connectors: ConnectorRegistry,
  workspaceId: string,
  /** `at`: when the target would publish; its account's cap is checked at that time. */
  targets: Array<TargetContent & { socialAccountId: string; at?: Date | null }>,
  opts: {
    excludeTargetId?: string;
    /** Issues not held against these targets (a draft's text is checked before its media is attached). */
    ignore?: readonly ValidationIssue['code'][];
  } = {},
): Promise<CheckedTarget[]> {
  const problems: TargetProblem[] = [];
  const quota: Array<{ socialAccountId: string; handle: string; cap: number; count: number }> = [];
  const checked: CheckedTarget[] = [];
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.socialAccountId)) {
      problems.push({
        socialAccountId: target.socialAccountId,
        platform: null,
        handle: null,
        issues: [{ code: 'option_invalid', part: 0, message: 'The same account is targeted twice in one post.' }],
      });
      continue;
    }
    seen.add(target.socialAccountId);
    const account = await getSocialAccount(db, workspaceId, target.socialAccountId);
    if (!account) {
      // Another workspace's account looks exactly like a missing one.
      throw new HeraldError('not_found', {
        message: `No social account ${target.socialAccountId} in this workspace`,
        details: { socialAccountId: target.socialAccountId },
      });
    }
    if (account.status !== 'active') {
      throw new HeraldError('account_unavailable', {
        message: `${account.platform} account @${account.handle} ${account.status === 'needs_reconnect' ? 'needs reconnecting' : 'is disconnected'}`,
        details: { socialAccountId: account.id, status: account.status },
      });
    }
    const connector = connectors.get(account.platform);
    const capabilities = connector.capabilities(account);
    const issues = connector
      .validate(account, await draftFor(db, workspaceId, target))
      .filter((i) => !opts.ignore?.includes(i.code));
    if (issues.length > 0)
      problems.push({ socialAccountId: account.id, platform: account.platform, handle: account.handle, issues });
    if (target.at) {
      const q = await quotaIssue(db, workspaceId, account, capabilities, target.at, opts.excludeTargetId);
      if (q) quota.push({ socialAccountId: account.id, handle: account.handle, ...q });
    }
    checked.push({ account, capabilities });
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new HeraldError('target_invalid', {
      message:
        problems.length === 1 && first.issues.length === 1
          ? `@${first.handle ?? first.socialAccountId}: ${first.issues[0]!.message}`
          : `${problems.reduce((n, p) => n + p.issues.length, 0)} problems across ${problems.length} target(s); see details`,
      details: { targets: problems },
    });
  }
  for (const [i, target] of targets.entries())
    if (target.at && checked[i])
      for (const check of targetChecks)
        await check(db, workspaceId, { ...target, account: checked[i].account, at: target.at });
  if (quota.length > 0) {
    const q = quota[0]!;
    throw new HeraldError('quota_exceeded', {
      message: `@${q.handle} may post ${q.cap} times in 24 hours; this would make ${q.count}`,
      details: { accounts: quota },
    });
  }
  return checked;
}
