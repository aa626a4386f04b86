/**
 * The morning facts of many members at once, for the daily run at scale: every figure that is
 * read the same way for each member — yesterday beside the day before, the streak's daily
 * series, waiting drafts, the workspaces' accounts, active goals with their stored plans and
 * followers goals' audiences — is read with one query per figure for the whole batch
 * (`tools/analytics/batch.ts`, members' workspaces, ranges and zones unnested in SQL); what
 * is particular to a member (best times, what works, a plan redrawn) is then read per member,
 * a few at a time. Each member's facts are assembled by the same code as `dailyFacts`, so
 * they are the same (test/coach/facts-batch.test.ts compares the two on the same data).
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { requireRole, schema } from '../core/index.js';
import { audienceBatch, dailySeriesBatch, overviewBatch } from '../tools/analytics/index.js';
import type { CoachContext, CoachDeps } from './context.js';
import { factRanges, factsFrom, type DailyFacts, type FactsInput } from './facts.js';
import { goalOf } from './goals.js';
import { followerRange, measure } from './measure.js';
import { goalProgress, progressOf } from './progress.js';

/** Members whose per-member reads run at once within a batch. Default 16. */
export const DEFAULT_BATCH_CONCURRENCY = 16;

type Member = CoachContext & { userId: string };
type GoalRow = typeof schema.coachGoals.$inferSelect;

const keyOf = (workspaceId: string, userId: string) => `${workspaceId}/${userId}`;

/** Each member's waiting drafts (theirs first, oldest first, up to `limit`) and how many wait: one query. */
async function draftsBatch(deps: CoachDeps, members: Member[], limit: number): Promise<FactsInput['drafts'][]> {
  const rows = (
    (await deps.db.execute(sql`
      select k, target_id, post_id, platform, social_account_id, content, total from (
        select q.k, t.id as target_id, t.post_id, t.platform, t.social_account_id, t.content,
               count(*) over (partition by q.k) as total,
               row_number() over (partition by q.k
                 order by (p.author_id is not distinct from q.u) desc, t.created_at asc, t.id asc) as rn
        from unnest(${`{${members.map((_, i) => i).join(',')}}`}::int[],
                    ${`{${members.map((m) => m.workspaceId).join(',')}}`}::uuid[],
                    ${`{${members.map((m) => m.userId).join(',')}}`}::uuid[]) as q(k, ws, u)
        join post_targets t on t.workspace_id = q.ws and t.status = 'draft'
        join posts p on p.workspace_id = t.workspace_id and p.id = t.post_id
        join social_accounts a on a.workspace_id = t.workspace_id and a.id = t.social_account_id and a.status = 'active'
      ) x where rn <= ${limit} order by k, rn`)) as { rows: Array<Record<string, unknown>> }
  ).rows;
  const out: FactsInput['drafts'][] = members.map(() => ({ total: 0, items: [] }));
  for (const r of rows) {
    const d = out[Number(r.k)]!;
    d.total = Number(r.total);
    d.items.push({
      targetId: String(r.target_id),
      postId: String(r.post_id),
      platform: String(r.platform),
      socialAccountId: String(r.social_account_id),
      content: String(r.content),
    });
  }
  return out;
}

/** Runs `fn` over the items, `limit` at a time, keeping their order. */
export async function mapLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

/** The morning facts of every member in `members` (same order), as `dailyFacts` gives each. */
export async function dailyFactsBatch(
  deps: CoachDeps,
  members: Member[],
  now: Date,
  opts: { concurrency?: number } = {},
): Promise<DailyFacts[]> {
  const out = await dailyFactsSettled(deps, members, now, opts);
  const failed = out.find((x): x is Error => x instanceof Error);
  if (failed) throw failed;
  return out as DailyFacts[];
}

/**
 * As `dailyFactsBatch`, but a member whose own reads fail gets their error in their place
 * instead of failing the batch (the batch's shared reads still fail it).
 */
