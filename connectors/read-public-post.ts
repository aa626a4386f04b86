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

/** The author's handle and name as the host gave them are clipped to this many characters (they go into an attribution). */
export const MAX_AUTHOR_CHARS = 100;

const clip = (s: string) => (s.length > MAX_AUTHOR_CHARS ? `${s.slice(0, MAX_AUTHOR_CHARS - 1)}…` : s);

export function publicPostReader(opts: PublicPostOptions = {}): ReadPublicPost {
  const read = async (raw: string): Promise<PublicPost> => {
    const ref = parsePublicPostUrl(raw);
    const url = new URL(raw.trim()).toString();
    if (ref.platform === 'bluesky')
      return readBlueskyPost(ref, url, { appViewUrl: opts.blueskyAppViewUrl, timeoutMs: opts.timeoutMs });
    if (ref.platform === 'mastodon') return readMastodonStatus(ref, url, { timeoutMs: opts.timeoutMs });
    return readXPost(ref, url, { oembedUrl: opts.xOembedUrl, timeoutMs: opts.timeoutMs });
  };
  return async (raw) => {
    const post = await read(raw);
    const { handle, name } = post.author;
    return { ...post, author: { ...post.author, handle: clip(handle), name: name === null ? null : clip(name) } };
  };
}

export { parsePublicPostUrl, type PublicPost } from './public-post.js';
