/**
 * Connecting Bluesky accounts with atproto OAuth, and the stores behind it. `startBlueskyOAuth`
 * (admin) asks the connector's OAuth client for an authorization URL (PAR, PKCE, DPoP) and keeps
 * the library's state in `bluesky_oauth_states`; `completeBlueskyOAuth` runs at the callback:
 * the state is taken back once (a `DELETE … RETURNING`: a second use finds nothing), the code
 * traded, the session stored in `bluesky_oauth_sessions` and the account upserted like every
 * other connection (`storeLinkedAccount`: audit, `account.status`). State and session are
 * sealed with the SecretCipher, bound to their key (state) or to workspace and id (session);
 * the account's own sealed credentials only name its session.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { and, eq, lt } from 'drizzle-orm';
import { HeraldError, readCredentials, requireRole, schema, type Db, type SecretCipher } from '../../core/index.js';
import {
  isOAuthCredentials,
  readOAuthCredentials,
  type BlueskyOAuth,
  type BlueskyOAuthStores,
} from '../../connectors/bluesky/index.js';
import type { ConnectContext, ConnectDeps } from './connect.js';
import { storeLinkedAccount, type ConnectedView } from './store.js';

/** How long an authorization may take, from the authorize URL to the callback (the library suggests at most an hour). */
export const BLUESKY_OAUTH_STATE_TTL_MS = 10 * 60_000;

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex');
const stateAad = (hash: string) => `herald/bluesky_oauth_state/${hash}`;
const sessionAad = (workspaceId: string, id: string) => `herald/bluesky_oauth_session/${workspaceId}/${id}`;

/** Herald's database behind `@atproto/oauth-client`'s state and session stores. */
export function createBlueskyOAuthStores(deps: { db: Db; cipher: SecretCipher; now?: () => Date }): BlueskyOAuthStores {
  const { db, cipher } = deps;
  const now = () => deps.now?.() ?? new Date();
  const st = schema.blueskyOauthStates;
  const ss = schema.blueskyOauthSessions;
  return {
    states(workspaceId) {
      return {
        async set(key, value) {
          if (!workspaceId) throw new Error('A Bluesky OAuth state is only kept for a workspace');
          const hash = hashOf(key);
          const sealed = cipher.seal(JSON.stringify(value), stateAad(hash));
          // Expired states go as new ones come: nothing else needs them.
          await db.delete(st).where(and(eq(st.workspaceId, workspaceId), lt(st.expiresAt, now())));
          await db.insert(st).values({
            keyHash: hash,
            workspaceId,
            stateCiphertext: sealed.ciphertext,
            stateKeyId: sealed.keyId,
            expiresAt: new Date(now().getTime() + BLUESKY_OAUTH_STATE_TTL_MS),
          });
        },
        async get(key) {
          const hash = hashOf(key);
          // Taken, not read: a state works once, whatever happens next.
          const [row] = await db.delete(st).where(eq(st.keyHash, hash)).returning();
          if (!row || row.expiresAt.getTime() <= now().getTime()) return undefined;
          return JSON.parse(cipher.open({ keyId: row.stateKeyId, ciphertext: row.stateCiphertext }, stateAad(hash)));
        },
        async del(key) {
          await db.delete(st).where(eq(st.keyHash, hashOf(key)));
        },
      };
    },

    session(sessionId) {
      return {
        async get(sub) {
          const [row] = await db.select().from(ss).where(eq(ss.id, sessionId));
          if (!row || row.did !== sub) return undefined;
          return JSON.parse(
            cipher.open(
              { keyId: row.sessionKeyId, ciphertext: row.sessionCiphertext },
              sessionAad(row.workspaceId, row.id),
            ),
          );
        },
        async set(sub, value) {
          const [row] = await db
            .select({ workspaceId: ss.workspaceId, did: ss.did })
            .from(ss)
            .where(eq(ss.id, sessionId));
          // A session forgotten meanwhile (the account was disconnected) is not brought back.
          if (!row || row.did !== sub) return;
          const sealed = cipher.seal(JSON.stringify(value), sessionAad(row.workspaceId, sessionId));
          await db
            .update(ss)
            .set({
              sessionCiphertext: sealed.ciphertext,
              sessionKeyId: sealed.keyId,
              expiresAt: expiryOf(value),
              updatedAt: now(),
            })
            .where(eq(ss.id, sessionId));
        },
        async del() {
          await db.delete(ss).where(eq(ss.id, sessionId));
        },
      };
    },

    async createSession(workspaceId, did, session) {
      const id = randomUUID();
      const sealed = cipher.seal(JSON.stringify(session), sessionAad(workspaceId, id));
      await db.insert(ss).values({
        id,
        workspaceId,
        did,
        sessionCiphertext: sealed.ciphertext,
        sessionKeyId: sealed.keyId,
        expiresAt: expiryOf(session),
      });
      return id;
    },

    async deleteSession(sessionId) {
      await db.delete(ss).where(eq(ss.id, sessionId));
    },
  };
}

