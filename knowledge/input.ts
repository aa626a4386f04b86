/**
 * What may be ingested, and getting the text out of it: text must be non-empty, not binary
 * and under the size cap; a URL is fetched with a deadline and a size cap and must answer HTML
 * (or plain text), whose main content is extracted (`html.ts`). Feeds: `feed-items.ts`.
 */
import { HeraldError, outboundRefusal, readBodyCapped, userUrlDispatcher } from '../core/index.js';
import { decodeMarkup, decodePlain, type CharsetSource } from './charset.js';
import { extractMainContent } from './html.js';

export function checkText(text: string, maxBytes: number): string {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    throw new HeraldError('knowledge_input_too_large', {
      message: `The source is ${bytes} bytes; the limit is ${maxBytes} bytes`,
      details: { bytes, maxBytes },
    });
  // NUL and most C0 controls never occur in text; a few percent of them means a binary file.
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 8 || (c >= 14 && c <= 31) || c === 0xfffd) controls++;
  }
  if (text.includes('\u0000') || controls > Math.max(8, text.length * 0.01))
    throw new HeraldError('knowledge_input_invalid', {
      message: 'The source looks like a binary file, not text',
      details: { reason: 'binary' },
    });
  if (!/[\p{L}\p{N}]/u.test(text))
    throw new HeraldError('knowledge_input_invalid', {
      message: 'The source has no text to learn from',
      details: { reason: 'empty' },
    });
  return text;
}

/** Reads at most `maxBytes` of a response body, failing rather than truncating. */
async function readCapped(res: Response, maxBytes: number): Promise<Buffer> {
  const read = await readBodyCapped(res, maxBytes);
  if (read.ok) return read.body;
  throw new HeraldError('knowledge_input_too_large', {
    message: `The page is over the ${maxBytes}-byte limit`,
    details: { bytes: read.bytes, maxBytes },
  });
}

export interface FetchedPage {
  title: string | null;
  text: string;
  finalUrl: string;
  /** The character encoding the body was read in, and what named it (`charset.ts`). */
  charset: { encoding: string; from: CharsetSource };
}

export interface Fetched {
  type: string;
  /** The whole `Content-Type` value (its charset decodes the body). */
  contentType: string | null;
  body: Buffer;
  finalUrl: string;
  /** The validators for a conditional GET next time (`ETag`, `Last-Modified`), when the server sent them. */
  etag: string | null;
  lastModified: string | null;
}

/**
 * GETs `url` with a deadline and a size cap; typed errors for timeouts, HTTP errors and
 * oversize bodies. With `conditional` validators, a 304 answer is `null` (unchanged).
 */
export async function fetchCapped(
  url: string,
  opts: { timeoutMs: number; maxBytes: number },
  accept: string,
  acceptable: (type: string) => boolean,
  what: string,
  conditional?: { etag: string | null; lastModified: string | null },
): Promise<Fetched | null> {
  let res: Response;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    res = await fetch(url, {
      signal,
      redirect: 'follow',
      // Every hop is checked against the address it connects to (core/net/outbound).
      dispatcher: userUrlDispatcher(),
      headers: {
        accept,
        'user-agent': 'Herald knowledge fetcher',
        ...(conditional?.etag ? { 'if-none-match': conditional.etag } : {}),
        ...(conditional?.lastModified ? { 'if-modified-since': conditional.lastModified } : {}),
      },
    });
  } catch (cause) {
    const refused = outboundRefusal(cause);
    if (refused)
      throw new HeraldError('knowledge_fetch_failed', {
        message: `${url} was not fetched: ${refused.message}`,
        details: { reason: 'address_refused', range: refused.range },
        cause,
      });
    const timedOut = signal.aborted;
    throw new HeraldError('knowledge_fetch_failed', {
      message: timedOut
        ? `${url} did not answer within ${opts.timeoutMs} ms`
        : `${url} could not be fetched: ${(cause as Error).message}`,
      details: { reason: timedOut ? 'timeout' : 'network' },
      cause,
    });
  }
  if (res.status === 304 && conditional) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new HeraldError('knowledge_fetch_failed', {
      message: `${url} answered HTTP ${res.status}`,
      details: { reason: 'status', status: res.status },
    });
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!acceptable(type)) {
    await res.body?.cancel().catch(() => undefined);
    throw new HeraldError('knowledge_input_invalid', {
      message: `${url} is ${type || 'of no declared type'}, not ${what}`,
      details: { reason: what === 'a feed' ? 'not_xml' : 'not_html', contentType: type },
    });
  }
  try {
    return {
      type,
      contentType: res.headers.get('content-type'),
      body: await readCapped(res, opts.maxBytes),
      finalUrl: res.url || url,
      etag: res.headers.get('etag'),
      lastModified: res.headers.get('last-modified'),
    };
  } catch (err) {
    if (err instanceof HeraldError) throw err;
    throw new HeraldError('knowledge_fetch_failed', {
      message: signal.aborted
        ? `${url} did not finish within ${opts.timeoutMs} ms`
        : `${url} failed mid-body: ${(err as Error).message}`,
      details: { reason: signal.aborted ? 'timeout' : 'network' },
      cause: err,
    });
  }
}

export const isHtml = (type: string) => type === 'text/html' || type === 'application/xhtml+xml';

export async function fetchPage(url: string, opts: { timeoutMs: number; maxBytes: number }): Promise<FetchedPage> {
  const got = (await fetchCapped(
    url,
    opts,
    'text/html,application/xhtml+xml,text/plain;q=0.8',
    (t) => isHtml(t) || t === 'text/plain',
    'an HTML page',
  ))!;
  const decoded = isHtml(got.type) ? decodeMarkup(got.body, got.contentType) : decodePlain(got.body, got.contentType);
  const page = isHtml(got.type) ? extractMainContent(decoded.text) : { title: null, text: decoded.text };
  return {
    ...page,
    text: checkText(page.text, opts.maxBytes),
    finalUrl: got.finalUrl,
    charset: { encoding: decoded.encoding, from: decoded.from },
  };
}
