/**
 * The YouTube connector (Data API v3, plain `fetch`): one video per post, uploaded with the
 * resumable protocol in 256 KiB-multiple chunks streamed from storage; the upload session
 * URI is journaled before the first byte, so after a crash the session is probed and the
 * upload resumed (or started over when it expired) — never a second video. Scheduled release
 * (`publishAt`, uploaded private), Shorts, custom thumbnails, the daily quota refused before
 * it is exceeded, metrics, channel statistics and token refresh.
 */
import type {
  AccountContext,
  AccountStats,
  Connector,
  Draft,
  MediaInput,
  PostMetrics,
  PublishInput,
  PublishJournal,
  PublishResult,
} from '../contract.js';
import { InvalidContent, isConnectorError, PermanentError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS, ytRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';
import { capabilities, parseOptions, titleOf, validateDraft } from './limits.js';
import { appUrls, parseCredentials, refreshCredentials, type YouTubeApp } from './oauth.js';
import {
  DEFAULT_QUOTA,
  memoryQuotaLedger,
  spend,
  type QuotaLedger,
  type QuotaLimits,
  type QuotaMethod,
} from './quota.js';
import {
  CHUNK_UNIT,
  DEFAULT_CHUNK_BYTES,
  querySession,
  startSession,
  uploadFrom,
  type VideoResource,
} from './upload.js';

export { capabilities, validateDraft, titleOf } from './limits.js';
export * from './oauth.js';
export { DEFAULT_API_URL } from './client.js';
export { memoryQuotaLedger, type QuotaLedger, type QuotaLimits } from './quota.js';
export { CHUNK_UNIT } from './upload.js';

export interface YouTubeConnectorOptions {
  clientId: string;
  clientSecret: string;
  /** Default `https://www.googleapis.com` (OAuth at Google's own hosts); a test double serves all of it. */
  apiUrl?: string;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Bytes per upload PUT, a multiple of 256 KiB. Default 8 MiB. */
  chunkBytes?: number;
  /** Longest wait for one chunk. Default 120 s. */
  chunkTimeoutMs?: number;
  /** The project's daily quota. Default 100 uploads and 10,000 units. */
  quota?: QuotaLimits;
  /** Where quota spent today is counted. Default: in this process. */
  quotaLedger?: QuotaLedger;
}

/** What the journal holds for a target: the session before the first byte, then the video. */
interface Handle {
  sessionUri?: string;
  sizeBytes?: number;
  videoId?: string;
  thumbnailSet?: boolean;
}

const watchUrl = (id: string, short: boolean) =>
  short ? `https://www.youtube.com/shorts/${id}` : `https://www.youtube.com/watch?v=${id}`;

export function createYouTubeConnector(options: YouTubeConnectorOptions): Connector {
  const urls = appUrls(options.apiUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (chunkBytes % CHUNK_UNIT !== 0) throw new TypeError(`chunkBytes must be a multiple of ${CHUNK_UNIT}`);
  const chunkTimeoutMs = options.chunkTimeoutMs ?? 120_000;
  const quota = options.quota ?? DEFAULT_QUOTA;
  const ledger = options.quotaLedger ?? memoryQuotaLedger();
  const app: YouTubeApp = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: '',
    timeoutMs,
    ...urls,
  };
  const transportFor = (account: Pick<AccountContext, 'credentials'>): Transport => {
    const c = parseCredentials(account.credentials);
    return { apiUrl: urls.apiUrl, timeoutMs, accessToken: c.accessToken, canRefresh: !!c.refreshToken };
  };
  const call = async (method: QuotaMethod, t: Transport, req: Parameters<typeof ytRequest>[1]) => {
    await spend(ledger, quota, method);
    return ytRequest(t, req);
  };

  async function getVideo(t: Transport, id: string, part: string): Promise<Record<string, unknown> | null> {
    const res = await call('videos.list', t, { method: 'GET', path: '/youtube/v3/videos', query: { part, id } });
    return ((res.body as { items?: Array<Record<string, unknown>> } | null)?.items?.[0] ?? null) as Record<
      string,
      unknown
    > | null;
  }

  const resultOf = (id: string, short: boolean): PublishResult => {
    const url = watchUrl(id, short);
    return { status: 'published', platformPostId: id, url, parts: [{ index: 0, platformPostId: id, url }] };
  };

  async function setThumbnail(t: Transport, videoId: string, image: MediaInput): Promise<void> {
    await call('thumbnails.set', t, {
      method: 'POST',
      path: '/upload/youtube/v3/thumbnails/set',
      query: { videoId, uploadType: 'media' },
      headers: { 'content-type': image.mimeType },
      bytes: image.bytes,
      what: 'setting the thumbnail',
    });
  }

  async function publish(
    account: AccountContext,
    input: PublishInput,
    journal?: PublishJournal,
  ): Promise<PublishResult> {
    const issues = validateDraft(account, input);
    if (issues.length > 0)
      throw new InvalidContent(`The video cannot go to YouTube: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    const t = transportFor(account);
    const { options: o } = parseOptions(input);
    const media = input.parts[0]!.media;
    const video = media.find((m) => m.mimeType.startsWith('video/'))!;
    const thumbnail = media.find((m) => m.mimeType.startsWith('image/'));
    const saved = ((await journal?.load()) ?? {}) as Handle;
    let handle: Handle = saved;
    let videoId = saved.videoId ?? null;

    if (!videoId) {
      let sessionUri = saved.sessionUri && saved.sizeBytes === video.sizeBytes ? saved.sessionUri : null;
      let offset = 0;
      if (sessionUri) {
        const state = await querySession(t, sessionUri, video.sizeBytes);
        if (state.kind === 'done') videoId = state.video.id;
        else if (state.kind === 'incomplete') offset = state.next;
        else sessionUri = null; // expired: no video was made; start over
      }
      if (!videoId) {
        if (!sessionUri) {
          await spend(ledger, quota, 'videos.insert');
          sessionUri = await startSession(
            t,
            {
              snippet: {
                title: o.title,
                description: input.parts[0]!.text,
                categoryId: o.categoryId,
                ...(o.tags.length ? { tags: o.tags } : {}),
              },
              status: {
                privacyStatus: o.privacyStatus,
                ...(o.publishAt ? { publishAt: o.publishAt.toISOString() } : {}),
                selfDeclaredMadeForKids: o.madeForKids,
              },
            },
            video,
            { notifySubscribers: !o.publishAt },
          );
          // Before the first byte: a crash from here on resumes this session.
          handle = { sessionUri, sizeBytes: video.sizeBytes };
          await journal?.save({ ...handle });
          offset = 0;
        }
        const uploaded: VideoResource = await uploadFrom(t, sessionUri, video, offset, { chunkBytes, chunkTimeoutMs });
        videoId = uploaded.id;
      }
      handle = { videoId };
      await journal?.save({ ...handle });
    }

    if (thumbnail && !handle.thumbnailSet) {
      try {
        await setThumbnail(t, videoId, thumbnail);
        await journal?.save({ videoId, thumbnailSet: true });
      } catch (err) {
        // The video is live; a thumbnail YouTube refuses (unverified channel, bad image) does not undo it.
        if (!isConnectorError(err) || (err.kind !== 'invalid_content' && err.kind !== 'permanent')) throw err;
      }
    }
    return resultOf(videoId, o.short);
  }

  /** The channel's recent uploads, newest first (the uploads playlist). */
  async function recentUploads(
    t: Transport,
  ): Promise<Array<{ id: string; title: string; description: string; publishedAt: string }>> {
    const ch = await call('channels.list', t, {
      method: 'GET',
      path: '/youtube/v3/channels',
      query: { part: 'contentDetails', mine: 'true' },
    });
    const uploads = (
      ch.body as { items?: Array<{ contentDetails?: { relatedPlaylists?: { uploads?: string } } }> } | null
    )?.items?.[0]?.contentDetails?.relatedPlaylists?.uploads;
    if (!uploads) return [];
    const res = await call('playlistItems.list', t, {
      method: 'GET',
      path: '/youtube/v3/playlistItems',
      query: { part: 'snippet', playlistId: uploads, maxResults: 50 },
    });
    const items = (res.body as { items?: Array<{ snippet?: Record<string, unknown> }> } | null)?.items ?? [];
    return items.flatMap((i) => {
      const s = i.snippet ?? {};
      const id = (s.resourceId as { videoId?: string } | undefined)?.videoId;
      return id
        ? [
            {
              id,
              title: String(s.title ?? ''),
              description: String(s.description ?? ''),
              publishedAt: String(s.publishedAt ?? ''),
            },
          ]
        : [];
    });
  }

  /**
   * Where the journal holds the session or video, the platform answers for it; otherwise the
   * channel's uploads since `since` with this title and description. A session that never got
   * all its bytes made no video: "not there", and publishing again resumes it.
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: PublishJournal,
  ): Promise<PublishResult | null> {
    const t = transportFor(account);
    const { options: o } = parseOptions(input, 0);
    const handle = ((await journal?.load()) ?? {}) as Handle;
    if (handle.videoId) return (await getVideo(t, handle.videoId, 'id')) ? resultOf(handle.videoId, o.short) : null;
    if (handle.sessionUri && handle.sizeBytes !== undefined) {
      const state = await querySession(t, handle.sessionUri, handle.sizeBytes);
      if (state.kind === 'done') {
        await journal?.save({ videoId: state.video.id });
        return resultOf(state.video.id, o.short);
      }
      return null;
    }
    const title = titleOf(input);
    const description = input.parts[0]?.text ?? '';
    const found = (await recentUploads(t)).find(
      (v) => v.title === title && v.description === description && Date.parse(v.publishedAt) >= since.getTime(),
    );
    return found ? resultOf(found.id, o.short) : null;
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate: validateDraft,
    publish: (account, input, _key, journal) => publish(account, input, journal),
    lookup,
    async checkStatus(account, platformPostId) {
      const v = await getVideo(transportFor(account), platformPostId, 'status');
      const status = (v?.status ?? {}) as { uploadStatus?: string; failureReason?: string; rejectionReason?: string };
      if (!v) return 'failed';
      if (status.uploadStatus === 'failed' || status.uploadStatus === 'rejected')
        throw new InvalidContent(
          `YouTube ${status.uploadStatus} the video (${status.failureReason ?? status.rejectionReason ?? 'no reason given'})`,
          {
            platform: PLATFORM,
            platformMessage: status.failureReason ?? status.rejectionReason ?? status.uploadStatus,
          },
        );
      return status.uploadStatus === 'uploaded' ? 'processing' : 'published';
    },
    async delete(account, platformPostId) {
      await call('videos.delete', transportFor(account), {
        method: 'DELETE',
        path: '/youtube/v3/videos',
        query: { id: platformPostId },
        accept: [404],
      });
    },
    async refresh(account) {
      const grant = await refreshCredentials(app, parseCredentials(account.credentials));
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const v = await getVideo(transportFor(account), platformPostId, 'statistics');
      if (!v) throw new PermanentError(`YouTube has no video ${platformPostId}`, { platform: PLATFORM, status: 404 });
      const s = (v.statistics ?? {}) as Record<string, string | undefined>;
      const n = (x: string | undefined) => (x && /^\d+$/.test(x) ? Number(x) : 0);
      return {
        likes: n(s.likeCount),
        reposts: 0,
        replies: n(s.commentCount),
        impressions: n(s.viewCount),
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await call('channels.list', transportFor(account), {
        method: 'GET',
        path: '/youtube/v3/channels',
        query: { part: 'statistics', mine: 'true' },
      });
      const s = ((res.body as { items?: Array<{ statistics?: Record<string, unknown> }> } | null)?.items?.[0]
        ?.statistics ?? {}) as Record<string, unknown>;
      const n = (x: unknown) => (typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : null);
      return {
        followers: s.hiddenSubscriberCount === true ? null : n(s.subscriberCount),
        following: null,
        posts: n(s.videoCount),
        fetchedAt: new Date(),
      };
    },
  };
}