function expiryOf(session: { tokenSet?: { expires_at?: string | undefined } }): Date | null {
  const at = session.tokenSet?.expires_at;
  return at && !Number.isNaN(Date.parse(at)) ? new Date(at) : null;
}

/**
 * `@atproto/oauth-client`'s `requestLock` over Redis: one refresh of a session at a time across
 * every Herald process (refresh tokens rotate; two refreshes with one token end the session).
 * Held at most `leaseMs`; waiters poll.
 */
export function redisRequestLock(redis: Redis, prefix: string, leaseMs = 45_000) {
  return async <T>(name: string, fn: () => T | PromiseLike<T>): Promise<T> => {
    const key = `${prefix}:bluesky-oauth-lock:${name}`;
    const holder = randomBytes(12).toString('hex');
    const deadline = Date.now() + leaseMs;
    while ((await redis.set(key, holder, 'PX', leaseMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new Error(`The Bluesky session lock ${name} stayed taken for ${leaseMs} ms`);
      await new Promise((r) => setTimeout(r, 25 + Math.floor(Math.random() * 50)));
    }
    try {
      return await fn();
    } finally {
      // Released only by its holder (a lease that ran out may belong to someone else now).
      await redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
        1,
        key,
        holder,
      );
    }
  };
}

interface AppState {
  w: string;
  u: string | null;
  c: string;
}

function oauthOf(deps: Pick<ConnectDeps, 'blueskyOAuth'>): BlueskyOAuth {
  if (deps.blueskyOAuth) return deps.blueskyOAuth;
  throw new HeraldError('platform_not_configured', {
    message:
      'Connecting Bluesky with OAuth needs BLUESKY_OAUTH_KEY and an https PUBLIC_URL (or, in development, no PUBLIC_URL: a loopback client); an app password works without',
    details: { platform: 'bluesky', set: ['BLUESKY_OAUTH_KEY', 'PUBLIC_URL'] },
  });
}

/** Starts connecting a Bluesky account with OAuth (admin): the URL of its authorization server's page. */
export async function startBlueskyOAuth(
  deps: ConnectDeps,
  ctx: ConnectContext,
  input: { handle?: string | undefined },
): Promise<{ platform: string; authorizeUrl: string; expiresAt: string }> {
  requireRole(ctx, 'admin');
  const oauth = oauthOf(deps);
  const appState: AppState = { w: ctx.workspaceId, u: ctx.userId, c: ctx.channel ?? 'rest' };
  const authorizeUrl = await oauth.authorize({
    workspaceId: ctx.workspaceId,
    handle: input.handle,
    appState: JSON.stringify(appState),
  });
  const expiresAt = new Date((deps.now?.() ?? new Date()).getTime() + BLUESKY_OAUTH_STATE_TTL_MS).toISOString();
  return { platform: 'bluesky', authorizeUrl, expiresAt };
}

/**
 * Finishes connecting from the authorization server's redirect (`/oauth/bluesky/callback`,
 * every query parameter as sent: `state`, `iss`, `code` or `error`). Reconnecting the same
 * account in the workspace replaces its session (the old one is revoked) and keeps its row.
 */
export async function completeBlueskyOAuth(deps: ConnectDeps, params: URLSearchParams): Promise<ConnectedView> {
  const oauth = oauthOf(deps);
  let state: AppState | undefined;
  const { linked } = await oauth.callback(params, (raw) => {
    state = parseAppState(raw);
    return state.w;
  });
  const { w: workspaceId, u: userId, c: channel } = state!;
  const previous = await previousOAuthSession(deps, workspaceId, linked.externalId);
  const connected = await storeLinkedAccount(deps, { workspaceId, userId, channel }, 'bluesky', linked);
  // The session it replaces ends at the authorization server and here (best effort).
  if (previous) await oauth.revoke(previous).catch(() => undefined);
  return connected;
}

function parseAppState(raw: string | null): AppState {
  try {
    const v = JSON.parse(raw ?? '') as Partial<AppState>;
    if (typeof v.w === 'string' && typeof v.c === 'string' && (typeof v.u === 'string' || v.u === null)) {
      return { w: v.w, u: v.u, c: v.c };
    }
  } catch {
    // fall through
  }
  throw new HeraldError('oauth_state_invalid');
}

async function previousOAuthSession(deps: ConnectDeps, workspaceId: string, did: string) {
  const a = schema.socialAccounts;
  const [row] = await deps.db
    .select({ id: a.id })
    .from(a)
    .where(and(eq(a.workspaceId, workspaceId), eq(a.platform, 'bluesky'), eq(a.externalId, did)));
  if (!row) return null;
  const credentials = await readCredentials(deps.db, deps.cipher, workspaceId, row.id).catch(() => undefined);
  return credentials && isOAuthCredentials(credentials) ? readOAuthCredentials(credentials) : null;
}
