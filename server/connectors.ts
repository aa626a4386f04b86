/** The platform connectors this build of Herald publishes with, and the platforms accounts can be connected to. */
import { ConnectorRegistry, isConnectorError, type AccountLinker, type PasswordLinker } from '../connectors/index.js';
import {
  BlueskyOAuth,
  createBlueskyConnector,
  createBlueskyPasswordLinker,
  isOAuthCredentials,
  readOAuthCredentials,
} from '../connectors/bluesky/index.js';
import { createMastodonConnector } from '../connectors/mastodon/index.js';
import { createMastodonLinker } from '../connectors/mastodon/link.js';
import { createXConnector, createXLinker, DEFAULT_API_URL, DEFAULT_AUTHORIZE_URL } from '../connectors/x/index.js';
import {
  checkLinkedInVersion,
  createLinkedInConnector,
  createLinkedInLinker,
  DEFAULT_API_URL as DEFAULT_LINKEDIN_API_URL,
  DEFAULT_OAUTH_URL as DEFAULT_LINKEDIN_OAUTH_URL,
} from '../connectors/linkedin/index.js';
import {
  createInstagramConnector,
  createInstagramLinker,
  DEFAULT_INSTAGRAM_URLS,
  GRAPH_VERSION,
  instagramUrlsAt,
} from '../connectors/instagram/index.js';
import {
  createThreadsConnector,
  createThreadsLinker,
  DEFAULT_THREADS_URLS,
  threadsUrlsAt,
} from '../connectors/threads/index.js';
import type { MediaUrls } from '../connectors/meta/media-urls.js';
import { createFacebookConnector, createFacebookLinker } from '../connectors/facebook/index.js';
import type { Config, Logger } from '../core/index.js';
import { addVideoLinkers, registerVideoConnectors } from './video-connectors.js';
import { createBlueskyOAuthStores, redisRequestLock, type PlatformSetup } from '../tools/accounts/index.js';
import type { Redis } from 'ioredis';
import type { Db, SecretCipher } from '../core/index.js';
import type { AccountsApiDeps } from './api.js';

/**
 * Where Bluesky identities are looked up and engagement read; unset, the public network's
 * (https://plc.directory, https://api.bsky.app) and https-only PDSes. Tests point them at
 * `@atproto/dev-env`.
 */
export interface BlueskyNetwork {
  plcUrl?: string | undefined;
  appViewUrl?: string | undefined;
  allowHttpPds?: boolean | undefined;
}

/**
 * Bluesky's OAuth client (docs/connectors.md#bluesky-oauth) over Herald's database (state and
 * sessions, sealed) and a Redis lock around refreshes, when the configuration names one.
 */
export async function createBlueskyOAuthOf(
  client: Config['connect']['blueskyOAuth'],
  deps: { db: Db; cipher: SecretCipher; redis: Redis; keyPrefix: string; timeoutMs: number },
  network: BlueskyNetwork & { defaultServer?: string | undefined } = {},
): Promise<BlueskyOAuth | undefined> {
  if (!client) return undefined;
  return BlueskyOAuth.create({
    client,
    stores: createBlueskyOAuthStores({ db: deps.db, cipher: deps.cipher }),
    requestLock: redisRequestLock(deps.redis, deps.keyPrefix),
    timeoutMs: deps.timeoutMs,
    plcUrl: network.plcUrl,
    handleResolverUrl: network.appViewUrl,
    defaultServer: network.defaultServer,
    allowHttp: network.allowHttpPds === true,
  });
}

