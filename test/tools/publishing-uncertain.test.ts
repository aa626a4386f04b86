/**
 * The publish worker after an attempt whose answer was lost, on X and LinkedIn as their
 * fakes model them in 2026 (real HTTP servers on loopback, real Redis, PGlite): a media post
 * found rather than posted twice; X's "duplicate content" after an uncertain attempt read as
 * "published, find it", not a refusal; a LinkedIn member account whose posts the app may not
 * read ending `unconfirmed` with the reason instead of a job that errors forever; a thread X
 * stops after its first post published with the rest reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTarget, listAttempts } from '../../core/index.js';
import type { Connector } from '../../connectors/index.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { createLinkedInConnector } from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake } from '../../connectors/linkedin/fake.js';
import { uploadMedia } from '../../tools/media/index.js';
import { publishNow, type ServiceContext } from '../../tools/scheduling/index.js';
import { eventually, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { solidPng } from '../helpers/media-fixtures.js';

let x: XFake;
let strictX: XFake;
let li: LinkedInFake;
let env: PublishingEnv;
/** Lookups the X connector's timeline hides (as a timeline that has not caught up yet would). */
let hideNextLookups = 0;

beforeAll(async () => {
  x = await startXFake();
  strictX = await startXFake({ selfReplies: false });
  li = await startLinkedInFake();
  const xConnector = createXConnector({
    clientId: x.clientId,
    clientSecret: x.clientSecret,
    apiUrl: x.url,
    timeoutMs: 500,
  });
  const lagging: Connector = {
    ...xConnector,
    async lookup(...args) {
      const found = await xConnector.lookup(...args);
      if (hideNextLookups > 0) {
        hideNextLookups--;
        return null;
      }
      return found;
    },
  };
  const strict: Connector = {
    ...createXConnector({
      clientId: strictX.clientId,
      clientSecret: strictX.clientSecret,
      apiUrl: strictX.url,
      timeoutMs: 500,
    }),
    platform: 'x-strict',
  };
  const linkedin = createLinkedInConnector({
    clientId: li.clientId,
    clientSecret: li.clientSecret,
    apiUrl: li.url,
    oauthUrl: li.url,
    timeoutMs: 500,
  });
  env = await startPublishingEnv({ connectors: [lagging, strict, linkedin], maxAttempts: 4, backoffMs: 100 });
  env.startWorker();
});
afterAll(async () => {
  await env?.close();
  await x?.close();
  await strictX?.close();
  await li?.close();
});

const settled = (ctx: ServiceContext, targetId: string, want: string) =>
  eventually(
    async () => ((await getTarget(env.deps.db, ctx.workspaceId, targetId))?.status === want ? true : undefined),
    20_000,
    `target ${targetId} ${want}`,
  );

async function xAccount(fake: XFake, platform = 'x') {
  const { ctx, workspaceId } = await env.newWorkspace();
  const a = fake.createAccount();
  const accountId = await env.addAccount(workspaceId, {
    platform,
    externalId: a.userId,
    handle: a.username,
    credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken },
  });
  return { ctx, a, accountId };
}

describe('after an uncertain publish on X', () => {
  it('a post with only an image is found, not posted again', async () => {
    const { ctx, a, accountId } = await xAccount(x);
    const { media } = await uploadMedia({ db: env.deps.db, store: env.mediaStore, maxBytes: 1 << 20 }, ctx, {
      data: await solidPng(6, 6, '#123456'),
    });
    x.failNext(a.userId, 'timeout_after_apply');
    const { targets } = await publishNow(env.deps, ctx, {
      content: '',
      targets: [{ socialAccountId: accountId, media: [{ mediaId: media.id }] }],
    });
    await settled(ctx, targets[0]!.id, 'published');
    expect(x.posts(a.userId)).toHaveLength(1);
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.platformPostId).toBe(x.posts(a.userId)[0]!.id);
  });

  it("X's duplicate-content 403 after an uncertain attempt means published: the post is found, not failed", async () => {
    const { ctx, a, accountId } = await xAccount(x);
    x.failNext(a.userId, 'timeout_after_apply');
    hideNextLookups = 1; // the first lookup misses it, so the worker posts again and X says "duplicate"
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'said once',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id, 'published');
    expect(x.posts(a.userId).map((p) => p.text)).toEqual(['said once']);
    const attempts = await listAttempts(env.deps.db, ctx.workspaceId, targets[0]!.id);
    expect(attempts.map((t) => t.error?.reason ?? null)).toContain('duplicate');
  });

  it('a thread X stops after its first post is published, the rest reported with the rule', async () => {
    const { ctx, a, accountId } = await xAccount(strictX, 'x-strict');
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'first',
      targets: [{ socialAccountId: accountId, threadParts: ['second', 'third'] }],
    });
    await settled(ctx, targets[0]!.id, 'published');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.platformPostId).toBe(strictX.posts(a.userId)[0]!.id);
    expect(row.lastError).toMatchObject({ kind: 'thread_incomplete', reason: 'reply_restricted', part: 1 });
    expect(String((row.lastError as { message: string }).message)).toContain('parts 2-3 are not');
    expect(strictX.posts(a.userId).map((p) => p.text)).toEqual(['first']);
  });

  it('a thread whose later part X refuses as a duplicate is published up to it, not failed (publishing again meets the same refusal)', async () => {
    const { ctx, a, accountId } = await xAccount(x);
    x.failNext(a.userId, null); // part 1 goes through
    x.failNext(a.userId, 'invalid_content'); // part 2: "You are not allowed to create a Tweet with duplicate content."
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'opening',
      targets: [{ socialAccountId: accountId, threadParts: ['middle', 'closing'] }],
    });
    await settled(ctx, targets[0]!.id, 'published');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.platformPostId).toBe(x.posts(a.userId)[0]!.id);
    expect(row.lastError).toMatchObject({ kind: 'thread_incomplete', reason: 'duplicate', part: 1 });
    const message = String((row.lastError as { message: string }).message);
    expect(message).toContain('Parts 1-1 are published; parts 2-3 are not');
    expect(message).toContain('already has part 2');
    expect(x.posts(a.userId).map((p) => p.text)).toEqual(['opening']);
  });
});

describe('after an uncertain publish on LinkedIn', () => {
  it('a member account whose posts the app may not read ends unconfirmed, saying why, and posts once', async () => {
    const { ctx, workspaceId } = await env.newWorkspace();
    const m = li.createAccount(); // w_member_social only, as self-serve apps get
    const accountId = await env.addAccount(workspaceId, {
      platform: 'linkedin',
      externalId: m.memberId,
      handle: m.name,
      credentials: { accessToken: m.accessToken },
    });
    li.failNext(m.memberId, 'timeout_after_apply');
    const { targets } = await publishNow(env.deps, ctx, {
      content: 'member post',
      targets: [{ socialAccountId: accountId }],
    });
    await settled(ctx, targets[0]!.id, 'unconfirmed');
    const row = (await getTarget(env.deps.db, ctx.workspaceId, targets[0]!.id))!;
    expect(row.lastError).toMatchObject({ kind: 'unconfirmed', reason: 'lookup_unavailable' });
    expect(String((row.lastError as { message: string }).message)).toContain('r_member_social');
    expect(li.posts(`urn:li:person:${m.memberId}`)).toHaveLength(1);
  });
});
