/**
 * Boots the things every Herald process needs, in order — config is already loaded; then
 * the key ring, the database (migrated), Redis, Chroma — and closes them in reverse. A step
 * that fails closes what was already started, so a failed boot leaves no child behind.
 */
import path from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  createRedisConnection,
  ensureRedis,
  EventBus,
  createMediaStore,
  type MediaStore,
  loadOrCreateKeyFile,
  openDatabase,
  SecretCipher,
  setOutboundPolicy,
  type Config,
  type Database,
  type Logger,
  type RedisHandle,
} from '../core/index.js';
import { AgentChatHandler, DbCheckpointSaver } from '../agent/index.js';
import {
  configuredProviders,
  createModelLayer,
  type ModelLayer,
  type ProviderSettings,
} from '../agent/models/index.js';
import {
  Embedders,
  KnowledgeQueue,
  loadSeedDocuments,
  KnowledgeStore,
  listenForPublishedPosts,
  pastPostMetricsSink,
  resolveEmbedder,
  startChroma,
  startKnowledgeWorker,
  type ChromaHandle,
  type KnowledgeDeps,
} from '../knowledge/index.js';
import { AccountGate, PublishQueue, startMaintenance, startPublishWorker } from '../tools/publishing/index.js';
import { MetricsQueue, startMetricsWorker, type CollectDeps } from '../tools/analytics/index.js';
import { startTrendsWorker, TrendsQueue, type TrendsHooks } from '../tools/trends/index.js';
import { BlueskyTrendsSource } from '../connectors/bluesky/trends.js';
import { GoogleTrendsSource } from '../connectors/google-trends/index.js';
import { RedditSource } from '../connectors/reddit/index.js';
import { notifyPublishingOutcomes, type Notifier } from '../tools/notifications/index.js';
import { startCoach } from './coach-runtime.js';
import { ClickJournal, LinkRedirector, startClickDrainer } from '../tools/links/index.js';
import { HackerNewsSource } from '../connectors/hackernews/index.js';
import { MastodonTrendsSource } from '../connectors/mastodon/trends.js';
import type { SchedulingDeps } from '../tools/scheduling/index.js';
import { createVoiceEngines, voiceConfigOf, type VoiceEngines } from '../voice/index.js';
import {
  accountsApiDepsOf,
  checkLinkedInVersionAtStart,
  createBlueskyOAuthOf,
  createConnectors,
} from './connectors.js';
import type { BlueskyOAuth } from '../connectors/bluesky/index.js';
import { signedMediaUrls } from '../connectors/meta/media-urls.js';
import { PUBLIC_MEDIA_KEY_PURPOSE } from './routes/public-media.js';
import { SlackChannel } from './channels/slack/index.js';
import { startTelegram, type TelegramChannel } from './channels/telegram/index.js';
import { chatDeliverers } from './channels/deliverers.js';
import { EchoChatHandler } from './ws/index.js';
import type { ApiDeps } from './api.js';
import { queueDepthOf, type MetricsOptions } from './plugins/metrics.js';
import { TokenSigner } from './auth/tokens.js';
import { PrincipalCache } from './auth/principal-cache.js';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly cipher: SecretCipher;
  readonly database: Database;
  readonly redisHandle: RedisHandle;
  /** General-purpose client connection (commands fail fast when Redis is down). */
  readonly redis: Redis;
  readonly chroma: ChromaHandle;
  /** What the scheduling service functions need; every channel passes this to them. */
  readonly scheduling: SchedulingDeps;
  readonly mediaStore: MediaStore;
  readonly events: EventBus;
  /** Bluesky's OAuth client, when configured (docs/connectors.md#bluesky-oauth). */
  readonly blueskyOAuth: BlueskyOAuth | undefined;
  /** Providers, registry, router and Ollama management (docs/models.md). */
  readonly models: ModelLayer;
  readonly modelProviders: ProviderSettings;
  /** The knowledge base: store, ingestion queue, limits (docs/knowledge.md). */
  readonly knowledge: KnowledgeDeps;
  /** Speech engines and the VAD model for voice sessions; null when `VOICE_STT` is `none`. */
  readonly voice: VoiceEngines | null;
  /** Principals resolved recently, dropped on the database's change notifications. */
  readonly principals: PrincipalCache;
  /** The agent behind chat, when a model provider is configured (`chatHandlerOf`). */
  readonly chat: AgentChatHandler | undefined;
  /** The Telegram bot, when `TELEGRAM_BOT_TOKEN` is set and this process serves the API (docs/channels.md). */
  readonly telegram: TelegramChannel | undefined;
  /** The Slack app, when `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` are set on an API process. */
  readonly slack: SlackChannel | undefined;
  /** Tracked links (docs/links.md): the redirect's click recorder; clicks drained on worker processes. */
  readonly links: LinkRedirector;
  /** Messages pushed to a member outside a turn (WebSocket; channels add deliverers), docs/coach.md. */
  readonly notifier: Notifier;
  close(): Promise<void>;
}