export function createConnectors(opts: {
  timeoutMs: number;
  connect?: Config['connect'] | undefined;
  bluesky?: BlueskyNetwork | undefined;
  /** Restores the sessions of Bluesky accounts connected with OAuth (`createBlueskyOAuthOf`). */
  blueskyOAuth?: BlueskyOAuth | undefined;
  /** Signed public URLs Meta downloads media from (`PUBLIC_URL`); unset, Meta drafts with media are refused. */
  mediaUrls?: MediaUrls | undefined;
}): ConnectorRegistry {
  const registry = new ConnectorRegistry([
    createBlueskyConnector({
      timeoutMs: opts.timeoutMs,
      ...(opts.bluesky?.appViewUrl ? { appViewUrl: opts.bluesky.appViewUrl } : {}),
      allowHttpPds: opts.bluesky?.allowHttpPds === true,
      oauth: opts.blueskyOAuth,
    }),
    createMastodonConnector({ timeoutMs: opts.timeoutMs }),
  ]);
  const x = opts.connect?.x;
  // X refreshes tokens with the app's credentials, so its connector exists only when they are set.
  if (x) {
    registry.register(
      createXConnector({
        clientId: x.clientId,
        clientSecret: x.clientSecret,
        timeoutMs: opts.timeoutMs,
        ...(opts.connect?.xApiUrl ? { apiUrl: opts.connect.xApiUrl } : {}),
        ...(opts.connect?.xApiAccess ? { access: opts.connect.xApiAccess } : {}),
      }),
    );
  }
  const linkedin = opts.connect?.linkedin;
  if (linkedin) {
    registry.register(
      createLinkedInConnector({
        clientId: linkedin.clientId,
        clientSecret: linkedin.clientSecret,
        version: linkedin.version,
        timeoutMs: opts.timeoutMs,
        ...linkedinUrls(opts.connect?.linkedinApiUrl),
      }),
    );
  }
  // Meta's connectors read nothing of the app at publish time; they exist when the app is configured.
  const media = opts.mediaUrls ? { mediaUrls: opts.mediaUrls } : {};
  if (opts.connect?.instagram) {
    registry.register(
      createInstagramConnector({
        urls: instagramUrls(opts.connect.instagramApiUrl),
        timeoutMs: opts.timeoutMs,
        ...media,
      }),
    );
  }
  if (opts.connect?.threads) {
    registry.register(
      createThreadsConnector({ urls: threadsUrls(opts.connect.threadsApiUrl), timeoutMs: opts.timeoutMs, ...media }),
    );
  }
  // TikTok pulls videos (source "url") and photos from the same signed public URLs.
  registerVideoConnectors(registry, opts.connect, opts.timeoutMs, opts.mediaUrls);
  if (opts.connect?.facebook) {
    registry.register(
      createFacebookConnector({
        apiUrl: facebookApi(opts.connect.facebookApiUrl),
        timeoutMs: opts.timeoutMs,
        ...media,
      }),
    );
  }
  return registry;
}

const instagramUrls = (base: string | undefined) => (base ? instagramUrlsAt(base) : DEFAULT_INSTAGRAM_URLS);
const threadsUrls = (base: string | undefined) => (base ? threadsUrlsAt(base) : DEFAULT_THREADS_URLS);
const facebookDialog = (base: string | undefined) =>
  `${base ? base.replace(/\/+$/, '') : 'https://www.facebook.com'}/${GRAPH_VERSION}/dialog/oauth`;
const facebookApi = (base: string | undefined) =>
  `${base ? base.replace(/\/+$/, '') : 'https://graph.facebook.com'}/${GRAPH_VERSION}`;

/** A LinkedIn double serves the API and `/oauth/v2/*` from one base URL. */
const linkedinUrls = (base: string | undefined) => (base ? { apiUrl: base, oauthUrl: base } : {});

