/**
 * MCP tools beyond posts and scheduling: editing a post, trends, content ideas, coaching goals
 * and the knowledge base. Same rule as tools.ts: a zod input schema plus ONE call to the
 * service function the REST route and the agent tool call, with the caller's context; the
 * service checks the role and the workspace.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { listGoals } from '../../../coach/index.js';
import { createSource, DOC_TYPES, searchKnowledge } from '../../../knowledge/index.js';
import * as posts from '../../../tools/posts/index.js';
import { contentIdeas, MAX_WINDOW_HOURS, risingTopics } from '../../../tools/trends/index.js';
import * as out from './outputs.js';
import { IdempotencyKey, onceFor, type McpToolDeps, type ServiceCtx } from './tools.js';

type Run = (fn: () => Promise<unknown>) => () => Promise<CallToolResult>;

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

export function registerMoreTools(server: McpServer, deps: McpToolDeps, ctx: ServiceCtx, run: Run): void {
  const s = deps.scheduling;
  const now = deps.now ?? s.now;
  const once = onceFor(deps, ctx);

  server.registerTool(
    'update_post',
    {
      description:
        "Replaces a post's text (and tags) while it can still change (draft, pending approval, scheduled); each target is checked against its platform again.",
      inputSchema: {
        postId: z.guid(),
        content: z.string().min(1).max(20_000),
        tags: z.array(z.string().min(1).max(50)).max(20).optional(),
      },
      outputSchema: out.PostOut,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (a) => run(() => posts.updatePost(s, ctx, a.postId, { content: a.content, tags: a.tags }))(),
  );

  server.registerTool(
    'trending_topics',
    {
      description:
        "Topics rising in the workspace's niche (mentions in the window against the window before), with evidence links.",
      inputSchema: {
        topic: z.string().min(1).max(200).optional().describe('Only topics matching this'),
        windowHours: z.number().int().min(1).max(MAX_WINDOW_HOURS).optional(),
        limit: z.number().int().min(1).max(50).optional(),
      },
      outputSchema: out.RisingOut,
      annotations: READ,
    },
    (a) =>
      run(() =>
        risingTopics({ db: deps.db, now }, ctx, { topic: a.topic, windowHours: a.windowHours, limit: a.limit }),
      )(),
  );

  server.registerTool(
    'content_ideas',
    {
      description: 'Post ideas for a trending term, each with its angle and the evidence it draws on.',
      inputSchema: {
        term: z.string().min(1).max(200),
        windowHours: z.number().int().min(1).max(MAX_WINDOW_HOURS).optional(),
      },
      outputSchema: out.IdeasOut,
      annotations: READ,
    },
    (a) =>
      run(() =>
        contentIdeas({ scheduling: s, knowledge: deps.knowledge }, ctx, { term: a.term, windowHours: a.windowHours }),
      )(),
  );

  server.registerTool(
    'list_goals',
    {
      description:
        "Your coaching goals in this workspace (a goal is a member's own), active ones unless status is all.",
      inputSchema: { status: z.enum(['active', 'all']).optional() },
      outputSchema: out.GoalsOut,
      annotations: READ,
    },
    (a) => run(async () => ({ items: await listGoals({ db: deps.db, scheduling: s }, ctx, { status: a.status }) }))(),
  );

  const knowledge = deps.knowledge;
  if (!knowledge) return;
  // Read at call time: the context is the caller's of the moment (pooled or stateful servers).
  const knowledgeCtx = () => ({ ...ctx, actorId: ctx.userId });

  server.registerTool(
    'knowledge_search',
    {
      description:
        "Searches the workspace's knowledge base (brand guide, past posts, notes, pages): each chunk with its source.",
      inputSchema: {
        query: z.string().trim().min(1).max(500),
        types: z.array(z.enum(DOC_TYPES)).max(DOC_TYPES.length).optional(),
        limit: z.number().int().min(1).max(50).default(8),
      },
      outputSchema: out.SearchOut,
      annotations: READ,
    },
    (a) =>
      run(async () => ({
        items: await searchKnowledge(knowledge, knowledgeCtx(), a.query, { types: a.types }, a.limit),
      }))(),
  );

  server.registerTool(
    'knowledge_add',
    {
      description:
        'Adds a source to the knowledge base (text or Markdown, or a web page by URL) and queues its ingestion; it becomes searchable when ingested.',
      inputSchema: {
        docType: z.enum(DOC_TYPES),
        title: z.string().trim().min(1).max(300),
        format: z.enum(['text', 'markdown', 'url']),
        text: z.string().min(1).max(1_000_000).optional(),
        url: z.url().max(2000).optional(),
        idempotencyKey: IdempotencyKey,
      },
      outputSchema: out.SourceOut,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (a) =>
      run(() =>
        once('knowledge_add', a, () =>
          createSource(knowledge, knowledgeCtx(), {
            docType: a.docType,
            title: a.title,
            format: a.format,
            ...(a.text !== undefined ? { text: a.text } : {}),
            ...(a.url !== undefined ? { url: a.url } : {}),
          }),
        ),
      )(),
  );
}
