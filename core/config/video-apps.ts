/**
 * The apps of the video platforms (TikTok, YouTube, Pinterest), read from their variables in
 * `variables.ts`: each exists only with its id, secret and redirect URI (the callback at
 * `<PUBLIC_URL>/v1/social-accounts/callback` unless set), so a platform left unset can neither
 * be connected nor published to.
 */

export interface TikTokAppConfig {
  readonly clientKey: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** Unset: https://open.tiktokapis.com (authorize at www.tiktok.com). */
  readonly apiUrl: string | undefined;
  /** The app passed TikTok's content-posting audit (`TIKTOK_AUDITED`). */
  readonly audited: boolean;
}

export interface YouTubeAppConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** Unset: https://www.googleapis.com (OAuth at Google's own hosts). */
  readonly apiUrl: string | undefined;
  /** The Google Cloud project's daily quota: `videos.insert` calls and units for the rest. */
  readonly insertsPerDay: number;
  readonly unitsPerDay: number;
}

export interface PinterestAppConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** Unset: https://api.pinterest.com (authorize at www.pinterest.com). */
  readonly apiUrl: string | undefined;
}

export const DEFAULT_YOUTUBE_INSERTS_PER_DAY = 100;
export const DEFAULT_YOUTUBE_UNITS_PER_DAY = 10_000;

export function videoApps(
  values: Record<string, unknown>,
  redirectUri: (name: string) => string | undefined,
): { tiktok?: TikTokAppConfig; youtube?: YouTubeAppConfig; pinterest?: PinterestAppConfig } {
  const text = (name: string) => values[name] as string | undefined;
  const tiktokRedirect = redirectUri('TIKTOK_REDIRECT_URI');
  const youtubeRedirect = redirectUri('YOUTUBE_REDIRECT_URI');
  const pinterestRedirect = redirectUri('PINTEREST_REDIRECT_URI');
  return {
    ...(text('TIKTOK_CLIENT_KEY') && text('TIKTOK_CLIENT_SECRET') && tiktokRedirect
      ? {
          tiktok: {
            clientKey: text('TIKTOK_CLIENT_KEY')!,
            clientSecret: text('TIKTOK_CLIENT_SECRET')!,
            redirectUri: tiktokRedirect,
            apiUrl: text('TIKTOK_API_URL'),
            audited: values.TIKTOK_AUDITED === true,
          },
        }
      : {}),
    ...(text('YOUTUBE_CLIENT_ID') && text('YOUTUBE_CLIENT_SECRET') && youtubeRedirect
      ? {
          youtube: {
            clientId: text('YOUTUBE_CLIENT_ID')!,
            clientSecret: text('YOUTUBE_CLIENT_SECRET')!,
            redirectUri: youtubeRedirect,
            apiUrl: text('YOUTUBE_API_URL'),
            insertsPerDay: (values.YOUTUBE_DAILY_UPLOADS as number | undefined) ?? DEFAULT_YOUTUBE_INSERTS_PER_DAY,
            unitsPerDay: (values.YOUTUBE_DAILY_UNITS as number | undefined) ?? DEFAULT_YOUTUBE_UNITS_PER_DAY,
          },
        }
      : {}),
    ...(text('PINTEREST_CLIENT_ID') && text('PINTEREST_CLIENT_SECRET') && pinterestRedirect
      ? {
          pinterest: {
            clientId: text('PINTEREST_CLIENT_ID')!,
            clientSecret: text('PINTEREST_CLIENT_SECRET')!,
            redirectUri: pinterestRedirect,
            apiUrl: text('PINTEREST_API_URL'),
          },
        }
      : {}),
  };
}
