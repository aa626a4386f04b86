/**
 * Scheduling and publishing end to end against a real Bluesky PDS (through the
 * fault-injecting proxy), real Redis and PGlite: validation at schedule time, the worker's
 * state machine, retries, rate limits, token refresh, reconnect, reconciliation, events.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSocialAccount, getTarget, listAttempts, readCredentials, transitionTarget } from '../../core/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed, type BlueskyTestbed, type TestAccount } from '../../connectors/bluesky/fake.js';
import type { Connector } from '../../connectors/index.js';
import { reconcile } from '../../tools/publishing/index.js';
import {
  cancel,
  getPostStatus,
  listScheduled,
  publishNow,
  reschedule,
  schedulePost,
  type ServiceContext,
} from '../../tools/scheduling/index.js';
import { eventually, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { createLogger } from '../../core/index.js';

let bed: BlueskyTestbed;
let env: PublishingEnv;
let connector: Connector;

beforeAll(async () => {
  bed = await startBlueskyTestbed();
  connector = createBlueskyConnector({ timeoutMs: 1_500 });
  env = await startPublishingEnv({ connectors: [connector], maxAttempts: 4, backoffMs: 100 });
  env.startWorker();
});
afterAll(async () => {
  await env?.close();
  await bed?.close();
});

async function workspaceWithAccount(opts: { keepAppPassword?: boolean } = {}) {
  const { ctx, workspaceId } = await env.newWorkspace();
  const acct = await bed.createAccount();
  const credentials: Record<string, unknown> = { ...acct.credentials };
  if (opts.keepAppPassword === false) delete credentials.appPassword;
  const accountId = await env.addAccount(workspaceId, {
    platform: 'bluesky',
    externalId: acct.did,
    handle: acct.handle,
    credentials,
  });
  return { ctx, workspaceId, acct, accountId };
}

const texts = async (acct: TestAccount) => (await bed.listPosts(acct.did)).map((p) => p.text);
const statusOf = async (ctx: ServiceContext, targetId: string) =>
  (await getTarget(env.deps.db, ctx.workspaceId, targetId))?.status;
const settled = (ctx: ServiceContext, targetId: string, want = 'published') =>
  eventually(async () => (await statusOf(ctx, targetId)) === want || undefined, 20_000, `target ${targetId} ${want}`);

describe('validation at schedule time', () => {
  it('refuses text over the limit with the exact reason and limit, writing nothing', async () => {
    const { ctx, accountId, acct } = await workspaceWithAccount();
    const jobsBefore = await env.queue.queue.getJobCounts('delayed', 'waiting');
    const err = await schedulePost(env.deps, ctx, {
      content: '🙂'.repeat(301),
      targets: [{ socialAccountId: accountId }],
      at: new Date(Date.now() + 60_000),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'target_invalid', status: 422 });
    const issue = (err as { details: { targets: Array<{ issues: Array<Record<string, unknown>> }> } }).details
      .targets[0]!.issues[0]!;
    expect(issue).toMatchObject({ code: 'text_too_long', limit: 300, actual: 301 });
    expect(String(issue.message)).toContain('300');
    expect(await env.queue.queue.getJobCounts('delayed', 'waiting')).toEqual(jobsBefore);
    expect(await listScheduled(env.deps, ctx, { from: '2000-01-01T00:00Z', to: '2100-01-01T00:00Z' })).toEqual([]);
    expect(await texts(acct)).toEqual([]);
  });

  it("treats another workspace's account as missing", async () => {
    const a = await workspaceWithAccount();
    const b = await workspaceWithAccount();
    await expect(
      schedulePost(env.deps, b.ctx, {
        content: 'x',
        targets: [{ socialAccountId: a.accountId }],
        at: new Date(Date.now() + 60_000),
      }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('refuses times in the past and times that do not exist', async () => {
    const { ctx, accountId } = await workspaceWithAccount();
    await expect(
      schedulePost(env.deps, ctx, { content: 'x', targets: [{ socialAccountId: accountId }], at: '2020-01-01T09:00' }),
    ).rejects.toMatchObject({ code: 'invalid_time' });
    await expect(
      schedulePost(env.deps, ctx, { content: 'x', targets: [{ socialAccountId: accountId }], at: '2099-03-29T02:30' }),
    ).rejects.toMatchObject({ code: 'invalid_time' });
  });
});

describe('publishing', () => {
  it('publishes a scheduled post at its time, once, emitting each status change', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    const events = await env.recordEvents();
    const at = new Date(Date.now() + 1_200);
    const { targets } = await schedulePost(env.deps, ctx, {
      content: `hello ${randomUUID()}`,
      targets: [{ socialAccountId: accountId }],
      at,
    });
    const target = targets[0]!;
    expect(target.status).toBe('scheduled');
    expect(target.scheduledAtLocal).toMatch(/\+0[12]:00$/);
    await settled(ctx, target.id);
    const row = (await getTarget(env.deps.db, ctx.workspaceId, target.id))!;
    expect(row.publishedAt!.getTime()).toBeGreaterThanOrEqual(at.getTime());
    expect(row.platformPostId).toMatch(/^at:\/\//);
    expect(await texts(acct)).toHaveLength(1);
    expect((await listAttempts(env.deps.db, ctx.workspaceId, target.id)).map((a) => a.outcome)).toEqual(['succeeded']);
    await eventually(
      async () => events.filter((e) => e.type === 'target.status' && e.targetId === target.id).length >= 3 || undefined,
    );
    expect(
      events
        .filter((e) => e.type === 'target.status' && e.targetId === target.id)
        .map((e) => (e.type === 'target.status' ? `${e.from}->${e.to}` : '')),
    ).toEqual(['null->scheduled', 'scheduled->publishing', 'publishing->published']);
  });

  it('reschedules and cancels; a published post can be neither', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    const later = await schedulePost(env.deps, ctx, {
      content: 'moved',
      targets: [{ socialAccountId: accountId }],
      at: new Date(Date.now() + 3_600_000),
    });
    const moved = await reschedule(env.deps, ctx, later.targets[0]!.id, new Date(Date.now() + 500));
    expect(moved.scheduledAt!.getTime()).toBeLessThan(Date.now() + 1_000);
    const dropped = await schedulePost(env.deps, ctx, {
      content: 'dropped',
      targets: [{ socialAccountId: accountId }],
      at: new Date(Date.now() + 800),
    });
    await cancel(env.deps, ctx, dropped.targets[0]!.id);
    await settled(ctx, later.targets[0]!.id);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await texts(acct)).toEqual(['moved']);
    expect(await statusOf(ctx, dropped.targets[0]!.id)).toBe('cancelled');
    await expect(reschedule(env.deps, ctx, later.targets[0]!.id, new Date(Date.now() + 60_000))).rejects.toMatchObject({
      code: 'invalid_state',
    });
    await expect(cancel(env.deps, ctx, later.targets[0]!.id)).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('waits out a 429 until the reset time, then publishes once', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    const resetAt = new Date(Date.now() + 1_500);
    bed.failNext(acct.did, 'rate_limited', { resetAt });
    bed.failNext(acct.did, 'rate_limited', { resetAt });
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'patient',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id);
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.publishedAt!.getTime()).toBeGreaterThanOrEqual(resetAt.getTime());
    expect(await texts(acct)).toEqual(['patient']);
  });

  it('an answer lost after the write is looked up, never posted twice', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    bed.failNext(acct.did, 'timeout_after_apply');
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'exactly once',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id);
    expect(await texts(acct)).toEqual(['exactly once']);
    const attempts = await listAttempts(env.deps.db, ctx.workspaceId, targets[0]!.id);
    expect(attempts.map((a) => a.outcome)).toEqual(['succeeded', 'unknown']);
  });

  it('retries 5xx with backoff and gives up as failed after the last try, saying why', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    for (let i = 0; i < 4; i++) bed.failNext(acct.did, 'server_error');
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'doomed',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id, 'failed');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.lastError).toMatchObject({
      kind: 'transient',
      message: expect.stringContaining('Gave up after repeated errors'),
    });
    expect(await texts(acct)).toEqual([]);
  });

  it('refused content fails at once with the platform message', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    bed.failNext(acct.did, 'invalid_content');
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'refused',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id, 'failed');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.lastError).toMatchObject({ kind: 'invalid_content' });
    expect(await listAttempts(env.deps.db, ctx.workspaceId, targets[0]!.id)).toHaveLength(1);
  });

  it('a thread failing in part 2 stops there and names the part; publishing it again completes without duplicates', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    bed.failNext(acct.did, 'invalid_content', { after: 1 });
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'one',
      targets: [{ socialAccountId: accountId, threadParts: ['two', 'three'] }],
    });
    await settled(ctx, targets[0]!.id, 'failed');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.lastError).toMatchObject({ kind: 'invalid_content', part: 1 });
    expect(await texts(acct)).toEqual(['one']);
  });

  it('an expired token is refreshed and the new credentials are stored', async () => {
    const { ctx, acct, accountId, workspaceId } = await workspaceWithAccount();
    const before = (await readCredentials(env.deps.db, env.cipher, workspaceId, accountId))!;
    bed.expireAccessToken(acct.did);
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'after refresh',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id);
    const after = (await readCredentials(env.deps.db, env.cipher, workspaceId, accountId))!;
    // Refresh tokens are unique per session; access tokens issued in the same second may repeat.
    expect(after.refreshJwt).not.toBe(before.refreshJwt);
    expect(await texts(acct)).toEqual(['after refresh']);
    const attempts = await listAttempts(env.deps.db, ctx.workspaceId, targets[0]!.id);
    expect(attempts.map((a) => [a.outcome, a.error?.kind ?? null])).toEqual([
      ['succeeded', null],
      ['failed', 'auth_expired'],
    ]);
  });

  it('a refresh that fails marks the account needs_reconnect and fails its post with that reason; other accounts carry on', async () => {
    const broken = await workspaceWithAccount({ keepAppPassword: false });
    const fine = await workspaceWithAccount();
    const events = await env.recordEvents();
    const creds = (await readCredentials(env.deps.db, env.cipher, broken.workspaceId, broken.accountId))!;
    await bed.revokeRefreshToken(creds as never);
    bed.expireAccessToken(broken.acct.did);
    const a = await publishNow(env.deps, broken.ctx, {
      content: 'cannot',
      targets: [{ socialAccountId: broken.accountId }],
    });
    const b = await publishNow(env.deps, fine.ctx, { content: 'can', targets: [{ socialAccountId: fine.accountId }] });
    await settled(broken.ctx, a.targets[0]!.id, 'failed');
    await settled(fine.ctx, b.targets[0]!.id);
    expect((await getTarget(env.deps.db, broken.workspaceId, a.targets[0]!.id))!.lastError).toMatchObject({
      kind: 'auth_expired',
      message: expect.stringContaining('needs reconnecting'),
    });
    expect((await getSocialAccount(env.deps.db, broken.workspaceId, broken.accountId))!.status).toBe('needs_reconnect');
    expect((await getSocialAccount(env.deps.db, fine.workspaceId, fine.accountId))!.status).toBe('active');
    await eventually(
      async () =>
        events.some((e) => e.type === 'account.status' && e.socialAccountId === broken.accountId) || undefined,
    );
    await expect(
      publishNow(env.deps, broken.ctx, { content: 'again', targets: [{ socialAccountId: broken.accountId }] }),
    ).rejects.toMatchObject({ code: 'account_unavailable' });
  });

  it('getPostStatus shows each target with its attempts, in the caller zone', async () => {
    const { ctx, accountId } = await workspaceWithAccount();
    const { postId, targets } = await publishNow(env.deps, ctx, {
      content: 'status',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id);
    const status = await getPostStatus(env.deps, ctx, postId);
    expect(status.targets[0]).toMatchObject({
      status: 'published',
      attempts: [expect.objectContaining({ outcome: 'succeeded' })],
    });
  });
});

describe('the reconciler', () => {
  it('queues a due target whose job was lost, and the worker publishes it once', async () => {
    const { ctx, acct, accountId } = await workspaceWithAccount();
    const { targets } = await schedulePost(env.deps, ctx, {
      content: 'lost job',
      targets: [{ socialAccountId: accountId }],
      at: new Date(Date.now() + 60_000),
    });
    const id = targets[0]!.id;
    await (await env.queue.queue.getJob(id))!.remove();
    // The post becomes due with no job behind it (as after Redis lost its data).
    await transitionTarget(env.deps.db, ctx.workspaceId, id, ['scheduled'], 'scheduled', { scheduledAt: new Date() });
    const logger = createLogger({ level: 'silent' });
    const report = await reconcile({ db: env.deps.db, queue: env.queue, logger });
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    await settled(ctx, id);
    // Running it again changes nothing and publishes nothing more.
    await reconcile({ db: env.deps.db, queue: env.queue, logger });
    await new Promise((r) => setTimeout(r, 500));
    expect(await texts(acct)).toEqual(['lost job']);
  });

  it('checks every due target even while others leave the set mid-sweep (pages by key, not offset)', async () => {
    const { ctx, accountId } = await workspaceWithAccount();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { targets } = await schedulePost(env.deps, ctx, {
        content: `sweep ${i}`,
        targets: [{ socialAccountId: accountId }],
        at: new Date(Date.now() + 3600_000 + i * 60_000),
      });
      ids.push(targets[0]!.id);
      await (await env.queue.queue.getJob(targets[0]!.id))!.remove();
    }
    // All five due now with no job; the worker must not pick them up while the sweep runs.
    for (const id of ids)
      await transitionTarget(env.deps.db, ctx.workspaceId, id, ['scheduled'], 'scheduled', { scheduledAt: new Date() });
    const seen: string[] = [];
    const queue = {
      queue: {
        // As each page is looked at, its targets start publishing elsewhere and leave the result set.
        getJobState: async (id: string) => {
          if (ids.includes(id)) {
            seen.push(id);
            await transitionTarget(env.deps.db, ctx.workspaceId, id, ['scheduled'], 'publishing');
          }
          return env.queue.queue.getJobState(id);
        },
        getJob: (id: string) => env.queue.queue.getJob(id),
      },
      enqueue: async () => undefined,
    } as unknown as typeof env.queue;
    await reconcile({ db: env.deps.db, queue, logger: createLogger({ level: 'silent' }) }, { batchSize: 2 });
    expect([...seen].sort()).toEqual([...ids].sort());
    for (const id of ids) await transitionTarget(env.deps.db, ctx.workspaceId, id, ['publishing'], 'failed');
  });
});
