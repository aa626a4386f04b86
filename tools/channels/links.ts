/**
 * Linking a chat on a messaging platform (a Telegram chat, a Slack user) to a Herald member
 * in one workspace. A signed-in member makes a one-time code (REST, agent tool); the chat
 * sends it to the bot; from then on the chat's messages run turns as that member, with the
 * role the member has in the workspace at that moment (read at every turn, so a removed
 * member's link does nothing). Codes are stored as SHA-256 only and work once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { auditAs, HeraldError, schema, type Db, type Role } from '../../core/index.js';

export const CHANNELS = ['telegram', 'slack'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** How long a link code can be redeemed. */
export const LINK_CODE_TTL_MS = 10 * 60_000;
/** Random bytes in a code: 15 bytes are 20 base64url characters, short enough to type. */
const LINK_CODE_BYTES = 15;

export interface LinkContext {
  workspaceId: string;
  userId: string | null;
  role: Role;
  channel: string;
  actorKind?: 'user' | 'api_key' | 'agent' | 'system';
}

export interface LinkDeps {
  db: Db;
  now?: () => Date;
}

/** The member a linked chat acts as: what a channel needs to build the turn's principal. */
export interface LinkedMember {
  workspaceId: string;
  userId: string;
  role: Role;
  timeZone: string;
}

const hashOf = (code: string) => createHash('sha256').update(code).digest('hex');
const nowOf = (deps: LinkDeps) => (deps.now ? deps.now() : new Date());

/** A one-time code that links the chat it is sent from to the caller (a person, not an API key alone). */
export async function createLinkCode(
  deps: LinkDeps,
  ctx: LinkContext,
  channel: ChannelName,
): Promise<{ code: string; channel: ChannelName; expiresAt: string }> {
  // An API key is not a person: a chat linked through one would act as its creator unseen.
  if (!ctx.userId || ctx.actorKind === 'api_key')
    throw new HeraldError('forbidden', { message: 'Only a signed-in person can link a chat to themselves' });
  const code = randomBytes(LINK_CODE_BYTES).toString('base64url');
  const expiresAt = new Date(nowOf(deps).getTime() + LINK_CODE_TTL_MS);
  await deps.db.insert(schema.channelLinkCodes).values({
    codeHash: hashOf(code),
    workspaceId: ctx.workspaceId,
    userId: ctx.userId,
    channel,
    expiresAt,
  });
  await auditAs(deps.db, ctx, 'channel.link_code_created', { type: 'user', id: ctx.userId }, { channel });
  return { code, channel, expiresAt: expiresAt.toISOString() };
}

/**
 * Redeems `code` for the chat `externalId` of `channel`: the chat is linked to the code's
 * member (replacing any earlier link of that chat). Unknown, used, expired or another
 * platform's code: `link_code_invalid`, nothing changes.
 */
export async function redeemLinkCode(
  deps: LinkDeps,
  channel: ChannelName,
  externalId: string,
  code: string,
): Promise<LinkedMember> {
  const now = nowOf(deps);
  const c = schema.channelLinkCodes;
  const linked = await deps.db.transaction(async (tx) => {
    // Marking the code used is the claim: of two chats racing with one code, one wins.
    const [row] = await tx
      .update(c)
      .set({ usedAt: now })
      .where(and(eq(c.codeHash, hashOf(code)), eq(c.channel, channel), isNull(c.usedAt), gt(c.expiresAt, now)))
      .returning();
    if (!row) return undefined;
    const l = schema.channelLinks;
    await tx
      .insert(l)
      .values({ workspaceId: row.workspaceId, userId: row.userId, channel, externalId })
      .onConflictDoUpdate({
        target: [l.channel, l.externalId],
        set: { workspaceId: row.workspaceId, userId: row.userId, createdAt: now },
      });
    return row;
  });
  if (!linked) throw new HeraldError('link_code_invalid');
  await auditAs(
    deps.db,
    { workspaceId: linked.workspaceId, userId: linked.userId, channel },
    'channel.linked',
    { type: 'user', id: linked.userId },
    { channel },
  );
  const member = await linkedMember(deps, channel, externalId);
  if (!member)
    throw new HeraldError('link_code_invalid', { message: 'The member who made the code left the workspace' });
  return member;
}

/** Who the chat acts as, or undefined when it is not linked (or its member left the workspace). */
export async function linkedMember(
  deps: LinkDeps,
  channel: ChannelName,
  externalId: string,
): Promise<LinkedMember | undefined> {
  const l = schema.channelLinks;
  const m = schema.memberships;
  const u = schema.users;
  const [row] = await deps.db
    .select({ workspaceId: l.workspaceId, userId: l.userId, role: m.role, timeZone: u.timeZone })
    .from(l)
    .innerJoin(m, and(eq(m.workspaceId, l.workspaceId), eq(m.userId, l.userId)))
    .innerJoin(u, eq(u.id, l.userId))
    .where(and(eq(l.channel, channel), eq(l.externalId, externalId)))
    .limit(1);
  return row;
}

/** Removes the caller's links on `channel` in this workspace; how many there were. */
export async function unlinkChannel(
  deps: LinkDeps,
  ctx: LinkContext,
  channel: ChannelName,
): Promise<{ removed: number }> {
  if (!ctx.userId) throw new HeraldError('forbidden', { message: 'Only a person has chat links' });
  const l = schema.channelLinks;
  const gone = await deps.db
    .delete(l)
    .where(and(eq(l.workspaceId, ctx.workspaceId), eq(l.userId, ctx.userId), eq(l.channel, channel)))
    .returning({ id: l.id });
  if (gone.length > 0) await auditAs(deps.db, ctx, 'channel.unlinked', { type: 'user', id: ctx.userId }, { channel });
  return { removed: gone.length };
}

/**
 * Where a member is reached on `channel` in a workspace: the external ids of their links
 * (Telegram chat ids, Slack `<team>:<user>`), only while they are still a member there. Used to
 * deliver notifications; linking is the member's choice, unlinking stops delivery.
 */
export async function linksOfMember(
  deps: LinkDeps,
  channel: ChannelName,
  workspaceId: string,
  userId: string,
): Promise<string[]> {
  const l = schema.channelLinks;
  const m = schema.memberships;
  const rows = await deps.db
    .select({ externalId: l.externalId })
    .from(l)
    .innerJoin(m, and(eq(m.workspaceId, l.workspaceId), eq(m.userId, l.userId)))
    .where(and(eq(l.channel, channel), eq(l.workspaceId, workspaceId), eq(l.userId, userId)));
  return rows.map((r) => r.externalId);
}
