/**
 * YouTube's resumable upload protocol (developers.google.com/youtube/v3/guides/
 * using_resumable_upload_protocol): a POST with the video's metadata opens a session whose
 * URI comes back in `Location`; the bytes go in PUTs with `Content-Range: bytes a-b/N` in
 * chunks that are multiples of 256 KiB (except the last); each is answered `308 Resume
 * Incomplete` with the `Range` received so far, the last with the video resource. An
 * interrupted upload is probed with an empty PUT and `Content-Range: bytes * /N`: 308 says
 * where to resume, 200/201 that it completed, 404/410 that the session expired.
 */
import type { MediaInput } from '../contract.js';
import { isConnectorError, TransientError } from '../errors.js';
import { mediaRange } from '../stream-upload.js';
import { ytRequest, type Transport } from './client.js';
import { PLATFORM } from './errors.js';

/** Chunk sizes must be multiples of this (except the last chunk). */
export const CHUNK_UNIT = 256 * 1024;
/** 8 MiB: 32 units. */
export const DEFAULT_CHUNK_BYTES = 32 * CHUNK_UNIT;

export interface VideoResource {
  id: string;
  snippet?: { title?: string; description?: string; publishedAt?: string };
  status?: { privacyStatus?: string; publishAt?: string; uploadStatus?: string };
}

export type SessionState =
  { kind: 'done'; video: VideoResource } | { kind: 'incomplete'; next: number } | { kind: 'gone' };

const videoOf = (body: unknown): VideoResource => {
  const v = body as VideoResource | null;
  if (!v || typeof v.id !== 'string')
    throw new TransientError("YouTube's answer to the finished upload could not be read", {
      platform: PLATFORM,
      mayHaveSucceeded: true,
    });
  return v;
};

/** The next byte YouTube wants, from a 308's `Range: bytes=0-N` (no header: nothing received). */
function nextOffset(headers: Headers): number {
  const m = /bytes=0-(\d+)/.exec(headers.get('range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

export async function startSession(
  t: Transport,
  resource: Record<string, unknown>,
  video: Pick<MediaInput, 'sizeBytes' | 'mimeType'>,
  opts: { notifySubscribers: boolean },
): Promise<string> {
  const res = await ytRequest(t, {
    method: 'POST',
    path: '/upload/youtube/v3/videos',
    query: {
      uploadType: 'resumable',
      part: 'snippet,status',
      notifySubscribers: String(opts.notifySubscribers),
    },
    headers: { 'x-upload-content-length': String(video.sizeBytes), 'x-upload-content-type': video.mimeType },
    json: resource,
    what: 'opening the upload session',
  }).catch((err: unknown) => {
    // Opening a session creates no video: nothing can have been published.
    if (isConnectorError(err) && err.mayHaveSucceeded)
      throw new TransientError(err.message, { platform: PLATFORM, cause: err, mayHaveSucceeded: false });
    throw err;
  });
  const location = res.headers.get('location');
  if (!location)
    throw new TransientError('YouTube opened no upload session (no Location header)', { platform: PLATFORM });
  return location;
}

export async function querySession(t: Transport, sessionUri: string, sizeBytes: number): Promise<SessionState> {
  const res = await ytRequest(t, {
    method: 'PUT',
    path: sessionUri,
    headers: { 'content-range': `bytes */${sizeBytes}` },
    bytes: Buffer.alloc(0),
    accept: [308, 404, 410],
    what: 'asking how much of the upload arrived',
  });
  if (res.status === 404 || res.status === 410) return { kind: 'gone' };
  if (res.status === 308) return { kind: 'incomplete', next: nextOffset(res.headers) };
  return { kind: 'done', video: videoOf(res.body) };
}

/**
 * Sends the bytes from `offset` to the end, chunk after chunk, each streamed from storage into
 * the request as it is sent.
 * A failure before the last chunk cannot have created the video (`mayHaveSucceeded` false);
 * on the last chunk it may have. Resuming is the caller's: the session URI is journaled.
 */
export async function uploadFrom(
  t: Transport,
  sessionUri: string,
  video: MediaInput,
  offset: number,
  opts: { chunkBytes: number; chunkTimeoutMs: number },
): Promise<VideoResource> {
  const size = video.sizeBytes;
  let from = offset;
  // Each round moves forward; a server that keeps answering the same offset is given up on.
  for (let rounds = 0; ; rounds++) {
    if (rounds > 3 + Math.ceil(size / opts.chunkBytes))
      throw new TransientError('YouTube keeps asking for the same bytes of the upload', { platform: PLATFORM });
    let resumeAt: number | null = null;
    for (let start = from; start < size; start += opts.chunkBytes) {
      const end = Math.min(size, start + opts.chunkBytes) - 1;
      const last = end === size - 1;
      let res;
      try {
        res = await ytRequest(t, {
          method: 'PUT',
          path: sessionUri,
          headers: { 'content-range': `bytes ${start}-${end}/${size}`, 'content-type': video.mimeType },
          // Streamed from storage into the socket: the chunk is never held in memory.
          stream: mediaRange(video, start, end),
          accept: [308],
          timeoutMs: opts.chunkTimeoutMs,
          what: `uploading bytes ${start}-${end} of ${size}`,
        });
      } catch (err) {
        if (isConnectorError(err) && err.kind === 'transient' && err.mayHaveSucceeded !== last)
          throw new TransientError(err.message, {
            platform: PLATFORM,
            cause: err,
            mayHaveSucceeded: last,
            ...(err.status ? { status: err.status } : {}),
          });
        throw err;
      }
      if (res.status !== 308) return videoOf(res.body);
      const next = nextOffset(res.headers);
      // YouTube may keep fewer bytes than were sent: go on from what it holds.
      if (next !== end + 1) {
        resumeAt = next;
        break;
      }
    }
    if (resumeAt === null) {
      // Every byte sent and still 308: ask where it stands.
      const state = await querySession(t, sessionUri, size);
      if (state.kind === 'done') return state.video;
      if (state.kind === 'gone')
        throw new TransientError('The YouTube upload session expired mid-upload', { platform: PLATFORM });
      resumeAt = state.next;
    }
    from = resumeAt;
  }
}
