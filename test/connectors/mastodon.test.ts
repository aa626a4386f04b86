/**
 * The Mastodon connector against the local fake Mastodon (a real HTTP server on loopback):
 * the shared connector contract, then Mastodon's own rules — instance limits, its character
 * counting, media processed in the background, per-part Idempotency-Keys, rate limits,
 * tokens, OAuth with PKCE, timeouts — and the fake's own fidelity to the documented API.
 */
import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, Draft, MediaInput, PublishInput } from '../../connectors/contract.js';
import {
  AuthExpired,
  InvalidContent,
  PermanentError,
  RateLimited,
  TransientError,
  type ConnectorError,
} from '../../connectors/errors.js';
import {
  beginAuthorization,
  countMastodonText,
  createMastodonConnector,
  DEFAULT_LIMITS,
  exchangeCode,
  readInstanceLimits,
  registerApp,
  revokeToken,
  verifyCredentials,
  type MastodonLimits,
} from '../../connectors/mastodon/index.js';
import { startMastodonFake, type FakeAccountCredentials, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { connectorContract } from '../contract/connector.suite.js';

// ---- fixtures ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid 2×2 red PNG, built by hand. */
function redSquarePng(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(2, 0); // width
  header.writeUInt32BE(2, 4); // height
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.from([0, 255, 0, 0, 255, 0, 0]); // filter byte, then two red pixels
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat([row, row]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const PNG = redSquarePng();
const image = (altText?: string): MediaInput => ({
  mimeType: 'image/png',
  sizeBytes: PNG.length,
  bytes: PNG,
  ...(altText ? { altText } : {}),
});

function accountFor(fake: MastodonFake, creds: FakeAccountCredentials, limits?: MastodonLimits): AccountContext {
  return {
    accountId: randomUUID(),
    externalId: creds.accountId,
    handle: creds.username,
    credentials: {
      accessToken: creds.accessToken,
      ...(creds.refreshToken ? { refreshToken: creds.refreshToken } : {}),
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      ...(creds.expiresAt ? { expiresAt: creds.expiresAt } : {}),
    },
    metadata: { instanceUrl: fake.url, ...(limits ? { limits } : {}) },
  };
}

const post = (text: string, options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media: [] }],
  options,
});
const thread = (...texts: string[]): PublishInput => ({
  parts: texts.map((text) => ({ text, media: [] })),
  options: {},
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  );
const api = (fake: MastodonFake, path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(fake.url + path, {
    ...init,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.headers as Record<string, string>),
    },
  });

// ---- the shared contract ----

connectorContract('Mastodon', async () => {
  const fake = await startMastodonFake();
  const connector = createMastodonConnector({ timeoutMs: 1_000, mediaPollIntervalMs: 20 });
  const limits = await readInstanceLimits(fake.url);
  return {
    connector,
    async newAccount() {
      const creds = fake.createAccount();
      return {
        account: accountFor(fake, creds, limits),
        peer: {
          posts: async () =>
            fake
              .statuses(creds.accountId)
              .map((s) => ({ id: s.id, text: s.text, replyToId: s.replyToId, altTexts: s.altTexts })),
          failNext: async (fault) => fake.failNext(creds.accountId, fault),
          expireAccessToken: async () => fake.expireAccessToken(creds.accountId),
        },
      };
    },
    image: () => image(),
    teardown: () => fake.close(),
  };
});

// ---- Mastodon's own rules ----

describe("Mastodon's character counting", () => {
  it('counts every URL as 23 characters, however long or short', () => {
    const long = `https://example.com/${'a'.repeat(80)}?x=1`;
    expect(countMastodonText(`see ${long} now`)).toBe(4 + 23 + 4);
    expect(countMastodonText('http://a.co')).toBe(23);
    expect(countMastodonText('https://example.com', { charactersReservedPerUrl: 30 })).toBe(30);
  });

  it('counts a mention of a remote user by its username only', () => {
    expect(countMastodonText('@alice@example.social hi')).toBe('@alice hi'.length);
    expect(countMastodonText('mail bob@example.com')).toBe('mail bob@example.com'.length);
  });

  it('counts grapheme clusters, with the content warning counted too', () => {
    expect(countMastodonText('👨‍👩‍👧')).toBe(1);
    expect(countMastodonText('hi', { spoilerText: 'CW' })).toBe(4);
    expect(countMastodonText('   ', { spoilerText: 'CW' })).toBe(2);
  });

  it('does not shorten what is not a link, nor the punctuation after one', () => {
    expect(countMastodonText('example.com')).toBe(11);
    expect(countMastodonText('https://example.com.')).toBe(24);
    expect(countMastodonText('(https://example.com/wiki/Foo_(bar))')).toBe(25);
  });
});

