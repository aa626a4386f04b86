/**
 * The Pinterest connector (API v5, plain `fetch`): Pins from an image (by URL when Herald can
 * give one, else base64), a carousel of up to 5 images, or a video (registered, uploaded
 * streamed from storage, processed), with title, link and alt text, saved to the chosen
 * board. The video's media id is journaled before its upload and the Pin's creation before
 * the call, so a crash resumes or settles instead of pinning twice. Metrics from Pin
 * analytics, the account's followers, and 30-day tokens refreshed.
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
import { InvalidContent, PermanentError, TransientError, isConnectorError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS, pinRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';
import { capabilities, parseOptions, validateDraft } from './limits.js';
import { awaitVideo, registerVideo, uploadLanded, uploadVideo } from './media.js';
import { appUrls, parseCredentials, refreshCredentials, type PinterestApp } from './oauth.js';

export { capabilities, validateDraft, type Board } from './limits.js';
export * from './oauth.js';
export { DEFAULT_API_URL } from './client.js';

export interface PinterestConnectorOptions {
  clientId: string;
  clientSecret: string;
  /** Default `https://api.pinterest.com`. */
  apiUrl?: string;
  timeoutMs?: number;
  /** Longest wait for the video upload. Default 10 minutes. */
  uploadTimeoutMs?: number;
  /** Video processing checks. Default every 2 s for 2 minutes (then a retry picks it up). */
  mediaPollIntervalMs?: number;
  mediaPollTimeoutMs?: number;
}

interface Handle {
  mediaId?: string;
  uploaded?: boolean;
  /** The Pin call was about to be made at this instant. */
  pinning?: string;
  pinId?: string;
}

interface PinJson {
  id: string;
  title?: string | null;
  description?: string | null;
  link?: string | null;
  alt_text?: string | null;
  created_at?: string;
}

const pinUrl = (id: string) => `https://www.pinterest.com/pin/${id}/`;
const resultOf = (id: string): PublishResult => ({
  status: 'published',
  platformPostId: id,
  url: pinUrl(id),
  parts: [{ index: 0, platformPostId: id, url: pinUrl(id) }],
});

