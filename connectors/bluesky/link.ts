/**
 * Connecting a Bluesky account with a handle (or DID) and an app password: the identifier is
 * resolved to the account's DID and PDS (`identity.ts`), the session is created on that PDS
 * (`com.atproto.server.createSession`), and the profile record is read there. The account's
 * main password is refused: an app password can be revoked on its own in Bluesky's settings
 * and cannot change the account (https://docs.bsky.app/docs/api/com-atproto-server-create-session).
 */
import { XRPCError } from '@atproto/api';
import { HeraldError, outboundRefusal } from '../../core/index.js';
import type { LinkedAccount, PasswordLinker } from '../connect.js';
import { isConnectorError, RateLimited } from '../errors.js';
import {
  jwtClaims,
  jwtExpiry,
  readCredentials,
  xrpcAgent,
  type BlueskyCredentials,
  type TransportOptions,
} from './client.js';
import { classify, PLATFORM } from './errors.js';
import { DEFAULT_PLC_URL, guardedFetch, resolveIdentity } from './identity.js';
import { DEFAULT_APPVIEW_URL, DEFAULT_TIMEOUT_MS } from './defaults.js';

export interface BlueskyLinkerOptions {
  /** Base URL of the PLC directory (`did:plc` documents). Default `https://plc.directory`. */
  plcUrl?: string;
  /** Asked `com.atproto.identity.resolveHandle` when DNS and HTTPS do not resolve a handle. Default `https://api.bsky.app`. */
  handleResolverUrl?: string;
  /** Milliseconds before each lookup or request is abandoned. Default 15,000. */
  timeoutMs?: number;
  /** Accept a PDS served over plain http (a local development network). Default false. */
  allowHttpPds?: boolean;
  fetch?: typeof globalThis.fetch;
}

/** Access-token scopes of app-password sessions; the main password's is `com.atproto.access`. */
const APP_PASSWORD_SCOPES = new Set(['com.atproto.appPass', 'com.atproto.appPassPrivileged']);
const PROFILE = 'app.bsky.actor.profile';

export function createBlueskyPasswordLinker(options: BlueskyLinkerOptions = {}): PasswordLinker {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const transport: TransportOptions = {
    timeoutMs,
    fetch: options.fetch ?? guardedFetch,
    allowHttpPds: options.allowHttpPds === true,
  };
  const identity = {
    plcUrl: options.plcUrl ?? DEFAULT_PLC_URL,
    handleResolverUrl: options.handleResolverUrl ?? DEFAULT_APPVIEW_URL,
    timeoutMs,
    allowHttpPds: options.allowHttpPds === true,
  };

  return {
    platform: PLATFORM,
    async signIn({ identifier, password }): Promise<LinkedAccount> {
      const { did, pdsUrl } = await resolveIdentity(identifier, identity);
      let session;
      try {
        const res = await xrpcAgent(pdsUrl, transport).com.atproto.server.createSession({
          identifier: did,
          password,
        });
        session = res.data;
      } catch (err) {
        throw signInFailure(identifier, pdsUrl, err, timeoutMs);
      }
      const scope = jwtClaims(session.accessJwt).scope;
      if (typeof scope !== 'string' || !APP_PASSWORD_SCOPES.has(scope)) {
        // End the session just made, so the main password leaves nothing behind.
        await xrpcAgent(pdsUrl, transport, session.refreshJwt)
          .com.atproto.server.deleteSession()
          .catch(() => undefined);
        throw new HeraldError('sign_in_refused', {
          message:
            "That is the account's main password; Herald takes only an app password (Bluesky: Settings → Privacy and security → App passwords)",
          details: { platform: PLATFORM, reason: 'main_password' },
        });
      }
      if (session.did !== did) {
        throw new HeraldError('sign_in_refused', {
          message: `The PDS at ${pdsUrl} signed in ${session.did}, not ${did}`,
          details: { platform: PLATFORM, reason: 'other_account' },
        });
      }
      const profile = await readProfile(pdsUrl, did, transport);
      const credentials: BlueskyCredentials = {
        service: pdsUrl,
        did,
        handle: session.handle,
        accessJwt: session.accessJwt,
        refreshJwt: session.refreshJwt,
        appPassword: password,
      };
      return {
        externalId: did,
        handle: session.handle,
        displayName: profile.displayName,
        avatarUrl: profile.avatarUrl,
        credentials,
        expiresAt: jwtExpiry(session.accessJwt),
        scopes: [scope],
        metadata: { pds: pdsUrl },
      };
    },

    /** `com.atproto.server.deleteSession` with the refresh token: the session ends on the PDS. */
    async revoke(stored) {
      const credentials = readCredentials(stored);
      try {
        await xrpcAgent(credentials.service, transport, credentials.refreshJwt).com.atproto.server.deleteSession();
      } catch (err) {
        throw classify(err, { session: true, timeoutMs });
      }
    },
  };
}

/** What the PDS's refusal means for the person connecting. */
function signInFailure(identifier: string, pdsUrl: string, err: unknown, timeoutMs: number): HeraldError {
  const refused = outboundRefusal(err);
  if (refused) {
    return new HeraldError('handle_unresolved', {
      message: `The PDS of ${identifier} (${pdsUrl}) is at ${refused.address} (${refused.range}); Herald does not send passwords there`,
      details: { platform: PLATFORM, pds: pdsUrl },
    });
  }
  const failure = classify(err, { session: true, timeoutMs });
  const said = failure.platformMessage ?? failure.message;
  if (failure instanceof RateLimited) {
    return new HeraldError('rate_limited', {
      message: `Bluesky is limiting sign-ins for ${identifier}; try again after ${failure.retryAt.toISOString()}`,
      details: { platform: PLATFORM, retryAt: failure.retryAt.toISOString() },
    });
  }
  if (failure.kind === 'transient') {
    return new HeraldError('platform_unreachable', {
      message: `Bluesky could not be reached: the PDS at ${pdsUrl} did not answer (${failure.message})`,
      details: { platform: PLATFORM, pds: pdsUrl },
    });
  }
  // 401 AuthenticationRequired "Invalid identifier or password" (older PDSes: 400), AccountTakedown…
  const status = err instanceof XRPCError ? err.status : isConnectorError(err) ? err.status : undefined;
  return new HeraldError('sign_in_refused', {
    message: `Bluesky refused the sign-in for ${identifier}: ${said}. Check the app password; a revoked one no longer works`,
    details: { platform: PLATFORM, said, ...(status === undefined ? {} : { status }) },
  });
}

/** Display name and avatar from the profile record on the PDS (no AppView needed); nulls when there is none. */
export async function readProfile(
  pdsUrl: string,
  did: string,
  transport: TransportOptions,
): Promise<{ displayName: string | null; avatarUrl: string | null }> {
  try {
    const { data } = await xrpcAgent(pdsUrl, transport).com.atproto.repo.getRecord({
      repo: did,
      collection: PROFILE,
      rkey: 'self',
    });
    const value = data.value as { displayName?: unknown; avatar?: { ref?: { toString(): string } } };
    const cid = value.avatar?.ref?.toString();
    return {
      displayName: typeof value.displayName === 'string' && value.displayName ? value.displayName : null,
      avatarUrl: cid
        ? `${pdsUrl}/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(did)}&cid=${encodeURIComponent(cid)}`
        : null,
    };
  } catch {
    // A profile is optional; its absence (or a failing read) does not stop the connection.
    return { displayName: null, avatarUrl: null };
  }
}
