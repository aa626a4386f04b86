/**
 * Herald's relational schema (Drizzle). Every table that holds workspace data carries
 * `workspace_id`, and child rows reference their parents through composite keys
 * `(workspace_id, id)`, so the database itself refuses a post target that points at another
 * workspace's post or social account. Timestamps are `timestamptz` in UTC.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  date,
  foreignKey,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const id = () => uuid('id').primaryKey().defaultRandom();
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();
const workspaceRef = () =>
  uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' });

export const roleEnum = pgEnum('member_role', ['owner', 'admin', 'editor', 'viewer']);
export const accountStatusEnum = pgEnum('social_account_status', ['active', 'needs_reconnect', 'disconnected']);
export const targetStatusEnum = pgEnum('target_status', [
  'draft',
  'pending_approval',
  'scheduled',
  'publishing',
  'published',
  'failed',
  'unconfirmed',
  'cancelled',
]);
export const attemptOutcomeEnum = pgEnum('attempt_outcome', ['pending', 'succeeded', 'failed', 'unknown']);
export const actorKindEnum = pgEnum('actor_kind', ['user', 'api_key', 'agent', 'system']);

export const workspaces = pgTable('workspaces', {
  id: id(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  timeZone: text('time_zone').notNull().default('UTC'),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  /**
   * Bumped by database triggers in the same transaction as any change to the workspace's
   * posts or targets (migration 0006): the key under which read models (the posts list) are
   * cached, so a committed change is never hidden by a cache keyed on the old version.
   */
  contentVersion: bigint('content_version', { mode: 'number' }).notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const users = pgTable(
  'users',
  {
    id: id(),
    /** Stored lower-cased; unique. */
    email: text('email').notNull(),
    passwordHash: text('password_hash'),
    displayName: text('display_name'),
    timeZone: text('time_zone').notNull().default('UTC'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('users_email_lower').on(sql`lower(${t.email})`)],
);

export const memberships = pgTable(
  'memberships',
  {
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: roleEnum('role').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index('memberships_user').on(t.userId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: id(),
    workspaceId: workspaceRef(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    /** The visible start of the key (e.g. `hk_3f9a1c`), to tell keys apart in lists. */
    prefix: text('prefix').notNull(),
    /** SHA-256 of the whole key, hex. Keys are 256-bit random, so a fast hash is enough. */
    keyHash: text('key_hash').notNull().unique(),
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_workspace').on(t.workspaceId)],
);

export const socialAccounts = pgTable(
  'social_accounts',
  {
    id: id(),
    workspaceId: workspaceRef(),
    platform: text('platform').notNull(),
    /** The platform's own id for the account (DID, numeric id, URN...). */
    externalId: text('external_id').notNull(),
    handle: text('handle').notNull(),
    displayName: text('display_name'),
    avatarUrl: text('avatar_url'),
    status: accountStatusEnum('status').notNull().default('active'),
    /** AES-256-GCM sealed JSON of every credential (tokens, app passwords). */
    credentialsCiphertext: text('credentials_ciphertext').notNull(),
    credentialsKeyId: text('credentials_key_id').notNull(),
    tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true }),
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Non-secret platform facts: instance URL, limits read from the platform, account tier. */
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('social_accounts_ws_id').on(t.workspaceId, t.id),
    unique('social_accounts_ws_platform_external').on(t.workspaceId, t.platform, t.externalId),
    index('social_accounts_key_id').on(t.credentialsKeyId),
  ],
);

export const posts = pgTable(
  'posts',
  {
    id: id(),
    workspaceId: workspaceRef(),
    authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
    /** The idea or master text; each target holds its own platform variant. */
    content: text('content').notNull().default(''),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Set when the post is one occurrence of a recurring series. */
    seriesId: uuid('series_id'),
    occurrenceAt: timestamp('occurrence_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('posts_ws_id').on(t.workspaceId, t.id),
    index('posts_ws_created').on(t.workspaceId, t.createdAt),
    // Materialising an occurrence twice is a no-op.
    unique('posts_series_occurrence').on(t.seriesId, t.occurrenceAt),
  ],
);

export interface TargetMedia {
  mediaId: string;
  altText?: string;
}

export const postTargets = pgTable(
  'post_targets',
  {
    id: id(),
    workspaceId: workspaceRef(),
    postId: uuid('post_id').notNull(),
    socialAccountId: uuid('social_account_id').notNull(),
    /** Denormalised from the account so limits and queues can be chosen without a join. */
    platform: text('platform').notNull(),
    content: text('content').notNull(),
    /** Further parts when the target is a thread; `content` is the first part. */
    threadParts: jsonb('thread_parts').$type<string[]>().notNull().default([]),
    media: jsonb('media').$type<TargetMedia[]>().notNull().default([]),
    /** Platform-specific options (visibility, content warning, first comment...). */
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default({}),
    status: targetStatusEnum('status').notNull().default('draft'),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    platformPostId: text('platform_post_id'),
    platformUrl: text('platform_url'),
    lastError: jsonb('last_error').$type<{ kind: string; message: string; [k: string]: unknown }>(),
    /** Bumped on every change; writers compare it to avoid lost updates. */
    version: integer('version').notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('post_targets_ws_id').on(t.workspaceId, t.id),
    unique('post_targets_post_account').on(t.postId, t.socialAccountId),
    foreignKey({ columns: [t.workspaceId, t.postId], foreignColumns: [posts.workspaceId, posts.id] }).onDelete(
      'cascade',
    ),
    foreignKey({
      columns: [t.workspaceId, t.socialAccountId],
      foreignColumns: [socialAccounts.workspaceId, socialAccounts.id],
    }).onDelete('cascade'),
    index('post_targets_due').on(t.status, t.scheduledAt),
    index('post_targets_ws_scheduled').on(t.workspaceId, t.scheduledAt),
    // Analytics reads a workspace's published targets by publishing time (overview, series).
    index('post_targets_ws_published').on(t.workspaceId, t.publishedAt),
  ],
);

export const publishAttempts = pgTable(
  'publish_attempts',
  {
    id: id(),
    workspaceId: workspaceRef(),
    targetId: uuid('target_id').notNull(),
    /**
     * The key sent to the platform. Stable per target (every attempt of one target sends the
     * same key), so a platform with idempotency support never creates a second post.
     */
    idempotencyKey: text('idempotency_key').notNull(),
    attemptNo: integer('attempt_no').notNull(),
    outcome: attemptOutcomeEnum('outcome').notNull().default('pending'),
    platformPostId: text('platform_post_id'),
    error: jsonb('error').$type<{ kind: string; message: string; [k: string]: unknown }>(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    unique('publish_attempts_target_no').on(t.targetId, t.attemptNo),
    index('publish_attempts_key').on(t.idempotencyKey),
    foreignKey({
      columns: [t.workspaceId, t.targetId],
      foreignColumns: [postTargets.workspaceId, postTargets.id],
    }).onDelete('cascade'),
  ],
);

export const media = pgTable(
  'media',
  {
    id: id(),
    workspaceId: workspaceRef(),
    uploadedBy: uuid('uploaded_by').references(() => users.id, { onDelete: 'set null' }),
    /** Key in the configured storage (local path under DATA_DIR/media, or an S3 object key). */
    storageKey: text('storage_key').notNull(),
    mimeType: text('mime_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    width: integer('width'),
    height: integer('height'),
    durationMs: integer('duration_ms'),
    /**
     * What probing a video found beyond size and duration (codec, rotation, frame rate, audio,
     * and which prober answered), checked against each platform's rules at schedule time.
     */
    probe: jsonb('probe').$type<MediaProbe>(),
    sha256: text('sha256').notNull(),
    altText: text('alt_text'),
    createdAt: createdAt(),
  },
  (t) => [
    unique('media_ws_id').on(t.workspaceId, t.id),
    index('media_ws_sha').on(t.workspaceId, t.sha256),
    // "Does any workspace still use these bytes?" when a record is deleted.
    index('media_storage_key').on(t.storageKey),
  ],
);

export const usageLedger = pgTable(
  'usage_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** What the call was for: intent, short_draft, long_draft, planning, summary, coaching, embedding... */
    taskKind: text('task_kind').notNull(),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    local: boolean('local').notNull(),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    /** US dollars, exact decimal (returned as a string by the driver). */
    costUsd: numeric('cost_usd', { precision: 14, scale: 8 }).notNull().default('0'),
    latencyMs: integer('latency_ms'),
    routeReason: text('route_reason'),
  },
  (t) => [index('usage_ws_time').on(t.workspaceId, t.occurredAt)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: workspaceRef(),
    actorKind: actorKindEnum('actor_kind').notNull(),
    /** User id, API key id or null for the system. */
    actorId: uuid('actor_id'),
    /** rest | ws | voice | slack | telegram | mcp | worker */
    channel: text('channel'),
    action: text('action').notNull(),
    subjectType: text('subject_type'),
    subjectId: text('subject_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('audit_ws_time').on(t.workspaceId, t.createdAt)],
);

/** Weekly posting slots per account: "add to queue" takes the next free one. */
export const postingSlots = pgTable(
  'posting_slots',
  {
    id: id(),
    workspaceId: workspaceRef(),
    socialAccountId: uuid('social_account_id').notNull(),
    /** ISO weekday, 1 = Monday ... 7 = Sunday. */
    weekday: integer('weekday').notNull(),
    /** Local wall-clock time, `HH:MM`. */
    localTime: text('local_time').notNull(),
    /** IANA zone the slot is read in. */
    timeZone: text('time_zone').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('posting_slots_account_slot').on(t.socialAccountId, t.weekday, t.localTime),
    foreignKey({
      columns: [t.workspaceId, t.socialAccountId],
      foreignColumns: [socialAccounts.workspaceId, socialAccounts.id],
    }).onDelete('cascade'),
  ],
);

export interface SeriesTemplateTarget {
  socialAccountId: string;
  content: string;
  threadParts?: string[];
  media?: TargetMedia[];
  options?: Record<string, unknown>;
}

/** A recurring post: an RFC 5545 rule read in a time zone, and the post it repeats. */
export const recurringSeries = pgTable(
  'recurring_series',
  {
    id: id(),
    workspaceId: workspaceRef(),
    authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
    /** RRULE text without DTSTART, e.g. `FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`. */
    rrule: text('rrule').notNull(),
    /** First occurrence as local wall-clock time `YYYY-MM-DDTHH:MM`, read in `timeZone`. */
    startLocal: text('start_local').notNull(),
    timeZone: text('time_zone').notNull(),
    content: text('content').notNull(),
    targets: jsonb('targets').$type<SeriesTemplateTarget[]>().notNull(),
    /** Occurrences are being created; false while paused or once stopped. */
    active: boolean('active').notNull().default(true),
    /** Set when the series was stopped for good (a paused series has `active` false and no `stoppedAt`). */
    stoppedAt: timestamp('stopped_at', { withTimezone: true }),
    /** Occurrences up to here have been created as posts. */
    materializedUntil: timestamp('materialized_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique('recurring_series_ws_id').on(t.workspaceId, t.id), index('recurring_series_active').on(t.active)],
);

/** A signed-in session: one refresh-token family. Revoking it ends every token of the family. */
export const sessions = pgTable(
  'sessions',
  {
    id: id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userAgent: text('user_agent'),
    /** Set on logout, on refresh-token reuse, or when the user is removed. */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

/**
 * Refresh tokens, stored as SHA-256 hashes. Each use marks the token used and issues its
 * successor in the same session; presenting a used token again revokes the session.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: id(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** The workspace the access tokens minted from this token act in. */
    workspaceId: workspaceRef(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('refresh_tokens_session').on(t.sessionId)],
);

/** An invitation to join a workspace with a role; the token is shown once and stored hashed. */
export const invitations = pgTable(
  'invitations',
  {
    id: id(),
    workspaceId: workspaceRef(),
    email: text('email').notNull(),
    role: roleEnum('role').notNull(),
    /** True: anyone holding the token may accept (the inviter chose a bearer link); false: only `email`. */
    bearer: boolean('bearer').notNull().default(false),
    tokenHash: text('token_hash').notNull().unique(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedBy: uuid('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [unique('invitations_ws_id').on(t.workspaceId, t.id), index('invitations_ws').on(t.workspaceId)],
);

export const reviewDecisionEnum = pgEnum('review_decision', ['submitted', 'approved', 'rejected']);

/** The approval trail of a post: who submitted, approved or rejected it, and why. */
export const postReviews = pgTable(
  'post_reviews',
  {
    id: id(),
    workspaceId: workspaceRef(),
    postId: uuid('post_id').notNull(),
    actorId: uuid('actor_id').references(() => users.id, { onDelete: 'set null' }),
    decision: reviewDecisionEnum('decision').notNull(),
    comment: text('comment'),
    createdAt: createdAt(),
  },
  (t) => [
    index('post_reviews_post').on(t.workspaceId, t.postId),
    foreignKey({ columns: [t.workspaceId, t.postId], foreignColumns: [posts.workspaceId, posts.id] }).onDelete(
      'cascade',
    ),
  ],
);

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/**
 * The agent's conversation checkpoints (LangGraph): one row per checkpoint of a thread. The
 * thread id carries the workspace and the person, so one workspace never reads another's.
 */
export const agentCheckpoints = pgTable(
  'agent_checkpoints',
  {
    workspaceId: workspaceRef(),
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    checkpointId: text('checkpoint_id').notNull(),
    parentCheckpointId: text('parent_checkpoint_id'),
    type: text('type').notNull(),
    checkpoint: bytea('checkpoint').notNull(),
    metadataType: text('metadata_type').notNull(),
    metadata: bytea('metadata').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.threadId, t.checkpointNs, t.checkpointId] }),
    index('agent_checkpoints_ws').on(t.workspaceId),
  ],
);

/** Writes of a checkpoint's tasks not yet folded into the next checkpoint (LangGraph pending writes). */
export const agentCheckpointWrites = pgTable(
  'agent_checkpoint_writes',
  {
    workspaceId: workspaceRef(),
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    checkpointId: text('checkpoint_id').notNull(),
    taskId: text('task_id').notNull(),
    idx: integer('idx').notNull(),
    channel: text('channel').notNull(),
    type: text('type').notNull(),
    value: bytea('value').notNull(),
    taskPath: text('task_path').notNull().default(''),
  },
  (t) => [
    primaryKey({ columns: [t.threadId, t.checkpointNs, t.checkpointId, t.taskId, t.idx] }),
    index('agent_checkpoint_writes_ws').on(t.workspaceId),
  ],
);

/**
 * Channel values of agent checkpoints, one row per channel version (LangGraph's delta
 * storage): a checkpoint stores only the channels that changed, and reading one gathers each
 * channel at the version it names, so a long conversation is not copied into every step.
 */
export const agentCheckpointBlobs = pgTable(
  'agent_checkpoint_blobs',
  {
    workspaceId: workspaceRef(),
    threadId: text('thread_id').notNull(),
    checkpointNs: text('checkpoint_ns').notNull().default(''),
    channel: text('channel').notNull(),
    version: text('version').notNull(),
    type: text('type').notNull(),
    value: bytea('value'),
  },
  (t) => [
    primaryKey({ columns: [t.threadId, t.checkpointNs, t.channel, t.version] }),
    index('agent_checkpoint_blobs_ws').on(t.workspaceId),
  ],
);

/**
 * The agent's journal of approved side effects, keyed by thread and tool call: written
 * before the service call and completed after it, so a run replayed after a crash finds what
 * the first attempt did (or got as far as) instead of doing it again.
 */
export const agentActions = pgTable(
  'agent_actions',
  {
    workspaceId: workspaceRef(),
    threadId: text('thread_id').notNull(),
    toolCallId: text('tool_call_id').notNull(),
    tool: text('tool').notNull(),
    /** running | done */
    status: text('status').notNull().default('running'),
    /** What the call got as far as (e.g. the post it created), for a replay to continue from. */
    progress: jsonb('progress').$type<Record<string, unknown>>().notNull().default({}),
    /** The tool's outcome once done: `{ ok, output | error }`. */
    outcome: jsonb('outcome').$type<Record<string, unknown> | null>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.threadId, t.toolCallId] }), index('agent_actions_ws').on(t.workspaceId)],
);

/**
 * A knowledge source: one document the workspace's knowledge base was fed (text, Markdown, a
 * URL). The text lives here; its chunks and vectors live in the workspace's Chroma collection,
 * tagged with `generation`, so a re-ingest can replace them and search can ignore leftovers.
 */
export const knowledgeSources = pgTable(
  'knowledge_sources',
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** brand_guide | past_post | product | best_practice | note | web_page | feed_item */
    docType: text('doc_type').notNull(),
    /** text | markdown | url */
    format: text('format').notNull(),
    title: text('title').notNull(),
    url: text('url'),
    /** The text as given (text, Markdown) or as extracted from the URL once fetched. */
    content: text('content'),
    contentSha256: text('content_sha256'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** pending | ingesting | retrying | ready | failed (docs/knowledge.md) */
    status: text('status').notNull().default('pending'),
    /** The current ingestion's error; while `retrying`, the last attempt's. */
    error: jsonb('error').$type<{ code: string; message: string } | null>(),
    /** Attempts the current (or last) ingestion has made, and may make in all. */
    attempt: integer('attempt').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(0),
    /** When a `retrying` ingestion tries again. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** The last refresh failed while an older generation still serves (status stays `ready`). */
    refreshError: jsonb('refresh_error').$type<{ code: string; message: string; at: string } | null>(),
    /** A followed feed's schedule, choices and poll health; null when not followed. */
    feed: jsonb('feed').$type<{
      intervalMinutes: number;
      removedItems: 'keep' | 'drop';
      etag: string | null;
      lastModified: string | null;
      lastPolledAt: string | null;
      lastStatus: 'changed' | 'unchanged' | 'not_modified' | 'failed' | null;
      lastError: { code: string; message: string } | null;
      consecutiveFailures: number;
      lastNewItems: number;
    } | null>(),
    /** A feed source's items as last merged (new ones added, removed ones kept or dropped). */
    feedItems: jsonb('feed_items').$type<Array<{
      key: string;
      title: string;
      link: string | null;
      date: string | null;
      summary: string;
    }> | null>(),
    /** When the feed poller next polls this source; null when not followed. */
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }),
    /** Bumped on every (re-)ingest request: the generation the next ingest writes. */
    generation: integer('generation').notNull().default(1),
    /** The generation whose chunks search uses; null until one ingest succeeded. */
    readyGeneration: integer('ready_generation'),
    chunkCount: integer('chunk_count').notNull().default(0),
    embeddingModel: text('embedding_model'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    ingestedAt: timestamp('ingested_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('knowledge_sources_ws_id').on(t.workspaceId, t.id),
    index('knowledge_sources_ws_created').on(t.workspaceId, t.createdAt),
    index('knowledge_sources_next_poll')
      .on(t.nextPollAt)
      .where(sql`${t.nextPollAt} IS NOT NULL`),
  ],
);

/** How a metrics read went: counters read, or why there are none (docs/analytics.md). */
export const metricStatusEnum = pgEnum('metric_status', ['ok', 'deleted', 'unreachable', 'forbidden']);

/**
 * Engagement counters of one published target, one row per snapshot (a stage of the decaying
 * schedule: 1h, 6h, 24h, 72h, 7d, 30d), never overwritten, so a post's curve can be drawn.
 * `(target_id, stage)` is unique: a retried job stores its snapshot once.
 */
export const metricSnapshots = pgTable(
  'metric_snapshots',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: workspaceRef(),
    targetId: uuid('target_id').notNull(),
    socialAccountId: uuid('social_account_id').notNull(),
    platform: text('platform').notNull(),
    stage: text('stage').notNull(),
    status: metricStatusEnum('status').notNull(),
    likes: integer('likes'),
    reposts: integer('reposts'),
    replies: integer('replies'),
    /** Null where the platform does not report it. */
    quotes: integer('quotes'),
    impressions: integer('impressions'),
    /** Why there are no counters (status other than ok). */
    detail: text('detail'),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique('metric_snapshots_target_stage').on(t.targetId, t.stage),
    foreignKey({
      columns: [t.workspaceId, t.targetId],
      foreignColumns: [postTargets.workspaceId, postTargets.id],
    }).onDelete('cascade'),
    index('metric_snapshots_ws_target_fetched').on(t.workspaceId, t.targetId, t.fetchedAt),
    index('metric_snapshots_ws_fetched').on(t.workspaceId, t.fetchedAt),
  ],
);

/** An account's audience once a day (followers, following, posts), where the platform reports it. */
export const accountSnapshots = pgTable(
  'account_snapshots',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: workspaceRef(),
    socialAccountId: uuid('social_account_id').notNull(),
    platform: text('platform').notNull(),
    /** UTC day of the snapshot: one per account per day. */
    day: text('day').notNull(),
    status: metricStatusEnum('status').notNull(),
    followers: integer('followers'),
    following: integer('following'),
    posts: integer('posts'),
    detail: text('detail'),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique('account_snapshots_account_day').on(t.socialAccountId, t.day),
    foreignKey({
      columns: [t.workspaceId, t.socialAccountId],
      foreignColumns: [socialAccounts.workspaceId, socialAccounts.id],
    }).onDelete('cascade'),
    index('account_snapshots_ws_fetched').on(t.workspaceId, t.fetchedAt),
  ],
);

/**
 * A chat on a messaging platform (a Telegram chat, a Slack user) linked to a Herald member in
 * one workspace: messages from it run turns as that member (docs/channels.md). One link per
 * platform chat; the member's role is read from `memberships` at every turn, so removing the
 * member ends what the link can do.
 */
export const channelLinks = pgTable(
  'channel_links',
  {
    id: id(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** `telegram` | `slack`. */
    channel: text('channel').notNull(),
    /** The platform's id of the chat (Telegram chat id) or user (Slack user id). */
    externalId: text('external_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('channel_links_external').on(t.channel, t.externalId),
    index('channel_links_ws_user').on(t.workspaceId, t.userId),
  ],
);

/** One-time codes a signed-in member makes and sends to the bot to link a chat (SHA-256 stored, never the code). */
export const channelLinkCodes = pgTable(
  'channel_link_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('channel_link_codes_ws').on(t.workspaceId)],
);

const textList = (name: string) =>
  text(name)
    .array()
    .notNull()
    .default(sql`'{}'::text[]`);

/** A workspace's niche for trend research (docs/trends.md): what it cares about and where to look. */
export const trendNiches = pgTable('trend_niches', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  keywords: textList('keywords'),
  languages: textList('languages'),
  /** Base URLs of the Mastodon instances whose trends are read. */
  mastodonInstances: textList('mastodon_instances'),
  /** Subreddits (names without `r/`) whose hot and top posts are read. */
  subreddits: textList('subreddits'),
  /** ISO 3166-1 alpha-2 countries whose Google Trends daily searches are read. */
  regions: textList('regions'),
  /** Terms never alerted on. */
  mutedTerms: textList('muted_terms'),
  /** No trend alerts until then (null: not muted). */
  alertsMutedUntil: timestamp('alerts_muted_until', { withTimezone: true }),
  /** At most this many trend alerts a day (0: none). */
  alertsPerDay: integer('alerts_per_day').notNull().default(3),
  /** The same term is not alerted on again within this many hours. */
  alertCooldownHours: integer('alert_cooldown_hours').notNull().default(24),
  updatedAt: updatedAt(),
});

/**
 * One item a trend source returned (a hashtag, a status, a link, a story, a feed entry), kept
 * once per workspace, source and id. `engagement` and `prevEngagement` are its counter at the
 * last two collections, so velocity is their difference; `terms` are the words it mentions.
 */
export const trendItems = pgTable(
  'trend_items',
  {
    id: id(),
    workspaceId: workspaceRef(),
    source: text('source').notNull(),
    externalId: text('external_id').notNull(),
    title: text('title').notNull(),
    url: text('url'),
    terms: textList('terms'),
    engagement: integer('engagement').notNull().default(0),
    prevEngagement: integer('prev_engagement').notNull().default(0),
    /** 0–1 from the workspace's embedder and the niche's keywords; null when not measured. */
    relevance: real('relevance'),
    /** Why it is relevant: keywords matched, nearest keyword and its similarity, embedder used. */
    relevanceWhy: jsonb('relevance_why').$type<Record<string, unknown>>(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    unique('trend_items_ws_source_ext').on(t.workspaceId, t.source, t.externalId),
    index('trend_items_ws_seen').on(t.workspaceId, t.lastSeenAt),
    // Rising counts and the year-ago counts of seasonality read a first-seen range per workspace.
    index('trend_items_ws_first_seen').on(t.workspaceId, t.firstSeenAt),
  ],
);

/**
 * Items per term (words and hashtags) per hour of first sight, kept as items are stored
 * (tools/trends/collect.ts, in the same transaction as the items), so rising topics and
 * seasonality read counts instead of recounting the items on every query. `bucket` is the
 * UTC hour the items were first seen in; `n` the items of that hour that mention the term.
 */
export const trendTermCounts = pgTable(
  'trend_term_counts',
  {
    workspaceId: workspaceRef(),
    bucket: timestamp('bucket', { withTimezone: true }).notNull(),
    term: text('term').notNull(),
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.bucket, t.term] })],
);

/**
 * A post adapted from one that worked (docs/trends.md#adapting-what-works): the draft made,
 * where it came from (a public Bluesky, Mastodon or X post, or one of the workspace's own),
 * the structure taken from it and the short attributed quote, so how the adapted post does
 * can be set against the account's baseline.
 */
export const trendAdaptations = pgTable(
  'trend_adaptations',
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** The draft post made from it. */
    postId: uuid('post_id').notNull(),
    /** `bluesky`, `mastodon`, `x` or `own`. */
    sourceKind: text('source_kind').notNull(),
    sourceUrl: text('source_url'),
    /** Author's handle as the platform shows it (attribution). */
    sourceAuthor: text('source_author'),
    /** The workspace's own published target it came from (`own`). */
    sourceTargetId: uuid('source_target_id'),
    /** Hook, format, length, call to action. */
    structure: jsonb('structure').$type<Record<string, unknown>>().notNull(),
    /** At most the short-quote limit of the source's text; null when not quoted. */
    quote: text('quote'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({ columns: [t.workspaceId, t.postId], foreignColumns: [posts.workspaceId, posts.id] }).onDelete(
      'cascade',
    ),
    index('trend_adaptations_ws_created').on(t.workspaceId, t.createdAt),
  ],
);

/** Each source's health per workspace: when it last delivered and when and why it last failed. */
export const trendSourceHealth = pgTable(
  'trend_source_health',
  {
    workspaceId: workspaceRef(),
    source: text('source').notNull(),
    lastOkAt: timestamp('last_ok_at', { withTimezone: true }),
    lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
    lastError: text('last_error'),
    lastItems: integer('last_items').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.source] })],
);