export function createPinterestConnector(options: PinterestConnectorOptions): Connector {
  const urls = appUrls(options.apiUrl);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const app: PinterestApp = {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: '',
    timeoutMs,
    ...urls,
  };
  const poll = { intervalMs: options.mediaPollIntervalMs ?? 2_000, timeoutMs: options.mediaPollTimeoutMs ?? 120_000 };
  const transportFor = (account: Pick<AccountContext, 'credentials'>): Transport => {
    const c = parseCredentials(account.credentials);
    return { apiUrl: urls.apiUrl, timeoutMs, accessToken: c.accessToken, canRefresh: !!c.refreshToken };
  };

  const imageSource = (images: MediaInput[]) =>
    images.length === 1
      ? { source_type: 'image_base64', content_type: images[0]!.mimeType, data: images[0]!.bytes.toString('base64') }
      : {
          source_type: 'multiple_image_base64',
          items: images.map((m) => ({ content_type: m.mimeType, data: m.bytes.toString('base64') })),
        };

  async function publish(
    account: AccountContext,
    input: PublishInput,
    journal?: PublishJournal,
  ): Promise<PublishResult> {
    const issues = validateDraft(account, input);
    if (issues.length > 0)
      throw new InvalidContent(`The Pin cannot go to Pinterest: ${issues.map((i) => i.message).join(' ')}`, {
        platform: PLATFORM,
      });
    const t = transportFor(account);
    const { options: o } = parseOptions(input, account.metadata);
    const part = input.parts[0]!;
    let handle = ((await journal?.load()) ?? {}) as Handle;
    if (handle.pinId) return resultOf(handle.pinId);
    if (handle.pinning) {
      // The Pin call may have been made: the board says.
      const found = await findPin(t, input, account.metadata, new Date(Date.parse(handle.pinning) - 60_000));
      if (found) {
        await journal?.save({ ...handle, pinId: found.id });
        return resultOf(found.id);
      }
    }
    const video = part.media.find((m) => m.mimeType.startsWith('video/'));
    let mediaSource: Record<string, unknown>;
    if (video) {
      // A registration whose upload finished before the journal said so (the process died in
      // between) holds the video: Pinterest shows it `processing` or `succeeded`, and it is used.
      if (handle.mediaId && !handle.uploaded && (await uploadLanded(t, handle.mediaId))) {
        handle = { ...handle, uploaded: true };
        await journal?.save({ ...handle });
      }
      // A registration whose upload was cut off holds nothing: register again (its form may have expired).
      if (!handle.mediaId || !handle.uploaded) {
        const reg = await registerVideo(t);
        handle = { mediaId: reg.mediaId };
        await journal?.save({ ...handle });
        await uploadVideo(reg, video, options.uploadTimeoutMs ?? 600_000);
        handle = { ...handle, uploaded: true };
        await journal?.save({ ...handle });
      }
      await awaitVideo(t, handle.mediaId!, poll);
      mediaSource = { source_type: 'video_id', media_id: handle.mediaId, cover_image_key_frame_time: 0 };
    } else mediaSource = imageSource(part.media);

    // Before the irreversible call: a crash after this finds the Pin instead of pinning again.
    handle = { ...handle, pinning: new Date().toISOString() };
    await journal?.save({ ...handle });
    const alt = part.media.find((m) => m.altText)?.altText;
    const res = await pinRequest(t, {
      method: 'POST',
      path: '/v5/pins',
      json: {
        board_id: o.boardId,
        ...(o.boardSectionId ? { board_section_id: o.boardSectionId } : {}),
        ...(o.title ? { title: o.title } : {}),
        description: part.text,
        ...(o.link ? { link: o.link } : {}),
        ...(alt ? { alt_text: alt } : {}),
        media_source: mediaSource,
      },
      what: 'creating the Pin',
    });
    const pin = res.body as PinJson | null;
    if (!pin?.id)
      throw new TransientError("Pinterest's answer to the new Pin could not be read", {
        platform: PLATFORM,
        mayHaveSucceeded: true,
      });
    await journal?.save({ ...handle, pinId: pin.id });
    return resultOf(pin.id);
  }

  /** A Pin on the board made at or after `since` with this description, title and link. */
  async function findPin(
    t: Transport,
    input: Draft,
    metadata: Record<string, unknown>,
    since: Date,
  ): Promise<PinJson | null> {
    const { options: o } = parseOptions(input, metadata);
    if (!o.boardId) return null;
    const res = await pinRequest(t, {
      method: 'GET',
      path: `/v5/boards/${encodeURIComponent(o.boardId)}/pins`,
      query: { page_size: 50 },
      what: "reading the board's Pins",
    });
    const items = ((res.body as { items?: PinJson[] } | null)?.items ?? []) as PinJson[];
    const text = input.parts[0]?.text ?? '';
    return (
      items.find(
        (p) =>
          (p.description ?? '') === text &&
          (p.title ?? null) === (o.title ?? null) &&
          (o.link === null || p.link === o.link) &&
          (!p.created_at || Date.parse(p.created_at) >= since.getTime()),
      ) ?? null
    );
  }

  async function lookup(
    account: AccountContext,
    input: Draft,
    _key: string,
    since: Date,
    journal?: PublishJournal,
  ): Promise<PublishResult | null> {
    const handle = ((await journal?.load()) ?? {}) as Handle;
    if (handle.pinId) return resultOf(handle.pinId);
    // No Pin call was made (the journal saves `pinning` before it): nothing can be there.
    if (journal && !handle.pinning) return null;
    const found = await findPin(transportFor(account), input, account.metadata, since);
    return found ? resultOf(found.id) : null;
  }

  return {
    platform: PLATFORM,
    capabilities,
    validate: validateDraft,
    publish: (account, input, _key, journal) => publish(account, input, journal),
    lookup,
    async checkStatus(account, platformPostId) {
      const res = await pinRequest(transportFor(account), {
        method: 'GET',
        path: `/v5/pins/${encodeURIComponent(platformPostId)}`,
        accept: [404],
      });
      return res.status === 404 ? 'failed' : 'published';
    },
    async delete(account, platformPostId) {
      await pinRequest(transportFor(account), {
        method: 'DELETE',
        path: `/v5/pins/${encodeURIComponent(platformPostId)}`,
        accept: [404],
      });
    },
    async refresh(account) {
      const grant = await refreshCredentials(app, parseCredentials(account.credentials));
      return { credentials: { ...grant.credentials }, expiresAt: grant.expiresAt };
    },
    async fetchMetrics(account, platformPostId): Promise<PostMetrics> {
      const day = (d: Date) => d.toISOString().slice(0, 10);
      const now = new Date();
      const res = await pinRequest(transportFor(account), {
        method: 'GET',
        path: `/v5/pins/${encodeURIComponent(platformPostId)}/analytics`,
        query: {
          start_date: day(new Date(now.getTime() - 89 * 86_400_000)),
          end_date: day(now),
          metric_types: 'IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,TOTAL_COMMENTS,TOTAL_REACTIONS',
        },
        accept: [404],
      }).catch((err: unknown) => {
        throw isConnectorError(err) ? err : new PermanentError(String(err), { platform: PLATFORM });
      });
      if (res.status === 404)
        throw new PermanentError(`Pinterest has no Pin ${platformPostId}`, { platform: PLATFORM, status: 404 });
      const m = ((res.body as { all?: { summary_metrics?: Record<string, number> } } | null)?.all?.summary_metrics ??
        {}) as Record<string, number>;
      const n = (x: unknown) => (typeof x === 'number' && x >= 0 ? x : 0);
      return {
        likes: n(m.TOTAL_REACTIONS),
        reposts: n(m.SAVE),
        replies: n(m.TOTAL_COMMENTS),
        impressions: n(m.IMPRESSION),
        fetchedAt: new Date(),
      };
    },
    async fetchAccountStats(account): Promise<AccountStats> {
      const me = ((await pinRequest(transportFor(account), { method: 'GET', path: '/v5/user_account' })).body ??
        {}) as Record<string, unknown>;
      const n = (x: unknown) => (typeof x === 'number' ? x : null);
      return {
        followers: n(me.follower_count),
        following: n(me.following_count),
        posts: n(me.pin_count),
        fetchedAt: new Date(),
      };
    },
  };
}
