/**
 * One public Bluesky post from the public AppView, without a session: the handle in the
 * address resolved with `com.atproto.identity.resolveHandle`
 * (https://docs.bsky.app/docs/api/com-atproto-identity-resolve-handle), then the post read with
 * `app.bsky.feed.getPosts?uris=at://<did>/app.bsky.feed.post/<rkey>`
 * (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts), which answers an empty `posts`
 * for a post that is gone.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { getPublicJson, type PublicPost } from '../public-post.js';

export const BLUESKY_PUBLIC_APPVIEW = 'https://public.api.bsky.app';

const PostView = z.object({
  uri: z.string(),
  author: z.object({ did: z.string(), handle: z.string(), displayName: z.string().nullish() }),
  record: z.object({ text: z.string(), createdAt: z.string().optional() }).passthrough(),
  embed: z
    .object({
      $type: z.string(),
      images: z.array(z.unknown()).optional(),
      media: z
        .object({ $type: z.string(), images: z.array(z.unknown()).optional() })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
  likeCount: z.number().optional(),
  repostCount: z.number().optional(),
  replyCount: z.number().optional(),
  quoteCount: z.number().optional(),
});

const mediaOf = (embed: z.infer<typeof PostView>['embed']): number => {
  if (!embed) return 0;
  const e = embed.$type.startsWith('app.bsky.embed.recordWithMedia') && embed.media ? embed.media : embed;
  if (e.images) return e.images.length;
  return e.$type.startsWith('app.bsky.embed.video') ? 1 : 0;
};

export async function readBlueskyPost(
  ref: { actor: string; rkey: string },
  url: string,
  opts: { appViewUrl?: string | undefined; timeoutMs?: number | undefined } = {},
): Promise<PublicPost> {
  const base = opts.appViewUrl ?? BLUESKY_PUBLIC_APPVIEW;
  let did = ref.actor;
  if (!did.startsWith('did:')) {
    const u = new URL('/xrpc/com.atproto.identity.resolveHandle', base);
    u.searchParams.set('handle', ref.actor);
    const r = z.object({ did: z.string() }).safeParse(await getPublicJson(u, opts));
    if (!r.success)
      throw new HeraldError('platform_unreachable', { message: `${u.host} answered an unreadable handle` });
    did = r.data.did;
  }
  const u = new URL('/xrpc/app.bsky.feed.getPosts', base);
  u.searchParams.set('uris', `at://${did}/app.bsky.feed.post/${ref.rkey}`);
  const body = z.object({ posts: z.array(z.unknown()) }).safeParse(await getPublicJson(u, opts));
  if (!body.success)
    throw new HeraldError('platform_unreachable', { message: `${u.host} answered an unreadable post` });
  const first = body.data.posts[0];
  if (first === undefined) throw new HeraldError('not_found', { message: 'No such public Bluesky post' });
  const p = PostView.safeParse(first);
  if (!p.success) throw new HeraldError('platform_unreachable', { message: `${u.host} answered an unreadable post` });
  const v = p.data;
  return {
    platform: 'bluesky',
    url,
    author: {
      handle: v.author.handle,
      name: v.author.displayName || null,
      url: `https://bsky.app/profile/${encodeURIComponent(v.author.handle)}`,
    },
    text: v.record.text,
    publishedAt:
      v.record.createdAt && !Number.isNaN(Date.parse(v.record.createdAt)) ? new Date(v.record.createdAt) : null,
    engagement: (v.likeCount ?? 0) + (v.repostCount ?? 0) + (v.replyCount ?? 0) + (v.quoteCount ?? 0),
    media: mediaOf(v.embed),
  };
}
