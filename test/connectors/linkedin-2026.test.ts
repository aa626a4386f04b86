/**
 * The LinkedIn connector against LinkedIn's documented access rules (the fake cites each page
 * in connectors/linkedin/fake-*.ts): a member's posts are readable only with the restricted
 * `r_member_social`, member analytics need `r_member_postAnalytics` and take the post URN as
 * `entity`, limits are daily (midnight UTC) with no wait header, a retired `LinkedIn-Version`
 * answers 426, and the 3,000-character limit applies to the commentary as sent. Each test
 * fails on the connector as it was before these rules were modelled.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountContext, PublishInput } from '../../connectors/contract.js';
import { PermanentError, RateLimited, type ConnectorError } from '../../connectors/errors.js';
import {
  checkLinkedInVersion,
  createLinkedInConnector,
  memberPostEntity,
  versionSunset,
} from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake, type LinkedInFakeAccount } from '../../connectors/linkedin/fake.js';

const accountFor = (c: LinkedInFakeAccount, metadata: Record<string, unknown> = {}): AccountContext => ({
  accountId: randomUUID(),
  externalId: c.memberId,
  handle: c.name,
  credentials: { accessToken: c.accessToken },
  metadata,
});
const post = (text: string, options: Record<string, unknown> = {}): PublishInput => ({
  parts: [{ text, media: [] }],
  options,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as ConnectorError,
  );

let fake: LinkedInFake;
const connectorFor = (f: LinkedInFake, version?: string) =>
  createLinkedInConnector({
    clientId: f.clientId,
    clientSecret: f.clientSecret,
    apiUrl: f.url,
    oauthUrl: f.url,
    timeoutMs: 1_000,
    ...(version ? { version } : {}),
  });

beforeAll(async () => {
  fake = await startLinkedInFake();
});
afterAll(() => fake?.close());

describe("reading a member's posts needs r_member_social", () => {
  it('without it, a lookup says it cannot tell (never "not there"); with it, the post is found', async () => {
    const plain = fake.createAccount(); // w_member_social, as a self-serve app gets
    const account = accountFor(plain);
    const since = new Date(Date.now() - 5_000);
    await connectorFor(fake).publish(account, post('mine'), 'k');
    const err = await failure(connectorFor(fake).lookup(account, post('mine'), 'k', since));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ reason: 'lookup_unavailable' });
    expect(err.message).toContain('r_member_social');

    const approved = fake.createAccount({ scopes: ['openid', 'profile', 'w_member_social', 'r_member_social'] });
    await connectorFor(fake).publish(accountFor(approved), post('mine too'), 'k');
    expect(await connectorFor(fake).lookup(accountFor(approved), post('mine too'), 'k', since)).not.toBeNull();
  });

  it('a lookup that saw only a full page of newer posts says it cannot tell', async () => {
    const approved = fake.createAccount({ scopes: ['openid', 'profile', 'w_member_social', 'r_member_social'] });
    const account = accountFor(approved);
    const since = new Date(Date.now() - 5_000);
    for (let i = 0; i < 20; i++) await connectorFor(fake).publish(account, post(`busy ${i}`), 'k');
    const err = await failure(connectorFor(fake).lookup(account, post('lost somewhere'), 'k', since));
    expect(err).toMatchObject({ kind: 'permanent', reason: 'lookup_unavailable' });
    expect(await connectorFor(fake).lookup(account, post('busy 19'), 'k', since)).not.toBeNull();
  });

  it("a page's posts stay readable with r_organization_social", async () => {
    const org = 'urn:li:organization:77';
    const creds = fake.createAccount({ organizations: [org] });
    const account = accountFor(creds, { organizations: [org] });
    const since = new Date(Date.now() - 5_000);
    const done = await connectorFor(fake).publish(account, post('from the page', { organization: org }), 'k');
    const found = await connectorFor(fake).lookup(account, post('from the page', { organization: org }), 'k', since);
    expect(found?.platformPostId).toBe(done.platformPostId);
  });
});

describe('member post analytics', () => {
  it('name the post as a Rest.li union, (share:…) or (ugc:…); LinkedIn refuses a bare URN', async () => {
    expect(memberPostEntity('urn:li:share:7137079458223104000')).toBe('(share:urn%3Ali%3Ashare%3A7137079458223104000)');
    expect(memberPostEntity('urn:li:ugcPost:7225138519164678144')).toBe(
      '(ugc:urn%3Ali%3AugcPost%3A7225138519164678144)',
    );
    const creds = fake.createAccount({ scopes: ['openid', 'profile', 'w_member_social', 'r_member_postAnalytics'] });
    const { platformPostId } = await connectorFor(fake).publish(accountFor(creds), post('union entity'), 'k');
    const ask = (entity: string) =>
      fetch(
        `${fake.url}/rest/memberCreatorPostAnalytics?q=entity&queryType=IMPRESSION&aggregation=TOTAL&entity=${entity}`,
        {
          headers: {
            authorization: `Bearer ${creds.accessToken}`,
            'linkedin-version': '202610',
            'x-restli-protocol-version': '2.0.0',
          },
        },
      );
    expect((await ask(encodeURIComponent(platformPostId))).status).toBe(400);
    expect((await ask(memberPostEntity(platformPostId))).status).toBe(200);
  });

  it('take the post as entity and need r_member_postAnalytics, said in words when missing', async () => {
    const creds = fake.createAccount({ scopes: ['openid', 'profile', 'w_member_social', 'r_member_postAnalytics'] });
    const result = await connectorFor(fake).publish(accountFor(creds), post('measure me'), 'k');
    fake.setMetrics(result.platformPostId, { reactions: 4, comments: 2, reshares: 1, impressions: 50 });
    expect(await connectorFor(fake).fetchMetrics(accountFor(creds), result.platformPostId)).toMatchObject({
      likes: 4,
      replies: 2,
      reposts: 1,
      impressions: 50,
    });
    const without = fake.createAccount();
    const theirs = await connectorFor(fake).publish(accountFor(without), post('no analytics'), 'k');
    const err = await failure(connectorFor(fake).fetchMetrics(accountFor(without), theirs.platformPostId));
    expect(err).toMatchObject({ kind: 'permanent', reason: 'permission_missing' });
    expect(err.message).toContain('r_member_postAnalytics');
  });
});

describe("LinkedIn's limits and versions", () => {
  it('a 429 with no wait header waits for the daily reset at midnight UTC, not a minute', async () => {
    const limited = await startLinkedInFake({ dailyLimit: 1 });
    try {
      const creds = limited.createAccount();
      await connectorFor(limited).publish(accountFor(creds), post('one'), 'k');
      const err = await failure(connectorFor(limited).publish(accountFor(creds), post('two'), 'k'));
      expect(err).toBeInstanceOf(RateLimited);
      const at = (err as RateLimited).retryAt;
      expect([at.getUTCHours(), at.getUTCMinutes()]).toEqual([0, 1]);
      expect(at.getTime()).toBeGreaterThan(Date.now());
      expect(at.getTime()).toBeLessThanOrEqual(Date.now() + 86_400_000 + 60_000);
    } finally {
      await limited.close();
    }
  });

  it('a retired LinkedIn-Version is its own error, found by the start-up check; one near its sunset is flagged', async () => {
    const creds = fake.createAccount();
    const err = await failure(connectorFor(fake, '202001').publish(accountFor(creds), post('old'), 'k'));
    expect(err).toMatchObject({ kind: 'permanent', reason: 'version_retired', status: 426 });
    expect(err.message).toContain('LINKEDIN_VERSION');
    await expect(checkLinkedInVersion({ apiUrl: fake.url, timeoutMs: 1_000, version: '202001' })).rejects.toMatchObject(
      {
        reason: 'version_retired',
      },
    );
    const now = new Date();
    const month = (back: number) => {
      const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - back, 1));
      return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    };
    const fresh = await checkLinkedInVersion({ apiUrl: fake.url, timeoutMs: 1_000, version: month(0) });
    expect(fresh).toMatchObject({ nearSunset: false, sunsetAt: versionSunset(month(0)) });
    const ageing = await checkLinkedInVersion({ apiUrl: fake.url, timeoutMs: 1_000, version: month(11) });
    expect(ageing.nearSunset).toBe(true);
  });

  it('refuses commentary over 3,000 characters as sent, escapes included, before LinkedIn does', async () => {
    // 2,991 characters as written; 3,007 as sent (4 backslashes, `{hashtag|\#|c}` for `#c`).
    const text = `${'x'.repeat(2_980)} (a) [b] #c`;
    const issues = connectorFor(fake).validate({ metadata: {} }, post(text));
    expect(issues[0]).toMatchObject({ code: 'text_too_long', limit: 3_000, actual: 3_007 });
    // LinkedIn's side: the same commentary sent anyway is refused.
    const creds = fake.createAccount();
    const res = await fetch(`${fake.url}/rest/posts`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${creds.accessToken}`,
        'content-type': 'application/json',
        'linkedin-version': '202610',
        'x-restli-protocol-version': '2.0.0',
      },
      body: JSON.stringify({
        author: `urn:li:person:${creds.memberId}`,
        commentary: '\\('.repeat(1_501),
        visibility: 'PUBLIC',
        lifecycleState: 'PUBLISHED',
      }),
    });
    expect(res.status).toBe(422);
  });
});
