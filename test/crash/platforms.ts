/** The platforms the crash test publishes to: the real Bluesky PDS, and the Mastodon fake. */
import type { UpsertSocialAccount } from '../../core/index.js';
import type { Connector } from '../../connectors/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed } from '../../connectors/bluesky/fake.js';
import { createMastodonConnector } from '../../connectors/mastodon/index.js';
import { startMastodonFake } from '../../connectors/mastodon/fake.js';

export interface CrashPlatform {
  name: string;
  connector: Connector;
  newAccounts(): Promise<UpsertSocialAccount[]>;
  /** Every post text on the platform for the account. */
  textsOf(account: UpsertSocialAccount): Promise<string[]>;
  close(): Promise<void>;
}

export async function platformFixtures(accountsPerPlatform: number): Promise<CrashPlatform[]> {
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
    close: () => fake.close(),
  };
  return [bluesky, mastodon];
}
