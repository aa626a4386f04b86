/**
 * Transport and auth for Bluesky: the few XRPC calls the connector makes, each bounded by a
 * timeout and each failure classified. A client is built per call from the credentials the
 * caller stores, and it never refreshes a session on its own: an expired access token surfaces
 * as `AuthExpired`, and `renewSession` returns the new tokens for the caller to persist (the
 * PDS rotates refresh tokens, so tokens refreshed and then dropped would end the session).
 *
 * Sessions are app-password sessions (`com.atproto.server.createSession`) or OAuth sessions
 * (`oauth.ts`): those bind every request to a DPoP key, so the client then writes through the
 * `Agent` built over the restored `OAuthSession` that it is handed, and `renewSession` is not
 * used for them (the OAuth library refreshes and stores its own tokens).
 *
 * Every call goes to the account's PDS (`credentials.service`), found from its DID document
 * when the account was connected and updated from the DID document each session renewal
 * returns, so an account stored against an entryway (bsky.social) or moved to another PDS is
 * called where it lives (https://docs.bsky.app/docs/advanced-guides/entryway).
 */
import { Agent, type AppBskyFeedDefs, type BlobRef, XRPCError } from '@atproto/api';
import { z } from 'zod';
import type { Credentials } from '../contract.js';
import { AuthExpired, PermanentError } from '../errors.js';
import { classify, type ClassifyContext, isRecordNotFound, PLATFORM } from './errors.js';
import { pdsOf } from './identity.js';
import { checkFence } from '../fence.js';

/**
 * What Herald stores for a Bluesky account (`AccountContext.credentials`).
 * - `service`: base URL of the account's PDS, or `https://bsky.social` (the entryway) for
 *   Bluesky-hosted accounts; every call and every refresh goes there;
 * - `did`, `handle`: the account, as the last session reported it;
 * - `accessJwt`, `refreshJwt`: the session (access lives about 2 hours, refresh 90 days; the
 *   PDS rotates the refresh token on every refresh);
 * - `appPassword` (optional): an app password (Settings → App passwords). When stored,
 *   `renewSession` starts a new session with it once the refresh token is expired or revoked,
 *   instead of asking the user to reconnect. Never the account's main password.
 */
export type BlueskyCredentials = {
  service: string;
  did: string;
  handle: string;
  accessJwt: string;
  refreshJwt: string;
  appPassword?: string;
};

/** Who a client acts as and where: all a read, a post URL or a record key check needs. */
export type BlueskyIdentity = Pick<BlueskyCredentials, 'service' | 'did' | 'handle'>;

const credentialsSchema = z.object({
  service: z.url({ protocol: /^https?$/ }),
  did: z.string().regex(/^did:[a-z]+:[a-zA-Z0-9._:%-]+$/),
  handle: z.string().min(1),
  accessJwt: z.string().min(1),
  refreshJwt: z.string().min(1),
  appPassword: z.string().min(1).optional(),
});

