/**
 * The X connector against X as it behaves in 2026 (the fake follows docs.x.com, each rule
 * cited in connectors/x/fake-*.ts): posts shown with t.co links for links and media, long
 * posts cut in `text` with the whole text in `note_tweet`, replies only where summoned and no
 * quote posts for self-serve apps, `client-forbidden` reads and `usage-capped` 429s. Each
 * test fails on the connector as it was before these rules were modelled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, MediaInput, PublishInput } from '../../connectors/contract.js';
import { InvalidContent, PermanentError, type ConnectorError } from '../../connectors/errors.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake, type XFakeAccount } from '../../connectors/x/fake.js';
import { solidPng } from '../helpers/media-fixtures.js';
import { memoryJournal } from '../helpers/memory-journal.js';
import { loadConfig } from '../../core/index.js';
import { createConnectors } from '../../server/connectors.js';

let PNG: Buffer;
const image = (): MediaInput => ({ mimeType: 'image/png', sizeBytes: PNG.length, bytes: PNG });
const accountFor = (c: XFakeAccount, metadata: Record<string, unknown> = {}): AccountContext => ({
  accountId: randomUUID(),
  externalId: c.userId,
  handle: c.username,
  credentials: { accessToken: c.accessToken, refreshToken: c.refreshToken },
  metadata,
});
const draft = (parts: Array<{ text: string; media?: MediaInput[] }>, options = {}): PublishInput => ({
  parts: parts.map((p) => ({ text: p.text, media: p.media ?? [] })),
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as ConnectorError,
  );

interface ShownPost {
  text: string;
  entities: { urls: Array<Record<string, string>> };
  attachments: { media_keys: string[] };
  note_tweet: { text: string };
}

let fake: XFake;
const connectorFor = (f: XFake, extra: { timeoutMs?: number; access?: 'self-serve' | 'enterprise' } = {}) =>
  createXConnector({
    clientId: f.clientId,
    clientSecret: f.clientSecret,
    apiUrl: f.url,
    timeoutMs: extra.timeoutMs ?? 2_000,
    mediaPollIntervalMs: 20,
    ...(extra.access ? { access: extra.access } : {}),
  });

beforeAll(async () => {
  PNG = await solidPng(4, 4, '#00ff00');
  fake = await startXFake();
});
afterAll(() => fake?.close());

/** Publishes through a call whose answer is lost after X applied it, as a crash would. */
async function lostAnswer(account: AccountContext, creds: XFakeAccount, input: PublishInput) {
  fake.failNext(creds.userId, 'timeout_after_apply');
  const err = await failure(connectorFor(fake, { timeoutMs: 400 }).publish(account, input, randomUUID()));
  expect(err).toMatchObject({ kind: 'transient', mayHaveSucceeded: true });
}

describe('the fake shows posts as X does', () => {
  it('t.co links with their expanded URL, a media link with its media_key, and a long post cut with note_tweet only when asked', async () => {
    const creds = fake.createAccount({ subscriptionType: 'Premium' });
    const account = accountFor(creds, { longPosts: true });
    await connectorFor(fake).publish(account, draft([{ text: 'see https://example.com/a', media: [image()] }]), 'k');
    const long = `${'word '.repeat(100)}end`;
    await connectorFor(fake).publish(account, draft([{ text: long }]), 'k');
    const read = async (fields?: string) => {
      const url = new URL(`${fake.url}/2/users/${creds.userId}/tweets`);
      url.searchParams.set('max_results', '5');
      if (fields) url.searchParams.set('tweet.fields', fields);
      const res = await fetch(url, { headers: { authorization: `Bearer ${creds.accessToken}` } });
      return ((await res.json()) as { data: ShownPost[] }).data;
    };
    const [longShown, linked] = await read('entities,note_tweet,attachments');
    expect(linked!.text).toMatch(/^see https:\/\/t\.co\/\w{10} https:\/\/t\.co\/\w{10}$/);
    const urls = linked!.entities.urls;
    expect(urls[0]).toMatchObject({ expanded_url: 'https://example.com/a' });
    expect(urls[1]!.media_key).toBe(linked!.attachments.media_keys[0]);
    expect(longShown!.text.endsWith('…')).toBe(true);
    expect(longShown!.text.length).toBeLessThan(long.length);
    expect(longShown!.note_tweet.text).toBe(long);
    // Default fields only: id, text, edit_history_tweet_ids.
    const [plain] = await read();
    expect(Object.keys(plain!).sort()).toEqual(['edit_history_tweet_ids', 'id', 'text']);
  });
});

