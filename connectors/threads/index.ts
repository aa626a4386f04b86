/**
 * The Threads connector (developers.facebook.com/docs/threads): text, image, video and
 * carousel posts through the same container flow as Instagram (`connectors/meta/
 * containers.ts`: every container and post id journaled before the next step, a container
 * Threads reports PUBLISHED never published again), Herald threads as reply chains
 * (`reply_to_id`), quote posts and reply control as options, the profile's quota read from
 * `threads_publishing_limit`, insights, and long-lived tokens refreshed with `th_refresh_token`.
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
  PublishedPart,
} from '../contract.js';
import { ConnectorError, InvalidContent, PermanentError, RateLimited } from '../errors.js';
import {
  containerStatus,
  createContainer,
  loadState,
  publishPartOnce,
  saveState,
  waitUntilReady,
  type ContainerApi,
  type StepJournal,
} from '../meta/containers.js';
import { DEFAULT_TIMEOUT_MS, graphRequest, type GraphTransport } from '../meta/graph.js';
import { insightValues } from '../meta/insights.js';
import type { MediaUrls } from '../meta/media-urls.js';
import { parseMetaCredentials, refreshableNow } from '../meta/tokens.js';
import { capabilities, parseOptions, PLATFORM, validateDraft, type ThreadsOptions } from './limits.js';
import { DEFAULT_THREADS_URLS, readThreadsLimit, refreshThreadsToken, type ThreadsUrls } from './oauth.js';

export { capabilities, validateDraft, countThreadsText } from './limits.js';
export * from './oauth.js';

export interface ThreadsConnectorOptions {
  urls?: ThreadsUrls;
  timeoutMs?: number;
  mediaUrls?: MediaUrls;
  /** Between container status reads, ms. Default 5 s. */
  pollIntervalMs?: number;
  /** Longest wait for a container within one attempt, ms. Default 5 min (Meta's advice). */
  pollTimeoutMs?: number;
}

interface ThreadJson {
  id: string;
  text?: string;
  timestamp?: string;
  permalink?: string;
  is_reply?: boolean;
  replied_to?: { id?: string };
}

