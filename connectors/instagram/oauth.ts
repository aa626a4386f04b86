/**
 * Connecting an Instagram professional account, by either of Meta's logins
 * (developers.facebook.com/docs/instagram-platform/overview):
 * - Instagram Login ("Business Login for Instagram"): authorize at instagram.com, trade the
 *   code at api.instagram.com for a short-lived token, trade that at graph.instagram.com for a
 *   60-day token (`ig_exchange_token`), refreshed with `ig_refresh_token` (at least 24 h old,
 *   not expired); the account is `GET /me?fields=user_id,username,...`.
 * - Facebook Login (an account linked to a Facebook Page): the Facebook code and long-lived
 *   user token (`connectors/meta/facebook-login.ts`), then the Page whose
 *   `instagram_business_account` is the account. Meta offers no refresh for these tokens: the
 *   account reconnects before the 60 days are up.
 * Either way the quota is read from `content_publishing_limit` and kept in the metadata.
 */
import type { AccountLinker, LinkedAccount } from '../connect.js';
import { PermanentError } from '../errors.js';
import { graphRequest, type GraphTransport } from '../meta/graph.js';
import {
  exchangeFacebookCode,
  facebookAuthorizeUrl,
  readManagedPages,
  type FacebookApp,
} from '../meta/facebook-login.js';
import { tokenCall, type TokenGrant } from '../meta/tokens.js';
import { FALLBACK_PUBLISHING_QUOTA, PLATFORM } from './limits.js';

export const INSTAGRAM_LOGIN_SCOPES = ['instagram_business_basic', 'instagram_business_content_publish'];
export const INSTAGRAM_FACEBOOK_SCOPES = [
  'instagram_basic',
  'instagram_content_publish',
  'instagram_manage_insights',
  'pages_show_list',
  'pages_read_engagement',
  'business_management',
];

export interface InstagramUrls {
  /** `https://www.instagram.com/oauth/authorize`. */
  authorizeUrl: string;
  /** `https://api.instagram.com` (the code exchange). */
  tokenUrl: string;
  /** `https://graph.instagram.com` (unversioned: long-lived exchange and refresh). */
  graphUrl: string;
  /** `https://graph.instagram.com/v23.0`. */
  apiUrl: string;
  /** `https://graph.facebook.com/v23.0`, for accounts connected by Facebook Login. */
  facebookApiUrl: string;
}

export const GRAPH_VERSION = 'v23.0';

export const DEFAULT_INSTAGRAM_URLS: InstagramUrls = {
  authorizeUrl: 'https://www.instagram.com/oauth/authorize',
  tokenUrl: 'https://api.instagram.com',
  graphUrl: 'https://graph.instagram.com',
  apiUrl: `https://graph.instagram.com/${GRAPH_VERSION}`,
  facebookApiUrl: `https://graph.facebook.com/${GRAPH_VERSION}`,
};

/** Every Instagram URL under one test double's base. */
export const instagramUrlsAt = (base: string): InstagramUrls => {
  const b = base.replace(/\/+$/, '');
  return {
    authorizeUrl: `${b}/oauth/authorize`,
    tokenUrl: b,
    graphUrl: b,
    apiUrl: `${b}/${GRAPH_VERSION}`,
    facebookApiUrl: `${b}/${GRAPH_VERSION}`,
  };
};

export interface InstagramApp {
  /** The Instagram app id and secret (Instagram Login) or the Facebook app's (Facebook Login). */
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  login: 'instagram' | 'facebook';
  urls: InstagramUrls;
  timeoutMs: number;
  /** Facebook Login's dialog and Graph URLs, when `login` is `facebook`. */
  facebook?: Pick<FacebookApp, 'dialogUrl' | 'apiUrl'>;
}

const t = (apiUrl: string, timeoutMs: number, accessToken?: string): GraphTransport => ({
  platform: PLATFORM,
  apiUrl,
  timeoutMs,
  ...(accessToken ? { accessToken } : {}),
});

/** `ig_exchange_token`: a short-lived Instagram Login token for a 60-day one. */
export function exchangeLongLived(app: InstagramApp, shortLived: string): Promise<TokenGrant> {
  return tokenCall(
    t(app.urls.graphUrl, app.timeoutMs, shortLived),
    {
      method: 'GET',
      path: '/access_token',
      params: { grant_type: 'ig_exchange_token', client_secret: app.clientSecret },
    },
    'the long-lived token exchange',
  );
}

/** `ig_refresh_token`: a new 60-day token from one at least 24 h old and not expired. */
export function refreshLongLived(urls: Pick<InstagramUrls, 'graphUrl'>, timeoutMs: number, token: string) {
  return tokenCall(
    t(urls.graphUrl, timeoutMs, token),
    { method: 'GET', path: '/refresh_access_token', params: { grant_type: 'ig_refresh_token' } },
    'the token refresh',
  );
}

