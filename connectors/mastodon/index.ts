/**
 * The Mastodon connector: publishes statuses (with media and alt text, and threads as reply
 * chains) to the account's instance, finds, deletes and measures them, and refreshes tokens.
 * Every status carries an `Idempotency-Key` derived from the target's key, so repeating a
 * whole publish within Mastodon's one-hour window never posts a part twice. Limits come from
 * `account.metadata.limits` (see `readInstanceLimits`), the instance URL from
 * `account.metadata.instanceUrl`.
 */
import type {
  AccountContext,
  Connector,
  Draft,
  MediaInput,
  PostMetrics,
  AccountStats,
  PublishInput,
  PublishResult,
  PublishedPart,
} from '../contract.js';
import {
  AuthExpired,
  ConnectorError,
  InvalidContent,
  PermanentError,
  TransientError,
  isConnectorError,
} from '../errors.js';
import { DEFAULT_TIMEOUT_MS, instanceBase, mastodonRequest, type Transport } from './client.js';
import { PLATFORM, platformMessageOf } from './errors.js';
import { capabilities, parsePostOptions, validateDraft, type MastodonPostOptions } from './limits.js';
import { parseCredentials, refreshCredentials } from './oauth.js';

export {
  capabilities,
  countMastodonText,
  readInstanceLimits,
  validateDraft,
  DEFAULT_LIMITS,
  type MastodonLimits,
} from './limits.js';
export type { MastodonPostOptions, Visibility } from './limits.js';
export * from './oauth.js';
export { DEFAULT_TIMEOUT_MS } from './client.js';

/** Longest wait for one media upload (files up to 99 MB). */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 120_000;
/** How often an upload that Mastodon is still processing is checked. */
export const DEFAULT_MEDIA_POLL_INTERVAL_MS = 1_000;
/** How long to wait for one upload's processing before giving up. */
export const DEFAULT_MEDIA_POLL_TIMEOUT_MS = 60_000;
/** Pages of 40 statuses `lookup` reads back from now towards `since`. */
export const DEFAULT_LOOKUP_MAX_PAGES = 10;

export interface MastodonConnectorOptions {
  /** Longest wait for one API call, ms. Default {@link DEFAULT_TIMEOUT_MS} (15 s). */
  timeoutMs?: number;
  /** Longest wait for one media upload, ms. Default {@link DEFAULT_UPLOAD_TIMEOUT_MS} (2 min). */
  uploadTimeoutMs?: number;
  /** Interval between checks of an upload still processing, ms. Default {@link DEFAULT_MEDIA_POLL_INTERVAL_MS}. */
  mediaPollIntervalMs?: number;
  /** Give up on an upload still processing after this long, ms. Default {@link DEFAULT_MEDIA_POLL_TIMEOUT_MS}. */
  mediaPollTimeoutMs?: number;
  /** Most pages of the account's statuses `lookup` reads. Default {@link DEFAULT_LOOKUP_MAX_PAGES}. */
  lookupMaxPages?: number;
}

type Settings = Required<MastodonConnectorOptions>;

function settingsFrom(options: MastodonConnectorOptions): Readonly<Settings> {
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    uploadTimeoutMs: options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS,
    mediaPollIntervalMs: options.mediaPollIntervalMs ?? DEFAULT_MEDIA_POLL_INTERVAL_MS,
    mediaPollTimeoutMs: options.mediaPollTimeoutMs ?? DEFAULT_MEDIA_POLL_TIMEOUT_MS,
    lookupMaxPages: options.lookupMaxPages ?? DEFAULT_LOOKUP_MAX_PAGES,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new TypeError(`Mastodon connector: ${name} must be a positive number`);
  }
  return Object.freeze(settings);
}

interface StatusJson {
  id: string;
  url: string | null;
  created_at: string;
  in_reply_to_id: string | null;
  media_attachments: unknown[];
  favourites_count?: number;
  reblogs_count?: number;
  replies_count?: number;
  quotes_count?: number;
}

