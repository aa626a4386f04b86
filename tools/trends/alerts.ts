/**
 * Trend alerts: after a collection, a topic rising fast in the niche (at least doubling
 * against the window before, relevant, scoring {@link ALERT_MIN_SCORE} or more) becomes a
 * short notification to every member of the workspace, through tools/notifications (stored
 * once, live on their sockets, and on any channel that delivers notifications). Not more than
 * `alertsPerDay` a day per workspace, never the same term again within `alertCooldownHours`,
 * never a muted term, nothing while the workspace has muted alerts. Each alert sent is kept
 * in `trend_alerts`. The text carries figures and the term only, never an item's words, and
 * says when the rise is seasonal (it came around this date last year too).
 */
import { and, desc, eq, gte, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import type { SendInput } from '../notifications/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { RELEVANCE_THRESHOLD } from './relevance.js';
import { risingTopics, type RisingTopic } from './rising.js';

/** A topic must score this much (see docs/trends.md#rising-topics-and-scoring) to alert. */
export const ALERT_MIN_SCORE = 3;
/** …and have grown this many times against the window before (previous 0 counts as 1). */
export const ALERT_MIN_GROWTH = 2;
/** Notification kind of trend alerts. */
export const TREND_ALERT_KIND = 'trend_alert';

export interface AlertSettings {
  mutedUntil: string | null;
  mutedTerms: string[];
  perDay: number;
  cooldownHours: number;
}

export interface SentAlert {
  term: string;
  score: number;
  mentions: number;
  recipients: number;
  sentAt: string;
}

export const AlertSettingsInput = z.strictObject({
  /** Mutes alerts for this many hours from now (0 unmutes). */
  muteForHours: z
    .number()
    .int()
    .min(0)
    .max(24 * 90)
    .optional(),
  mutedTerms: z.array(z.string().trim().min(1).max(60)).max(100).optional(),
  perDay: z.number().int().min(0).max(20).optional(),
  cooldownHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .optional(),
});
export type AlertSettingsInput = z.input<typeof AlertSettingsInput>;

const settingsOf = (r: typeof schema.trendNiches.$inferSelect | undefined): AlertSettings => ({
  mutedUntil: r?.alertsMutedUntil?.toISOString() ?? null,
  mutedTerms: r?.mutedTerms ?? [],
  perDay: r?.alertsPerDay ?? 3,
  cooldownHours: r?.alertCooldownHours ?? 24,
});

const norm = (t: string) => t.trim().toLowerCase().replace(/^#/, '');

/** Settings and the alerts sent in the last 7 days, newest first (viewer). */
export async function getAlerts(
  deps: { db: Db; now?: (() => Date) | undefined },
  ctx: ServiceContext,
): Promise<{ settings: AlertSettings; recent: SentAlert[] }> {
  requireRole(ctx, 'viewer');
  const now = deps.now?.() ?? new Date();
  const [niche] = await deps.db
    .select()
    .from(schema.trendNiches)
    .where(eq(schema.trendNiches.workspaceId, ctx.workspaceId));
  const a = schema.trendAlerts;
  const rows = await deps.db
    .select()
    .from(a)
    .where(and(eq(a.workspaceId, ctx.workspaceId), gte(a.sentAt, new Date(now.getTime() - 7 * 86_400_000))))
    .orderBy(desc(a.sentAt))
    .limit(100);
  return {
    settings: settingsOf(niche),
    recent: rows.map((r) => ({
      term: r.term,
      score: Math.round(r.score * 100) / 100,
      mentions: r.mentions,
      recipients: r.recipients,
      sentAt: r.sentAt.toISOString(),
    })),
  };
}

/** Mutes, unmutes, sets the daily cap and the per-term cool-down (editor). */
export async function setAlertSettings(
  deps: { db: Db; now?: (() => Date) | undefined },
  ctx: ServiceContext,
  input: AlertSettingsInput,
): Promise<AlertSettings> {
  requireRole(ctx, 'editor');
  const parsed = AlertSettingsInput.safeParse(input);
  if (!parsed.success)
    throw new HeraldError('validation_failed', {
      message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  const v = parsed.data;
  const now = deps.now?.() ?? new Date();
  const set: Partial<typeof schema.trendNiches.$inferInsert> = {};
  if (v.muteForHours !== undefined)
    set.alertsMutedUntil = v.muteForHours === 0 ? null : new Date(now.getTime() + v.muteForHours * 3_600_000);
  if (v.mutedTerms !== undefined) set.mutedTerms = [...new Set(v.mutedTerms.map(norm))];
  if (v.perDay !== undefined) set.alertsPerDay = v.perDay;
  if (v.cooldownHours !== undefined) set.alertCooldownHours = v.cooldownHours;
  const t = schema.trendNiches;
  const [row] = await deps.db
    .insert(t)
    .values({ workspaceId: ctx.workspaceId, ...set })
    .onConflictDoUpdate({
      target: t.workspaceId,
      set: Object.keys(set).length ? set : { workspaceId: ctx.workspaceId },
    })
    .returning();
  return settingsOf(row);
}

/** Whether a topic is rising fast enough in the niche to alert on. */
export const alertWorthy = (t: RisingTopic) =>
  t.score >= ALERT_MIN_SCORE &&
  t.relevance >= RELEVANCE_THRESHOLD &&
  t.mentions.current >= ALERT_MIN_GROWTH * Math.max(t.mentions.previous, 1);

export function alertText(t: RisingTopic): string {
  const why = t.why.keywords.length
    ? `matches ${t.why.keywords.map((k) => `"${k}"`).join(', ')}`
    : t.why.nearest
      ? `close to "${t.why.nearest}"`
      : 'in your niche';
  // A seasonal rise is said as such: it came around this date last year too.
  const season =
    t.seasonal && t.lastYear
      ? ` Seasonal: it rose around this date last year too (${t.lastYear.mentions} mentions then).`
      : '';
  return `Rising in your niche: "${t.term}" — ${t.mentions.current} new mentions (${t.mentions.previous} the window before) on ${t.sources.join(', ')}; ${why}.${season} See Trends for ideas.`;
}

/**
 * Checks the workspace's rising topics and alerts its members on the new fast risers, within
 * the mute, the daily cap and the cool-down. Returns the alerts sent.
 */
export async function checkAlerts(
  deps: { db: Db; now?: (() => Date) | undefined; notify?: ((input: SendInput) => Promise<unknown>) | undefined },
  workspaceId: string,
): Promise<SentAlert[]> {
  if (!deps.notify) return [];
  const now = deps.now?.() ?? new Date();
  const [niche] = await deps.db
    .select()
    .from(schema.trendNiches)
    .where(eq(schema.trendNiches.workspaceId, workspaceId));
  // No niche described: everything would be "relevant", so nothing is alerted.
  if (!niche || niche.keywords.length === 0) return [];
  if (niche.alertsMutedUntil && niche.alertsMutedUntil > now) return [];
  const a = schema.trendAlerts;
  const [{ today = 0 } = {}] = await deps.db
    .select({ today: sql<number>`count(*)::int` })
    .from(a)
    .where(and(eq(a.workspaceId, workspaceId), gte(a.sentAt, new Date(now.getTime() - 86_400_000))));
  let room = niche.alertsPerDay - today;
  if (room <= 0) return [];
  const system: ServiceContext = {
    workspaceId,
    userId: null,
    role: 'viewer',
    timeZone: 'UTC',
    channel: 'system',
    actorKind: 'system',
  };
  const muted = new Set(niche.mutedTerms);
  const worthy = (await risingTopics({ db: deps.db, now: () => now }, system, { limit: 50 })).topics.filter(
    (t) => alertWorthy(t) && !muted.has(t.term),
  );
  if (worthy.length === 0) return [];
  const recent = await deps.db
    .select({ term: a.term })
    .from(a)
    .where(
      and(
        eq(a.workspaceId, workspaceId),
        inArray(
          a.term,
          worthy.map((t) => t.term),
        ),
        gte(a.sentAt, new Date(now.getTime() - niche.alertCooldownHours * 3_600_000)),
      ),
    );
  const cooling = new Set(recent.map((r) => r.term));
  const members = await deps.db
    .select({ userId: schema.memberships.userId })
    .from(schema.memberships)
    .where(eq(schema.memberships.workspaceId, workspaceId));
  const sent: SentAlert[] = [];
  for (const t of worthy) {
    if (room <= 0) break;
    if (cooling.has(t.term)) continue;
    const [row] = await deps.db
      .insert(a)
      .values({
        workspaceId,
        term: t.term,
        score: t.score,
        mentions: t.mentions.current,
        recipients: members.length,
        sentAt: now,
      })
      .returning();
    const text = alertText(t);
    // One key per term, cool-down period and member (keys are unique per workspace).
    const period = Math.floor(now.getTime() / (niche.alertCooldownHours * 3_600_000));
    for (const m of members)
      await deps.notify({
        workspaceId,
        userId: m.userId,
        kind: TREND_ALERT_KIND,
        text,
        data: {
          term: t.term,
          score: t.score,
          mentions: t.mentions,
          sources: t.sources,
          relevance: t.relevance,
          seasonal: t.seasonal,
          path: `/trends?term=${encodeURIComponent(t.term)}`,
        },
        dedupeKey: `trend:${t.term}:${period}:${m.userId}`,
      });
    room -= 1;
    sent.push({
      term: t.term,
      score: t.score,
      mentions: t.mentions.current,
      recipients: members.length,
      sentAt: row!.sentAt.toISOString(),
    });
  }
  return sent;
}