export function createThreadsConnector(options: ThreadsConnectorOptions = {}): Connector {
  const urls = options.urls ?? DEFAULT_THREADS_URLS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const validate = (account: Pick<AccountContext, 'metadata'>, draft: Draft) =>
    validateDraft(account, draft, { mediaUrls: !!options.mediaUrls });

  const transportFor = (account: Pick<AccountContext, 'credentials'>): GraphTransport => ({
    platform: PLATFORM,
    apiUrl: urls.apiUrl,
    timeoutMs,
    accessToken: parseMetaCredentials(PLATFORM, account.credentials).accessToken,
  });
  const containersFor = (account: AccountContext): ContainerApi => ({
    platform: PLATFORM,
    t: transportFor(account),
    createPath: `/${encodeURIComponent(account.externalId)}/threads`,
    publishPath: `/${encodeURIComponent(account.externalId)}/threads_publish`,
    statusFields: 'status,error_message',
    readStatus: (b) => ({
      status: typeof b.status === 'string' ? b.status : 'IN_PROGRESS',
      detail: typeof b.error_message === 'string' ? b.error_message : undefined,
    }),
    pollIntervalMs: options.pollIntervalMs ?? 5_000,
    pollTimeoutMs: options.pollTimeoutMs ?? 5 * 60_000,
  });
  const urlOf = (m: MediaInput) => {
    if (!options.mediaUrls) {
      throw new InvalidContent('Threads downloads media from a public URL, and this Herald has none (set PUBLIC_URL)', {
        platform: PLATFORM,
        reason: 'media_url_unavailable',
      });
    }
    return options.mediaUrls.urlFor(m);
  };
  const mediaParams = async (m: MediaInput) =>
    m.mimeType.startsWith('video/')
      ? { media_type: 'VIDEO', video_url: await urlOf(m), alt_text: m.altText }
      : { media_type: 'IMAGE', image_url: await urlOf(m), alt_text: m.altText };

  async function build(
    api: ContainerApi,
    part: PublishInput['parts'][number],
    index: number,
    replyTo: string | undefined,
    opts: ThreadsOptions,
    steps: { children?: string[] },
    record: () => Promise<void>,
  ): Promise<string> {
    const common = {
      text: part.text === '' ? undefined : part.text,
      reply_to_id: replyTo,
      reply_control: opts.replyControl,
      quote_post_id: index === 0 ? opts.quotePostId : undefined,
    };
    if (part.media.length === 0) return createContainer(api, { media_type: 'TEXT', ...common });
    if (part.media.length === 1) return createContainer(api, { ...(await mediaParams(part.media[0]!)), ...common });
    steps.children ??= [];
    for (let j = steps.children.length; j < part.media.length; j++) {
      steps.children.push(
        await createContainer(api, { ...(await mediaParams(part.media[j]!)), is_carousel_item: true }),
      );
      await record();
    }
    for (const child of steps.children) await waitUntilReady(api, child);
    return createContainer(api, { media_type: 'CAROUSEL', children: steps.children.join(','), ...common });
  }

  /** The profile's posts (part 0) or replies (later parts) since `since`, newest first. */
  async function recent(account: AccountContext, edge: 'threads' | 'replies', since: Date): Promise<ThreadJson[]> {
    const res = await graphRequest<{ data?: ThreadJson[] }>(transportFor(account), {
      method: 'GET',
      path: `/${encodeURIComponent(account.externalId)}/${edge}`,
      params: {
        fields: 'id,text,timestamp,permalink,is_reply,replied_to',
        since: Math.floor(since.getTime() / 1000),
        limit: 100,
      },
    });
    return (res.body.data ?? []).filter((t) => typeof t.id === 'string');
  }

  /** The post of part `i` (its text, replying to `replyTo`) since `since`; two equal ones cannot be told apart. */
  async function findPart(
    account: AccountContext,
    text: string,
    i: number,
    replyTo: string | undefined,
    since: Date,
  ): Promise<ThreadJson | null> {
    const list = await recent(account, i === 0 && !replyTo ? 'threads' : 'replies', since);
    const matches = list.filter(
      (t) => (t.text ?? '').trim() === text.trim() && (replyTo ? t.replied_to?.id === replyTo : !t.is_reply),
    );
    if (matches.length > 1) {
      throw new PermanentError(
        `Threads shows ${matches.length} posts with the text of part ${i + 1} since the attempt; Herald cannot tell which one it made`,
        { platform: PLATFORM, reason: 'lookup_unavailable' },
      );
    }
    return matches[0] ?? null;
  }

  async function permalink(account: AccountContext, id: string): Promise<string | null> {
    const res = await graphRequest(transportFor(account), {
      method: 'GET',
      path: `/${encodeURIComponent(id)}`,
      params: { fields: 'permalink' },
    }).catch(() => null);
    return typeof res?.body.permalink === 'string' ? res.body.permalink : null;
  }

  const resultOf = (parts: PublishedPart[]): PublishResult => ({
    status: 'published',
    platformPostId: parts[0]!.platformPostId,
    url: parts[0]!.url,
    parts,
  });

  async function publish(
    account: AccountContext,
    input: PublishInput,
    _key: string,
    journal?: StepJournal,
  ): Promise<PublishResult> {
    const issues = validate(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to Threads: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const opts = parseOptions(input.options).options;
    const api = containersFor(account);
    const state = await loadState(journal);
    const record = () => saveState(journal, state);
    const published: PublishedPart[] = [];
    for (const [i, part] of input.parts.entries()) {
      const steps = (state.parts[i] ??= {});
      const replyTo = i === 0 ? opts.replyToId : published[i - 1]!.platformPostId;
      try {
        if (!steps.container && !steps.media) {
          const limit = await readThreadsLimit(api.t, account.externalId);
          if (limit.used >= limit.total) {
            const retryAt = new Date(Date.now() + 60 * 60_000);
            throw new RateLimited(
              `@${account.handle} has published ${limit.used} of the ${limit.total} posts Threads allows in 24 h; Herald tries again after ${retryAt.toISOString()}`,
              retryAt,
              { platform: PLATFORM, reason: 'publishing_quota' },
            );
          }
        }
        const id = await publishPartOnce(
          api,
          steps,
          record,
          () => build(api, part, i, replyTo, opts, steps, record),
          async () => {
            const found = await findPart(account, part.text, i, replyTo, new Date(Date.now() - 24 * 60 * 60_000));
            if (!found) {
              throw new PermanentError(
                `Threads reports part ${i + 1} published, but Herald cannot find it to record its id`,
                { platform: PLATFORM, reason: 'lookup_unavailable' },
              );
            }
            return found.id;
          },
          journal ? async () => (await loadState(journal)).parts[i] : undefined,
        );
        published.push({ index: i, platformPostId: id, url: await permalink(account, id) });
      } catch (err) {
        if (i === 0 || !(err instanceof ConnectorError)) throw err;
        throw err.inPart(i, [...published]);
      }
    }
    return resultOf(published);
  }

  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: StepJournal,
  ): Promise<PublishResult | null> {
    const opts = parseOptions(input.options).options;
    const state = await loadState(journal);
    const api = containersFor(account);
    const parts: PublishedPart[] = [];
    for (const [i, part] of input.parts.entries()) {
      const replyTo = i === 0 ? opts.replyToId : parts[i - 1]!.platformPostId;
      let id: string | undefined;
      if (journal) {
        const steps = state.parts[i];
        if (steps?.media) id = steps.media;
        else if (steps?.container && (await containerStatus(api, steps.container)).status === 'PUBLISHED') {
          id = (await findPart(account, part.text, i, replyTo, since))?.id;
          if (!id) {
            throw new PermanentError(`Threads reports part ${i + 1} published, but Herald cannot find it`, {
              platform: PLATFORM,
              reason: 'lookup_unavailable',
            });
          }
          steps.media = id;
          await saveState(journal, state);
        }
      } else {
        id = (await findPart(account, part.text, i, replyTo, since))?.id;
      }
      if (!id) break;
      parts.push({ index: i, platformPostId: id, url: await permalink(account, id) });
    }
    return parts.length ? resultOf(parts) : null;
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
        accept: [400, 404],
      });
      return res.status === 200 ? 'published' : 'failed';
    },
    async delete(account, platformPostId) {
      await graphRequest(transportFor(account), { method: 'DELETE', path: `/${encodeURIComponent(platformPostId)}` });
    },
    async refresh(account) {
      const creds = parseMetaCredentials(PLATFORM, account.credentials);
      if (refreshableNow(PLATFORM, creds) === 'too_young') {
        return { credentials: { ...creds }, expiresAt: creds.expiresAt ? new Date(creds.expiresAt) : null };
      }
      const grant = await refreshThreadsToken(urls, timeoutMs, creds.accessToken);
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const v = await insightValues(transportFor(account), platformPostId, [
        'views',
        'likes',
        'replies',
        'reposts',
        'quotes',
      ]);
      return {
        likes: v.likes ?? 0,
        reposts: v.reposts ?? 0,
        replies: v.replies ?? 0,
        ...(v.quotes !== undefined ? { quotes: v.quotes } : {}),
        ...(v.views !== undefined ? { impressions: v.views } : {}),
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await graphRequest<{ data?: Array<Record<string, unknown>> }>(transportFor(account), {
        method: 'GET',
        path: `/${encodeURIComponent(account.externalId)}/threads_insights`,
        params: { metric: 'followers_count' },
      });
      const row = res.body.data?.find((d) => d.name === 'followers_count');
      const total = Number((row?.total_value as { value?: unknown } | undefined)?.value);
      return { followers: Number.isFinite(total) ? total : null, following: null, posts: null, fetchedAt: new Date() };
    },
  };
}
