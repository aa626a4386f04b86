/**
 * One public X post through X's oEmbed endpoint, which needs no authentication
 * (`GET https://publish.twitter.com/oembed?url=<post URL>`,
 * https://developer.x.com/en/docs/tweets/post-and-engage/api-reference/get-statuses-oembed):
 * `author_name`, `author_url` and `html`, a blockquote whose first `<p>` is the post's text.
 * It gives no counts, so the engagement is unknown (null); a deleted or protected post is 404.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { getPublicJson, htmlText, httpUrlOrNull, type PublicPost } from '../public-post.js';

export const X_OEMBED_URL = 'https://publish.twitter.com/oembed';

const OEmbed = z.object({
  url: z.string().optional(),
  author_name: z.string().default(''),
  author_url: z.string().default(''),
  html: z.string(),
});

export async function readXPost(
  ref: { user: string; id: string },
  url: string,
  opts: { oembedUrl?: string | undefined; timeoutMs?: number | undefined } = {},
): Promise<PublicPost> {
  const u = new URL(opts.oembedUrl ?? X_OEMBED_URL);
  u.searchParams.set('url', `https://x.com/${ref.user}/status/${ref.id}`);
  u.searchParams.set('omit_script', 'true');
  u.searchParams.set('dnt', 'true');
  const o = OEmbed.safeParse(await getPublicJson(u, opts));
  if (!o.success) throw new HeraldError('platform_unreachable', { message: `${u.host} answered an unreadable embed` });
  const p = /<p[^>]*>([\s\S]*?)<\/p>/i.exec(o.data.html);
  if (!p) throw new HeraldError('platform_unreachable', { message: `${u.host} answered an embed without text` });
  const authorUrl = httpUrlOrNull(o.data.author_url);
  const handle = authorUrl ? (new URL(authorUrl).pathname.split('/').filter(Boolean)[0] ?? ref.user) : ref.user;
  const media = (o.data.html.match(/pic\.(?:twitter|x)\.com\//g) ?? []).length;
  return {
    platform: 'x',
    url,
    author: { handle: `@${handle}`, name: o.data.author_name || null, url: authorUrl },
    // Links to attached pictures are not part of the text.
    text: htmlText(p[1]!)
      .replace(/\s*pic\.(?:twitter|x)\.com\/\S+/g, '')
      .trim(),
    publishedAt: null,
    engagement: null,
    media,
  };
}