describe('finding a post after an uncertain publish', () => {
  it('recognises a media-only post, a post with text, a link and an image, and a long post', async () => {
    const creds = fake.createAccount({ subscriptionType: 'Premium' });
    const account = accountFor(creds, { longPosts: true });
    const since = new Date(Date.now() - 5_000);
    const cases = [
      draft([{ text: '', media: [image()] }]),
      draft([{ text: 'launch day https://example.com/launch & more', media: [image(), image()] }]),
      draft([{ text: `${'long read, '.repeat(40)}fin` }]),
    ];
    for (const input of cases) {
      await lostAnswer(account, creds, input);
      const found = await connectorFor(fake).lookup(account, input, 'k', since);
      expect(found?.platformPostId).toBe(fake.posts(creds.userId).at(-1)!.id);
    }
    // Same text, other media count: not this post.
    expect(await connectorFor(fake).lookup(account, draft([{ text: '', media: [] }]), 'k', since)).toBeNull();
  });

  it("tells Herald's media post from another with as many media, by the media keys it journaled", async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const since = new Date(Date.now() - 5_000);
    const c = connectorFor(fake);
    const imageOnly = draft([{ text: '', media: [image()] }]);
    // The owner posts an image by hand; then Herald's attempt fails before X applies it (503).
    const byHand = await c.publish(account, imageOnly, 'k');
    const journal = memoryJournal();
    fake.failNext(creds.userId, 'server_error');
    expect(await failure(c.publish(account, imageOnly, 'k', journal))).toMatchObject({ mayHaveSucceeded: true });
    // Its keys are journaled, and the post by hand does not carry them: Herald's post is not there.
    expect(await c.lookup(account, imageOnly, 'k', since, journal)).toBeNull();
    // The next attempt is applied and its answer lost: found by its keys, not the older post by hand.
    fake.failNext(creds.userId, 'timeout_after_apply');
    await failure(connectorFor(fake, { timeoutMs: 400 }).publish(account, imageOnly, 'k', journal));
    const found = await c.lookup(account, imageOnly, 'k', since, journal);
    expect(found?.platformPostId).toBe(fake.posts(creds.userId).at(-1)!.id);
    expect(found?.platformPostId).not.toBe(byHand.platformPostId);
    // The keys are X's own (3_ a photo, 7_ a video), taken from its answer, not made up.
    expect(journal.saved.at(-1)).toMatchObject({
      mediaKeys: { '0': [[expect.stringMatching(/^3_\d+$/)], expect.any(Array)] },
    });
    const clip: MediaInput = { mimeType: 'video/mp4', sizeBytes: 64, bytes: Buffer.alloc(64, 1) };
    const videoJournal = memoryJournal();
    const video = draft([{ text: 'a clip', media: [clip] }]);
    fake.failNext(creds.userId, 'timeout_after_apply');
    await failure(connectorFor(fake, { timeoutMs: 3_000 }).publish(account, video, 'k', videoJournal));
    expect(videoJournal.saved[0]).toMatchObject({ mediaKeys: { '0': [[expect.stringMatching(/^7_\d+$/)]] } });
    expect((await c.lookup(account, video, 'k', since, videoJournal))?.platformPostId).toBe(
      fake.posts(creds.userId).at(-1)!.id,
    );
  });

  it('continues a thread from the part that failed on a retry, instead of posting it again from part 1', async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const c = connectorFor(fake);
    // A media-only first part: X refuses a duplicate only for the same text, so nothing on
    // X's side would stop part 1 from going out twice.
    const thread = draft([{ text: '', media: [image()] }, { text: 'part two' }, { text: 'part three' }]);
    const journal = memoryJournal();
    fake.failNext(creds.userId, null);
    fake.failNext(creds.userId, 'server_error');
    const err = await failure(c.publish(account, thread, 'k', journal));
    expect(err).toMatchObject({ part: 1 });
    expect(fake.posts(creds.userId)).toHaveLength(1);
    const result = await c.publish(account, thread, 'k', journal);
    const posts = fake.posts(creds.userId);
    expect(posts).toHaveLength(3);
    expect(result.parts!.map((p) => p.platformPostId)).toEqual(posts.map((p) => p.id));
    expect(posts[1]!.replyToId).toBe(posts[0]!.id);
    expect(posts[2]!.replyToId).toBe(posts[1]!.id);
    // The media keys journaled for part 1 are still there beside the posted parts.
    expect(journal.saved.at(-1)).toMatchObject({
      mediaKeys: { '0': [[expect.stringMatching(/^3_\d+$/)]] },
      postedParts: { '0': { id: posts[0]!.id }, '1': { id: posts[1]!.id }, '2': { id: posts[2]!.id } },
    });
    // Each part was marked pending before its post call, and given its id after.
    const partsOf = (j: Record<string, unknown>) =>
      j.postedParts as Record<string, { pendingSince?: string; id?: string }>;
    expect(journal.saved.some((j) => partsOf(j)?.['1']?.pendingSince && !partsOf(j)['1']!.id)).toBe(true);
    expect(Object.values(partsOf(journal.saved.at(-1)!)).every((p) => p.id && !p.pendingSince)).toBe(true);

    // A part whose post call X applied but never answered (or whose id the process died
    // before saving) is looked for on X before it is posted again: found, not doubled.
    const journal3 = memoryJournal();
    const lost = draft([
      { text: 'lost answer, part one' },
      { text: '', media: [image()] },
      { text: 'part three, again' },
    ]);
    const before3 = fake.posts(creds.userId).length;
    fake.failNext(creds.userId, null);
    fake.failNext(creds.userId, 'timeout_after_apply');
    expect(await failure(connectorFor(fake, { timeoutMs: 400 }).publish(account, lost, 'k3', journal3))).toMatchObject({
      part: 1,
      mayHaveSucceeded: true,
    });
    expect(fake.posts(creds.userId)).toHaveLength(before3 + 2);
    const resumed = await c.publish(account, lost, 'k3', journal3);
    const lostPosts = fake.posts(creds.userId).slice(before3);
    expect(lostPosts).toHaveLength(3);
    expect(resumed.parts!.map((p) => p.platformPostId)).toEqual(lostPosts.map((p) => p.id));
    expect(lostPosts[2]!.replyToId).toBe(lostPosts[1]!.id);

    // A part changed since it was posted is posted again, with the rest of the thread after it.
    const journal2 = memoryJournal();
    const before = draft([{ text: 'first words' }, { text: 'second words' }]);
    fake.failNext(creds.userId, null);
    fake.failNext(creds.userId, 'server_error');
    await failure(c.publish(account, before, 'k2', journal2));
    const edited = draft([{ text: 'first words, edited' }, { text: 'second words' }]);
    const again = await c.publish(account, edited, 'k2', journal2);
    const mine = fake.posts(creds.userId).slice(before3 + 3);
    expect(mine.map((p) => p.text)).toEqual(['first words', 'first words, edited', 'second words']);
    expect(again.parts!.map((p) => p.platformPostId)).toEqual([mine[1]!.id, mine[2]!.id]);
  });

  it('reads the window in small pages, and says it cannot be sure past 100 posts instead of "not there"', async () => {
    const creds = fake.createAccount();
    const account = accountFor(creds);
    const since = new Date(Date.now() - 5_000);
    const c = connectorFor(fake);
    await c.publish(account, draft([{ text: 'the one' }]), 'k');
    const before = fake.counters(creds.userId).postsRead;
    expect(await c.lookup(account, draft([{ text: 'the one' }]), 'k', since)).not.toBeNull();
    expect(fake.counters(creds.userId).postsRead - before).toBe(1);
    for (let i = 0; i < 100; i++) await c.publish(account, draft([{ text: `other ${i}` }]), 'k');
    const err = await failure(c.lookup(account, draft([{ text: 'not posted' }]), 'k', since));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ reason: 'lookup_unavailable' });
  });

  it('an app X refuses reads (client-forbidden) gets its own error, not an empty timeline', async () => {
    const legacy = await startXFake({ reads: false });
    try {
      const creds = legacy.createAccount();
      const err = await failure(
        connectorFor(legacy).lookup(accountFor(creds), draft([{ text: 'x' }]), 'k', new Date()),
      );
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({ reason: 'client_forbidden', status: 403 });
    } finally {
      await legacy.close();
    }
  });
});

