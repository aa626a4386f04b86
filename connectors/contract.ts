/**
 * The connector contract: what every platform connector offers the scheduling service and
 * the publishing worker. Capabilities are data (limits, media rules, threads, idempotency),
 * so validation at schedule time and the worker's retry decisions never hard-code a platform.
 * Connectors are stateless: credentials and account facts come in with every call.
 */
import type { Readable } from 'node:stream';

/** How a platform counts text length. */
export type TextRule = 'graphemes' | 'chars' | 'weighted' | 'bytes';

export interface MediaRules {
  maxCount: number;
  /** Largest accepted file, in bytes, per media type family or overall. */
  maxBytes: number;
  mimeTypes: readonly string[];
  /** Longest alt text in graphemes, or null when the platform takes none. */
  altTextMax: number | null;
  /**
   * Videos are read from storage in chunks through `MediaInput.open` (never loaded whole);
   * their `bytes` must not be read. Default false.
   */
  streamsVideo?: boolean;
}

/**
 * How a repeated publish with the same idempotency key behaves on the platform:
 * - `permanent`: never creates a second post (e.g. Bluesky: the key becomes the record key);
 * - `window`: deduplicated for `ms` after the first call (Mastodon's Idempotency-Key: 1 hour);
 * - `none`: every call may create a post.
 */
export type IdempotencySupport = { kind: 'permanent' } | { kind: 'window'; ms: number } | { kind: 'none' };

export interface Capabilities {
  platform: string;
  text: { rule: TextRule; max: number };
  media: MediaRules;
  threads: { supported: boolean; maxParts: number };
  /** Publishing may answer `processing`; `checkStatus` settles it later. */
  asyncPublishing: boolean;
  idempotency: IdempotencySupport;
  /** `lookup` returning null proves the post is not on the platform (so a retry is safe). */
  lookupIsAuthoritative: boolean;
  /** Posts one account may publish per rolling 24 h, when the platform caps it. */
  postsPerAccountPerDay: number | null;
  /** Calls to the platform in flight at once for one account. */
  concurrencyPerAccount: number;
  /** `delete` removes the post from the platform. Default true; false where the API cannot (TikTok). */
  deletes?: boolean;
  /**
   * How a post the platform is still processing (`asyncPublishing`) is polled: every
   * `pollMs`, for at most `giveUpAfterMs` (then `unconfirmed`). Default 5 s for 30 minutes;
   * TikTok's moderation may take hours.
   */
  processing?: { pollMs: number; giveUpAfterMs: number };
}

export type Credentials = Record<string, unknown>;

/** The account a call acts as. `metadata` holds non-secret facts (instance URL, limits, tier). */
export interface AccountContext {
  accountId: string;
  externalId: string;
  handle: string;
  credentials: Credentials;
  metadata: Record<string, unknown>;
}

/** What probing a video found (`tools/media`); null fields were not read. */
export interface VideoFacts {
  durationMs: number | null;
  width: number | null;
  height: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  /** Degrees clockwise the picture is turned for display (0, 90, 180, 270). */
  rotation: number;
  frameRate: number | null;
}

export interface MediaDescriptor {
  mimeType: string;
  sizeBytes: number;
  altText?: string;
  /** For videos, what probing found, checked against the platform's rules at schedule time. */
  video?: VideoFacts;
}

export interface MediaInput extends MediaDescriptor {
  /** The whole file in memory; not loaded (reading it throws) for videos a connector streams (`media.streamsVideo`). */
  bytes: Buffer;
  /** Reads the stored file, whole or one inclusive byte range, without loading it (present when publishing from storage). */
  open?: (range?: { start: number; end: number }) => Promise<Readable>;
}

/**
 * Where a connector keeps the platform's own handle for one target (upload session URI,
 * publish id, media id) across attempts and crashes. `save` is durable before it resolves:
 * call it before the step that cannot be taken twice, then that step.
 */
export interface PublishJournal {
  /** What an earlier attempt saved, or null. */
  load(): Promise<Record<string, unknown> | null>;
  save(handle: Record<string, unknown>): Promise<void>;
}

