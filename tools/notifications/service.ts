/**
 * Messages Herald sends a member outside a chat turn (a morning coaching message, a nudge):
 * each is stored once in `notifications` — a dedupe key makes the send idempotent across
 * processes — then delivered by every deliverer registered: the WebSocket one (a Redis
 * pub/sub event that each API node's sessions of that member turn into a `notification`
 * frame) is built in; chat platforms add theirs with `addDeliverer`. Delivery is claimed in
 * the row (`delivered_at`) before it starts, so two processes racing over the same message
 * never both deliver it: at most once, and listed at /v1/notifications either way.
 */
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type EventBus, type Logger, type Role } from '../../core/index.js';
import { channelsFor, NOTIFICATION_CHANNELS } from './prefs.js';

export interface Notification {
  id: string;
  workspaceId: string;
  userId: string;
  kind: string;
  text: string;
  data: Record<string, unknown>;
  createdAt: string;
  deliveredAt: string | null;
  readAt: string | null;
}

/** One way of reaching a member (WebSocket, Slack, Telegram, email). A failure is logged, never thrown to the sender. */
export interface Deliverer {
  readonly name: string;
  deliver(n: Notification): Promise<void>;
}

export interface SendInput {
  workspaceId: string;
  userId: string;
  kind: string;
  text: string;
  data?: Record<string, unknown>;
  /** Same key in the same workspace: stored and delivered once (the second send returns the first). */
  dedupeKey?: string;
}

export interface SendResult {
  notification: Notification;
  /** A notification with this dedupe key existed already. */
  duplicate: boolean;
  /** Deliverers that took it (empty when another process had claimed delivery). */
  deliveredBy: string[];
}

export interface NotifierDeps {
  db: Db;
  /** The event bus the WebSocket deliverer publishes on; null: no live delivery (scripts). */
  events: EventBus | null;
  logger?: Logger | undefined;
  now?: () => Date;
}

const viewOf = (r: typeof schema.notifications.$inferSelect): Notification => ({
  id: r.id,
  workspaceId: r.workspaceId,
  userId: r.userId,
  kind: r.kind,
  text: r.text,
  data: r.data,
  createdAt: r.createdAt.toISOString(),
  deliveredAt: r.deliveredAt?.toISOString() ?? null,
  readAt: r.readAt?.toISOString() ?? null,
});

/** Publishes the notification on the workspace's event channel; the member's sessions on every node show it. */
export class WebSocketDeliverer implements Deliverer {
  readonly name = 'websocket';
  constructor(private readonly events: EventBus) {}
  async deliver(n: Notification): Promise<void> {
    await this.events.publish({
      type: 'notification',
      workspaceId: n.workspaceId,
      userId: n.userId,
      notificationId: n.id,
      kind: n.kind,
      text: n.text,
      data: n.data,
      at: n.createdAt,
    });
  }
}

export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #deliverers: Deliverer[] = [];

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    if (deps.events) this.#deliverers.push(new WebSocketDeliverer(deps.events));
  }

  /** Adds a way of reaching members; returns its removal. */
  addDeliverer(d: Deliverer): () => void {
    this.#deliverers.push(d);
    return () => {
      const i = this.#deliverers.indexOf(d);
      if (i >= 0) this.#deliverers.splice(i, 1);
    };
  }

  get deliverers(): readonly string[] {
    return this.#deliverers.map((d) => d.name);
  }

  /** Stores the message (once per dedupe key) and delivers it unless already delivered. */
  async send(input: SendInput): Promise<SendResult> {
    const db = this.#deps.db;
    const t = schema.notifications;
    const [inserted] = await db
      .insert(t)
      .values({
        workspaceId: input.workspaceId,
        userId: input.userId,
        kind: input.kind,
        text: input.text,
        data: input.data ?? {},
        dedupeKey: input.dedupeKey ?? null,
      })
      .onConflictDoNothing()
      .returning();
    let row = inserted;
    if (!row) {
      [row] = await db
        .select()
        .from(t)
        .where(and(eq(t.workspaceId, input.workspaceId), eq(t.dedupeKey, input.dedupeKey ?? '')));
      if (!row) throw new HeraldError('internal', { message: 'A notification vanished between insert and read' });
    }
    const deliveredBy = await this.deliver(row.id);
    return { notification: viewOf(row), duplicate: !inserted, deliveredBy };
  }

  /** Claims delivery of a stored notification and hands it to every deliverer; [] when claimed before. */
  async deliver(id: string): Promise<string[]> {
    const t = schema.notifications;
    const now = this.#deps.now?.() ?? new Date();
    const [claimed] = await this.#deps.db
      .update(t)
      .set({ deliveredAt: now })
      .where(and(eq(t.id, id), isNull(t.deliveredAt)))
      .returning();
    if (!claimed) return [];
    const n = viewOf(claimed);
    const by: string[] = [];
    // The member's routing for this kind (prefs.ts); a deliverer of another name always gets it.
    const wanted = await channelsFor(this.#deps.db, n);
    const routed = (name: string) => !(NOTIFICATION_CHANNELS as readonly string[]).includes(name) || wanted.has(name);
    await Promise.all(
      this.#deliverers
        .filter((d) => routed(d.name))
        .map(async (d) => {
          try {
            await d.deliver(n);
            by.push(d.name);
          } catch (err) {
            this.#deps.logger?.warn(
              { err: { message: (err as Error).message }, deliverer: d.name, notificationId: id },
              'notification not delivered',
            );
          }
        }),
    );
    return by;
  }
}

export interface NotificationsContext {
  workspaceId: string;
  userId: string | null;
  role: Role;
}

function ownerOf(ctx: NotificationsContext): string {
  requireRole(ctx, 'viewer');
  if (!ctx.userId)
    throw new HeraldError('forbidden', { message: 'Notifications belong to a member; this caller has none' });
  return ctx.userId;
}

/** The caller's own notifications, newest first. */
export async function listNotifications(
  deps: { db: Db },
  ctx: NotificationsContext,
  opts: { limit?: number | undefined; before?: Date | undefined; unread?: boolean | undefined } = {},
): Promise<{ items: Notification[] }> {
  const userId = ownerOf(ctx);
  const t = schema.notifications;
  const rows = await deps.db
    .select()
    .from(t)
    .where(
      and(
        eq(t.workspaceId, ctx.workspaceId),
        eq(t.userId, userId),
        opts.before ? lt(t.createdAt, opts.before) : sql`true`,
        opts.unread ? isNull(t.readAt) : sql`true`,
      ),
    )
    .orderBy(desc(t.createdAt))
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 200));
  return { items: rows.map(viewOf) };
}

/** Marks one of the caller's notifications read. */
export async function markRead(deps: { db: Db; now?: () => Date }, ctx: NotificationsContext, id: string) {
  const userId = ownerOf(ctx);
  const t = schema.notifications;
  const [row] = await deps.db
    .update(t)
    .set({ readAt: sql`coalesce(${t.readAt}, ${(deps.now?.() ?? new Date()).toISOString()}::timestamptz)` })
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId), eq(t.id, id)))
    .returning();
  if (!row) throw new HeraldError('not_found', { message: `No notification ${id} of yours in this workspace` });
  return viewOf(row);
}
