/**
 * The connect flow. `startConnect` makes a single-use `state` (32 random bytes), keeps what
 * the callback needs in Redis under the state's SHA-256 for 10 minutes (the PKCE verifier and
 * any client secret sealed with the SecretCipher), and returns the platform's authorize URL.
 * `completeConnect` takes the state back atomically (GETDEL: a second use finds nothing),
 * trades the code for tokens, reads the profile and upserts the account — one row per
 * platform account, keeping the stored refresh token when the platform sends no new one.
 * A wrong, reused or expired state, or a refusal by the platform, stores nothing. Platforms
 * that link by signing in (Bluesky app passwords) go through `sign-in.ts` instead.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  HeraldError,
  outboundRefusal,
  type Db,
  type EventBus,
  type Role,
  type SecretCipher,
} from '../../core/index.js';
import { isConnectorError, type AccountLinker, type PasswordLinker } from '../../connectors/index.js';
import type { BlueskyOAuth } from '../../connectors/bluesky/index.js';
import { startBlueskyOAuth } from './bluesky-oauth.js';
import { storeLinkedAccount, type ConnectedView } from './store.js';

export type { ConnectedView } from './store.js';

/** How long a connect link stays valid. */
export const CONNECT_STATE_TTL_MS = 10 * 60_000;

/** One platform as `GET /v1/social-accounts/platforms` shows it. */
export interface PlatformSetup {
  platform: string;
  configured: boolean;
  /** Environment variables still to set, when not configured. */
  set: string[];
  /** Connecting asks which server (Mastodon's instance URL). */
  needsInstanceUrl: boolean;
  /**
   * How accounts are connected: `oauth` (an authorize link, `startConnect`) and/or
   * `app_password` (a handle and an app password, `connectWithPassword`).
   */
  connectWith: Array<'oauth' | 'app_password'>;
}

export interface ConnectDeps {
  db: Db;
  cipher: SecretCipher;
  redis: Redis;
  /** Prefix of the Redis keys holding pending states. */
  keyPrefix: string;
  /** Linkers of the configured platforms, by platform name. */
  linkers: ReadonlyMap<string, AccountLinker>;
  /** Platforms connected by signing in with an app password (Bluesky), by platform name. */
  passwordLinkers?: ReadonlyMap<string, PasswordLinker> | undefined;
  /** Bluesky's OAuth client (`bluesky-oauth.ts`); unset: Bluesky connects with app passwords only. */
  blueskyOAuth?: BlueskyOAuth | undefined;
  platforms: readonly PlatformSetup[];
  events: EventBus | null;
  now?: () => Date;
}

export interface ConnectContext {
  workspaceId: string;
  userId: string | null;
  role: Role;
  /** rest | ws | agent | …; recorded in the audit log. Default `rest`. */
  channel?: string | undefined;
}

interface PendingState {
  platform: string;
  workspaceId: string;
  userId: string | null;
  carry: Record<string, string>;
  secrets: { keyId: string; ciphertext: string };
  expiresAt: string;
}

/**
 * Callback errors that mean the owner declined: OAuth's `access_denied` (RFC 6749 §4.1.2.1),
 * and LinkedIn's own `user_cancelled_login` / `user_cancelled_authorize` (LinkedIn docs,
 * "Authorization Code Flow", failed requests).
 */
const DENIALS = new Set(['access_denied', 'user_cancelled_login', 'user_cancelled_authorize']);
const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };
const hashOf = (state: string) => createHash('sha256').update(state).digest('hex');
const keyOf = (deps: ConnectDeps, hash: string) => `${deps.keyPrefix}:oauth-state:${hash}`;
const aadOf = (hash: string) => `herald/oauth_state/${hash}`;
const nowOf = (deps: ConnectDeps) => deps.now?.() ?? new Date();

export function listPlatforms(deps: Pick<ConnectDeps, 'platforms'>): PlatformSetup[] {
  return deps.platforms.map((p) => ({ ...p, set: [...p.set], connectWith: [...p.connectWith] }));
}

/** The platform's setup; a platform Herald has no connector for is `platform_unsupported`. */
export function setupOf(deps: Pick<ConnectDeps, 'platforms'>, platform: string): PlatformSetup {
  const setup = deps.platforms.find((p) => p.platform === platform);
  if (setup) return setup;
  const supported = deps.platforms.map((p) => p.platform);
  throw new HeraldError('platform_unsupported', {
    message: `Herald cannot connect ${platform} accounts; it connects ${supported.join(', ')}`,
    details: { platform, supported },
  });
}

function linkerFor(deps: ConnectDeps, platform: string): AccountLinker {
  const linker = deps.linkers.get(platform);
  if (linker) return linker;
  const setup = setupOf(deps, platform);
  if (!setup.connectWith.includes('oauth')) {
    throw new HeraldError('validation_failed', {
      message: `${platform} accounts are connected with a handle and an app password, not an authorization link`,
      details: { platform, connectWith: setup.connectWith },
    });
  }
  throw new HeraldError('platform_not_configured', {
    message: `Connecting ${platform} accounts needs ${setup.set.join(', ')} to be set`,
    details: { platform, set: setup.set },
  });
}