/** UTM parameters a tracked link adds to its destination (never overwriting ones already there). */
export interface LinkUtm {
  source?: string;
  medium?: string;
  campaign?: string;
  content?: string;
  term?: string;
}

/**
 * A tracked short link (docs/links.md): `GET /l/:code` answers a 302 to `destination` with
 * `utm` added. `campaign_id` and `product_id` are plain columns (the campaigns tables own
 * their keys); `post_id` and `target_id` are checked against the workspace by the service and
 * kept without a foreign key, so deleting a post leaves its published link answering.
 */
export const trackedLinks = pgTable(
  'tracked_links',
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** Random base62, unique across workspaces (the redirect knows no workspace). */
    code: text('code').notNull(),
    destination: text('destination').notNull(),
    utm: jsonb('utm').$type<LinkUtm>().notNull().default({}),
    campaignId: uuid('campaign_id'),
    productId: uuid('product_id'),
    postId: uuid('post_id'),
    targetId: uuid('target_id'),
    variant: text('variant'),
    /** Where the link is shared (a platform name), when known. */
    platform: text('platform'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('tracked_links_code').on(t.code),
    unique('tracked_links_ws_id').on(t.workspaceId, t.id),
    index('tracked_links_ws_created').on(t.workspaceId, t.createdAt),
    index('tracked_links_ws_campaign').on(t.workspaceId, t.campaignId),
    index('tracked_links_ws_post').on(t.workspaceId, t.postId),
  ],
);

