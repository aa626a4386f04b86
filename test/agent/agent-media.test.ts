/**
 * "Post this photo to Instagram" from chat: the agent's send tools take uploaded media ids and
 * per-account platform options — the fields REST's `POST /v1/posts` takes — checked by the
 * same service functions. Over the real WebSocket, with the scripted model driving the real
 * router; the photo is uploaded through REST (`POST /v1/media`), the Instagram fake downloads
 * it from a public URL and publishes it through its container flow. A post Instagram cannot
 * take (no image, a bad option, another workspace's media) creates nothing and the model
 * hears why.
 */
import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstagramConnector, instagramUrlsAt } from '../../connectors/instagram/index.js';
import { startInstagramFake, type InstagramFake } from '../../connectors/instagram/fake.js';
import { startFakeMediaHost, type FakeMediaHost } from '../../connectors/meta/fake-media-host.js';
import { schema } from '../../core/index.js';
import type { FakeChatRequest, FakeReply } from '../fakes/llm/index.js';
import type { Person } from '../helpers/api-env.js';
import { fileField, upload } from '../helpers/media-upload.js';
import { startAgentEnv, toolResults, type AgentEnv } from './agent-env.js';

let env: AgentEnv;
let ig: InstagramFake;
let host: FakeMediaHost;
let JPEG: Buffer;

beforeAll(async () => {
  ig = await startInstagramFake();
  host = await startFakeMediaHost();
  env = await startAgentEnv({
    connectors: [
      createInstagramConnector({
        urls: instagramUrlsAt(ig.url),
        timeoutMs: 3_000,
        mediaUrls: host.urls,
        pollIntervalMs: 50,
      }),
    ],
  });
  JPEG = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#cc3322' } })
    .jpeg()
    .toBuffer();
}, 180_000);

afterAll(async () => {
  await env?.close();
  await host?.close();
  await ig?.close();
});

/** A person with an Instagram account connected and a photo uploaded through REST. */
async function personWithPhoto(): Promise<{ p: Person; igUserId: string; mediaId: string }> {
  const { p } = await env.personWithMastodon();
  const a = ig.createAccount();
  await env.api.env.addAccount(p.workspaceId, {
    platform: 'instagram',
    externalId: a.userId,
    handle: a.username,
    credentials: { accessToken: a.accessToken, issuedAt: new Date().toISOString() },
    metadata: { login: 'instagram', publishingQuota: 50 },
  });
  const res = await upload(env.api, p, [fileField(JPEG, 'mug.jpg', 'image/jpeg')]);
  expect(res.statusCode).toBe(201);
  return { p, igUserId: a.userId, mediaId: (res.json() as { id: string }).id };
}

/** The model calls `publish_now` with these arguments, then says what the tool answered. */
const publishWith =
  (args: Record<string, unknown>) =>
  (req: FakeChatRequest): FakeReply => {
    const results = toolResults(req);
    if (results.length === 0) return { toolCalls: [{ name: 'publish_now', args }] };
    return { text: `Tool said: ${results[0]!.slice(0, 300)}` };
  };

async function postsOf(workspaceId: string) {
  return env.api.env.database.db.select().from(schema.posts).where(eq(schema.posts.workspaceId, workspaceId));
}

async function until<T>(what: string, read: () => T, ok: (v: T) => boolean): Promise<T> {
  // A guard against hangs, not a timing assertion.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`no ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('media and platform options from chat', () => {
  it('publishes an uploaded photo to Instagram with alt text and a collaborator, after confirming exactly that', async () => {
    const { p, igUserId, mediaId } = await personWithPhoto();
    env.brain = publishWith({
      text: 'Our new mug is here ☕',
      accounts: ['instagram'],
      media: [{ mediaId, altText: 'A red mug on a table' }],
      perAccount: [{ account: 'instagram', options: { collaborators: ['@potter_friend'] } }],
    });
    const c = await env.connect(p);
    const turn = await c.say('post this photo to Instagram: "Our new mug is here ☕"', 't-ig-photo');
    const ask = await c.confirmRequest(turn);
    expect(ask.action!.summary).toContain('Our new mug is here');
    expect(ask.action!.summary).toContain(`with 1 media (${mediaId})`);
    expect(ask.action!.summary).toContain('@potter_friend');
    expect(ask.action!.details).toMatchObject({
      tool: 'publish_now',
      targets: [
        {
          platform: 'instagram',
          media: [{ mediaId, altText: 'A red mug on a table' }],
          options: { collaborators: ['@potter_friend'] },
        },
      ],
    });
    // Nothing exists before the answer.
    expect(await postsOf(p.workspaceId)).toEqual([]);

    c.send({ type: 'confirm', turnId: turn, requestId: ask.requestId });
    expect(await c.end(turn)).toMatchObject({ reason: 'done' });
    const ends = c.ofTurn(turn).filter((e) => e.type === 'tool_end');
    expect(ends.map((e) => [e.name, e.ok])).toEqual([['publish_now', true]]);

    const [post] = await until(
      'post on Instagram',
      () => ig.posts(igUserId),
      (v) => v.length > 0,
    );
    expect(post).toMatchObject({
      caption: 'Our new mug is here ☕',
      mediaType: 'IMAGE',
      altTexts: ['A red mug on a table'],
      collaborators: ['potter_friend'],
    });
    const targets = await env.api.env.database.db
      .select()
      .from(schema.postTargets)
      .where(eq(schema.postTargets.workspaceId, p.workspaceId));
    expect(targets).toMatchObject([{ platform: 'instagram', media: [{ mediaId, altText: 'A red mug on a table' }] }]);
    c.close();
  });

  it('refuses what Instagram cannot take — no photo, a bad option, media of another workspace — and creates nothing', async () => {
    const { p, mediaId } = await personWithPhoto();
    const other = await personWithPhoto();
    const cases: Array<{ args: Record<string, unknown>; code: string; says: RegExp }> = [
      { args: { text: 'Words only', accounts: ['instagram'] }, code: 'target_invalid', says: /image or video|media/i },
      {
        args: {
          text: 'A bad kind',
          accounts: ['instagram'],
          media: [{ mediaId }],
          perAccount: [{ account: 'instagram', options: { kind: 'poster' } }],
        },
        code: 'target_invalid',
        says: /kind must be feed, reel or story/,
      },
      {
        args: { text: 'Not mine', accounts: ['instagram'], media: [{ mediaId: other.mediaId }] },
        code: 'not_found',
        says: /media/i,
      },
    ];
    const c = await env.connect(p);
    for (const [i, k] of cases.entries()) {
      env.brain = publishWith(k.args);
      const turn = await c.say(`post it (${i})`, `t-ig-bad-${i}`);
      const ask = await c.confirmRequest(turn).catch(() => null);
      // Describing the action may already fail (media of another workspace is not found):
      // then there is nothing to confirm.
      if (ask && ask.type === 'confirm_request') c.send({ type: 'confirm', turnId: turn, requestId: ask.requestId });
      await c.end(turn);
      const end = c.ofTurn(turn).find((e) => e.type === 'tool_end');
      expect(end, JSON.stringify(c.ofTurn(turn))).toMatchObject({ name: 'publish_now', ok: false });
      const answered = c.text(turn);
      expect(answered).toContain(k.code);
      expect(answered).toMatch(k.says);
    }
    expect(await postsOf(p.workspaceId)).toEqual([]);
    c.close();
  });
});