describe('Mastodon limits and validation', () => {
  let fake: MastodonFake;
  const connector = createMastodonConnector({ timeoutMs: 2_000 });
  beforeAll(async () => {
    fake = await startMastodonFake({
      instance: { maxCharacters: 1000, maxMediaAttachments: 6, descriptionLimit: 200 },
    });
  });
  afterAll(() => fake?.close());

  it("reads the instance's limits from its API, and validation follows them", async () => {
    const limits = await readInstanceLimits(fake.url);
    expect(limits).toMatchObject({ maxCharacters: 1000, maxMediaAttachments: 6, descriptionLimit: 200 });
    const account = { metadata: { instanceUrl: fake.url, limits } };
    expect(connector.capabilities(account).text.max).toBe(1000);
    expect(connector.validate(account, post('a'.repeat(1000)))).toEqual([]);
    const [issue] = connector.validate(account, post('a'.repeat(1001)));
    expect(issue).toMatchObject({ code: 'text_too_long', limit: 1000, actual: 1001 });
    expect(issue!.message).toContain('1000');
    // Without stored limits, Mastodon's defaults.
    expect(connector.validate({ metadata: {} }, post('a'.repeat(501))).map((i) => i.code)).toEqual(['text_too_long']);
  });

  it('publishes up to the larger limit of the instance', async () => {
    const creds = fake.createAccount();
    const account = accountFor(fake, creds, await readInstanceLimits(fake.url));
    await connector.publish(account, post('b'.repeat(900)), randomUUID());
    expect(fake.statuses(creds.accountId).map((s) => s.text.length)).toEqual([900]);
  });

  it('falls back to the defaults on a server without the v2 instance API', async () => {
    const old = await startMastodonFake({ instanceV2: false });
    try {
      expect(await readInstanceLimits(old.url)).toEqual({
        ...DEFAULT_LIMITS,
        supportedMimeTypes: [...DEFAULT_LIMITS.supportedMimeTypes],
      });
    } finally {
      await old.close();
    }
  });

  it('counts a URL as 23 characters in validation and on the server alike', async () => {
    const def = await startMastodonFake();
    try {
      const creds = def.createAccount();
      const account = accountFor(def, creds, await readInstanceLimits(def.url));
      const url = `https://example.com/${'p'.repeat(100)}`;
      const fits = `${'a'.repeat(476)} ${url}`; // 476 + 1 + 23 = 500
      expect(connector.validate(account, post(fits))).toEqual([]);
      await connector.publish(account, post(fits), randomUUID());
      expect(def.statuses(creds.accountId)).toHaveLength(1);
      expect(connector.validate(account, post(`a${fits}`))).toMatchObject([{ code: 'text_too_long', actual: 501 }]);
    } finally {
      await def.close();
    }
  });

  it("is refused with Mastodon's own message when the stored limits are out of date", async () => {
    const def = await startMastodonFake();
    try {
      const creds = def.createAccount();
      const stale = { ...(await readInstanceLimits(def.url)), maxCharacters: 1000 };
      const err = await failure(connector.publish(accountFor(def, creds, stale), post('c'.repeat(600)), randomUUID()));
      expect(err).toBeInstanceOf(InvalidContent);
      expect((err as InvalidContent).platformMessage).toBe('Validation failed: Text character limit of 500 exceeded');
      expect(def.statuses(creds.accountId)).toEqual([]);
    } finally {
      await def.close();
    }
  });

  it('checks the options it documents and names the unknown ones', () => {
    const account = { metadata: {} };
    const ok = { visibility: 'private', contentWarning: 'food', sensitive: true, language: 'pt' };
    expect(connector.validate(account, post('hello', ok))).toEqual([]);
    const bad = { visibility: 'friends', contentWarning: 3, sensitive: 'yes', language: 'english', poll: {} };
    const issues = connector.validate(account, post('hello', bad));
    expect(issues.map((i) => i.code)).toEqual(Array(5).fill('option_invalid'));
    expect(issues.map((i) => i.message).join(' ')).toMatch(/visibility.*contentWarning.*sensitive.*language.*"poll"/s);
  });

  it('counts the content warning towards the limit, and says so', () => {
    const [issue] = connector.validate({ metadata: {} }, post('d'.repeat(490), { contentWarning: 'spoilers ahead' }));
    expect(issue).toMatchObject({ code: 'text_too_long', limit: 500, actual: 504 });
    expect(issue!.message).toContain('content warning');
  });

  it('applies the image and video size limits separately, and one video per post', () => {
    const account = { metadata: {} };
    const media = (mimeType: string, mb: number) => ({ mimeType, sizeBytes: mb * 1024 * 1024 });
    const draft = (...m: ReturnType<typeof media>[]): Draft => ({ parts: [{ text: 'x', media: m }], options: {} });
    expect(connector.validate(account, draft(media('image/png', 17)))).toMatchObject([
      { code: 'media_too_large', limit: 16 * 1024 * 1024 },
    ]);
    expect(connector.validate(account, draft(media('video/mp4', 50)))).toEqual([]);
    expect(connector.validate(account, draft(media('video/mp4', 100))).map((i) => i.code)).toEqual(['media_too_large']);
    expect(connector.validate(account, draft(media('video/mp4', 5), media('image/png', 1))).map((i) => i.code)).toEqual(
      ['too_many_media'],
    );
  });

  it("limits alt text to the instance's description limit", () => {
    const account = { metadata: { limits: { descriptionLimit: 200 } } };
    const draft = (altText: string): Draft => ({
      parts: [{ text: 'x', media: [{ ...image(), altText }] }],
      options: {},
    });
    expect(connector.validate(account, draft('a'.repeat(200)))).toEqual([]);
    expect(connector.validate(account, draft('a'.repeat(201)))).toMatchObject([
      { code: 'alt_text_too_long', limit: 200 },
    ]);
    // Mastodon counts code points: 200 thumbs-up with a skin tone are 200 graphemes but 400 characters.
    expect(connector.validate(account, draft('👍🏽'.repeat(200)))).toMatchObject([
      { code: 'alt_text_too_long', limit: 200, actual: 400 },
    ]);
  });
});