/**
 * One click on a tracked link, drained from the Redis click stream. `id` is given by the
 * redirect, so a batch drained twice (a worker killed before acknowledging) adds nothing.
 * No address or user agent is kept: `visitor_hash` is a keyed hash under a salt that rotates
 * daily and is then forgotten. Post, target and campaign are the link's at drain time.
 */
export const linkClicks = pgTable(
  'link_clicks',
  {
    id: uuid('id').primaryKey(),
    // No foreign key of its own to workspaces: (workspace_id, link_id) references the link,
    // whose workspace_id references workspaces, so the workspace is checked (and a deleted
    // workspace cascades) through the link; a second check per row was ~5 µs of each insert.
    workspaceId: uuid('workspace_id').notNull(),
    linkId: uuid('link_id').notNull(),
    clickedAt: timestamp('clicked_at', { withTimezone: true }).notNull(),
    platform: text('platform'),
    postId: uuid('post_id'),
    targetId: uuid('target_id'),
    campaignId: uuid('campaign_id'),
    isBot: boolean('is_bot').notNull().default(false),
    visitorHash: text('visitor_hash').notNull(),
    /** First human click of this visitor on this link within the unique window. */
    isUnique: boolean('is_unique').notNull().default(false),
  },
  (t) => [
    foreignKey({
      columns: [t.workspaceId, t.linkId],
      foreignColumns: [trackedLinks.workspaceId, trackedLinks.id],
    }).onDelete('cascade'),
    // Every read of clicks is per link and time (tools/links/stats.ts): no index per workspace,
    // which each click would pay for and nothing would read.
    index('link_clicks_link_time').on(t.linkId, t.clickedAt),
    // The drainer reads only counted clicks (the last one of a visitor on a link): a partial
    // index stays one entry per visitor and window however often the visitor clicks.
    index('link_clicks_visitor_unique')
      .on(t.linkId, t.visitorHash, t.clickedAt)
      .where(sql`is_unique`),
  ],
);

