/**
 * The `/v1` API: validation and OpenAPI from the same zod schemas, security headers, CORS,
 * rate limits counted in Redis per user or key, authentication, and one plugin per feature.
 * Public routes (auth) sit beside an authenticated scope that holds everything else.
 */
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { HeraldError, type Config, type Db, type EventBus, type MediaStore, type SecretCipher } from '../core/index.js';
import type { KnowledgeDeps } from '../knowledge/index.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import type { VoiceEngines } from '../voice/index.js';
import type { AuthDeps } from './auth/service.js';
import { mcpPlugin, MCP_PATH, type McpMode } from './channels/mcp/index.js';
import { oauthServerPlugin } from './auth/oauth/index.js';
import { oauthGrantRoutes } from './routes/oauth-grants.js';
import { authPlugin } from './plugins/auth.js';
import { LeasedRedisStore } from './plugins/rate-limit-store.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { webConsolePlugin, type WebConsoleOptions } from './plugins/web-console.js';
import { analyticsRoutes } from './routes/analytics.js';
import { trendRoutes } from './routes/trends.js';
import { coachRoutes } from './routes/coach.js';
import { notificationRoutes } from './routes/notifications.js';
import { linkRoutes } from './routes/links.js';
import { linkRedirectRoutes } from './routes/link-redirect.js';
import type { LinkRedirector, LinksDeps } from '../tools/links/index.js';
import { authRoutes } from './routes/auth.js';
import { channelRoutes } from './routes/channels.js';
import { connectCallbackRoutes, connectRoutes, type ConnectRouteDeps } from './routes/connect.js';
import { blueskyOAuthRoutes } from './routes/bluesky-oauth.js';
import { publicMediaRoutes } from './routes/public-media.js';
import { knowledgeRoutes } from './routes/knowledge.js';
import { mediaRoutes } from './routes/media.js';
import { IdempotencyStore } from './http/idempotency.js';
import { modelRoutes, type ModelRouteDeps } from './routes/models.js';
import { postRoutes } from './routes/posts.js';
import { scheduleRoutes } from './routes/schedules.js';
import { workspaceRoutes } from './routes/workspaces.js';
import type { SlackChannel } from './channels/slack/index.js';
import { telegramWebhookRoutes, type TelegramChannel } from './channels/telegram/index.js';
import { EchoChatHandler, wsRoutes, type ChatHandler } from './ws/index.js';
import { chatRoutes } from './routes/chat.js';
import { RestTurns } from './routes/chat-stream.js';
import { campaignPostbackRoutes, campaignRoutes, productRoutes } from './routes/campaigns.js';
import type { CampaignsDeps } from '../tools/campaigns/index.js';
import { draftWriter } from '../agent/index.js';

export interface ApiDeps {
  db: Db;
  redis: Redis;
  auth: AuthDeps;
  scheduling: SchedulingDeps;
  mediaStore: MediaStore;
  events: EventBus | null;
  cipher: SecretCipher;
  limits: Config['api'];
  /** Prefix of Redis keys (rate limits, WebSocket resume buffers). */
  keyPrefix: string;
  /** The model layer; without it the `/v1/models` routes are not served. */
  models?: ModelRouteDeps | undefined;
  /** Answers chat turns on `/v1/ws` (the agent). Default: the echo handler. */
  chat?: ChatHandler | undefined;
  /** Speech engines for voice sessions on `/v1/ws`; unset: voice is refused (`voice_unavailable`). */
  voice?: VoiceEngines | null | undefined;
  /** Platforms that can be connected (docs/connectors.md); unset: none is configured. */
  accounts?: AccountsApiDeps | undefined;
  /** The knowledge base (docs/knowledge.md); without it the `/v1/knowledge` routes are not served. */
  knowledge?: KnowledgeDeps | undefined;
  /** The built web console served at `/` (docs/console.md); unset: not served. */
  console?: WebConsoleOptions | undefined;
  /** The Telegram bot and its webhook secret (docs/channels.md); unset or no secret: no webhook route. */
  telegram?: { channel: TelegramChannel; webhookSecret: string | undefined } | undefined;
  /** The Slack app (docs/channels.md); unset: no Slack events route. */
  slack?: SlackChannel | undefined;
  /** Tracked links (docs/links.md): `/l/:code` and `/v1/links`; unset: not served. */
  links?: LinksApiDeps | undefined;
  /** MCP at `/mcp` and its OAuth authorization server (docs/mcp.md); unset: stateless, request origin as issuer. */
  mcp?: McpApiOptions | undefined;
}

/** MCP: session mode, the public URL its resource and issuer are named under, OAuth token lifetimes. */
export interface McpApiOptions {
  mode: McpMode;
  sessionIdleS: number;
  publicUrl: string | undefined;
  oauthAccessTtlS: number;
}

/** Tracked links: the service's deps, the redirect's click recorder, its per-address limit. */
export interface LinksApiDeps {
  deps: LinksDeps;
  redirector: LinkRedirector;
  rateLimitPerMinute: number;
}

