/**
 * The batched morning facts equal the per-member ones on the same data (PGlite): members in
 * three zones, two in one workspace, followers and weekly goals, drafts by the member and by
 * others, a disconnected account, a member with no goal and nothing posted — each member's
 * `dailyFactsBatch` answer is `dailyFacts`'s, field for field.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyFacts, dailyFactsBatch, setGoal, type CoachDeps } from '../../coach/index.js';
import { ConnectorRegistry } from '../../connectors/index.js';
import { addMember, createUser, schema, upsertSocialAccount } from '../../core/index.js';
import type { SchedulingDeps, ServiceContext } from '../../tools/scheduling/index.js';
import { openHistory, workspaceWithAccount } from '../tools/analytics-history.js';
import { addFollowers, addHistory, dailyPosts, seeded, type Ws } from './coach-history.js';

const now = new Date('2026-12-08T13:30:00Z');
let h: Awaited<ReturnType<typeof openHistory>>;
let deps: CoachDeps;
const members: Array<ServiceContext & { userId: string }> = [];

beforeAll(async () => {
  h = await openHistory();
  const db = h.database.db;
  const scheduling: SchedulingDeps = {
    db,
    connectors: new ConnectorRegistry([]),
    queue: null as unknown as SchedulingDeps['queue'],
    events: null,
    now: () => now,
  };
  deps = { db, scheduling, now: () => now };
  const rnd = seeded(7);
  const dueIn = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
  const zones = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'Europe/Paris'];
  for (const [i, zone] of zones.entries()) {
    const ws: Ws = await workspaceWithAccount(h, { timeZone: zone, platform: i % 2 ? 'x' : 'mastodon' });
    const me = { ...ws.ctx, userId: ws.ctx.userId! };
    members.push(me);
    if (i === 3) continue; // nothing posted, no goal
    await addFollowers(h, ws, now, 40, (d) => 500 + i * 40 - d * (i + 1) + Math.round(rnd() * 3));
    await addHistory(
      h,
      ws,
      dailyPosts(now, zone, 30 + i * 10, (d) => 3 + ((d * 7 + i) % 11), i),
    );
    await setGoal(deps, me, { metric: 'followers', target: 1_000, dueDate: dueIn(90), account: ws.accountId });
    if (i === 1) await setGoal(deps, me, { metric: 'posts_per_week', target: 10, dueDate: dueIn(60) });
    // A second member in the first workspace, in another zone, and drafts by both of them.
    if (i === 0) {
      const other = await createUser(db, { email: `${randomUUID()}@example.com`, timeZone: 'America/Los_Angeles' });
      await addMember(db, ws.ctx.workspaceId, other.id, 'editor');
      members.push({ ...me, userId: other.id, role: 'editor', timeZone: 'America/Los_Angeles' });
      for (const [k, author] of [me.userId, other.id, other.id].entries()) {
        const [post] = await db
          .insert(schema.posts)
          .values({ workspaceId: ws.ctx.workspaceId, content: `draft ${k}`, authorId: author })
          .returning({ id: schema.posts.id });
        await db.insert(schema.postTargets).values({
          workspaceId: ws.ctx.workspaceId,
          postId: post!.id,
          socialAccountId: ws.accountId,
          platform: ws.platform,
          content: `draft ${k}`,
          status: 'draft',
          createdAt: new Date(now.getTime() - (10 - k) * 3_600_000),
        });
      }
      const gone = await upsertSocialAccount(db, h.cipher, ws.ctx.workspaceId, {
        platform: 'bluesky',
        externalId: randomUUID(),
        handle: 'gone',
        credentials: { accessToken: 'x' },
      });
      await db
        .update(schema.socialAccounts)
        .set({ status: 'disconnected' })
        .where(eq(schema.socialAccounts.id, gone.id));
    }
  }
  // The first reading draws and stores each goal's plan; both reads below then find it.
  for (const m of members) await dailyFacts(deps, m, now);
});
afterAll(() => h?.database.close());

describe('batched morning facts', () => {
  it("equal each member's own facts on the same data", async () => {
    const single = [];
    for (const m of members) single.push(await dailyFacts(deps, m, now));
    const batched = await dailyFactsBatch(deps, members, now, { concurrency: 3 });
    expect(batched).toHaveLength(members.length);
    for (const [i, facts] of batched.entries()) expect(facts, `member ${i}`).toEqual(single[i]);
    // The data is not trivial: figures, a streak, goals with forecasts, drafts and actions.
    expect(single.some((f) => f.yesterday.engagements > 0 && f.streak > 0)).toBe(true);
    expect(single.some((f) => f.goals.length === 2)).toBe(true);
    expect(single.some((f) => f.actions.some((a) => a.type === 'draft'))).toBe(true);
    expect(single.some((f) => f.goals.length === 0 && f.yesterday.posts === 0)).toBe(true);
    expect(single[0]!.actions[0]!.excerpt).toBe('draft 0');
    expect(single[1]!.drafts).toBe(3);
  });

  it('a batch of one, and an empty batch', async () => {
    expect(await dailyFactsBatch(deps, [members[2]!], now)).toEqual([await dailyFacts(deps, members[2]!, now)]);
    expect(await dailyFactsBatch(deps, [], now)).toEqual([]);
  });
});
