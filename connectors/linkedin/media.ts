/**
 * Images and documents for LinkedIn posts: `POST /rest/images?action=initializeUpload` (or
 * `/rest/documents`) with the post's author as owner answers an upload URL and the asset's
 * URN; the bytes go up in one `PUT` to that URL; then `GET /rest/images/{urn}` until its
 * `status` is `AVAILABLE` (or `PROCESSING_FAILED`). Posts may only reference available assets.
 */
import type { MediaInput } from '../contract.js';
import { InvalidContent, TransientError } from '../errors.js';
import { liRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';
import { isDocument } from './limits.js';

export interface UploadSettings {
  uploadTimeoutMs: number;
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

type InitAnswer = { value?: { uploadUrl?: string; image?: string; document?: string } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Uploads one image or document owned by `owner`; answers its URN once LinkedIn has it available. */
export async function uploadAsset(
  t: Transport,
  owner: string,
  media: MediaInput,
  label: string,
  s: UploadSettings,
): Promise<string> {
  const kind = isDocument(media.mimeType) ? 'documents' : 'images';
  const init = await liRequest<InitAnswer>(t, {
    method: 'POST',
    path: `/rest/${kind}`,
    query: { action: 'initializeUpload' },
    json: { initializeUploadRequest: { owner } },
  });
  const urn = kind === 'images' ? init.body?.value?.image : init.body?.value?.document;
  const uploadUrl = init.body?.value?.uploadUrl;
  if (!urn || !uploadUrl)
    throw new TransientError(`LinkedIn's answer to uploading ${label} could not be read`, { platform: PLATFORM });
  await liRequest(t, { method: 'PUT', path: uploadUrl, bytes: media.bytes, timeoutMs: s.uploadTimeoutMs });
  const deadline = Date.now() + s.pollTimeoutMs;
  for (;;) {
    const res = await liRequest<{ status?: string }>(t, {
      method: 'GET',
      path: `/rest/${kind}/${encodeURIComponent(urn)}`,
    });
    const status = res.body?.status;
    if (status === 'AVAILABLE') return urn;
    if (status === 'PROCESSING_FAILED')
      throw new InvalidContent(`LinkedIn could not process ${label}`, {
        platform: PLATFORM,
        platformMessage: 'PROCESSING_FAILED',
      });
    if (Date.now() >= deadline) {
      throw new TransientError(
        `LinkedIn was still processing ${label} after ${Math.round(s.pollTimeoutMs / 1000)} s (${status ?? 'no status'})`,
        { platform: PLATFORM },
      );
    }
    await sleep(s.pollIntervalMs);
  }
}