const isStatus = (v: unknown): v is StatusJson =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as StatusJson).id === 'string' &&
  typeof (v as StatusJson).created_at === 'string' &&
  Array.isArray((v as StatusJson).media_attachments);

interface MediaJson {
  id: string;
  url: string | null;
}

const isMedia = (v: unknown): v is MediaJson =>
  typeof v === 'object' && v !== null && typeof (v as MediaJson).id === 'string';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per-part Idempotency-Key: re-running a thread after a crash repeats each part's key. */
export const partKey = (key: string, index: number) => `${key}:${index}`;

/** A copy saying the post was certainly not created (the failure came before the status call). */
function notApplied(err: ConnectorError): ConnectorError {
  if (!err.mayHaveSucceeded) return err;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as ConnectorError;
  return Object.assign(copy, err, {
    mayHaveSucceeded: false,
    message: err.message,
    stack: err.stack,
    cause: err.cause,
  });
}

function transportFor(account: Pick<AccountContext, 'credentials' | 'metadata'>, timeoutMs: number): Transport {
  const credentials = parseCredentials(account.credentials);
  const raw = account.metadata.instanceUrl;
  let instanceUrl: string;
  try {
    instanceUrl = instanceBase(typeof raw === 'string' ? raw : '');
  } catch {
    throw new AuthExpired('The Mastodon account has no valid instance URL; it must be reconnected', {
      platform: PLATFORM,
      reconnect: true,
    });
  }
  return { instanceUrl, timeoutMs, accessToken: credentials.accessToken, canRefresh: !!credentials.refreshToken };
}

