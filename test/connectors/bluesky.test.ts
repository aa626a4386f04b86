/**
 * The Bluesky connector against a real PDS (and, for metrics, a real AppView) running in this
 * process: the shared connector contract, then Bluesky's own rules — grapheme and byte limits,
 * facets at UTF-8 offsets, images, reply refs, exactly-once threads, session renewal, error
 * mapping — each checked by reading back what the PDS holds.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { XRPCError } from '@atproto/api';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, PublishInput } from '../../connectors/contract.js';
import { AuthExpired, InvalidContent, PermanentError, RateLimited, TransientError } from '../../connectors/errors.js';
import { startBlueskyTestbed, type BlueskyTestbed, type TestAccount } from '../../connectors/bluesky/fake.js';
import { imageDimensions } from '../../connectors/bluesky/image-dimensions.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { IMAGE_MAX_BYTES } from '../../connectors/bluesky/limits.js';
import { partRecordKey, TID_PATTERN } from '../../connectors/bluesky/record-key.js';
import { formatBytes } from '../../connectors/text-length.js';
import { connectorContract } from '../contract/connector.suite.js';

// The AppView needs PostgreSQL; CI (.ci/run) sets TEST_DATABASE_URL to this same server.
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TIMEOUT_MS = 1000;

let started: Promise<BlueskyTestbed> | undefined;
const testbed = () => (started ??= startBlueskyTestbed({ postgresUrl: POSTGRES_URL }));
afterAll(async () => {
  await (await started)?.close();
});

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#d00' } })
    .png()
    .toBuffer();
const redSquare = await png(64, 48);

connectorContract('Bluesky', async () => {
  const tb = await testbed();
  return {
    connector: createBlueskyConnector({ timeoutMs: TIMEOUT_MS, appViewUrl: tb.appViewUrl! }),
    newAccount: async () => {
      const { did, context } = await tb.createAccount();
      return { account: context, peer: tb.peerFor(did) };
    },
    image: () => ({ mimeType: 'image/png', sizeBytes: redSquare.length, bytes: redSquare }),
    teardown: async () => {},
  };
});

const text = (...parts: string[]): PublishInput => ({ parts: parts.map((t) => ({ text: t, media: [] })), options: {} });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
const byteOffset = (s: string, sub: string) => Buffer.byteLength(s.slice(0, s.indexOf(sub)), 'utf8');

describe('Bluesky connector', () => {
  let tb: BlueskyTestbed;
  let connector: ReturnType<typeof createBlueskyConnector>;
  let alice: TestAccount;

  beforeAll(async () => {
    tb = await testbed();
    connector = createBlueskyConnector({ timeoutMs: TIMEOUT_MS, appViewUrl: tb.appViewUrl! });
    alice = await tb.createAccount();
  });
  const fresh = () => tb.createAccount();
  const posts = (account: TestAccount) => tb.listPosts(account.did);

  describe('text length', () => {
    it('counts graphemes: 300 emoji with skin tones pass and are published, 301 do not', async () => {
      const thumbs = '👍🏽'; // two code points, four UTF-16 units, one grapheme
      expect(connector.validate(alice.context, text(thumbs.repeat(300)))).toEqual([]);
      expect(connector.validate(alice.context, text(thumbs.repeat(301)))).toEqual([
        expect.objectContaining({ code: 'text_too_long', limit: 300, actual: 301 }),
      ]);
      const account = await fresh();
      await connector.publish(account.context, text(thumbs.repeat(300)), randomUUID());
      expect((await posts(account)).map((p) => p.text)).toEqual([thumbs.repeat(300)]);
    });

    it('counts a ZWJ family as one grapheme, and also holds to the 3000-byte limit the PDS enforces', async () => {
      const family = '👨‍👩‍👧‍👦'; // seven code points joined by ZWJ: one grapheme, 25 UTF-8 bytes
      expect(connector.validate(alice.context, text(family.repeat(120)))).toEqual([]);
      const over = connector.validate(alice.context, text(family.repeat(121)));
      expect(over).toEqual([expect.objectContaining({ code: 'text_too_long', limit: 3000, actual: 3025 })]);
      expect(over[0]!.message).toContain('3000 bytes');
      // 300 families are 300 graphemes but 7,500 bytes; 301 break both limits.
      expect(connector.validate(alice.context, text(family.repeat(300))).map((i) => [i.limit, i.actual])).toEqual([
        [3000, 7500],
      ]);
      expect(connector.validate(alice.context, text(family.repeat(301))).map((i) => [i.limit, i.actual])).toEqual([
        [300, 301],
        [3000, 7525],
      ]);

      const account = await fresh();
      await connector.publish(account.context, text(family.repeat(120)), randomUUID());
      expect((await posts(account)).map((p) => p.text)).toEqual([family.repeat(120)]);
      // The byte limit is the PDS's own: it refuses 121 families written without the connector.
      const agent = await tb.agentFor(account);
      const refused = await failure(
        agent.com.atproto.repo.createRecord({
          repo: account.did,
          collection: 'app.bsky.feed.post',
          record: { $type: 'app.bsky.feed.post', text: family.repeat(121), createdAt: new Date().toISOString() },
        }),
      );
      expect(refused).toMatchObject({ status: 400, error: 'InvalidRequest' });
      expect((refused as Error).message).toContain('maximum 3000, got 3025');
    });
  });

  it('fails, rather than dropping the mention, when a handle cannot be looked up', async () => {
    const account = await fresh();
    const friend = await fresh();
    const flaky = createBlueskyConnector({
      timeoutMs: TIMEOUT_MS,
      appViewUrl: tb.appViewUrl!,
      fetch: (input, init) =>
        String(input).includes('/xrpc/com.atproto.identity.resolveHandle')
          ? Promise.reject(
              new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }),
            )
          : fetch(input, init),
    });
    const err = await failure(flaky.publish(account.context, text(`hi @${friend.handle}`), randomUUID()));
    expect(err).toMatchObject({ kind: 'transient' });
    expect(await posts(account)).toEqual([]);
  });

  it('detects links, mentions and hashtags at UTF-8 byte offsets; an unknown handle stays plain text', async () => {
    const account = await fresh();
    const friend = await fresh();
    const link = 'https://example.com/a?b=1';
    const body = `👨‍👩‍👧 ça va @${friend.handle}? read ${link} #herald cc @nobody-${randomUUID().slice(0, 8)}.test`;
    await connector.publish(account.context, text(body), randomUUID());
    const [post] = await posts(account);
    const at = (sub: string) => ({
      byteStart: byteOffset(body, sub),
      byteEnd: byteOffset(body, sub) + Buffer.byteLength(sub),
    });
    // The emoji and the cedilla make byte offsets differ from string indexes: the check has teeth.
    expect(at(link).byteStart).toBeGreaterThan(body.indexOf(link));
    expect(post!.facets).toEqual([
      {
        $type: 'app.bsky.richtext.facet',
        index: at(`@${friend.handle}`),
        features: [{ $type: 'app.bsky.richtext.facet#mention', did: friend.did }],
      },
      {
        $type: 'app.bsky.richtext.facet',
        index: at(link),
        features: [{ $type: 'app.bsky.richtext.facet#link', uri: link }],
      },
      {
        $type: 'app.bsky.richtext.facet',
        index: at('#herald'),
        features: [{ $type: 'app.bsky.richtext.facet#tag', tag: 'herald' }],
      },
    ]);
  });

  describe('images', () => {
    it('publishes four images with alt text and the displayed aspect ratio', async () => {
      const account = await fresh();
      const sideways = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#0a0' } })
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer();
      const webp = await sharp({ create: { width: 50, height: 20, channels: 4, background: '#00f8' } })
        .webp()
        .toBuffer();
      const media = [
        { bytes: redSquare, mimeType: 'image/png', altText: 'A red rectangle' },
        { bytes: sideways, mimeType: 'image/jpeg', altText: 'A green photo taken sideways' },
        { bytes: webp, mimeType: 'image/webp', altText: 'A translucent blue strip' },
        { bytes: await png(10, 10), mimeType: 'image/png', altText: '' },
      ].map((m) => ({ ...m, sizeBytes: m.bytes.length }));
      const input: PublishInput = { parts: [{ text: 'four pictures', media }], options: {} };
      expect(connector.validate(account.context, input)).toEqual([]);
      await connector.publish(account.context, input, randomUUID());
      const [post] = await posts(account);
      expect(post!.altTexts).toEqual([
        'A red rectangle',
        'A green photo taken sideways',
        'A translucent blue strip',
        '',
      ]);
      expect(post!.aspectRatios).toEqual([
        { width: 64, height: 48 },
        { width: 30, height: 40 },
        { width: 50, height: 20 },
        { width: 10, height: 10 },
      ]);
    });

    it('refuses a fifth image, an image over the limit (naming it), a GIF and over-long alt text in validate', () => {
      const img = { mimeType: 'image/png', sizeBytes: redSquare.length, bytes: redSquare };
      const five = connector.validate(alice.context, {
        parts: [{ text: 'x', media: Array(5).fill(img) }],
        options: {},
      });
      expect(five).toEqual([expect.objectContaining({ code: 'too_many_media', limit: 4, actual: 5 })]);
      const big = connector.validate(alice.context, {
        parts: [{ text: 'x', media: [{ ...img, sizeBytes: IMAGE_MAX_BYTES + 1 }] }],
        options: {},
      });
      expect(big).toEqual([expect.objectContaining({ code: 'media_too_large', limit: 1_000_000, actual: 1_000_001 })]);
      expect(big[0]!.message).toContain(formatBytes(1_000_000));
      const gif = connector.validate(alice.context, {
        parts: [{ text: 'x', media: [{ ...img, mimeType: 'image/gif' }] }],
        options: {},
      });
      expect(gif.map((i) => i.code)).toEqual(['media_type']);
      const alt = (n: number) =>
        connector.validate(alice.context, {
          parts: [{ text: 'x', media: [{ ...img, altText: '🧑🏽‍🦰'.repeat(n) }] }],
          options: {},
        });
      expect(alt(2000)).toEqual([]);
      expect(alt(2001)).toEqual([expect.objectContaining({ code: 'alt_text_too_long', limit: 2000, actual: 2001 })]);
    });

    it('uses the image size limit the PDS enforces', async () => {
      const noise = await sharp(Buffer.from(Array.from({ length: 600 * 600 * 3 }, (_, i) => (i * 7919) % 251)), {
        raw: { width: 600, height: 600, channels: 3 },
      })
        .png({ compressionLevel: 0 })
        .toBuffer();
      expect(noise.length).toBeGreaterThan(IMAGE_MAX_BYTES);
      const agent = await tb.agentFor(alice);
      const { data } = await agent.com.atproto.repo.uploadBlob(noise, { encoding: 'image/png' });
      const refused = await failure(
        agent.com.atproto.repo.createRecord({
          repo: alice.did,
          collection: 'app.bsky.feed.post',
          record: {
            $type: 'app.bsky.feed.post',
            text: 'too big',
            createdAt: new Date().toISOString(),
            embed: { $type: 'app.bsky.embed.images', images: [{ image: data.blob, alt: '' }] },
          },
        }),
      );
      expect((refused as Error).message).toContain(`maximum ${IMAGE_MAX_BYTES}, got ${noise.length}`);
    });

    it('reads dimensions from PNG, JPEG (with EXIF rotation) and the three WebP encodings', async () => {
      const base = () => sharp({ create: { width: 33, height: 17, channels: 4, background: '#fff8' } });
      expect(imageDimensions(await base().png().toBuffer())).toEqual({ width: 33, height: 17 });
      expect(imageDimensions(await base().jpeg().toBuffer())).toEqual({ width: 33, height: 17 });
      for (const orientation of [3, 5, 8]) {
        const rotated = await base().jpeg().withMetadata({ orientation }).toBuffer();
        expect(imageDimensions(rotated)).toEqual(
          orientation >= 5 ? { width: 17, height: 33 } : { width: 33, height: 17 },
        );
      }
      const lossy = await base().flatten().webp().toBuffer(); // VP8
      const lossless = await base().webp({ lossless: true }).flatten().toBuffer(); // VP8L
      const alpha = await base().webp().toBuffer(); // VP8X with an alpha chunk
      expect([lossy, lossless, alpha].map((b) => b.toString('latin1', 12, 16))).toEqual(['VP8 ', 'VP8L', 'VP8X']);
      for (const b of [lossy, lossless, alpha]) expect(imageDimensions(b)).toEqual({ width: 33, height: 17 });
      expect(imageDimensions(Buffer.from('GIF89a not supported'))).toBeNull();
    });

    it('refuses bytes that are not an image before uploading anything', async () => {
      const account = await fresh();
      const junk = Buffer.from('definitely not a picture');
      const err = await failure(
        connector.publish(
          account.context,
          {
            parts: [{ text: 'x', media: [{ bytes: junk, mimeType: 'image/png', sizeBytes: junk.length }] }],
            options: {},
          },
          randomUUID(),
        ),
      );
      expect(err).toBeInstanceOf(InvalidContent);
      expect(await posts(account)).toEqual([]);
    });
  });

  describe('threads and exactly-once', () => {
    it('gives every reply the root and parent uri and cid, and derives each record key from the idempotency key', async () => {
      const account = await fresh();
      const key = randomUUID();
      const result = await connector.publish(account.context, text('one', 'two', 'three'), key);
      const [one, two, three] = await posts(account);
      expect([one, two, three].map((p) => p!.rkey)).toEqual([0, 1, 2].map((i) => partRecordKey(key, i)));
      expect(one!.replyRoot).toBeNull();
      expect(two!.replyRoot).toEqual({ uri: one!.uri, cid: one!.cid });
      expect(two!.replyParent).toEqual({ uri: one!.uri, cid: one!.cid });
      expect(three!.replyRoot).toEqual({ uri: one!.uri, cid: one!.cid });
      expect(three!.replyParent).toEqual({ uri: two!.uri, cid: two!.cid });
      expect(one!.createdAt < two!.createdAt && two!.createdAt < three!.createdAt).toBe(true);
      expect(result.parts).toEqual(
        [one, two, three].map((p, index) => ({
          index,
          platformPostId: p!.uri,
          url: `https://bsky.app/profile/${account.handle}/post/${p!.rkey}`,
        })),
      );
    });

    it('derives valid, stable, distinct TIDs', () => {
      const keys = [0, 1, 2].map((i) => partRecordKey('key-a', i));
      expect(keys.every((k) => TID_PATTERN.test(k))).toBe(true);
      expect(new Set([...keys, partRecordKey('key-b', 0)]).size).toBe(4);
      expect(partRecordKey('key-a', 1)).toBe(keys[1]);
    });

    it('completes a thread interrupted after part 2 without duplicating parts 1 and 2', async () => {
      const account = await fresh();
      const key = randomUUID();
      const thread = text('first', 'second', 'third');
      tb.failNext(account.did, 'server_error', { after: 2 });
      const err = await failure(connector.publish(account.context, thread, key));
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ part: 2, mayHaveSucceeded: false, status: 500 });
      const done = (err as TransientError).publishedParts!;
      expect(done.map((p) => p.index)).toEqual([0, 1]);
      expect((await posts(account)).map((p) => p.text)).toEqual(['first', 'second']);
      const found = await connector.lookup(account.context, thread, key, new Date(0));
      expect(found?.parts).toEqual(done);

      const result = await connector.publish(account.context, thread, key);
      const all = await posts(account);
      expect(all.map((p) => p.text)).toEqual(['first', 'second', 'third']);
      expect(result.parts.slice(0, 2)).toEqual(done);
      expect(all[2]!.replyRoot).toEqual({ uri: all[0]!.uri, cid: all[0]!.cid });
      expect(all[2]!.replyParent).toEqual({ uri: all[1]!.uri, cid: all[1]!.cid });
    });

    it('completes a thread whose second part was applied but never answered', async () => {
      const account = await fresh();
      const key = randomUUID();
      const thread = text('a', 'b', 'c');
      tb.failNext(account.did, 'timeout_after_apply', { after: 1 });
      const err = await failure(connector.publish(account.context, thread, key));
      expect(err).toMatchObject({ kind: 'transient', part: 1, mayHaveSucceeded: true });
      expect((await posts(account)).map((p) => p.text)).toEqual(['a', 'b']);
      await connector.publish(account.context, thread, key);
      expect((await posts(account)).map((p) => p.text)).toEqual(['a', 'b', 'c']);
    });

    it('does not upload the images of a part that is already posted again', async () => {
      const account = await fresh();
      const uploads: string[] = [];
      const counting = createBlueskyConnector({
        timeoutMs: TIMEOUT_MS,
        appViewUrl: tb.appViewUrl!,
        fetch: (input, init) => {
          if (String(input).includes('/xrpc/com.atproto.repo.uploadBlob')) uploads.push(String(input));
          return fetch(input, init);
        },
      });
      const image = { bytes: redSquare, mimeType: 'image/png', sizeBytes: redSquare.length, altText: 'red' };
      const thread: PublishInput = {
        parts: [
          { text: 'picture', media: [image] },
          { text: 'words', media: [] },
        ],
        options: {},
      };
      const key = randomUUID();
      tb.failNext(account.did, 'server_error', { after: 1 });
      expect(await failure(counting.publish(account.context, thread, key))).toMatchObject({ part: 1 });
      await counting.publish(account.context, thread, key);
      expect(uploads).toHaveLength(1);
      expect((await posts(account)).map((p) => [p.text, p.altTexts])).toEqual([
        ['picture', ['red']],
        ['words', []],
      ]);
    });

    it('relies on the PDS refusing a second record under a taken key, which it answers with a bare 500', async () => {
      const agent = await tb.agentFor(alice);
      const rkey = partRecordKey(randomUUID(), 0);
      const record = { $type: 'app.bsky.feed.post', text: 'first', createdAt: new Date().toISOString() };
      await agent.com.atproto.repo.createRecord({ repo: alice.did, collection: 'app.bsky.feed.post', rkey, record });
      const second = await failure(
        agent.com.atproto.repo.createRecord({ repo: alice.did, collection: 'app.bsky.feed.post', rkey, record }),
      );
      expect(second).toBeInstanceOf(XRPCError);
      expect(second).toMatchObject({ status: 500, error: 'InternalServerError' });
    });
  });

  describe('sessions', () => {
    it('renews a session with the refresh token, rotating it', async () => {
      const account = await fresh();
      const { credentials, expiresAt } = await connector.refresh(account.context);
      expect(credentials).toMatchObject({ did: account.did, handle: account.handle, service: tb.serviceUrl });
      expect(credentials.refreshJwt).not.toBe(account.credentials.refreshJwt);
      // Access tokens live two hours on the PDS.
      expect(Math.abs(expiresAt!.getTime() - (Date.now() + 2 * 3600_000))).toBeLessThan(60_000);
    });

    it('without an app password, an expired refresh token means reconnecting', async () => {
      const account = await fresh();
      const { appPassword: _, ...credentials } = account.credentials;
      await tb.revokeRefreshToken(credentials);
      const err = await failure(connector.refresh({ ...account.context, credentials }));
      expect(err).toBeInstanceOf(AuthExpired);
      expect(err).toMatchObject({ reconnect: true, platformMessage: 'Token has been revoked' });
    });

    it('with an app password, an expired refresh token gives way to a new session that publishes', async () => {
      const account = await fresh();
      await tb.revokeRefreshToken(account.credentials);
      const { credentials } = await connector.refresh(account.context);
      expect(credentials.refreshJwt).not.toBe(account.credentials.refreshJwt);
      expect(credentials.appPassword).toBe(account.appPassword);
      await connector.publish({ ...account.context, credentials }, text('new session'), randomUUID());
      expect((await posts(account)).map((p) => p.text)).toEqual(['new session']);
    });

    it('a revoked app password with an expired refresh token means reconnecting', async () => {
      const account = await fresh();
      await tb.revokeRefreshToken(account.credentials);
      const credentials = { ...account.credentials, appPassword: 'aaaa-bbbb-cccc-dddd' };
      const err = await failure(connector.refresh({ ...account.context, credentials }));
      expect(err).toMatchObject({ kind: 'auth_expired', reconnect: true, status: 401 });
    });

    it('looks posts up without the access token, so an expired session does not hide them', async () => {
      const account = await fresh();
      const key = randomUUID();
      const published = await connector.publish(account.context, text('still here'), key);
      tb.expireAccessToken(account.did);
      const found = await connector.lookup(account.context, text('still here'), key, new Date(0));
      expect(found?.platformPostId).toBe(published.platformPostId);
      expect(await connector.checkStatus(account.context, published.platformPostId)).toBe('published');
      expect(await failure(connector.delete(account.context, published.platformPostId))).toMatchObject({
        kind: 'auth_expired',
        reconnect: false,
      });
    });

    it('unusable stored credentials mean reconnecting, before any request', async () => {
      const { accessJwt: _, ...credentials } = alice.credentials;
      const err = await failure(connector.publish({ ...alice.context, credentials }, text('x'), randomUUID()));
      expect(err).toBeInstanceOf(AuthExpired);
      expect(err).toMatchObject({ reconnect: true });
      expect((err as Error).message).toContain('accessJwt');
    });
  });

  describe('errors', () => {
    it('takes the retry time from RateLimit-Reset and names the policy', async () => {
      const account = await fresh();
      const resetAt = new Date(Date.now() + 90_000);
      tb.failNext(account.did, 'rate_limited', { resetAt });
      const err = await failure(connector.publish(account.context, text('x'), randomUUID()));
      expect(err).toBeInstanceOf(RateLimited);
      expect((err as RateLimited).retryAt.getTime()).toBe(Math.ceil(resetAt.getTime() / 1000) * 1000);
      expect((err as Error).message).toContain('5000;w=3600');
    });

    it('an unreachable PDS is transient and nothing was sent', async () => {
      const server = http.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      await new Promise((r) => server.close(r));
      const account = { ...alice.context, credentials: { ...alice.credentials, service: `http://127.0.0.1:${port}` } };
      const err = await failure(connector.publish(account, text('x'), randomUUID()));
      expect(err).toBeInstanceOf(TransientError);
      expect(err).toMatchObject({ mayHaveSucceeded: false });
      expect((err as Error).message).toContain('ECONNREFUSED');
    });

    it('a connection lost after sending may have applied a write, not a read', async () => {
      const server = http.createServer((req) => req.socket.destroy());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const service = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const account = { ...alice.context, credentials: { ...alice.credentials, service } };
        const write = await failure(connector.publish(account, text('x'), randomUUID()));
        expect(write).toMatchObject({ kind: 'transient', mayHaveSucceeded: true });
        const read = await failure(connector.lookup(account, text('x'), randomUUID(), new Date()));
        expect(read).toMatchObject({ kind: 'transient', mayHaveSucceeded: false });
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    it('a read that is never answered times out as transient', async () => {
      const server = http.createServer(() => {});
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const service = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const quick = createBlueskyConnector({ timeoutMs: 200, appViewUrl: tb.appViewUrl! });
        const account = { ...alice.context, credentials: { ...alice.credentials, service } };
        const t0 = Date.now();
        const err = await failure(quick.lookup(account, text('x'), randomUUID(), new Date()));
        expect(err).toMatchObject({ kind: 'transient', mayHaveSucceeded: false });
        expect((err as Error).message).toContain('200 ms');
        expect(Date.now() - t0).toBeLessThan(2000);
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
  });

  describe('options', () => {
    it('writes languages and content labels into every part', async () => {
      const account = await fresh();
      const input: PublishInput = {
        ...text('olá', 'tudo bem'),
        options: { languages: ['pt-BR', 'en'], contentLabels: ['graphic-media'] },
      };
      expect(connector.validate(account.context, input)).toEqual([]);
      await connector.publish(account.context, input, randomUUID());
      for (const post of await posts(account)) {
        expect(post.record.langs).toEqual(['pt-BR', 'en']);
        expect(post.record.labels).toEqual({
          $type: 'com.atproto.label.defs#selfLabels',
          values: [{ val: 'graphic-media' }],
        });
      }
    });

    it('refuses unknown options and bad values instead of ignoring them', async () => {
      const issues = connector.validate(alice.context, {
        ...text('x'),
        options: { visibility: 'private', languages: ['en', 'fr', 'de', 'it'], contentLabels: ['spoiler'] },
      });
      expect(issues.map((i) => i.code)).toEqual(['option_invalid', 'option_invalid', 'option_invalid']);
      expect(issues.map((i) => i.message).join(' ')).toMatch(
        /no option "visibility".*up to 3 languages.*sexual, nudity/,
      );
      const err = await failure(
        connector.publish(alice.context, { ...text('x'), options: { visibility: 'private' } }, randomUUID()),
      );
      expect(err).toBeInstanceOf(InvalidContent);
    });
  });

  describe('delete, status and metrics', () => {
    it('deletes only its own posts, and deleting twice is harmless', async () => {
      const account = await fresh();
      const { platformPostId } = await connector.publish(account.context, text('bye'), randomUUID());
      expect(await connector.checkStatus(account.context, platformPostId)).toBe('published');
      const other: AccountContext = alice.context;
      expect(await failure(connector.delete(other, platformPostId))).toBeInstanceOf(PermanentError);
      await connector.delete(account.context, platformPostId);
      await connector.delete(account.context, platformPostId);
      expect(await posts(account)).toEqual([]);
      expect(await connector.checkStatus(account.context, platformPostId)).toBe('failed');
    });

    it('reads likes, reposts, replies and quotes from the AppView', async () => {
      const author = await fresh();
      const fan = await tb.agentFor(await fresh());
      const { platformPostId } = await connector.publish(author.context, text('count me'), randomUUID());
      const [post] = await posts(author);
      const ref = { uri: post!.uri, cid: post!.cid };
      expect(await connector.fetchMetrics(author.context, platformPostId)).toMatchObject({
        likes: 0,
        reposts: 0,
        replies: 0,
        quotes: 0,
      });
      await fan.like(ref.uri, ref.cid);
      await fan.repost(ref.uri, ref.cid);
      await fan.post({ text: 'a reply', reply: { root: ref, parent: ref } });
      await fan.post({ text: 'a quote', embed: { $type: 'app.bsky.embed.record', record: ref } });
      const metrics = await connector.fetchMetrics(author.context, platformPostId);
      expect(metrics).toMatchObject({ likes: 1, reposts: 1, replies: 1, quotes: 1 });
      expect(Date.now() - metrics.fetchedAt.getTime()).toBeLessThan(5_000);

      await connector.delete(author.context, platformPostId);
      expect(await failure(connector.fetchMetrics(author.context, platformPostId))).toBeInstanceOf(PermanentError);
    });

    it("reads the account's followers, follows and posts from the AppView (getProfile)", async () => {
      const author = await fresh();
      const [fan1, fan2] = [await tb.agentFor(await fresh()), await tb.agentFor(await fresh())];
      expect(await connector.fetchAccountStats!(author.context)).toMatchObject({
        followers: 0,
        following: 0,
        posts: 0,
      });
      await fan1.follow(author.did);
      await fan2.follow(author.did);
      await (await tb.agentFor(author)).follow(fan1.session!.did);
      await connector.publish(author.context, text('one'), randomUUID());
      await connector.publish(author.context, text('two'), randomUUID());
      const stats = await connector.fetchAccountStats!(author.context);
      expect(stats).toMatchObject({ followers: 2, following: 1, posts: 2 });
      expect(Date.now() - stats.fetchedAt.getTime()).toBeLessThan(5_000);
    });

    it('an account the AppView has not indexed yet is transient, and its other refusals are classified', async () => {
      let answer = { status: 400, body: { error: 'InvalidRequest', message: 'Profile not found' } };
      const appView = http.createServer((_req, res) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
      await new Promise<void>((r) => appView.listen(0, '127.0.0.1', r));
      try {
        const appViewUrl = `http://127.0.0.1:${(appView.address() as AddressInfo).port}`;
        const behind = createBlueskyConnector({ timeoutMs: TIMEOUT_MS, appViewUrl });
        const err = await failure(behind.fetchAccountStats!(alice.context));
        expect(err).toBeInstanceOf(TransientError);
        expect((err as Error).message).toContain('not indexed');
        answer = { status: 400, body: { error: 'AccountTakedown', message: 'Account has been suspended' } };
        expect(await failure(behind.fetchAccountStats!(alice.context))).not.toBeInstanceOf(TransientError);
      } finally {
        await new Promise((r) => appView.close(r));
      }
    });

    it('a post the AppView has not indexed yet is transient', async () => {
      const lagging = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ posts: [] }));
      });
      await new Promise<void>((r) => lagging.listen(0, '127.0.0.1', r));
      try {
        const appViewUrl = `http://127.0.0.1:${(lagging.address() as AddressInfo).port}`;
        const behind = createBlueskyConnector({ timeoutMs: TIMEOUT_MS, appViewUrl });
        const { platformPostId } = await connector.publish(alice.context, text('too new'), randomUUID());
        const err = await failure(behind.fetchMetrics(alice.context, platformPostId));
        expect(err).toBeInstanceOf(TransientError);
        expect((err as Error).message).toContain('not indexed');
      } finally {
        await new Promise((r) => lagging.close(r));
      }
    });
  });
});
