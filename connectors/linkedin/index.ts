/**
 * The LinkedIn connector (REST Posts API, plain `fetch`): text posts in LinkedIn's escaped
 * "little text", images (one, or a multi-image post of up to 20), documents, article links,
 * posts as the member or as a page they administer, delete, metrics (member post analytics
 * or organization share statistics), lookup of the author's posts to confirm an uncertain
 * publish (LinkedIn takes no idempotency key), and token refresh for apps LinkedIn allows it.
 */
import type {
  AccountContext,
  AccountStats,
  Connector,
  Draft,
  PostMetrics,
  PublishInput,
  PublishResult,
} from '../contract.js';
import { InvalidContent, PermanentError, TransientError, isConnectorError } from '../errors.js';
import {
  DEFAULT_API_URL,
  DEFAULT_LINKEDIN_VERSION,
  DEFAULT_OAUTH_URL,
  DEFAULT_TIMEOUT_MS,
  liRequest,
  type Transport,
} from './client.js';
import { PLATFORM } from './errors.js';
import { capabilities, isDocument, parsePostOptions, validateDraft, type LinkedInPostOptions } from './limits.js';
import { toLittleText } from './little-text.js';
import { uploadAsset } from './media.js';
import { MEMBER_SCOPES, parseCredentials, refreshCredentials, type LinkedInApp } from './oauth.js';

export { capabilities, validateDraft, TEXT_MAX } from './limits.js';
export { toLittleText } from './little-text.js';
export * from './oauth.js';
export {
  DEFAULT_API_URL,
  DEFAULT_OAUTH_URL,
  DEFAULT_LINKEDIN_VERSION,
  checkLinkedInVersion,
  versionSunset,
  type VersionCheck,
} from './client.js';

export interface LinkedInConnectorOptions {
  clientId: string;
  clientSecret: string;
  /** Default `https://api.linkedin.com`. */
  apiUrl?: string;
  /** Where `/oauth/v2/*` lives. Default `https://www.linkedin.com`. */
  oauthUrl?: string;
  /** `LinkedIn-Version` header (YYYYMM). Default {@link DEFAULT_LINKEDIN_VERSION}. */
  version?: string;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Longest wait for one upload PUT, ms. Default 120 s. */
  uploadTimeoutMs?: number;
  /** Interval between asset status checks, ms. Default 1 s. */
  mediaPollIntervalMs?: number;
  /** Give up on an asset still processing after this long, ms. Default 120 s. */
  mediaPollTimeoutMs?: number;
}

interface PostJson {
  id: string;
  author?: string;
  commentary?: string;
  createdAt?: number;
  lifecycleState?: string;
  content?: {
    media?: { id?: string };
    multiImage?: { images?: unknown[] };
    article?: { source?: string };
  };
}

const isPost = (v: unknown): v is PostJson =>
  typeof v === 'object' && v !== null && typeof (v as PostJson).id === 'string';

const mediaCountOf = (p: PostJson) => p.content?.multiImage?.images?.length ?? (p.content?.media?.id ? 1 : 0);

/** Posts one lookup reads (newest first): an uncertain attempt is recent. */
export const LOOKUP_COUNT = 20;

export const postUrl = (urn: string) => `https://www.linkedin.com/feed/update/${urn}/`;

/**
 * The `entity` of a member post analytics call: the post's URN inside the Rest.li union member
 * for its type (`share` for `urn:li:share:…`, `ugc` for `urn:li:ugcPost:…`), the URN encoded
 * and the parentheses kept, ready for `rawQuery`.
 */
export function memberPostEntity(urn: string): string {
  const member = urn.startsWith('urn:li:ugcPost:') ? 'ugc' : 'share';
  return `(${member}:${encodeURIComponent(urn)})`;
}

/** The author a post goes out as: a page from the options, else the account's own URN. */
export function authorOf(account: Pick<AccountContext, 'externalId' | 'metadata'>, opts: LinkedInPostOptions): string {
  if (opts.organization) return opts.organization;
  const own = account.metadata.authorUrn;
  return typeof own === 'string' && own.startsWith('urn:li:') ? own : `urn:li:person:${account.externalId}`;
}

