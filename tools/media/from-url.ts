/**
 * A media upload whose bytes come from a URL the caller gives (an image on the web, a video in
 * a bucket): fetched with a deadline, through the outbound policy (public addresses only unless
 * `OUTBOUND_ALLOW` says more, every redirect hop checked), streamed into the same staging and
 * checks as an upload — never past `MEDIA_MAX_BYTES` — and stored by `uploadMedia`.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HeraldError, outboundRefusal, userUrlDispatcher } from '../../core/index.js';
import { requireRole, type MediaContext, type MediaDeps } from './context.js';
import { uploadMedia, type MediaView } from './service.js';
import { stageUpload, tooLarge, type StagedUpload } from './staging.js';

/** Longest wait for a media URL to answer and send its bytes. */
export const MEDIA_FETCH_TIMEOUT_MS = 60_000;

export interface FromUrlInput {
  url: string;
  altText?: string | null | undefined;
}

function fetchFailed(url: string, message: string, details: Record<string, unknown>, cause?: unknown): HeraldError {
  return new HeraldError('media_fetch_failed', { message: `${url} ${message}`, details, cause });
}

/**
 * Uploads the media at `url` into the caller's workspace (editor or above), as `uploadMedia`
 * does with bytes: the new record (`created: true`) or the existing one with the same bytes.
 */
export async function uploadMediaFromUrl(
  deps: MediaDeps & { fetchTimeoutMs?: number },
  ctx: MediaContext,
  input: FromUrlInput,
): Promise<{ media: MediaView; created: boolean }> {
  requireRole(ctx, 'editor'); // before anything is fetched
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HeraldError('validation_failed', {
      message: `${String(input.url).slice(0, 200)} is not an http(s) URL`,
      details: { issues: [{ path: ['url'], message: 'expected an http(s) URL' }] },
    });
  }
  const where = url.toString();
  const timeoutMs = deps.fetchTimeoutMs ?? MEDIA_FETCH_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(where, {
      signal,
      redirect: 'follow',
      dispatcher: userUrlDispatcher(),
      headers: { accept: 'image/*,video/*;q=0.9,*/*;q=0.1', 'user-agent': 'Herald media fetcher' },
    } as RequestInit);
  } catch (cause) {
    const refused = outboundRefusal(cause);
    if (refused)
      throw fetchFailed(
        where,
        `was not fetched: ${refused.message}`,
        { reason: 'address_refused', range: refused.range },
        cause,
      );
    if (signal.aborted) throw fetchFailed(where, `did not answer within ${timeoutMs} ms`, { reason: 'timeout' }, cause);
    throw fetchFailed(where, `could not be fetched: ${(cause as Error).message}`, { reason: 'network' }, cause);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw fetchFailed(where, `answered HTTP ${res.status}`, { reason: 'status', status: res.status });
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > deps.maxBytes) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge(deps.maxBytes);
  }
  let staged: StagedUpload;
  try {
    staged = await stageUpload(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), {
      maxBytes: deps.maxBytes,
      dir: deps.stagingDir,
    });
  } catch (err) {
    await res.body.cancel().catch(() => undefined);
    if (err instanceof HeraldError) throw err;
    throw signal.aborted
      ? fetchFailed(where, `did not finish within ${timeoutMs} ms`, { reason: 'timeout' }, err)
      : fetchFailed(where, `failed mid-body: ${(err as Error).message}`, { reason: 'network' }, err);
  }
  const last = url.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last).slice(0, 255);
  } catch {
    name = last.slice(0, 255);
  }
  return uploadMedia(deps, ctx, {
    data: staged,
    ...(name ? { filename: name } : {}),
    declaredType: res.headers.get('content-type') ?? undefined,
    altText: input.altText,
  });
}
