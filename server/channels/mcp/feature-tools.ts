/**
 * MCP tools for the coach (goals, check-in, accepting an action), campaigns (products, a
 * campaign's life from create to end, its report) and trend drafting (ideas, adapting what
 * works). Same rule as tools.ts: the input schema REST validates with (`GoalInput`,
 * `AcceptInput`, `ProductBody`, `CreateCampaignBody`, `ContentBody`, `AdaptInput`), plus an
 * `idempotencyKey` on creating tools, and ONE call to the service function the REST route
 * calls, with the caller's context; the service checks the role and the workspace.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  AcceptInput,
  acceptAction,
  coachCheckin,
  getProgress,
  GoalInput,
  setGoal,
  type CoachDeps,
} from '../../../coach/index.js';
import {
  addProduct,
  approveCampaign,
  campaignReport,
  createCampaign,
  endCampaign,
  generateCampaignContent,
  getCampaign,
  listProducts,
  pauseCampaign,
  resumeCampaign,
} from '../../../tools/campaigns/index.js';
import {
  adaptationResults,
  AdaptInput,
  adaptPost,
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
/** Moves a campaign's state; doing it again changes nothing more (it answers `invalid_state`). */
const CHANGE = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false } as const;
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

  server.registerTool(
    'accept_coach_action',
    {
      description:
        "Does what one of the coach's actions offered (editor), as the console's Accept does: schedules the suggested draft at its suggested time, or schedules in the suggested slot the post the coach drafted for it (or `text`, your own). A time already past moves to the account's next suggested one. Accepting again returns the first post.",
      inputSchema: {
        messageId: Id.describe("The coach message's id (coach history)"),
        actionId: z.string().regex(/^a\d$/).describe('The action of the message: a1, a2 or a3'),
        ...AcceptInput.shape,
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.AcceptedActionOut,
      // Schedules a post (it goes out); accepted once, a repeat returns the first post.
      annotations: { ...CREATE, idempotentHint: true, openWorldHint: true },
    },
    (a) =>
      run(() =>
        once('accept_coach_action', a, () => acceptAction(coach, ctx, a.messageId, a.actionId, { text: a.text })),
      )(),
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

  server.registerTool(
    'adapt_post',
    {
      description:
        'Adapts a post that worked (a public Bluesky, Mastodon or X post by `url`, one of your published posts by `targetId`, or by default your best measured post of the last 90 days) into a draft with its structure (hook, format, length, call to action) about your topic, in your brand voice, for the accounts (editor). Its words are not copied; `quote` adds at most a short attributed quote. Nothing is scheduled.',
      inputSchema: { ...AdaptInput.shape, idempotencyKey: IdempotencyKey },
      outputSchema: out.AdaptOut,
      // Reads the public post from its platform: open world.
      annotations: { ...CREATE, openWorldHint: true },
    },
    ({ idempotencyKey, ...input }) =>
      run(() =>
        once('adapt_post', { idempotencyKey, ...input }, () =>
          adaptPost({ scheduling: s, knowledge: deps.knowledge }, ctx, input),
        ),
      )(),
  );

  server.registerTool(
    'adapted_results',
    {
      description:
        "Adapted posts, newest first, and how each target does against its account's baseline (its other measured posts of the last 90 days): engagements, lift and verdict, with a summary.",
      inputSchema: { limit: z.number().int().min(1).max(100).optional() },
      outputSchema: out.AdaptationsOut,
      annotations: READ,
    },
    (a) => run(() => adaptationResults({ db: deps.db, now }, ctx, a))(),
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
    'pause_campaign',
    {
      description:
        'Pauses an active campaign (editor): its scheduled posts go back to drafts, keeping their times; `held` counts them. resume_campaign schedules them again.',
      inputSchema: { campaignId: z.uuid() },
      outputSchema: out.CampaignPausedOut,
      annotations: CHANGE,
    },
    (a) => run(() => pauseCampaign(campaigns, ctx, a.campaignId))(),
  );

  server.registerTool(
    'resume_campaign',
    {
      description:
        'Resumes a paused campaign (editor, allowed to schedule directly): its drafts still ahead are scheduled again (`resumed`); those whose time passed stay drafts (`missed`, their target ids).',
      inputSchema: { campaignId: z.uuid(), idempotencyKey: IdempotencyKey },
      outputSchema: out.CampaignResumedOut,
      // Schedules posts (they go out); resuming again changes nothing (invalid_state).
      annotations: { ...CHANGE, destructiveHint: false, openWorldHint: true },
    },
    (a) => run(() => once('resume_campaign', a, () => resumeCampaign(campaigns, ctx, a.campaignId)))(),
  );

  server.registerTool(
    'end_campaign',
    {
      description:
        'Ends a campaign (editor): every post of it not published yet is cancelled (`cancelled` counts them). Its report stays. It cannot be resumed.',
      inputSchema: { campaignId: z.uuid() },
      outputSchema: out.CampaignEndedOut,
      annotations: CHANGE,
    },
    (a) => run(() => endCampaign(campaigns, ctx, a.campaignId))(),
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
