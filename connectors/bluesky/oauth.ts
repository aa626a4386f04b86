/**
 * Bluesky accounts connected with atproto OAuth (https://atproto.com/specs/oauth), through
 * `@atproto/oauth-client-node`: PAR, PKCE (S256) and DPoP-bound tokens are the library's; Herald
 * gives it the client metadata, the signing key of a confidential client, and stores kept in its
 * own database (`BlueskyOAuthStores`, implemented in `tools/accounts`). Sessions hold the token
 * set and the DPoP private key they are bound to; only the library writes them (at the callback
 * and on each refresh, under `requestLock`), so a rotated refresh token is never overwritten by
 * a stale copy. Publishing uses an `Agent` over the restored `OAuthSession`, whose every request
 * carries a fresh DPoP proof and which refreshes the token itself when it expires.
 *
 * Two kinds of client (docs/connectors.md#bluesky-oauth):
 * - confidential (`private_key_jwt`, ES256): `client_id` is `<PUBLIC_URL>/oauth/bluesky/client-metadata.json`,
 *   its keys at `/oauth/bluesky/jwks.json`. Sessions last up to two years with refresh tokens
 *   good for three months of inactivity, what a scheduler that posts weeks ahead needs;
 * - loopback (development only, public, `token_endpoint_auth_method: none`): `client_id` is
 *   `http://localhost?redirect_uri=…&scope=…`, the redirect `http://127.0.0.1:<port>/…`; the
 *   authorization server fetches nothing, and sessions end after two weeks at most.
 */
import { Agent } from '@atproto/api';
import {
  FetchRequestError,
  JoseKey,
  Keyset,
  NodeOAuthClient,
  OAuthCallbackError,
  OAuthResolverError,
  OAuthResponseError,
  requestLocalLock,
  TokenInvalidError,
  TokenRefreshError,
  TokenRevokedError,
  type NodeSavedSession,
  type NodeSavedSessionStore,
  type NodeOAuthClientOptions,
  type NodeSavedStateStore,
  type OAuthClientMetadataInput,
  type OAuthSession,
  type RuntimeLock,
} from '@atproto/oauth-client-node';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import type { LinkedAccount } from '../connect.js';
import { AuthExpired, isConnectorError, TransientError, type ConnectorError } from '../errors.js';
import { BlueskyClient, type TransportOptions } from './client.js';
import { DEFAULT_TIMEOUT_MS } from './defaults.js';
import { classify, PLATFORM } from './errors.js';
import { guardedFetch } from './identity.js';
import { readProfile } from './link.js';
import { checkFence } from '../fence.js';

/** What Herald asks for: the repository (posts, blobs) of the account; `transition:generic` is what app passwords could do. */
export const OAUTH_SCOPE = 'atproto transition:generic';
export const CLIENT_METADATA_PATH = '/oauth/bluesky/client-metadata.json';
export const JWKS_PATH = '/oauth/bluesky/jwks.json';
export const OAUTH_CALLBACK_PATH = '/oauth/bluesky/callback';
/** Where `authorize` starts when no handle is given: Bluesky's entryway, which asks for the account. */
export const DEFAULT_OAUTH_SERVER = 'https://bsky.social';

/** A Bluesky account connected with OAuth, as `AccountContext.credentials` holds it: its session is stored apart. */
export type BlueskyOAuthCredentials = {
  auth: 'oauth';
  /** The `bluesky_oauth_sessions` row holding the token set and DPoP key. */
  sessionId: string;
  did: string;
  handle: string;
  /** The account's PDS (the tokens' audience). */
  service: string;
};

const oauthCredentialsSchema = z.object({
  auth: z.literal('oauth'),
  sessionId: z.string().min(1),
  did: z.string().regex(/^did:[a-z]+:[a-zA-Z0-9._:%-]+$/),
  handle: z.string().min(1),
  service: z.url({ protocol: /^https?$/ }),
});

export function isOAuthCredentials(raw: Record<string, unknown>): boolean {
  return raw.auth === 'oauth';
}

