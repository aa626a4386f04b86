/**
 * Affiliate campaign tools, each a schema plus one `tools/campaigns` call: add a product (by
 * hand or from its page), propose a campaign (a draft with its timeline; nothing is
 * scheduled), approve it as a whole (a side effect the user confirms, shown item by item),
 * pause, resume or end it (confirmed), its report, and the content suite for a product.
 * Product pages and generated texts are outside text: those outputs are marked untrusted.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import {
  addProduct,
  approveCampaign,
  campaignReport,
  CONTENT_KINDS,
  createCampaign,
  endCampaign,
  generateCampaignContent,
  getCampaign,
  importProductPage,
  listProducts,
  pauseCampaign,
  resumeCampaign,
  type CampaignsDeps,
} from '../../tools/campaigns/index.js';
import { Accounts, clip, ctxOf, Id } from './common.js';
import { defineTool, type ToolEnv } from './types.js';

function campaignsOf(env: ToolEnv): CampaignsDeps {
  if (!env.links)
    throw new HeraldError('internal', { message: 'Campaigns are not available here (no tracked links configured)' });
  return { scheduling: env.deps, links: env.links, write: env.write, knowledge: env.knowledge };
}

const Day = z
  .string()
  .min(1)
  .max(40)
  .describe('An ISO instant or date (YYYY-MM-DD), read in the user’s zone when it has no offset');

function instant(v: string, zone: string): string {
  // A date or wall-clock time without an offset is read in the user's zone.
  const d = DateTime.fromISO(v, { zone });
  return d.isValid ? d.toUTC().toISO()! : v;
}

const compactCampaign = (c: Awaited<ReturnType<typeof getCampaign>>) => ({
  campaignId: c.id,
  name: c.name,
  status: c.status,
  timelineVersion: c.timelineVersion,
  timeline: c.timeline.map((i) => ({
    key: i.key,
    at: i.atLocal,
    platform: i.platform,
    productId: i.productId,
    kind: i.kind,
    text: clip(i.content, 200),
    ...(i.variant ? { variant: i.variant } : {}),
  })),
  posts: c.posts.map((p) => ({
    itemKey: p.itemKey,
    postId: p.postId,
    platform: p.platform,
    link: p.linkCode,
    status: p.status,
  })),
});

export const campaignTools = [
  defineTool({
    name: 'add_product',
    description:
      'Adds a product to promote: by hand (name, url, price...), or from its product page (pageUrl: Herald reads the JSON-LD / Open Graph). Testimonials only as the user gave them, word for word.',
    schema: z.object({
      pageUrl: z.string().url().max(2048).optional(),
      name: z.string().min(1).max(300).optional(),
      url: z.string().url().max(2048).optional(),
      price: z.number().min(0).optional(),
      currency: z.string().length(3).optional(),
      category: z.string().max(200).optional(),
      notes: z.string().max(5000).optional(),
      testimonials: z
        .array(z.object({ quote: z.string().min(1).max(1000), author: z.string().min(1).max(200) }))
        .max(20)
        .optional(),
      affiliateLink: z.object({ programId: Id, url: z.string().url().max(2048) }).optional(),
    }),
    sideEffect: false,
    untrustedOutput: (out) => !!(out as { extracted?: unknown }).extracted,
    run: async (env, args) => {
      const deps = campaignsOf(env);
      const affiliateLinks = args.affiliateLink ? [args.affiliateLink] : undefined;
      if (args.pageUrl)
        return importProductPage(deps, ctxOf(env), args.pageUrl, {
          notes: args.notes,
          testimonials: args.testimonials,
          affiliateLinks,
        });
      if (!args.name) throw new HeraldError('validation_failed', { message: 'Give the product name, or its pageUrl' });
      return addProduct(deps, ctxOf(env), { ...args, name: args.name, affiliateLinks });
    },
  }),
  defineTool({
    name: 'list_products',
    description: "The workspace's products (ids for create_campaign).",
    schema: z.object({}),
    sideEffect: false,
    run: async (env) =>
      (await listProducts(campaignsOf(env), ctxOf(env))).map((p) => ({
        productId: p.id,
        name: p.name,
        price: p.price,
        currency: p.currency,
        url: p.url,
      })),
  }),
  defineTool({
    name: 'create_campaign',
    description:
      'Proposes a campaign: products, accounts, date range and posts per week per account. Herald drafts a timeline at each account’s best hours to post; nothing is scheduled until approve_campaign. Show the user the timeline.',
    schema: z.object({
      name: z.string().min(1).max(200),
      productIds: z.array(Id).min(1).max(20),
      accounts: Accounts,
      from: Day,
      to: Day,
      postsPerWeek: z.number().int().min(1).max(50),
      abTest: z
        .boolean()
        .optional()
        .describe('Two texts per product, each with its own link, compared before a winner is declared'),
    }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) =>
      compactCampaign(
        await createCampaign(campaignsOf(env), ctxOf(env), {
          ...args,
          from: instant(args.from, env.session.timeZone),
          to: instant(args.to, env.session.timeZone),
        }),
      ),
  }),
  defineTool({
    name: 'approve_campaign',
    description:
      'Approves a campaign’s timeline as a whole: every item becomes a scheduled post with its own tracked link. The user confirms first.',
    schema: z.object({ campaignId: Id, timelineVersion: z.number().int().min(1) }),
    sideEffect: true,
    untrustedOutput: true,
    describe: async (env, args) => {
      const c = await getCampaign(campaignsOf(env), ctxOf(env), args.campaignId);
      return {
        summary: `Schedule ${c.timeline.length} post(s) of campaign "${c.name}" (timeline version ${c.timelineVersion}), each with its own tracked link`,
        details: {
          tool: 'approve_campaign',
          campaignId: c.id,
          timelineVersion: c.timelineVersion,
          items: c.timeline.map((i) => ({ at: i.atLocal, platform: i.platform, text: i.content })),
        },
      };
    },
    run: async (env, args) =>
      compactCampaign(
        await approveCampaign(campaignsOf(env), ctxOf(env), args.campaignId, { timelineVersion: args.timelineVersion }),
      ),
  }),
  defineTool({
    name: 'set_campaign_status',
    description:
      'Pauses (scheduled posts held as drafts), resumes or ends (the rest cancelled) a campaign. The user confirms first.',
    schema: z.object({ campaignId: Id, action: z.enum(['pause', 'resume', 'end']) }),
    sideEffect: true,
    describe: async (env, args) => {
      const c = await getCampaign(campaignsOf(env), ctxOf(env), args.campaignId);
      const waiting = c.posts.filter((p) => p.status === 'scheduled' || p.status === 'draft').length;
      return {
        summary: `${args.action[0]!.toUpperCase()}${args.action.slice(1)} campaign "${c.name}" (${c.status}; ${waiting} post(s) not published yet)`,
        details: { tool: 'set_campaign_status', campaignId: c.id, action: args.action },
      };
    },
    run: async (env, args) => {
      const f = args.action === 'pause' ? pauseCampaign : args.action === 'resume' ? resumeCampaign : endCampaign;
      const { status } = await f(campaignsOf(env), ctxOf(env), args.campaignId);
      return { campaignId: args.campaignId, status };
    },
  }),
  defineTool({
    name: 'campaign_report',
    description:
      'A campaign’s clicks (bots apart), conversions, revenue, commission, EPC, conversion rate and ROI, per post, product and platform, with A/B verdicts.',
    schema: z.object({ campaignId: Id }),
    sideEffect: false,
    run: async (env, args) => campaignReport(campaignsOf(env), ctxOf(env), args.campaignId),
  }),
  defineTool({
    name: 'generate_campaign_content',
    description:
      'Writes the content suite for a product (review, comparison, how_to, testimonial from the user’s real testimonials only, promotional), one per kind and account, within each platform’s limits with the disclosure and {link}. Nothing is saved.',
    schema: z.object({
      productId: Id,
      accounts: Accounts,
      kinds: z.array(z.enum(CONTENT_KINDS)).max(5).optional(),
      compareWith: z.array(Id).max(5).optional(),
    }),
    sideEffect: false,
    untrustedOutput: true,
    run: async (env, args) => generateCampaignContent(campaignsOf(env), ctxOf(env), args),
  }),
];