/** Facts a video prober read from the file (`tools/media/probe.ts`). */
export interface MediaProbe {
  /** `iso-bmff` (read in process) or `ffprobe`. */
  prober: string;
  /** Video codec as its sample entry or ffprobe names it: `avc1`, `hvc1`, `h264`, `vp9`... */
  videoCodec: string | null;
  audioCodec: string | null;
  /** Degrees clockwise the picture is turned for display: 0, 90, 180 or 270. */
  rotation: number;
  frameRate: number | null;
  /** What the prober could not read, in words, when it could not read everything. */
  missing?: string[];
}

/**
 * A platform's own handle for a target being published (upload session URI, publish id,
 * media id), saved before the irreversible step it precedes, so a worker that dies mid-upload
 * resumes or settles it instead of starting a second video. Sealed like credentials: an
 * upload session URI is a bearer capability. One row per target, replaced as steps advance.
 */
export const publishHandles = pgTable(
  'publish_handles',
  {
    workspaceId: workspaceRef(),
    targetId: uuid('target_id').notNull(),
    platform: text('platform').notNull(),
    handleCiphertext: text('handle_ciphertext').notNull(),
    handleKeyId: text('handle_key_id').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.targetId] }),
    foreignKey({
      columns: [t.workspaceId, t.targetId],
      foreignColumns: [postTargets.workspaceId, postTargets.id],
    }).onDelete('cascade'),
  ],
);