export async function dailyFactsSettled(
  deps: CoachDeps,
  members: Member[],
  now: Date,
  opts: { concurrency?: number } = {},
): Promise<Array<DailyFacts | Error>> {
  if (members.length === 0) return [];
  for (const m of members) requireRole(m, 'viewer');
  const db = deps.db;
  const ranges = members.map((m) => factRanges(m.timeZone, now));
  const workspaceIds = [...new Set(members.map((m) => m.workspaceId))];
  const a = schema.socialAccounts;
  const g = schema.coachGoals;
  const [days, streaks, drafts, accountRows, goalRows] = await Promise.all([
    overviewBatch(
      db,
      members.map((m, i) => ({ workspaceId: m.workspaceId, range: ranges[i]!.day, timeZone: m.timeZone })),
    ),
    dailySeriesBatch(
      db,
      members.map((m, i) => ({ workspaceId: m.workspaceId, range: ranges[i]!.streak, timeZone: m.timeZone })),
    ),
    draftsBatch(deps, members, 2),
    db
      .select({ id: a.id, workspaceId: a.workspaceId, platform: a.platform, handle: a.handle, status: a.status })
      .from(a)
      .where(inArray(a.workspaceId, workspaceIds))
      .orderBy(asc(a.platform), asc(a.handle)),
    db
      .select()
      .from(g)
      .where(
        and(
          inArray(g.workspaceId, workspaceIds),
          inArray(
            g.userId,
            members.map((m) => m.userId),
          ),
          eq(g.status, 'active'),
        ),
      )
      .orderBy(desc(g.createdAt)),
  ]);
  const accountsOf = new Map<string, typeof accountRows>();
  for (const r of accountRows) accountsOf.set(r.workspaceId, [...(accountsOf.get(r.workspaceId) ?? []), r]);
  const goalsOf = new Map<string, GoalRow[]>();
  for (const r of goalRows) {
    const k = keyOf(r.workspaceId, r.userId);
    goalsOf.set(k, [...(goalsOf.get(k) ?? []), r]);
  }
  // Followers goals on an account of the workspace: their audience, one query for the batch.
  const followerGoals = members.flatMap((m) =>
    (goalsOf.get(keyOf(m.workspaceId, m.userId)) ?? [])
      .filter(
        (r) =>
          r.metric === 'followers' &&
          r.socialAccountId &&
          (accountsOf.get(m.workspaceId) ?? []).some((x) => x.id === r.socialAccountId),
      )
      .map((r) => ({ member: m, goal: r })),
  );
  const audiences = await audienceBatch(
    db,
    followerGoals.map((x) => ({
      workspaceId: x.member.workspaceId,
      socialAccountId: x.goal.socialAccountId!,
      range: followerRange(x.member.timeZone, now),
      timeZone: x.member.timeZone,
    })),
  );
  const audienceOf = new Map(followerGoals.map((x, i) => [x.goal.id, audiences[i]!]));

  return mapLimited(members, opts.concurrency ?? DEFAULT_BATCH_CONCURRENCY, (m, i) =>
    memberFacts(m, i).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
  );

  async function memberFacts(m: Member, i: number): Promise<DailyFacts> {
    const accounts = accountsOf.get(m.workspaceId) ?? [];
    const byId = new Map(accounts.map((x) => [x.id, { platform: x.platform, handle: x.handle }]));
    const progress = [];
    for (const row of goalsOf.get(keyOf(m.workspaceId, m.userId)) ?? []) {
      const goal = goalOf(row, byId);
      const audience = audienceOf.get(row.id);
      const account = row.socialAccountId ? byId.get(row.socialAccountId) : undefined;
      const measured = audience && account ? await measure(deps, m, goal, now, { ...account, audience }) : undefined;
      progress.push(
        await goalProgress(deps, m, goal, now, { measured, planRow: { plan: row.plan, planAt: row.planAt } }),
      );
    }
    return factsFrom(deps, m, now, {
      day: days[i]!,
      streakSeries: streaks[i]!,
      progress: progressOf(progress),
      drafts: drafts[i]!,
      accounts: accounts.filter((x) => x.status !== 'disconnected'),
    });
  }
}
