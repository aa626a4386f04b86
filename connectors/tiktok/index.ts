/**
 * The TikTok connector (Content Posting API, plain `fetch`). Before each post it reads
 * `creator_info` (privacy options, interaction switches, maximum duration) and checks the
 * post against it. A video goes as a direct post or to the creator's inbox (draft): with
 * FILE_UPLOAD its bytes are sent in ordered chunks of 5-64 MB (the last up to 128 MB)
 * streamed from storage, the publish id and upload URL journaled before the first chunk so a
 * crash resumes the upload (or settles it by TikTok's status) instead of posting twice; with
 * PULL_FROM_URL TikTok fetches a signed Herald URL. Photos (1-35) always go by URL.
 * Moderation can take hours: publish answers `processing` with the publish id, and the
 * worker polls `checkStatus` later without holding a slot. TikTok's API deletes nothing.
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
import { InvalidContent, isConnectorError, PermanentError, TransientError } from '../errors.js';
import { mediaRange } from '../stream-upload.js';
import { DEFAULT_TIMEOUT_MS, ttRequest, type Transport } from './client.js';
import { describeRefusal, PLATFORM } from './errors.js';
import { capabilities, parseOptions, validateDraft, type CreatorInfo, type TikTokOptions } from './limits.js';
import { appUrls, parseCredentials, queryCreatorInfo, refreshCredentials, type TikTokApp } from './oauth.js';

export { capabilities, validateDraft, type CreatorInfo } from './limits.js';
export * from './oauth.js';
export { DEFAULT_API_URL } from './client.js';

/** A public URL TikTok can fetch a media file from (signed, short-lived). */
export interface MediaUrlSigner {
  urlFor(media: MediaInput): string | Promise<string>;
}

export interface TikTokConnectorOptions {
  clientKey: string;
  clientSecret: string;
  /** Default `https://open.tiktokapis.com`. */
  apiUrl?: string;
  timeoutMs?: number;
  /** Longest wait for one chunk. Default 120 s. */
  chunkTimeoutMs?: number;
  /** Bytes per chunk, 5-64 MB. Default 10 MB. */
  chunkBytes?: number;
  /** The app passed TikTok's content-posting audit (otherwise only SELF_ONLY to private accounts). Default false. */
  audited?: boolean;
  /** Signed public URLs of Herald's media, for photos and `source: url` (needs PUBLIC_URL). */
  mediaUrls?: MediaUrlSigner;
  /** How often the worker checks a post TikTok is still processing. Default 60 s. */
  statusPollMs?: number;
}

export const MIN_CHUNK = 5 * 1024 * 1024;
export const MAX_CHUNK = 64 * 1024 * 1024;

/** TikTok's chunk plan: whole under 5 MB; otherwise `floor(size / chunk)` chunks, the last taking the rest. */
export function chunkPlan(size: number, chunkBytes: number): { chunkSize: number; count: number } {
  if (size < MIN_CHUNK) return { chunkSize: size, count: 1 };
  const chunkSize = Math.min(Math.max(chunkBytes, MIN_CHUNK), MAX_CHUNK, size);
  return { chunkSize, count: Math.max(1, Math.floor(size / chunkSize)) };
}

interface Handle {
  publishId?: string;
  uploadUrl?: string;
  sizeBytes?: number;
  chunkSize?: number;
  count?: number;
  /** The bytes went by URL (or as photos): the init itself was the irreversible step. */
  pulled?: boolean;
}

interface StatusData {
  status: string;
  failReason: string | null;
  postIds: string[];
  uploadedBytes: number | null;
}

const isVideoId = (id: string) => /^\d+$/.test(id);

/**
 * `publicaly_available_post_id`: int64 numbers, as many as 19 digits, which a JSON number
 * (a double) cannot hold exactly, so they are read from the text. Documented as a list, seen
 * as a single number too.
 */
export function postIdsOf(text: string): string[] {
  const m = /"publicaly_available_post_id"\s*:\s*(\[[^\]]*\]|"?\d+"?)/.exec(text);
  return m ? (m[1]!.match(/\d+/g) ?? []).filter((x) => x !== '0') : [];
}

