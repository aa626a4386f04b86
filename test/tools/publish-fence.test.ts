/**
 * The attempt fence (connectors/fence.ts): a worker that lost its job lock and account lease
 * while starved wakes up after another worker took its target over, marked its attempt
 * uncertain, looked the post up (nothing yet), and posted. Without the fence the first worker
 * then posts too: a media-only post on X (which X's duplicate-text check does not catch) goes
 * out twice. With it, the first worker's next write — here its media upload — is refused and
 * it stops. On the X fake over real HTTP, PGlite and Redis; the two workers are two
 * `publishTarget` runs, the second with an account gate of its own (the first one's lease has
 * run out for it).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTarget, listAttempts } from '../../core/index.js';
import {
  AttemptSuperseded,
  isConnectorError,
  supersededIn,
  withFence,
  type Connector,
} from '../../connectors/index.js';
import { classify } from '../../connectors/bluesky/errors.js';
import { xrpcAgent } from '../../connectors/bluesky/client.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { uploadMedia } from '../../tools/media/index.js';
import { AccountGate, publishTarget } from '../../tools/publishing/index.js';
import { publishNow } from '../../tools/scheduling/index.js';
import { eventually, REDIS_URL, startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';
import { solidPng } from '../helpers/media-fixtures.js';

let x: XFake;
let env: PublishingEnv;
let redis: Redis;
/** Holds the first worker inside its publish call until released (as a starved process would be). */
let hold: Promise<void> | null = null;

beforeAll(async () => {
  x = await startXFake();
  const real = createXConnector({
    clientId: x.clientId,
    clientSecret: x.clientSecret,
    apiUrl: x.url,
    timeoutMs: 2_000,
  });
  const stalling: Connector = {
    ...real,
    async publish(...args) {
      if (hold) await hold;
      return real.publish(...args);
    },
  };
  env = await startPublishingEnv({ connectors: [stalling] });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await env?.close();
  await x?.close();
  redis?.disconnect();
});

describe('the attempt fence', () => {
  it('a worker whose attempt was taken over stops before writing: a media-only post goes out once', async () => {
    const { ctx, workspaceId } = await env.newWorkspace();
    const a = x.createAccount();
    const accountId = await env.addAccount(workspaceId, {
      platform: 'x',
      externalId: a.userId,
      handle: a.username,
      credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken },
    });
    const { media } = await uploadMedia({ db: env.deps.db, store: env.mediaStore, maxBytes: 1 << 20 }, ctx, {
      data: await solidPng(6, 6, '#abcdef'),
    });
    // No worker runs: the two runs below are the two workers.
    const { targets } = await publishNow(env.deps, ctx, {
      content: '',
      targets: [{ socialAccountId: accountId, media: [{ mediaId: media.id }] }],
    });
    const targetId = targets[0]!.id;

    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const first = publishTarget(env.workerDeps, workspaceId, targetId, { lastTry: false, holder: 'first' });
    // The first worker has journaled its attempt and is inside the platform call.
    await eventually(
      async () =>
        (await listAttempts(env.deps.db, workspaceId, targetId))[0]?.outcome === 'pending' ? true : undefined,
      10_000,
      'the first attempt to be journaled',
    );
    hold = null;

    // Its lease is gone: the second worker's gate does not see it.
    const secondDeps = { ...env.workerDeps, gate: new AccountGate(redis, 5_000, `fence-${randomUUID()}`) };
    const second = await publishTarget(secondDeps, workspaceId, targetId, { lastTry: false, holder: 'second' });
    expect(second).toEqual({ kind: 'done', status: 'published' });
    expect(x.posts(a.userId)).toHaveLength(1);

    // The first worker wakes up: its upload is refused before it leaves, and nothing more is posted.
    release();
    await expect(first).rejects.toBeInstanceOf(AttemptSuperseded);
    expect(x.posts(a.userId)).toHaveLength(1);
    const target = (await getTarget(env.deps.db, workspaceId, targetId))!;
    expect(target.status).toBe('published');
    expect(target.platformPostId).toBe(x.posts(a.userId)[0]!.id);
  });

  it("a refusal Bluesky's client wraps (XRPCError, then the platform's classifier) is still known as superseded", async () => {
    let sent = 0;
    const agent = xrpcAgent('http://127.0.0.1:9', {
      timeoutMs: 1_000,
      fetch: async () => {
        sent++;
        throw new Error('must not be reached');
      },
    });
    const err = await withFence(
      async () => {
        throw new AttemptSuperseded();
      },
      () => agent.com.atproto.repo.createRecord({ repo: 'did:plc:x', collection: 'app.bsky.feed.post', record: {} }),
    ).catch((e: unknown) => classify(e, { write: true }));
    expect(sent).toBe(0);
    // The publish path sees a platform error here, and must still stop without touching the target.
    expect(isConnectorError(err)).toBe(true);
    expect(supersededIn(err)).toBeInstanceOf(AttemptSuperseded);
  });
});
