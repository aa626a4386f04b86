/**
 * Herald's MCP tools: each one is a zod input schema plus ONE call to the service function
 * the REST route and the agent tool call, with the caller's context (role from the API key's
 * scopes, workspace, zone). The services check roles and workspaces themselves, so a `read`
 * key calling a writing tool gets the same `forbidden` a REST call gets. Side effects run on
 * the call: an MCP client asks its user to confirm before it calls, and the workspace's
 * approval setting applies exactly as in REST (a post needing approval goes to
 * `pending_approval`). A Herald error comes back as a tool error carrying its code.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isHeraldError, type Db } from '../../../core/index.js';
import { listAccounts } from '../../../tools/accounts/index.js';
import { overview, PERIODS, resolveRange } from '../../../tools/analytics/index.js';
import { draftPost, type TextWriter } from '../../../tools/drafting/index.js';
import type { CampaignsDeps } from '../../../tools/campaigns/index.js';
import * as posts from '../../../tools/posts/index.js';
import { cancel, listSlots, type SchedulingDeps } from '../../../tools/scheduling/index.js';
import type { KnowledgeDeps } from '../../../knowledge/index.js';
import { uploadMediaFromUrl, ALT_TEXT_MAX, type MediaDeps } from '../../../tools/media/index.js';
import type { IdempotencyStore } from '../../http/idempotency.js';
import type { RequestContext } from '../../http/context.js';
import { registerMoreTools } from './more-tools.js';
import { registerFeatureTools } from './feature-tools.js';
import * as out from './outputs.js';
import type { Principal } from '../../auth/principal.js';
import type { RestChatHandler } from '../../routes/chat.js';
import { registerAgentTools } from './agent-tools.js';

export interface McpToolDeps {
  scheduling: SchedulingDeps;
  db: Db;
  /** The knowledge base, for `knowledge_search` and `knowledge_add` (and ideas in the brand's voice); unset, not offered. */
  knowledge?: KnowledgeDeps | undefined;
  /** The agent, for `ask_herald` and `confirm_action`; unset, those tools are not offered. */
  chat?: RestChatHandler | undefined;
  /** The media library, for `upload_media_from_url`; unset, not offered. */
  media?: MediaDeps | undefined;
  /** Products and campaigns (they need tracked links); unset, the campaign tools are not offered. */
  campaigns?: CampaignsDeps | undefined;
  /** The model writer for `generate_campaign_content`, per caller; unset, that tool answers `model_unavailable`. */
  campaignWriter?: ((who: { workspaceId: string; userId: string | null }) => TextWriter) | undefined;
  /** Keeps creating tools' results per `idempotencyKey`; unset, a key is accepted and ignored. */
  idempotency?: IdempotencyStore | undefined;
  now?: () => Date;
}

/** The optional key every creating tool takes: a retry with it gets the first call's result. */
export const IdempotencyKey = z
  .string()
  .min(8)
  .max(200)
  .optional()
  .describe(
    'Any unique string (a UUID): a retry with the same key and arguments returns the first result instead of doing it again',
  );

/**
 * Runs a creating tool's call once per idempotency key (per workspace, person and tool).
 * `args` are the tool's arguments without the key.
 */
export function onceFor(deps: McpToolDeps, ctx: ServiceCtx) {
  return <T>(operation: string, a: { idempotencyKey?: string | undefined }, fn: () => Promise<T>): Promise<T> => {
    const { idempotencyKey, ...args } = a;
    if (!deps.idempotency) return fn();
    return deps.idempotency.run(
      { workspaceId: ctx.workspaceId, userId: ctx.userId, operation },
      idempotencyKey,
      args,
      fn,
    );
  };
}

/** The service context of an MCP call: the principal's role, named `mcp` in the audit log. */
export const serviceContextOf = (c: RequestContext) => ({
  workspaceId: c.workspaceId,
  userId: c.userId,
  role: c.principal.role,
  timeZone: c.timeZone,
  channel: 'mcp',
  actorKind: c.actorKind,
});
export type ServiceCtx = ReturnType<typeof serviceContextOf>;
type Ctx = ServiceCtx;

const Uuid = z.guid();
const TimeText = z.string().min(10).max(40).describe('ISO instant with offset, or YYYY-MM-DDTHH:MM in your time zone');
const STATUSES = out.TARGET_STATUSES;

