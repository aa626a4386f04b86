/**
 * Facebook Login, shared by the Facebook Pages connector and Instagram accounts linked to a
 * Page (developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow and
 * .../access-tokens/get-long-lived): the login dialog, the code traded at
 * `/oauth/access_token`, the short-lived user token traded for a 60-day one
 * (`fb_exchange_token`), and the Pages the user manages (`/me/accounts`, including
 * business-owned Pages the login was granted), each with its Page access token — which,
 * obtained from a long-lived user token, does not expire.
 */
import { PermanentError } from '../errors.js';
import type { MetaPlatform } from './errors.js';
import { graphRequest, type GraphTransport } from './graph.js';
import { tokenCall, type TokenGrant } from './tokens.js';

export interface FacebookApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** `https://www.facebook.com/v23.0/dialog/oauth`. */
  dialogUrl: string;
  /** `https://graph.facebook.com/v23.0`. */
  apiUrl: string;
  timeoutMs: number;
}

export function facebookAuthorizeUrl(app: FacebookApp, state: string, scopes: string[]): string {
  const url = new URL(app.dialogUrl);
  url.searchParams.set('client_id', app.clientId);
  url.searchParams.set('redirect_uri', app.redirectUri);
  url.searchParams.set('state', state);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', scopes.join(','));
  return url.toString();
}

const transport = (app: FacebookApp, platform: MetaPlatform, accessToken?: string): GraphTransport => ({
  platform,
  apiUrl: app.apiUrl,
  timeoutMs: app.timeoutMs,
  ...(accessToken ? { accessToken } : {}),
});

/** The code for a short-lived user token, that for a 60-day one. */
export async function exchangeFacebookCode(
  app: FacebookApp,
  code: string,
  platform: MetaPlatform,
): Promise<TokenGrant> {
  const short = await tokenCall(
    transport(app, platform),
    {
      method: 'GET',
      path: '/oauth/access_token',
      params: { client_id: app.clientId, client_secret: app.clientSecret, redirect_uri: app.redirectUri, code },
    },
    'the authorization code',
  );
  return tokenCall(
    transport(app, platform),
    {
      method: 'GET',
      path: '/oauth/access_token',
      params: {
        grant_type: 'fb_exchange_token',
        client_id: app.clientId,
        client_secret: app.clientSecret,
        fb_exchange_token: short.credentials.accessToken,
      },
    },
    'the long-lived token exchange',
  );
}

export interface ManagedPage {
  id: string;
  name: string;
  /** The Page access token (never expires when read with a long-lived user token). */
  accessToken: string;
  tasks: string[];
  instagram: { id: string; username: string; profilePictureUrl: string | null } | null;
}

/** The Pages the user manages, business-owned ones included, following `paging.next`. */
export async function readManagedPages(
  app: FacebookApp,
  userToken: string,
  platform: MetaPlatform,
): Promise<ManagedPage[]> {
  const pages: ManagedPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < 20; i++) {
    const res = await graphRequest<{ data?: unknown[]; paging?: { cursors?: { after?: string }; next?: string } }>(
      transport(app, platform, userToken),
      {
        method: 'GET',
        path: '/me/accounts',
        params: {
          fields: 'id,name,access_token,tasks,instagram_business_account{id,username,profile_picture_url}',
          limit: 100,
          ...(after ? { after } : {}),
        },
      },
    );
    for (const raw of res.body.data ?? []) {
      const p = raw as Record<string, unknown>;
      if (typeof p.id !== 'string' || typeof p.access_token !== 'string') continue;
      const ig = p.instagram_business_account as Record<string, unknown> | undefined;
      pages.push({
        id: p.id,
        name: typeof p.name === 'string' ? p.name : p.id,
        accessToken: p.access_token,
        tasks: Array.isArray(p.tasks) ? p.tasks.map(String) : [],
        instagram:
          ig && typeof ig.id === 'string'
            ? {
                id: ig.id,
                username: typeof ig.username === 'string' ? ig.username : ig.id,
                profilePictureUrl: typeof ig.profile_picture_url === 'string' ? ig.profile_picture_url : null,
              }
            : null,
      });
    }
    after = res.body.paging?.next ? res.body.paging.cursors?.after : undefined;
    if (!after) break;
  }
  if (pages.length === 0) {
    throw new PermanentError('This Facebook login manages no Page Herald was given access to', {
      platform,
      reason: 'no_pages',
    });
  }
  return pages;
}
