/**
 * MCP tools for the coach, campaigns and trend drafting. Same rule as tools.ts: the input
 * schema REST validates with (`GoalInput`, `ProductBody`, `CreateCampaignBody`, `ContentBody`),
 * plus an `idempotencyKey` on creating tools, and ONE call to the service function the REST
 * route calls, with the caller's context; the service checks the role and the workspace.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { coachCheckin, getProgress, GoalInput, setGoal, type CoachDeps } from '../../../coach/index.js';
import {
  addProduct,
  approveCampaign,
  campaignReport,
  createCampaign,
  generateCampaignContent,
  getCampaign,
  listProducts,
} from '../../../tools/campaigns/index.js';
import {
  draftFromIdea,
  HASHTAGS_PER_PLATFORM,
  MAX_WINDOW_HOURS,
  suggestHashtags,
} from '../../../tools/trends/index.js';
import { ContentBody, CreateCampaignBody, ProductBody } from '../../routes/campaigns.js';
import * as out from './outputs.js';
import { IdempotencyKey, onceFor, type McpToolDeps, type ServiceCtx } from './tools.js';

type Run = (fn: () => Promise<unknown>) => () => Promise<CallToolResult>;

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
/** Adds something new on each call (a retry without an idempotency key adds it again). */
const CREATE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
/** As REST's `/v1/coach/*` and `/v1/campaigns/{id}` params. */
const Id = z.string().min(1).max(64);
/** As REST's `/v1/trends/*` (server/routes/trends.ts). */
const Term = z.string().trim().min(1).max(100);
const WindowHours = z.number().int().min(1).max(MAX_WINDOW_HOURS).optional().describe('Window in hours (default 24)');