/** The account's rolling 24 h quota (`config.quota_total`) and what it has used. */
export async function readPublishingLimit(
  transport: GraphTransport,
  userId: string,
): Promise<{ total: number; used: number; durationS: number }> {
  const res = await graphRequest<{ data?: Array<Record<string, unknown>> }>(transport, {
    method: 'GET',
    path: `/${encodeURIComponent(userId)}/content_publishing_limit`,
    params: { fields: 'quota_usage,config' },
  });
  const row = res.body.data?.[0] ?? {};
  const config = (row.config ?? {}) as Record<string, unknown>;
  const total = Number(config.quota_total);
  const used = Number(row.quota_usage);
  const durationS = Number(config.quota_duration);
  return {
    total: Number.isInteger(total) && total > 0 ? total : FALLBACK_PUBLISHING_QUOTA,
    used: Number.isFinite(used) && used >= 0 ? used : 0,
    durationS: Number.isFinite(durationS) && durationS > 0 ? durationS : 86_400,
  };
}

export function createInstagramLinker(app: InstagramApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      if (app.login === 'facebook') {
        return {
          authorizeUrl: facebookAuthorizeUrl(fbApp(app), state, INSTAGRAM_FACEBOOK_SCOPES),
          carry: {},
          secrets: {},
        };
      }
      const url = new URL(app.urls.authorizeUrl);
      url.searchParams.set('client_id', app.clientId);
      url.searchParams.set('redirect_uri', app.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', INSTAGRAM_LOGIN_SCOPES.join(','));
      url.searchParams.set('state', state);
      return { authorizeUrl: url.toString(), carry: {}, secrets: {} };
    },
    async complete({ code }) {
      return app.login === 'facebook' ? completeWithFacebook(app, code) : completeWithInstagram(app, code);
    },
  };
}

const fbApp = (app: InstagramApp): FacebookApp => ({
  clientId: app.clientId,
  clientSecret: app.clientSecret,
  redirectUri: app.redirectUri,
  dialogUrl: app.facebook?.dialogUrl ?? `https://www.facebook.com/${GRAPH_VERSION}/dialog/oauth`,
  apiUrl: app.facebook?.apiUrl ?? app.urls.facebookApiUrl,
  timeoutMs: app.timeoutMs,
});

async function completeWithInstagram(app: InstagramApp, code: string): Promise<LinkedAccount> {
  const short = await tokenCall(
    t(app.urls.tokenUrl, app.timeoutMs),
    {
      method: 'POST',
      path: '/oauth/access_token',
      params: {
        client_id: app.clientId,
        client_secret: app.clientSecret,
        grant_type: 'authorization_code',
        redirect_uri: app.redirectUri,
        code,
      },
    },
    'the authorization code',
  );
  const long = await exchangeLongLived(app, short.credentials.accessToken);
  const api = t(app.urls.apiUrl, app.timeoutMs, long.credentials.accessToken);
  const me = await graphRequest(api, {
    method: 'GET',
    path: '/me',
    params: { fields: 'user_id,username,name,profile_picture_url,account_type' },
  });
  const userId = String(me.body.user_id ?? me.body.id ?? '');
  const username = typeof me.body.username === 'string' ? me.body.username : '';
  if (!userId || !username) {
    throw new PermanentError("Instagram's answer to GET /me could not be read", { platform: PLATFORM });
  }
  const limit = await readPublishingLimit(api, userId);
  const scopes = Array.isArray(short.extra.permissions)
    ? short.extra.permissions.map(String)
    : typeof short.extra.permissions === 'string'
      ? short.extra.permissions.split(',')
      : INSTAGRAM_LOGIN_SCOPES;
  return {
    externalId: userId,
    handle: username,
    displayName: typeof me.body.name === 'string' ? me.body.name : null,
    avatarUrl: typeof me.body.profile_picture_url === 'string' ? me.body.profile_picture_url : null,
    credentials: { ...long.credentials },
    expiresAt: long.expiresAt,
    scopes,
    metadata: { login: 'instagram', publishingQuota: limit.total, accountType: me.body.account_type ?? null },
  };
}

async function completeWithFacebook(app: InstagramApp, code: string): Promise<LinkedAccount> {
  const fb = fbApp(app);
  const user = await exchangeFacebookCode(fb, code, PLATFORM);
  const pages = await readManagedPages(fb, user.credentials.accessToken, PLATFORM);
  const page = pages.find((p) => p.instagram);
  if (!page?.instagram) {
    throw new PermanentError(
      'None of the Facebook Pages this login manages has an Instagram professional account linked to it',
      { platform: PLATFORM, reason: 'no_instagram_account' },
    );
  }
  const api = t(app.urls.facebookApiUrl, app.timeoutMs, user.credentials.accessToken);
  const limit = await readPublishingLimit(api, page.instagram.id);
  return {
    externalId: page.instagram.id,
    handle: page.instagram.username,
    displayName: page.name,
    avatarUrl: page.instagram.profilePictureUrl,
    credentials: { ...user.credentials },
    expiresAt: user.expiresAt,
    scopes: INSTAGRAM_FACEBOOK_SCOPES,
    metadata: { login: 'facebook', pageId: page.id, publishingQuota: limit.total },
  };
}
