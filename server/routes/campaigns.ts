/**
 * Affiliate campaigns over REST (docs/campaigns.md): products (`/v1/products`, by hand, CSV
 * catalogue, product page), programs, campaigns with their timeline (edit, approve as a
 * whole, pause, resume, end), conversions (manual, network CSV), rates and settings, reports
 * and the content suite. Routes translate; `tools/campaigns` checks workspace and role. The
 * network postback is public and lives in `campaignPostbackRoutes`: its signature is checked
 * on the raw body before anything is parsed.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db, SecretCipher } from '../../core/index.js';
import {
  addConversion,
  addProduct,
  approveCampaign,
  campaignReport,
  campaignsOverview,
  CONTENT_KINDS,
  createCampaign,
  createProgram,
  deleteProduct,
  editTimeline,
  endCampaign,
  generateCampaignContent,
  getCampaign,
  getCampaignSettings,
  getProduct,
  importCatalogue,
  importConversionsCsv,
  importProductPage,
  listCampaigns,
  listPrograms,
  listProducts,
  listRates,
  pauseCampaign,
  productsReport,
  receivePostback,
  resumeCampaign,
  rotatePostbackSecret,
  setRate,
  updateCampaignSettings,
  updateProduct,
  type CampaignsDeps,
} from '../../tools/campaigns/index.js';
import type { TextWriter } from '../../tools/drafting/index.js';
import { serviceContextOf } from '../http/context.js';

const ctxOf = (req: FastifyRequest) => serviceContextOf(req);
const Id = z.strictObject({ id: z.uuid() });
const Url = z.string().trim().url().max(2048);
const Money = z.union([z.number(), z.string().max(40)]);
const Testimonial = z.strictObject({
  quote: z.string().min(1).max(1000),
  author: z.string().min(1).max(200),
  source: z.string().max(500).optional(),
});
const AffiliateLink = z.strictObject({ programId: z.uuid(), url: Url });
/** `POST /v1/products` (and the MCP tool `add_product`). */
export const ProductBody = z.strictObject({
  name: z.string().trim().min(1).max(300),
  url: Url.nullish(),
  price: Money.nullish(),
  currency: z.string().length(3).nullish(),
  images: z.array(Url).max(10).optional(),
  category: z.string().max(200).nullish(),
  notes: z.string().max(5000).nullish(),
  testimonials: z.array(Testimonial).max(50).optional(),
  affiliateLinks: z.array(AffiliateLink).max(20).optional(),
});
const Kind = z.enum(CONTENT_KINDS);
/** `POST /v1/campaigns/content` (and the MCP tool `generate_campaign_content`). */
export const ContentBody = z.strictObject({
  productId: z.uuid(),
  accounts: z.array(z.string().min(1).max(200)).min(1).max(10),
  kinds: z.array(Kind).max(5).optional(),
  compareWith: z.array(z.uuid()).max(5).optional(),
});
/** `POST /v1/campaigns` (and the MCP tool `create_campaign`). */
export const CreateCampaignBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  productIds: z.array(z.uuid()).min(1).max(20),
  accounts: z.array(z.string().min(1).max(200)).min(1).max(20),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  postsPerWeek: z.number().int().min(1).max(50),
  abTest: z.boolean().optional(),
  cost: z.number().min(0).optional(),
  costCurrency: z.string().length(3).optional(),
});
const CsvText = z
  .string()
  .min(1)
  .max(5 * 1024 * 1024);

export const productRoutes: FastifyPluginAsyncZod<{ campaigns: CampaignsDeps }> = async (app, { campaigns: deps }) => {
  app.get('/products', { schema: { tags: ['campaigns'], summary: "The workspace's products" } }, async (req) => ({
    products: await listProducts(deps, ctxOf(req)),
  }));
  app.post(
    '/products',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Adds a product (editor); one with the same URL is updated',
        body: ProductBody,
      },
    },
    async (req, reply) => reply.code(201).send(await addProduct(deps, ctxOf(req), req.body)),
  );
  app.post(
    '/products/import',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Imports a CSV catalogue, one product per row (editor)',
        body: z.strictObject({ csv: CsvText, programId: z.uuid().optional() }),
      },
    },
    async (req) => importCatalogue(deps, ctxOf(req), req.body.csv, { programId: req.body.programId }),
  );
  app.post(
    '/products/from-page',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Adds the product a page describes, from its JSON-LD or Open Graph (editor)',
        body: z.strictObject({
          url: Url,
          notes: z.string().max(5000).optional(),
          testimonials: z.array(Testimonial).max(50).optional(),
          affiliateLinks: z.array(AffiliateLink).max(20).optional(),
        }),
      },
    },
    async (req, reply) => reply.code(201).send(await importProductPage(deps, ctxOf(req), req.body.url, req.body)),
  );
  app.get(
    '/products/report',
    {
      schema: {
        tags: ['campaigns'],
        summary:
          "Each product's clicks, conversions, revenue, commission, EPC and conversion rate across campaigns (last year)",
      },
    },
    async (req) => productsReport(deps, ctxOf(req)),
  );
  app.get('/products/:id', { schema: { tags: ['campaigns'], params: Id } }, async (req) =>
    getProduct(deps, ctxOf(req), req.params.id),
  );
  app.patch(
    '/products/:id',
    { schema: { tags: ['campaigns'], summary: 'Changes a product (editor)', params: Id, body: ProductBody.partial() } },
    async (req) => updateProduct(deps, ctxOf(req), req.params.id, req.body),
  );
  app.delete(
    '/products/:id',
    { schema: { tags: ['campaigns'], summary: 'Deletes a product (editor)', params: Id } },
    async (req, reply) => {
      await deleteProduct(deps, ctxOf(req), req.params.id);
      return reply.code(204).send();
    },
  );
};