describe('publishing to Mastodon', () => {
  let fake: MastodonFake;
  let limits: MastodonLimits;
  const connector = createMastodonConnector({ timeoutMs: 2_000, mediaPollIntervalMs: 20, mediaPollTimeoutMs: 300 });
  const fresh = () => {
    const creds = fake.createAccount();
    return { creds, account: accountFor(fake, creds, limits) };
  };
  beforeAll(async () => {
    fake = await startMastodonFake({ mediaProcessingMs: () => 0 });
    limits = await readInstanceLimits(fake.url);
  });
  afterAll(() => fake?.close());

  it('sends visibility, content warning, sensitivity and language with every part', async () => {
    const { creds, account } = fresh();
    const options = { visibility: 'unlisted', contentWarning: 'spoilers', sensitive: true, language: 'de' };
    await connector.publish(account, { ...thread('eins', 'zwei'), options }, randomUUID());
    const statuses = fake.statuses(creds.accountId);
    expect(statuses).toHaveLength(2);
    for (const s of statuses) {
      expect(s).toMatchObject({ visibility: 'unlisted', spoilerText: 'spoilers', sensitive: true, language: 'de' });
    }
  });

  it('sends an Idempotency-Key per part derived from the target key, so a re-run posts nothing twice', async () => {
    const { creds, account } = fresh();
    const key = randomUUID();
    const first = await connector.publish(account, thread('a', 'b', 'c'), key);
    expect(fake.statuses(creds.accountId).map((s) => s.idempotencyKey)).toEqual([`${key}:0`, `${key}:1`, `${key}:2`]);
    const again = await connector.publish(account, thread('a', 'b', 'c'), key);
    expect(again.parts).toEqual(first.parts);
    expect(fake.counters(creds.accountId)).toMatchObject({ statusesCreated: 3, idempotentReplays: 3 });
  });

  it('stops a thread that fails in part 2, reporting the part and what was published', async () => {
    const { creds, account } = fresh();
    const key = randomUUID();
    fake.failNext(creds.accountId, 'server_error', { after: 1 });
    const err = await failure(connector.publish(account, thread('first', 'second', 'third'), key));
    expect(err).toBeInstanceOf(TransientError);
    const [only] = fake.statuses(creds.accountId);
    expect(err).toMatchObject({
      part: 1,
      publishedParts: [{ index: 0, platformPostId: only!.id, url: expect.any(String) }],
    });
    expect((err as ConnectorError).message).toMatch(/^part 2: /);
    expect(fake.counters(creds.accountId).statusesCreated).toBe(1);
    // The retry with the same key completes the thread without repeating part 1.
    const done = await connector.publish(account, thread('first', 'second', 'third'), key);
    expect(done.platformPostId).toBe(only!.id);
    expect(fake.statuses(creds.accountId).map((s) => s.text)).toEqual(['first', 'second', 'third']);
  });

  it('waits for media Mastodon processes in the background, then attaches it with its alt text', async () => {
    const slow = await startMastodonFake({ mediaProcessingMs: () => 150 });
    try {
      const creds = slow.createAccount();
      const account = accountFor(slow, creds);
      await connector.publish(
        account,
        { parts: [{ text: 'pic', media: [image('A red square')] }], options: {} },
        randomUUID(),
      );
      const [status] = slow.statuses(creds.accountId);
      expect(status!.altTexts).toEqual(['A red square']);
      const media = slow.requests().filter((r) => r.url.includes('/media'));
      expect(media[0]).toMatchObject({ method: 'POST', url: '/api/v2/media', status: 202 });
      expect(media.slice(1, -1).every((r) => r.status === 206)).toBe(true);
      expect(media.length).toBeGreaterThan(2);
      expect(media[media.length - 1]).toMatchObject({ method: 'GET', status: 200 });
    } finally {
      await slow.close();
    }
  });

  it('gives up clearly on media that never finishes processing, and posts nothing', async () => {
    const { creds, account } = fresh();
    fake.setMediaProcessing(() => Infinity);
    try {
      const started = Date.now();
      const err = await failure(
        connector.publish(account, { parts: [{ text: 'never', media: [image('stuck')] }], options: {} }, randomUUID()),
      );
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).message).toMatch(/still processing media 1/);
      expect((err as TransientError).mayHaveSucceeded).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(fake.statuses(creds.accountId)).toEqual([]);
    } finally {
      fake.setMediaProcessing(() => 0);
    }
  });

  it('a failed upload is transient but certainly posted nothing, as no status was sent', async () => {
    const { creds, account } = fresh();
    fake.failNext(creds.accountId, 'server_error', { on: 'media' });
    const err = await failure(
      connector.publish(account, { parts: [{ text: 'pic', media: [image('alt')] }], options: {} }, randomUUID()),
    );
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ status: 500, mayHaveSucceeded: false });
    expect(
      fake
        .requests()
        .filter((r) => r.accountId === creds.accountId)
        .map((r) => r.url),
    ).toEqual(['/api/v2/media']);
  });

  it('a 429 storm is rate_limited until the reset Mastodon announces, then the thread completes once', async () => {
    const strict = await startMastodonFake({ rateLimit: { limit: 2, windowMs: 60_000 } });
    try {
      const creds = strict.createAccount();
      const account = accountFor(strict, creds);
      const key = randomUUID();
      const err = await failure(connector.publish(account, thread('r1', 'r2', 'r3'), key));
      expect(err).toBeInstanceOf(RateLimited);
      expect(err).toMatchObject({ part: 2, mayHaveSucceeded: false });
      const probe = await api(strict, '/api/v1/accounts/verify_credentials', { token: creds.accessToken });
      expect(probe.status).toBe(429);
      expect(probe.headers.get('x-ratelimit-remaining')).toBe('0');
      const reset = Date.parse(probe.headers.get('x-ratelimit-reset')!);
      expect((err as RateLimited).retryAt.getTime()).toBe(reset);
      const again = await failure(connector.publish(account, thread('r1', 'r2', 'r3'), key));
      expect(again).toMatchObject({ kind: 'rate_limited', retryAt: new Date(reset) });
      expect(strict.statuses(creds.accountId)).toHaveLength(2);
      // After the reset the retry with the same key finishes the thread; parts 1-2 are replays.
      strict.setRateLimit(creds.accountId, { limit: 10, windowMs: 60_000 });
      strict.advanceClock(60_000);
      await connector.publish(account, thread('r1', 'r2', 'r3'), key);
      expect(strict.statuses(creds.accountId).map((s) => s.text)).toEqual(['r1', 'r2', 'r3']);
      expect(strict.counters(creds.accountId).statusesCreated).toBe(3);
    } finally {
      await strict.close();
    }
  });

  it('a revoked refresh token means the account must be reconnected', async () => {
    const { creds, account } = fresh();
    fake.revokeGrants(creds.accountId);
    const err = await failure(connector.publish(account, post('x'), randomUUID()));
    expect(err).toMatchObject({ kind: 'auth_expired', reconnect: false }); // a refresh may still help
    const refused = await failure(connector.refresh(account));
    expect(refused).toBeInstanceOf(AuthExpired);
    expect(refused).toMatchObject({ reconnect: true, status: 400 });
    expect((refused as AuthExpired).platformMessage).toMatch(/^invalid_grant/);
  });

  it('a refused token with no refresh token asks for a reconnect at once', async () => {
    const stock = await startMastodonFake({ refreshTokens: false, accessTokenTtlSeconds: null });
    try {
      const creds = stock.createAccount();
      const account = accountFor(stock, creds);
      expect(account.credentials.refreshToken).toBeUndefined();
      stock.revokeGrants(creds.accountId);
      expect(await failure(connector.publish(account, post('x'), randomUUID()))).toMatchObject({ reconnect: true });
      expect(await failure(connector.refresh(account))).toMatchObject({ kind: 'auth_expired', reconnect: true });
    } finally {
      await stock.close();
    }
  });

  it('refresh rotates the tokens and reports when the new one expires', async () => {
    const { creds, account } = fresh();
    const before = Date.now();
    const { credentials, expiresAt } = await connector.refresh(account);
    expect(credentials.accessToken).not.toBe(creds.accessToken);
    expect(credentials.refreshToken).not.toBe(creds.refreshToken);
    expect(expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 7_200_000 - 1_000);
    expect(credentials.expiresAt).toBe(expiresAt!.toISOString());
    // The old grant is gone; the new one publishes.
    expect(await failure(connector.publish(account, post('old'), randomUUID()))).toBeInstanceOf(AuthExpired);
    await connector.publish({ ...account, credentials }, post('new'), randomUUID());
    expect(fake.statuses(creds.accountId).map((s) => s.text)).toEqual(['new']);
  });

  it('never puts a token in an error', async () => {
    const { creds, account } = fresh();
    fake.revokeGrants(creds.accountId);
    for (const err of [
      await failure(connector.publish(account, post('x'), randomUUID())),
      await failure(connector.refresh(account)),
    ]) {
      const text = `${(err as Error).message} ${JSON.stringify((err as ConnectorError).toJSON())}`;
      for (const secret of [creds.accessToken, creds.refreshToken!, creds.clientSecret])
        expect(text).not.toContain(secret);
    }
  });

  it('a hanging answer hits the timeout as transient that may have succeeded', async () => {
    const quick = createMastodonConnector({ timeoutMs: 300 });
    const { creds, account } = fresh();
    fake.failNext(creds.accountId, 'hang');
    const started = Date.now();
    const err = await failure(quick.publish(account, post('slow'), randomUUID()));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ mayHaveSucceeded: true, message: expect.stringContaining('within 300 ms') });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a hanging read times out as transient, with nothing applied', async () => {
    const quick = createMastodonConnector({ timeoutMs: 300 });
    const { creds, account } = fresh();
    const published = await quick.publish(account, post('measure'), randomUUID());
    fake.failNext(creds.accountId, 'hang', { on: 'any' });
    const err = await failure(quick.fetchMetrics(account, published.platformPostId));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).mayHaveSucceeded).toBe(false);
  });

  it('a connection dropped mid-request may have been applied; a refused one was not', async () => {
    const { creds, account } = fresh();
    fake.failNext(creds.accountId, 'reset');
    const dropped = await failure(connector.publish(account, post('dropped'), randomUUID()));
    expect(dropped).toMatchObject({ kind: 'transient', mayHaveSucceeded: true });
    const gone = await startMastodonFake();
    const goneAccount = accountFor(gone, gone.createAccount());
    await gone.close();
    const refused = await failure(connector.publish(goneAccount, post('nobody home'), randomUUID()));
    expect(refused).toBeInstanceOf(TransientError);
    expect(refused).toMatchObject({ mayHaveSucceeded: false, message: expect.stringContaining('ECONNREFUSED') });
  });

  it('lookup finds a whole thread, tells posts apart by content warning, and ignores a partial thread', async () => {
    const { creds, account } = fresh();
    const since = new Date(Date.now() - 5_000);
    const whole = await connector.publish(account, thread('t1', 't2'), randomUUID());
    expect(await connector.lookup(account, thread('t1', 't2'), randomUUID(), since)).toEqual(whole);
    const warned = { ...post('same words'), options: { contentWarning: 'cw' } };
    const plain = await connector.publish(account, post('same words'), randomUUID());
    expect((await connector.lookup(account, post('same words'), randomUUID(), since))?.platformPostId).toBe(
      plain.platformPostId,
    );
    expect(await connector.lookup(account, warned, randomUUID(), since)).toBeNull();
    fake.failNext(creds.accountId, 'server_error', { after: 1 });
    await failure(connector.publish(account, thread('p1', 'p2'), randomUUID()));
    expect(await connector.lookup(account, thread('p1', 'p2'), randomUUID(), since)).toBeNull();
    expect(await connector.lookup(account, thread('t1', 't2'), randomUUID(), new Date(Date.now() + 60_000))).toBeNull();
  });

  it('deleting twice is fine, and the status check follows the post', async () => {
    const { account } = fresh();
    const { platformPostId } = await connector.publish(account, post('brief'), randomUUID());
    expect(await connector.checkStatus(account, platformPostId)).toBe('published');
    await connector.delete(account, platformPostId);
    await connector.delete(account, platformPostId);
    expect(await connector.checkStatus(account, platformPostId)).toBe('failed');
  });

  it('does not post again when the status made with this key was deleted within the hour', async () => {
    const { creds, account } = fresh();
    const key = randomUUID();
    const { platformPostId } = await connector.publish(account, post('regretted'), key);
    await connector.delete(account, platformPostId);
    const err = await failure(connector.publish(account, post('regretted'), key));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ status: 404, platformMessage: 'Record not found' });
    expect(fake.counters(creds.accountId)).toMatchObject({ statusesCreated: 1, statusesDeleted: 1 });
  });

  it('keeps concurrent publishes of several accounts apart', async () => {
    const accounts = [fresh(), fresh(), fresh()];
    await Promise.all(
      accounts.flatMap(({ account }, a) =>
        [0, 1, 2].map((n) => connector.publish(account, post(`account ${a} post ${n}`), randomUUID())),
      ),
    );
    accounts.forEach(({ creds }, a) => {
      const texts = fake.statuses(creds.accountId).map((s) => s.text);
      expect(texts.sort()).toEqual([0, 1, 2].map((n) => `account ${a} post ${n}`));
    });
  });

  it('maps favourites, boosts, replies and quotes to metrics', async () => {
    const { account } = fresh();
    const { platformPostId } = await connector.publish(account, post('popular'), randomUUID());
    fake.setMetrics(platformPostId, { favourites: 7, reblogs: 3, replies: 2, quotes: 1 });
    expect(await connector.fetchMetrics(account, platformPostId)).toMatchObject({
      likes: 7,
      reposts: 3,
      replies: 2,
      quotes: 1,
    });
  });

  it('refuses to publish a draft that does not validate, before calling Mastodon', async () => {
    const { creds, account } = fresh();
    const err = await failure(connector.publish(account, post('x', { visibility: 'everyone' }), randomUUID()));
    expect(err).toBeInstanceOf(InvalidContent);
    expect(fake.requests().some((r) => r.accountId === creds.accountId)).toBe(false);
  });
});