export function registerFeatureTools(server: McpServer, deps: McpToolDeps, ctx: ServiceCtx, run: Run): void {
  const s = deps.scheduling;
  const now = deps.now ?? s.now;
  const once = onceFor(deps, ctx);
  const coach: CoachDeps = { db: deps.db, scheduling: s, ...(deps.now ? { now: deps.now } : {}) };

  // The coach: a member's own goals (any role, as in REST: coach/ checks the member).
  server.registerTool(
    'set_goal',
    {
      description:
        'Sets one of your coaching goals: a metric (followers of one account, posts_per_week, engagements_per_week, engagement_rate in percent), a target and a due date (YYYY-MM-DD in your zone). It starts from the figure analytics measures now and gets four milestones.',
      inputSchema: { ...GoalInput.shape, idempotencyKey: IdempotencyKey },
      outputSchema: out.GoalOut,
      annotations: CREATE,
    },
    ({ idempotencyKey, ...goal }) =>
      run(() => once('set_goal', { idempotencyKey, ...goal }, () => setGoal(coach, ctx, goal)))(),
  );

  server.registerTool(
    'get_progress',
    {
      description:
        'Where each of your active goals (or one) stands: current figure, share of the way, forecast at the due date with its 90% interval and the chance of arriving on time, milestones, and the weekly plan.',
      inputSchema: { goalId: Id.optional() },
      outputSchema: out.ProgressOut,
      annotations: READ,
    },
    (a) => run(() => getProgress(coach, ctx, { goalId: a.goalId }))(),
  );

  server.registerTool(
    'coach_checkin',
    {
      description:
        "How am I doing: each goal's progress and forecast, yesterday's results, the streak, up to three actions for today and one insight. Nothing is sent or stored.",
      outputSchema: out.CheckInOut,
      annotations: READ,
    },
    run(() => coachCheckin(coach, ctx)),
  );

  // Trends: hashtags for a draft, and an idea turned into a draft (content_ideas lists them).
  server.registerTool(
    'suggest_hashtags',
    {
      description:
        'Hashtags for a draft: terms rising in the niche (favouring the platform) and hashtags that did better than average in your own posts, each with why. Hashtags already in the text are left out.',
      inputSchema: {
        platform: z.enum(Object.keys(HASHTAGS_PER_PLATFORM) as [string, ...string[]]).optional(),
        text: z.string().max(5000).optional().describe('The draft'),
        limit: z.number().int().min(1).max(20).optional(),
      },
      outputSchema: out.HashtagsOut,
      annotations: READ,
    },
    (a) => run(() => suggestHashtags({ db: deps.db, now }, ctx, a))(),
  );

  server.registerTool(
    'draft_trend_idea',
    {
      description:
        'Saves one idea from content_ideas (its index) as a draft post on the accounts; nothing is scheduled or published.',
      inputSchema: {
        term: Term,
        idea: z.number().int().min(0).max(10),
        accounts: z.array(z.string().min(1).max(200)).min(1).max(20),
        windowHours: WindowHours,
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.IdeaDraftOut,
      annotations: CREATE,
    },
    ({ idempotencyKey, ...input }) =>
      run(() =>
        once('draft_trend_idea', { idempotencyKey, ...input }, () =>
          draftFromIdea({ scheduling: s, knowledge: deps.knowledge }, ctx, input),
        ),
      )(),
  );

  const campaigns = deps.campaigns;
  if (!campaigns) return;

  server.registerTool(
    'add_product',
    {
      description:
        'Adds a product to promote (editor). A product with the same URL is updated with these fields instead.',
      inputSchema: { ...ProductBody.shape, idempotencyKey: IdempotencyKey },
      outputSchema: out.ProductOut,
      // Not idempotent (without a URL each call adds one); destructive (a URL already known overwrites that product).
      annotations: { ...CREATE, destructiveHint: true },
    },
    ({ idempotencyKey, ...product }) =>
      run(() => once('add_product', { idempotencyKey, ...product }, () => addProduct(campaigns, ctx, product)))(),
  );

  server.registerTool(
    'list_products',
    {
      description: "The workspace's products (ids for create_campaign and generate_campaign_content).",
      outputSchema: out.ProductsOut,
      annotations: READ,
    },
    run(async () => ({ items: await listProducts(campaigns, ctx) })),
  );

  server.registerTool(
    'create_campaign',
    {
      description:
        "Creates a draft campaign (editor): products, accounts, a date range and posts per week per account. Herald proposes a timeline at each account's best hours; nothing is scheduled until approve_campaign.",
      inputSchema: { ...CreateCampaignBody.shape, idempotencyKey: IdempotencyKey },
      outputSchema: out.CampaignOut,
      annotations: CREATE,
    },
    ({ idempotencyKey, ...input }) =>
      run(() => once('create_campaign', { idempotencyKey, ...input }, () => createCampaign(campaigns, ctx, input)))(),
  );

  server.registerTool(
    'get_campaign',
    {
      description:
        'A campaign with its timeline (and its version, for approve_campaign) and, once approved, its posts.',
      inputSchema: { campaignId: z.uuid() },
      outputSchema: out.CampaignOut,
      annotations: READ,
    },
    (a) => run(() => getCampaign(campaigns, ctx, a.campaignId))(),
  );

  server.registerTool(
    'approve_campaign',
    {
      description:
        "Approves a draft campaign's timeline as a whole (editor), naming the version approved: every item becomes a scheduled post with its own tracked link, published at its time.",
      inputSchema: {
        campaignId: z.uuid(),
        timelineVersion: z.number().int().min(1),
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.CampaignOut,
      // Approving again schedules only the items not scheduled yet (none): idempotent. Posts go out: open world.
      annotations: { ...CREATE, idempotentHint: true, openWorldHint: true },
    },
    (a) =>
      run(() =>
        once('approve_campaign', a, () =>
          approveCampaign(campaigns, ctx, a.campaignId, { timelineVersion: a.timelineVersion }),
        ),
      )(),
  );

  server.registerTool(
    'campaign_report',
    {
      description:
        "A campaign's clicks (bots apart), conversions, revenue, commission, EPC, conversion rate and ROI, per post, product and platform, with A/B verdicts.",
      inputSchema: { campaignId: z.uuid() },
      outputSchema: out.CampaignReportOut,
      annotations: READ,
    },
    (a) => run(() => campaignReport(campaigns, ctx, a.campaignId))(),
  );

  server.registerTool(
    'generate_campaign_content',
    {
      description:
        "Writes the content suite for a product through the model (editor): one text per kind and account, within each platform's limit with the disclosure and {link}; a text breaking the rules is dropped with why. Nothing is saved.",
      inputSchema: ContentBody.shape,
      outputSchema: out.ContentSuiteOut,
      // Saves nothing, but each call asks the model again (other texts).
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (a) => run(() => generateCampaignContent({ ...campaigns, write: deps.campaignWriter?.(ctx) }, ctx, a))(),
  );
}