/** The connect flow's platform side: linkers of configured platforms, their setup, the done page. */
export interface AccountsApiDeps {
  linkers: ConnectRouteDeps['connect']['linkers'];
  /** Platforms connected with an app password (Bluesky). */
  passwordLinkers?: ConnectRouteDeps['connect']['passwordLinkers'];
  platforms: ConnectRouteDeps['connect']['platforms'];
  /** Bluesky's OAuth client (docs/connectors.md#bluesky-oauth); unset: app passwords only. */
  blueskyOAuth?: ConnectRouteDeps['connect']['blueskyOAuth'];
  doneUrl: string | undefined;
}

export const API_VERSION = '1.0.0';

export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(securityHeadersPlugin, {});
  // No origins configured: no CORS at all (a preflight is a 404, as it was with `origin: false`),
  // and no per-request hook.
  if (deps.limits.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: deps.limits.corsOrigins.includes('*') ? true : [...deps.limits.corsOrigins],
      credentials: false,
      exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    });
  }
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Herald API',
        version: API_VERSION,
        description: 'See README.md and docs/ for the full contract.',
      },
      // PUBLIC_URL: where clients reach this API (behind its proxy); unset, relative to the page.
      ...(deps.limits.publicUrl ? { servers: [{ url: deps.limits.publicUrl }] } : {}),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token, or an API key (hk_...)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  if (deps.console) await app.register(webConsolePlugin, deps.console);

  await app.register(rateLimit, {
    global: true,
    // After authentication, so the limit counts per user or key rather than per address.
    hook: 'preHandler',
    max: deps.limits.rateLimitPerMinute,
    timeWindow: 60_000,
    // Counted in Redis in blocks, so most requests need no round trip (rate-limit-store.ts).
    store: leasedStore(deps.redis, `${deps.keyPrefix}:rl:`),
    // Redis down must not take the API down with it: requests pass uncounted.
    skipOnError: true,
    // `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (IETF draft names).
    enableDraftSpec: true,
    keyGenerator: (req) => req.principal?.limitKey ?? `ip:${req.ip}`,
    allowList: (req) => req.url === '/health' || req.url === '/ready',
    errorResponseBuilder: (_req, ctx) =>
      new HeraldError('rate_limited', {
        message: `Too many requests: ${ctx.max} per ${ctx.after}; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        details: { limit: ctx.max, retryAfterS: Math.ceil(ctx.ttl / 1000) },
      }),
  });
  // Public, outside `/v1`: short links are followed by anyone (docs/links.md).
  if (deps.links)
    await app.register(linkRedirectRoutes, {
      redirector: deps.links.redirector,
      rateLimitPerMinute: deps.links.rateLimitPerMinute,
    });
  await app.register(authPlugin, { deps: deps.auth });
  // A request that may have changed something clears this process's principal cache before
  // its answer goes out, so the caller's next request cannot be served the state before it
  // (other processes hear of the change from the database's notification).
  const principals = deps.auth.principals;
  if (principals) {
    app.addHook('onSend', (request, _reply, payload, done) => {
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS') principals.clear();
      done(null, payload);
    });
  }

  // MCP over Streamable HTTP at `/mcp` (docs/mcp.md): its own scope, body parser and auth hook.
  // Herald's OAuth authorization server and the resource metadata of `/mcp` (public routes).
  await app.register(oauthServerPlugin, {
    db: deps.db,
    redis: deps.redis,
    keyPrefix: deps.keyPrefix,
    publicUrl: deps.mcp?.publicUrl,
    mcpPath: MCP_PATH,
    accessTtlS: deps.mcp?.oauthAccessTtlS ?? 900,
    refreshTtlS: deps.auth.refreshTtlS,
  });
  await app.register(mcpPlugin, {
    deps: {
      scheduling: deps.scheduling,
      db: deps.db,
      chat: deps.chat,
      knowledge: deps.knowledge,
      media: { db: deps.db, store: deps.mediaStore, maxBytes: deps.limits.mediaMaxBytes },
      campaigns: deps.links ? campaignsDepsOf(deps, deps.links) : undefined,
      campaignWriter: deps.models ? (who) => draftWriter(deps.models!.layer.router, deps.db, who) : undefined,
      idempotency: new IdempotencyStore(deps.redis, deps.keyPrefix),
    },
    version: API_VERSION,
    db: deps.db,
    publicUrl: deps.mcp?.publicUrl,
    mode: deps.mcp?.mode,
    sessionIdleMs: deps.mcp ? deps.mcp.sessionIdleS * 1000 : undefined,
  });
  // Public, outside /v1: Bluesky OAuth's client metadata (its client_id), keys and callback.
  if (deps.accounts?.blueskyOAuth)
    await app.register(blueskyOAuthRoutes, {
      deps: {
        connect: {
          db: deps.db,
          cipher: deps.cipher,
          redis: deps.redis,
          keyPrefix: deps.keyPrefix,
          linkers: deps.accounts.linkers,
          platforms: deps.accounts.platforms,
          blueskyOAuth: deps.accounts.blueskyOAuth,
          events: deps.events,
        },
        doneUrl: deps.accounts.doneUrl,
      },
    });

  await app.register(
    async (v1) => {
      await v1.register(authRoutes, { deps: deps.auth });
      await v1.register(wsRoutes, { deps, voice: deps.voice, ...(deps.chat ? { handler: deps.chat } : {}) });
      const connect: ConnectRouteDeps = {
        connect: {
          db: deps.db,
          cipher: deps.cipher,
          redis: deps.redis,
          keyPrefix: deps.keyPrefix,
          linkers: deps.accounts?.linkers ?? new Map(),
          passwordLinkers: deps.accounts?.passwordLinkers,
          blueskyOAuth: deps.accounts?.blueskyOAuth,
          platforms: deps.accounts?.platforms ?? [],
          events: deps.events,
        },
        doneUrl: deps.accounts?.doneUrl,
      };
      // Public: the platform's redirect carries no token; its single-use state identifies the caller.
      await v1.register(connectCallbackRoutes, { deps: connect });
      // Public: Meta downloads media from signed, expiring URLs (docs/connectors.md#media-at-public-urls).
      await v1.register(publicMediaRoutes, { store: deps.mediaStore, cipher: deps.cipher });
      // Public: Telegram proves itself with the webhook's secret token, checked by the route.
      if (deps.telegram?.webhookSecret)
        await v1.register(telegramWebhookRoutes, {
          channel: deps.telegram.channel,
          secret: deps.telegram.webhookSecret,
        });
      // Public: Slack signs every request; the receiver checks it on the raw body.
      if (deps.slack) await v1.register(deps.slack.receiver.routes);
      // Public: networks sign postbacks with their program's secret; checked on the raw body.
      if (deps.links)
        await v1.register(campaignPostbackRoutes, {
          db: deps.db,
          cipher: deps.cipher,
          campaigns: campaignsDepsOf(deps, deps.links),
        });
      await v1.register(async (scope) => {
        scope.addHook('onRequest', scope.authenticate);
        await scope.register(workspaceRoutes, { db: deps.db });
        await scope.register(mediaRoutes, {
          deps: { db: deps.db, store: deps.mediaStore, maxBytes: deps.limits.mediaMaxBytes },
        });
        await scope.register(postRoutes, {
          scheduling: deps.scheduling,
          cipher: deps.cipher,
          // Disconnecting ends tokens at the platform: OAuth grants and app-password sessions alike.
          linkers: deps.accounts
            ? new Map([...deps.accounts.linkers, ...(deps.accounts.passwordLinkers ?? new Map())])
            : undefined,
        });
        await scope.register(scheduleRoutes, { scheduling: deps.scheduling });
        await scope.register(analyticsRoutes, { analytics: { db: deps.db } });
        // One chat turn over REST, by the same handler as `/v1/ws` (docs/protocol.md#rest-chat).
        const chat = deps.chat ?? new EchoChatHandler();
        // Turns kept in the WebSocket's resume journal (Redis): idempotent retries, SSE resume.
        const chatLog = scope.log.child({ component: 'rest-chat' });
        const turns = new RestTurns(chat, {
          redis: deps.redis,
          keyPrefix: deps.keyPrefix,
          log: chatLog,
          onError: (err) => chatLog.warn({ err }, 'chat turn log write failed'),
        });
        await scope.register(chatRoutes, { handler: chat, turns });
        await scope.register(trendRoutes, { drafting: { scheduling: deps.scheduling, knowledge: deps.knowledge } });
        await scope.register(coachRoutes, { coach: { db: deps.db, scheduling: deps.scheduling } });
        await scope.register(notificationRoutes, { db: deps.db });
        await scope.register(oauthGrantRoutes, { db: deps.db });
        if (deps.links) await scope.register(linkRoutes, { links: deps.links.deps });
        if (deps.links) {
          await scope.register(productRoutes, { campaigns: campaignsDepsOf(deps, deps.links) });
          await scope.register(campaignRoutes, {
            campaigns: campaignsDepsOf(deps, deps.links),
            // The content suite is written through the model router, when there is one (read per request).
            writerFor: deps.models ? (who) => draftWriter(deps.models!.layer.router, deps.db, who) : undefined,
          });
        }
        await scope.register(channelRoutes, { db: deps.db });
        await scope.register(connectRoutes, { deps: connect });
        if (deps.models) await scope.register(modelRoutes, { models: deps.models });
        if (deps.knowledge) await scope.register(knowledgeRoutes, { knowledge: deps.knowledge });
      });
    },
    { prefix: '/v1' },
  );
}

/** Campaigns reach scheduling, tracked links, the cipher (postback secrets) and knowledge (brand voice). */
function campaignsDepsOf(deps: ApiDeps, links: LinksApiDeps): CampaignsDeps {
  return { scheduling: deps.scheduling, links: links.deps, cipher: deps.cipher, knowledge: deps.knowledge };
}

/** `@fastify/rate-limit` builds its store from a class; this one counts under `prefix`. */
function leasedStore(redis: Redis, prefix: string) {
  return class extends LeasedRedisStore {
    constructor() {
      super({ redis, prefix });
    }
  };
}
