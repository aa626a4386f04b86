/**
 * The Bluesky connector: publishes posts and threads to an account's PDS as
 * `app.bsky.feed.post` records, exactly once per idempotency key (each part's record key is
 * derived from it), looks them up, deletes them, renews app-password sessions and reads
 * engagement counts from an AppView. Stateless: every call brings the account's credentials
 * (`BlueskyCredentials` in `client.ts`), or for an account connected with OAuth the id of its
 * session, which `options.oauth` restores (`oauth.ts`: a DPoP-bound `Agent`, refreshed by the library).
 */
import { HeraldError } from '../../core/index.js';
import type { AccountContext, AccountStats, Connector, Draft, PostMetrics, ValidationIssue } from '../contract.js';
import { AuthExpired, InvalidContent, PermanentError, TransientError } from '../errors.js';
import { validateAgainstCapabilities } from '../text-length.js';
import {
  BlueskyClient,
  getPostCounts,
  getProfileCounts,
  readCredentials,
  renewSession,
  type TransportOptions,
} from './client.js';
import { PLATFORM } from './errors.js';
import { guardedFetch } from './identity.js';
import { isOAuthCredentials, readOAuthCredentials, type BlueskyOAuth } from './oauth.js';
import { blueskyCapabilities, IMAGE_MAX_BYTES, TEXT_MAX_BYTES } from './limits.js';
import { findThread, ownPostKey, postKey, publishThread, readPostOptions } from './publish.js';

export type { BlueskyCredentials } from './client.js';
export type { PostOptions as BlueskyPostOptions } from './publish.js';

import { DEFAULT_APPVIEW_URL, DEFAULT_TIMEOUT_MS } from './defaults.js';

export { DEFAULT_APPVIEW_URL, DEFAULT_TIMEOUT_MS } from './defaults.js';
export { DEFAULT_PLC_URL } from './identity.js';
export { createBlueskyPasswordLinker, type BlueskyLinkerOptions } from './link.js';
export {
  BlueskyOAuth,
  CLIENT_METADATA_PATH,
  JWKS_PATH,
  OAUTH_CALLBACK_PATH,
  OAUTH_SCOPE,
  isOAuthCredentials,
  readOAuthCredentials,
  type BlueskyOAuthClientConfig,
  type BlueskyOAuthCredentials,
  type BlueskyOAuthOptions,
  type BlueskyOAuthStores,
} from './oauth.js';

export interface BlueskyConnectorOptions {
  /**
   * Milliseconds after which a request to a PDS or AppView is abandoned, reading its answer
   * included. An abandoned write is reported as transient and `mayHaveSucceeded`.
   * Default {@link DEFAULT_TIMEOUT_MS} (15,000).
   */
  timeoutMs?: number;
  /**
   * Base URL of the AppView that `fetchMetrics` reads like, repost, reply and quote counts from
   * (`app.bsky.feed.getPosts`) and `fetchAccountStats` followers, follows and posts
   * (`app.bsky.actor.getProfile`), both unauthenticated, so metrics do not depend on a live
   * session. Nothing else uses it. Default {@link DEFAULT_APPVIEW_URL}.
   */
  appViewUrl?: string;
  /**
   * Largest image accepted by `validate`, in bytes. Default `IMAGE_MAX_BYTES` (1,000,000), what
   * every PDS accepts; raise it to 2,000,000 only when all connected accounts live on PDSes whose
   * lexicon allows it (see `limits.ts`).
   */
  imageMaxBytes?: number;
  /** The `fetch` every request goes through. Default: through the outbound guard (`guardedFetch`). */
  fetch?: typeof globalThis.fetch;
  /**
   * Follow a session's DID document to a PDS served over plain http (a local development
   * network). Default false: only https PDS endpoints replace the stored one.
   */
  allowHttpPds?: boolean;
  /**
   * Restores the sessions of accounts connected with OAuth (their credentials hold
   * `auth: 'oauth'` and a session id). Unset: such accounts need reconnecting.
   */
  oauth?: BlueskyOAuth | undefined;
}

interface ResolvedOptions {
  timeoutMs: number;
  appViewUrl: string;
  imageMaxBytes: number;
  fetch: typeof globalThis.fetch;
  allowHttpPds: boolean;
}

function resolveOptions(options: BlueskyConnectorOptions): Readonly<ResolvedOptions> {
  const resolved: ResolvedOptions = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    appViewUrl: options.appViewUrl ?? DEFAULT_APPVIEW_URL,
    imageMaxBytes: options.imageMaxBytes ?? IMAGE_MAX_BYTES,
    fetch: options.fetch ?? guardedFetch,
    allowHttpPds: options.allowHttpPds === true,
  };
  const problems: string[] = [];
  if (!Number.isInteger(resolved.timeoutMs) || resolved.timeoutMs <= 0)
    problems.push('timeoutMs must be a positive integer');
  if (!Number.isInteger(resolved.imageMaxBytes) || resolved.imageMaxBytes <= 0) {
    problems.push('imageMaxBytes must be a positive integer');
  }
  if (!URL.canParse(resolved.appViewUrl) || !/^https?:$/.test(new URL(resolved.appViewUrl).protocol)) {
    problems.push('appViewUrl must be an http(s) URL');
  }
  if (problems.length > 0) {
    throw new HeraldError('config_invalid', { message: `Bluesky connector options: ${problems.join('; ')}` });
  }
  return Object.freeze(resolved);
}

