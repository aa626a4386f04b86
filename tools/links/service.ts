/**
 * Tracked links as a workspace-scoped service (docs/links.md): create one for a destination
 * (with UTM parameters, and the campaign, product, post or target it belongs to), attach it
 * to a post, list and read links, click statistics per link, platform and day, and the click
 * context the campaigns service attributes conversions with. Every function checks the
 * caller's role itself, so REST, the agent and the campaigns service get the same answers.
 */
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { auditAs, HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { newCode } from './codes.js';
import { cleanUtm, validateDestination, withUtm, type Utm } from './destination.js';

export interface LinksDeps {
  db: Db;
  /** Where short links are served (`LINKS_BASE_URL`, else `PUBLIC_URL`), no trailing slash. */
  baseUrl: string;
  now?: () => Date;
}

export interface CreateLinkInput {
  destinationUrl: string;
  campaignId?: string | null;
  productId?: string | null;
  postId?: string | null;
  targetId?: string | null;
  variant?: string | null;
  platform?: string | null;
  utm?: Utm;
}

export interface TrackedLink {
  id: string;
  code: string;
  shortUrl: string;
  /** The destination as given (validated), without the UTM parameters. */
  destinationUrl: string;
  /** Where `/l/:code` sends people: the destination with the UTM parameters added. */
  redirectsTo: string;
  utm: Utm;
  campaignId: string | null;
  productId: string | null;
  postId: string | null;
  targetId: string | null;
  variant: string | null;
  platform: string | null;
  createdAt: string;
}

/** What the campaigns service needs to attribute a conversion: link → post/target → campaign → product. */
export interface ClickContext {
  linkId: string;
  code: string;
  workspaceId: string;
  campaignId: string | null;
  productId: string | null;
  postId: string | null;
  targetId: string | null;
  variant: string | null;
  platform: string | null;
  destinationUrl: string;
}

/** Most links one list or stats call returns. */
export const MAX_LINKS_PER_CALL = 200;
/** Longest range one stats call covers. */
export const MAX_STATS_DAYS = 366;
const DEFAULT_STATS_DAYS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PLATFORM = /^[a-z][a-z0-9_-]{0,39}$/;
const CODE_ATTEMPTS = 5;

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new HeraldError('validation_failed', { message, details });

function optionalUuid(name: string, v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !UUID.test(v)) throw invalid(`${name} must be an id (uuid)`, { [name]: v });
  return v.toLowerCase();
}

function optionalText(name: string, v: unknown, max: number, pattern?: RegExp): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(`${name} must be text`);
  const t = v.trim();
  if (!t) return null;
  if (t.length > max) throw invalid(`${name} is longer than ${max} characters`);
  if (pattern && !pattern.test(t)) throw invalid(`${name} "${t}" is not a valid value`);
  return t;
}

export const shortUrlOf = (baseUrl: string, code: string) => `${baseUrl.replace(/\/+$/, '')}/l/${code}`;

type LinkRow = typeof schema.trackedLinks.$inferSelect;

