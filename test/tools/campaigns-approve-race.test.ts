/**
 * Approving one campaign twice at the same time (a client retrying after a timeout, the
 * console and the agent together), on PGlite and on PostgreSQL (real concurrency: each
 * approval has its own connections): every timeline item becomes exactly one scheduled
 * post, one queue job and one tracked link, and both approvals answer with the same posts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { schema, type Database } from '../../core/index.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import {
  addProduct,
  approveCampaign,
  createCampaign,
  createProgram,
  type CampaignsDeps,
} from '../../tools/campaigns/index.js';
import { openPgliteForTest, openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';
import { startPublishingEnv } from '../helpers/publishing-env.js';

let x: XFake;
beforeAll(async () => {
  x = await startXFake();
});
afterAll(async () => {
  await x?.close();
});

const backends: Array<[string, () => Promise<{ database: Database; dispose: () => Promise<void> }>]> = [
  ['PGlite', openPgliteForTest],
  ...(TEST_DATABASE_URL
    ? [['PostgreSQL', () => openPostgresForTest(TEST_DATABASE_URL!)] as [string, typeof openPgliteForTest]]
    : []),
];

describe.each(backends)('two approvals of one campaign at once on %s', (_name, open) => {
  it('schedules every item exactly once; both approvals report the same posts', async () => {
    const { database, dispose } = await open();
    const env = await startPublishingEnv({
      database,
      connectors: [
        createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url, timeoutMs: 1_000 }),
      ],
    });
    try {
      const deps: CampaignsDeps = {
        scheduling: env.deps,
        links: { db: env.deps.db, baseUrl: 'https://go.example.test' },
        cipher: env.cipher,
      };
      const { ctx, workspaceId } = await env.newWorkspace();
      const xa = x.createAccount();
      await env.addAccount(workspaceId, {
        platform: 'x',
        externalId: xa.userId,
        handle: xa.username,
        credentials: { accessToken: xa.accessToken, refreshToken: xa.refreshToken },
      });
      const program = await createProgram(deps, ctx, {
        name: 'Net',
        kind: 'network',
        commissionType: 'percent',
        commissionValue: 8,
        payoutCurrency: 'USD',
      });
      const product = await addProduct(deps, ctx, {
        name: 'Glaze Set',
        url: 'https://shop.example.test/glaze',
        price: 49.5,
        currency: 'USD',
        affiliateLinks: [{ programId: program.id, url: 'https://net.example.test/c/1?aff=1' }],
      });
      const c = await createCampaign(deps, ctx, {
        name: 'Race',
        productIds: [product.id],
        accounts: ['x'],
        from: new Date(Date.now() + 86_400_000).toISOString(),
        to: new Date(Date.now() + 15 * 86_400_000).toISOString(),
        postsPerWeek: 3,
      });
      const items = c.timeline.length;
      expect(items).toBeGreaterThanOrEqual(6);

      const outcomes = await Promise.allSettled([
        approveCampaign(deps, ctx, c.id, { timelineVersion: c.timelineVersion }),
        approveCampaign(deps, ctx, c.id, { timelineVersion: c.timelineVersion }),
      ]);
      // Neither approval fails: the second finds the items the first made and skips them.
      for (const o of outcomes) expect(o.status, String((o as PromiseRejectedResult).reason)).toBe('fulfilled');
      const views = outcomes.map(
        (o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof approveCampaign>>>).value,
      );

      const db = env.deps.db;
      const posts = await db.select().from(schema.posts).where(eq(schema.posts.workspaceId, workspaceId));
      const targets = await db.select().from(schema.postTargets).where(eq(schema.postTargets.workspaceId, workspaceId));
      const rows = await db.select().from(schema.campaignPosts).where(eq(schema.campaignPosts.campaignId, c.id));
      const links = await db.select().from(schema.trackedLinks).where(eq(schema.trackedLinks.campaignId, c.id));
      expect(posts).toHaveLength(items);
      expect(targets).toHaveLength(items);
      expect(targets.every((t) => t.status === 'scheduled')).toBe(true);
      expect(rows).toHaveLength(items);
      expect(new Set(rows.map((r) => r.itemKey)).size).toBe(items);
      // The losing approval's links were rolled back with its posts: one link per item.
      expect(links.map((l) => l.id).sort()).toEqual(rows.map((r) => r.linkId).sort());
      const jobs = (await Promise.all(targets.map((t) => env.queue.queue.getJob(t.id)))).filter(Boolean);
      expect(jobs).toHaveLength(items);
      expect(await env.queue.queue.count()).toBe(items);
      // Both answers show the same campaign with the same posts.
      const ids = (v: (typeof views)[number]) => v.posts.map((p) => p.postId).sort();
      expect(views[0]!.status).toBe('active');
      expect(ids(views[0]!)).toEqual(ids(views[1]!));
      expect(ids(views[0]!)).toHaveLength(items);
    } finally {
      await env.close();
      await dispose();
    }
  }, 60_000);
});