/** Options of the campaign routes: the service's deps, and the model writer for the content suite (none: `model_unavailable`). */
export interface CampaignRouteOptions {
  campaigns: CampaignsDeps;
  writerFor?: ((who: { workspaceId: string; userId: string | null }) => TextWriter) | undefined;
}

export const campaignRoutes: FastifyPluginAsyncZod<CampaignRouteOptions> = async (
  app,
  { campaigns: deps, writerFor },
) => {
  app.get('/campaigns/programs', { schema: { tags: ['campaigns'], summary: 'Affiliate programs' } }, async (req) => ({
    programs: await listPrograms(deps, ctxOf(req)),
  }));
  app.post(
    '/campaigns/programs',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Creates a program (admin); its postback secret is shown once, here',
        body: z.strictObject({
          name: z.string().trim().min(1).max(200),
          kind: z.enum(['network', 'direct']),
          network: z.string().max(100).nullish(),
          commissionType: z.enum(['percent', 'flat']),
          commissionValue: z.number().min(0),
          cookieDays: z.number().int().min(0).max(3650).optional(),
          payoutCurrency: z.string().length(3),
        }),
      },
    },
    async (req, reply) => reply.code(201).send(await createProgram(deps, ctxOf(req), req.body)),
  );
  app.post(
    '/campaigns/programs/:id/rotate-secret',
    { schema: { tags: ['campaigns'], summary: 'A new postback secret (admin)', params: Id } },
    async (req) => rotatePostbackSecret(deps, ctxOf(req), req.params.id),
  );
  app.get('/campaigns/settings', { schema: { tags: ['campaigns'] } }, async (req) =>
    getCampaignSettings(deps, ctxOf(req)),
  );
  app.put(
    '/campaigns/settings',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Reporting currency and disclosures (admin)',
        body: z.strictObject({
          baseCurrency: z.string().length(3).optional(),
          disclosures: z.array(z.string().min(1).max(60)).min(1).max(10).optional(),
        }),
      },
    },
    async (req) => updateCampaignSettings(deps, ctxOf(req), req.body),
  );
  app.get('/campaigns/rates', { schema: { tags: ['campaigns'] } }, async (req) => ({
    rates: await listRates(deps, ctxOf(req)),
  }));
  app.put(
    '/campaigns/rates',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Stores a rate: 1 currency = rate reporting-currency units on date (editor)',
        body: z.strictObject({
          currency: z.string().length(3),
          rate: z.number().positive(),
          date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
        }),
      },
    },
    async (req) => setRate(deps, ctxOf(req), req.body),
  );
  app.post(
    '/campaigns/conversions',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Enters a conversion by hand (editor)',
        body: z.strictObject({
          programId: z.uuid().optional(),
          transactionId: z.string().min(1).max(200).optional(),
          subId: z.string().max(200).optional(),
          campaignId: z.uuid().optional(),
          productId: z.uuid().optional(),
          amount: Money.optional(),
          commission: Money.optional(),
          currency: z.string().length(3).optional(),
          status: z.enum(['approved', 'pending', 'reversed']).optional(),
          occurredAt: z.iso.datetime({ offset: true }).optional(),
        }),
      },
    },
    async (req, reply) => reply.code(201).send(await addConversion(deps, ctxOf(req), req.body)),
  );
  app.post(
    '/campaigns/conversions/import',
    {
      schema: {
        tags: ['campaigns'],
        summary: "Imports a network's conversion report (CSV) for a program (editor)",
        body: z.strictObject({ programId: z.uuid(), csv: CsvText }),
      },
    },
    async (req) => importConversionsCsv(deps, ctxOf(req), req.body.programId, req.body.csv),
  );
  app.post(
    '/campaigns/content',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Generates the content suite for a product through the model (editor); nothing is saved',
        body: ContentBody,
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return generateCampaignContent({ ...deps, write: writerFor?.(ctx) }, ctx, req.body);
    },
  );
  app.get(
    '/campaigns/overview',
    { schema: { tags: ['campaigns'], summary: "Each campaign's totals" } },
    async (req) => ({ campaigns: await campaignsOverview(deps, ctxOf(req)) }),
  );
  app.get('/campaigns', { schema: { tags: ['campaigns'] } }, async (req) => ({
    campaigns: await listCampaigns(deps, ctxOf(req)),
  }));
  app.post(
    '/campaigns',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Creates a draft campaign with its proposed timeline (editor); nothing is scheduled until approved',
        body: CreateCampaignBody,
      },
    },
    async (req, reply) => reply.code(201).send(await createCampaign(deps, ctxOf(req), req.body)),
  );
  app.get('/campaigns/:id', { schema: { tags: ['campaigns'], params: Id } }, async (req) =>
    getCampaign(deps, ctxOf(req), req.params.id),
  );
  app.put(
    '/campaigns/:id/timeline',
    {
      schema: {
        tags: ['campaigns'],
        summary: "Replaces a draft campaign's timeline (editor), naming the version edited",
        params: Id,
        body: z.strictObject({
          timelineVersion: z.number().int().min(1),
          items: z
            .array(
              z.object({
                key: z.string().max(20).optional(),
                at: z.iso.datetime({ offset: true }),
                socialAccountId: z.uuid(),
                productId: z.uuid(),
                kind: Kind,
                content: z.string().min(1).max(20_000),
                variantGroup: z.string().max(60).nullish(),
                variant: z.string().max(20).nullish(),
              }),
            )
            .min(1)
            .max(200),
        }),
      },
    },
    async (req) => editTimeline(deps, ctxOf(req), req.params.id, req.body),
  );
  app.post(
    '/campaigns/:id/approve',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Approves the timeline as a whole: every item becomes a scheduled post with its own tracked link',
        params: Id,
        body: z.strictObject({ timelineVersion: z.number().int().min(1) }),
      },
    },
    async (req) => approveCampaign(deps, ctxOf(req), req.params.id, req.body),
  );
  app.post('/campaigns/:id/pause', { schema: { tags: ['campaigns'], params: Id } }, async (req) =>
    pauseCampaign(deps, ctxOf(req), req.params.id),
  );
  app.post('/campaigns/:id/resume', { schema: { tags: ['campaigns'], params: Id } }, async (req) =>
    resumeCampaign(deps, ctxOf(req), req.params.id),
  );
  app.post('/campaigns/:id/end', { schema: { tags: ['campaigns'], params: Id } }, async (req) =>
    endCampaign(deps, ctxOf(req), req.params.id),
  );
  app.get(
    '/campaigns/:id/report',
    {
      schema: {
        tags: ['campaigns'],
        summary:
          'Clicks, conversions, revenue, commission, EPC, conversion rate, ROI; per post, product, platform; A/B verdicts',
        params: Id,
      },
    },
    async (req) => campaignReport(deps, ctxOf(req), req.params.id),
  );
};

/** Public: `POST /v1/campaigns/postback?program=<id>`, signed `X-Herald-Signature: sha256=<hex>` over the raw body. */
export const campaignPostbackRoutes: FastifyPluginAsync<{
  db: Db;
  cipher: SecretCipher;
  campaigns: CampaignsDeps;
}> = async (app, deps) => {
  // The signature covers the exact bytes: the body stays a string until it is checked.
  app.addContentTypeParser(
    ['application/json', 'text/plain'],
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, body),
  );
  app.post('/campaigns/postback', { schema: { hide: true } }, async (req, reply) => {
    const programId = (req.query as { program?: unknown }).program;
    const signature = req.headers['x-herald-signature'];
    const recorded = await receivePostback(deps, {
      programId: typeof programId === 'string' ? programId : undefined,
      signature: typeof signature === 'string' ? signature : undefined,
      rawBody: typeof req.body === 'string' ? req.body : '',
    });
    return reply.code(recorded.duplicate || recorded.updated || recorded.ignored ? 200 : 201).send({
      id: recorded.id,
      duplicate: recorded.duplicate,
      updated: recorded.updated,
      ignored: recorded.ignored,
      status: recorded.status,
      campaignId: recorded.campaignId,
    });
  });
};
