/**
 * The Instagram connector (Instagram Platform content publishing, developers.facebook.com/
 * docs/instagram-platform/content-publishing): images, carousels of 2 to 10 items, reels and
 * stories through Meta's container flow (`connectors/meta/containers.ts`: each container id
 * journaled before the next step, a container Meta reports PUBLISHED never published again),
 * alt text and collaborators, the account's rolling quota read from `content_publishing_limit`
 * before each new post, metrics from media insights, and long-lived tokens refreshed. Meta
 * fetches the media from Herald's signed public URLs (`connectors/meta/media-urls.ts`).
 */
import type {
  AccountContext,
  AccountStats,
  Connector,
  Draft,
  MediaInput,
  PostMetrics,
  PublishInput,
  PublishResult,
} from '../contract.js';
import { AuthExpired, InvalidContent, PermanentError, RateLimited, isConnectorError } from '../errors.js';
import {
  loadState,
  publishPartOnce,
  saveState,
  containerStatus,
  createContainer,
  waitUntilReady,
  type ContainerApi,
  type StepJournal,
} from '../meta/containers.js';
import { DEFAULT_TIMEOUT_MS, graphRequest, type GraphTransport } from '../meta/graph.js';
import type { MediaUrls } from '../meta/media-urls.js';
import { insightValues } from '../meta/insights.js';
import { parseMetaCredentials, refreshableNow } from '../meta/tokens.js';
import { capabilities, parseOptions, PLATFORM, validateDraft, type InstagramOptions } from './limits.js';
import { DEFAULT_INSTAGRAM_URLS, readPublishingLimit, refreshLongLived, type InstagramUrls } from './oauth.js';

export { capabilities, validateDraft } from './limits.js';
export * from './oauth.js';

export interface InstagramConnectorOptions {
  /** Default: Meta's hosts ({@link DEFAULT_INSTAGRAM_URLS}); a test double's with `instagramUrlsAt`. */
  urls?: InstagramUrls;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Where Meta downloads media from; without it, drafts with media are refused at schedule time. */
  mediaUrls?: MediaUrls;
  /** Between container status reads, ms. Default 5 s (Meta suggests at most once a minute for long videos). */
  pollIntervalMs?: number;
  /** Longest wait for a container to finish within one attempt, ms. Default 5 min. */
  pollTimeoutMs?: number;
}

/** How far back the media list is read to recognise a post (the newest page, never "the newest post"). */
const MEDIA_PAGE = 50;

interface MediaJson {
  id: string;
  caption?: string;
  media_type?: string;
  media_product_type?: string;
  timestamp?: string;
  permalink?: string;
}

