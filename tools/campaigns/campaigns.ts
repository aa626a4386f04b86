/**
 * Campaigns: products, accounts, a date range and a cadence. Creating one proposes a
 * timeline (`timeline.ts`) the user edits and then approves as a whole, naming the version
 * they saw: approval makes each item a scheduled post through tools/scheduling, carrying its
 * own tracked link (tools/links), and records it in `campaign_posts` in the same transaction
 * as the post, so the item's unique key is its claim: two approvals at once, or a retry after
 * a crash, make each item once. Approval is resumable: an item already made is skipped. Pause moves the campaign's scheduled posts back to drafts
 * (keeping their times), resume schedules the ones still ahead, end cancels what is left.
 */
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { HeraldError, requireRole, schema, transitionTarget, type Db, type PostTarget } from '../../core/index.js';
import { resolveAccounts } from '../drafting/index.js';
import { attachLinkToPost, createTrackedLink } from '../links/index.js';
import { schedulePostDraft } from '../posts/index.js';
import {
  announceScheduled,
  cancel,
  checkTargets,
  insertScheduled,
  requireDirectScheduling,
  showInZone,
} from '../scheduling/index.js';
import {
  audit,
  currencyOf,
  dbOf,
  invalid,
  isUuid,
  notFound,
  nowOf,
  settingsOf,
  type CampaignsDeps,
  type ServiceContext,
} from './context.js';
import { itemSubId } from './conversions.js';
import { CONTENT_KINDS, LINK_PLACEHOLDER, proposeTimeline } from './timeline.js';

const { campaigns, campaignProducts, campaignPosts, products, productAffiliateLinks, postTargets } = schema;

export type CampaignRow = typeof campaigns.$inferSelect;
export type CampaignStatus = 'draft' | 'active' | 'paused' | 'ended';

export interface CreateCampaignInput {
  name: string;
  productIds: string[];
  /** Account ids, platform names or handles. */
  accounts: string[];
  from: string | Date;
  to: string | Date;
  postsPerWeek: number;
  /** Propose A/B pairs (two texts per product, each with its own link). */
  abTest?: boolean | undefined;
  cost?: number | undefined;
  costCurrency?: string | undefined;
}

export interface CampaignView {
  id: string;
  name: string;
  status: CampaignStatus;
  from: string;
  to: string;
  postsPerWeek: number;
  productIds: string[];
  socialAccountIds: string[];
  timelineVersion: number;
  timeline: Array<schema.CampaignTimelineItem & { atLocal: string }>;
  cost: number;
  costCurrency: string | null;
  approvedAt: string | null;
  posts: Array<{
    itemKey: string;
    postId: string;
    targetId: string;
    platform: string;
    linkId: string;
    linkCode: string;
    variant: string | null;
    scheduledAt: string;
    status: string;
  }>;
  createdAt: string;
}

export const MAX_TIMELINE_ITEMS = 200;
const MAX_DAYS = 366;

async function productIdsOf(deps: CampaignsDeps, campaignId: string) {
  return (
    await dbOf(deps)
      .select({ id: campaignProducts.productId })
      .from(campaignProducts)
      .where(eq(campaignProducts.campaignId, campaignId))
  ).map((r) => r.id);
}

export async function campaignRow(deps: CampaignsDeps, workspaceId: string, id: string): Promise<CampaignRow> {
  if (!isUuid(id)) throw notFound('campaign', String(id));
  const [row] = await dbOf(deps)
    .select()
    .from(campaigns)
    .where(and(eq(campaigns.workspaceId, workspaceId), eq(campaigns.id, id)));
  if (!row) throw notFound('campaign', id);
  return row;
}

