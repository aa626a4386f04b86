/**
 * Per-kind routing of a member's notifications: which deliverers (`websocket`, `slack`,
 * `telegram`) get each kind. A kind with no preference goes to every deliverer, except the
 * quiet kinds (`post.published`), which go to the open WebSocket sessions only unless the
 * member asks for more. An empty list keeps a kind in the list at /v1/notifications only.
 * A member sets only their own, in the workspace they act in.
 */
import { and, eq, sql } from 'drizzle-orm';
import { HeraldError, requireRole, schema, type Db, type Role } from '../../core/index.js';

/** The deliverers a preference may name. */
export const NOTIFICATION_CHANNELS = ['websocket', 'slack', 'telegram'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** The kinds Herald sends, with what each is; any other well-formed kind may be set too. */
export const NOTIFICATION_KINDS: Record<string, string> = {
  'post.failed': 'a post of yours failed to publish on a platform',
  'post.unconfirmed': 'a post of yours may or may not have been published (the platform did not answer); check it',
  'post.published': 'a post of yours was published (quiet by default: the console only)',
  'coach.daily': "the coach's morning message",
  'coach.intervention': "the coach's nudges",
  'coach.milestone': 'a goal milestone reached',
  'trends.alert': 'a topic rising in your niche',
  'analytics.weekly_report': 'the weekly report',
};

/** Kinds that go to the WebSocket only unless the member chose more. */
export const QUIET_KINDS: ReadonlySet<string> = new Set(['post.published']);

const KIND = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

export interface PrefsContext {
  workspaceId: string;
  userId: string | null;
  role: Role;
}

function memberOf(ctx: PrefsContext): string {
  requireRole(ctx, 'viewer');
  if (!ctx.userId)
    throw new HeraldError('forbidden', {
      message: 'Notification preferences belong to a member; this caller has none',
    });
  return ctx.userId;
}

export interface KindPreference {
  kind: string;
  description: string | null;
  channels: NotificationChannel[];
  /** False: no preference stored, `channels` is the default. */
  custom: boolean;
}

const defaultChannels = (kind: string): NotificationChannel[] =>
  QUIET_KINDS.has(kind) ? ['websocket'] : [...NOTIFICATION_CHANNELS];

/** The caller's routing for every known kind and every kind they set. */
export async function listNotificationPrefs(deps: { db: Db }, ctx: PrefsContext): Promise<{ items: KindPreference[] }> {
  const userId = memberOf(ctx);
  const t = schema.notificationPrefs;
  const rows = await deps.db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId)));
  const set = new Map(rows.map((r) => [r.kind, r.channels as NotificationChannel[]]));
  const kinds = [...new Set([...Object.keys(NOTIFICATION_KINDS), ...set.keys()])].sort();
  return {
    items: kinds.map((kind) => ({
      kind,
      description: NOTIFICATION_KINDS[kind] ?? null,
      channels: set.get(kind) ?? defaultChannels(kind),
      custom: set.has(kind),
    })),
  };
}

/** Sets where the caller gets one kind (`channels: null` forgets the preference: the default again). */
export async function setNotificationPref(
  deps: { db: Db },
  ctx: PrefsContext,
  input: { kind: string; channels: readonly string[] | null },
): Promise<KindPreference> {
  const userId = memberOf(ctx);
  if (!KIND.test(input.kind) || input.kind.length > 64)
    throw new HeraldError('validation_failed', {
      message: `${input.kind.slice(0, 80)} is not a notification kind (like post.failed)`,
      details: { issues: [{ path: ['kind'], message: 'expected a kind like post.failed' }] },
    });
  const t = schema.notificationPrefs;
  if (input.channels === null) {
    await deps.db
      .delete(t)
      .where(and(eq(t.workspaceId, ctx.workspaceId), eq(t.userId, userId), eq(t.kind, input.kind)));
    return {
      kind: input.kind,
      description: NOTIFICATION_KINDS[input.kind] ?? null,
      channels: defaultChannels(input.kind),
      custom: false,
    };
  }
  const unknown = input.channels.filter((c) => !(NOTIFICATION_CHANNELS as readonly string[]).includes(c));
  if (unknown.length > 0)
    throw new HeraldError('validation_failed', {
      message: `Unknown channel ${unknown.join(', ')}: choose from ${NOTIFICATION_CHANNELS.join(', ')}`,
      details: { issues: [{ path: ['channels'], message: `one of ${NOTIFICATION_CHANNELS.join(', ')}` }] },
    });
  const channels = NOTIFICATION_CHANNELS.filter((c) => input.channels!.includes(c));
  await deps.db
    .insert(t)
    .values({ workspaceId: ctx.workspaceId, userId, kind: input.kind, channels })
    .onConflictDoUpdate({ target: [t.workspaceId, t.userId, t.kind], set: { channels, updatedAt: sql`now()` } });
  return { kind: input.kind, description: NOTIFICATION_KINDS[input.kind] ?? null, channels, custom: true };
}

/** The deliverers one notification goes to (the Notifier asks before delivering). */
export async function channelsFor(
  db: Db,
  n: { workspaceId: string; userId: string; kind: string },
): Promise<ReadonlySet<string>> {
  const t = schema.notificationPrefs;
  const [row] = await db
    .select({ channels: t.channels })
    .from(t)
    .where(and(eq(t.workspaceId, n.workspaceId), eq(t.userId, n.userId), eq(t.kind, n.kind)));
  return new Set(row ? row.channels : defaultChannels(n.kind));
}
