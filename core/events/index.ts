/**
 * Herald's event bus: every status change other parts care about (the WebSocket session,
 * notifications, analytics) is published on Redis, so subscribers in any process — API
 * nodes, workers — see it. Channel per workspace: `herald:events:<workspaceId>`.
 */
import type { Redis } from 'ioredis';

export type TargetStatusName =
  'draft' | 'pending_approval' | 'scheduled' | 'publishing' | 'published' | 'failed' | 'unconfirmed' | 'cancelled';

export interface TargetStatusEvent {
  type: 'target.status';
  workspaceId: string;
  postId: string;
  targetId: string;
  socialAccountId: string;
  platform: string;
  from: TargetStatusName | null;
  to: TargetStatusName;
  /** ISO instant of the change. */
  at: string;
  scheduledAt?: string | null;
  platformPostId?: string | null;
  url?: string | null;
  error?: { kind: string; message: string; part?: number } | null;
}

export interface AccountStatusEvent {
  type: 'account.status';
  workspaceId: string;
  socialAccountId: string;
  platform: string;
  status: 'active' | 'needs_reconnect' | 'disconnected';
  reason: string;
  at: string;
}

/** Progress of an Ollama model pull started by someone in the workspace (see docs/models.md). */
export interface ModelPullEvent {
  type: 'model.pull';
  workspaceId: string;
  /** Ollama model name, e.g. `qwen2.5:7b`. */
  model: string;
  /** Ollama's status line (`pulling manifest`, `pulling <digest>`, `success`), or `failed`. */
  status: string;
  completedBytes: number | null;
  totalBytes: number | null;
  /** 0-100 over the download, null before sizes are known. */
  percent: number | null;
  error: string | null;
  at: string;
}

/** Progress of a knowledge source's ingestion (see docs/knowledge.md). */
export interface KnowledgeIngestEvent {
  type: 'knowledge.ingest';
  workspaceId: string;
  sourceId: string;
  generation: number;
  /**
   * `ingesting` (with chunk counts as embedding proceeds), then `ready` or `failed`; `retrying`
   * when an attempt failed and another is queued (not final). A refresh that fails while an
   * older generation still serves ends `failed` here, and its source reads `ready` with
   * `refreshError` (docs/knowledge.md).
   */
  status: 'ingesting' | 'retrying' | 'ready' | 'failed';
  chunksDone: number;
  chunksTotal: number | null;
  error: { code: string; message: string } | null;
  /** The attempt this event is about (1-based) and how many the job makes in all. */
  attempt?: number;
  maxAttempts?: number;
  at: string;
}

/**
 * One poll of a followed feed (knowledge/feed-poller.ts): its outcome and the items it found
 * new. The one feed poller publishes these; a reader of the same feeds (trends) subscribes
 * instead of polling them again.
 */
export interface KnowledgeFeedEvent {
  type: 'knowledge.feed';
  workspaceId: string;
  sourceId: string;
  url: string;
  /** `changed` (new or removed items, re-ingested), `unchanged`, `not_modified` (HTTP 304) or `failed`. */
  status: 'changed' | 'unchanged' | 'not_modified' | 'failed';
  newItems: Array<{ title: string; link: string | null; date: string | null; summary: string }>;
  error: { code: string; message: string } | null;
  at: string;
}

/**
 * A message Herald sent one member outside a chat turn (tools/notifications): the member's
 * open WebSocket sessions, on any API node, show it as a `notification` frame.
 */
export interface NotificationEvent {
  type: 'notification';
  workspaceId: string;
  userId: string;
  notificationId: string;
  /** `coach.daily`, `coach.intervention`, `coach.milestone`, ... */
  kind: string;
  text: string;
  data: Record<string, unknown>;
  at: string;
}

export type HeraldEvent =
  | TargetStatusEvent
  | AccountStatusEvent
  | ModelPullEvent
  | KnowledgeIngestEvent
  | KnowledgeFeedEvent
  | NotificationEvent;

const PREFIX = 'herald:events:';

export class EventBus {
  readonly #publisher: Redis;
  readonly #makeSubscriber: () => Redis;
  #subscriber: Redis | undefined;
  readonly #handlers = new Map<string, Set<(e: HeraldEvent) => void>>();
  /** The PSUBSCRIBE each pattern's first subscriber sent: later subscribers wait for it too. */
  readonly #subscribed = new Map<string, Promise<unknown>>();

  /**
   * @param publisher a normal command connection
   * @param makeSubscriber creates the dedicated connection a Redis subscriber needs (lazily)
   */
  constructor(publisher: Redis, makeSubscriber: () => Redis) {
    this.#publisher = publisher;
    this.#makeSubscriber = makeSubscriber;
  }

  async publish(event: HeraldEvent): Promise<void> {
    await this.#publisher.publish(PREFIX + event.workspaceId, JSON.stringify(event));
  }

  /** Calls `handler` for every event of the workspace (`'*'` for all). Resolves once subscribed. */
  async subscribe(workspaceId: string | '*', handler: (e: HeraldEvent) => void): Promise<() => Promise<void>> {
    const sub = this.#ensureSubscriber();
    const pattern = PREFIX + workspaceId;
    let set = this.#handlers.get(pattern);
    if (!set) {
      set = new Set();
      this.#handlers.set(pattern, set);
      this.#subscribed.set(pattern, sub.psubscribe(pattern));
    }
    set.add(handler);
    try {
      await this.#subscribed.get(pattern);
    } catch (err) {
      set.delete(handler);
      if (set.size === 0 && this.#handlers.get(pattern) === set) {
        this.#handlers.delete(pattern);
        this.#subscribed.delete(pattern);
      }
      throw err;
    }
    const own = set;
    return async () => {
      own.delete(handler);
      if (own.size === 0 && this.#handlers.get(pattern) === own) {
        this.#handlers.delete(pattern);
        this.#subscribed.delete(pattern);
        await sub.punsubscribe(pattern);
      }
    };
  }

  #ensureSubscriber(): Redis {
    if (!this.#subscriber) {
      this.#subscriber = this.#makeSubscriber();
      this.#subscriber.on('pmessage', (pattern: string, _channel: string, message: string) => {
        let event: HeraldEvent;
        try {
          event = JSON.parse(message) as HeraldEvent;
        } catch {
          return;
        }
        for (const handler of this.#handlers.get(pattern) ?? []) handler(event);
      });
    }
    return this.#subscriber;
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    this.#subscribed.clear();
    if (this.#subscriber) await this.#subscriber.quit().catch(() => this.#subscriber?.disconnect());
  }
}
