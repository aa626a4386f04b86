/**
 * Connecting a Mastodon account through Herald's connect flow. Mastodon has no global app:
 * Herald registers itself on each instance the first time someone connects from it (kept in
 * memory per process; the client id and secret also travel, encrypted, with the state, so any
 * process can finish the flow), then runs the code flow with PKCE where the server takes it.
 */
import type { AccountLinker } from '../connect.js';
import { AuthExpired } from '../errors.js';
import { instanceBase } from './client.js';
import { PLATFORM } from './errors.js';
import { readInstanceLimits } from './limits.js';
import {
  MASTODON_SCOPES,
  beginAuthorization,
  exchangeCode,
  parseCredentials,
  registerApp,
  revokeToken,
  verifyCredentials,
} from './oauth.js';

export interface MastodonLinkerOptions {
  /** Herald's callback URL, registered with every instance. */
  redirectUri: string;
  clientName?: string;
  timeoutMs?: number;
}

export function createMastodonLinker(options: MastodonLinkerOptions): AccountLinker {
  const apps = new Map<string, Promise<{ clientId: string; clientSecret: string }>>();
  const call = { timeoutMs: options.timeoutMs ?? 15_000 };

  const appFor = (instanceUrl: string) => {
    let app = apps.get(instanceUrl);
    if (!app) {
      app = registerApp(
        instanceUrl,
        { clientName: options.clientName ?? 'Herald', redirectUris: [options.redirectUri] },
        call,
      );
      // A failed registration is tried again next time.
      app.catch(() => apps.delete(instanceUrl));
      apps.set(instanceUrl, app);
    }
    return app;
  };

  return {
    platform: PLATFORM,
    async begin({ state, instanceUrl }) {
      if (!instanceUrl) throw new TypeError('Mastodon needs the instance URL (instanceUrl) to connect to');
      const base = instanceBase(instanceUrl);
      const app = await appFor(base);
      const { url, codeVerifier } = await beginAuthorization(
        base,
        { clientId: app.clientId, redirectUri: options.redirectUri, state, forceLogin: true },
        call,
      );
      return {
        authorizeUrl: url,
        carry: { instanceUrl: base, clientId: app.clientId },
        secrets: { clientSecret: app.clientSecret, ...(codeVerifier ? { codeVerifier } : {}) },
      };
    },
    async complete({ code, carry, secrets }) {
      const instanceUrl = carry.instanceUrl!;
      const grant = await exchangeCode(
        instanceUrl,
        {
          clientId: carry.clientId!,
          clientSecret: secrets.clientSecret!,
          code,
          redirectUri: options.redirectUri,
          codeVerifier: secrets.codeVerifier ?? null,
        },
        call,
      );
      const who = await verifyCredentials(instanceUrl, grant.credentials.accessToken, call);
      const limits = await readInstanceLimits(instanceUrl).catch(() => undefined);
      return {
        externalId: who.id,
        handle: who.acct,
        displayName: null,
        avatarUrl: null,
        credentials: { ...grant.credentials },
        expiresAt: grant.expiresAt,
        scopes: (grant.scope || MASTODON_SCOPES).split(/\s+/).filter(Boolean),
        metadata: { instanceUrl, ...(limits ? { limits } : {}) },
      };
    },
    async revoke(credentials, metadata) {
      const instanceUrl = typeof metadata.instanceUrl === 'string' ? metadata.instanceUrl : null;
      if (!instanceUrl) return;
      let creds;
      try {
        creds = parseCredentials(credentials);
      } catch (err) {
        if (err instanceof AuthExpired) return; // nothing usable to revoke
        throw err;
      }
      await revokeToken(
        instanceUrl,
        { clientId: creds.clientId, clientSecret: creds.clientSecret, token: creds.accessToken },
        call,
      );
    },
  };
}
