/**
 * Video for a Pin (developers.pinterest.com/docs/api-features/creating-boards-and-pins):
 * register the upload (`POST /v5/media`, answered with `media_id`, an `upload_url` and the
 * form fields to send with it), POST the file as multipart form data to that URL — streamed
 * from storage with its length known, never held in memory — then poll `GET /v5/media/{id}`
 * until `succeeded` (or `failed`).
 */
import { randomBytes } from 'node:crypto';
import type { MediaInput } from '../contract.js';
import { InvalidContent, TransientError } from '../errors.js';
import { concatBodies, mediaRange, streamAnswer } from '../stream-upload.js';
import { pinRequest, type Transport } from './client.js';
import { classifyNetworkError, PLATFORM } from './errors.js';

export interface Registered {
  mediaId: string;
  uploadUrl: string;
  parameters: Record<string, string>;
}

export async function registerVideo(t: Transport): Promise<Registered> {
  const res = await pinRequest(t, {
    method: 'POST',
    path: '/v5/media',
    json: { media_type: 'video' },
    what: 'registering the video',
  });
  const b = (res.body ?? {}) as { media_id?: string; upload_url?: string; upload_parameters?: Record<string, string> };
  if (!b.media_id || !b.upload_url)
    throw new TransientError("Pinterest's answer to the video registration could not be read", { platform: PLATFORM });
  return { mediaId: b.media_id, uploadUrl: b.upload_url, parameters: b.upload_parameters ?? {} };
}

/** The multipart POST to the upload URL: the form fields, then the file, streamed. */
export async function uploadVideo(reg: Registered, video: MediaInput, timeoutMs: number): Promise<void> {
  const boundary = `----herald${randomBytes(12).toString('hex')}`;
  const fields = Object.entries(reg.parameters)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  const head = Buffer.from(
    `${fields}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="video"\r\nContent-Type: ${video.mimeType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const what = 'uploading the video';
  const res = await streamAnswer(
    reg.uploadUrl,
    {
      method: 'POST',
      headers: new Headers({ 'content-type': `multipart/form-data; boundary=${boundary}` }),
      body: concatBodies(head, mediaRange(video, 0, video.sizeBytes - 1), tail),
    },
    timeoutMs,
    (err) => {
      const e = classifyNetworkError(err, { method: 'POST', what, timeoutMs });
      // Uploading the file creates no Pin: nothing can have been published.
      return new TransientError(`The video upload to Pinterest failed: ${e.message}`, {
        platform: PLATFORM,
        cause: err,
        mayHaveSucceeded: false,
      });
    },
  );
  if (!res.ok)
    throw new TransientError(`Pinterest's media storage answered ${res.status} to the video upload`, {
      platform: PLATFORM,
      status: res.status,
    });
}

/**
 * Whether a registered video's upload reached Pinterest: its media status is `processing` or
 * `succeeded` (`registered`: nothing arrived; `failed`; or a registration Pinterest no longer
 * knows, 404: not).
 */
export async function uploadLanded(t: Transport, mediaId: string): Promise<boolean> {
  const res = await pinRequest(t, {
    method: 'GET',
    path: `/v5/media/${encodeURIComponent(mediaId)}`,
    what: 'checking an earlier upload',
    accept: [404],
  });
  if (res.status === 404) return false;
  const status = String((res.body as { status?: string } | null)?.status ?? '');
  return status === 'processing' || status === 'succeeded';
}

/** Waits for Pinterest to process the video; transient when it is still at it after `timeoutMs`. */
export async function awaitVideo(
  t: Transport,
  mediaId: string,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const res = await pinRequest(t, {
      method: 'GET',
      path: `/v5/media/${encodeURIComponent(mediaId)}`,
      what: 'checking the video',
    });
    const status = String((res.body as { status?: string } | null)?.status ?? '');
    if (status === 'succeeded') return;
    if (status === 'failed')
      throw new InvalidContent('Pinterest could not process the video', {
        platform: PLATFORM,
        platformMessage: 'media status failed',
      });
    if (Date.now() >= deadline)
      throw new TransientError(`Pinterest is still processing the video (${status || 'no status'})`, {
        platform: PLATFORM,
      });
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