/** A result the service already rendered as a JSON object's text (a page of posts): sent as is. */
export class RenderedJson {
  constructor(readonly text: string) {}
}

/**
 * A service result as MCP content: the JSON as text, and the same JSON as structured content
 * (a list wrapped as `{ items }`). Structured content is the JSON itself (instants as strings),
 * so what the server checks against the tool's output schema is what the client receives.
 */
export function ok(value: unknown): CallToolResult {
  if (value instanceof RenderedJson)
    return {
      content: [{ type: 'text', text: value.text }],
      structuredContent: JSON.parse(value.text) as Record<string, unknown>,
    };
  const wrapped =
    value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { items: value ?? null };
  const text = JSON.stringify(wrapped);
  return { content: [{ type: 'text', text }], structuredContent: JSON.parse(text) as Record<string, unknown> };
}

/** The `_meta` key of a tool error's `{ code, message, details? }`. */
export const ERROR_META = 'herald/error';

/**
 * A Herald error as an MCP tool error: `isError`, the text `code: message`, and the error body
 * in `_meta["herald/error"]`. Not in `structuredContent`: that must match the tool's output
 * schema, and the SDK client checks it even on errors.
 */
export function toolError(err: unknown): CallToolResult {
  if (isHeraldError(err)) {
    const { error } = err.toJSON() as { error: Record<string, unknown> };
    return {
      isError: true,
      content: [{ type: 'text', text: `${err.code}: ${err.message}` }],
      _meta: { [ERROR_META]: error },
    };
  }
  // Anything else is ours, not the caller's: say so without leaking internals.
  return {
    isError: true,
    content: [{ type: 'text', text: 'internal: The request could not be completed' }],
    _meta: { [ERROR_META]: { code: 'internal', message: 'The request could not be completed' } },
  };
}

