/**
 * The output schema of every MCP tool (`outputSchema` in `tools/list`): what its
 * `structuredContent` holds, as JSON (instants are ISO strings). REST declares no response
 * schemas for these routes, so they are written here from the services' result types
 * (`PostView`, `ScheduledTarget`, `Overview`, ...), one per result shape. Objects are open
 * (`looseObject`): the fields named here are always there with these types, and a service may
 * add fields without breaking a client that validates. The SDK server checks each result
 * against its schema before sending it and the SDK client checks it again on arrival
 * (test/server/channels/mcp-outputs.test.ts calls every tool and checks both).
 */
import { z } from 'zod';
import { DOC_TYPES } from '../../../knowledge/index.js';

export const TARGET_STATUSES = [
  'draft',
  'pending_approval',
  'scheduled',
  'publishing',
  'published',
  'failed',
  'unconfirmed',
  'cancelled',
] as const;

const Id = z.string().min(1);
/** An instant as JSON carries it (`2026-12-08T08:00:00.000Z`). */
const Instant = z.string().min(10);
const Json = z.record(z.string(), z.unknown());

/** One post target (`ScheduledTarget` / `TargetView`): its own text, status and time. */
export const TargetOut = z.looseObject({
  id: Id,
  postId: Id,
  socialAccountId: Id,
  platform: z.string(),
  content: z.string(),
  status: z.enum(TARGET_STATUSES),
  scheduledAt: Instant.nullable(),
  scheduledAtLocal: z.string().nullable(),
  publishedAt: Instant.nullable(),
  platformUrl: z.string().nullable(),
});

/** A post with its targets (`PostView`). */
export const PostOut = z.looseObject({
  id: Id,
  content: z.string(),
  tags: z.array(z.string()),
  createdAt: Instant,
  targets: z.array(TargetOut),
});

/** `get_post`: the post, its targets with their attempts, and its reviews. */
export const PostDetailOut = PostOut.extend({
  targets: z.array(z.looseObject({ id: Id, status: z.enum(TARGET_STATUSES) })),
  reviews: z.array(Json),
});