function linkOf(deps: LinksDeps, row: LinkRow): TrackedLink {
  return {
    id: row.id,
    code: row.code,
    shortUrl: shortUrlOf(deps.baseUrl, row.code),
    destinationUrl: row.destination,
    redirectsTo: withUtm(row.destination, row.utm),
    utm: row.utm,
    campaignId: row.campaignId,
    productId: row.productId,
    postId: row.postId,
    targetId: row.targetId,
    variant: row.variant,
    platform: row.platform,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The post and target a link may point at, checked to be this workspace's: a target alone
 * gives its post, and the target's platform is where the link is shared.
 */
async function placeOf(
  db: Db,
  workspaceId: string,
  postId: string | null,
  targetId: string | null,
): Promise<{ postId: string | null; targetId: string | null; platform: string | null }> {
  if (targetId) {
    const [t] = await db
      .select({ postId: schema.postTargets.postId, platform: schema.postTargets.platform })
      .from(schema.postTargets)
      .where(and(eq(schema.postTargets.workspaceId, workspaceId), eq(schema.postTargets.id, targetId)));
    if (!t)
      throw new HeraldError('not_found', { message: 'No such post target in this workspace', details: { targetId } });
    if (postId && postId !== t.postId)
      throw invalid('The target belongs to another post', { postId, targetId, targetPostId: t.postId });
    return { postId: t.postId, targetId, platform: t.platform };
  }
  if (postId) {
    const [p] = await db
      .select({ id: schema.posts.id })
      .from(schema.posts)
      .where(and(eq(schema.posts.workspaceId, workspaceId), eq(schema.posts.id, postId)));
    if (!p) throw new HeraldError('not_found', { message: 'No such post in this workspace', details: { postId } });
  }
  return { postId, targetId: null, platform: null };
}

const isUniqueViolation = (err: unknown) => {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
};

/** A new tracked link (editor). Its code is random; its destination must be http(s). */
export async function createTrackedLink(
  deps: LinksDeps,
  ctx: ServiceContext,
  input: CreateLinkInput,
): Promise<TrackedLink> {
  requireRole(ctx, 'editor');
  const destination = validateDestination(input?.destinationUrl);
  const utm = cleanUtm(input.utm);
  const campaignId = optionalUuid('campaignId', input.campaignId);
  const productId = optionalUuid('productId', input.productId);
  const place = await placeOf(
    deps.db,
    ctx.workspaceId,
    optionalUuid('postId', input.postId),
    optionalUuid('targetId', input.targetId),
  );
  const variant = optionalText('variant', input.variant, 40);
  const platform = optionalText('platform', input.platform?.toLowerCase(), 40, PLATFORM) ?? place.platform;
  for (let attempt = 1; ; attempt++) {
    try {
      const [row] = await deps.db
        .insert(schema.trackedLinks)
        .values({
          workspaceId: ctx.workspaceId,
          code: newCode(),
          destination,
          utm,
          campaignId,
          productId,
          postId: place.postId,
          targetId: place.targetId,
          variant,
          platform,
          createdBy: ctx.userId,
        })
        .returning();
      const link = linkOf(deps, row!);
      await auditAs(deps.db, ctx, 'link.create', { type: 'tracked_link', id: link.id }, { code: link.code });
      return link;
    } catch (err) {
      // A code already taken (one chance in ~10^17): draw another.
      if (!isUniqueViolation(err) || attempt >= CODE_ATTEMPTS) throw err;
    }
  }
}

async function ownLink(db: Db, workspaceId: string, linkId: string): Promise<LinkRow> {
  if (typeof linkId !== 'string' || !UUID.test(linkId))
    throw new HeraldError('not_found', { message: 'No such link', details: { linkId } });
  const [row] = await db
    .select()
    .from(schema.trackedLinks)
    .where(and(eq(schema.trackedLinks.workspaceId, workspaceId), eq(schema.trackedLinks.id, linkId)));
  if (!row) throw new HeraldError('not_found', { message: 'No such link', details: { linkId } });
  return row;
}

/** Points a link at a post (and one of its targets) of this workspace (editor). */
export async function attachLinkToPost(
  deps: LinksDeps,
  ctx: ServiceContext,
  linkId: string,
  input: { postId: string; targetId?: string | null },
): Promise<TrackedLink> {
  requireRole(ctx, 'editor');
  await ownLink(deps.db, ctx.workspaceId, linkId);
  const postId = optionalUuid('postId', input?.postId);
  if (!postId) throw invalid('postId is needed');
  const place = await placeOf(deps.db, ctx.workspaceId, postId, optionalUuid('targetId', input.targetId));
  const [row] = await deps.db
    .update(schema.trackedLinks)
    .set({
      postId: place.postId,
      targetId: place.targetId,
      ...(place.platform ? { platform: place.platform } : {}),
    })
    .where(and(eq(schema.trackedLinks.workspaceId, ctx.workspaceId), eq(schema.trackedLinks.id, linkId)))
    .returning();
  await auditAs(
    deps.db,
    ctx,
    'link.attach',
    { type: 'tracked_link', id: linkId },
    { postId, targetId: place.targetId },
  );
  return linkOf(deps, row!);
}

export async function getTrackedLink(deps: LinksDeps, ctx: ServiceContext, linkId: string): Promise<TrackedLink> {
  requireRole(ctx, 'viewer');
  return linkOf(deps, await ownLink(deps.db, ctx.workspaceId, linkId));
}

export interface ListLinksFilter {
  campaignId?: string | null;
  postId?: string | null;
  limit?: number;
  offset?: number;
}

/** The workspace's links, newest first, each with its click totals (viewer). */
export async function listTrackedLinks(
  deps: LinksDeps,
  ctx: ServiceContext,
  filter: ListLinksFilter = {},
): Promise<{ links: Array<TrackedLink & ClickTotals> }> {
  requireRole(ctx, 'viewer');
  const l = schema.trackedLinks;
  const where: SQL[] = [eq(l.workspaceId, ctx.workspaceId)];
  const campaignId = optionalUuid('campaignId', filter.campaignId);
  const postId = optionalUuid('postId', filter.postId);
  if (campaignId) where.push(eq(l.campaignId, campaignId));
  if (postId) where.push(eq(l.postId, postId));
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), MAX_LINKS_PER_CALL);
  const offset = Math.max(Math.trunc(filter.offset ?? 0), 0);
  const rows = await deps.db
    .select()
    .from(l)
    .where(and(...where))
    .orderBy(desc(l.createdAt), desc(l.id))
    .limit(limit)
    .offset(offset);
  const totals = await totalsOf(
    deps.db,
    ctx.workspaceId,
    rows.map((r) => r.id),
    null,
  );
  return { links: rows.map((r) => ({ ...linkOf(deps, r), ...(totals.get(r.id) ?? ZERO) })) };
}

