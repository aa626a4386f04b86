/**
 * One public Mastodon status from its instance, without a token: `GET /api/v1/statuses/:id`
 * (https://docs.joinmastodon.org/methods/statuses/#get, public statuses need no token; a
 * private or missing one is 404). The instance is an address a user typed, so it is fetched
 * through the outbound policy (core/net/outbound): loopback and private addresses are refused.
 */
import { z } from 'zod';
import { HeraldError, userUrlDispatcher } from '../../core/index.js';
import { getPublicJson, htmlText, httpUrlOrNull, type PublicPost } from '../public-post.js';

// https://docs.joinmastodon.org/entities/Status/
const Status = z.object({
  id: z.string(),
  created_at: z.string(),
  content: z.string(),
  visibility: z.string().optional(),
  account: z.object({ acct: z.string(), display_name: z.string().nullish(), url: z.string().nullish() }),
  media_attachments: z.array(z.unknown()).default([]),
  reblogs_count: z.number().default(0),
  favourites_count: z.number().default(0),
  replies_count: z.number().default(0),
});

export async function readMastodonStatus(
  ref: { origin: string; id: string },
  url: string,
  opts: { timeoutMs?: number | undefined } = {},
): Promise<PublicPost> {
  const u = new URL(`/api/v1/statuses/${ref.id}`, ref.origin);
  const s = Status.safeParse(await getPublicJson(u, { timeoutMs: opts.timeoutMs, dispatcher: userUrlDispatcher() }));
  if (!s.success) throw new HeraldError('platform_unreachable', { message: `${u.host} answered an unreadable status` });
  const v = s.data;
  if (v.visibility && v.visibility !== 'public' && v.visibility !== 'unlisted')
    throw new HeraldError('not_found', { message: 'Only public posts are adapted' });
  const acct = v.account.acct.includes('@') ? v.account.acct : `${v.account.acct}@${u.host}`;
  return {
    platform: 'mastodon',
    url,
    author: { handle: acct, name: v.account.display_name || null, url: httpUrlOrNull(v.account.url) },
    text: htmlText(v.content),
    publishedAt: Number.isNaN(Date.parse(v.created_at)) ? null : new Date(v.created_at),
    engagement: v.favourites_count + v.reblogs_count + v.replies_count,
    media: v.media_attachments.length,
  };
}