function contentOf(mediaUrns: string[], input: PublishInput, opts: LinkedInPostOptions): Record<string, unknown> {
  const media = input.parts[0]!.media;
  if (opts.article) {
    return {
      article: {
        source: opts.article.url,
        title: opts.article.title,
        ...(opts.article.description ? { description: opts.article.description } : {}),
      },
    };
  }
  if (mediaUrns.length === 1 && isDocument(media[0]!.mimeType))
    return { media: { id: mediaUrns[0], title: opts.documentTitle ?? 'Document' } };
  if (mediaUrns.length === 1)
    return { media: { id: mediaUrns[0], ...(media[0]!.altText ? { altText: media[0]!.altText } : {}) } };
  if (mediaUrns.length > 1) {
    return {
      multiImage: {
        images: mediaUrns.map((id, i) => ({ id, ...(media[i]!.altText ? { altText: media[i]!.altText } : {}) })),
      },
    };
  }
  return {};
}

export function createLinkedInConnector(options: LinkedInConnectorOptions): Connector {
  const apiUrl = options.apiUrl ?? DEFAULT_API_URL;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const version = options.version ?? DEFAULT_LINKEDIN_VERSION;
  const upload = {
    uploadTimeoutMs: options.uploadTimeoutMs ?? 120_000,
    pollIntervalMs: options.mediaPollIntervalMs ?? 1_000,
    pollTimeoutMs: options.mediaPollTimeoutMs ?? 120_000,
  };
  const app: LinkedInApp = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: '',
    apiUrl,
    oauthUrl: options.oauthUrl ?? DEFAULT_OAUTH_URL,
    scopes: MEMBER_SCOPES,
    version,
    timeoutMs,
  };

  const transportFor = (account: Pick<AccountContext, 'credentials'>): Transport => {
    const c = parseCredentials(account.credentials);
    return { apiUrl, timeoutMs, version, accessToken: c.accessToken, canRefresh: !!c.refreshToken };
  };

  async function publish(account: AccountContext, input: PublishInput): Promise<PublishResult> {
    const issues = validateDraft(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to LinkedIn: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const t = transportFor(account);
    const opts = parsePostOptions(input.options, account.metadata).options;
    const author = authorOf(account, opts);
    const part = input.parts[0]!;
    const mediaUrns: string[] = [];
    try {
      for (const [j, m] of part.media.entries())
        mediaUrns.push(await uploadAsset(t, author, m, `media ${j + 1}`, upload));
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
    const content = contentOf(mediaUrns, input, opts);
    const res = await liRequest(t, {
      method: 'POST',
      path: '/rest/posts',
      json: {
        author,
        commentary: toLittleText(part.text),
        visibility: opts.visibility ?? 'PUBLIC',
        distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
        ...(Object.keys(content).length ? { content } : {}),
        lifecycleState: 'PUBLISHED',
        isReshareDisabledByAuthor: false,
      },
    });
    const urn = res.headers.get('x-restli-id');
    if (!urn) {
      throw new TransientError("LinkedIn's answer to the new post carried no post id", {
        platform: PLATFORM,
        status: res.status,
        mayHaveSucceeded: true,
      });
    }
    const url = postUrl(urn);
    return { status: 'published', platformPostId: urn, url, parts: [{ index: 0, platformPostId: urn, url }] };
  }

  /**
   * The earlier post is recognised among the author's posts created at or after `since`: the
   * same escaped commentary and the same number of media.
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
  ): Promise<PublishResult | null> {
    const opts = parsePostOptions(input.options, account.metadata).options;
    const author = authorOf(account, opts);
    const res = await liRequest<{ elements?: unknown[] }>(transportFor(account), {
      method: 'GET',
      path: '/rest/posts',
      query: { q: 'author', author, count: LOOKUP_COUNT, sortBy: 'CREATED' },
    }).catch((err: unknown) => {
      if (!isConnectorError(err) || err.reason !== 'permission_missing' || !author.startsWith('urn:li:person:'))
        throw err;
      // A member's posts need r_member_social, which LinkedIn grants to approved apps only:
      // without it Herald cannot tell whether the post is there, so it must not say "not there".
      throw new PermanentError(
        "LinkedIn lets only approved apps read a member's posts (the r_member_social permission), so Herald cannot check whether the earlier attempt published this post",
        { platform: PLATFORM, status: err.status ?? 403, reason: 'lookup_unavailable', cause: err },
      );
    });
    const part = input.parts[0];
    if (!part) return null;
    const commentary = toLittleText(part.text);
    const posts = (Array.isArray(res.body?.elements) ? res.body.elements : []).filter(isPost);
    const found = posts.find(
      (p) =>
        (p.createdAt ?? 0) >= since.getTime() &&
        p.lifecycleState !== 'DELETED' &&
        (p.commentary ?? '') === commentary &&
        mediaCountOf(p) === part.media.length,
    );
    if (!found && posts.length >= LOOKUP_COUNT && posts.every((p) => (p.createdAt ?? 0) >= since.getTime())) {
      // A full page, all since the attempt: older ones were not read, so "not there" is not known.
      throw new PermanentError(
        `LinkedIn holds more than ${LOOKUP_COUNT} posts by this author since the attempt; Herald does not read further, so it cannot be sure whether the post is there`,
        { platform: PLATFORM, reason: 'lookup_unavailable' },
      );
    }
    if (!found) return null;
    const url = postUrl(found.id);
    return { status: 'published', platformPostId: found.id, url, parts: [{ index: 0, platformPostId: found.id, url }] };
  }

  /** The post, null when gone, `unreadable` when the app may not read it (a member's post without r_member_social). */
  async function getPost(account: AccountContext, urn: string): Promise<PostJson | null | 'unreadable'> {
    try {
      const res = await liRequest(transportFor(account), {
        method: 'GET',
        path: `/rest/posts/${encodeURIComponent(urn)}`,
        accept: [404],
      });
      return res.status === 200 && isPost(res.body) ? res.body : null;
    } catch (err) {
      if (isConnectorError(err) && err.reason === 'permission_missing') return 'unreadable';
      throw err;
    }
  }

  async function fetchMetrics(account: AccountContext, urn: string): Promise<PostMetrics> {
    const post = await getPost(account, urn);
    if (!post) throw new InvalidContent(`LinkedIn has no post ${urn}`, { platform: PLATFORM, status: 404 });
    const t = transportFor(account);
    const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : 0);
    const kind = urn.startsWith('urn:li:ugcPost:') ? 'ugcPost' : 'share';
    if (post !== 'unreadable' && post.author?.startsWith('urn:li:organization:')) {
      const res = await liRequest<{ elements?: Array<{ totalShareStatistics?: Record<string, unknown> }> }>(t, {
        method: 'GET',
        path: '/rest/organizationalEntityShareStatistics',
        query: { q: 'organizationalEntity', organizationalEntity: post.author },
        rawQuery: `${kind === 'share' ? 'shares' : 'ugcPosts'}=List(${encodeURIComponent(urn)})`,
      });
      const s = res.body?.elements?.[0]?.totalShareStatistics ?? {};
      return {
        likes: n(s.likeCount),
        reposts: n(s.shareCount),
        replies: n(s.commentCount),
        impressions: n(s.impressionCount),
        fetchedAt: new Date(),
      };
    }
    // A member's post: `entity` names the post as a Rest.li union of its URN type,
    // `(share:urn%3Ali%3Ashare%3A…)` or `(ugc:urn%3Ali%3AugcPost%3A…)`, as the page's sample
    // requests send it, and the call needs r_member_postAnalytics
    // (learn.microsoft.com/en-us/linkedin/marketing/community-management/members/post-statistics).
    const count = async (queryType: string) => {
      const res = await liRequest<{ elements?: Array<{ count?: unknown }> }>(t, {
        method: 'GET',
        path: '/rest/memberCreatorPostAnalytics',
        query: { q: 'entity', queryType, aggregation: 'TOTAL' },
        rawQuery: `entity=${memberPostEntity(urn)}`,
      }).catch((err: unknown) => {
        if (!isConnectorError(err) || err.reason !== 'permission_missing') throw err;
        throw new PermanentError(
          "LinkedIn's member post analytics need the r_member_postAnalytics permission (Community Management API): add it to LINKEDIN_SCOPES and reconnect the account",
          { platform: PLATFORM, status: err.status ?? 403, reason: 'permission_missing', cause: err },
        );
      });
      return (res.body?.elements ?? []).reduce((sum, e) => sum + n(e.count), 0);
    };
    const [likes, replies, reposts, impressions] = [
      await count('REACTION'),
      await count('COMMENT'),
      await count('RESHARE'),
      await count('IMPRESSION'),
    ];
    return { likes, reposts, replies, impressions, fetchedAt: new Date() };
  }

  /**
   * The account's audience. A page account (its `authorUrn` an organization) reads the page's
   * follower count from the Organization Network Size API (`GET /rest/networkSizes/{urn}
   * ?edgeType=COMPANY_FOLLOWED_BY_MEMBER`, which replaced `totalFollowerCounts` in follower
   * statistics; needs rw_organization_admin and an admin role); a member reads their own from
   * `GET /rest/memberFollowersCount?q=me` (r_member_profileAnalytics, Community Management
   * API). LinkedIn reports neither whom an account follows nor how many posts it made.
   */
  async function fetchAccountStats(account: AccountContext): Promise<AccountStats> {
    const t = transportFor(account);
    const n = (v: unknown) => (typeof v === 'number' && v >= 0 ? v : null);
    const own = account.metadata.authorUrn;
    const missing = (err: unknown, what: string): never => {
      if (!isConnectorError(err) || err.reason !== 'permission_missing') throw err;
      throw new PermanentError(what, {
        platform: PLATFORM,
        status: err.status ?? 403,
        reason: 'permission_missing',
        cause: err,
      });
    };
    if (typeof own === 'string' && own.startsWith('urn:li:organization:')) {
      const res = await liRequest<{ firstDegreeSize?: unknown }>(t, {
        method: 'GET',
        path: `/rest/networkSizes/${encodeURIComponent(own)}`,
        query: { edgeType: 'COMPANY_FOLLOWED_BY_MEMBER' },
      }).catch((err: unknown) =>
        missing(
          err,
          `LinkedIn's page follower count needs the rw_organization_admin permission and an administrator role on ${own}`,
        ),
      );
      return { followers: n(res.body?.firstDegreeSize), following: null, posts: null, fetchedAt: new Date() };
    }
    const res = await liRequest<{ elements?: Array<{ memberFollowersCount?: unknown }> }>(t, {
      method: 'GET',
      path: '/rest/memberFollowersCount',
      query: { q: 'me' },
    }).catch((err: unknown) =>
      missing(
        err,
        "LinkedIn's member follower count needs the r_member_profileAnalytics permission (Community Management API): add it to LINKEDIN_SCOPES and reconnect the account",
      ),
    );
    return {
      followers: n(res.body?.elements?.[0]?.memberFollowersCount),
      following: null,
      posts: null,
      fetchedAt: new Date(),
    };
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate: validateDraft,
    publish: (account, input) => publish(account, input),
    lookup,
    async checkStatus(account, urn) {
      const post = await getPost(account, urn);
      // Unreadable: LinkedIn gave the URN when it created the post, and it may not be read back.
      if (post === 'unreadable') return 'published';
      return post && post.lifecycleState !== 'DELETED' ? 'published' : 'failed';
    },
    async delete(account, urn) {
      await liRequest(transportFor(account), {
        method: 'DELETE',
        path: `/rest/posts/${encodeURIComponent(urn)}`,
        headers: { 'x-restli-method': 'DELETE' },
        accept: [404],
      });
    },
    async refresh(account) {
      const grant = await refreshCredentials(app, parseCredentials(account.credentials));
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    fetchMetrics,
    fetchAccountStats,
  };
}