describe('connecting a Mastodon account', () => {
  let fake: MastodonFake;
  const connector = createMastodonConnector({ timeoutMs: 2_000 });
  const redirectUri = 'https://herald.test/oauth/mastodon/callback';
  beforeAll(async () => {
    fake = await startMastodonFake();
  });
  afterAll(() => fake?.close());

  it('runs the OAuth code flow with PKCE end to end, and the credentials publish', async () => {
    const app = await registerApp(fake.url, { clientName: 'Herald', redirectUris: [redirectUri] });
    const user = fake.createAccount({ username: 'ada' });
    const { url, codeVerifier } = await beginAuthorization(fake.url, {
      clientId: app.clientId,
      redirectUri,
      state: 'st8',
    });
    expect(codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const authorize = new URL(url);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('scope')).toBe('read write');
    const callback = new URL(await fake.approve(url, user.accountId));
    expect(callback.searchParams.get('state')).toBe('st8');
    const code = callback.searchParams.get('code')!;

    const wrong = await failure(exchangeCode(fake.url, { ...app, code, redirectUri, codeVerifier: 'x'.repeat(43) }));
    expect(wrong).toBeInstanceOf(PermanentError);
    expect((wrong as PermanentError).platformMessage).toMatch(/^invalid_grant/);

    const grant = await exchangeCode(fake.url, { ...app, code, redirectUri, codeVerifier });
    expect(grant.scope).toBe('read write');
    const who = await verifyCredentials(fake.url, grant.credentials.accessToken);
    expect(who).toMatchObject({ id: user.accountId, username: 'ada' });
    const account: AccountContext = {
      accountId: randomUUID(),
      externalId: who.id,
      handle: who.acct,
      credentials: { ...grant.credentials },
      metadata: { instanceUrl: fake.url, limits: await readInstanceLimits(fake.url) },
    };
    await connector.publish(account, post('hello from Herald'), randomUUID());
    expect(fake.statuses(user.accountId).map((s) => s.text)).toEqual(['hello from Herald']);
    // A code works once.
    expect(await failure(exchangeCode(fake.url, { ...app, code, redirectUri, codeVerifier }))).toBeInstanceOf(
      PermanentError,
    );
  });

  it('a server without PKCE gets a plain authorize URL and a plain exchange', async () => {
    const old = await startMastodonFake({ pkce: false });
    try {
      const app = await registerApp(old.url, { clientName: 'Herald', redirectUris: [redirectUri] });
      const user = old.createAccount();
      const { url, codeVerifier } = await beginAuthorization(old.url, {
        clientId: app.clientId,
        redirectUri,
        state: 's',
      });
      expect(codeVerifier).toBeNull();
      expect(new URL(url).searchParams.has('code_challenge')).toBe(false);
      const code = new URL(await old.approve(url, user.accountId)).searchParams.get('code')!;
      const grant = await exchangeCode(old.url, { ...app, code, redirectUri, codeVerifier });
      expect((await verifyCredentials(old.url, grant.credentials.accessToken)).id).toBe(user.accountId);
    } finally {
      await old.close();
    }
  });

  it('a revoked token stops working', async () => {
    const creds = fake.createAccount();
    const account = accountFor(fake, creds);
    await revokeToken(fake.url, {
      clientId: creds.clientId,
      clientSecret: creds.clientSecret,
      token: creds.accessToken,
    });
    expect(await failure(connector.publish(account, post('x'), randomUUID()))).toBeInstanceOf(AuthExpired);
  });
});