export function createMastodonConnector(options: MastodonConnectorOptions = {}): Connector {
  const settings = settingsFrom(options);

  async function waitUntilProcessed(t: Transport, mediaId: string, label: string): Promise<void> {
    const deadline = Date.now() + settings.mediaPollTimeoutMs;
    for (;;) {
      await sleep(Math.min(settings.mediaPollIntervalMs, Math.max(0, deadline - Date.now())));
      // 206: still processing; 200: done. A processing failure comes back as 422 (InvalidContent).
      const res = await mastodonRequest(t, { method: 'GET', path: `/api/v1/media/${encodeURIComponent(mediaId)}` });
      if (res.status === 200 && isMedia(res.body) && res.body.url) return;
      if (Date.now() >= deadline) {
        throw new TransientError(
          `Mastodon was still processing ${label} after ${Math.round(settings.mediaPollTimeoutMs / 1000)} s; try again later`,
          { platform: PLATFORM },
        );
      }
    }
  }

  async function upload(t: Transport, media: MediaInput, label: string, index: number): Promise<string> {
    const form = new FormData();
    const extension = media.mimeType.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
    form.append(
      'file',
      new Blob([new Uint8Array(media.bytes)], { type: media.mimeType }),
      `media-${index + 1}.${extension}`,
    );
    if (media.altText) form.append('description', media.altText);
    // 200: processed at once (small images); 202: `url` is null until processing finishes.
    const res = await mastodonRequest(t, {
      method: 'POST',
      path: '/api/v2/media',
      form,
      timeoutMs: settings.uploadTimeoutMs,
    });
    if (!isMedia(res.body))
      throw new TransientError(`Mastodon's answer to uploading ${label} could not be read`, { platform: PLATFORM });
    if (res.status !== 200 || !res.body.url) await waitUntilProcessed(t, res.body.id, label);
    return res.body.id;
  }

  async function publishPart(
    t: Transport,
    part: PublishInput['parts'][number],
    index: number,
    key: string,
    inReplyToId: string | undefined,
    opts: MastodonPostOptions,
  ): Promise<PublishedPart> {
    const mediaIds: string[] = [];
    try {
      for (const [j, media] of part.media.entries()) mediaIds.push(await upload(t, media, `media ${j + 1}`, j));
    } catch (err) {
      throw isConnectorError(err) ? notApplied(err) : err;
    }
    const res = await mastodonRequest(t, {
      method: 'POST',
      path: '/api/v1/statuses',
      headers: { 'Idempotency-Key': partKey(key, index) },
      json: {
        status: part.text,
        ...(mediaIds.length > 0 ? { media_ids: mediaIds } : {}),
        ...(inReplyToId ? { in_reply_to_id: inReplyToId } : {}),
        ...(opts.visibility ? { visibility: opts.visibility } : {}),
        ...(opts.contentWarning ? { spoiler_text: opts.contentWarning } : {}),
        ...(opts.sensitive !== undefined ? { sensitive: opts.sensitive } : {}),
        ...(opts.language ? { language: opts.language } : {}),
      },
      accept: [404],
    });
    if (res.status === 404) {
      // Mastodon answers 404 when this part's Idempotency-Key belongs to a status since
      // deleted, or when the status it replies to is gone: posting it again would be wrong.
      const said = platformMessageOf(res.body) ?? 'Record not found';
      throw new PermanentError(
        `Mastodon answered 404 to the new status (${said}): an earlier copy of it, or the post it replies to, was deleted`,
        { platform: PLATFORM, status: 404, platformMessage: said },
      );
    }
    if (!isStatus(res.body)) {
      throw new TransientError("Mastodon's answer to the new status could not be read", {
        platform: PLATFORM,
        status: res.status,
        mayHaveSucceeded: true,
      });
    }
    return { index, platformPostId: res.body.id, url: res.body.url ?? null };
  }

  async function publish(account: AccountContext, input: PublishInput, key: string): Promise<PublishResult> {
    const issues = validateDraft(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to Mastodon: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
        ...(issues[0]!.part > 0 ? { part: issues[0]!.part, publishedParts: [] } : {}),
      });
    }
    const t = transportFor(account, settings.timeoutMs);
    const { options: opts } = parsePostOptions(input.options);
    const published: PublishedPart[] = [];
    for (const [i, part] of input.parts.entries()) {
      try {
        published.push(await publishPart(t, part, i, key, published[i - 1]?.platformPostId, opts));
      } catch (err) {
        if (i === 0 || !(err instanceof ConnectorError)) throw err;
        throw err.inPart(i, [...published]);
      }
    }
    const first = published[0]!;
    return { status: 'published', platformPostId: first.platformPostId, url: first.url, parts: published };
  }

  /** The account's statuses created at or after `since`, newest first. */
  async function recentStatuses(t: Transport, accountId: string, since: Date): Promise<StatusJson[]> {
    const found: StatusJson[] = [];
    let maxId: string | undefined;
    for (let page = 0; page < settings.lookupMaxPages; page++) {
      const res = await mastodonRequest<unknown[]>(t, {
        method: 'GET',
        path: `/api/v1/accounts/${encodeURIComponent(accountId)}/statuses`,
        query: { limit: 40, exclude_reblogs: true, max_id: maxId },
      });
      const statuses = (Array.isArray(res.body) ? res.body : []).filter(isStatus);
      for (const s of statuses) if (Date.parse(s.created_at) >= since.getTime()) found.push(s);
      const oldest = statuses[statuses.length - 1];
      if (!oldest || Date.parse(oldest.created_at) < since.getTime()) break;
      maxId = oldest.id;
    }
    return found;
  }

  async function sourceMatches(t: Transport, status: StatusJson, text: string, spoilerText: string): Promise<boolean> {
    const res = await mastodonRequest<Record<string, unknown>>(t, {
      method: 'GET',
      path: `/api/v1/statuses/${encodeURIComponent(status.id)}/source`,
      accept: [404],
    });
    const normalize = (s: unknown) => (typeof s === 'string' ? s.replace(/\r\n/g, '\n').trim() : '');
    return (
      res.status === 200 &&
      normalize(res.body?.text) === normalize(text) &&
      normalize(res.body?.spoiler_text) === normalize(spoilerText)
    );
  }

  /**
   * Statuses carry no idempotency key, so the earlier post is recognised by its shape: part 0
   * a non-reply created at or after `since`, each further part a reply to the one before,
   * with the same number of media and the same source text and content warning. Only a
   * complete thread counts as found.
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
  ): Promise<PublishResult | null> {
    const t = transportFor(account, settings.timeoutMs);
    const spoilerText = parsePostOptions(input.options).options.contentWarning ?? '';
    const recent = (await recentStatuses(t, account.externalId, since)).reverse(); // oldest first
    const candidates = (parent: string | null, index: number) =>
      recent.filter(
        (s) => s.in_reply_to_id === parent && s.media_attachments.length === input.parts[index]!.media.length,
      );
    for (const root of candidates(null, 0)) {
      if (!(await sourceMatches(t, root, input.parts[0]!.text, spoilerText))) continue;
      const chain = [root];
      for (let i = 1; i < input.parts.length; i++) {
        let next: StatusJson | undefined;
        for (const c of candidates(chain[i - 1]!.id, i)) {
          if (await sourceMatches(t, c, input.parts[i]!.text, spoilerText)) {
            next = c;
            break;
          }
        }
        if (!next) break;
        chain.push(next);
      }
      if (chain.length < input.parts.length) continue;
      const parts = chain.map((s, index) => ({ index, platformPostId: s.id, url: s.url ?? null }));
      return { status: 'published', platformPostId: root.id, url: root.url ?? null, parts };
    }
    return null;
  }

  async function getStatus(account: AccountContext, id: string) {
    const t = transportFor(account, settings.timeoutMs);
    return mastodonRequest(t, { method: 'GET', path: `/api/v1/statuses/${encodeURIComponent(id)}`, accept: [404] });
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate: validateDraft,
    publish,
    lookup,
    async checkStatus(account, platformPostId) {
      // Statuses are created synchronously; one that is gone was deleted or never existed.
      const res = await getStatus(account, platformPostId);
      return res.status === 404 ? 'failed' : 'published';
    },
    async delete(account, platformPostId) {
      const t = transportFor(account, settings.timeoutMs);
      // Already gone counts as deleted.
      await mastodonRequest(t, {
        method: 'DELETE',
        path: `/api/v1/statuses/${encodeURIComponent(platformPostId)}`,
        accept: [404],
      });
    },
    async refresh(account) {
      const t = transportFor(account, settings.timeoutMs);
      const grant = await refreshCredentials(t.instanceUrl, parseCredentials(account.credentials), {
        timeoutMs: settings.timeoutMs,
      });
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const t = transportFor(account, settings.timeoutMs);
      const res = await mastodonRequest(t, {
        method: 'GET',
        path: `/api/v1/statuses/${encodeURIComponent(platformPostId)}`,
      });
      if (!isStatus(res.body))
        throw new TransientError("Mastodon's answer for the status could not be read", { platform: PLATFORM });
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : 0);
      return {
        likes: n(res.body.favourites_count),
        reposts: n(res.body.reblogs_count),
        replies: n(res.body.replies_count),
        ...(typeof res.body.quotes_count === 'number' ? { quotes: res.body.quotes_count } : {}),
        fetchedAt: new Date(),
      };
    },
    // https://docs.joinmastodon.org/methods/accounts/#verify_credentials (Account entity counts)
    async fetchAccountStats(account): Promise<AccountStats> {
      const t = transportFor(account, settings.timeoutMs);
      const res = await mastodonRequest(t, { method: 'GET', path: '/api/v1/accounts/verify_credentials' });
      const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as Record<string, unknown>;
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : null);
      return {
        followers: n(body.followers_count),
        following: n(body.following_count),
        posts: n(body.statuses_count),
        fetchedAt: new Date(),
      };
    },
  };
}