/**
 * A message Herald sent a member outside a chat turn (a coaching message, a nudge): stored
 * once, then handed to every deliverer (the WebSocket now; chat platforms as they land). A
 * `dedupe_key` makes a send idempotent (the coach's daily message: one per user and day);
 * `delivered_at` is claimed before delivery, so a second process never delivers it again.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** `coach.daily`, `coach.intervention`, `coach.milestone`, ... */
    kind: text('kind').notNull(),
    text: text('text').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    dedupeKey: text('dedupe_key'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    readAt: timestamp('read_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('notifications_dedupe').on(t.workspaceId, t.dedupeKey),
    index('notifications_ws_user_created').on(t.workspaceId, t.userId, t.createdAt),
  ],
);

/**
 * Where a member wants one kind of notification (`post.failed`, `coach.daily`, ...): the
 * deliverers named in `channels` (`websocket`, `slack`, `telegram`); an empty list keeps it in
 * the list at /v1/notifications only. No row: the kind's default (docs/channels.md).
 */
export const notificationPrefs = pgTable(
  'notification_prefs',
  {
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    channels: text('channels')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId, t.kind] })],
);

/**
 * A member's goal in a workspace (docs/coach.md): a metric, a target and a date, with the
 * baseline measured when it was set, the milestones between them (each celebrated once) and
 * the weekly plan last drawn for it.
 */
