/**
 * A real Herald API for tests: the publishing stack of `startPublishingEnv` (database, Redis,
 * queue, events, media store) behind `buildApp`, listening on a loopback port, plus helpers
 * that sign people up through the API itself.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  createLogger,
  createRedisConnection,
  findOpenInvitation,
  type Config,
  type Database,
  type Logger,
  type MediaStore,
} from '../../core/index.js';
import type { Connector } from '../../connectors/index.js';
import { buildApp } from '../../server/app.js';
import type { AccountsApiDeps, ApiDeps } from '../../server/api.js';
import type { ModelRouteDeps } from '../../server/routes/models.js';
import { queueDepthOf } from '../../server/plugins/metrics.js';
import { TokenSigner } from '../../server/auth/tokens.js';
import { PrincipalCache } from '../../server/auth/principal-cache.js';
import { DEFAULTS } from '../../core/config/variables.js';
import { ClickJournal, LinkRedirector } from '../../tools/links/index.js';
import { REDIS_URL, startPublishingEnv, type PublishingEnv } from './publishing-env.js';

export interface ApiEnv {
  env: PublishingEnv;
  app: FastifyInstance;
  deps: ApiDeps;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** Signs a new person up (own workspace unless an invitation token is given: then as the invited address). */
  signUp(opts?: { email?: string; invitationToken?: string; timeZone?: string }): Promise<Person>;
  close(): Promise<void>;
}

export interface Person {
  email: string;
  password: string;
  userId: string;
  workspaceId: string;
  accessToken: string;
  refreshToken: string;
  /** Headers carrying this person's access token. */
  auth: { authorization: string };
}

export const TEST_PASSWORD = 'correct horse battery staple';

export async function startApiEnv(
  opts: {
    connectors?: Connector[];
    database?: Database;
    limits?: Partial<Config['api']>;
    accessTokenTtlS?: number;
    /** Defaults to the publishing env's local store (a temporary directory). */
    mediaStore?: MediaStore;
    /** Serve `/v1/models` with this model layer. */
    models?: ModelRouteDeps;
    /** The app's logger; default: silent (or `TEST_LOG_LEVEL`). */
    logger?: Logger;
    /** Bearer token `/metrics` requires; unset, loopback scrapes only. */
    metricsToken?: string;
    /** Platforms that can be connected (the connect flow). */
    accounts?: AccountsApiDeps;
    /** Serve `/v1/knowledge` with the knowledge base this builds over the env's database and events. */
    knowledge?: (env: PublishingEnv) => Promise<NonNullable<ApiDeps['knowledge']>>;
    /** `GET /l/:code` per client address per minute (default 100,000). */
    linksRateLimitPerMinute?: number;
    /** Clicks go through a journal in this directory, as on a runtime (default: straight to Redis). */
    linksJournalDir?: string;
    /** MCP's session mode and OAuth settings (default: stateless, the request's origin). */
    mcp?: ApiDeps['mcp'];
    /** The loopback port to listen on (a redirect URI known in advance); default: any free port. */
    port?: number;
  } = {},
): Promise<ApiEnv> {
  const env = await startPublishingEnv({
    connectors: opts.connectors ?? [],
    ...(opts.database ? { database: opts.database } : {}),
  });
  const redis = createRedisConnection(REDIS_URL, { autoPipelining: true });
  const limits: Config['api'] = {
    jwtSecret: undefined,
    accessTokenTtlS: opts.accessTokenTtlS ?? DEFAULTS.accessTokenTtlS,
    refreshTokenTtlS: DEFAULTS.refreshTokenTtlS,
    bodyLimitBytes: DEFAULTS.bodyLimitBytes,
    rateLimitPerMinute: 100_000,
    wsMaxConnectionsPerUser: DEFAULTS.wsMaxConnectionsPerUser,
    wsMaxFrameBytes: DEFAULTS.wsMaxFrameBytes,
    wsMaxBufferedBytes: DEFAULTS.wsMaxBufferedBytes,
    wsHeartbeatMs: DEFAULTS.wsHeartbeatMs,
    mediaMaxBytes: DEFAULTS.mediaMaxBytes,
    outboundAllow: ['loopback'],
    corsOrigins: [],
    ...opts.limits,
  };
  const principals = await PrincipalCache.listening(env.database);
  const journal = opts.linksJournalDir
    ? await new ClickJournal({
        dir: opts.linksJournalDir,
        redis,
        keyPrefix: env.prefix,
        logger: createLogger({ level: 'silent' }),
      }).open()
    : undefined;
  const deps: ApiDeps = {
    db: env.database.db,
    redis,
    auth: {
      db: env.database.db,
      signer: new TokenSigner(randomBytes(32), limits.accessTokenTtlS),
      refreshTtlS: limits.refreshTokenTtlS,
      principals: principals.cache,
    },
    scheduling: env.deps,
    mediaStore: opts.mediaStore ?? env.mediaStore,
    events: env.events,
    cipher: env.cipher,
    limits,
    keyPrefix: env.prefix,
    ...(opts.models ? { models: opts.models } : {}),
    ...(opts.accounts ? { accounts: opts.accounts } : {}),
    ...(opts.knowledge ? { knowledge: await opts.knowledge(env) } : {}),
    ...(opts.mcp ? { mcp: opts.mcp } : {}),
    links: {
      deps: { db: env.database.db, baseUrl: 'https://go.example.test' },
      redirector: new LinkRedirector({
        db: env.database.db,
        redis,
        keyPrefix: env.prefix,
        ...(journal ? { journal } : {}),
      }),
      rateLimitPerMinute: opts.linksRateLimitPerMinute ?? 100_000,
    },
  };
  const app = await buildApp({
    logger: opts.logger ?? createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    checks: [],
    isDraining: () => false,
    api: deps,
    metrics: { token: opts.metricsToken, queueDepth: queueDepthOf(env.deps.queue.queue) },
  });
  const address = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });

  return {
    env,
    app,
    deps,
    baseUrl: address,
    async signUp(o = {}) {
      // With an invitation, the invited person signs up: as the invited address (only it may accept).
      const invited = o.invitationToken ? await findOpenInvitation(env.database.db, o.invitationToken) : undefined;
      const email = o.email ?? invited?.email ?? `${randomUUID()}@example.com`;
      const res = await app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: {
          email,
          password: TEST_PASSWORD,
          ...(o.invitationToken ? { invitationToken: o.invitationToken } : {}),
          ...(o.timeZone ? { timeZone: o.timeZone } : {}),
        },
      });
      if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
      const t = res.json() as { accessToken: string; refreshToken: string; userId: string; workspaceId: string };
      return { email, password: TEST_PASSWORD, ...t, auth: { authorization: `Bearer ${t.accessToken}` } };
    },
    async close() {
      await app.close();
      await journal?.close();
      await principals.unlisten();
      await redis.quit();
      await env.close();
    },
  };
}
