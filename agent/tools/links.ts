/**
 * Tracked-link tools, each a schema plus one `tools/links` call: make a short link that
 * counts clicks (with UTM, for a post, target or campaign), and read clicks per link,
 * platform and day. Making a link publishes nothing, so it needs no confirmation.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { createTrackedLink, linkStats, MAX_DESTINATION_LENGTH, type LinksDeps } from '../../tools/links/index.js';
import { ctxOf, Id } from './common.js';
import { defineTool, type ToolEnv } from './types.js';

function linksOf(env: ToolEnv): LinksDeps {
  if (!env.links) throw new HeraldError('internal', { message: 'Tracked links are not available in this session' });
  return env.links;
}

const UtmValue = z.string().min(1).max(200).optional();

export const linkTools = [
  defineTool({
    name: 'create_tracked_link',
    description:
      "Makes a short tracked link (Herald's /l/<code>) that redirects to an http(s) URL with UTM parameters added and counts clicks (people, unique visitors and bots apart). Optionally for a post, one of its targets, a campaign or an A/B variant. Put the returned shortUrl in the post text.",
    schema: z.object({
      destinationUrl: z.string().min(1).max(MAX_DESTINATION_LENGTH).describe('Where people go: an http(s) URL'),
      postId: Id.optional(),
      targetId: Id.optional().describe("One of the post's targets (its platform becomes the link's)"),
      campaignId: Id.optional(),
      variant: z.string().min(1).max(40).optional().describe('A/B variant label'),
      utm: z
        .object({ source: UtmValue, medium: UtmValue, campaign: UtmValue, content: UtmValue, term: UtmValue })
        .optional(),
    }),
    sideEffect: false,
    run: async (env, args) => {
      const link = await createTrackedLink(linksOf(env), ctxOf(env), args);
      return {
        linkId: link.id,
        shortUrl: link.shortUrl,
        redirectsTo: link.redirectsTo,
        postId: link.postId,
        platform: link.platform,
      };
    },
  }),
  defineTool({
    name: 'link_stats',
    description:
      'Clicks on tracked links: human clicks, unique visitors and bot/preview clicks, per link, per platform and per day. Choose links by id, by campaign or by post; with none, the newest links. Default: the last 30 days.',
    schema: z.object({
      linkIds: z.array(Id).max(50).optional(),
      campaignId: Id.optional(),
      postId: Id.optional(),
      days: z.number().int().min(1).max(366).optional().describe('How many days back (default 30)'),
    }),
    sideEffect: false,
    run: async (env, args) => {
      const to = env.now();
      const from = new Date(to.getTime() - (args.days ?? 30) * 86_400_000);
      const stats = await linkStats(linksOf(env), ctxOf(env), {
        linkIds: args.linkIds,
        campaignId: args.campaignId,
        postId: args.postId,
        from,
        to,
      });
      return {
        from: stats.from,
        to: stats.to,
        totals: stats.totals,
        links: stats.links.slice(0, 20).map((l) => ({
          linkId: l.linkId,
          shortUrl: l.shortUrl,
          destination: l.destinationUrl,
          postId: l.postId,
          variant: l.variant,
          clicks: l.clicks,
          uniqueClicks: l.uniqueClicks,
          botClicks: l.botClicks,
          byPlatform: l.byPlatform,
          byDay: l.byDay.slice(-14),
        })),
        ...(stats.links.length > 20 ? { more: stats.links.length - 20 } : {}),
      };
    },
  }),
];
