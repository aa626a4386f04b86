/**
 * Herald's MCP resources: read-only views a client can attach as context, each ONE call to
 * the same service function a tool or REST route calls, with the caller's context (so the
 * same role check and workspace isolation). `herald://calendar` (the next 14 days, in the
 * caller's zone), `herald://accounts`, `herald://analytics/overview` (the last 7 days beside
 * the 7 before), `herald://platform-limits` (what each connected platform accepts) and, when
 * the knowledge base runs, `herald://brand-guide` (the workspace's brand-guide sources, each
 * with its whole text in order: `getSourceText`, as `GET /v1/knowledge/sources/{id}/text`).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { getSourceText, listSources } from '../../../knowledge/index.js';
import { listAccounts } from '../../../tools/accounts/index.js';
import { overview, resolveRange } from '../../../tools/analytics/index.js';
import * as posts from '../../../tools/posts/index.js';
import { requireRole } from '../../auth/principal.js';
import type { McpToolDeps, ServiceCtx } from './tools.js';

const CALENDAR_DAYS = 14;
/** Brand-guide sources read whole (the newest first). */
const BRAND_SOURCES = 20;

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
        "The workspace's brand-guide sources (knowledge base, type brand_guide), newest first, each with its whole text in its own order.",
      mimeType: 'application/json',
    },
    async (uri) => {
      // Read at call time: the context is the caller's of the moment (pooled or stateful servers).
      const kctx = { ...ctx, actorId: ctx.userId };
      const sources = await listSources(knowledge, kctx, { types: ['brand_guide'], limit: BRAND_SOURCES });
      const texts = await Promise.all(sources.map((x) => getSourceText(knowledge, kctx, x.id)));
      return json(uri, {
        sources: texts.map((x) => ({
          id: x.id,
          title: x.title,
          url: x.url,
          status: x.status,
          updatedAt: x.updatedAt,
          text: x.text,
        })),
      });
    },
  );
}