export const coachGoals = pgTable(
  'coach_goals',
  {
    id: id(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** `followers` | `posts_per_week` | `engagements_per_week` | `engagement_rate` */
    metric: text('metric').notNull(),
    /** Followers goals are per account; the others cover the workspace when null. */
    socialAccountId: uuid('social_account_id'),
    target: numeric('target', { mode: 'number' }).notNull(),
    baseline: numeric('baseline', { mode: 'number' }).notNull(),
    baselineAt: timestamp('baseline_at', { withTimezone: true }).notNull(),
    /** Local date (YYYY-MM-DD, the member's zone) the target is due. */
    dueDate: text('due_date').notNull(),
    /** `active` | `achieved` | `abandoned` */
    status: text('status').notNull().default('active'),
    milestones: jsonb('milestones')
      .$type<Array<{ value: number; due: string; reachedAt: string | null; celebratedAt: string | null }>>()
      .notNull()
      .default([]),
    plan: jsonb('plan').$type<Record<string, unknown> | null>(),
    planAt: timestamp('plan_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('coach_goals_ws_id').on(t.workspaceId, t.id),
    index('coach_goals_ws_user').on(t.workspaceId, t.userId),
    index('coach_goals_status').on(t.status),
  ],
);

/** When a member hears from the coach: the daily message's local time, days off, muted nudges. */
export const coachSettings = pgTable(
  'coach_settings',
  {
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    enabled: boolean('enabled').notNull().default(true),
    /** HH:MM in the member's zone. */
    dailyTime: text('daily_time').notNull().default('08:30'),
    /** ISO weekdays (1 Monday .. 7 Sunday) with no daily message. */
    quietDays: integer('quiet_days')
      .array()
      .notNull()
      .default(sql`'{}'::integer[]`),
    /** Intervention kinds the member muted. */
    muted: text('muted')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] })],
);

/**
 * Every message the coach sent (the history its effectiveness is measured from): its kind,
 * the facts it stated (from analytics), its actions, and whether the model wrote it or the
 * template did — with the model's text it refused when the numbers did not match.
 */
export const coachMessages = pgTable(
  'coach_messages',
  {
    id: id(),
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    notificationId: uuid('notification_id').references(() => notifications.id, { onDelete: 'set null' }),
    /** `daily` | `intervention` | `milestone` */
    kind: text('kind').notNull(),
    /** The intervention's kind (`no_posts`, `falling_engagement`, ...). */
    topic: text('topic'),
    /** Local day (YYYY-MM-DD) it was for. */
    day: text('day').notNull(),
    text: text('text').notNull(),
    facts: jsonb('facts').$type<Record<string, unknown>>().notNull().default({}),
    actions: jsonb('actions').$type<Array<Record<string, unknown>>>().notNull().default([]),
    /** `model` | `template` */
    source: text('source').notNull(),
    model: text('model'),
    rejectedText: text('rejected_text'),
    rejectedReason: text('rejected_reason'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('coach_messages_daily')
      .on(t.workspaceId, t.userId, t.kind, t.day)
      .where(sql`kind <> 'milestone'`),
    index('coach_messages_ws_user_created').on(t.workspaceId, t.userId, t.createdAt),
  ],
);

/**
 * Affiliate programs (docs/campaigns.md): a network or a direct program, its commission rule
 * (percent of the sale or a flat amount), cookie window and payout currency. The postback
 * secret networks sign with is sealed like platform tokens.
 */
export const affiliatePrograms = pgTable(
  'affiliate_programs',
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text('name').notNull(),
    /** `network` | `direct`. */
    kind: text('kind').notNull(),
    network: text('network'),
    /** `percent` | `flat`. */
    commissionType: text('commission_type').notNull(),
    commissionValue: numeric('commission_value', { precision: 14, scale: 4 }).notNull(),
    cookieDays: integer('cookie_days').notNull().default(30),
    payoutCurrency: text('payout_currency').notNull(),
    postbackSecretCiphertext: text('postback_secret_ciphertext').notNull(),
    postbackSecretKeyId: text('postback_secret_key_id').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('affiliate_programs_ws_id').on(t.workspaceId, t.id),
    unique('affiliate_programs_ws_name').on(t.workspaceId, t.name),
  ],
);

