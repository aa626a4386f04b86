/**
 * Reads a public post from its URL on the platform the address names (Bluesky, Mastodon or
 * X): see connectors/public-post.ts for the shape and the typed failures.
 */
import { readBlueskyPost } from './bluesky/public-post.js';
import { readMastodonStatus } from './mastodon/public-post.js';
import { parsePublicPostUrl, type PublicPost } from './public-post.js';
import { readXPost } from './x/public-post.js';

export interface PublicPostOptions {
  /** Bluesky's public AppView (default https://public.api.bsky.app). */
  blueskyAppViewUrl?: string | undefined;
  /** X's oEmbed endpoint (default https://publish.twitter.com/oembed). */
  xOembedUrl?: string | undefined;
  timeoutMs?: number | undefined;
}

export type ReadPublicPost = (url: string) => Promise<PublicPost>;

export function publicPostReader(opts: PublicPostOptions = {}): ReadPublicPost {
  return async (raw) => {
    const ref = parsePublicPostUrl(raw);
    const url = new URL(raw.trim()).toString();
    if (ref.platform === 'bluesky')
      return readBlueskyPost(ref, url, { appViewUrl: opts.blueskyAppViewUrl, timeoutMs: opts.timeoutMs });
    if (ref.platform === 'mastodon') return readMastodonStatus(ref, url, { timeoutMs: opts.timeoutMs });
    return readXPost(ref, url, { oembedUrl: opts.xOembedUrl, timeoutMs: opts.timeoutMs });
  };
}

export { parsePublicPostUrl, type PublicPost } from './public-post.js';
