/**
 * The connector contract suite. Every platform connector runs it through a few-line
 * initializer that supplies the connector, an account on a local peer (a fake that speaks
 * the platform's documented wire protocol, or the real server), and the peer's hooks for
 * counting posts and injecting the platform's failures.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountContext, Connector, MediaInput, PublishInput } from '../../connectors/contract.js';
import {
  AuthExpired,
  type ConnectorError,
  InvalidContent,
  RateLimited,
  TransientError,
} from '../../connectors/errors.js';

export interface PeerPost {
  id: string;
  text: string;
  replyToId: string | null;
  altTexts: string[];
}

export type Fault =
  /** 429 with the platform's rate-limit headers. */
  | 'rate_limited'
  /** 5xx. */
  | 'server_error'
  /** The platform refuses the content with its own error body. */
  | 'invalid_content'
  /** The platform applies the write, then the response never arrives (hangs past the client's timeout). */
  | 'timeout_after_apply';

export interface ConnectorPeer {
  /** Posts on the platform by the test account, in creation order. */
  posts(): Promise<PeerPost[]>;
  /** The next post-creating call fails this way. */
  failNext(fault: Fault): Promise<void>;
  /** The account's current access token stops working (the platform's expired-token answer); its refresh credential still works. */
  expireAccessToken(): Promise<void>;
}

export interface ConnectorFixture {
  connector: Connector;
  /** A fresh account with no posts. */
  newAccount(): Promise<{ account: AccountContext; peer: ConnectorPeer }>;
  /** A small valid image for this platform (a short video where the platform takes no images). */
  image(): MediaInput;
  /**
   * Media every post must carry on platforms that take no text-only post (a video for
   * TikTok and YouTube, an image for Pinterest); the suite's posts carry it.
   */
  requiredMedia?(): MediaInput[];
  /** Options every post must carry where the platform has the user choose (TikTok's privacy level). */
  requiredOptions?(): Record<string, unknown>;
  /**
   * The platform refreshes no expired token (Meta: Instagram, Facebook, Threads refresh a
   * long-lived token only while it is valid): an expired token is `auth_expired` with
   * `reconnect`, and nothing is posted.
   */
  expiredTokenNeedsReconnect?: boolean;
  teardown(): Promise<void>;
}

const key = () => randomUUID();