export interface ClickTotals {
  /** Human clicks (bots and prefetchers are not among them). */
  clicks: number;
  /** Human clicks counted once per visitor and unique window. */
  uniqueClicks: number;
  /** Clicks by bots, crawlers, link previews and prefetchers. */
  botClicks: number;
}
const ZERO: ClickTotals = { clicks: 0, uniqueClicks: 0, botClicks: 0 };

const totalsSql = sql`count(*) filter (where not ${schema.linkClicks.isBot})::int as clicks,
  count(*) filter (where ${schema.linkClicks.isUnique})::int as unique_clicks,
  count(*) filter (where ${schema.linkClicks.isBot})::int as bot_clicks`;

async function totalsOf(
  db: Db,
  workspaceId: string,
  linkIds: string[],
  range: { from: Date; to: Date } | null,
): Promise<Map<string, ClickTotals>> {
  const out = new Map<string, ClickTotals>();
  if (linkIds.length === 0) return out;
  const c = schema.linkClicks;
  const rows = await db.execute(sql`
    select ${c.linkId} as link_id, ${totalsSql}
    from ${c}
    where ${c.workspaceId} = ${workspaceId} and ${c.linkId} in ${linkIds}
      ${range ? sql`and ${c.clickedAt} >= ${range.from.toISOString()} and ${c.clickedAt} < ${range.to.toISOString()}` : sql``}
    group by ${c.linkId}`);
  for (const r of rowsOf<{ link_id: string; clicks: number; unique_clicks: number; bot_clicks: number }>(rows))
    out.set(r.link_id, {
      clicks: Number(r.clicks),
      uniqueClicks: Number(r.unique_clicks),
      botClicks: Number(r.bot_clicks),
    });
  return out;
}

/** node-postgres and PGlite both answer `execute` with `{ rows }`. */
function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}

export interface LinkStatsQuery {
  linkIds?: string[];
  campaignId?: string | null;
  postId?: string | null;
  /** ISO time; default `to` minus 30 days. */
  from?: string | Date;
  /** ISO time; default now. */
  to?: string | Date;
}

export interface LinkStats extends ClickTotals {
  linkId: string;
  code: string;
  shortUrl: string;
  destinationUrl: string;
  campaignId: string | null;
  postId: string | null;
  targetId: string | null;
  variant: string | null;
  platform: string | null;
  /** Per platform the click came from (its referrer, else where the link is shared; `unknown`). */
  byPlatform: Record<string, ClickTotals>;
  /** Per day in the caller's time zone, days with clicks only, oldest first. */
  byDay: Array<ClickTotals & { day: string }>;
}

function timeOf(name: string, v: string | Date | undefined, fallback: Date): Date {
  if (v === undefined || v === null || v === '') return fallback;
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new HeraldError('invalid_time', { message: `${name} is not a valid time`, details: { [name]: v } });
  return d;
}

