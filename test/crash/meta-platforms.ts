/**
 * Meta's three platforms in the crash test's mix: Instagram (each post an image, as Instagram
 * takes no text-only posts), Facebook Pages and Threads (text posts), on their local fakes.
 * Meta downloads media itself from Herald's signed `/v1/public-media` URLs under `PUBLIC_URL`;
 * worker processes serve no HTTP API, so the test serves that route itself — Herald's own
 * route over the media store the workers read (`test/helpers/public-media.ts`) — and points
 * the workers' `PUBLIC_URL` at it.
 */
import type { UpsertSocialAccount } from '../../core/index.js';
import { createInstagramConnector, instagramUrlsAt } from '../../connectors/instagram/index.js';
import { startInstagramFake } from '../../connectors/instagram/fake.js';
import { createFacebookConnector, FACEBOOK_GRAPH_VERSION } from '../../connectors/facebook/index.js';
import { startFacebookFake } from '../../connectors/facebook/fake.js';
import { createThreadsConnector, threadsUrlsAt } from '../../connectors/threads/index.js';
import { startThreadsFake } from '../../connectors/threads/fake.js';
import { startPublicMedia } from '../helpers/public-media.js';
import type { CrashPlatform } from './platforms.js';

export async function metaFixtures(
  accountsPerPlatform: number,
  media: { dir: string; key: Buffer },
): Promise<CrashPlatform[]> {
  const host = await startPublicMedia(media.dir, media.key);
  // The URLs the scheduling side would mint; the workers mint their own the same way.
  const mediaUrls = host.mediaUrls;
  const redirect = `${host.url}/v1/social-accounts/callback`;
  // Every worker needs PUBLIC_URL: without it Meta's apps are not configured (no connector at all).
  const shared = { PUBLIC_URL: host.url };
  const credentials = (accessToken: string) => ({
    accessToken,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60 * 86_400_000).toISOString(),
  });

  const igFake = await startInstagramFake();
  const instagram: CrashPlatform = {
    name: 'instagram',
    connector: createInstagramConnector({ urls: instagramUrlsAt(igFake.url), timeoutMs: 3_000, mediaUrls }),
    async newAccounts() {
      return Array.from({ length: accountsPerPlatform }, () => {
        // A quota well above a round's posts per account (Meta's own figure is read per account).
        const a = igFake.createAccount({ quota: 100 });
        return {
          platform: 'instagram',
          externalId: a.userId,
          handle: a.username,
          credentials: credentials(a.accessToken),
          metadata: { login: 'instagram', publishingQuota: 100 },
        };
      });
    },
    async textsOf(account) {
      return igFake.posts(account.externalId).map((p) => p.caption);
    },
    workerEnv: {
      ...shared,
      INSTAGRAM_APP_ID: igFake.clientId,
      INSTAGRAM_APP_SECRET: igFake.clientSecret,
      INSTAGRAM_API_URL: igFake.url,
    },
    needsImage: 'image/jpeg',
    close: () => igFake.close(),
  };

  const fbFake = await startFacebookFake({ redirectUris: [redirect] });
  const facebook: CrashPlatform = {
    name: 'facebook',
    connector: createFacebookConnector({
      apiUrl: `${fbFake.url}/${FACEBOOK_GRAPH_VERSION}`,
      timeoutMs: 3_000,
      mediaUrls,
    }),
    async newAccounts() {
      const { pages } = fbFake.createUser(Array.from({ length: accountsPerPlatform }, (_, i) => `Crash Page ${i}`));
      return pages.map((p): UpsertSocialAccount => ({
        platform: 'facebook',
        externalId: p.id,
        handle: p.name,
        credentials: { accessToken: p.accessToken },
      }));
    },
    async textsOf(account) {
      return fbFake.posts(account.externalId).map((p) => p.message);
    },
    workerEnv: {
      ...shared,
      FACEBOOK_APP_ID: fbFake.clientId,
      FACEBOOK_APP_SECRET: fbFake.clientSecret,
      FACEBOOK_API_URL: fbFake.url,
    },
    close: () => fbFake.close(),
  };

  const thFake = await startThreadsFake();
  const threads: CrashPlatform = {
    name: 'threads',
    connector: createThreadsConnector({ urls: threadsUrlsAt(thFake.url), timeoutMs: 3_000, mediaUrls }),
    async newAccounts() {
      return Array.from({ length: accountsPerPlatform }, () => {
        const a = thFake.createAccount();
        return {
          platform: 'threads',
          externalId: a.userId,
          handle: a.username,
          credentials: credentials(a.accessToken),
        };
      });
    },
    async textsOf(account) {
      return thFake.posts(account.externalId).map((p) => p.text);
    },
    workerEnv: {
      ...shared,
      THREADS_APP_ID: thFake.clientId,
      THREADS_APP_SECRET: thFake.clientSecret,
      THREADS_API_URL: thFake.url,
    },
    close: async () => {
      await thFake.close();
      await host.close();
    },
  };
  return [instagram, facebook, threads];
}