export interface DraftPart<M extends MediaDescriptor = MediaDescriptor> {
  text: string;
  media: M[];
}

/** What is validated at schedule time (media known by type and size only). */
export interface Draft<M extends MediaDescriptor = MediaDescriptor> {
  /** Part 0 is the post; further parts are replies, in order, forming a thread. */
  parts: Array<DraftPart<M>>;
  /** Platform options: visibility, contentWarning, language... (each connector documents its own). */
  options: Record<string, unknown>;
}

/** What is published (media bytes loaded). */
export type PublishInput = Draft<MediaInput>;

export type ValidationCode =
  | 'empty'
  | 'text_too_long'
  | 'too_many_media'
  | 'media_too_large'
  | 'media_type'
  | 'alt_text_too_long'
  | 'thread_unsupported'
  | 'too_many_parts'
  | 'option_invalid'
  /** The platform takes no post without media (a video, or an image), and there is none. */
  | 'media_required'
  /** A video breaks the platform's rules: duration, resolution, aspect, codec, frame rate. */
  | 'video_rules';

export interface ValidationIssue {
  code: ValidationCode;
  /** Index of the thread part concerned. */
  part: number;
  /** Readable, says the limit: "Bluesky allows 300 characters (graphemes); this part has 312." */
  message: string;
  limit?: number;
  actual?: number;
}

export interface PublishedPart {
  index: number;
  platformPostId: string;
  url: string | null;
}

export interface PublishResult {
  status: 'published' | 'processing';
  /** Id of part 0 (the post itself). */
  platformPostId: string;
  url: string | null;
  parts: PublishedPart[];
}

export interface PostMetrics {
  likes: number;
  reposts: number;
  replies: number;
  quotes?: number;
  impressions?: number;
  fetchedAt: Date;
}

/** An account's audience as the platform reports it; null where it does not. */
export interface AccountStats {
  followers: number | null;
  following: number | null;
  posts: number | null;
  fetchedAt: Date;
}

export interface Connector {
  readonly platform: string;
  capabilities(account: Pick<AccountContext, 'metadata'>): Capabilities;
  /** Every problem with the draft, empty when it can be published. Pure: no network. */
  validate(account: Pick<AccountContext, 'metadata'>, draft: Draft): ValidationIssue[];
  /**
   * Publishes every part in order. The same `idempotencyKey` must be passed on every retry of
   * the same target; connectors derive per-part keys from it. Throws `ConnectorError`s; a
   * failure in part n > 0 carries `part: n` and the parts already published.
   */
  publish(
    account: AccountContext,
    input: PublishInput,
    idempotencyKey: string,
    journal?: PublishJournal,
  ): Promise<PublishResult>;
  /**
   * Finds a post made by an earlier `publish` with this key (at or after `since`), or null.
   * A thread found only in part has fewer `parts` than the draft: the caller treats it as not
   * (fully) published and, where the platform deduplicates the key, publishes again.
   */
  lookup(
    account: AccountContext,
    input: Draft,
    idempotencyKey: string,
    since: Date,
    journal?: PublishJournal,
  ): Promise<PublishResult | null>;
  /**
   * For asynchronous publishing: has the post settled? A connector that knows why the
   * platform failed it throws `InvalidContent` with the platform's reason instead of `failed`.
   */
  checkStatus(account: AccountContext, platformPostId: string): Promise<'published' | 'processing' | 'failed'>;
  delete(account: AccountContext, platformPostId: string): Promise<void>;
  /**
   * New credentials from the refresh token or session (`expiresAt`: when the new access token
   * expires); throws `AuthExpired` with `reconnect: true` when the account must reconnect.
   * Refresh tokens may rotate: the caller stores the result at once.
   */
  refresh(account: AccountContext): Promise<{ credentials: Credentials; expiresAt: Date | null }>;
  fetchMetrics(account: AccountContext, platformPostId: string): Promise<PostMetrics>;
  /** Followers, following and posts of the account, where the platform reports them. */
  fetchAccountStats?(account: AccountContext): Promise<AccountStats>;
}
