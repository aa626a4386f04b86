/**
 * The video platforms' connectors and linkers (TikTok, YouTube, Pinterest), built from their
 * apps in `Config['connect']`: a platform whose app is not configured can neither be
 * connected nor published to, and says which variables to set.
 */
import type { AccountLinker, ConnectorRegistry } from '../connectors/index.js';
import {
  appUrls as tiktokUrls,
  createTikTokConnector,
  createTikTokLinker,
  type MediaUrlSigner,
} from '../connectors/tiktok/index.js';
import { appUrls as youtubeUrls, createYouTubeConnector, createYouTubeLinker } from '../connectors/youtube/index.js';
import {
  appUrls as pinterestUrls,
  createPinterestConnector,
  createPinterestLinker,
} from '../connectors/pinterest/index.js';
import type { Config } from '../core/index.js';
import type { PlatformSetup } from '../tools/accounts/index.js';

export function registerVideoConnectors(
  registry: ConnectorRegistry,
  connect: Config['connect'] | undefined,
  timeoutMs: number,
  mediaUrls?: MediaUrlSigner,
): void {
  const { tiktok, youtube, pinterest } = connect ?? {};
  if (tiktok)
    registry.register(
      createTikTokConnector({
        clientKey: tiktok.clientKey,
        clientSecret: tiktok.clientSecret,
        timeoutMs,
        audited: tiktok.audited,
        ...(tiktok.apiUrl ? { apiUrl: tiktok.apiUrl } : {}),
        ...(mediaUrls ? { mediaUrls } : {}),
      }),
    );
  if (youtube)
    registry.register(
      createYouTubeConnector({
        clientId: youtube.clientId,
        clientSecret: youtube.clientSecret,
        timeoutMs,
        quota: { insertsPerDay: youtube.insertsPerDay, unitsPerDay: youtube.unitsPerDay },
        ...(youtube.apiUrl ? { apiUrl: youtube.apiUrl } : {}),
      }),
    );
  if (pinterest)
    registry.register(
      createPinterestConnector({
        clientId: pinterest.clientId,
        clientSecret: pinterest.clientSecret,
        timeoutMs,
        ...(pinterest.apiUrl ? { apiUrl: pinterest.apiUrl } : {}),
      }),
    );
}

export function addVideoLinkers(
  connect: Config['connect'],
  timeoutMs: number,
  linkers: Map<string, AccountLinker>,
  platforms: PlatformSetup[],
): void {
  const { tiktok, youtube, pinterest } = connect;
  if (tiktok)
    linkers.set(
      'tiktok',
      createTikTokLinker({
        clientKey: tiktok.clientKey,
        clientSecret: tiktok.clientSecret,
        redirectUri: tiktok.redirectUri,
        timeoutMs,
        ...tiktokUrls(tiktok.apiUrl),
      }),
    );
  if (youtube)
    linkers.set(
      'youtube',
      createYouTubeLinker({
        clientId: youtube.clientId,
        clientSecret: youtube.clientSecret,
        redirectUri: youtube.redirectUri,
        timeoutMs,
        ...youtubeUrls(youtube.apiUrl),
      }),
    );
  if (pinterest)
    linkers.set(
      'pinterest',
      createPinterestLinker({
        clientId: pinterest.clientId,
        clientSecret: pinterest.clientSecret,
        redirectUri: pinterest.redirectUri,
        timeoutMs,
        ...pinterestUrls(pinterest.apiUrl),
      }),
    );
  const setup = (platform: string, configured: boolean, prefix: string, id = 'CLIENT_ID') =>
    platforms.push({
      platform,
      configured,
      set: configured ? [] : [`${prefix}_${id}`, `${prefix}_CLIENT_SECRET`, `${prefix}_REDIRECT_URI`],
      needsInstanceUrl: false,
      connectWith: ['oauth'],
    });
  setup('tiktok', !!tiktok, 'TIKTOK', 'CLIENT_KEY');
  setup('youtube', !!youtube, 'YOUTUBE');
  setup('pinterest', !!pinterest, 'PINTEREST');
}