export function readOAuthCredentials(raw: Record<string, unknown>): BlueskyOAuthCredentials {
  const parsed = oauthCredentialsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AuthExpired('The stored Bluesky OAuth credentials are unusable; reconnect the account', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  return parsed.data;
}

/** Herald's stores behind the library's two key-value stores. */
export interface BlueskyOAuthStores {
  /** Authorizations under way: `set` from `authorize` in `workspaceId`; `get` (single use: it removes) and `del` at the callback. */
  states(workspaceId: string | null): NodeSavedStateStore;
  /** The one stored session `sessionId` names (keyed by the account's DID, as the library asks). */
  session(sessionId: string): NodeSavedSessionStore;
  /** Stores a new session (from a callback) in the workspace; returns its id. */
  createSession(workspaceId: string, did: string, session: NodeSavedSession): Promise<string>;
  /** Forgets a session (reconnected or disconnected account). */
  deleteSession(sessionId: string): Promise<void>;
}

export type BlueskyOAuthClientConfig =
  | {
      kind: 'confidential';
      /** Herald's public https origin (`PUBLIC_URL`). */
      publicUrl: string;
      /** ES256 private keys (PKCS#8 PEM or JWK JSON); the first signs, all are published (rotation). */
      privateKeys: readonly string[];
    }
  | {
      kind: 'loopback';
      /** `http://127.0.0.1:<port>/oauth/bluesky/callback` (or `[::1]`): where this machine's browser reaches Herald. */
      redirectUri: string;
    };

export interface BlueskyOAuthOptions {
  client: BlueskyOAuthClientConfig;
  stores: BlueskyOAuthStores;
  /** Serialises refreshes of one session across processes. Default: within this process only. */
  requestLock?: RuntimeLock | undefined;
  /** PLC directory for `did:plc` documents. Default https://plc.directory. */
  plcUrl?: string | undefined;
  /** An XRPC service answering `com.atproto.identity.resolveHandle`; default: DNS and `/.well-known/atproto-did`. */
  handleResolverUrl?: string | undefined;
  /** Where `authorize` starts without a handle. Default {@link DEFAULT_OAUTH_SERVER}. */
  defaultServer?: string | undefined;
  /** Talk to authorization servers and PDSes over plain http (a local development network). Default false. */
  allowHttp?: boolean | undefined;
  timeoutMs?: number | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/** The OAuth side of Bluesky: client metadata, authorize, callback, and sessions restored for publishing. */
export class BlueskyOAuth {
  readonly clientMetadata: OAuthClientMetadataInput;
  readonly kind: BlueskyOAuthClientConfig['kind'];
  readonly #options: BlueskyOAuthOptions;
  readonly #keyset: Keyset | undefined;
  readonly #transport: TransportOptions;
  readonly #fetch: typeof globalThis.fetch;

  private constructor(options: BlueskyOAuthOptions, metadata: OAuthClientMetadataInput, keyset: Keyset | undefined) {
    this.#options = options;
    this.clientMetadata = metadata;
    this.kind = options.client.kind;
    this.#keyset = keyset;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // Handles, DID documents, the PDS and its authorization server are all named by the user's
    // identity: every request goes through the outbound guard unless a fetch is given.
    const base = options.fetch ?? guardedFetch;
    this.#fetch = (input, init) => {
      const timeout = AbortSignal.timeout(timeoutMs);
      return base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
    };
    this.#transport = { timeoutMs, fetch: base, allowHttpPds: options.allowHttp === true };
  }

  /** Checks the configuration and loads the keys; a bad key or URL is `config_invalid`. */
  static async create(options: BlueskyOAuthOptions): Promise<BlueskyOAuth> {
    const c = options.client;
    if (c.kind === 'loopback') {
      const url = URL.canParse(c.redirectUri) ? new URL(c.redirectUri) : null;
      if (!url || url.protocol !== 'http:' || !['127.0.0.1', '[::1]'].includes(url.hostname)) {
        throw configInvalid(
          `the loopback redirect URI must be http://127.0.0.1:<port>${OAUTH_CALLBACK_PATH} (atproto loopback clients), not ${c.redirectUri}`,
        );
      }
      const clientId = `http://localhost?${new URLSearchParams({ redirect_uri: c.redirectUri, scope: OAUTH_SCOPE })}`;
      return new BlueskyOAuth(
        options,
        {
          client_id: clientId,
          redirect_uris: [c.redirectUri as `http://127.0.0.1:${string}`],
          scope: OAUTH_SCOPE,
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          dpop_bound_access_tokens: true,
        },
        undefined,
      );
    }
    const origin = URL.canParse(c.publicUrl) ? new URL(c.publicUrl) : null;
    if (!origin || origin.protocol !== 'https:') {
      throw configInvalid(
        `a confidential client needs PUBLIC_URL on https (the client_id must be an https URL), not ${c.publicUrl}`,
      );
    }
    if (c.privateKeys.length === 0) throw configInvalid('a confidential client needs a private key');
    const keys = await Promise.all(
      c.privateKeys.map(async (k, i) => {
        try {
          return await JoseKey.fromImportable(k.trim(), `herald-${i + 1}`);
        } catch (err) {
          throw configInvalid(`BLUESKY_OAUTH_KEY key ${i + 1} cannot be read (${(err as Error).message})`);
        }
      }),
    );
    for (const [i, k] of keys.entries()) {
      if (!k.isPrivate || !k.algorithms.includes('ES256')) {
        throw configInvalid(`BLUESKY_OAUTH_KEY key ${i + 1} must be a private ES256 (P-256) key`);
      }
    }
    const base = origin.origin + origin.pathname.replace(/\/+$/, '');
    return new BlueskyOAuth(
      options,
      {
        client_id: `${base}${CLIENT_METADATA_PATH}`,
        client_name: 'Herald',
        client_uri: base,
        redirect_uris: [`${base}${OAUTH_CALLBACK_PATH}` as `https://${string}`],
        scope: OAUTH_SCOPE,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        application_type: 'web',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        dpop_bound_access_tokens: true,
        jwks_uri: `${base}${JWKS_PATH}` as `https://${string}`,
      },
      new Keyset(keys),
    );
  }

  /** The public keys a confidential client publishes at `jwks_uri`; null for a loopback client. */
  get jwks(): { keys: readonly unknown[] } | null {
    return this.#keyset ? this.#keyset.publicJwks : null;
  }

  /**
   * PAR with PKCE and a fresh DPoP key at the account's authorization server (found from the
   * handle's PDS, or `defaultServer` without one); the state is kept in `workspaceId`.
   * Returns the URL to send the user to.
   */
  async authorize(input: { workspaceId: string; handle?: string | undefined; appState: string }): Promise<string> {
    const client = this.#client(this.#options.stores.states(input.workspaceId), emptySessions());
    const target = input.handle?.trim().replace(/^@/, '') || (this.#options.defaultServer ?? DEFAULT_OAUTH_SERVER);
    try {
      const url = await client.authorize(target, { state: input.appState, scope: OAUTH_SCOPE });
      return url.href;
    } catch (err) {
      throw authorizeFailure(target, err);
    }
  }

  /**
   * The authorization server's redirect back: the state is spent, the code traded (with the
   * PKCE verifier, DPoP, and the client assertion of a confidential client), the session stored
   * by `createSession` in the workspace `workspaceOf(appState)` names, and the account read.
   */
  async callback(
    params: URLSearchParams,
    workspaceOf: (appState: string | null) => string,
  ): Promise<{ appState: string | null; linked: LinkedAccount }> {
    const captured = capturingSessions();
    const client = this.#client(this.#options.stores.states(null), captured.store);
    let session: OAuthSession;
    let appState: string | null;
    try {
      ({ session, state: appState } = await client.callback(params));
    } catch (err) {
      throw callbackFailure(err);
    }
    const saved = captured.saved.get(session.did);
    if (!saved) throw new HeraldError('oauth_failed', { message: 'The Bluesky session was not kept' });
    const info = await session.getTokenInfo(false);
    // The tokens' audience is the account's PDS (the resource server the library found from its DID document).
    const service = new URL(info.aud).origin;
    const workspaceId = workspaceOf(appState);
    const sessionId = await this.#options.stores.createSession(workspaceId, session.did, saved);
    const agent = new Agent(session);
    let handle: string = session.did;
    try {
      const { data } = await agent.com.atproto.repo.describeRepo({ repo: session.did });
      handle = data.handle;
    } catch {
      // The handle is for display; the DID is the account.
    }
    const profile = await readProfile(service, session.did, this.#transport);
    const credentials: BlueskyOAuthCredentials = { auth: 'oauth', sessionId, did: session.did, handle, service };
    return {
      appState,
      linked: {
        externalId: session.did,
        handle,
        displayName: profile.displayName,
        avatarUrl: profile.avatarUrl,
        credentials,
        expiresAt: info.expiresAt ?? null,
        scopes: info.scope.split(' '),
        metadata: { pds: service, auth: 'oauth' },
      },
    };
  }

  /** A client acting as the account through its OAuth session (DPoP-bound `Agent`); refreshes the token when due. */
  async clientFor(credentials: BlueskyOAuthCredentials): Promise<BlueskyClient> {
    const session = await this.#restore(credentials, 'auto');
    return new BlueskyClient(
      { did: credentials.did, handle: credentials.handle, service: credentials.service },
      this.#transport,
      new Agent({
        did: session.did,
        // A write for an attempt another worker has taken over never leaves (connectors/fence.ts).
        fetchHandler: async (url: string, init: RequestInit) => {
          await checkFence(init.method);
          return session.fetchHandler(url, init);
        },
      }),
    );
  }

  /** Refreshes the session now (through the library, under the lock); when the new access token expires. */
  async refresh(credentials: BlueskyOAuthCredentials): Promise<{ expiresAt: Date | null }> {
    const session = await this.#restore(credentials, true);
    const info = await session.getTokenInfo(false);
    return { expiresAt: info.expiresAt ?? null };
  }

  /** Revokes the tokens at the authorization server and forgets the session. */
  async revoke(credentials: BlueskyOAuthCredentials): Promise<void> {
    try {
      const session = await this.#restore(credentials, false);
      await session.signOut();
    } catch (err) {
      // A session that is already gone has nothing left to revoke.
      if (!(isConnectorError(err) && err instanceof AuthExpired)) throw err;
    } finally {
      await this.#options.stores.deleteSession(credentials.sessionId);
    }
  }

  async #restore(credentials: BlueskyOAuthCredentials, refresh: boolean | 'auto'): Promise<OAuthSession> {
    const client = this.#client(this.#options.stores.states(null), this.#options.stores.session(credentials.sessionId));
    try {
      return await client.restore(credentials.did, refresh);
    } catch (err) {
      throw sessionFailure(err, this.#transport.timeoutMs);
    }
  }

  #client(stateStore: NodeSavedStateStore, sessionStore: NodeSavedSessionStore): NodeOAuthClient {
    const o = this.#options;
    return new NodeOAuthClient({
      clientMetadata: this.clientMetadata,
      ...(this.#keyset ? { keyset: this.#keyset } : {}),
      stateStore,
      sessionStore,
      requestLock: o.requestLock ?? requestLocalLock,
      fetch: this.#fetch,
      allowHttp: o.allowHttp === true,
      ...(o.plcUrl ? { plcDirectoryUrl: o.plcUrl } : {}),
      ...(o.handleResolverUrl ? { handleResolver: o.handleResolverUrl } : {}),
      ...SHARED_CACHES,
    });
  }
}

/**
 * Caches every client shares (a client is made per call, around one session's store): DID
 * documents, handles, server metadata and DPoP nonces, each for a short while.
 */
const SHARED_CACHES: Pick<
  NodeOAuthClientOptions,
  'didCache' | 'handleCache' | 'authorizationServerMetadataCache' | 'protectedResourceMetadataCache' | 'dpopNonceCache'
> = {
  didCache: ttlStore(5 * 60_000),
  handleCache: ttlStore(5 * 60_000),
  authorizationServerMetadataCache: ttlStore(10 * 60_000),
  protectedResourceMetadataCache: ttlStore(10 * 60_000),
  dpopNonceCache: ttlStore(3 * 60_000),
};

/** A bounded in-memory key-value store whose entries expire (the library's `SimpleStore`). */
function ttlStore<K extends string, V>(ttlMs: number, max = 10_000) {
  const entries = new Map<K, { value: V; until: number }>();
  return {
    get(key: K): V | undefined {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.until < Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return hit.value;
    },
    set(key: K, value: V): void {
      entries.delete(key);
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(key, { value, until: Date.now() + ttlMs });
    },
    del(key: K): void {
      entries.delete(key);
    },
    clear(): void {
      entries.clear();
    },
  };
}

/** For `authorize`: no session is read or written. */
function emptySessions(): NodeSavedSessionStore {
  return { get: () => undefined, set: () => undefined, del: () => undefined };
}

/** For the callback: the new session is held until Herald knows which workspace stores it. */
function capturingSessions() {
  const saved = new Map<string, NodeSavedSession>();
  const store: NodeSavedSessionStore = {
    get: (sub) => saved.get(sub),
    set: (sub, value) => void saved.set(sub, value),
    del: (sub) => void saved.delete(sub),
  };
  return { saved, store };
}

function configInvalid(message: string): HeraldError {
  return new HeraldError('config_invalid', { message: `Bluesky OAuth: ${message}` });
}

/** Why `authorize` could not start: the handle, its server, or the network. */
function authorizeFailure(target: string, err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  const said = err instanceof Error ? err.message : String(err);
  if (err instanceof OAuthResolverError) {
    // The handle or DID does not resolve, or its PDS names no authorization server.
    return new HeraldError('handle_unresolved', {
      message: `Bluesky OAuth cannot start for ${target}: ${said}`,
      details: { identifier: target },
    });
  }
  if (err instanceof TypeError) {
    return new HeraldError('validation_failed', {
      message: `"${target}" is not a Bluesky handle, DID or server URL (${said})`,
      details: { field: 'handle' },
    });
  }
  if (err instanceof FetchRequestError || (err instanceof OAuthResponseError && err.status >= 500)) {
    return new HeraldError('platform_unreachable', {
      message: `Bluesky could not be reached to start the authorization for ${target} (${said})`,
      details: { platform: PLATFORM },
    });
  }
  return new HeraldError('oauth_failed', {
    message: `The Bluesky authorization server refused to start the authorization for ${target}: ${said}`,
    details: { platform: PLATFORM },
  });
}

/** Callback errors that mean the owner declined (RFC 6749 §4.1.2.1). */
const DENIALS = new Set(['access_denied']);

function callbackFailure(err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  if (err instanceof OAuthCallbackError) {
    const error = err.params.get('error');
    if (error) {
      const description = err.params.get('error_description');
      return new HeraldError(DENIALS.has(error) ? 'oauth_denied' : 'oauth_failed', {
        message: `The Bluesky authorization was not granted${description ? `: ${description}` : ` (${error})`}`,
        details: { platform: PLATFORM, said: error },
      });
    }
    if (/unknown authorization session|missing "state"/i.test(err.message))
      return new HeraldError('oauth_state_invalid');
    const cause = err.cause;
    const said = cause instanceof Error ? cause.message : err.message;
    return new HeraldError('oauth_failed', {
      message: `Connecting the Bluesky account failed: ${said}`,
      details: { platform: PLATFORM, said },
    });
  }
  return new HeraldError('oauth_failed', {
    message: `Connecting the Bluesky account failed: ${err instanceof Error ? err.message : String(err)}`,
    details: { platform: PLATFORM },
  });
}

/**
 * A session that cannot be restored or refreshed: revoked, expired or deleted (the library
 * removes it from the store itself) means reconnecting; the network or a 5xx is transient.
 */
export function sessionFailure(err: unknown, timeoutMs: number): ConnectorError {
  if (isConnectorError(err)) return err;
  if (err instanceof TokenRefreshError || err instanceof TokenRevokedError || err instanceof TokenInvalidError) {
    const said = err.message;
    return new AuthExpired(`The Bluesky OAuth session has ended (${said}); reconnect the account`, {
      platform: PLATFORM,
      platformMessage: said,
      reconnect: true,
      cause: err,
    });
  }
  if (err instanceof OAuthResponseError) {
    if (err.status >= 500 || err.status === 429) {
      return new TransientError(`The Bluesky authorization server answered ${err.status} (${err.error})`, {
        platform: PLATFORM,
        status: err.status,
        cause: err,
      });
    }
    return new AuthExpired(`The Bluesky authorization server refused the session (${err.error})`, {
      platform: PLATFORM,
      status: err.status,
      platformMessage: err.errorDescription ?? err.error,
      reconnect: true,
      cause: err,
    });
  }
  if (err instanceof FetchRequestError || err instanceof OAuthResolverError) {
    return new TransientError(`Bluesky could not be reached to restore the session (${err.message})`, {
      platform: PLATFORM,
      cause: err,
    });
  }
  return classify(err, { timeoutMs });
}
