/**
 * The platforms the crash test publishes to: the real Bluesky PDS, and the Mastodon, X,
 * LinkedIn, Instagram, Facebook Pages and Threads fakes (Meta's in `meta-platforms.ts`).
 * Worker processes build their connectors (but Bluesky's and Mastodon's) from configuration,
 * so each platform also says which variables point a worker at its fake (`workerEnv`).
 */
import type { UpsertSocialAccount } from '../../core/index.js';
import type { Connector } from '../../connectors/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed } from '../../connectors/bluesky/fake.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { startMastodonFake } from '../../connectors/mastodon/fake.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake } from '../../connectors/x/fake.js';
import { createLinkedInConnector } from '../../connectors/linkedin/index.js';
import { startLinkedInFake } from '../../connectors/linkedin/fake.js';
import { metaFixtures } from './meta-platforms.js';

export interface CrashPlatform {
  name: string;
  connector: Connector;
  newAccounts(): Promise<UpsertSocialAccount[]>;
  /** Every post text on the platform for the account. */
  textsOf(account: UpsertSocialAccount): Promise<string[]>;
  /** Variables a Herald worker process needs to publish here. */
  workerEnv: Record<string, string>;
  /**
   * Accounts whose posts Herald may not read back, so a publish whose answer a kill cut off
   * ends `unconfirmed` (never posted twice): LinkedIn members of an app without the
   * restricted r_member_social.
   */
  unreadable?: Set<string>;
  /** Every post here carries an image of this type (Instagram takes no post without media). */
  needsImage?: 'image/jpeg';
  close(): Promise<void>;
}

/**
 * `media`: the media store the workers read (DATA_DIR/media) and their encryption key, from
 * which the public media URLs Meta downloads from are signed and checked.
 */
export async function platformFixtures(
  accountsPerPlatform: number,
  media: { dir: string; key: Buffer },
): Promise<CrashPlatform[]> {
  const bed = await startBlueskyTestbed();
  const bluesky: CrashPlatform = {
    name: 'bluesky',
    connector: createBlueskyConnector({ timeoutMs: 3_000 }),
    async newAccounts() {
      const out: UpsertSocialAccount[] = [];
      for (let i = 0; i < accountsPerPlatform; i++) {
        const a = await bed.createAccount();
        out.push({ platform: 'bluesky', externalId: a.did, handle: a.handle, credentials: { ...a.credentials } });
      }
      return out;
    },
    async textsOf(account) {
      return (await bed.listPosts(account.externalId)).map((p) => p.text);
    },
    workerEnv: {},
    close: () => bed.close(),
  };
  // Each crash round posts 25 statuses per account, well inside the fake's per-account budget.
  const fake = await startMastodonFake();
  const mastodon: CrashPlatform = {
    name: 'mastodon',
    connector: createMastodonConnector({ timeoutMs: 3_000 }),
    async newAccounts() {
      return Array.from({ length: accountsPerPlatform }, () => {
        const a = fake.createAccount();
        return {
          platform: 'mastodon',
          externalId: a.accountId,
          handle: a.username,
          credentials: {
            accessToken: a.accessToken,
            refreshToken: a.refreshToken,
            clientId: a.clientId,
            clientSecret: a.clientSecret,
          },
          metadata: { instanceUrl: fake.url },
        };
      });
    },
    async textsOf(account) {
      return fake.statuses(account.externalId).map((s) => s.text);
    },
    workerEnv: {},
    close: () => fake.close(),
  };
  const xFake = await startXFake();
  const x: CrashPlatform = {
    name: 'x',
    connector: createXConnector({
      clientId: xFake.clientId,
      clientSecret: xFake.clientSecret,
      apiUrl: xFake.url,
      timeoutMs: 3_000,
    }),
    async newAccounts() {
      // Premium subscribers, so the mix holds long posts (X cuts them in `text`; the whole is in `note_tweet`).
      return Array.from({ length: accountsPerPlatform }, () => {
        const a = xFake.createAccount({ subscriptionType: 'Premium' });
        return {
          platform: 'x',
          externalId: a.userId,
          handle: a.username,
          credentials: { accessToken: a.accessToken, refreshToken: a.refreshToken },
          metadata: { longPosts: true },
        };
      });
    },
    async textsOf(account) {
      return xFake.posts(account.externalId).map((p) => p.text);
    },
    workerEnv: {
      X_CLIENT_ID: xFake.clientId,
      X_CLIENT_SECRET: xFake.clientSecret,
      X_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback',
      X_API_URL: xFake.url,
    },
    close: () => xFake.close(),
  };
  const liFake = await startLinkedInFake();
  const linkedin: CrashPlatform = {
    name: 'linkedin',
    connector: createLinkedInConnector({
      clientId: liFake.clientId,
      clientSecret: liFake.clientSecret,
      apiUrl: liFake.url,
      oauthUrl: liFake.url,
      timeoutMs: 3_000,
    }),
    async newAccounts() {
      // Members all: most of an app LinkedIn approved for r_member_social (lookups work), the
      // last of a self-serve app without it (a cut-off publish cannot be confirmed).
      return Array.from({ length: accountsPerPlatform }, (_, i) => {
        const readable = i < accountsPerPlatform - 1;
        const a = liFake.createAccount(
          readable ? { scopes: ['openid', 'profile', 'w_member_social', 'r_member_social'] } : {},
        );
        if (!readable) linkedin.unreadable!.add(a.memberId);
        return {
          platform: 'linkedin',
          externalId: a.memberId,
          handle: a.name,
          credentials: { accessToken: a.accessToken, ...(a.refreshToken ? { refreshToken: a.refreshToken } : {}) },
        };
      });
    },
    async textsOf(account) {
      // As LinkedIn shows them: a text that lost its escaping would come back cut short.
      return liFake.posts(`urn:li:person:${account.externalId}`).map((p) => p.text);
    },
    workerEnv: {
      LINKEDIN_CLIENT_ID: liFake.clientId,
      LINKEDIN_CLIENT_SECRET: liFake.clientSecret,
      LINKEDIN_REDIRECT_URI: 'https://herald.test/v1/social-accounts/callback',
      LINKEDIN_API_URL: liFake.url,
    },
    unreadable: new Set<string>(),
    close: () => liFake.close(),
  };
  return [bluesky, mastodon, x, linkedin, ...(await metaFixtures(accountsPerPlatform, media))];
}