async function viewOf(deps: CampaignsDeps, ctx: ServiceContext, row: CampaignRow): Promise<CampaignView> {
  const posts = await dbOf(deps)
    .select({ p: campaignPosts, status: postTargets.status })
    .from(campaignPosts)
    .innerJoin(postTargets, eq(postTargets.id, campaignPosts.targetId))
    .where(and(eq(campaignPosts.workspaceId, ctx.workspaceId), eq(campaignPosts.campaignId, row.id)))
    .orderBy(asc(campaignPosts.scheduledAt));
  return {
    id: row.id,
    name: row.name,
    status: row.status as CampaignStatus,
    from: row.startsAt.toISOString(),
    to: row.endsAt.toISOString(),
    postsPerWeek: row.postsPerWeek,
    productIds: await productIdsOf(deps, row.id),
    socialAccountIds: row.socialAccountIds,
    timelineVersion: row.timelineVersion,
    timeline: row.timeline.map((i) => ({ ...i, atLocal: showInZone(new Date(i.at), ctx.timeZone) })),
    cost: Number(row.cost),
    costCurrency: row.costCurrency,
    approvedAt: row.approvedAt?.toISOString() ?? null,
    posts: posts.map(({ p, status }) => ({
      itemKey: p.itemKey,
      postId: p.postId,
      targetId: p.targetId,
      platform: p.platform,
      linkId: p.linkId,
      linkCode: p.linkCode,
      variant: p.variant,
      scheduledAt: p.scheduledAt.toISOString(),
      status,
    })),
    createdAt: row.createdAt.toISOString(),
  };
}

function dateOf(v: string | Date, field: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime()))
    throw new HeraldError('invalid_time', { message: `${field} is not a date or instant`, details: { [field]: v } });
  return d;
}

async function campaignProductsOf(deps: CampaignsDeps, ctx: ServiceContext, ids: string[]) {
  if (ids.length === 0 || ids.length > 20) throw invalid('A campaign promotes one to twenty products');
  const bad = ids.find((i) => !isUuid(i));
  if (bad !== undefined) throw notFound('product', String(bad));
  const rows = await dbOf(deps)
    .select()
    .from(products)
    .where(and(eq(products.workspaceId, ctx.workspaceId), inArray(products.id, ids)));
  const missing = ids.find((id) => !rows.some((r) => r.id === id));
  if (missing) throw notFound('product', missing);
  return ids.map((id) => rows.find((r) => r.id === id)!);
}

/** Creates a draft campaign with its proposed timeline (editor). Nothing is scheduled yet. */
export async function createCampaign(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  input: CreateCampaignInput,
): Promise<CampaignView> {
  requireRole(ctx, 'editor');
  const db = dbOf(deps);
  const name = input.name?.trim();
  if (!name || name.length > 200) throw invalid('A campaign needs a name (at most 200 characters)');
  const from = dateOf(input.from, 'from');
  const to = dateOf(input.to, 'to');
  if (to <= from) throw new HeraldError('invalid_time', { message: 'The campaign must end after it starts' });
  if (to.getTime() - from.getTime() > MAX_DAYS * 86_400_000) throw invalid(`A campaign lasts at most ${MAX_DAYS} days`);
  if (to <= nowOf(deps)) throw new HeraldError('invalid_time', { message: 'The campaign would be over already' });
  if (!Number.isInteger(input.postsPerWeek) || input.postsPerWeek < 1 || input.postsPerWeek > 50)
    throw invalid('postsPerWeek is 1–50 per account');
  const productRows = await campaignProductsOf(deps, ctx, input.productIds);
  const accounts = await resolveAccounts(db, ctx, input.accounts);
  if (accounts.length === 0) throw invalid('A campaign needs at least one account');
  const { disclosures } = await settingsOf(db, ctx.workspaceId);
  const timeline = await proposeTimeline(deps, ctx, {
    accounts,
    products: productRows,
    from,
    to,
    postsPerWeek: input.postsPerWeek,
    abTest: !!input.abTest,
    disclosure: disclosures[0]!,
  });
  if (timeline.length > MAX_TIMELINE_ITEMS)
    throw invalid(`That would be ${timeline.length} posts; at most ${MAX_TIMELINE_ITEMS} per campaign`);
  const cost = input.cost ?? 0;
  if (!Number.isFinite(cost) || cost < 0) throw invalid('cost must be a non-negative amount');
  const row = await db.transaction(async (tx) => {
    const [c] = await tx
      .insert(campaigns)
      .values({
        workspaceId: ctx.workspaceId,
        name,
        startsAt: from,
        endsAt: to,
        postsPerWeek: input.postsPerWeek,
        socialAccountIds: accounts.map((a) => a.id),
        timeline,
        cost: cost.toFixed(2),
        costCurrency: input.costCurrency ? currencyOf(input.costCurrency, 'costCurrency') : null,
      })
      .returning();
    await tx
      .insert(campaignProducts)
      .values(productRows.map((p) => ({ workspaceId: ctx.workspaceId, campaignId: c!.id, productId: p.id })));
    return c!;
  });
  await audit(deps, ctx, 'campaign.create', { type: 'campaign', id: row.id }, { items: timeline.length });
  return viewOf(deps, ctx, row);
}

