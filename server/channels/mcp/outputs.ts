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