/** The platform's refusal in words, never a stack trace. */
function refused(platform: string, err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  const words = isConnectorError(err)
    ? err.message
    : err instanceof Error && err.name === 'TypeError'
      ? err.message
      : 'it could not be reached';
  return new HeraldError('oauth_failed', {
    message: `Connecting the ${platform} account failed: ${words}`,
    details: { platform, ...(isConnectorError(err) && err.platformMessage ? { said: err.platformMessage } : {}) },
  });
}

/**
 * Starts connecting an account (admin): the authorize URL to send the user to. Bluesky, when
 * its OAuth client is configured, goes through `startBlueskyOAuth` (PAR, PKCE, DPoP; `handle`
 * names the account, or the user picks it on Bluesky's page).
 */
export async function startConnect(
  deps: ConnectDeps,
  ctx: ConnectContext,
  input: { platform: string; instanceUrl?: string | undefined; handle?: string | undefined },
): Promise<{ platform: string; authorizeUrl: string; expiresAt: string }> {
  if (RANK[ctx.role] < RANK.admin) {
    throw new HeraldError('forbidden', {
      message: 'Connecting accounts needs the admin role',
      details: { required: 'admin' },
    });
  }
  if (input.platform === 'bluesky' && deps.blueskyOAuth) return startBlueskyOAuth(deps, ctx, { handle: input.handle });
  const linker = linkerFor(deps, input.platform);
  const state = randomBytes(32).toString('base64url');
  const hash = hashOf(state);
  let start;
  try {
    start = await linker.begin({ state, instanceUrl: input.instanceUrl });
  } catch (err) {
    if (err instanceof TypeError) throw new HeraldError('validation_failed', { message: err.message });
    const blocked = outboundRefusal(err);
    if (blocked)
      throw new HeraldError('validation_failed', {
        message: `${input.instanceUrl ?? input.platform}: ${blocked.message}`,
        details: { reason: 'address_refused', range: blocked.range },
      });
    throw refused(input.platform, err);
  }
  const expiresAt = new Date(nowOf(deps).getTime() + CONNECT_STATE_TTL_MS).toISOString();
  const pending: PendingState = {
    platform: input.platform,
    workspaceId: ctx.workspaceId,
    userId: ctx.userId,
    carry: start.carry,
    secrets: deps.cipher.seal(JSON.stringify(start.secrets), aadOf(hash)),
    expiresAt,
  };
  await deps.redis.set(keyOf(deps, hash), JSON.stringify(pending), 'PX', CONNECT_STATE_TTL_MS);
  return { platform: input.platform, authorizeUrl: start.authorizeUrl, expiresAt };
}

export interface CallbackInput {
  state: string;
  code?: string | undefined;
  /** OAuth error sent back instead of a code (e.g. `access_denied`). */
  error?: string | undefined;
  errorDescription?: string | undefined;
}

/** Finishes connecting from the platform's redirect. The state is spent whatever happens. */
export async function completeConnect(deps: ConnectDeps, input: CallbackInput): Promise<ConnectedView> {
  const hash = hashOf(input.state);
  const raw = await deps.redis.getdel(keyOf(deps, hash));
  if (!raw) throw new HeraldError('oauth_state_invalid');
  const pending = JSON.parse(raw) as PendingState;
  if (Date.parse(pending.expiresAt) <= nowOf(deps).getTime()) throw new HeraldError('oauth_state_invalid');
  if (input.error && DENIALS.has(input.error)) {
    // The owner said no: their choice, not a failure.
    throw new HeraldError('oauth_denied', {
      message: `The ${pending.platform} authorization was not granted${input.errorDescription ? `: ${input.errorDescription}` : ''}`,
      details: { platform: pending.platform, said: input.error },
    });
  }
  if (input.error) {
    throw new HeraldError('oauth_failed', {
      message: `The ${pending.platform} authorization was not granted: ${input.errorDescription ?? input.error}`,
      details: { platform: pending.platform, said: input.error },
    });
  }
  if (!input.code) {
    throw new HeraldError('validation_failed', { message: 'The callback carries neither a code nor an error' });
  }
  const linker = linkerFor(deps, pending.platform);
  const secrets = JSON.parse(deps.cipher.open(pending.secrets, aadOf(hash))) as Record<string, string>;
  let linked;
  try {
    linked = await linker.complete({ code: input.code, carry: pending.carry, secrets });
  } catch (err) {
    throw refused(pending.platform, err);
  }

  return storeLinkedAccount(
    deps,
    { workspaceId: pending.workspaceId, userId: pending.userId, channel: 'rest' },
    pending.platform,
    linked,
  );
}