export async function getCampaign(deps: CampaignsDeps, ctx: ServiceContext, id: string): Promise<CampaignView> {
  requireRole(ctx, 'viewer');
  return viewOf(deps, ctx, await campaignRow(deps, ctx.workspaceId, id));
}

export async function listCampaigns(deps: CampaignsDeps, ctx: ServiceContext) {
  requireRole(ctx, 'viewer');
  const rows = await dbOf(deps)
    .select()
    .from(campaigns)
    .where(eq(campaigns.workspaceId, ctx.workspaceId))
    .orderBy(desc(campaigns.createdAt))
    .limit(200);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    from: r.startsAt.toISOString(),
    to: r.endsAt.toISOString(),
    items: r.timeline.length,
    approvedAt: r.approvedAt?.toISOString() ?? null,
  }));
}

export interface TimelineEdit {
  /** The version the edit was made on; a newer one is a conflict. */
  timelineVersion: number;
  items: Array<Omit<schema.CampaignTimelineItem, 'key' | 'platform'> & { key?: string | undefined }>;
}

/** Replaces a draft campaign's timeline (editor): items may be moved, rewritten, added or removed. */
export async function editTimeline(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  id: string,
  edit: TimelineEdit,
): Promise<CampaignView> {
  requireRole(ctx, 'editor');
  const row = await campaignRow(deps, ctx.workspaceId, id);
  if (row.status !== 'draft')
    throw new HeraldError('invalid_state', {
      message: `The campaign is ${row.status}; only a draft's timeline can be edited`,
    });
  if (edit.timelineVersion !== row.timelineVersion)
    throw new HeraldError('conflict', {
      message: `The timeline changed (version ${row.timelineVersion}); reload it and edit again`,
      details: { timelineVersion: row.timelineVersion },
    });
  if (edit.items.length === 0 || edit.items.length > MAX_TIMELINE_ITEMS)
    throw invalid(`A timeline has 1–${MAX_TIMELINE_ITEMS} items`);
  const productIds = new Set(await productIdsOf(deps, id));
  const accounts = new Map((await resolveAccounts(dbOf(deps), ctx, row.socialAccountIds)).map((a) => [a.id, a]));
  let serial = Math.max(0, ...row.timeline.map((i) => Number(i.key.slice(1)) || 0));
  const keys = new Set<string>();
  const items = edit.items.map((i) => {
    const account = accounts.get(i.socialAccountId);
    if (!account) throw invalid(`Account ${i.socialAccountId} is not one of the campaign's`);
    if (!productIds.has(i.productId)) throw invalid(`Product ${i.productId} is not one of the campaign's`);
    if (!(CONTENT_KINDS as readonly string[]).includes(i.kind))
      throw invalid(`kind is one of ${CONTENT_KINDS.join(', ')}`);
    if (typeof i.content !== 'string' || !i.content.includes(LINK_PLACEHOLDER))
      throw invalid(`Each item's text carries ${LINK_PLACEHOLDER} where its tracked link goes`, { key: i.key });
    const at = dateOf(i.at, 'at');
    const key = i.key && /^i\d+$/.test(i.key) && !keys.has(i.key) ? i.key : `i${++serial}`;
    keys.add(key);
    return {
      key,
      at: at.toISOString(),
      socialAccountId: account.id,
      platform: account.platform,
      productId: i.productId,
      kind: i.kind,
      content: i.content,
      ...(i.variantGroup
        ? { variantGroup: String(i.variantGroup).slice(0, 60), variant: String(i.variant ?? 'A').slice(0, 20) }
        : {}),
    };
  });
  const [updated] = await dbOf(deps)
    .update(campaigns)
    .set({
      timeline: items.sort((a, b) => a.at.localeCompare(b.at)),
      timelineVersion: row.timelineVersion + 1,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(campaigns.workspaceId, ctx.workspaceId),
        eq(campaigns.id, id),
        eq(campaigns.timelineVersion, row.timelineVersion),
        eq(campaigns.status, 'draft'),
      ),
    )
    .returning();
  if (!updated)
    throw new HeraldError('conflict', { message: 'The timeline changed meanwhile; reload it and edit again' });
  await audit(
    deps,
    ctx,
    'campaign.edit_timeline',
    { type: 'campaign', id },
    { items: items.length, version: updated.timelineVersion },
  );
  return viewOf(deps, ctx, updated);
}

