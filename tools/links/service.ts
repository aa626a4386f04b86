/**
 * Tracked links as a workspace-scoped service (docs/links.md): create one for a destination
 * (with UTM parameters, and the campaign, product, post or target it belongs to — each checked
 * to be the caller's workspace's), attach it
 * to a post, list and read links, click statistics per link, platform and day, and the click
 * context the campaigns service attributes conversions with. Every function checks the
 * caller's role itself, so REST, the agent and the campaigns service get the same answers.
 */
import { and, desc, eq, type SQL } from 'drizzle-orm';
import { auditAs, HeraldError, requireRole, schema, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { newCode } from './codes.js';
import { cleanUtm, validateDestination, withUtm, type Utm } from './destination.js';
import { invalid, MAX_LINKS_PER_CALL, optionalText, optionalUuid, shortUrlOf, UUID } from './input.js';
import { totalsOf, ZERO, type ClickTotals } from './stats.js';

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

const PLATFORM = /^[a-z][a-z0-9_-]{0,39}$/;
const CODE_ATTEMPTS = 5;

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

/**
 * A campaign or product a link names, checked to be this workspace's: another workspace's id
 * is refused exactly like one that does not exist.
 */
async function ownedId(db: Db, workspaceId: string, kind: 'campaign' | 'product', id: string | null) {
  if (!id) return null;
  const table = kind === 'campaign' ? schema.campaigns : schema.products;
  const [row] = await db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.workspaceId, workspaceId), eq(table.id, id)));
  if (!row)
    throw new HeraldError('not_found', {
      message: `No such ${kind} in this workspace`,
      details: { [`${kind}Id`]: id },
    });
  return id;
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
  const campaignId = await ownedId(deps.db, ctx.workspaceId, 'campaign', optionalUuid('campaignId', input.campaignId));
  const productId = await ownedId(deps.db, ctx.workspaceId, 'product', optionalUuid('productId', input.productId));
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
