/**
 * The X connector (API v2, plain `fetch`): posts with media (chunked upload), threads as
 * reply chains, quote posts, lookup of the account's recent posts to confirm an uncertain
 * publish (X takes no idempotency key), delete, metrics and token refresh. App credentials
 * come in through the options (refresh needs them); account tokens with every call.
 */
import type {
  AccountContext,
  Connector,
  Draft,
  AccountStats,
  PostMetrics,
  PublishInput,
  PublishJournal,
  PublishResult,
  PublishedPart,
} from '../contract.js';
import { ConnectorError, InvalidContent, PermanentError, TransientError, isConnectorError } from '../errors.js';
import { DEFAULT_API_URL, DEFAULT_TIMEOUT_MS, xRequest, type Transport } from './client.js';
import { supersededIn } from '../fence.js';
import { PLATFORM } from './errors.js';
import {
  capabilities,
  countXText,
  DEFAULT_X_API_ACCESS,
  parsePostOptions,
  STANDARD_MAX,
  validateDraft,
  type XApiAccess,
  type XPostOptions,
} from './limits.js';
import { uploadMedia, type UploadedMedia } from './media.js';
import { journaledMedia, recordMediaKeys, sameMedia } from './media-keys.js';
import { loadPostedParts, partDigest, recordPart } from './posted-parts.js';
import type { PartMedia } from './media-keys.js';
import { DEFAULT_AUTHORIZE_URL, parseCredentials, refreshCredentials, type XApp } from './oauth.js';

export { capabilities, countXText, validateDraft, STANDARD_MAX, LONG_POST_MAX, type XApiAccess } from './limits.js';
export * from './oauth.js';
export { DEFAULT_API_URL } from './client.js';

export interface XConnectorOptions {
  clientId: string;
  clientSecret: string;
  /** Default `https://api.x.com`. */
  apiUrl?: string;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Longest wait for one media chunk, ms. Default 120 s. */
  uploadTimeoutMs?: number;
  /** Interval between media STATUS checks, ms. Default 1 s (or X's `check_after_secs` if sooner). */
  mediaPollIntervalMs?: number;
  /** Give up on media still processing after this long, ms. Default 120 s. */
  mediaPollTimeoutMs?: number;
  /** The app's X API access (decides quote posts). Default `self-serve`. */
  access?: XApiAccess;
}

/** Posts read at most by one lookup: X bills every post a read returns. */
export const LOOKUP_MAX_POSTS = 100;

interface UrlEntity {
  url?: string;
  expanded_url?: string;
  media_key?: string;
}

interface TweetJson {
  id: string;
  text: string;
  created_at?: string;
  referenced_tweets?: Array<{ type: string; id: string }>;
  attachments?: { media_keys?: string[] };
  entities?: { urls?: UrlEntity[] };
  note_tweet?: { text?: string; entities?: { urls?: UrlEntity[] } };
  public_metrics?: Record<string, number>;
}

const isTweet = (v: unknown): v is TweetJson =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as TweetJson).id === 'string' &&
  typeof (v as TweetJson).text === 'string';

const repliedTo = (t: TweetJson) => t.referenced_tweets?.find((r) => r.type === 'replied_to')?.id ?? null;

/** X stores text with `&`, `<`, `>` escaped and URLs shortened: compare past both. */
const normalize = (s: string) =>
  s
    // X keeps text in Unicode NFC (docs.x.com/fundamentals/counting-characters).
    .normalize('NFC')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/\r\n/g, '\n')
    .trim();

/**
 * The text as Herald wrote it, from what X shows: the whole text of a long post from
 * `note_tweet` (`text` is cut), without the t.co link X appends for media (its URL entity
 * carries a `media_key`), other t.co links back to what they point to.
 * (https://docs.x.com/x-api/fundamentals/data-dictionary: `note_tweet`, `entities.urls`.)
 */
export function writtenText(t: TweetJson): string {
  let text = t.note_tweet?.text ?? t.text;
  for (const u of [...(t.entities?.urls ?? []), ...(t.note_tweet?.entities?.urls ?? [])]) {
    if (!u.url) continue;
    text = text.split(u.url).join(u.media_key ? '' : (u.expanded_url ?? u.url));
  }
  return text;
}

