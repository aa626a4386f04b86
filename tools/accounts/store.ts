/**
 * Storing an account a platform has just linked, whichever way it was linked (OAuth callback,
 * app-password sign-in): one row per platform account (reconnecting updates it and sets it
 * `active` again), credentials sealed by `upsertSocialAccount`, an audit record, and an
 * `account.status` event for the workspace's sockets.
 */
import { and, eq } from 'drizzle-orm';
import {
  appendAudit,
  readCredentials,
  schema,
  upsertSocialAccount,
  type Db,
  type EventBus,
  type SecretCipher,
} from '../../core/index.js';
import type { LinkedAccount } from '../../connectors/index.js';

export interface ConnectedView {
  id: string;
  platform: string;
  handle: string;
  workspaceId: string;
  reconnected: boolean;
}

export interface StoreDeps {
  db: Db;
  cipher: SecretCipher;
  events: EventBus | null;
  now?: () => Date;
}

export async function storeLinkedAccount(
  deps: StoreDeps,
  ctx: { workspaceId: string; userId: string | null; channel: string },
  platform: string,
  linked: LinkedAccount,
): Promise<ConnectedView> {
  const existing = await findAccount(deps.db, ctx.workspaceId, platform, linked.externalId);
  let credentials = linked.credentials;
  if (existing && typeof credentials.refreshToken !== 'string') {
    // Platforms that send no new refresh token on re-consent keep honouring the old one.
    const before = await readCredentials(deps.db, deps.cipher, ctx.workspaceId, existing.id).catch(() => undefined);
    if (typeof before?.refreshToken === 'string') credentials = { ...credentials, refreshToken: before.refreshToken };
  }
  const account = await upsertSocialAccount(deps.db, deps.cipher, ctx.workspaceId, {
    platform,
    externalId: linked.externalId,
    handle: linked.handle,
    displayName: linked.displayName,
    avatarUrl: linked.avatarUrl,
    credentials,
    tokenExpiresAt: linked.expiresAt,
    scopes: linked.scopes,
    metadata: linked.metadata,
  });
  await appendAudit(deps.db, ctx.workspaceId, {
    actorKind: ctx.userId ? 'user' : 'system',
    actorId: ctx.userId,
    channel: ctx.channel,
    action: existing ? 'social_account.reconnect' : 'social_account.connect',
    subjectType: 'social_account',
    subjectId: account.id,
    details: { platform: account.platform, handle: account.handle },
  });
  await deps.events?.publish({
    type: 'account.status',
    workspaceId: ctx.workspaceId,
    socialAccountId: account.id,
    platform: account.platform,
    status: 'active',
    reason: existing ? 'reconnected' : 'connected',
    at: (deps.now?.() ?? new Date()).toISOString(),
  });
  return {
    id: account.id,
    platform: account.platform,
    handle: account.handle,
    workspaceId: ctx.workspaceId,
    reconnected: !!existing,
  };
}

async function findAccount(db: Db, workspaceId: string, platform: string, externalId: string) {
  const a = schema.socialAccounts;
  const [row] = await db
    .select({ id: a.id })
    .from(a)
    .where(and(eq(a.workspaceId, workspaceId), eq(a.platform, platform), eq(a.externalId, externalId)));
  return row;
}
