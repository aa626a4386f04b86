/**
 * Connecting a Threads profile (developers.facebook.com/docs/threads/get-started): authorize
 * at threads.net with `threads_basic` and `threads_content_publish`, trade the code at
 * `POST /oauth/access_token` for a short-lived token, that for a 60-day one
 * (`th_exchange_token`), refreshed with `th_refresh_token` once at least 24 h old and before it
 * expires. The profile is `GET /me`; its quota `GET /{id}/threads_publishing_limit`.
 */
import type { AccountLinker } from '../connect.js';
import { PermanentError } from '../errors.js';
import { graphRequest, type GraphTransport } from '../meta/graph.js';
import { tokenCall, type TokenGrant } from '../meta/tokens.js';
import { DEFAULT_PUBLISHING_QUOTA, PLATFORM } from './limits.js';

export const THREADS_SCOPES = ['threads_basic', 'threads_content_publish', 'threads_manage_insights'];

export interface ThreadsUrls {
  /** `https://threads.net/oauth/authorize`. */
  authorizeUrl: string;
  /** `https://graph.threads.net` (tokens, unversioned). */
  graphUrl: string;
  /** `https://graph.threads.net/v1.0`. */
  apiUrl: string;
}

export const DEFAULT_THREADS_URLS: ThreadsUrls = {
  authorizeUrl: 'https://threads.net/oauth/authorize',
  graphUrl: 'https://graph.threads.net',
  apiUrl: 'https://graph.threads.net/v1.0',
};

export const threadsUrlsAt = (base: string): ThreadsUrls => {
  const b = base.replace(/\/+$/, '');
  return { authorizeUrl: `${b}/oauth/authorize`, graphUrl: b, apiUrl: `${b}/v1.0` };
};

export interface ThreadsApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  urls: ThreadsUrls;
  timeoutMs: number;
}

const t = (apiUrl: string, timeoutMs: number, accessToken?: string): GraphTransport => ({
  platform: PLATFORM,
  apiUrl,
  timeoutMs,
  ...(accessToken ? { accessToken } : {}),
});

export function refreshThreadsToken(
  urls: Pick<ThreadsUrls, 'graphUrl'>,
  timeoutMs: number,
  token: string,
): Promise<TokenGrant> {
  return tokenCall(
    t(urls.graphUrl, timeoutMs, token),
    { method: 'GET', path: '/refresh_access_token', params: { grant_type: 'th_refresh_token' } },
    'the token refresh',
  );
}

export async function readThreadsLimit(
  transport: GraphTransport,
  userId: string,
): Promise<{ total: number; used: number }> {
  const res = await graphRequest<{ data?: Array<Record<string, unknown>> }>(transport, {
    method: 'GET',
    path: `/${encodeURIComponent(userId)}/threads_publishing_limit`,
    params: { fields: 'quota_usage,config' },
  });
  const row = res.body.data?.[0] ?? {};
  const total = Number((row.config as { quota_total?: unknown } | undefined)?.quota_total);
  const used = Number(row.quota_usage);
  return {
    total: Number.isInteger(total) && total > 0 ? total : DEFAULT_PUBLISHING_QUOTA,
    used: Number.isFinite(used) && used >= 0 ? used : 0,
  };
}

export function createThreadsLinker(app: ThreadsApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state }) {
      const url = new URL(app.urls.authorizeUrl);
      url.searchParams.set('client_id', app.clientId);
      url.searchParams.set('redirect_uri', app.redirectUri);
      url.searchParams.set('scope', THREADS_SCOPES.join(','));
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('state', state);
      return { authorizeUrl: url.toString(), carry: {}, secrets: {} };
    },
    async complete({ code }) {
      const short = await tokenCall(
        t(app.urls.graphUrl, app.timeoutMs),
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
      const long = await tokenCall(
        t(app.urls.graphUrl, app.timeoutMs, short.credentials.accessToken),
        {
          method: 'GET',
          path: '/access_token',
          params: { grant_type: 'th_exchange_token', client_secret: app.clientSecret },
        },
        'the long-lived token exchange',
      );
      const api = t(app.urls.apiUrl, app.timeoutMs, long.credentials.accessToken);
      const me = await graphRequest(api, {
        method: 'GET',
        path: '/me',
        params: { fields: 'id,username,name,threads_profile_picture_url' },
      });
      const id = typeof me.body.id === 'string' ? me.body.id : '';
      const username = typeof me.body.username === 'string' ? me.body.username : '';
      if (!id || !username)
        throw new PermanentError("Threads' answer to GET /me could not be read", { platform: PLATFORM });
      const limit = await readThreadsLimit(api, id);
      return {
        externalId: id,
        handle: username,
        displayName: typeof me.body.name === 'string' ? me.body.name : null,
        avatarUrl: typeof me.body.threads_profile_picture_url === 'string' ? me.body.threads_profile_picture_url : null,
        credentials: { ...long.credentials },
        expiresAt: long.expiresAt,
        scopes: THREADS_SCOPES,
        metadata: { publishingQuota: limit.total },
      };
    },
  };
}