export interface ProductTestimonial {
  quote: string;
  author: string;
  source?: string;
}

/** Products a workspace promotes: by hand, from a CSV catalogue, or from a page's JSON-LD / Open Graph. */
export const products = pgTable(
  'products',
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text('name').notNull(),
    url: text('url'),
    price: numeric('price', { precision: 14, scale: 2 }),
    currency: text('currency'),
    images: textList('images'),
    category: text('category'),
    notes: text('notes'),
    /** Real testimonials the user gave; the only ones testimonial-style posts may quote. */
    testimonials: jsonb('testimonials').$type<ProductTestimonial[]>().notNull().default([]),
    /** `manual` | `csv` | `page`. */
    source: text('source').notNull().default('manual'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('products_ws_id').on(t.workspaceId, t.id),
    uniqueIndex('products_ws_url')
      .on(t.workspaceId, t.url)
      .where(sql`${t.url} is not null`),
  ],
);

/** A product's affiliate link in one program. */
export const productAffiliateLinks = pgTable(
  'product_affiliate_links',
  {
    workspaceId: workspaceRef(),
    productId: uuid('product_id').notNull(),
    programId: uuid('program_id').notNull(),
    url: text('url').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.programId] }),
    foreignKey({ columns: [t.workspaceId, t.productId], foreignColumns: [products.workspaceId, products.id] }).onDelete(
      'cascade',
    ),
    foreignKey({
      columns: [t.workspaceId, t.programId],
      foreignColumns: [affiliatePrograms.workspaceId, affiliatePrograms.id],
    }).onDelete('cascade'),
  ],
);

export interface CampaignTimelineItem {
  /** Stable within the campaign, so edits name the item they change. */
  key: string;
  at: string;
  socialAccountId: string;
  platform: string;
  productId: string;
  /** review | comparison | how_to | testimonial | promotional */
  kind: string;
  content: string;
  /** Items sharing a group are A/B variants of one post. */
  variantGroup?: string | null;
  variant?: string | null;
}

/**
 * A campaign: products, accounts, a date range and a cadence; the proposed timeline the user
 * edits and approves as a whole. `draft` -> `active` (approved) <-> `paused` -> `ended`.
 */