/** Reads stored credentials; incomplete ones mean the account has to be connected again. */
export function readCredentials(raw: Credentials): BlueskyCredentials {
  const parsed = credentialsSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new AuthExpired(`The stored Bluesky credentials are unusable (${fields}); reconnect the account`, {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  return parsed.data;
}

export interface TransportOptions {
  /** Each request (including reading its answer) is abandoned after this many milliseconds. */
  timeoutMs: number;
  fetch: typeof globalThis.fetch;
  /** Follow a DID document to a PDS served over plain http (a local development network). */
  allowHttpPds?: boolean;
}

/** A record as the PDS holds it. */
export interface StoredRecord {
  uri: string;
  cid: string;
  value: Record<string, unknown>;
}

export type PostCounts = Pick<AppBskyFeedDefs.PostView, 'likeCount' | 'repostCount' | 'replyCount' | 'quoteCount'>;

export const POST_COLLECTION = 'app.bsky.feed.post';

/**
 * The calls the connector makes as one account, against that account's PDS. Writes carry the
 * access token; reads of public data (records, handles) go without it, so looking up what an
 * earlier publish left behind still works while the session is being renewed.
 */
export class BlueskyClient {
  /** Who the client acts as, and the PDS it calls. */
  readonly credentials: BlueskyIdentity;
  readonly #agent: Agent;
  readonly #reader: Agent;
  readonly #transport: TransportOptions;

  /** With app-password credentials the client writes with their access token; an OAuth session brings its own `writer`. */
  constructor(credentials: BlueskyCredentials, transport: TransportOptions);
  constructor(credentials: BlueskyIdentity, transport: TransportOptions, writer: Agent);
  constructor(credentials: BlueskyIdentity & Partial<BlueskyCredentials>, transport: TransportOptions, writer?: Agent) {
    this.credentials = { service: credentials.service, did: credentials.did, handle: credentials.handle };
    this.#transport = transport;
    this.#agent = writer ?? xrpcAgent(credentials.service, transport, credentials.accessJwt, credentials.did);
    this.#reader = xrpcAgent(credentials.service, transport);
  }

  /** Creates a post under a chosen record key. A key already in use fails (the PDS answers 500). */
  async createPost(rkey: string, record: Record<string, unknown>): Promise<{ uri: string; cid: string }> {
    const res = await this.#call({ write: true }, () =>
      this.#agent.com.atproto.repo.createRecord({
        repo: this.credentials.did,
        collection: POST_COLLECTION,
        rkey,
        record,
        validate: true,
      }),
    );
    return { uri: res.data.uri, cid: res.data.cid };
  }

  /** The post under this record key, or null when the key holds nothing. */
  async getPost(rkey: string, repo = this.credentials.did): Promise<StoredRecord | null> {
    let found: { uri: string; cid?: string; value: Record<string, unknown> };
    try {
      found = (await this.#reader.com.atproto.repo.getRecord({ repo, collection: POST_COLLECTION, rkey })).data;
    } catch (err) {
      if (isRecordNotFound(err)) return null;
      throw classify(err, { timeoutMs: this.#transport.timeoutMs });
    }
    // The lexicon makes `cid` optional; a PDS always sends it, and replies cannot be built without it.
    if (!found.cid)
      throw new PermanentError(`The PDS answered getRecord for ${found.uri} without a cid`, { platform: PLATFORM });
    return { uri: found.uri, cid: found.cid, value: found.value };
  }

  /** Deletes the post under this record key; deleting an absent record succeeds. */
  async deletePost(rkey: string): Promise<void> {
    await this.#call({ write: true }, () =>
      this.#agent.com.atproto.repo.deleteRecord({ repo: this.credentials.did, collection: POST_COLLECTION, rkey }),
    );
  }

  async uploadBlob(bytes: Uint8Array, mimeType: string): Promise<BlobRef> {
    const res = await this.#call({ write: true }, () =>
      this.#agent.com.atproto.repo.uploadBlob(bytes, { encoding: mimeType }),
    );
    return res.data.blob;
  }

  /** The DID behind a handle, or null when the handle does not resolve. */
  async resolveHandle(handle: string): Promise<string | null> {
    try {
      const res = await this.#reader.com.atproto.identity.resolveHandle({ handle });
      return res.data.did;
    } catch (err) {
      // The PDS answers 400 ("Unable to resolve handle", or HandleNotFound) for unknown handles.
      if (err instanceof XRPCError && err.status === 400) return null;
      throw classify(err, { timeoutMs: this.#transport.timeoutMs });
    }
  }

  async #call<T>(ctx: ClassifyContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classify(err, { ...ctx, timeoutMs: this.#transport.timeoutMs });
    }
  }
}

/** Like, repost, reply and quote counts of one post, read from an AppView without auth; null if it does not know the post. */
export async function getPostCounts(
  appViewUrl: string,
  uri: string,
  transport: TransportOptions,
): Promise<PostCounts | null> {
  const agent = xrpcAgent(appViewUrl, transport);
  try {
    const res = await agent.app.bsky.feed.getPosts({ uris: [uri] });
    return res.data.posts.find((p) => p.uri === uri) ?? null;
  } catch (err) {
    throw classify(err, { timeoutMs: transport.timeoutMs });
  }
}

/** An account's audience as an AppView counts it (`app.bsky.actor.getProfile`). */
export type ProfileCounts = { followersCount?: number; followsCount?: number; postsCount?: number };

/**
 * Followers, follows and posts of one account, read from an AppView without auth; null when the
 * AppView does not know the account (not indexed yet). A PDS does not count followers: the
 * follow graph lives in the AppView, and a PDS without one answers `getProfile` 501
 * MethodNotImplemented (it only proxies `app.bsky.*` to its configured AppView).
 */