export function createInstagramConnector(options: InstagramConnectorOptions = {}): Connector {
  const urls = options.urls ?? DEFAULT_INSTAGRAM_URLS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  const pollTimeoutMs = options.pollTimeoutMs ?? 5 * 60_000;
  const validate = (account: Pick<AccountContext, 'metadata'>, draft: Draft) =>
    validateDraft(account, draft, { mediaUrls: !!options.mediaUrls });

  const transportFor = (account: Pick<AccountContext, 'credentials' | 'metadata'>): GraphTransport => ({
    platform: PLATFORM,
    apiUrl: account.metadata.login === 'facebook' ? urls.facebookApiUrl : urls.apiUrl,
    timeoutMs,
    accessToken: parseMetaCredentials(PLATFORM, account.credentials).accessToken,
  });

  const containersFor = (account: AccountContext): ContainerApi => ({
    platform: PLATFORM,
    t: transportFor(account),
    createPath: `/${encodeURIComponent(account.externalId)}/media`,
    publishPath: `/${encodeURIComponent(account.externalId)}/media_publish`,
    statusFields: 'status_code,status',
    readStatus: (b) => ({
      status: typeof b.status_code === 'string' ? b.status_code : 'IN_PROGRESS',
      // On ERROR, `status` carries the error subcode and Meta's words.
      detail: typeof b.status === 'string' && b.status !== b.status_code ? b.status : undefined,
    }),
    pollIntervalMs,
    pollTimeoutMs,
  });

  const urlOf = (m: MediaInput) => {
    if (!options.mediaUrls) {
      throw new InvalidContent(
        'Instagram downloads media from a public URL, and this Herald has none (set PUBLIC_URL)',
        {
          platform: PLATFORM,
          reason: 'media_url_unavailable',
        },
      );
    }
    return options.mediaUrls.urlFor(m);
  };
  const mediaParams = async (m: MediaInput, asVideo: 'VIDEO' | 'REELS' | 'STORIES') =>
    m.mimeType.startsWith('video/')
      ? { media_type: asVideo, video_url: await urlOf(m) }
      : { image_url: await urlOf(m) };

  /** The posts of the account since `since`, newest first (one page: Herald's own recent posts). */
  async function recentMedia(account: AccountContext, since: Date): Promise<MediaJson[]> {
    const res = await graphRequest<{ data?: MediaJson[] }>(transportFor(account), {
      method: 'GET',
      path: `/${encodeURIComponent(account.externalId)}/media`,
      params: {
        fields: 'id,caption,media_type,media_product_type,timestamp,permalink',
        since: Math.floor(since.getTime() / 1000),
        limit: MEDIA_PAGE,
      },
    });
    return (res.body.data ?? []).filter(
      (m) => typeof m.id === 'string' && (!m.timestamp || Date.parse(m.timestamp) >= since.getTime() - 1000),
    );
  }

  const expectedType = (draft: Draft, opts: InstagramOptions) => {
    const media = draft.parts[0]?.media ?? [];
    if (opts.kind === 'story') return 'STORY';
    if (media.length > 1) return 'CAROUSEL_ALBUM';
    return media[0]?.mimeType.startsWith('video/') ? 'VIDEO' : 'IMAGE';
  };

  /**
   * The post made from this draft since `since`, recognised by its caption and type; null when
   * there is none. Two equal candidates cannot be told apart: that throws rather than guessing.
   */
  async function findByCaption(account: AccountContext, draft: Draft, since: Date): Promise<MediaJson | null> {
    const opts = parseOptions(draft.options).options;
    const caption = (draft.parts[0]?.text ?? '').trim();
    const type = expectedType(draft, opts);
    const matches = (await recentMedia(account, since)).filter(
      (m) =>
        (m.caption ?? '').trim() === caption &&
        (type === 'STORY' ? m.media_product_type === 'STORY' : m.media_type === type),
    );
    if (matches.length > 1) {
      throw new PermanentError(
        `Instagram shows ${matches.length} posts with this caption since the attempt; Herald cannot tell which one it made`,
        { platform: PLATFORM, reason: 'lookup_unavailable' },
      );
    }
    return matches[0] ?? null;
  }

  async function resultFor(account: AccountContext, mediaId: string, permalink?: string): Promise<PublishResult> {
    let url = permalink ?? null;
    if (!url) {
      const res = await graphRequest(transportFor(account), {
        method: 'GET',
        path: `/${encodeURIComponent(mediaId)}`,
        params: { fields: 'permalink' },
      }).catch(() => null);
      url = typeof res?.body.permalink === 'string' ? res.body.permalink : null;
    }
    return { status: 'published', platformPostId: mediaId, url, parts: [{ index: 0, platformPostId: mediaId, url }] };
  }

  async function buildContainer(
    api: ContainerApi,
    input: PublishInput,
    opts: InstagramOptions,
    steps: { children?: string[] },
    record: () => Promise<void>,
  ): Promise<string> {
    const part = input.parts[0]!;
    const caption = part.text === '' ? undefined : part.text;
    const collaborators = opts.collaborators.length ? JSON.stringify(opts.collaborators) : undefined;
    if (opts.kind === 'story') {
      return createContainer(api, { ...(await mediaParams(part.media[0]!, 'STORIES')), media_type: 'STORIES' });
    }
    if (opts.kind === 'reel' || (part.media.length === 1 && part.media[0]!.mimeType.startsWith('video/'))) {
      return createContainer(api, {
        media_type: 'REELS',
        video_url: await urlOf(part.media[0]!),
        caption,
        share_to_feed: opts.shareToFeed,
        collaborators,
      });
    }
    if (part.media.length === 1) {
      const m = part.media[0]!;
      return createContainer(api, { image_url: await urlOf(m), caption, alt_text: m.altText, collaborators });
    }
    // A carousel: each item's container journaled as it is made, then the carousel's.
    steps.children ??= [];
    for (let j = steps.children.length; j < part.media.length; j++) {
      const m = part.media[j]!;
      steps.children.push(
        await createContainer(api, {
          is_carousel_item: true,
          ...(await mediaParams(m, 'VIDEO')),
          ...(m.mimeType.startsWith('video/') ? {} : { alt_text: m.altText }),
        }),
      );
      await record();
    }
    for (const child of steps.children) await waitUntilReady(api, child);
    return createContainer(api, { media_type: 'CAROUSEL', children: steps.children.join(','), caption, collaborators });
  }

  async function publish(
    account: AccountContext,
    input: PublishInput,
    _key: string,
    journal?: StepJournal,
  ): Promise<PublishResult> {
    const issues = validate(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to Instagram: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const opts = parseOptions(input.options).options;
    const api = containersFor(account);
    const state = await loadState(journal);
    const steps = (state.parts[0] ??= {});
    const record = () => saveState(journal, state);
    if (!steps.container && !steps.media) {
      // The quota Meta keeps for the account (rolling 24 h): a post past it would be refused
      // at media_publish after its containers were made.
      const limit = await readPublishingLimit(api.t, account.externalId);
      if (limit.used >= limit.total) {
        const retryAt = new Date(Date.now() + 60 * 60_000);
        throw new RateLimited(
          `@${account.handle} has published ${limit.used} of the ${limit.total} posts Instagram allows in ${Math.round(limit.durationS / 3600)} h; Herald tries again after ${retryAt.toISOString()}`,
          retryAt,
          { platform: PLATFORM, reason: 'publishing_quota' },
        );
      }
    }
    const mediaId = await publishPartOnce(
      api,
      steps,
      record,
      () => buildContainer(api, input, opts, steps, record),
      async () => {
        const found = await findByCaption(account, input, new Date(Date.now() - 24 * 60 * 60_000));
        if (!found) throw unfindable();
        return found.id;
      },
      journal ? async () => (await loadState(journal)).parts[0] : undefined,
    );
    return resultFor(account, mediaId);
  }

  const unfindable = () =>
    new PermanentError(
      'Instagram reports the post published, but Herald cannot find it among the account’s media to record its id',
      { platform: PLATFORM, reason: 'lookup_unavailable' },
    );

  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: StepJournal,
  ): Promise<PublishResult | null> {
    const state = await loadState(journal);
    const steps = state.parts[0];
    if (steps?.media) return resultFor(account, steps.media);
    if (steps?.container) {
      // The container says whether media_publish went through; anything but PUBLISHED means
      // it did not (the next attempt publishes this same container).
      const { status } = await containerStatus(containersFor(account), steps.container);
      if (status !== 'PUBLISHED') return null;
      const found = await findByCaption(account, input, since);
      if (!found) throw unfindable();
      steps.media = found.id;
      await saveState(journal, state);
      return resultFor(account, found.id, found.permalink);
    }
    // With a journal, no container journaled means none was ever published for this target:
    // an earlier post with the same caption is another post.
    if (journal) return null;
    const found = await findByCaption(account, input, since);
    return found ? resultFor(account, found.id, found.permalink) : null;
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate,
    publish,
    lookup,
    async checkStatus(account, platformPostId) {
      const res = await graphRequest(transportFor(account), {
        method: 'GET',
        path: `/${encodeURIComponent(platformPostId)}`,
        params: { fields: 'id' },
        accept: [404],
      });
      return res.status === 404 ? 'failed' : 'published';
    },
    async delete(account, platformPostId) {
      await graphRequest(transportFor(account), {
        method: 'DELETE',
        path: `/${encodeURIComponent(platformPostId)}`,
        accept: [404],
      });
    },
    async refresh(account) {
      if (account.metadata.login === 'facebook') {
        throw new AuthExpired(
          'Meta does not refresh Facebook Login tokens; reconnect the Instagram account before its 60 days are up',
          { platform: PLATFORM, reconnect: true },
        );
      }
      const creds = parseMetaCredentials(PLATFORM, account.credentials);
      if (refreshableNow(PLATFORM, creds) === 'too_young') {
        return { credentials: { ...creds }, expiresAt: creds.expiresAt ? new Date(creds.expiresAt) : null };
      }
      const grant = await refreshLongLived(urls, timeoutMs, creds.accessToken);
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const v = await insightValues(transportFor(account), platformPostId, ['likes', 'comments', 'shares', 'views']);
      return {
        likes: v.likes ?? 0,
        reposts: v.shares ?? 0,
        replies: v.comments ?? 0,
        ...(v.views !== undefined ? { impressions: v.views } : {}),
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await graphRequest(transportFor(account), {
        method: 'GET',
        path: `/${encodeURIComponent(account.externalId)}`,
        params: { fields: 'followers_count,follows_count,media_count' },
      });
      const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : null);
      return {
        followers: n(res.body.followers_count),
        following: n(res.body.follows_count),
        posts: n(res.body.media_count),
        fetchedAt: new Date(),
      };
    },
  };
}

export const isInstagramQuotaError = (err: unknown) =>
  isConnectorError(err) && err.kind === 'rate_limited' && err.reason === 'publishing_quota';