/** Click statistics of the chosen links over [from, to) (viewer). Clicks still in the buffer are counted once drained (about a second). */
export async function linkStats(
  deps: LinksDeps,
  ctx: ServiceContext,
  query: LinkStatsQuery = {},
): Promise<{ from: string; to: string; timeZone: string; links: LinkStats[]; totals: ClickTotals }> {
  requireRole(ctx, 'viewer');
  const now = deps.now ? deps.now() : new Date();
  const to = timeOf('to', query.to, now);
  const from = timeOf('from', query.from, new Date(to.getTime() - DEFAULT_STATS_DAYS * 86_400_000));
  if (from >= to) throw new HeraldError('invalid_time', { message: 'from must be before to' });
  if (to.getTime() - from.getTime() > MAX_STATS_DAYS * 86_400_000)
    throw new HeraldError('invalid_time', { message: `A range covers at most ${MAX_STATS_DAYS} days` });
  const l = schema.trackedLinks;
  const where: SQL[] = [eq(l.workspaceId, ctx.workspaceId)];
  if (query.linkIds !== undefined) {
    if (!Array.isArray(query.linkIds) || query.linkIds.length > MAX_LINKS_PER_CALL)
      throw invalid(`linkIds must be a list of at most ${MAX_LINKS_PER_CALL} ids`);
    const ids = query.linkIds.map((id) => optionalUuid('linkIds', id)!).filter(Boolean);
    if (ids.length === 0)
      return { from: from.toISOString(), to: to.toISOString(), timeZone: ctx.timeZone, links: [], totals: { ...ZERO } };
    where.push(inArray(l.id, ids));
  }
  const campaignId = optionalUuid('campaignId', query.campaignId);
  const postId = optionalUuid('postId', query.postId);
  if (campaignId) where.push(eq(l.campaignId, campaignId));
  if (postId) where.push(eq(l.postId, postId));
  const links = await deps.db
    .select()
    .from(l)
    .where(and(...where))
    .orderBy(desc(l.createdAt))
    .limit(MAX_LINKS_PER_CALL);
  const ids = links.map((r) => r.id);
  const range = { from, to };
  const totals = await totalsOf(deps.db, ctx.workspaceId, ids, range);
  const byPlatform = new Map<string, Record<string, ClickTotals>>();
  const byDay = new Map<string, Array<ClickTotals & { day: string }>>();
  if (ids.length > 0) {
    const c = schema.linkClicks;
    const inRange = sql`${c.workspaceId} = ${ctx.workspaceId} and ${c.linkId} in ${ids}
      and ${c.clickedAt} >= ${from.toISOString()} and ${c.clickedAt} < ${to.toISOString()}`;
    const [platformRows, dayRows] = await Promise.all([
      deps.db.execute(sql`
        select ${c.linkId} as link_id, coalesce(${c.platform}, 'unknown') as key, ${totalsSql}
        from ${c} where ${inRange} group by 1, 2`),
      deps.db.execute(sql`
        select ${c.linkId} as link_id, to_char(${c.clickedAt} at time zone ${ctx.timeZone}, 'YYYY-MM-DD') as key, ${totalsSql}
        from ${c} where ${inRange} group by 1, 2 order by 2`),
    ]);
    type Row = { link_id: string; key: string; clicks: number; unique_clicks: number; bot_clicks: number };
    const figures = (r: Row): ClickTotals => ({
      clicks: Number(r.clicks),
      uniqueClicks: Number(r.unique_clicks),
      botClicks: Number(r.bot_clicks),
    });
    for (const r of rowsOf<Row>(platformRows)) {
      const m = byPlatform.get(r.link_id) ?? {};
      m[r.key] = figures(r);
      byPlatform.set(r.link_id, m);
    }
    for (const r of rowsOf<Row>(dayRows)) {
      const list = byDay.get(r.link_id) ?? [];
      list.push({ day: r.key, ...figures(r) });
      byDay.set(r.link_id, list);
    }
  }
  const out: LinkStats[] = links.map((r) => ({
    linkId: r.id,
    code: r.code,
    shortUrl: shortUrlOf(deps.baseUrl, r.code),
    destinationUrl: r.destination,
    campaignId: r.campaignId,
    postId: r.postId,
    targetId: r.targetId,
    variant: r.variant,
    platform: r.platform,
    ...(totals.get(r.id) ?? ZERO),
    byPlatform: byPlatform.get(r.id) ?? {},
    byDay: byDay.get(r.id) ?? [],
  }));
  const sum = out.reduce(
    (a, s) => ({
      clicks: a.clicks + s.clicks,
      uniqueClicks: a.uniqueClicks + s.uniqueClicks,
      botClicks: a.botClicks + s.botClicks,
    }),
    { ...ZERO },
  );
  return { from: from.toISOString(), to: to.toISOString(), timeZone: ctx.timeZone, links: out, totals: sum };
}

/** What a conversion on this link is attributed to (viewer). */
export async function resolveClickContext(
  deps: { db: Db },
  ctx: ServiceContext,
  linkId: string,
): Promise<ClickContext> {
  requireRole(ctx, 'viewer');
  const r = await ownLink(deps.db, ctx.workspaceId, linkId);
  return {
    linkId: r.id,
    code: r.code,
    workspaceId: r.workspaceId,
    campaignId: r.campaignId,
    productId: r.productId,
    postId: r.postId,
    targetId: r.targetId,
    variant: r.variant,
    platform: r.platform,
    destinationUrl: r.destination,
  };
}