export function connectorContract(name: string, setup: () => Promise<ConnectorFixture>): void {
  describe(`connector contract: ${name}`, () => {
    let fx: ConnectorFixture;
    let account: AccountContext;
    let peer: ConnectorPeer;
    const text = (s: string): PublishInput => ({
      parts: [{ text: s, media: fx.requiredMedia?.() ?? [] }],
      options: fx.requiredOptions?.() ?? {},
    });

    beforeAll(async () => {
      fx = await setup();
    });
    afterAll(async () => {
      await fx?.teardown();
    });
    beforeEach(async () => {
      ({ account, peer } = await fx.newAccount());
    });

    it('declares its capabilities as data', () => {
      const caps = fx.connector.capabilities(account);
      expect(caps.platform).toBe(fx.connector.platform);
      expect(caps.text.max).toBeGreaterThan(0);
      expect(caps.media.maxCount).toBeGreaterThan(0);
      expect(caps.media.mimeTypes.length).toBeGreaterThan(0);
      expect(caps.threads.maxParts).toBeGreaterThanOrEqual(1);
      expect(caps.concurrencyPerAccount).toBeGreaterThanOrEqual(1);
    });

    it('validates text length at the limit and one past it, naming the limit', () => {
      const caps = fx.connector.capabilities(account);
      const atLimit = 'a'.repeat(caps.text.max);
      expect(fx.connector.validate(account, text(atLimit))).toEqual([]);
      const issues = fx.connector.validate(account, text(atLimit + 'a'));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({
        code: 'text_too_long',
        part: 0,
        limit: caps.text.max,
        actual: caps.text.max + 1,
      });
      expect(issues[0]!.message).toContain(String(caps.text.max));
    });

    it('validates media count, type and emptiness', () => {
      const caps = fx.connector.capabilities(account);
      const img = fx.image();
      const many = Array.from({ length: caps.media.maxCount + 1 }, () => img);
      expect(
        fx.connector.validate(account, { parts: [{ text: 'x', media: many }], options: {} }).map((i) => i.code),
      ).toContain('too_many_media');
      expect(
        fx.connector
          .validate(account, {
            parts: [{ text: 'x', media: [{ ...img, mimeType: 'application/x-msdownload' }] }],
            options: {},
          })
          .map((i) => i.code),
      ).toContain('media_type');
      const blank: PublishInput = { parts: [{ text: '   ', media: [] }], options: {} };
      expect(fx.connector.validate(account, blank).map((i) => i.code)).toContain('empty');
    });

    it('publishes a post that the platform then holds, once', async () => {
      const body = `hello from the contract ${randomUUID()}`;
      const result = await fx.connector.publish(account, text(body), key());
      expect(result.status === 'published' || result.status === 'processing').toBe(true);
      const posts = await peer.posts();
      expect(posts.map((p) => p.text)).toEqual([body]);
      expect(result.platformPostId).toBe(posts[0]!.id);
      expect(result.parts).toEqual([{ index: 0, platformPostId: posts[0]!.id, url: result.url }]);
    });

    it('publishing again with the same idempotency key does not post twice', async () => {
      const caps = fx.connector.capabilities(account);
      const k = key();
      const first = await fx.connector.publish(account, text('only once'), k);
      if (caps.idempotency.kind === 'none') {
        // Without platform idempotency the connector must at least find the earlier post.
        expect(
          (await fx.connector.lookup(account, text('only once'), k, new Date(Date.now() - 60_000)))?.platformPostId,
        ).toBe(first.platformPostId);
        return;
      }
      const second = await fx.connector.publish(account, text('only once'), k);
      expect(second.platformPostId).toBe(first.platformPostId);
      expect(await peer.posts()).toHaveLength(1);
    });

    it('publishes an image with its alt text', async () => {
      if (fx.connector.capabilities(account).media.altTextMax === null) return;
      const img = { ...fx.image(), altText: 'A red square on white' };
      await fx.connector.publish(
        account,
        { parts: [{ text: 'with media', media: [img] }], options: fx.requiredOptions?.() ?? {} },
        key(),
      );
      const [post] = await peer.posts();
      expect(post!.altTexts).toEqual(['A red square on white']);
    });

    it('publishes a thread in order as a reply chain', async () => {
      const caps = fx.connector.capabilities(account);
      if (!caps.threads.supported) return;
      const input: PublishInput = { parts: ['one', 'two', 'three'].map((t) => ({ text: t, media: [] })), options: {} };
      const result = await fx.connector.publish(account, input, key());
      const posts = await peer.posts();
      expect(posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
      expect(posts[1]!.replyToId).toBe(posts[0]!.id);
      expect(posts[2]!.replyToId).toBe(posts[1]!.id);
      expect(result.parts.map((p) => p.platformPostId)).toEqual(posts.map((p) => p.id));
    });

    it('looks up a post by its idempotency key, and finds nothing for another key', async () => {
      const k = key();
      const since = new Date(Date.now() - 5_000);
      const published = await fx.connector.publish(account, text('find me'), k);
      expect((await fx.connector.lookup(account, text('find me'), k, since))?.platformPostId).toBe(
        published.platformPostId,
      );
      expect(await fx.connector.lookup(account, text('never posted'), key(), since)).toBeNull();
    });

    it('deletes a post', async () => {
      // TikTok's API deletes nothing: its capabilities say so.
      if (fx.connector.capabilities(account).deletes === false) return;
      const published = await fx.connector.publish(account, text('short-lived'), key());
      await fx.connector.delete(account, published.platformPostId);
      expect(await peer.posts()).toEqual([]);
    });

    it('fetches metrics for a post', async () => {
      const published = await fx.connector.publish(account, text('measure me'), key());
      const metrics = await fx.connector.fetchMetrics(account, published.platformPostId);
      for (const n of [metrics.likes, metrics.reposts, metrics.replies]) expect(n).toBeGreaterThanOrEqual(0);
      expect(metrics.fetchedAt).toBeInstanceOf(Date);
    });

    it('maps a 429 to rate_limited with the time to retry, and posts nothing', async () => {
      await peer.failNext('rate_limited');
      const err = await fx.connector.publish(account, text('too fast'), key()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimited);
      expect((err as RateLimited).retryAt.getTime()).toBeGreaterThan(Date.now());
      expect((err as RateLimited).mayHaveSucceeded).toBe(false);
      expect(await peer.posts()).toEqual([]);
    });

    it('maps a 5xx to transient', async () => {
      await peer.failNext('server_error');
      const err = await fx.connector.publish(account, text('unlucky'), key()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
    });

    it("maps a refusal to invalid_content with the platform's own message", async () => {
      await peer.failNext('invalid_content');
      const err = await fx.connector.publish(account, text('refused'), key()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidContent);
      expect((err as ConnectorError).platformMessage).toBeTruthy();
    });

    it('an expired token is auth_expired; refresh gives credentials that publish', async () => {
      await peer.expireAccessToken();
      const err = await fx.connector.publish(account, text('after expiry'), key()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthExpired);
      if (fx.expiredTokenNeedsReconnect) {
        expect((err as AuthExpired).reconnect).toBe(true);
        expect(await peer.posts()).toEqual([]);
        return;
      }
      expect((err as AuthExpired).reconnect).toBe(false);
      const refreshed = await fx.connector.refresh(account);
      account = { ...account, credentials: refreshed.credentials };
      await fx.connector.publish(account, text('after refresh'), key());
      expect((await peer.posts()).map((p) => p.text)).toEqual(['after refresh']);
    });

    it('a write applied but never answered is transient and may have succeeded; retrying with the key posts once', async () => {
      const k = key();
      await peer.failNext('timeout_after_apply');
      const err = await fx.connector.publish(account, text('lost answer'), k).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).mayHaveSucceeded).toBe(true);
      const found = await fx.connector.lookup(account, text('lost answer'), k, new Date(Date.now() - 60_000));
      expect(found).not.toBeNull();
      if (fx.connector.capabilities(account).idempotency.kind !== 'none') {
        const again = await fx.connector.publish(account, text('lost answer'), k);
        expect(again.platformPostId).toBe(found!.platformPostId);
      }
      expect(await peer.posts()).toHaveLength(1);
    });
  });
}