/** Where a tool's unexpected failure is logged (a Herald error is the caller's, not logged). */
export type McpLog = { error(obj: object, msg: string): void };

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** Registers every tool on `server` for one caller. */
export function registerTools(
  server: McpServer,
  deps: McpToolDeps,
  ctx: Ctx,
  log?: McpLog,
  principal?: Principal,
  opts: {
    canElicit?: () => boolean;
    /**
     * The workspace's content version read with this request's credentials (stateless mode,
     * where the principal is the request's): lets `list_posts` use the page cache as REST does.
     */
    contentVersion?: () => number | undefined;
  } = {},
): void {
  const run = (fn: () => Promise<unknown>) => async (): Promise<CallToolResult> => {
    try {
      return ok(await fn());
    } catch (err) {
      if (!isHeraldError(err)) log?.error({ err }, 'mcp tool failed');
      return toolError(err);
    }
  };
  const s = deps.scheduling;
  const now = deps.now ?? (() => new Date());
  const once = onceFor(deps, ctx);

  server.registerTool(
    'list_accounts',
    {
      description: 'The social accounts connected to this workspace (id, platform, handle).',
      outputSchema: out.AccountsOut,
      annotations: READ,
    },
    run(() => listAccounts(s, ctx)),
  );

  server.registerTool(
    'list_posts',
    {
      description: 'Posts, newest first, with a summary of each target (cursor pagination).',
      inputSchema: {
        limit: z.number().int().min(1).max(100).default(20),
        cursor: z.string().max(500).optional(),
        status: z.array(z.enum(STATUSES)).max(STATUSES.length).optional(),
      },
      outputSchema: out.PostPageOut,
      annotations: READ,
    },
    // The service renders the page as JSON text for REST; MCP sends that text and its parse.
    (a) =>
      run(async () => {
        const page = await posts.listPosts(s, ctx, {
          limit: a.limit,
          cursor: a.cursor,
          statuses: a.status,
          contentVersion: opts.contentVersion?.(),
        });
        return new RenderedJson(page.json.toString('utf8'));
      })(),
  );

  server.registerTool(
    'get_post',
    {
      description: "A post with each target's text, status, time, attempts and reviews.",
      inputSchema: { postId: Uuid },
      outputSchema: out.PostDetailOut,
      annotations: READ,
    },
    (a) => run(() => posts.getPostView(s, ctx, a.postId))(),
  );

  server.registerTool(
    'create_draft',
    {
      description:
        "Saves a draft post on accounts (ids, or platform names when the workspace has one account there), checked against each platform's limits. Returns the post to schedule.",
      inputSchema: {
        text: z.string().min(1).max(20_000),
        accounts: z.array(z.string().min(1).max(200)).min(1).max(20),
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.PostOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (a) =>
      run(() =>
        once(
          'create_draft',
          a,
          async () => (await draftPost({ scheduling: s }, ctx, { text: a.text, accounts: a.accounts })).post,
        ),
      )(),
  );

  server.registerTool(
    'schedule_post',
    {
      description:
        "Schedules a draft's targets at `at`, or publishes them now (`now: true`). In a workspace that requires approval the post waits for an admin (pending_approval).",
      inputSchema: {
        postId: Uuid,
        at: TimeText.optional(),
        now: z.boolean().optional(),
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.PostOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (a) =>
      run(() => once('schedule_post', a, () => posts.schedulePostDraft(s, ctx, a.postId, { at: a.at, now: a.now })))(),
  );

  server.registerTool(
    'add_to_queue',
    {
      description: "Schedules a draft's targets in each account's next free weekly posting slot (see get_slots).",
      inputSchema: { postId: Uuid, idempotencyKey: IdempotencyKey },
      outputSchema: out.PostOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (a) => run(() => once('add_to_queue', a, () => posts.queuePostDraft(s, ctx, a.postId)))(),
  );

  server.registerTool(
    'cancel_post',
    {
      description: 'Cancels one scheduled target (targetId from get_post); it will not be published.',
      inputSchema: { targetId: Uuid },
      outputSchema: out.TargetOut,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (a) => run(() => cancel(s, ctx, a.targetId))(),
  );

  server.registerTool(
    'get_slots',
    {
      description: "An account's weekly posting slots (what add_to_queue fills).",
      inputSchema: { socialAccountId: Uuid },
      outputSchema: out.SlotsOut,
      annotations: READ,
    },
    (a) => run(async () => ({ items: await listSlots(s, ctx, a.socialAccountId) }))(),
  );

  server.registerTool(
    'calendar',
    {
      description: 'Targets with a time in [from, to), shown in your time zone (or `zone`), counted per local day.',
      inputSchema: {
        from: TimeText,
        to: TimeText,
        zone: z.string().min(1).max(64).optional(),
        status: z.array(z.enum(STATUSES)).max(STATUSES.length).optional(),
      },
      outputSchema: out.CalendarOut,
      annotations: READ,
    },
    (a) => run(() => posts.calendar(s, ctx, { from: a.from, to: a.to, zone: a.zone, statuses: a.status }))(),
  );

  server.registerTool(
    'analytics_overview',
    {
      description:
        'Posts, engagements, impressions, engagement rate and follower growth over a period, beside the period before.',
      inputSchema: {
        period: z.enum(PERIODS).optional().describe('Default: last_7_days'),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
      },
      outputSchema: out.OverviewOut,
      annotations: READ,
    },
    (a) =>
      run(() =>
        overview(
          { db: deps.db },
          ctx,
          resolveRange(
            {
              period: a.period,
              from: a.from ? new Date(a.from) : undefined,
              to: a.to ? new Date(a.to) : undefined,
            },
            ctx.timeZone,
            now(),
          ),
        ),
      )(),
  );

  registerMoreTools(server, deps, ctx, run);
  registerFeatureTools(server, deps, ctx, run);

  const media = deps.media;
  if (media) {
    server.registerTool(
      'upload_media_from_url',
      {
        description:
          'Adds the image or video at an http(s) URL to the media library (Herald fetches it; public addresses only, at most the upload size limit). Returns the media record; attach it to a post by its id.',
        inputSchema: {
          url: z.string().min(1).max(2048),
          altText: z.string().max(ALT_TEXT_MAX).optional(),
          idempotencyKey: IdempotencyKey,
        },
        outputSchema: out.MediaOut,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      },
      (a) =>
        run(() =>
          once(
            'upload_media_from_url',
            a,
            async () => (await uploadMediaFromUrl(media, ctx, { url: a.url, altText: a.altText })).media,
          ),
        )(),
    );
  }

  const chat = deps.chat;
  if (!chat || !principal) return;
  registerAgentTools(server, chat, principal, run, once, { canElicit: opts.canElicit ?? (() => false) });
}
