/**
 * The Facebook Pages connector (Pages API): text and link posts (`POST /{page-id}/feed`),
 * photo posts (each photo uploaded unpublished with `POST /{page-id}/photos`, its id
 * journaled, then attached to one feed post with `attached_media`), video posts
 * (`POST /{page-id}/videos`), a first comment (journaled so it is made once), metrics from the
 * post's reactions, comments and shares, and the Page's followers. Meta's refusals — a
 * duplicate (506), posting too fast (368), a lost permission (10, 200-299) — are mapped by
 * `connectors/meta/errors.ts`. Pages take no idempotency key: an uncertain publish is looked
 * up among the Page's posts since the attempt, by its message.
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
import { InvalidContent, PermanentError } from '../errors.js';
import { loadState, saveState, type StepJournal } from '../meta/containers.js';
import { DEFAULT_TIMEOUT_MS, graphRequest, idOf, type GraphTransport } from '../meta/graph.js';
import type { MediaUrls } from '../meta/media-urls.js';
import { parseMetaCredentials } from '../meta/tokens.js';
import { capabilities, parseOptions, PLATFORM, validateDraft } from './limits.js';

export { capabilities, validateDraft } from './limits.js';
export * from './oauth.js';

export const FACEBOOK_GRAPH_VERSION = 'v23.0';

export interface FacebookConnectorOptions {
  /** `https://graph.facebook.com/v23.0`, or a test double's. */
  apiUrl?: string;
  timeoutMs?: number;
  mediaUrls?: MediaUrls;
}

interface PostJson {
  id: string;
  message?: string;
  description?: string;
  created_time?: string;
  permalink_url?: string;
}