/** Linkers for the platforms whose app credentials are configured, and what the others need. */
export function accountsApiDepsOf(
  connect: Config['connect'],
  timeoutMs: number,
  bluesky: BlueskyNetwork = {},
  blueskyOAuth?: BlueskyOAuth | undefined,
): AccountsApiDeps {
  const linkers = new Map<string, AccountLinker>();
  const platforms: PlatformSetup[] = [];
  // Bluesky needs no app registration: an account connects with its handle and an app password,
  // or with OAuth when Herald has a client (a key and an https PUBLIC_URL, or loopback in development).
  const passwordLinker = createBlueskyPasswordLinker({
    timeoutMs,
    ...(bluesky.plcUrl ? { plcUrl: bluesky.plcUrl } : {}),
    ...(bluesky.appViewUrl ? { handleResolverUrl: bluesky.appViewUrl } : {}),
    allowHttpPds: bluesky.allowHttpPds === true,
  });
  const passwordLinkers = new Map<string, PasswordLinker>([
    [
      'bluesky',
      {
        ...passwordLinker,
        // Disconnecting ends whichever session the account has: its OAuth grant or its app-password session.
        async revoke(credentials, metadata) {
          if (!isOAuthCredentials(credentials)) return passwordLinker.revoke?.(credentials, metadata);
          if (!blueskyOAuth) throw new Error('Bluesky OAuth is not configured on this server');
          return blueskyOAuth.revoke(readOAuthCredentials(credentials));
        },
      },
    ],
  ]);
  platforms.push({
    platform: 'bluesky',
    configured: true,
    set: [],
    needsInstanceUrl: false,
    connectWith: blueskyOAuth ? ['app_password', 'oauth'] : ['app_password'],
  });
  if (connect.x) {
    const apiUrl = connect.xApiUrl ?? DEFAULT_API_URL;
    linkers.set(
      'x',
      createXLinker({
        ...connect.x,
        apiUrl,
        authorizeUrl: connect.xApiUrl
          ? `${connect.xApiUrl.replace(/\/+$/, '')}/i/oauth2/authorize`
          : DEFAULT_AUTHORIZE_URL,
        timeoutMs,
      }),
    );
  }
  platforms.push({
    platform: 'x',
    configured: !!connect.x,
    set: connect.x ? [] : ['X_CLIENT_ID', 'X_CLIENT_SECRET', 'X_REDIRECT_URI'],
    needsInstanceUrl: false,
    connectWith: ['oauth'],
  });
  if (connect.linkedin) {
    linkers.set(
      'linkedin',
      createLinkedInLinker({
        ...connect.linkedin,
        scopes: [...connect.linkedin.scopes],
        apiUrl: DEFAULT_LINKEDIN_API_URL,
        oauthUrl: DEFAULT_LINKEDIN_OAUTH_URL,
        ...linkedinUrls(connect.linkedinApiUrl),
        timeoutMs,
      }),
    );
  }
  platforms.push({
    platform: 'linkedin',
    configured: !!connect.linkedin,
    set: connect.linkedin ? [] : ['LINKEDIN_CLIENT_ID', 'LINKEDIN_CLIENT_SECRET', 'LINKEDIN_REDIRECT_URI'],
    needsInstanceUrl: false,
    connectWith: ['oauth'],
  });
  const metaSet = (id: string) => [`${id}_APP_ID`, `${id}_APP_SECRET`, 'PUBLIC_URL'];
  if (connect.instagram) {
    linkers.set(
      'instagram',
      createInstagramLinker({
        ...connect.instagram,
        urls: instagramUrls(connect.instagramApiUrl),
        timeoutMs,
        facebook: { dialogUrl: facebookDialog(connect.facebookApiUrl), apiUrl: facebookApi(connect.facebookApiUrl) },
      }),
    );
  }
  platforms.push({
    platform: 'instagram',
    configured: !!connect.instagram,
    set: connect.instagram ? [] : metaSet('INSTAGRAM'),
    needsInstanceUrl: false,
    connectWith: ['oauth'],
  });
  if (connect.threads) {
    linkers.set(
      'threads',
      createThreadsLinker({ ...connect.threads, urls: threadsUrls(connect.threadsApiUrl), timeoutMs }),
    );
  }
  platforms.push({
    platform: 'threads',
    configured: !!connect.threads,
    set: connect.threads ? [] : metaSet('THREADS'),
    needsInstanceUrl: false,
    connectWith: ['oauth'],
  });
  addVideoLinkers(connect, timeoutMs, linkers, platforms);
  if (connect.facebook) {
    linkers.set(
      'facebook',
      createFacebookLinker({
        ...connect.facebook,
        dialogUrl: facebookDialog(connect.facebookApiUrl),
        apiUrl: facebookApi(connect.facebookApiUrl),
        timeoutMs,
      }),
    );
  }
  platforms.push({
    platform: 'facebook',
    configured: !!connect.facebook,
    set: connect.facebook ? [] : metaSet('FACEBOOK'),
    // Optional: the Page's facebook.com URL picks it among several the login manages.
    needsInstanceUrl: false,
    connectWith: ['oauth'],
  });
  if (connect.mastodon)
    linkers.set('mastodon', createMastodonLinker({ redirectUri: connect.mastodon.redirectUri, timeoutMs }));
  platforms.push({
    platform: 'mastodon',
    configured: !!connect.mastodon,
    set: connect.mastodon ? [] : ['MASTODON_REDIRECT_URI'],
    needsInstanceUrl: true,
    connectWith: ['oauth'],
  });
  return { linkers, passwordLinkers, platforms, doneUrl: connect.doneUrl, blueskyOAuth };
}

/**
 * At start: LinkedIn answers every call 426 once `LINKEDIN_VERSION` is retired, so ask it
 * whether the version is still served, and warn while there is time to move to a newer one.
 * Never stops start-up (LinkedIn may simply be unreachable for a moment).
 */
export async function checkLinkedInVersionAtStart(
  connect: Config['connect'] | undefined,
  timeoutMs: number,
  logger: Pick<Logger, 'warn' | 'error'>,
): Promise<void> {
  const li = connect?.linkedin;
  if (!li) return;
  try {
    const { sunsetAt, nearSunset } = await checkLinkedInVersion({
      apiUrl: connect.linkedinApiUrl ?? DEFAULT_LINKEDIN_API_URL,
      version: li.version,
      timeoutMs,
    });
    if (nearSunset)
      logger.warn(
        { version: li.version, sunsetAt: sunsetAt.toISOString() },
        'LINKEDIN_VERSION nears its sunset; set a newer version before LinkedIn retires it',
      );
  } catch (err) {
    if (isConnectorError(err) && err.reason === 'version_retired') logger.error({ version: li.version }, err.message);
    else logger.warn({ err }, 'could not check LINKEDIN_VERSION with LinkedIn');
  }
}
