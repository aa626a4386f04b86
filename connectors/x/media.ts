/**
 * X's chunked media upload (API v2): INIT (`POST /2/media/upload/initialize`), APPEND each
 * chunk (`POST /2/media/upload/{id}/append`, multipart, `segment_index`), FINALIZE, then
 * STATUS (`GET /2/media/upload?command=STATUS`) while `processing_info.state` is pending or
 * in progress; alt text through `POST /2/media/metadata`. Images and videos take the same path.
 */
import type { MediaInput } from '../contract.js';
import { InvalidContent, TransientError } from '../errors.js';
import { xRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';

/** X takes chunks of at most 5 MB. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

export interface UploadSettings {
  uploadTimeoutMs: number;
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

interface ProcessingInfo {
  state: 'pending' | 'in_progress' | 'succeeded' | 'failed';
  check_after_secs?: number;
  error?: { message?: string };
}

type MediaData = { data?: { id?: string; media_key?: string; processing_info?: ProcessingInfo } };

/** An uploaded media item: its id for the post, and the `media_key` posts show it by (null if X gave none). */
export interface UploadedMedia {
  id: string;
  mediaKey: string | null;
}

const categoryOf = (mimeType: string) =>
  mimeType === 'image/gif' ? 'tweet_gif' : mimeType.startsWith('video/') ? 'tweet_video' : 'tweet_image';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function uploadMedia(
  t: Transport,
  media: MediaInput,
  label: string,
  s: UploadSettings,
): Promise<UploadedMedia> {
  const init = await xRequest<MediaData>(t, {
    method: 'POST',
    path: '/2/media/upload/initialize',
    json: { media_type: media.mimeType, total_bytes: media.bytes.length, media_category: categoryOf(media.mimeType) },
  });
  const id = init.body?.data?.id;
  if (!id) throw new TransientError(`X's answer to uploading ${label} could not be read`, { platform: PLATFORM });
  for (let offset = 0, segment = 0; offset < media.bytes.length; offset += CHUNK_BYTES, segment++) {
    const form = new FormData();
    form.append('segment_index', String(segment));
    form.append('media', new Blob([new Uint8Array(media.bytes.subarray(offset, offset + CHUNK_BYTES))]), 'chunk');
    await xRequest(t, {
      method: 'POST',
      path: `/2/media/upload/${encodeURIComponent(id)}/append`,
      form,
      timeoutMs: s.uploadTimeoutMs,
    });
  }
  const fin = await xRequest<MediaData>(t, {
    method: 'POST',
    path: `/2/media/upload/${encodeURIComponent(id)}/finalize`,
  });
  // INITIALIZE and FINALIZE answer with the `media_key` a post's `attachments` will name
  // (https://docs.x.com/x-api/media/finalize-media-upload).
  const mediaKey = fin.body?.data?.media_key ?? init.body?.data?.media_key ?? null;
  let info = fin.body?.data?.processing_info;
  const deadline = Date.now() + s.pollTimeoutMs;
  while (info && (info.state === 'pending' || info.state === 'in_progress')) {
    if (Date.now() >= deadline) {
      throw new TransientError(`X was still processing ${label} after ${Math.round(s.pollTimeoutMs / 1000)} s`, {
        platform: PLATFORM,
      });
    }
    await sleep(Math.min((info.check_after_secs ?? 1) * 1000, s.pollIntervalMs));
    const status = await xRequest<MediaData>(t, {
      method: 'GET',
      path: '/2/media/upload',
      query: { command: 'STATUS', media_id: id },
    });
    info = status.body?.data?.processing_info;
  }
  if (info?.state === 'failed') {
    const why = info.error?.message ?? 'processing failed';
    throw new InvalidContent(`X could not process ${label}: ${why}`, { platform: PLATFORM, platformMessage: why });
  }
  if (media.altText) {
    await xRequest(t, {
      method: 'POST',
      path: '/2/media/metadata',
      json: { id, metadata: { alt_text: { text: media.altText } } },
    });
  }
  return { id, mediaKey };
}