export const campaigns = pgTable(
  'campaigns',
  {
    id: id(),
    workspaceId: workspaceRef(),
    name: text('name').notNull(),
    status: text('status').notNull().default('draft'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    postsPerWeek: integer('posts_per_week').notNull(),
    socialAccountIds: uuid('social_account_ids')
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    timeline: jsonb('timeline').$type<CampaignTimelineItem[]>().notNull().default([]),
    /** Bumped on every timeline edit; approval names the version it approves. */
    timelineVersion: integer('timeline_version').notNull().default(1),
    /** What the campaign cost (ads, samples), for ROI. */
    cost: numeric('cost', { precision: 14, scale: 2 }).notNull().default('0'),
    costCurrency: text('cost_currency'),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    approvedBy: uuid('approved_by').references(() => users.id, { onDelete: 'set null' }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('campaigns_ws_id').on(t.workspaceId, t.id),
    index('campaigns_ws_created').on(t.workspaceId, t.createdAt),
  ],
);

export const campaignProducts = pgTable(
  'campaign_products',
  {
    workspaceId: workspaceRef(),
    campaignId: uuid('campaign_id').notNull(),
    productId: uuid('product_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.campaignId, t.productId] }),
    foreignKey({
      columns: [t.workspaceId, t.campaignId],
      foreignColumns: [campaigns.workspaceId, campaigns.id],
    }).onDelete('cascade'),
    foreignKey({ columns: [t.workspaceId, t.productId], foreignColumns: [products.workspaceId, products.id] }).onDelete(
      'cascade',
    ),
  ],
);

/** The posts an approved timeline created: one target each, with its own tracked link. */
export const campaignPosts = pgTable(
  'campaign_posts',
  {
    id: id(),
    workspaceId: workspaceRef(),
    campaignId: uuid('campaign_id').notNull(),
    itemKey: text('item_key').notNull(),
    productId: uuid('product_id').notNull(),
    postId: uuid('post_id').notNull(),
    targetId: uuid('target_id').notNull(),
    socialAccountId: uuid('social_account_id').notNull(),
    platform: text('platform').notNull(),
    /** The tracked link (tools/links) the post carries. */
    linkId: uuid('link_id').notNull(),
    linkCode: text('link_code').notNull(),
    kind: text('kind').notNull(),
    variantGroup: text('variant_group'),
    variant: text('variant'),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('campaign_posts_campaign_item').on(t.campaignId, t.itemKey),
    uniqueIndex('campaign_posts_link').on(t.linkId),
    index('campaign_posts_ws_code').on(t.workspaceId, t.linkCode),
    foreignKey({
      columns: [t.workspaceId, t.campaignId],
      foreignColumns: [campaigns.workspaceId, campaigns.id],
    }).onDelete('cascade'),
    foreignKey({ columns: [t.workspaceId, t.postId], foreignColumns: [posts.workspaceId, posts.id] }).onDelete(
      'cascade',
    ),
    foreignKey({
      columns: [t.workspaceId, t.targetId],
      foreignColumns: [postTargets.workspaceId, postTargets.id],
    }).onDelete('cascade'),
  ],
);

/**
 * A conversion a network reported (postback, CSV) or the user entered, attributed through its
 * link to post, campaign and product, with the amounts also in the workspace's reporting
 * currency at the stored rate of its date. Unique per program and transaction id: a replayed
 * postback or a re-imported report adds nothing.
 */
export const conversions = pgTable(
  'conversions',
  {
    id: id(),
    workspaceId: workspaceRef(),
    /** The program's id, or '' for conversions outside any program. */
    programKey: text('program_key').notNull().default(''),
    transactionId: text('transaction_id').notNull(),
    /** `postback` | `csv` | `manual`. */
    source: text('source').notNull(),
    /** `approved` | `pending` | `reversed`. */
    status: text('status').notNull().default('approved'),
    programId: uuid('program_id').references(() => affiliatePrograms.id, { onDelete: 'set null' }),
    campaignId: uuid('campaign_id').references(() => campaigns.id, { onDelete: 'set null' }),
    productId: uuid('product_id').references(() => products.id, { onDelete: 'set null' }),
    postId: uuid('post_id'),
    targetId: uuid('target_id'),
    linkId: uuid('link_id'),
    platform: text('platform'),
    variant: text('variant'),
    amount: numeric('amount', { precision: 14, scale: 2 }).notNull().default('0'),
    commission: numeric('commission', { precision: 14, scale: 4 }).notNull(),
    currency: text('currency').notNull(),
    baseCurrency: text('base_currency').notNull(),
    rate: numeric('rate', { precision: 18, scale: 8 }).notNull(),
    rateDate: date('rate_date').notNull(),
    amountBase: numeric('amount_base', { precision: 14, scale: 2 }).notNull(),
    commissionBase: numeric('commission_base', { precision: 14, scale: 4 }).notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('conversions_ws_program_tx').on(t.workspaceId, t.programKey, t.transactionId),
    index('conversions_ws_campaign').on(t.workspaceId, t.campaignId),
    index('conversions_ws_occurred').on(t.workspaceId, t.occurredAt),
  ],
);

/** Units of `base_currency` per one unit of `currency` on `rate_date`, as the workspace stored it. */
export const exchangeRates = pgTable(
  'exchange_rates',
  {
    workspaceId: workspaceRef(),
    currency: text('currency').notNull(),
    baseCurrency: text('base_currency').notNull(),
    rateDate: date('rate_date').notNull(),
    rate: numeric('rate', { precision: 18, scale: 8 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.currency, t.baseCurrency, t.rateDate] })],
);

/** A workspace's campaign settings: reporting currency and the disclosures affiliate posts must carry. */
export const campaignSettings = pgTable('campaign_settings', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  baseCurrency: text('base_currency').notNull().default('USD'),
  /** Any one of these counts as a disclosure; the first is the one Herald writes. */
  disclosures: text('disclosures')
    .array()
    .notNull()
    .default(sql`'{"#ad"}'::text[]`),
  updatedAt: updatedAt(),
});

/** A trend alert sent to a workspace's members: the cool-down per term and the daily cap read it. */
export const trendAlerts = pgTable(
  'trend_alerts',
  {
    id: id(),
    workspaceId: workspaceRef(),
    term: text('term').notNull(),
    score: real('score').notNull(),
    mentions: integer('mentions').notNull(),
    recipients: integer('recipients').notNull().default(0),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('trend_alerts_ws_sent').on(t.workspaceId, t.sentAt),
    index('trend_alerts_ws_term').on(t.workspaceId, t.term),
  ],
);

/**
 * OAuth clients that registered themselves (RFC 7591 dynamic client registration), for MCP
 * clients that sign in instead of using a pasted API key (docs/mcp.md#oauth). Public clients
 * only: no secret, PKCE on every authorization.
 */
export const oauthClients = pgTable('oauth_clients', {
  id: id(),
  /** The `client_id` handed out (`hc_...`), random and unguessable. */
  clientId: text('client_id').notNull().unique(),
  clientName: text('client_name'),
  /** Exact redirect URIs; an authorization request must name one of them. */
  redirectUris: text('redirect_uris').array().notNull(),
  createdAt: createdAt(),
});

/**
 * A user's consent for one OAuth client to act in one workspace with some API-key scopes,
 * for one resource (the MCP endpoint, RFC 8707). Its tokens die with it: revoked here, by the
 * user's sign-in session ending, or by the user leaving the workspace.
 */
export const oauthGrants = pgTable(
  'oauth_grants',
  {
    id: id(),
    workspaceId: workspaceRef(),
    clientId: uuid('client_id')
      .notNull()
      .references(() => oauthClients.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The Herald session the user signed in with on the consent page. */
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().notNull(),
    /** The audience its access tokens are good for (the canonical MCP URL). */
    resource: text('resource').notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
    createdAt: createdAt(),
  },
  (t) => [index('oauth_grants_workspace').on(t.workspaceId), index('oauth_grants_user').on(t.userId)],
);

/** Access and refresh tokens of a grant, stored as SHA-256 hashes; a refresh token is used once. */
export const oauthTokens = pgTable(
  'oauth_tokens',
  {
    id: id(),
    grantId: uuid('grant_id')
      .notNull()
      .references(() => oauthGrants.id, { onDelete: 'cascade' }),
    workspaceId: workspaceRef(),
    /** `access` or `refresh`. */
    kind: text('kind').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index('oauth_tokens_grant').on(t.grantId)],
);

/**
 * Bluesky OAuth authorizations under way: `@atproto/oauth-client`'s state (PKCE verifier,
 * DPoP key, the authorization server asked), sealed with the SecretCipher under the state key's
 * SHA-256, kept until the callback spends it or `expires_at` passes.
 */
export const blueskyOauthStates = pgTable(
  'bluesky_oauth_states',
  {
    keyHash: text('key_hash').primaryKey(),
    workspaceId: workspaceRef(),
    stateCiphertext: text('state_ciphertext').notNull(),
    stateKeyId: text('state_key_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('bluesky_oauth_states_expires').on(t.expiresAt)],
);

/**
 * Bluesky OAuth sessions (token set and the DPoP private key they are bound to), sealed with
 * the SecretCipher bound to workspace and id. A Bluesky account connected with OAuth names its
 * session by id in its own sealed credentials; only `@atproto/oauth-client` writes a session
 * (at the callback and on each refresh, under a lock), so rotating refresh tokens are never
 * overwritten by a stale copy.
 */
export const blueskyOauthSessions = pgTable(
  'bluesky_oauth_sessions',
  {
    id: id(),
    workspaceId: workspaceRef(),
    did: text('did').notNull(),
    sessionCiphertext: text('session_ciphertext').notNull(),
    sessionKeyId: text('session_key_id').notNull(),
    /** When the access token expires (the library refreshes it before). */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('bluesky_oauth_sessions_workspace').on(t.workspaceId)],
);

/** A member's choices about analytics reports in a workspace: the weekly report delivered to them or not. */
export const analyticsReportSettings = pgTable(
  'analytics_report_settings',
  {
    workspaceId: workspaceRef(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The weekly report is sent to the member (Monday 09:00 in their zone). */
    weeklyReport: boolean('weekly_report').notNull().default(true),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] })],
);
