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
  PostMetrics,
  PublishInput,
  PublishResult,
  PublishedPart,
} from '../contract.js';
import { ConnectorError, InvalidContent, TransientError, isConnectorError } from '../errors.js';
import { DEFAULT_API_URL, DEFAULT_TIMEOUT_MS, xRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';
import { capabilities, parsePostOptions, validateDraft, type XPostOptions } from './limits.js';
import { uploadMedia } from './media.js';
import { DEFAULT_AUTHORIZE_URL, parseCredentials, refreshCredentials, type XApp } from './oauth.js';

export { capabilities, countXText, validateDraft, STANDARD_MAX, LONG_POST_MAX } from './limits.js';
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
}

interface TweetJson {
  id: string;
  text: string;
  created_at?: string;
  referenced_tweets?: Array<{ type: string; id: string }>;
  attachments?: { media_keys?: string[] };
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
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/\r\n/g, '\n')
    .trim();

export function createXConnector(options: XConnectorOptions): Connector {
  const apiUrl = options.apiUrl ?? DEFAULT_API_URL;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
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
  ): Promise<PublishedPart> {
    const mediaIds: string[] = [];
    try {
      for (const [j, m] of part.media.entries()) mediaIds.push(await uploadMedia(t, m, `media ${j + 1}`, upload));
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
    const res = await xRequest<{ data?: unknown }>(t, {
      method: 'POST',
      path: '/2/tweets',
      json: {
        ...(part.text ? { text: part.text } : {}),
        ...(mediaIds.length ? { media: { media_ids: mediaIds } } : {}),
        ...(replyTo ? { reply: { in_reply_to_tweet_id: replyTo } } : {}),
        ...(index === 0 && opts.quoteTweetId ? { quote_tweet_id: opts.quoteTweetId } : {}),
        ...(index === 0 && opts.replySettings ? { reply_settings: opts.replySettings } : {}),
      },
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

  async function publish(account: AccountContext, input: PublishInput): Promise<PublishResult> {
    const issues = validateDraft(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to X: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const t = transportFor(account);
    const opts = parsePostOptions(input.options).options;
    const published: PublishedPart[] = [];
    for (const [i, part] of input.parts.entries()) {
      try {
        published.push(await publishPart(t, account, part, i, published[i - 1]?.platformPostId, opts));
      } catch (err) {
        if (i === 0 || !(err instanceof ConnectorError)) throw err;
        throw err.inPart(i, [...published]);
      }
    }
    const first = published[0]!;
    return { status: 'published', platformPostId: first.platformPostId, url: first.url, parts: published };
  }

  /**
   * The earlier post is recognised by its shape: part 0 a non-reply at or after `since` with
   * the same text (past X's escaping and link shortening) and media count, each further part
   * a reply to the one before. Only a whole thread counts as found.
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
  ): Promise<PublishResult | null> {
    const t = transportFor(account);
    const res = await xRequest<{ data?: unknown[] }>(t, {
      method: 'GET',
      path: `/2/users/${encodeURIComponent(account.externalId)}/tweets`,
      query: {
        max_results: 100,
        start_time: since.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'tweet.fields': 'created_at,referenced_tweets,attachments',
      },
    });
    const recent = (Array.isArray(res.body?.data) ? res.body.data : []).filter(isTweet).reverse(); // oldest first
    const matches = (tw: TweetJson, i: number) =>
      normalize(tw.text) === normalize(input.parts[i]!.text) &&
      (tw.attachments?.media_keys?.length ?? 0) === input.parts[i]!.media.length;
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
    validate: validateDraft,
    publish: (account, input) => publish(account, input),
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