/** Where a product's links send people: its first affiliate link, else its own page. */
async function destinationOf(deps: CampaignsDeps, ctx: ServiceContext, productId: string): Promise<string> {
  const db = dbOf(deps);
  const [aff] = await db
    .select({ url: productAffiliateLinks.url })
    .from(productAffiliateLinks)
    .where(and(eq(productAffiliateLinks.workspaceId, ctx.workspaceId), eq(productAffiliateLinks.productId, productId)))
    .orderBy(asc(productAffiliateLinks.createdAt))
    .limit(1);
  if (aff) return aff.url;
  const [p] = await db
    .select({ url: products.url, name: products.name })
    .from(products)
    .where(and(eq(products.workspaceId, ctx.workspaceId), eq(products.id, productId)));
  if (!p?.url)
    throw invalid(`Product ${p?.name ?? productId} has no URL or affiliate link to send people to`, { productId });
  return p.url;
}

/** Thrown inside an item's transaction to roll it back: another approval made the item. */
class ItemTaken extends Error {}
/** Ends the validation transaction: every item passed; what it wrote is rolled back. */
class ChecksPassed extends Error {}

/**
 * Approves the timeline as a whole (the version the user saw): every item is validated first
 * (platform limits, posting caps, disclosure), then scheduled with its own tracked link, made
 * in the item's transaction (a refused or retried approval leaves no orphan links).
 */