/** A page of `list_posts` (the JSON `GET /v1/posts` sends). */
export const PostPageOut = z.looseObject({
  items: z.array(
    z.looseObject({
      id: Id,
      content: z.string(),
      createdAt: Instant,
      targets: z.array(z.looseObject({ id: Id, platform: z.string(), status: z.enum(TARGET_STATUSES) })),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const AccountsOut = z.looseObject({
  items: z.array(
    z.looseObject({
      id: Id,
      platform: z.string(),
      handle: z.string(),
      displayName: z.string().nullable(),
      status: z.string(),
    }),
  ),
});

export const SlotsOut = z.looseObject({
  items: z.array(
    z.looseObject({
      id: Id,
      socialAccountId: Id,
      weekday: z.number().int().min(1).max(7),
      localTime: z.string(),
      timeZone: z.string(),
    }),
  ),
});

export const CalendarOut = z.looseObject({
  timeZone: z.string(),
  from: z.string(),
  to: z.string(),
  days: z.record(z.string(), z.number().int()),
  items: z.array(TargetOut),
});

const Figures = z.looseObject({
  from: z.string(),
  to: z.string(),
  posts: z.number(),
  engagements: z.number(),
  /** Null where no platform reports it. */
  impressions: z.number().nullable(),
  engagementRate: z.number().nullable(),
  followerGrowth: z.number().nullable(),
});
const Change = z.number().nullable();
export const OverviewOut = z.looseObject({
  timeZone: z.string(),
  current: Figures,
  previous: Figures,
  changePct: z.looseObject({
    posts: Change,
    engagements: Change,
    impressions: Change,
    engagementRate: Change,
    followerGrowth: Change,
  }),
  notReported: z.array(z.looseObject({ platform: z.string(), metric: z.string(), reason: z.string() })),
});

export const RisingOut = z.looseObject({
  windowHours: z.number(),
  topics: z.array(
    z.looseObject({
      term: z.string(),
      mentions: z.looseObject({ current: z.number(), previous: z.number() }),
      sources: z.array(z.string()),
      score: z.number(),
      evidence: z.array(Json),
    }),
  ),
  sources: z.array(z.looseObject({ source: z.string(), failing: z.boolean() })),
  note: z.string(),
});

export const IdeasOut = z.looseObject({
  term: z.string(),
  ideas: z.array(
    z.looseObject({
      angle: z.enum(['explainer', 'reaction', 'question']),
      text: z.string(),
      potential: z.number(),
      basedOn: z.looseObject({ source: z.string(), url: z.string().nullable() }).nullable(),
    }),
  ),
});

export const GoalsOut = z.looseObject({
  items: z.array(
    z.looseObject({
      id: Id,
      metric: z.string(),
      socialAccountId: Id.nullable(),
      target: z.number(),
      baseline: z.number(),
      dueDate: z.string(),
      status: z.string(),
      label: z.string(),
      milestones: z.array(Json),
    }),
  ),
});

export const SearchOut = z.looseObject({
  items: z.array(
    z.looseObject({
      chunkId: z.string(),
      text: z.string(),
      heading: z.string().nullable(),
      score: z.number(),
      source: z.looseObject({ id: Id, title: z.string(), docType: z.enum(DOC_TYPES), url: z.string().nullable() }),
    }),
  ),
});

export const SourceOut = z.looseObject({
  id: Id,
  docType: z.enum(DOC_TYPES),
  format: z.enum(['text', 'markdown', 'url']),
  title: z.string(),
  url: z.string().nullable(),
  status: z.string(),
  createdAt: Instant,
});

export const MediaOut = z.looseObject({
  id: Id,
  kind: z.enum(['image', 'video']),
  mimeType: z.string(),
  sizeBytes: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  altText: z.string().nullable(),
  createdAt: Instant,
});

/** One agent turn (`ask_herald`, `confirm_action`; the body of `POST /v1/chat`). */
export const TurnOut = z.looseObject({
  threadId: z.string(),
  reply: z.string(),
  toolCalls: z.array(z.looseObject({ toolCallId: z.string(), name: z.string(), ok: z.boolean().optional() })),
  confirmRequest: z
    .looseObject({ confirmId: z.string(), summary: z.string(), details: z.unknown().optional() })
    .nullable()
    .describe('The action waiting for confirm_action; null when nothing waits'),
  elicitation: z
    .enum(['accepted', 'declined', 'cancelled'])
    .optional()
    .describe('Set when the action was put to you through elicitation during this call (docs/mcp.md)'),
});

/** A goal (`Goal`): `set_goal`, and each goal of `get_progress` / `coach_checkin`. */
export const GoalOut = z.looseObject({
  id: Id,
  metric: z.string(),
  socialAccountId: Id.nullable(),
  account: z.looseObject({ platform: z.string(), handle: z.string() }).nullable(),
  target: z.number(),
  baseline: z.number(),
  baselineAt: Instant,
  dueDate: z.string(),
  status: z.string(),
  label: z.string(),
  milestones: z.array(z.looseObject({ value: z.number(), due: z.string(), reachedAt: z.string().nullable() })),
  createdAt: Instant,
});

const Milestone = z.looseObject({ value: z.number(), due: z.string() }).nullable();
const GoalForecast = z
  .looseObject({
    slope: z.number(),
    predicted: z.number(),
    low: z.number(),
    high: z.number(),
    probabilityPct: z.number(),
    points: z.number(),
    method: z.string(),
  })
  .nullable();
/** The weekly plan toward a goal (`WeeklyPlan`). */
const Plan = z.looseObject({
  weekOf: z.string(),
  postsPerWeek: z.number(),
  accounts: z.array(z.looseObject({ socialAccountId: Id, platform: z.string(), posts: z.number() })),
  reason: z.string(),
});
const GoalStanding = {
  goal: GoalOut,
  current: z.number().nullable(),
  progressPct: z.number().nullable(),
  forecast: GoalForecast,
  onTrack: z.boolean().nullable(),
  nextMilestone: Milestone,
  plan: Plan,
  summary: z.string(),
};

/** `get_progress` (`GET /v1/coach/progress`). */
export const ProgressOut = z.looseObject({
  goals: z.array(z.looseObject({ ...GoalStanding, unit: z.enum(['day', 'week']), series: z.array(Json) })),
  summary: z.string(),
});

/** `coach_checkin` (`POST /v1/coach/checkin`). */
export const CheckInOut = z.looseObject({
  progress: z.array(z.looseObject(GoalStanding)),
  today: z.looseObject({
    yesterday: z.looseObject({ date: z.string(), posts: z.number(), engagements: z.number() }),
    streak: z.number().int(),
    actions: z.array(
      z.looseObject({
        id: z.string(),
        type: z.enum(['draft', 'slot']),
        label: z.string(),
        at: Instant,
        atLocal: z.string(),
        platform: z.string(),
      }),
    ),
    insight: z.looseObject({ text: z.string(), source: z.string() }),
    drafts: z.number().int(),
  }),
  text: z.string(),
});

/** A product (`ProductView`). */
export const ProductOut = z.looseObject({
  id: Id,
  name: z.string(),
  url: z.string().nullable(),
  price: z.string().nullable(),
  currency: z.string().nullable(),
  images: z.array(z.string()),
  category: z.string().nullable(),
  notes: z.string().nullable(),
  testimonials: z.array(z.looseObject({ quote: z.string(), author: z.string() })),
  source: z.string(),
  affiliateLinks: z.array(z.looseObject({ programId: Id, programName: z.string(), url: z.string() })),
  createdAt: Instant,
});
export const ProductsOut = z.looseObject({ items: z.array(ProductOut) });

/** A campaign with its timeline and, once approved, its posts (`CampaignView`). */
export const CampaignOut = z.looseObject({
  id: Id,
  name: z.string(),
  status: z.enum(['draft', 'active', 'paused', 'ended']),
  from: Instant,
  to: Instant,
  postsPerWeek: z.number().int(),
  productIds: z.array(Id),
  socialAccountIds: z.array(Id),
  timelineVersion: z.number().int(),
  timeline: z.array(
    z.looseObject({
      key: z.string(),
      at: Instant,
      atLocal: z.string(),
      socialAccountId: Id,
      platform: z.string(),
      productId: Id,
      kind: z.string(),
      content: z.string(),
    }),
  ),
  cost: z.number(),
  costCurrency: z.string().nullable(),
  approvedAt: Instant.nullable(),
  posts: z.array(
    z.looseObject({
      itemKey: z.string(),
      postId: Id,
      targetId: Id,
      platform: z.string(),
      linkCode: z.string(),
      scheduledAt: Instant,
      status: z.string(),
    }),
  ),
  createdAt: Instant,
});

const ClickFigures = {
  clicks: z.number(),
  uniqueClicks: z.number(),
  botClicks: z.number(),
  conversions: z.number(),
  revenue: z.number(),
  commission: z.number(),
  epc: z.number().nullable(),
  conversionRate: z.number().nullable(),
};
/** `campaign_report` (`GET /v1/campaigns/{id}/report`). */
export const CampaignReportOut = z.looseObject({
  campaign: z.looseObject({ id: Id, name: z.string(), status: z.string() }),
  currency: z.string(),
  totals: z.looseObject({
    ...ClickFigures,
    cost: z.number(),
    roi: z.number().nullable(),
    costNote: z.string().nullable(),
  }),
  byPost: z.array(z.looseObject({ ...ClickFigures, postId: Id, platform: z.string(), linkCode: z.string() })),
  byProduct: z.array(z.looseObject({ ...ClickFigures, productId: Id, name: z.string() })),
  byPlatform: z.array(z.looseObject({ ...ClickFigures, platform: z.string() })),
  abTests: z.array(z.looseObject({ group: z.string(), winner: z.string().nullable(), reason: z.string() })),
});

/** `generate_campaign_content` (`POST /v1/campaigns/content`): nothing saved. */
export const ContentSuiteOut = z.looseObject({
  productId: Id,
  posts: z.array(z.looseObject({ kind: z.string(), socialAccountId: Id, platform: z.string(), content: z.string() })),
  dropped: z.array(z.looseObject({ kind: z.string(), socialAccountId: z.string(), reason: z.string() })),
});

/** `suggest_hashtags` (`GET /v1/trends/hashtags`). */
export const HashtagsOut = z.looseObject({
  platform: z.string().nullable(),
  hashtags: z.array(
    z.looseObject({
      tag: z.string(),
      score: z.number(),
      from: z.array(z.enum(['rising', 'works_for_you'])),
      why: z.string(),
    }),
  ),
  note: z.string(),
});

/** `draft_trend_idea` (`POST /v1/trends/ideas/draft`): the draft, the idea it came from, and the style applied. */
export const IdeaDraftOut = z.looseObject({
  post: PostOut,
  idea: z.looseObject({ angle: z.string(), text: z.string() }),
  style: z.looseObject({ fromKnowledge: z.boolean(), rewritten: z.boolean() }),
});

/** `adapt_post` (`POST /v1/trends/adapt`): the draft, the source measured, its structure, the quote and attribution. */
export const AdaptOut = z.looseObject({
  post: PostOut,
  style: z.looseObject({ fromKnowledge: z.boolean(), rewritten: z.boolean() }),
  adaptationId: Id,
  source: z.looseObject({
    kind: z.enum(['bluesky', 'mastodon', 'x', 'own']),
    url: z.string().nullable(),
    author: z.string().nullable(),
    engagement: z.number().nullable(),
  }),
  structure: Json,
  quote: z.string().nullable(),
  attribution: z.string(),
});

/** `adapted_results` (`GET /v1/trends/adaptations`): each adaptation's targets against their account's baseline. */
export const AdaptationsOut = z.looseObject({
  adaptations: z.array(
    z.looseObject({
      id: Id,
      postId: Id,
      createdAt: Instant,
      source: z.looseObject({ kind: z.string(), url: z.string().nullable(), author: z.string().nullable() }),
      quote: z.string().nullable(),
      targets: z.array(
        z.looseObject({
          targetId: Id,
          platform: z.string(),
          status: z.string(),
          engagements: z.number().nullable(),
          baseline: z.looseObject({ posts: z.number(), meanEngagements: z.number() }).nullable(),
          lift: z.number().nullable(),
          verdict: z.enum(['not_published', 'not_measured', 'no_baseline', 'above', 'in_line', 'below']),
        }),
      ),
    }),
  ),
  summary: z.looseObject({
    measured: z.number().int(),
    above: z.number().int(),
    below: z.number().int(),
    meanLift: z.number().nullable(),
  }),
});

/** `pause_campaign`, `resume_campaign`, `end_campaign` (`POST /v1/campaigns/{id}/pause|resume|end`): the campaign and what moved. */
export const CampaignPausedOut = CampaignOut.extend({ held: z.number().int() });
export const CampaignResumedOut = CampaignOut.extend({ resumed: z.number().int(), missed: z.array(Id) });
export const CampaignEndedOut = CampaignOut.extend({ cancelled: z.number().int() });

/** `accept_coach_action` (`POST /v1/coach/messages/{messageId}/actions/{actionId}/accept`): the scheduled post. */
export const AcceptedActionOut = z.looseObject({
  action: z.looseObject({ id: z.string(), type: z.enum(['draft', 'slot']), label: z.string(), platform: z.string() }),
  post: PostOut,
  at: Instant,
});
