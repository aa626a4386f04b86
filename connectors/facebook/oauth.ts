/**
 * Connecting a Facebook Page: Facebook Login (`connectors/meta/facebook-login.ts`) with the
 * Pages permissions, then the Page chosen among those the login manages (`/me/accounts`,
 * business-owned Pages included): the one whose facebook.com URL was given when connecting
 * (`https://www.facebook.com/<page id or name>`), or the only one. Several and none chosen is
 * an error that names them. The Page access token is stored: read with a long-lived user
 * token, it does not expire.
 */
import type { AccountLinker } from '../connect.js';
import { PermanentError } from '../errors.js';
import {
  exchangeFacebookCode,
  facebookAuthorizeUrl,
  readManagedPages,
  type FacebookApp,
} from '../meta/facebook-login.js';
import { PLATFORM } from './limits.js';

export const FACEBOOK_SCOPES = [
  'pages_show_list',
  'pages_read_engagement',
  'pages_manage_posts',
  'pages_manage_engagement',
  'read_insights',
  'business_management',
];

/** The Page a facebook.com URL names: its last path segment (an id or a name). */
export function pageSelector(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const segs = new URL(url).pathname.split('/').filter(Boolean);
    const last = segs.at(-1);
    return last ? decodeURIComponent(last).toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

export function createFacebookLinker(app: FacebookApp): AccountLinker {
  return {
    platform: PLATFORM,
    async begin({ state, instanceUrl }) {
      const page = pageSelector(instanceUrl);
      const carry: Record<string, string> = page ? { page } : {};
      return {
        authorizeUrl: facebookAuthorizeUrl(app, state, FACEBOOK_SCOPES),
        carry,
        secrets: {},
      };
    },
    async complete({ code, carry }) {
      const user = await exchangeFacebookCode(app, code, PLATFORM);
      const pages = await readManagedPages(app, user.credentials.accessToken, PLATFORM);
      const wanted = carry.page;
      const norm = (s: string) => s.toLowerCase().replace(/[\s-]+/g, '');
      const page = wanted
        ? pages.find((p) => p.id === wanted || norm(p.name) === norm(wanted))
        : pages.length === 1
          ? pages[0]
          : undefined;
      if (!page) {
        const list = pages.map((p) => `${p.name} (https://www.facebook.com/${p.id})`).join(', ');
        throw new PermanentError(
          wanted
            ? `This Facebook login does not manage the Page "${wanted}"; it manages: ${list}`
            : `This Facebook login manages ${pages.length} Pages; connect again giving the Page's URL: ${list}`,
          { platform: PLATFORM, reason: 'page_selection' },
        );
      }
      return {
        externalId: page.id,
        handle: page.name,
        displayName: page.name,
        avatarUrl: null,
        credentials: { accessToken: page.accessToken, issuedAt: new Date().toISOString() },
        expiresAt: null,
        scopes: FACEBOOK_SCOPES,
        metadata: {
          tasks: page.tasks,
          otherPages: pages.filter((p) => p !== page).map((p) => ({ id: p.id, name: p.name })),
        },
      };
    },
  };
}