export async function getProfileCounts(
  appViewUrl: string,
  did: string,
  transport: TransportOptions,
): Promise<ProfileCounts | null> {
  const agent = xrpcAgent(appViewUrl, transport);
  try {
    const res = await agent.app.bsky.actor.getProfile({ actor: did });
    return res.data;
  } catch (err) {
    // An actor the AppView has not indexed: 400 InvalidRequest "Profile not found".
    if (err instanceof XRPCError && err.status === 400 && /profile not found/i.test(err.message)) return null;
    throw classify(err, { timeoutMs: transport.timeoutMs });
  }
}

export interface RenewedSession {
  credentials: BlueskyCredentials;
  /** When the new access token expires (from its `exp` claim). */
  expiresAt: Date | null;
}

/**
 * New session tokens: `refreshSession` with the refresh token; when that token is expired or
 * revoked, `createSession` with the stored app password; without one, `AuthExpired` with
 * `reconnect: true`.
 */
export async function renewSession(
  credentials: BlueskyCredentials,
  transport: TransportOptions,
): Promise<RenewedSession> {
  const ctx = { session: true, timeoutMs: transport.timeoutMs };
  try {
    const agent = xrpcAgent(credentials.service, transport, credentials.refreshJwt);
    const res = await agent.com.atproto.server.refreshSession();
    return renewed(credentials, res.data, transport);
  } catch (err) {
    const failure = classify(err, ctx);
    if (!(failure instanceof AuthExpired) || !failure.reconnect) throw failure;
    if (!credentials.appPassword) {
      throw new AuthExpired(
        `The Bluesky session has ended (${failure.platformMessage ?? 'refresh refused'}) and no app password is stored; reconnect the account`,
        {
          platform: PLATFORM,
          status: failure.status,
          platformMessage: failure.platformMessage,
          reconnect: true,
          cause: err,
        },
      );
    }
  }
  try {
    const agent = xrpcAgent(credentials.service, transport);
    const res = await agent.com.atproto.server.createSession({
      identifier: credentials.did,
      password: credentials.appPassword,
    });
    return renewed(credentials, res.data, transport);
  } catch (err) {
    throw classify(err, ctx);
  }
}

function renewed(
  previous: BlueskyCredentials,
  session: { did: string; handle: string; accessJwt: string; refreshJwt: string; didDoc?: unknown },
  transport: TransportOptions,
): RenewedSession {
  // The session's DID document names the PDS the account lives on now (as @atproto/api's
  // AtpAgent reads it); a document about another DID, or without a usable PDS, changes nothing.
  const doc = session.didDoc as { id?: unknown } | undefined;
  const pds = doc?.id === session.did ? pdsOf(doc, { allowHttpPds: transport.allowHttpPds === true }) : null;
  return {
    credentials: {
      ...previous,
      service: pds ?? previous.service,
      did: session.did,
      handle: session.handle,
      accessJwt: session.accessJwt,
      refreshJwt: session.refreshJwt,
    },
    expiresAt: jwtExpiry(session.accessJwt),
  };
}

/** The `exp` claim of a JWT (read, not verified: the PDS verifies its own tokens). */
export function jwtExpiry(jwt: string): Date | null {
  const { exp } = jwtClaims(jwt);
  return typeof exp === 'number' ? new Date(exp * 1000) : null;
}

/** A JWT's claims, read without verifying (the PDS verifies its own tokens); empty when unreadable. */
export function jwtClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * An XRPC agent whose every request goes to `service`, carries `bearer` when given and is
 * abandoned after the timeout. It holds no session, so it cannot refresh one behind our back.
 */
export function xrpcAgent(service: string, transport: TransportOptions, bearer?: string, did?: string): Agent {
  return new Agent({
    did,
    async fetchHandler(path: string, init: RequestInit): Promise<Response> {
      // A write for an attempt another worker has taken over never leaves (connectors/fence.ts).
      await checkFence(init.method);
      const headers = new Headers(init.headers);
      if (bearer !== undefined) headers.set('authorization', `Bearer ${bearer}`);
      const timeout = AbortSignal.timeout(transport.timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      return transport.fetch(new URL(path, service), { ...init, headers, signal });
    },
  });
}