export function createBlueskyConnector(options: BlueskyConnectorOptions = {}): Connector {
  const config = resolveOptions(options);
  const caps = Object.freeze(blueskyCapabilities({ imageMaxBytes: config.imageMaxBytes }));
  const transport: TransportOptions = {
    timeoutMs: config.timeoutMs,
    fetch: config.fetch,
    allowHttpPds: config.allowHttpPds,
  };
  const oauthOf = (): BlueskyOAuth => {
    if (options.oauth) return options.oauth;
    throw new AuthExpired(
      'This Bluesky account was connected with OAuth, which this server no longer has configured; reconnect it',
      {
        platform: PLATFORM,
        reconnect: true,
      },
    );
  };
  /** Writes as the account: with its app-password session, or through its restored OAuth session. */
  const clientFor = async (account: AccountContext): Promise<BlueskyClient> =>
    isOAuthCredentials(account.credentials)
      ? oauthOf().clientFor(readOAuthCredentials(account.credentials))
      : new BlueskyClient(readCredentials(account.credentials), transport);

  function validate(_account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[] {
    const issues = validateAgainstCapabilities(caps, draft);
    draft.parts.forEach((part, i) => {
      const bytes = Buffer.byteLength(part.text, 'utf8');
      if (bytes > TEXT_MAX_BYTES) {
        const where = draft.parts.length > 1 ? ` (part ${i + 1})` : '';
        issues.push({
          code: 'text_too_long',
          part: i,
          message: `Bluesky allows ${TEXT_MAX_BYTES} bytes of text (UTF-8; emoji take up to 25 each); this text${where} has ${bytes}.`,
          limit: TEXT_MAX_BYTES,
          actual: bytes,
        });
      }
    });
    issues.push(...readPostOptions(draft.options).issues);
    return issues;
  }

  return {
    platform: PLATFORM,

    capabilities: () => caps,

    validate,

    async publish(account, input, idempotencyKey) {
      if (!idempotencyKey) {
        throw new PermanentError('Publishing to Bluesky needs an idempotency key', { platform: PLATFORM });
      }
      const issues = validate(account, input);
      if (issues.length > 0) {
        throw new InvalidContent(issues.map((i) => i.message).join(' '), { platform: PLATFORM, part: issues[0]!.part });
      }
      const client = await clientFor(account);
      return publishThread(client, input, idempotencyKey, readPostOptions(input.options).value);
    },

    // `since` is not needed: record keys are derived from the idempotency key alone, and a
    // post under one of them was made by a publish with this key, whenever that was.
    async lookup(account, draft, idempotencyKey) {
      return findThread(await clientFor(account), draft.parts.length, idempotencyKey);
    },

    // Publishing is synchronous: a post exists once createRecord answers.
    async checkStatus(account, platformPostId) {
      const client = await clientFor(account);
      return (await client.getPost(ownPostKey(client, platformPostId))) ? 'published' : 'failed';
    },

    /**
     * Deletes the one post `platformPostId` names; the other parts of a thread stay (delete
     * each part's id from `PublishResult.parts` to remove a whole thread). Deleting a post that
     * is already gone succeeds.
     */
    async delete(account, platformPostId) {
      const client = await clientFor(account);
      await client.deletePost(ownPostKey(client, platformPostId));
    },

    async refresh(account) {
      if (isOAuthCredentials(account.credentials)) {
        // The library refreshes and stores the session itself; the credentials only name it.
        const credentials = readOAuthCredentials(account.credentials);
        const { expiresAt } = await oauthOf().refresh(credentials);
        return { credentials, expiresAt };
      }
      return renewSession(readCredentials(account.credentials), transport);
    },

    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const client = await clientFor(account);
      const { repo, rkey } = postKey(platformPostId);
      const counts = await getPostCounts(config.appViewUrl, platformPostId, transport);
      if (counts) {
        return {
          likes: counts.likeCount ?? 0,
          reposts: counts.repostCount ?? 0,
          replies: counts.replyCount ?? 0,
          quotes: counts.quoteCount ?? 0,
          fetchedAt: new Date(),
        };
      }
      // The AppView does not show the post: not indexed yet (ask again later) or gone for good.
      if (await client.getPost(rkey, repo)) {
        throw new TransientError(`The Bluesky AppView has not indexed ${platformPostId} yet`, { platform: PLATFORM });
      }
      throw new PermanentError(`${platformPostId} no longer exists on Bluesky`, { platform: PLATFORM, status: 404 });
    },

    // https://docs.bsky.app/docs/api/app-bsky-actor-get-profile (ProfileViewDetailed's counts).
    async fetchAccountStats(account): Promise<AccountStats> {
      // The account's DID (its `externalId`), whichever way it was connected.
      const did = account.externalId;
      const counts = await getProfileCounts(config.appViewUrl, did, transport);
      if (!counts) {
        throw new TransientError(`The Bluesky AppView has not indexed the account ${did} yet`, { platform: PLATFORM });
      }
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : null);
      return {
        followers: n(counts.followersCount),
        following: n(counts.followsCount),
        posts: n(counts.postsCount),
        fetchedAt: new Date(),
      };
    },
  };
}