export async function approveCampaign(
  deps: CampaignsDeps,
  ctx: ServiceContext,
  id: string,
  input: { timelineVersion: number },
): Promise<CampaignView> {
  await requireDirectScheduling(deps.scheduling, ctx);
  const row = await campaignRow(deps, ctx.workspaceId, id);
  if (row.status !== 'draft' && !(row.status === 'active' && row.approvedAt))
    throw new HeraldError('invalid_state', { message: `The campaign is ${row.status}` });
  if (input.timelineVersion !== row.timelineVersion)
    throw new HeraldError('conflict', {
      message: `The timeline is at version ${row.timelineVersion}, not ${input.timelineVersion}; review it again`,
      details: { timelineVersion: row.timelineVersion },
    });
  const db = dbOf(deps);
  const done = new Set(
    (await db.select({ key: campaignPosts.itemKey }).from(campaignPosts).where(eq(campaignPosts.campaignId, id))).map(
      (r) => r.key,
    ),
  );
  const todo = row.timeline.filter((i) => !done.has(i.key));
  const now = nowOf(deps);
  const late = todo.find((i) => new Date(i.at).getTime() < now.getTime());
  if (late)
    throw new HeraldError('invalid_time', {
      message: `Item ${late.key} is at ${showInZone(new Date(late.at), ctx.timeZone)}, in the past; move it and approve again`,
      details: { key: late.key },
    });
  const prepared: Array<{ item: schema.CampaignTimelineItem; destinationUrl: string }> = [];
  for (const item of todo) prepared.push({ item, destinationUrl: await destinationOf(deps, ctx, item.productId) });
  const linkFor = (tx: Db, item: schema.CampaignTimelineItem, destinationUrl: string) =>
    createTrackedLink({ ...deps.links, db: tx }, ctx, {
      destinationUrl,
      campaignId: id,
      productId: item.productId,
      platform: item.platform,
      variant: item.variant ?? null,
      utm: {
        source: item.platform,
        medium: 'social',
        campaign: row.name.slice(0, 100),
        content: itemSubId(id, item.key),
      },
    });
  // Each item is a post of its own: validated alone (limits, caps, disclosure) before any is
  // scheduled, with its real link in its text (the disclosure check knows a campaign's link by
  // its record) — in a transaction rolled back afterwards, so a refusal leaves no link behind.
  await db
    .transaction(async (tx) => {
      for (const { item, destinationUrl } of prepared) {
        const link = await linkFor(tx, item, destinationUrl);
        await checkTargets(tx, deps.scheduling.connectors, ctx.workspaceId, [
          {
            socialAccountId: item.socialAccountId,
            content: item.content.replaceAll(LINK_PLACEHOLDER, link.shortUrl),
            threadParts: [],
            media: [],
            options: {},
            at: new Date(item.at),
          },
        ]);
      }
      throw new ChecksPassed();
    })
    .catch((err: unknown) => {
      if (!(err instanceof ChecksPassed)) throw err;
    });
  // Compare-and-set: the timeline approved is still the one checked (an edit meanwhile is a
  // conflict), and the campaign was not paused or ended meanwhile.
  const [claimed] = await db
    .update(campaigns)
    .set({ status: 'active', approvedAt: row.approvedAt ?? now, approvedBy: ctx.userId, updatedAt: new Date() })
    .where(
      and(
        eq(campaigns.workspaceId, ctx.workspaceId),
        eq(campaigns.id, id),
        eq(campaigns.timelineVersion, row.timelineVersion),
        inArray(campaigns.status, ['draft', 'active']),
      ),
    )
    .returning({ id: campaigns.id });
  if (!claimed)
    throw new HeraldError('conflict', { message: 'The campaign changed meanwhile; reload it and approve again' });
  let made = 0;
  for (const { item, destinationUrl } of prepared) {
    // The link, the post and the item's campaign_posts row commit together or not at all:
    // the (campaign, item) unique key is the claim. An approval that finds the item claimed
    // (another approval at the same time) rolls its link and post back and skips the item,
    // and an item that fails leaves no link behind for the next approval to add to.
    const created = await db
      .transaction(async (tx) => {
        const link = await linkFor(tx, item, destinationUrl);
        const content = item.content.replaceAll(LINK_PLACEHOLDER, link.shortUrl);
        const c = await insertScheduled(
          deps.scheduling,
          tx,
          ctx,
          { content, targets: [{ socialAccountId: item.socialAccountId }], tags: ['campaign'] },
          () => new Date(item.at),
        );
        const target = c.rows[0]!;
        await attachLinkToPost({ ...deps.links, db: tx }, ctx, link.id, { postId: c.post.id, targetId: target.id });
        const [own] = await tx
          .insert(campaignPosts)
          .values({
            workspaceId: ctx.workspaceId,
            campaignId: id,
            itemKey: item.key,
            productId: item.productId,
            postId: c.post.id,
            targetId: target.id,
            socialAccountId: item.socialAccountId,
            platform: item.platform,
            linkId: link.id,
            linkCode: link.code,
            kind: item.kind,
            variantGroup: item.variantGroup ?? null,
            variant: item.variant ?? null,
            scheduledAt: new Date(item.at),
          })
          .onConflictDoNothing({ target: [campaignPosts.campaignId, campaignPosts.itemKey] })
          .returning({ id: campaignPosts.id });
        if (!own) throw new ItemTaken();
        return c;
      })
      .catch((err: unknown) => {
        if (err instanceof ItemTaken) return null;
        throw err;
      });
    if (!created) continue;
    // Queued once committed; a crash before this is repaired by the publishing reconciler.
    await announceScheduled(deps.scheduling, ctx, created);
    made++;
  }
  await audit(deps, ctx, 'campaign.approve', { type: 'campaign', id }, { version: row.timelineVersion, posts: made });
  return viewOf(deps, ctx, await campaignRow(deps, ctx.workspaceId, id));
}

