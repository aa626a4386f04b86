/**
 * Reading one public post by its URL, to adapt what worked (docs/trends.md#adapting-what-works):
 * a Bluesky post (`bsky.app/profile/<handle>/post/<rkey>`, read from the public AppView), a
 * Mastodon status (`<instance>/@<user>/<id>`, the instance's public `GET /api/v1/statuses/:id`,
 * fetched through the outbound policy as the instance is an address a user typed) or an X post
 * (`x.com/<user>/status/<id>`, X's public oEmbed endpoint). The text is outside text: a caller
 * quotes at most a short part of it and never follows it. Failures are typed: an address that
 * is none of these is `validation_failed`, a post that is gone or not public `not_found`, a
 * 429 `rate_limited`, anything else `platform_unreachable`.
 */
import type { Dispatcher } from 'undici';
import { HeraldError, outboundRefusal, readBodyCapped } from '../core/index.js';

export type PublicPostPlatform = 'bluesky' | 'mastodon' | 'x';

export interface PublicPost {
  platform: PublicPostPlatform;
  /** The address it was read from (http(s)). */
  url: string;
  author: { handle: string; name: string | null; url: string | null };
  /** Plain text (untrusted). */
  text: string;
  publishedAt: Date | null;
  /** Likes + reposts + replies (+ quotes) when the platform says; X's oEmbed does not (null). */
  engagement: number | null;
  /** Images or videos attached. */
  media: number;
}

export type PublicPostRef =
  | { platform: 'bluesky'; actor: string; rkey: string }
  | { platform: 'mastodon'; origin: string; id: string }
  | { platform: 'x'; user: string; id: string };

const X_HOSTS = new Set(['x.com', 'www.x.com', 'twitter.com', 'www.twitter.com', 'mobile.twitter.com', 'mobile.x.com']);
const BSKY_HOSTS = new Set(['bsky.app', 'www.bsky.app']);

/** Which platform and post a URL names, or `validation_failed`. */
export function parsePublicPostUrl(raw: string): PublicPostRef {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new HeraldError('validation_failed', { message: 'url must be a web address of a post' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new HeraldError('validation_failed', { message: 'url must be an http(s) address' });
  const parts = url.pathname.split('/').filter(Boolean);
  const host = url.hostname.toLowerCase();
  if (BSKY_HOSTS.has(host)) {
    if (
      parts.length === 4 &&
      parts[0] === 'profile' &&
      parts[2] === 'post' &&
      /^[A-Za-z0-9._:~-]{1,512}$/.test(parts[3]!)
    ) {
      let actor: string;
      try {
        actor = decodeURIComponent(parts[1]!);
      } catch {
        // A malformed escape (`%E0%A4%A`) is a bad address like any other, not a crash.
        throw new HeraldError('validation_failed', { message: 'url has a malformed %-escape in the Bluesky handle' });
      }
      return { platform: 'bluesky', actor, rkey: parts[3]! };
    }
  } else if (X_HOSTS.has(host)) {
    if (parts.length >= 3 && parts[1] === 'status' && /^\d{1,25}$/.test(parts[2]!))
      return { platform: 'x', user: parts[0]!, id: parts[2]! };
  } else {
    // Mastodon's public addresses: /@user/<id>, /@user@remote/<id>, /users/<user>/statuses/<id>.
    if (parts.length === 2 && parts[0]!.startsWith('@') && /^\d{1,25}$/.test(parts[1]!))
      return { platform: 'mastodon', origin: url.origin, id: parts[1]! };
    if (parts.length === 4 && parts[0] === 'users' && parts[2] === 'statuses' && /^\d{1,25}$/.test(parts[3]!))
      return { platform: 'mastodon', origin: url.origin, id: parts[3]! };
  }
  throw new HeraldError('validation_failed', {
    message:
      'url must be a public post on Bluesky (bsky.app/profile/…/post/…), Mastodon (…/@user/<id>) or X (x.com/…/status/<id>)',
  });
}

/** The largest answer read from a public host: a post's JSON is a few KB; more is refused, not buffered. */
export const MAX_PUBLIC_JSON_BYTES = 1_000_000;

/** A body read up to `maxBytes` (declared length checked first, then counted while streaming), or null when over. */
async function readCapped(res: Response, maxBytes: number): Promise<string | null> {
  const read = await readBodyCapped(res, maxBytes);
  return read.ok ? read.body.toString('utf8') : null;
}

/**
 * One GET of a JSON document; 404/410 `not_found`, 429 `rate_limited`, an answer over
 * {@link MAX_PUBLIC_JSON_BYTES} `platform_unreachable` with `details.reason: 'response_too_large'`,
 * anything else `platform_unreachable`.
 */
export async function getPublicJson(
  url: URL,
  opts: { timeoutMs?: number | undefined; dispatcher?: Dispatcher | undefined; maxBytes?: number | undefined } = {},
): Promise<unknown> {
  let res: Response;
  let text: string | null;
  const maxBytes = opts.maxBytes ?? MAX_PUBLIC_JSON_BYTES;
  try {
    res = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    text = await readCapped(res, maxBytes);
  } catch (err) {
    const refused = outboundRefusal(err);
    throw new HeraldError('platform_unreachable', { message: `${url.host}: ${(refused ?? (err as Error)).message}` });
  }
  if (text === null)
    throw new HeraldError('platform_unreachable', {
      message: `${url.host} answered more than ${maxBytes} bytes; a public post is far smaller, so it was not read`,
      details: { reason: 'response_too_large', maxBytes },
    });
  if (res.status === 404 || res.status === 410)
    throw new HeraldError('not_found', { message: `${url.host} has no such public post` });
  if (res.status === 429)
    throw new HeraldError('rate_limited', { message: `${url.host} answered 429; try again later` });
  // Bluesky answers an unknown or private post's actor with 400 and an XRPC error name.
  if (res.status === 400 && /"error"\s*:\s*"(NotFound|InvalidRequest|BlockedActor)"/.test(text))
    throw new HeraldError('not_found', { message: `${url.host} has no such public post` });
  if (!res.ok) throw new HeraldError('platform_unreachable', { message: `${url.host} answered ${res.status}` });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HeraldError('platform_unreachable', { message: `${url.host} answered something other than JSON` });
  }
}

/** HTML of a status or an embed as plain text (paragraphs and breaks kept as new lines). */
export function htmlText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p[^>]*>/gi, '\n\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&mdash;/g, '—')
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .trim();
}

export { httpUrlOrNull } from './trend-source.js';