export function createTikTokConnector(options: TikTokConnectorOptions): Connector {
  const urls = appUrls(options.apiUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const chunkTimeoutMs = options.chunkTimeoutMs ?? 120_000;
  const chunkBytes = options.chunkBytes ?? 10 * 1024 * 1024;
  const settings = { audited: options.audited === true, mediaUrls: !!options.mediaUrls };
  const app: TikTokApp = {
    clientKey: options.clientKey,
    clientSecret: options.clientSecret,
    redirectUri: '',
    timeoutMs,
    ...urls,
  };
  const caps = () => ({
    ...capabilities(),
    processing: { pollMs: options.statusPollMs ?? 60_000, giveUpAfterMs: 24 * 3600 * 1000 },
  });
  const validate = (account: Pick<AccountContext, 'metadata'>, draft: Draft) => validateDraft(account, draft, settings);
  const transportFor = (account: Pick<AccountContext, 'credentials'>): Transport => {
    const c = parseCredentials(account.credentials);
    return { apiUrl: urls.apiUrl, timeoutMs, accessToken: c.accessToken, canRefresh: !!c.refreshToken };
  };

  async function fetchStatus(t: Transport, publishId: string): Promise<StatusData> {
    const res = await ttRequest(t, {
      method: 'POST',
      path: '/v2/post/publish/status/fetch/',
      json: { publish_id: publishId },
      what: 'reading the post status',
    });
    const d = ((res.body as { data?: Record<string, unknown> } | null)?.data ?? {}) as Record<string, unknown>;
    return {
      status: String(d.status ?? ''),
      failReason: typeof d.fail_reason === 'string' && d.fail_reason ? d.fail_reason : null,
      postIds: postIdsOf(res.text),
      uploadedBytes: typeof d.uploaded_bytes === 'number' ? d.uploaded_bytes : null,
    };
  }

  const failed = (s: StatusData) =>
    new InvalidContent(
      `TikTok could not publish the post: ${describeRefusal(s.failReason ?? '') ?? s.failReason ?? 'no reason given'}`,
      { platform: PLATFORM, ...(s.failReason ? { platformMessage: s.failReason, reason: s.failReason } : {}) },
    );

  /** The result for a publish id in state `s`: published when TikTok is done with it, else processing. */
  function resultOf(account: AccountContext, publishId: string, s: StatusData | null): PublishResult {
    if (s?.status === 'PUBLISH_COMPLETE' && s.postIds[0]) {
      const id = s.postIds[0];
      const url = `https://www.tiktok.com/@${account.handle}/video/${id}`;
      return { status: 'published', platformPostId: id, url, parts: [{ index: 0, platformPostId: id, url }] };
    }
    const done = s?.status === 'PUBLISH_COMPLETE' || s?.status === 'SEND_TO_USER_INBOX';
    return {
      status: done ? 'published' : 'processing',
      platformPostId: publishId,
      url: null,
      parts: [{ index: 0, platformPostId: publishId, url: null }],
    };
  }

  function postInfo(text: string, o: TikTokOptions, creator: CreatorInfo) {
    return {
      title: text,
      privacy_level: o.privacyLevel,
      disable_comment: creator.commentDisabled || !o.allowComment,
      disable_duet: creator.duetDisabled || !o.allowDuet,
      disable_stitch: creator.stitchDisabled || !o.allowStitch,
      ...(o.coverTimestampMs !== null ? { video_cover_timestamp_ms: o.coverTimestampMs } : {}),
      brand_content_toggle: o.brandContent,
      brand_organic_toggle: o.brandOrganic,
      is_aigc: o.aiGenerated,
    };
  }

  /** Chunks `from` on, in order; chunk i is `[i * chunkSize, ...)`, the last taking every trailing byte. */
  async function sendChunks(
    t: Transport,
    h: Required<Pick<Handle, 'uploadUrl' | 'sizeBytes' | 'chunkSize' | 'count'>>,
    video: MediaInput,
    from: number,
  ): Promise<void> {
    const { sizeBytes: size, chunkSize, count } = h;
    for (let i = Math.floor(from / chunkSize); i < count; i++) {
      const isLast = i === count - 1;
      const start = i * chunkSize;
      const end = isLast ? size - 1 : start + chunkSize - 1;
      try {
        await ttRequest(t, {
          method: 'PUT',
          path: h.uploadUrl,
          headers: { 'content-type': video.mimeType, 'content-range': `bytes ${start}-${end}/${size}` },
          // Streamed from storage into the socket: the chunk is never held in memory.
          stream: mediaRange(video, start, end),
          envelope: false,
          timeoutMs: chunkTimeoutMs,
          what: `uploading bytes ${start}-${end} of ${size}`,
        });
      } catch (err) {
        // Before the last chunk the post cannot exist; on the last it may.
        if (isConnectorError(err) && err.kind === 'transient' && err.mayHaveSucceeded !== isLast)
          throw new TransientError(err.message, { platform: PLATFORM, cause: err, mayHaveSucceeded: isLast });
        throw err;
      }
    }
  }

  async function publishVideo(
    account: AccountContext,
    t: Transport,
    text: string,
    video: MediaInput,
    o: TikTokOptions,
    creator: CreatorInfo,
    journal: PublishJournal | undefined,
  ): Promise<PublishResult> {
    const saved = ((await journal?.load()) ?? {}) as Handle;
    let handle: Handle | null = saved.publishId && saved.sizeBytes === video.sizeBytes ? saved : null;
    let from = 0;
    if (handle?.publishId) {
      const s = await fetchStatus(t, handle.publishId);
      if (s.status === 'FAILED') handle = null;
      else if (handle.pulled || s.status !== 'PROCESSING_UPLOAD' || (s.uploadedBytes ?? 0) >= video.sizeBytes)
        return resultOf(account, handle.publishId, s);
      else {
        // Resume at the chunk TikTok lacks (chunks are whole or not there).
        from = Math.floor((s.uploadedBytes ?? 0) / handle.chunkSize!) * handle.chunkSize!;
      }
    }
    if (!handle) {
      const plan = chunkPlan(video.sizeBytes, chunkBytes);
      const pulled = o.source === 'url';
      const path = o.mode === 'draft' ? '/v2/post/publish/inbox/video/init/' : '/v2/post/publish/video/init/';
      const res = await ttRequest(t, {
        method: 'POST',
        path,
        json: {
          ...(o.mode === 'direct' ? { post_info: postInfo(text, o, creator) } : {}),
          source_info: pulled
            ? { source: 'PULL_FROM_URL', video_url: await options.mediaUrls!.urlFor(video) }
            : {
                source: 'FILE_UPLOAD',
                video_size: video.sizeBytes,
                chunk_size: plan.chunkSize,
                total_chunk_count: plan.count,
              },
        },
        what: 'starting the post',
      }).catch((err: unknown) => {
        // Starting a FILE_UPLOAD posts nothing until every chunk is in.
        if (!pulled && isConnectorError(err) && err.mayHaveSucceeded)
          throw new TransientError(err.message, { platform: PLATFORM, cause: err, mayHaveSucceeded: false });
        throw err;
      });
      const d = ((res.body as { data?: Record<string, unknown> } | null)?.data ?? {}) as Record<string, unknown>;
      const publishId = typeof d.publish_id === 'string' ? d.publish_id : null;
      if (!publishId)
        throw new TransientError("TikTok's answer to the new post could not be read", {
          platform: PLATFORM,
          mayHaveSucceeded: pulled,
        });
      handle = pulled
        ? { publishId, sizeBytes: video.sizeBytes, pulled: true }
        : {
            publishId,
            uploadUrl: String(d.upload_url),
            sizeBytes: video.sizeBytes,
            chunkSize: plan.chunkSize,
            count: plan.count,
          };
      // Before the first chunk: a crash from here resumes this upload.
      await journal?.save({ ...handle });
      if (pulled) return resultOf(account, publishId, null);
    }
    await sendChunks(
      t,
      { uploadUrl: handle.uploadUrl!, sizeBytes: video.sizeBytes, chunkSize: handle.chunkSize!, count: handle.count! },
      video,
      from,
    );
    // One look: a quick moderation settles now; a long one is the worker's to poll.
    const s = await fetchStatus(t, handle.publishId!).catch(() => null);
    if (s?.status === 'FAILED') throw failed(s);
    return resultOf(account, handle.publishId!, s);
  }

  async function publishPhotos(
    account: AccountContext,
    t: Transport,
    text: string,
    photos: MediaInput[],
    o: TikTokOptions,
    creator: CreatorInfo,
    journal: PublishJournal | undefined,
  ): Promise<PublishResult> {
    const saved = ((await journal?.load()) ?? {}) as Handle;
    if (saved.publishId) return resultOf(account, saved.publishId, await fetchStatus(t, saved.publishId));
    const res = await ttRequest(t, {
      method: 'POST',
      path: '/v2/post/publish/content/init/',
      json: {
        post_info: {
          title: o.title ?? '',
          description: text,
          ...(o.mode === 'direct'
            ? {
                privacy_level: o.privacyLevel,
                disable_comment: creator.commentDisabled || !o.allowComment,
                brand_content_toggle: o.brandContent,
                brand_organic_toggle: o.brandOrganic,
              }
            : {}),
        },
        source_info: {
          source: 'PULL_FROM_URL',
          photo_cover_index: 0,
          photo_images: await Promise.all(photos.map((p) => options.mediaUrls!.urlFor(p))),
        },
        post_mode: o.mode === 'draft' ? 'MEDIA_UPLOAD' : 'DIRECT_POST',
        media_type: 'PHOTO',
      },
      what: 'starting the photo post',
    });
    const publishId = (res.body as { data?: { publish_id?: string } } | null)?.data?.publish_id;
    if (!publishId)
      throw new TransientError("TikTok's answer to the new post could not be read", {
        platform: PLATFORM,
        mayHaveSucceeded: true,
      });
    await journal?.save({ publishId, pulled: true });
    return resultOf(account, publishId, null);
  }

  async function publish(
    account: AccountContext,
    input: PublishInput,
    journal?: PublishJournal,
  ): Promise<PublishResult> {
    const t = transportFor(account);
    // Before each post, as TikTok requires: the creator's options now, not as they were at connect.
    const creator = await queryCreatorInfo(t);
    const live = { ...account, metadata: { ...account.metadata, creatorInfo: creator } };
    const issues = validate(live, input);
    if (issues.length > 0)
      throw new InvalidContent(`The post cannot go to TikTok: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    const { options: o } = parseOptions(input.options);
    const part = input.parts[0]!;
    const video = part.media.find((m) => m.mimeType.startsWith('video/'));
    return video
      ? publishVideo(account, t, part.text, video, o, creator, journal)
      : publishPhotos(account, t, part.text, part.media, o, creator, journal);
  }

  interface ListedVideo {
    id: string;
    title: string;
    description: string;
    createTime: number;
  }

  async function listVideos(t: Transport, since: Date): Promise<ListedVideo[]> {
    const out: ListedVideo[] = [];
    let cursor: number | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await ttRequest(t, {
        method: 'POST',
        path: '/v2/video/list/',
        query: { fields: 'id,title,video_description,create_time,share_url' },
        json: { max_count: 20, ...(cursor ? { cursor } : {}) },
        what: "reading the account's videos",
      });
      const d = ((res.body as { data?: Record<string, unknown> } | null)?.data ?? {}) as {
        videos?: Array<Record<string, unknown>>;
        cursor?: number;
        has_more?: boolean;
      };
      for (const v of d.videos ?? [])
        out.push({
          id: String(v.id),
          title: String(v.title ?? ''),
          description: String(v.video_description ?? ''),
          createTime: Number(v.create_time ?? 0),
        });
      const oldest = out.at(-1)?.createTime ?? 0;
      if (!d.has_more || oldest * 1000 < since.getTime()) break;
      cursor = d.cursor;
    }
    return out;
  }

  /**
   * With the publish id journaled, TikTok's status answers: done or processing is found; an
   * upload that never got all its chunks, or that TikTok failed, made no post ("not there":
   * publishing again resumes or starts over). Otherwise the account's public videos since
   * `since` with this caption; a post sent by URL that is not among them may still be private
   * or in moderation, so that is "cannot tell", never "not there".
   */
  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: PublishJournal,
  ): Promise<PublishResult | null> {
    const t = transportFor(account);
    const handle = ((await journal?.load()) ?? {}) as Handle;
    if (handle.publishId) {
      const s = await fetchStatus(t, handle.publishId);
      if (s.status === 'FAILED') return null;
      if (!handle.pulled && s.status === 'PROCESSING_UPLOAD' && (s.uploadedBytes ?? 0) < (handle.sizeBytes ?? 0))
        return null;
      return resultOf(account, handle.publishId, s);
    }
    const text = input.parts[0]?.text ?? '';
    const found = (await listVideos(t, since)).find(
      (v) => (v.title === text || v.description === text) && v.createTime * 1000 >= since.getTime() - 1000,
    );
    if (found) {
      const url = `https://www.tiktok.com/@${account.handle}/video/${found.id}`;
      return {
        status: 'published',
        platformPostId: found.id,
        url,
        parts: [{ index: 0, platformPostId: found.id, url }],
      };
    }
    const { options: o } = parseOptions(input.options);
    const byUrl = o.source === 'url' || !(input.parts[0]?.media ?? []).some((m) => m.mimeType.startsWith('video/'));
    if (journal && byUrl)
      throw new PermanentError(
        'TikTok lists only public videos, so Herald cannot tell whether a post sent by URL is there',
        {
          platform: PLATFORM,
          reason: 'lookup_unavailable',
        },
      );
    return null;
  }

  async function videoIdOf(t: Transport, platformPostId: string): Promise<string> {
    if (isVideoId(platformPostId)) return platformPostId;
    const s = await fetchStatus(t, platformPostId);
    if (!s.postIds[0])
      throw new PermanentError(
        `TikTok gives no video id for this post (status ${s.status}; private and draft posts have none), so it has no metrics`,
        { platform: PLATFORM },
      );
    return s.postIds[0];
  }

  return {
    platform: PLATFORM,
    capabilities: caps,
    validate,
    publish: (account, input, _key, journal) => publish(account, input, journal),
    lookup,
    async checkStatus(account, platformPostId) {
      if (isVideoId(platformPostId)) return 'published';
      const s = await fetchStatus(transportFor(account), platformPostId);
      if (s.status === 'FAILED') throw failed(s);
      return s.status === 'PUBLISH_COMPLETE' || s.status === 'SEND_TO_USER_INBOX' ? 'published' : 'processing';
    },
    async delete() {
      throw new PermanentError('TikTok offers no API to delete a post; delete it in the TikTok app', {
        platform: PLATFORM,
      });
    },
    async refresh(account) {
      const grant = await refreshCredentials(app, parseCredentials(account.credentials));
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const t = transportFor(account);
      const id = await videoIdOf(t, platformPostId);
      const res = await ttRequest(t, {
        method: 'POST',
        path: '/v2/video/query/',
        query: { fields: 'id,like_count,comment_count,share_count,view_count' },
        json: { filters: { video_ids: [id] } },
        what: 'reading the video metrics',
      });
      const v = ((res.body as { data?: { videos?: Array<Record<string, unknown>> } } | null)?.data?.videos?.[0] ??
        null) as Record<string, unknown> | null;
      if (!v) throw new PermanentError(`TikTok has no video ${id}`, { platform: PLATFORM, status: 404 });
      const n = (x: unknown) => (typeof x === 'number' && x >= 0 ? x : 0);
      return {
        likes: n(v.like_count),
        reposts: n(v.share_count),
        replies: n(v.comment_count),
        impressions: n(v.view_count),
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const res = await ttRequest(transportFor(account), {
        method: 'GET',
        path: '/v2/user/info/',
        query: { fields: 'open_id,follower_count,following_count,video_count' },
      });
      const u = ((res.body as { data?: { user?: Record<string, unknown> } } | null)?.data?.user ?? {}) as Record<
        string,
        unknown
      >;
      const n = (x: unknown) => (typeof x === 'number' ? x : null);
      return {
        followers: n(u.follower_count),
        following: n(u.following_count),
        posts: n(u.video_count),
        fetchedAt: new Date(),
      };
    },
  };
}