export function createXConnector(options: XConnectorOptions): Connector {
  const apiUrl = options.apiUrl ?? DEFAULT_API_URL;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const access = options.access ?? DEFAULT_X_API_ACCESS;
  const validate = (account: Pick<AccountContext, 'metadata'>, draft: Draft) => validateDraft(account, draft, access);
  const upload = {
    uploadTimeoutMs: options.uploadTimeoutMs ?? 120_000,
    pollIntervalMs: options.mediaPollIntervalMs ?? 1_000,
    pollTimeoutMs: options.mediaPollTimeoutMs ?? 120_000,
  };
  const app: XApp = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: '',
    apiUrl,
    authorizeUrl: DEFAULT_AUTHORIZE_URL,
    timeoutMs,
  };

  const transportFor = (account: Pick<AccountContext, 'credentials'>): Transport => {
    const c = parseCredentials(account.credentials);
    return { apiUrl, timeoutMs, accessToken: c.accessToken, canRefresh: !!c.refreshToken };
  };
  const urlOf = (account: AccountContext, id: string) => `https://x.com/${account.handle}/status/${id}`;

  async function publishPart(
    t: Transport,
    account: AccountContext,
    part: PublishInput['parts'][number],
    index: number,
    replyTo: string | undefined,
    opts: XPostOptions,
    journal: PublishJournal | undefined,
  ): Promise<PublishedPart> {
    const uploads: UploadedMedia[] = [];
    try {
      for (const [j, m] of part.media.entries()) uploads.push(await uploadMedia(t, m, `media ${j + 1}`, upload));
    } catch (err) {
      // Failures before the post call never created the post.
      if (isConnectorError(err) && err.mayHaveSucceeded) {
        throw new TransientError(err.message, {
          platform: PLATFORM,
          cause: err,
          ...(err.status ? { status: err.status } : {}),
        });
      }
      throw err;
    }
    const mediaIds = uploads.map((u) => u.id);
    // The post's media keys, journaled before the post call: what a later lookup recognises it by.
    if (journal && uploads.length > 0)
      await recordMediaKeys(
        journal,
        index,
        uploads.map((u) => u.mediaKey),
      );
    const quoting = index === 0 && !!opts.quoteTweetId;
    const res = await xRequest<{ data?: unknown }>(t, {
      method: 'POST',
      path: '/2/tweets',
      json: {
        ...(part.text ? { text: part.text } : {}),
        ...(mediaIds.length ? { media: { media_ids: mediaIds } } : {}),
        ...(replyTo ? { reply: { in_reply_to_tweet_id: replyTo } } : {}),
        ...(quoting ? { quote_tweet_id: opts.quoteTweetId } : {}),
        ...(index === 0 && opts.replySettings ? { reply_settings: opts.replySettings } : {}),
      },
    }).catch((err: unknown) => {
      throw refusalOf(err, { replying: !!replyTo, quoting });
    });
    const data = res.body?.data;
    if (!isTweet(data)) {
      throw new TransientError("X's answer to the new post could not be read", {
        platform: PLATFORM,
        status: res.status,
        mayHaveSucceeded: true,
      });
    }
    return { index, platformPostId: data.id, url: urlOf(account, data.id) };
  }

  /**
   * Saves a posted part's id. The part is live whatever the journal does: a failed save leaves
   * it `pending`, so a retry looks for it on X before posting; only a superseded attempt
   * (connectors/fence.ts) stops here.
   */
  async function keepJournaled(journal: PublishJournal, index: number, part: { digest: string; id: string }) {
    await recordPart(journal, index, part).catch((err: unknown) => {
      const superseded = supersededIn(err);
      if (superseded) throw superseded;
    });
  }

  /** Tells whether a post X shows is part `i` of the draft: text past X's rendering, media by journaled keys or count. */
  function partMatcher(input: Draft, media: (part: number) => PartMedia) {
    const state = { unsure: false };
    const matches = (tw: TweetJson, i: number) => {
      const part = input.parts[i]!;
      const keys = tw.attachments?.media_keys ?? [];
      if (keys.length !== part.media.length) return false;
      const attached = media(i);
      if (keys.length > 0 && attached.kind === 'keys' && !sameMedia(keys, attached.sets)) return false;
      const shown = normalize(writtenText(tw));
      const wanted = normalize(part.text);
      if (shown === wanted) return true;
      const cut = shown.endsWith('…') && !tw.note_tweet ? shown.slice(0, -1).trimEnd() : null;
      if (cut && countXText(part.text) > STANDARD_MAX && wanted.startsWith(cut)) state.unsure = true;
      return false;
    };
    return { matches, state };
  }

  const cutShort = () =>
    new PermanentError(
      'X shows a long post cut short without its full text; Herald cannot tell whether it is this one',
      {
        platform: PLATFORM,
        reason: 'lookup_unavailable',
      },
    );

  /**
   * Part `i` of a thread whose post call went out unanswered: the account's post since then
   * that replies to `replyTo` (part 0: replies to nothing) and is this part; null when X holds
   * none.
   */
  async function findPart(
    account: AccountContext,
    input: Draft,
    i: number,
    replyTo: string | undefined,
    since: Date,
    journal: PublishJournal,
  ): Promise<string | null> {
    const recent = await postsSince(account, since, 1);
    const { matches, state } = partMatcher(input, await journaledMedia(journal));
    const found = recent.find((tw) => repliedTo(tw) === (replyTo ?? null) && matches(tw, i));
    if (!found && state.unsure) throw cutShort();
    return found?.id ?? null;
  }

  async function publish(
    account: AccountContext,
    input: PublishInput,
    journal?: PublishJournal,
  ): Promise<PublishResult> {
    const issues = validate(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to X: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const t = transportFor(account);
    const opts = parsePostOptions(input.options, access).options;
    const published: PublishedPart[] = [];
    // A thread retried after a later part failed goes on from the first part not yet posted.
    const thread = journal && input.parts.length > 1 ? journal : undefined;
    const posted = await loadPostedParts(thread);
    for (const [i, part] of input.parts.entries()) {
      try {
        const replyTo = published[i - 1]?.platformPostId;
        const digest = thread ? partDigest(part, replyTo) : '';
        const earlier = posted.get(i);
        let id = earlier?.digest === digest ? earlier.id : undefined;
        // Its post call went out and its answer was lost: X may hold it already.
        if (!id && thread && earlier?.digest === digest && earlier.pendingSince)
          id =
            (await findPart(account, input, i, replyTo, new Date(Date.parse(earlier.pendingSince) - 60_000), thread)) ??
            undefined;
        if (id) {
          if (!earlier?.id) await keepJournaled(thread!, i, { digest, id });
          published.push({ index: i, platformPostId: id, url: urlOf(account, id) });
          continue;
        }
        if (thread) await recordPart(thread, i, { digest, pendingSince: new Date().toISOString() });
        const made = await publishPart(t, account, part, i, replyTo, opts, journal);
        published.push(made);
        if (thread) await keepJournaled(thread, i, { digest, id: made.platformPostId });
      } catch (err) {
        if (i === 0 || !(err instanceof ConnectorError)) throw err;
        throw err.inPart(i, [...published]);
      }
    }
    const first = published[0]!;
    return { status: 'published', platformPostId: first.platformPostId, url: first.url, parts: published };
  }

  /** The account's posts created at or after `since`, oldest first, reading as few as X allows. */
  async function postsSince(account: AccountContext, since: Date, wanted: number): Promise<TweetJson[]> {
    const t = transportFor(account);
    const posts: TweetJson[] = [];
    let next: string | undefined;
    do {
      // X bills every post returned (docs.x.com/x-api/getting-started/pricing): a page just
      // larger than the thread (5 is X's smallest), then more only while they are needed.
      const res = await xRequest<{ data?: unknown[]; meta?: { next_token?: string } }>(t, {
        method: 'GET',
        path: `/2/users/${encodeURIComponent(account.externalId)}/tweets`,
        query: {
          max_results: Math.min(100, Math.max(5, wanted + 2)),
          start_time: since.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          'tweet.fields': 'created_at,referenced_tweets,attachments,entities,note_tweet',
          ...(next ? { pagination_token: next } : {}),
        },
      });
      posts.push(...(Array.isArray(res.body?.data) ? res.body.data : []).filter(isTweet));
      next = res.body?.meta?.next_token;
      if (next && posts.length >= LOOKUP_MAX_POSTS) {
        throw new PermanentError(
          `X holds more than ${LOOKUP_MAX_POSTS} posts by @${account.handle} since the attempt; Herald does not read further, so it cannot be sure whether the post is there`,
          { platform: PLATFORM, reason: 'lookup_unavailable' },
        );
      }
    } while (next);
    return posts.reverse();
  }

  /**
   * The earlier post is recognised by its shape: part 0 a non-reply at or after `since` with
   * the same text (past X's escaping, t.co links and media link, the whole text of a long
   * post) and as many media — the very media, by `media_key`, when the journal holds the keys
   * Herald attached — each further part a reply to the one before. Only a whole thread counts
   * as found. A post X shows cut without its full text cannot be told apart: that
   * throws rather than answering "not there".
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: PublishJournal,
  ): Promise<PublishResult | null> {
    const recent = await postsSince(account, since, input.parts.length);
    const { matches, state } = partMatcher(input, await journaledMedia(journal));
    for (const root of recent.filter((tw) => repliedTo(tw) === null && matches(tw, 0))) {
      const chain = [root];
      for (let i = 1; i < input.parts.length; i++) {
        const next = recent.find((tw) => repliedTo(tw) === chain[i - 1]!.id && matches(tw, i));
        if (!next) break;
        chain.push(next);
      }
      if (chain.length < input.parts.length) continue;
      const parts = chain.map((tw, index) => ({ index, platformPostId: tw.id, url: urlOf(account, tw.id) }));
      return { status: 'published', platformPostId: root.id, url: parts[0]!.url, parts };
    }
    if (state.unsure) throw cutShort();
    return null;
  }

  async function getTweet(account: AccountContext, id: string): Promise<TweetJson | null> {
    const res = await xRequest<{ data?: unknown }>(transportFor(account), {
      method: 'GET',
      path: `/2/tweets/${encodeURIComponent(id)}`,
      query: { 'tweet.fields': 'public_metrics' },
      accept: [404],
    });
    // X answers a missing post with 200 and only `errors` (Not Found Error).
    return isTweet(res.body?.data) ? res.body.data : null;
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate,
    publish: (account, input, _key, journal) => publish(account, input, journal),
    lookup,
    async checkStatus(account, platformPostId) {
      return (await getTweet(account, platformPostId)) ? 'published' : 'failed';
    },
    async delete(account, platformPostId) {
      await xRequest(transportFor(account), {
        method: 'DELETE',
        path: `/2/tweets/${encodeURIComponent(platformPostId)}`,
        accept: [404],
      });
    },
    async refresh(account) {
      const grant = await refreshCredentials(app, parseCredentials(account.credentials));
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    // https://docs.x.com/x-api/users/lookup (User object: public_metrics)
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await xRequest<{ data?: { public_metrics?: Record<string, unknown> } }>(transportFor(account), {
        method: 'GET',
        path: '/2/users/me',
        query: { 'user.fields': 'public_metrics' },
      });
      const m = res.body?.data?.public_metrics ?? {};
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : null);
      return {
        followers: n(m.followers_count),
        following: n(m.following_count),
        posts: n(m.tweet_count),
        fetchedAt: new Date(),
      };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const tweet = await getTweet(account, platformPostId);
      if (!tweet) throw new InvalidContent(`X has no post ${platformPostId}`, { platform: PLATFORM, status: 404 });
      const m = tweet.public_metrics ?? {};
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : 0);
      return {
        likes: n(m.like_count),
        reposts: n(m.retweet_count),
        replies: n(m.reply_count),
        quotes: n(m.quote_count),
        ...(typeof m.impression_count === 'number' ? { impressions: m.impression_count } : {}),
        fetchedAt: new Date(),
      };
    },
  };
}

/**
 * X's refusal of a post, named: a reply where the account was not summoned (self-serve apps
 * since Feb 23, 2026) or a quote post (removed from self-serve apps on Apr 20, 2026), per
 * https://docs.x.com/changelog. The body does not say which rule, so the request does.
 */
function refusalOf(err: unknown, call: { replying: boolean; quoting: boolean }): unknown {
  if (!(err instanceof InvalidContent) || err.status !== 403 || err.reason === 'duplicate') return err;
  const reason = call.quoting ? 'quote_restricted' : call.replying ? 'reply_restricted' : undefined;
  if (!reason) return err;
  const rule =
    reason === 'quote_restricted'
      ? 'X takes quote posts only from Enterprise API apps'
      : 'X lets self-serve API apps reply only where the original post summoned the account';
  return new InvalidContent(`${err.message} (${rule})`, {
    platform: PLATFORM,
    status: 403,
    reason,
    ...(err.platformMessage ? { platformMessage: err.platformMessage } : {}),
  });
}