export function createFacebookConnector(options: FacebookConnectorOptions = {}): Connector {
  const apiUrl = options.apiUrl ?? `https://graph.facebook.com/${FACEBOOK_GRAPH_VERSION}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const validate = (account: Pick<AccountContext, 'metadata'>, draft: Draft) =>
    validateDraft(account, draft, { mediaUrls: !!options.mediaUrls });
  const transportFor = (account: Pick<AccountContext, 'credentials'>): GraphTransport => ({
    platform: PLATFORM,
    apiUrl,
    timeoutMs,
    accessToken: parseMetaCredentials(PLATFORM, account.credentials).accessToken,
  });
  const urlOf = (m: MediaInput) => {
    if (!options.mediaUrls) {
      throw new InvalidContent(
        'Facebook downloads media from a public URL, and this Herald has none (set PUBLIC_URL)',
        {
          platform: PLATFORM,
          reason: 'media_url_unavailable',
        },
      );
    }
    return options.mediaUrls.urlFor(m);
  };
  const page = (account: AccountContext) => `/${encodeURIComponent(account.externalId)}`;

  async function resultFor(account: AccountContext, id: string): Promise<PublishResult> {
    const res = await graphRequest(transportFor(account), {
      method: 'GET',
      path: `/${encodeURIComponent(id)}`,
      params: { fields: 'permalink_url' },
    }).catch(() => null);
    const url = typeof res?.body.permalink_url === 'string' ? res.body.permalink_url : null;
    return { status: 'published', platformPostId: id, url, parts: [{ index: 0, platformPostId: id, url }] };
  }

  async function publish(
    account: AccountContext,
    input: PublishInput,
    _key: string,
    journal?: StepJournal,
  ): Promise<PublishResult> {
    const issues = validate(account, input);
    if (issues.length > 0) {
      throw new InvalidContent(`The post cannot go to Facebook: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    }
    const opts = parseOptions(input.options).options;
    const t = transportFor(account);
    const state = await loadState(journal);
    const steps = (state.parts[0] ??= {});
    const record = () => saveState(journal, state);
    const part = input.parts[0]!;
    if (!steps.media) {
      const video = part.media.find((m) => m.mimeType.startsWith('video/'));
      if (video) {
        const res = await graphRequest(t, {
          method: 'POST',
          path: `${page(account)}/videos`,
          params: { file_url: await urlOf(video), description: part.text || undefined },
        });
        steps.media = idOf(PLATFORM, res, 'POST /{page-id}/videos');
      } else {
        // Photos first, unpublished, each id journaled: a retry attaches the same photos.
        steps.children ??= [];
        for (let j = steps.children.length; j < part.media.length; j++) {
          const m = part.media[j]!;
          const res = await graphRequest(t, {
            method: 'POST',
            path: `${page(account)}/photos`,
            params: { url: await urlOf(m), published: false, alt_text_custom: m.altText },
          });
          steps.children.push(idOf(PLATFORM, res, 'POST /{page-id}/photos'));
          await record();
        }
        const attached: Record<string, string> = {};
        steps.children.forEach((id, i) => (attached[`attached_media[${i}]`] = JSON.stringify({ media_fbid: id })));
        const res = await graphRequest(t, {
          method: 'POST',
          path: `${page(account)}/feed`,
          params: { message: part.text || undefined, link: opts.link, ...attached },
        });
        steps.media = idOf(PLATFORM, res, 'POST /{page-id}/feed');
      }
      await record();
    }
    if (opts.firstComment && !steps.comment) {
      const res = await graphRequest(t, {
        method: 'POST',
        path: `/${encodeURIComponent(steps.media)}/comments`,
        params: { message: opts.firstComment },
      });
      steps.comment = idOf(PLATFORM, res, 'POST /{post-id}/comments');
      await record();
    }
    return resultFor(account, steps.media);
  }

  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: StepJournal,
  ): Promise<PublishResult | null> {
    const state = await loadState(journal);
    if (state.parts[0]?.media) return resultFor(account, state.parts[0].media);
    const part = input.parts[0];
    const video = part?.media.some((m) => m.mimeType.startsWith('video/'));
    const res = await graphRequest<{ data?: PostJson[] }>(transportFor(account), {
      method: 'GET',
      path: `${page(account)}/${video ? 'videos' : 'posts'}`,
      params: {
        fields: video ? 'id,description,created_time' : 'id,message,created_time',
        since: Math.floor(since.getTime() / 1000),
        limit: 100,
      },
    });
    const text = (part?.text ?? '').trim();
    const matches = (res.body.data ?? []).filter((p) => ((video ? p.description : p.message) ?? '').trim() === text);
    if (matches.length > 1) {
      throw new PermanentError(
        `The Page shows ${matches.length} posts with this text since the attempt; Herald cannot tell which one it made`,
        { platform: PLATFORM, reason: 'lookup_unavailable' },
      );
    }
    return matches[0] ? resultFor(account, matches[0].id) : null;
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
      // A Page token read with a long-lived user token does not expire; a revoked one is a
      // 190 on use, which asks for reconnecting.
      const creds = parseMetaCredentials(PLATFORM, account.credentials);
      return { credentials: { ...creds }, expiresAt: null };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const res = await graphRequest(transportFor(account), {
        method: 'GET',
        path: `/${encodeURIComponent(platformPostId)}`,
        params: { fields: 'reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares' },
      });
      const total = (v: unknown) => {
        const n = Number((v as { summary?: { total_count?: unknown } } | undefined)?.summary?.total_count);
        return Number.isFinite(n) && n >= 0 ? n : 0;
      };
      const shares = Number((res.body.shares as { count?: unknown } | undefined)?.count);
      return {
        likes: total(res.body.reactions),
        replies: total(res.body.comments),
        reposts: Number.isFinite(shares) && shares >= 0 ? shares : 0,
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await graphRequest(transportFor(account), {
        method: 'GET',
        path: page(account),
        params: { fields: 'followers_count,fan_count' },
      });
      const n = Number(res.body.followers_count ?? res.body.fan_count);
      return { followers: Number.isFinite(n) ? n : null, following: null, posts: null, fetchedAt: new Date() };
    },
  };
}
