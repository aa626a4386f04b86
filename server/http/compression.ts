/**
 * Compressed answers for bodies rendered once and served many times (the cached pages of
 * `GET /v1/posts`): each body is gzipped once, off the event loop, and the gzip bytes live as
 * long as the body does. A 63 KB page of 50 posts becomes about 8 KB, which is most of what
 * serving it costs the server. Bodies built per request are not compressed here: gzipping
 * each of them would cost the API more CPU than it saves (a reverse proxy can do it).
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import Negotiator from 'negotiator';

const gzip = promisify(gzipCallback);
const gzipped = new WeakMap<Buffer, Promise<Buffer>>();

/** `body` gzipped, computed once per body (the same Buffer). */
export function gzipOnce(body: Buffer): Promise<Buffer> {
  let out = gzipped.get(body);
  if (!out) {
    out = gzip(body);
    gzipped.set(body, out);
    // A failure is not kept: the next request tries again.
    out.catch(() => gzipped.delete(body));
  }
  return out;
}

const OFFERED = ['gzip', 'identity'];
/** Answers per `Accept-Encoding` value seen (clients send a handful of distinct values). */
const choices = new Map<string, boolean>();
const MAX_CHOICES = 256;

/** Whether the client takes gzip, by `Accept-Encoding` and its q-values (`gzip;q=0` is a no). */
export function acceptsGzip(acceptEncoding: string | string[] | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  const value = Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding;
  let yes = choices.get(value);
  if (yes === undefined) {
    yes = new Negotiator({ headers: { 'accept-encoding': value } }).encoding(OFFERED) === 'gzip';
    if (choices.size >= MAX_CHOICES) choices.clear();
    choices.set(value, yes);
  }
  return yes;
}