describe("X's 2026 rules for self-serve apps", () => {
  it('a spent usage cap is its own error, not a 15-minute rate limit', async () => {
    const creds = fake.createAccount();
    fake.failNext(creds.userId, 'usage_capped');
    const err = await failure(connectorFor(fake).publish(accountFor(creds), draft([{ text: 'capped' }]), 'k'));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ reason: 'usage_capped', status: 429 });
    expect(err.message).toContain('console.x.com');
  });

  it('quote posts are refused at schedule time without Enterprise access, and by X if sent anyway', async () => {
    const creds = fake.createAccount();
    const quoting = draft([{ text: 'look' }], { quoteTweetId: '1234567890' });
    const [issue] = connectorFor(fake).validate({ metadata: {} }, quoting);
    expect(issue).toMatchObject({ code: 'option_invalid', message: expect.stringContaining('Enterprise') });
    expect(connectorFor(fake, { access: 'enterprise' }).validate({ metadata: {} }, quoting)).toEqual([]);
    // An app configured as Enterprise that is not: X's 403, named.
    const original = await connectorFor(fake).publish(accountFor(creds), draft([{ text: 'original' }]), 'k');
    const err = await failure(
      connectorFor(fake, { access: 'enterprise' }).publish(
        accountFor(creds),
        draft([{ text: 'look' }], { quoteTweetId: original.platformPostId }),
        'k',
      ),
    );
    expect(err).toBeInstanceOf(InvalidContent);
    expect(err).toMatchObject({ reason: 'quote_restricted', status: 403 });
  });

  it('a reply where the account was not summoned is refused; a reply to a post that mentions it is not', async () => {
    const a = fake.createAccount();
    const b = fake.createAccount();
    const reply = async (to: string) =>
      fetch(`${fake.url}/2/tweets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${b.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: `reply ${randomUUID()}`, reply: { in_reply_to_tweet_id: to } }),
      });
    const quiet = await connectorFor(fake).publish(accountFor(a), draft([{ text: 'no one called' }]), 'k');
    const refused = await reply(quiet.platformPostId);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toContain('where you are mentioned');
    const asked = await connectorFor(fake).publish(
      accountFor(a),
      draft([{ text: `what do you think @${b.username}` }]),
      'k',
    );
    expect((await reply(asked.platformPostId)).status).toBe(201);
  });

  it('a thread X stops after its first post fails in part 2 with what was published and why', async () => {
    const strict = await startXFake({ selfReplies: false });
    try {
      const creds = strict.createAccount();
      const err = await failure(
        connectorFor(strict).publish(accountFor(creds), draft([{ text: 'one' }, { text: 'two' }]), 'k'),
      );
      expect(err).toBeInstanceOf(InvalidContent);
      expect(err).toMatchObject({ part: 1, reason: 'reply_restricted' });
      expect(err.publishedParts).toEqual([expect.objectContaining({ index: 0 })]);
      expect(strict.posts(creds.userId).map((p) => p.text)).toEqual(['one']);
    } finally {
      await strict.close();
    }
  });
});

describe("configuring the X app's access", () => {
  it('X_API_ACCESS=enterprise lets quote drafts through; the default refuses them; other values stop start-up', () => {
    const base = {
      X_CLIENT_ID: 'id',
      X_CLIENT_SECRET: 's',
      X_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback',
    };
    const xOf = (env: Record<string, string>) =>
      createConnectors({ timeoutMs: 1_000, connect: loadConfig({ env, readDotenv: false }).connect }).get('x');
    const quoting = draft([{ text: 'look' }], { quoteTweetId: '1234567890' });
    expect(xOf(base).validate({ metadata: {} }, quoting)).toHaveLength(1);
    expect(xOf({ ...base, X_API_ACCESS: 'enterprise' }).validate({ metadata: {} }, quoting)).toEqual([]);
    expect(() => loadConfig({ env: { ...base, X_API_ACCESS: 'pro' }, readDotenv: false })).toThrow(/X_API_ACCESS/);
  });
});
