/**
 * A draft for a platform that takes no post without media (Instagram): `draftPost` — the
 * service behind the agent's and MCP's draft_post — saves it from text alone (its media comes
 * later), and scheduling it without media is refused with `target_invalid` naming
 * `media_required`, before anything is queued, so no worker ever meets it. Once an image is
 * attached, the same draft schedules.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHeraldError } from '../../core/index.js';
import { createInstagramConnector, instagramUrlsAt } from '../../connectors/instagram/index.js';
import { startInstagramFake, type InstagramFake } from '../../connectors/instagram/fake.js';
import { startFakeMediaHost, type FakeMediaHost } from '../../connectors/meta/fake-media-host.js';
import { draftPost } from '../../tools/drafting/index.js';
import { uploadMedia } from '../../tools/media/index.js';
import { getPostView, schedulePostDraft, updateTarget } from '../../tools/posts/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let ig: InstagramFake;
let host: FakeMediaHost;
let env: PublishingEnv;

beforeAll(async () => {
  ig = await startInstagramFake();
  host = await startFakeMediaHost();
  env = await startPublishingEnv({
    connectors: [createInstagramConnector({ urls: instagramUrlsAt(ig.url), mediaUrls: host.urls })],
  });
});
afterAll(async () => {
  await env?.close();
  await host?.close();
  await ig?.close();
});

async function instagramAccount() {
  const { ctx, workspaceId } = await env.newWorkspace('UTC');
  const a = ig.createAccount();
  const accountId = await env.addAccount(workspaceId, {
    platform: 'instagram',
    externalId: a.userId,
    handle: a.username,
    credentials: { accessToken: a.accessToken },
    metadata: { login: 'instagram' },
  });
  return { ctx, accountId };
}

describe('an Instagram draft without media', () => {
  it('is saved by draftPost, and refused with media_required when scheduled, before anything is queued', async () => {
    const { ctx, accountId } = await instagramAccount();
    const { post } = await draftPost({ scheduling: env.deps }, ctx, {
      text: 'Golden hour at the harbour',
      accounts: [accountId],
    });
    expect(post.targets.map((t) => t.status)).toEqual(['draft']);

    const at = new Date(Date.now() + 3_600_000).toISOString();
    const refusal = await schedulePostDraft(env.deps, ctx, post.id, { at }).catch((e: unknown) => e);
    expect(isHeraldError(refusal) && refusal.code).toBe('target_invalid');
    const details = (refusal as { details: { targets: Array<{ issues: Array<{ code: string; message: string }> }> } })
      .details;
    expect(details.targets[0]!.issues.map((i) => i.code)).toEqual(['media_required']);
    expect(details.targets[0]!.issues[0]!.message).toMatch(/Instagram takes no post without media/);
    // Nothing moved, nothing queued.
    expect((await getPostView(env.deps, ctx, post.id)).targets.map((t) => t.status)).toEqual(['draft']);
    const jobs = await env.queue.queue.getJobCounts('delayed', 'waiting', 'active');
    expect(jobs.delayed! + jobs.waiting! + jobs.active!).toBe(0);

    // With an image attached, the same draft schedules.
    const { media } = await uploadMedia({ db: env.deps.db, store: env.mediaStore, maxBytes: 1 << 20 }, ctx, {
      data: await sharp({ create: { width: 40, height: 40, channels: 3, background: '#336699' } })
        .jpeg()
        .toBuffer(),
    });
    const target = post.targets[0]!;
    await updateTarget(env.deps, ctx, post.id, target.id, {
      content: target.content,
      media: [{ mediaId: media.id }],
    });
    const scheduled = await schedulePostDraft(env.deps, ctx, post.id, { at });
    expect(scheduled.targets.map((t) => t.status)).toEqual(['scheduled']);
  });

  it('is one media_required issue from the connector; a part with nothing at all is only empty', () => {
    const connector = createInstagramConnector({ urls: instagramUrlsAt(ig.url), mediaUrls: host.urls });
    const codes = (text: string) =>
      connector.validate({ metadata: {} }, { parts: [{ text, media: [] }], options: {} }).map((i) => i.code);
    expect(codes('A caption and no picture')).toEqual(['media_required']);
    expect(codes('  ')).toEqual(['empty']);
  });
});