// ---- the fake's fidelity to Mastodon ----

describe('the fake Mastodon', () => {
  let fake: MastodonFake;
  beforeAll(async () => {
    fake = await startMastodonFake({ mediaProcessingMs: () => 60_000 });
  });
  afterAll(() => fake?.close());

  const createStatus = (token: string, body: Record<string, unknown>, key?: string) =>
    api(fake, '/api/v1/statuses', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });

  it('keeps an Idempotency-Key for one hour per account, and answers 404 once its status is deleted', async () => {
    const a = fake.createAccount();
    const b = fake.createAccount();
    const first = (await (await createStatus(a.accessToken, { status: 'once' }, 'k')).json()) as { id: string };
    const repeat = (await (await createStatus(a.accessToken, { status: 'twice?' }, 'k')).json()) as { id: string };
    expect(repeat.id).toBe(first.id);
    const other = (await (await createStatus(b.accessToken, { status: 'mine' }, 'k')).json()) as { id: string };
    expect(other.id).not.toBe(first.id);
    fake.advanceClock(61 * 60_000);
    const later = (await (await createStatus(a.accessToken, { status: 'once' }, 'k')).json()) as { id: string };
    expect(later.id).not.toBe(first.id);
    await api(fake, `/api/v1/statuses/${later.id}`, { method: 'DELETE', token: a.accessToken });
    expect((await createStatus(a.accessToken, { status: 'once' }, 'k')).status).toBe(404);
    expect(fake.counters(a.accountId)).toMatchObject({ statusesCreated: 2, statusesDeleted: 1, idempotentReplays: 1 });
  });

  it('answers 202 while media processes, refuses to attach it, and updates its description until attached', async () => {
    const a = fake.createAccount();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'red.png');
    const upload = await api(fake, '/api/v2/media', { method: 'POST', token: a.accessToken, body: form });
    expect(upload.status).toBe(202);
    const media = (await upload.json()) as { id: string; url: string | null };
    expect(media.url).toBeNull();
    expect((await api(fake, `/api/v1/media/${media.id}`, { token: a.accessToken })).status).toBe(206);
    const early = await createStatus(a.accessToken, { status: 'pic', media_ids: [media.id] });
    expect(early.status).toBe(422);
    expect(await early.json()).toEqual({
      error: 'Cannot attach files that have not finished processing. Try again in a moment!',
    });
    const put = await api(fake, `/api/v1/media/${media.id}`, {
      method: 'PUT',
      token: a.accessToken,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'description=Red%20square',
    });
    expect(((await put.json()) as { description: string }).description).toBe('Red square');
    fake.advanceClock(60_000);
    expect((await api(fake, `/api/v1/media/${media.id}`, { token: a.accessToken })).status).toBe(200);
    expect((await createStatus(a.accessToken, { status: 'pic', media_ids: [media.id] })).status).toBe(200);
    expect(fake.statuses(a.accountId)[0]!.altTexts).toEqual(['Red square']);
    const late = await api(fake, `/api/v1/media/${media.id}`, {
      method: 'PUT',
      token: a.accessToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'too late' }),
    });
    expect(late.status).toBe(404);
  });

  it("pages an account's statuses newest first with max_id and since_id, sending rate-limit headers", async () => {
    const a = fake.createAccount();
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      ids.push(((await (await createStatus(a.accessToken, { status: `s${n}` })).json()) as { id: string }).id);
    }
    const page = async (query: string) => {
      const res = await api(fake, `/api/v1/accounts/${a.accountId}/statuses?${query}`, { token: a.accessToken });
      expect(res.headers.get('x-ratelimit-limit')).toBe('300');
      expect(res.headers.get('x-ratelimit-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      return ((await res.json()) as Array<{ id: string }>).map((s) => s.id);
    };
    expect(await page('limit=2')).toEqual([ids[4], ids[3]]);
    expect(await page(`limit=2&max_id=${ids[3]}`)).toEqual([ids[2], ids[1]]);
    expect(await page(`since_id=${ids[2]}`)).toEqual([ids[4], ids[3]]);
  });

  it('lets another process create accounts, inject faults and read statuses and counters over /__fake', async () => {
    const creds = (await (await api(fake, '/__fake/accounts', { method: 'POST' })).json()) as FakeAccountCredentials;
    const connector = createMastodonConnector({ timeoutMs: 2_000 });
    const account = accountFor(fake, creds);
    await connector.publish(account, post('seen from afar'), randomUUID());
    await api(fake, `/__fake/accounts/${creds.accountId}/fail-next`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fault: 'invalid_content' }),
    });
    expect(await failure(connector.publish(account, post('refused'), randomUUID()))).toBeInstanceOf(InvalidContent);
    const seen = (await (await api(fake, `/__fake/accounts/${creds.accountId}/statuses`)).json()) as {
      statuses: Array<{ text: string }>;
      counters: { statusesCreated: number };
    };
    expect(seen.statuses.map((s) => s.text)).toEqual(['seen from afar']);
    expect(seen.counters.statusesCreated).toBe(1);
  });

  it('answers token failures as Mastodon does', async () => {
    const a = fake.createAccount();
    fake.expireAccessToken(a.accountId);
    const res = await api(fake, '/api/v1/accounts/verify_credentials', { token: a.accessToken });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'The access token is invalid' });
    expect(res.headers.get('www-authenticate')).toContain('The access token expired');
  });
});
