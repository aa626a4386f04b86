/**
 * Herald's MCP resources: read-only views a client can attach as context, each ONE call to
 * the same service function a tool or REST route calls, with the caller's context (so the
 * same role check and workspace isolation). `herald://calendar` (the next 14 days, in the
 * caller's zone), `herald://accounts`, `herald://analytics/overview` (the last 7 days beside
 * the 7 before), `herald://platform-limits` (what each connected platform accepts) and, when
 * the knowledge base runs, `herald://brand-guide` (the workspace's brand-guide sources and
 * their passages, read as drafting reads them: `searchKnowledge` over `brand_guide` chunks).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { listSources, searchKnowledge } from '../../../knowledge/index.js';
import { listAccounts } from '../../../tools/accounts/index.js';
import { overview, resolveRange } from '../../../tools/analytics/index.js';
import * as posts from '../../../tools/posts/index.js';
import { requireRole } from '../../auth/principal.js';
import type { McpToolDeps, ServiceCtx } from './tools.js';

const CALENDAR_DAYS = 14;
/** Brand-guide sources listed, and passages read (the knowledge search's most). */
const BRAND_SOURCES = 20;
const BRAND_PASSAGES = 50;
/**
 * What the passages are ranked by. The vector part of the search pools every brand-guide chunk
 * up to 200, so a guide of at most 50 chunks comes back whole; a longer one, its 50 closest.
 */
const BRAND_QUERY = 'brand voice tone audience words style do and do not';

const json = (uri: URL, value: unknown) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value) }],
});

export function registerResources(server: McpServer, deps: McpToolDeps, ctx: ServiceCtx): void {
  const s = deps.scheduling;
  const now = deps.now ?? (() => new Date());

  server.registerResource(
    'calendar',
    'herald://calendar',
    {
      title: 'Calendar (next 14 days)',
      description: 'Every post target with a time in the next 14 days, in your time zone, counted per local day.',
      mimeType: 'application/json',
    },
    async (uri) => {
      const from = now();
      const to = new Date(from.getTime() + CALENDAR_DAYS * 24 * 3600_000);
      return json(uri, await posts.calendar(s, ctx, { from: from.toISOString(), to: to.toISOString() }));
    },
  );

  server.registerResource(
    'accounts',
    'herald://accounts',
    {
      title: 'Connected accounts',
      description: 'The social accounts connected to this workspace.',
      mimeType: 'application/json',
    },
    async (uri) => json(uri, { items: await listAccounts(s, ctx) }),
  );

  server.registerResource(
    'analytics-overview',
    'herald://analytics/overview',
    {
      title: 'Analytics: last 7 days',
      description: 'Posts, engagements, impressions, engagement rate and follower growth, beside the 7 days before.',
      mimeType: 'application/json',
    },
    async (uri) =>
      json(uri, await overview({ db: deps.db }, ctx, resolveRange({ period: 'last_7_days' }, ctx.timeZone, now()))),
  );

  server.registerResource(
    'platform-limits',
    'herald://platform-limits',
    {
      title: 'Platform limits',
      description:
        'For each connected account: text length and how it is counted, media rules, threads, posts per day.',
      mimeType: 'application/json',
    },
    async (uri) => {
      requireRole(ctx, 'viewer');
      const items = (await listAccounts(s, ctx))
        .filter((a) => s.connectors.has(a.platform))
        .map((a) => {
          // Per account: some limits depend on it (an X subscription allows longer posts).
          const c = s.connectors.get(a.platform).capabilities(a);
          return {
            accountId: a.id,
            platform: a.platform,
            handle: a.handle,
            text: c.text,
            media: c.media,
            threads: c.threads,
            postsPerAccountPerDay: c.postsPerAccountPerDay,
          };
        });
      return json(uri, { items });
    },
  );

  const knowledge = deps.knowledge;
  if (!knowledge) return;
  server.registerResource(
    'brand-guide',
    'herald://brand-guide',
    {
      title: 'Brand guide',
      description:
        "The workspace's brand-guide sources (knowledge base, type brand_guide) and their passages, as Herald's drafting reads them.",
      mimeType: 'application/json',
    },
    async (uri) => {
      // Read at call time: the context is the caller's of the moment (pooled or stateful servers).
      const kctx = { ...ctx, actorId: ctx.userId };
      const sources = await listSources(knowledge, kctx, { types: ['brand_guide'], limit: BRAND_SOURCES });
      const passages = sources.some((x) => x.chunkCount > 0)
        ? await searchKnowledge(knowledge, kctx, BRAND_QUERY, { types: ['brand_guide'] }, BRAND_PASSAGES)
        : [];
      return json(uri, {
        sources: sources.map((x) => ({
          id: x.id,
          title: x.title,
          url: x.url,
          status: x.status,
          chunkCount: x.chunkCount,
          updatedAt: x.updatedAt,
        })),
        passages: passages.map((h) => ({ sourceId: h.source.id, heading: h.heading, text: h.text })),
      });
    },
  );
}