async function targetsOf(deps: CampaignsDeps, ctx: ServiceContext, id: string): Promise<PostTarget[]> {
  return (
    await dbOf(deps)
      .select({ t: postTargets })
      .from(campaignPosts)
      .innerJoin(postTargets, eq(postTargets.id, campaignPosts.targetId))
      .where(and(eq(campaignPosts.workspaceId, ctx.workspaceId), eq(campaignPosts.campaignId, id)))
  ).map((r) => r.t);
}

async function setStatus(deps: CampaignsDeps, ctx: ServiceContext, id: string, status: CampaignStatus) {
  await dbOf(deps)
    .update(campaigns)
    .set({ status, updatedAt: new Date(), ...(status === 'ended' ? { endedAt: nowOf(deps) } : {}) })
    .where(and(eq(campaigns.workspaceId, ctx.workspaceId), eq(campaigns.id, id)));
}

/** Pauses an active campaign (editor): its scheduled posts go back to drafts, keeping their times. */
export async function pauseCampaign(deps: CampaignsDeps, ctx: ServiceContext, id: string) {
  requireRole(ctx, 'editor');
  const row = await campaignRow(deps, ctx.workspaceId, id);
  if (row.status !== 'active')
    throw new HeraldError('invalid_state', {
      message: `Only an active campaign can be paused; this one is ${row.status}`,
    });
  let held = 0;
  for (const t of await targetsOf(deps, ctx, id)) {
    if (t.status !== 'scheduled') continue;
    const moved = await transitionTarget(dbOf(deps), ctx.workspaceId, t.id, ['scheduled'], 'draft');
    if (!moved) continue; // the worker took it meanwhile
    await deps.scheduling.queue.remove(t.id);
    held++;
  }
  await setStatus(deps, ctx, id, 'paused');
  await audit(deps, ctx, 'campaign.pause', { type: 'campaign', id }, { held });
  return { ...(await getCampaign(deps, ctx, id)), held };
}

/** Resumes a paused campaign: drafts still ahead are scheduled again; ones whose time passed stay drafts. */
export async function resumeCampaign(deps: CampaignsDeps, ctx: ServiceContext, id: string) {
  await requireDirectScheduling(deps.scheduling, ctx);
  const row = await campaignRow(deps, ctx.workspaceId, id);
  if (row.status !== 'paused')
    throw new HeraldError('invalid_state', {
      message: `Only a paused campaign can be resumed; this one is ${row.status}`,
    });
  const now = nowOf(deps);
  let resumed = 0;
  const missed: string[] = [];
  for (const t of await targetsOf(deps, ctx, id)) {
    if (t.status !== 'draft') continue;
    if (!t.scheduledAt || t.scheduledAt <= now) {
      missed.push(t.id);
      continue;
    }
    await schedulePostDraft(deps.scheduling, ctx, t.postId, {});
    resumed++;
  }
  await setStatus(deps, ctx, id, 'active');
  await audit(deps, ctx, 'campaign.resume', { type: 'campaign', id }, { resumed, missed: missed.length });
  return { ...(await getCampaign(deps, ctx, id)), resumed, missed };
}

/** Ends a campaign (editor): whatever is not published yet is cancelled. Reports stay. */
export async function endCampaign(deps: CampaignsDeps, ctx: ServiceContext, id: string) {
  requireRole(ctx, 'editor');
  const row = await campaignRow(deps, ctx.workspaceId, id);
  if (row.status === 'ended') throw new HeraldError('invalid_state', { message: 'The campaign has already ended' });
  let cancelled = 0;
  for (const t of await targetsOf(deps, ctx, id)) {
    if (t.status !== 'scheduled' && t.status !== 'draft' && t.status !== 'pending_approval') continue;
    await cancel(deps.scheduling, ctx, t.id).then(
      () => cancelled++,
      (err: unknown) => {
        if (!(err instanceof HeraldError && err.code === 'invalid_state')) throw err;
      },
    );
  }
  await setStatus(deps, ctx, id, 'ended');
  await audit(deps, ctx, 'campaign.end', { type: 'campaign', id }, { cancelled });
  return { ...(await getCampaign(deps, ctx, id)), cancelled };
}