type Closer = { name: string; close: () => Promise<unknown> };

/**
 * Quits a Redis connection BullMQ queues and workers share, after one round trip. A queue or
 * worker closed while it is still setting up (a start-up that fails right after creating
 * it) drops its error listener but keeps its setup command (INFO) waiting on this
 * connection; quitting first would fail that command with "Connection is closed", emitted
 * with no listener: an unhandled error that kills the process before its children are
 * stopped. The PING's answer comes after every command already sent, so none is cut off.
 */
async function quitShared(connection: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // BullMQ connections retry forever: a Redis that is gone gets a short wait, not a hang.
  const answered = await Promise.race([
    connection.ping().then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), QUIT_PING_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (answered) await connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
}

/** How long closing waits for Redis to answer the PING before it drops the connection. */
const QUIT_PING_TIMEOUT_MS = 2_000;

/**
 * Closes a BullMQ worker once it has finished connecting. Closing a worker whose own
 * (blocking) connection is still connecting drops that connection's listeners and then emits
 * its failure with none left: an uncaught "Connection is closed" that kills the process
 * before its children are stopped (a start-up failing just after the workers started).
 */
async function closeWorker(worker: Worker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    worker.waitUntilReady().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, QUIT_PING_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  await worker.close();
}

/**
 * The publish queue and event bus for every role, and — for `all` and `worker` — the publish
 * worker and the maintenance jobs (reconciler, recurring posts).
 */
async function startPublishing(
  config: Config,
  logger: Logger,
  database: Database,
  cipher: SecretCipher,
  redisUrl: string,
  redis: Redis,
  closers: Closer[],
  onMeasured: CollectDeps['onMeasured'],
  trendsHooks: TrendsHooks = {},
): Promise<Pick<Runtime, 'scheduling' | 'mediaStore' | 'events' | 'blueskyOAuth'>> {
  const bull = createRedisConnection(redisUrl, { purpose: 'worker', connectionName: 'herald-bullmq' });
  closers.push({ name: 'bullmq-connection', close: () => quitShared(bull) });
  const events = new EventBus(redis, () =>
    createRedisConnection(redisUrl, { purpose: 'worker', connectionName: 'herald-events' }),
  );
  closers.push({ name: 'events', close: () => events.close() });
  const queue = new PublishQueue({
    connection: bull,
    prefix: config.queuePrefix,
    maxAttempts: config.publish.maxAttempts,
    backoffMs: config.publish.backoffMs,
  });
  closers.push({ name: 'publish-queue', close: () => queue.close() });
  // Local disk under DATA_DIR/media, or the S3 bucket when S3_BUCKET is set.
  const mediaStore = await createMediaStore(config);
  closers.push({ name: 'media-store', close: async () => mediaStore.close?.() });
  // Bluesky OAuth (docs/connectors.md#bluesky-oauth): sessions in the database, refreshes under a Redis lock.
  const blueskyOAuth = await createBlueskyOAuthOf(config.connect.blueskyOAuth, {
    db: database.db,
    cipher,
    redis,
    keyPrefix: config.queuePrefix,
    timeoutMs: config.publish.connectorTimeoutMs,
  });
  const connectors = createConnectors({
    timeoutMs: config.publish.connectorTimeoutMs,
    connect: config.connect,
    blueskyOAuth,
    // Meta downloads media from Herald: signed, expiring URLs under PUBLIC_URL.
    mediaUrls: config.publicUrl
      ? signedMediaUrls({ publicUrl: config.publicUrl, secret: cipher.deriveKey(PUBLIC_MEDIA_KEY_PURPOSE) })
      : undefined,
  });
  void checkLinkedInVersionAtStart(config.connect, config.publish.connectorTimeoutMs, logger);
  const scheduling: SchedulingDeps = { db: database.db, connectors, queue, events };

  if (config.role !== 'api') {
    const gate = new AccountGate(redis, config.publish.accountLeaseMs, config.queuePrefix);
    // Engagement metrics: each published target's decaying schedule, and daily audiences.
    const metrics = new MetricsQueue({ connection: bull, prefix: config.queuePrefix });
    closers.push({ name: 'metrics-queue', close: () => metrics.close() });
    await metrics.startDaily();
    const worker = startPublishWorker(
      {
        db: database.db,
        cipher,
        connectors,
        mediaStore,
        events,
        logger,
        gate,
        onPublished: (t) => metrics.scheduleTarget(database.db, t),
      },
      {
        connection: bull,
        prefix: config.queuePrefix,
        concurrency: config.publish.concurrency,
        lockDurationMs: config.publish.jobLockMs,
        stalledIntervalMs: config.publish.stalledIntervalMs,
      },
    );
    // Closed first (closers run in reverse): in-flight publishes finish before connections go.
    const maintenance = await startMaintenance(
      { ...scheduling, logger, cipher },
      { connection: bull, prefix: config.queuePrefix, reconcileEveryMs: config.publish.reconcileIntervalMs },
    );
    closers.push({ name: 'maintenance', close: () => maintenance.close() });
    closers.push({ name: 'publish-worker', close: () => closeWorker(worker) });
    const metricsWorker = startMetricsWorker(
      {
        db: database.db,
        cipher,
        connectors,
        gate,
        logger,
        onMeasured,
        // Weekly reports go through the notifier, bound once the coach is up (docs/analytics.md).
        notify: async (input) => trendsHooks.notify?.(input),
      },
      metrics,
      {
        connection: bull,
        prefix: config.queuePrefix,
      },
    );
    closers.push({ name: 'metrics-worker', close: () => closeWorker(metricsWorker) });
    // Trend research (docs/trends.md): one BullMQ schedule collects every workspace with a niche;
    // followed feeds arrive as knowledge.feed events from the one feed poller.
    const trendsQueue = new TrendsQueue({ connection: bull, prefix: config.queuePrefix });
    closers.push({ name: 'trends-queue', close: () => trendsQueue.close() });
    await trendsQueue.startSchedule();
    const trendsWorker = await startTrendsWorker(
      {
        db: database.db,
        sources: [
          new MastodonTrendsSource(),
          new HackerNewsSource(),
          new BlueskyTrendsSource(),
          new RedditSource(),
          new GoogleTrendsSource(),
        ],
        // Bound once knowledge (the workspace's embedder) and the coach (the notifier) are up.
        embedderFor: async (ws) => (await trendsHooks.embedderFor?.(ws)) ?? null,
        notify: async (input) => trendsHooks.notify?.(input),
        logger: logger.child({ component: 'trends' }),
        events,
      },
      trendsQueue,
      { connection: bull, prefix: config.queuePrefix },
    );
    closers.push({
      name: 'trends-worker',
      close: async () => {
        await trendsWorker.stopListening();
        await closeWorker(trendsWorker.worker);
      },
    });
  }
  return { scheduling, mediaStore, events, blueskyOAuth };
}

/** The knowledge base's store and ingestion queue, and — for `all` and `worker` — its ingestion worker. */
async function startKnowledge(
  config: Config,
  logger: Logger,
  database: Database,
  chroma: ChromaHandle,
  events: EventBus,
  redisUrl: string,
  closers: Closer[],
): Promise<KnowledgeDeps> {
  // KNOWLEDGE_EMBEDDER is the default; a workspace may choose its own (docs/knowledge.md).
  const embedders = new Embedders(
    { ollamaUrl: config.ollamaUrl, openai: config.models.openai },
    config.knowledge.embedder,
  );
  const store = new KnowledgeStore(chroma.client, embedders.defaultEmbedder);
  const bull = createRedisConnection(redisUrl, { purpose: 'worker', connectionName: 'herald-knowledge' });
  closers.push({ name: 'knowledge-connection', close: () => quitShared(bull) });
  const queue = new KnowledgeQueue({ connection: bull, prefix: config.queuePrefix });
  closers.push({ name: 'knowledge-queue', close: () => queue.close() });
  const limits = {
    maxBytes: config.knowledge.maxBytes,
    uploadMaxBytes: config.knowledge.uploadMaxBytes,
    fetchTimeoutMs: config.knowledge.fetchTimeoutMs,
  };
  const knowledge: KnowledgeDeps = {
    db: database.db,
    store,
    embedders,
    queue,
    events,
    limits,
    seed: await loadSeedDocuments(),
  };
  if (config.role !== 'api') {
    const worker = startKnowledgeWorker(
      { ...knowledge, logger: logger.child({ component: 'knowledge' }) },
      { connection: bull, prefix: config.queuePrefix },
    );
    closers.push({ name: 'knowledge-worker', close: () => closeWorker(worker) });
    // Every published post becomes a `past_post` source (docs/knowledge.md).
    const unlisten = await listenForPublishedPosts(events, queue, logger.child({ component: 'knowledge' }));
    closers.push({ name: 'knowledge-past-posts', close: unlisten });
  }
  return knowledge;
}

export async function startRuntime(config: Config, logger: Logger): Promise<Runtime> {
  // What URLs people give Herald may reach (knowledge pages and feeds, product pages); unset,
  // public addresses only (the default of core/net/outbound).
  if (config.api.outboundAllow.length > 0) setOutboundPolicy({ allow: config.api.outboundAllow });
  const closers: Closer[] = [];
  const close = async () => {
    for (const { name, close: fn } of closers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.error({ err, component: name }, 'error while closing');
      }
    }
  };
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = await fn();
    logger.info({ step: name, ms: Math.round(performance.now() - started) }, 'boot step done');
    return value;
  };

  try {
    const cipher = await step('keys', async () => {
      if (config.encryption) return new SecretCipher(config.encryption.keys, config.encryption.activeKeyId);
      const { cipher, file, created } = await loadOrCreateKeyFile(config.dataDir);
      if (created) logger.warn({ file }, 'generated an encryption key for stored tokens; back this file up');
      return cipher;
    });

    // The three services are independent: start them side by side. allSettled, not all: a
    // fast failure must wait for the others so their closers are registered before closing.
    const settled = await Promise.allSettled([
      step('database', async () => {
        const db = await openDatabase(
          config.databaseUrl
            ? {
                kind: 'postgres',
                url: config.databaseUrl,
                poolMax: config.databasePoolMax,
                retryForMs: config.startupRetryMs,
                logger,
              }
            : { kind: 'pglite', dir: path.join(config.dataDir, 'pg') },
        );
        closers.push({ name: 'database', close: () => db.close() });
        return db;
      }),
      step('redis', async () => {
        const handle = await ensureRedis({
          url: config.redisUrl,
          autostart: config.redisAutostart,
          dataDir: config.dataDir,
          startTimeoutMs: config.childStartTimeoutMs,
          retryForMs: config.startupRetryMs,
          logger,
        });
        closers.push({ name: 'redis-server', close: () => handle.stop() });
        return handle;
      }),
      step('chroma', async () => {
        const handle = await startChroma({
          url: config.chromaUrl,
          dataDir: config.dataDir,
          startTimeoutMs: config.childStartTimeoutMs,
          retryForMs: config.startupRetryMs,
          logger,
        });
        closers.push({ name: 'chroma', close: () => handle.stop() });
        return handle;
      }),
    ] as const);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [database, redisHandle, chroma] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      Database,
      RedisHandle,
      ChromaHandle,
    ];
    const redis = createRedisConnection(redisHandle.url, { connectionName: 'herald-client', autoPipelining: true });
    closers.push({ name: 'redis-client', close: () => redis.quit().catch(() => redis.disconnect()) });
    const { cache: principals, unlisten } = await PrincipalCache.listening(database);
    closers.push({ name: 'principal-cache', close: unlisten });

    // Each metrics snapshot also updates the post's past_post knowledge source; knowledge starts
    // after publishing, so the sink is bound once it is up (a snapshot before that is only in analytics).
    const pastPost: { sink?: CollectDeps['onMeasured'] } = {};
    const trendsHooks: TrendsHooks = {};
    const publishing = await step('publishing', () =>
      startPublishing(
        config,
        logger,
        database,
        cipher,
        redisHandle.url,
        redis,
        closers,
        (m) => (pastPost.sink ? pastPost.sink(m) : Promise.resolve()),
        trendsHooks,
      ),
    );
    // Clicks answered by this process go to its journal first (docs/links.md#durability). A
    // worker answers no redirects; a journal directory that cannot be made costs the journal
    // (clicks then go to Redis directly), never the start.
    let clickJournal: ClickJournal | undefined;
    if (config.role !== 'worker') {
      try {
        clickJournal = await new ClickJournal({
          dir: config.links.journalDir,
          redis,
          keyPrefix: config.queuePrefix,
          logger: logger.child({ component: 'links' }),
        }).open();
        const journal = clickJournal;
        closers.push({ name: 'click-journal', close: () => journal.close() });
      } catch (err) {
        logger.warn(
          { err, dir: config.links.journalDir },
          'click journal unavailable (LINKS_JOURNAL_DIR); redirects record clicks straight to Redis',
        );
      }
    }
    const links = new LinkRedirector({
      db: database.db,
      redis,
      keyPrefix: config.queuePrefix,
      ...(clickJournal ? { journal: clickJournal } : {}),
    });
    if (config.role !== 'api') {
      // Clicks buffered in Redis move into link_clicks in batches (tools/links/drain.ts).
      const drain = startClickDrainer({
        db: database.db,
        redisUrl: redisHandle.url,
        keyPrefix: config.queuePrefix,
        logger: logger.child({ component: 'links' }),
        uniqueWindowMs: config.links.uniqueWindowMinutes * 60_000,
      });
      closers.push({ name: 'click-drain', close: () => drain.close() });
    }
    const modelProviders = providerSettingsOf(config);
    const models = await step('models', () =>
      createModelLayer({
        providers: modelProviders,
        modelOverrides: config.models.entries,
        firstTokenTimeoutMs: config.models.firstTokenTimeoutMs,
        breaker: { failureThreshold: config.models.breakerFailures, cooldownMs: config.models.breakerCooldownMs },
        db: database.db,
        logger: logger.child({ component: 'models' }),
      }),
    );
    // Runs before the database closes (closers run in reverse): usage rows still batched are written.
    closers.push({ name: 'usage-ledger', close: () => models.flushUsage() });
    const knowledge = await startKnowledge(
      config,
      logger,
      database,
      chroma,
      publishing.events,
      redisHandle.url,
      closers,
    );
    pastPost.sink = pastPostMetricsSink(knowledge);
    trendsHooks.embedderFor = (ws) => resolveEmbedder(knowledge, ws);
    const voice = await step('voice', () => createVoiceEngines(voiceConfigOf(config)));
    const chat = chatHandlerOf({
      config,
      logger,
      database,
      scheduling: publishing.scheduling,
      mediaStore: publishing.mediaStore,
      models,
      modelProviders,
      knowledge,
      principals,
      cipher,
      redis,
      events: publishing.events,
      blueskyOAuth: publishing.blueskyOAuth,
    });
    // Runs before the database closes: checkpoints and fast-path records written after a
    // reply (docs/agent.md) are stored before the process goes.
    if (chat) closers.push({ name: 'agent-writes', close: () => chat.settled() });
    // The coach (docs/coach.md): the notifier channels deliver through; its schedule on workers.
    const coach = await step('coach', () =>
      startCoach({
        config,
        logger,
        database,
        scheduling: publishing.scheduling,
        events: publishing.events,
        models,
        hasModel: configuredProviders(modelProviders).size > 0,
        redisUrl: redisHandle.url,
      }),
    );
    closers.push({ name: 'coach', close: () => coach.close() });
    // Notifications also reach the chats members linked, from any process (docs/channels.md).
    for (const d of chatDeliverers(database.db, { telegram: config.telegram, slack: config.slack }))
      coach.notifier.addDeliverer(d);
    trendsHooks.notify = (input) => coach.notifier.send(input);
    // Authors hear how their posts ended (post.failed, post.unconfirmed, post.published).
    if (config.role !== 'api') {
      const stopOutcomes = await notifyPublishingOutcomes({
        db: database.db,
        events: publishing.events,
        notifier: coach.notifier,
        logger,
      });
      closers.push({ name: 'publishing-notifications', close: stopOutcomes });
    }
    // The bot talks through the same chat handler as the WebSocket (the echo one without a model).
    const telegram =
      config.telegram && config.role !== 'worker'
        ? await startTelegram({
            ...config.telegram,
            publicUrl: config.publicUrl,
            db: database.db,
            redis,
            keyPrefix: config.queuePrefix,
            chat: chat ?? new EchoChatHandler(),
            stt: voice?.stt,
            tts: voice?.tts,
            logger: logger.child({ component: 'telegram' }),
          })
        : undefined;
    // Closed before the agent's writes are awaited: its turns end first.
    if (telegram) closers.push({ name: 'telegram', close: () => telegram.close() });
    const slack =
      config.slack && config.role !== 'worker'
        ? new SlackChannel({
            ...config.slack,
            db: database.db,
            redis,
            keyPrefix: config.queuePrefix,
            chat: chat ?? new EchoChatHandler(),
            stt: voice?.stt,
            tts: voice?.tts,
            logger: logger.child({ component: 'slack' }),
          })
        : undefined;
    if (slack) {
      closers.push({ name: 'slack', close: () => slack.close() });
      // Socket Mode dials out (and keeps retrying); a Slack that cannot be reached is logged, not fatal.
      slack
        .start()
        .then(() => logger.info({ mode: slack.mode }, 'slack app ready'))
        .catch((err: unknown) => logger.error({ err }, 'slack app did not start'));
    }
    return {
      config,
      logger,
      cipher,
      database,
      redisHandle,
      redis,
      chroma,
      ...publishing,
      models,
      modelProviders,
      knowledge,
      voice,
      principals,
      chat,
      telegram,
      slack,
      links,
      notifier: coach.notifier,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Provider settings from config: only the providers whose credentials or URL are set. */
export function providerSettingsOf(config: Config): ProviderSettings {
  const m = config.models;
  const withBase = <T extends object>(o: T, baseUrl: string | undefined) => (baseUrl ? { ...o, baseUrl } : o);
  return {
    ...(config.ollamaUrl ? { ollama: { baseUrl: config.ollamaUrl } } : {}),
    ...(m.groq ? { groq: withBase({ apiKey: m.groq.apiKey }, m.groq.baseUrl) } : {}),
    ...(m.anthropic ? { anthropic: withBase({ apiKey: m.anthropic.apiKey }, m.anthropic.baseUrl) } : {}),
    ...(m.openai ? { openai: withBase(m.openai.apiKey ? { apiKey: m.openai.apiKey } : {}, m.openai.baseUrl) } : {}),
  };
}

/** `/metrics` options: the configured token and the publish queue's depth, read from Redis. */
export function metricsOptionsOf(rt: Runtime): MetricsOptions {
  return { token: rt.config.metricsToken, queueDepth: queueDepthOf(rt.scheduling.queue.queue) };
}

/** What the `/v1` API needs, built from a started runtime. */
export function apiDepsOf(rt: Runtime): ApiDeps {
  const key = rt.config.api.jwtSecret ? new TextEncoder().encode(rt.config.api.jwtSecret) : rt.cipher.deriveKey('jwt');
  return {
    db: rt.database.db,
    redis: rt.redis,
    auth: {
      db: rt.database.db,
      signer: new TokenSigner(key, rt.config.api.accessTokenTtlS),
      refreshTtlS: rt.config.api.refreshTokenTtlS,
      principals: rt.principals,
    },
    scheduling: rt.scheduling,
    mediaStore: rt.mediaStore,
    events: rt.events,
    cipher: rt.cipher,
    limits: rt.config.api,
    keyPrefix: rt.config.queuePrefix,
    models: {
      layer: rt.models,
      providers: rt.modelProviders,
      events: rt.events,
      pullAccess: { instanceAdmins: rt.config.instanceAdmins, allowlist: rt.config.models.pullAllowlist },
    },
    accounts: accountsApiDepsOf(rt.config.connect, rt.config.publish.connectorTimeoutMs, {}, rt.blueskyOAuth),
    chat: rt.chat,
    ...(rt.telegram ? { telegram: { channel: rt.telegram, webhookSecret: rt.config.telegram?.webhookSecret } } : {}),
    ...(rt.slack ? { slack: rt.slack } : {}),
    knowledge: rt.knowledge,
    voice: rt.voice,
    links: {
      deps: { db: rt.database.db, baseUrl: rt.config.links.baseUrl },
      redirector: rt.links,
      rateLimitPerMinute: rt.config.links.rateLimitPerMinute,
    },
    mcp: {
      mode: rt.config.mcp.sessions,
      sessionIdleS: rt.config.mcp.sessionIdleS,
      publicUrl: rt.config.mcp.publicUrl,
      oauthAccessTtlS: rt.config.mcp.oauthAccessTtlS,
    },
  };
}

/**
 * The agent answers chat when any model provider is configured (docs/agent.md); without one
 * the WebSocket keeps its echo handler, so the protocol can still be tried.
 */
export function chatHandlerOf(
  rt: Pick<
    Runtime,
    | 'config'
    | 'logger'
    | 'database'
    | 'scheduling'
    | 'models'
    | 'modelProviders'
    | 'knowledge'
    | 'principals'
    | 'cipher'
    | 'redis'
    | 'events'
    | 'mediaStore'
  > &
    Partial<Pick<Runtime, 'blueskyOAuth'>>,
): AgentChatHandler | undefined {
  if (configuredProviders(rt.modelProviders).size === 0) return undefined;
  const accounts = accountsApiDepsOf(rt.config.connect, rt.config.publish.connectorTimeoutMs, {}, rt.blueskyOAuth);
  return new AgentChatHandler({
    deps: rt.scheduling,
    knowledge: rt.knowledge,
    // Campaign tools make tracked links (docs/campaigns.md).
    links: { db: rt.database.db, baseUrl: rt.config.links.baseUrl },
    media: { db: rt.database.db, store: rt.mediaStore, maxBytes: rt.config.api.mediaMaxBytes },
    accounts: {
      db: rt.database.db,
      cipher: rt.cipher,
      redis: rt.redis,
      keyPrefix: rt.config.queuePrefix,
      linkers: accounts.linkers,
      passwordLinkers: accounts.passwordLinkers,
      blueskyOAuth: accounts.blueskyOAuth,
      platforms: accounts.platforms,
      events: rt.events,
    },
    router: rt.models.router,
    checkpointer: new DbCheckpointSaver(rt.database.db, { logger: rt.logger.child({ component: 'agent' }) }),
    // Workspace settings are cached while the principal cache hears of no change.
    changes: rt.principals,
    logger: rt.logger.child({ component: 'agent' }),
    summary: { afterTokens: rt.config.agent.summaryAfterTokens, keepMessages: rt.config.agent.summaryKeepMessages },
    tools: { mode: rt.config.agent.tools, budgetTokens: rt.config.agent.toolBudgetTokens },
  });
}
