/**
 * Connected social accounts as the API shows them (never their credentials), and
 * disconnecting one: its tokens are forgotten and its posts that have not gone out yet are
 * cancelled, so nothing tries to publish through an account the user removed.
 */
import { and, eq, inArray } from 'drizzle-orm';
import {
  getSocialAccount,
  HeraldError,
  requireRole,
  listSocialAccounts,
  readCredentials,
  schema,
  setSocialAccountStatus,
  writeCredentials,
  type Role,
  type SecretCipher,
} from '../../core/index.js';
import type { AccountLinker } from '../../connectors/connect.js';

/** What disconnecting needs of a linker: ending the account's tokens at the platform, when it can. */
export type AccountRevoker = Pick<AccountLinker, 'revoke'>;
import { audit, emitStatus, type SchedulingDeps, type ServiceContext } from '../scheduling/context.js';

export interface AccountsContext extends ServiceContext {
  role: Role;
}

type Account = Awaited<ReturnType<typeof listSocialAccounts>>[number];
/** What the API shows: everything but anything about credentials. */
const view = ({ credentialsKeyId: _k, ...rest }: Account) => rest;

export async function listAccounts(
  deps: SchedulingDeps,
  ctx: AccountsContext,
  opts: { includeDisconnected?: boolean | undefined } = {},
) {
  requireRole(ctx, 'viewer');
  const rows = await listSocialAccounts(deps.db, ctx.workspaceId, {
    includeDisconnected: opts.includeDisconnected === true,
  });
  return rows.map(view);
}

export async function getAccount(deps: SchedulingDeps, ctx: AccountsContext, accountId: string) {
  requireRole(ctx, 'viewer');
  const account = await getSocialAccount(deps.db, ctx.workspaceId, accountId);
  if (!account) throw new HeraldError('not_found', { message: `No social account ${accountId} in this workspace` });
  return view(account);
}

/**
 * What the account's platform accepts, as the scheduler checks it (connectors/contract.ts
 * `Capabilities`): text rule and length, media count, size, types and alt-text length,
 * threads. Clients show these limits (the console's composer); the server still validates.
 */
export async function getAccountCapabilities(deps: SchedulingDeps, ctx: AccountsContext, accountId: string) {
  requireRole(ctx, 'viewer');
  const account = await getSocialAccount(deps.db, ctx.workspaceId, accountId);
  if (!account) throw new HeraldError('not_found', { message: `No social account ${accountId} in this workspace` });
  const c = deps.connectors.get(account.platform).capabilities(account);
  return { socialAccountId: account.id, platform: c.platform, text: c.text, media: c.media, threads: c.threads };
}

/** How long disconnecting waits for the platform to revoke the tokens. */
const REVOKE_TIMEOUT_MS = 5_000;

/**
 * Disconnects an account (admin): revokes its tokens at the platform when the platform
 * offers revocation (best effort: a platform that fails or is slow does not keep the account
 * connected; the outcome is reported), forgets them, and cancels its unpublished posts.
 */
export async function disconnectAccount(
  deps: SchedulingDeps & { cipher: SecretCipher; linkers?: ReadonlyMap<string, AccountRevoker> | undefined },
  ctx: AccountsContext,
  accountId: string,
): Promise<{ id: string; status: 'disconnected'; cancelledTargets: number; revokedAtPlatform: boolean | null }> {
  requireRole(ctx, 'admin');
  const account = await getAccount(deps, ctx, accountId);
  let revokedAtPlatform: boolean | null = null;
  let revokeError: string | null = null;
  const linker = deps.linkers?.get(account.platform);
  if (linker?.revoke && account.status !== 'disconnected') {
    try {
      const credentials = await readCredentials(deps.db, deps.cipher, ctx.workspaceId, accountId);
      if (credentials && Object.keys(credentials).length > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          linker.revoke(credentials, account.metadata),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${REVOKE_TIMEOUT_MS} ms`)), REVOKE_TIMEOUT_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        revokedAtPlatform = true;
      }
    } catch (err) {
      revokedAtPlatform = false;
      revokeError = err instanceof Error ? err.message : String(err);
    }
  }
  await writeCredentials(deps.db, deps.cipher, ctx.workspaceId, accountId, {}, null);
  await setSocialAccountStatus(deps.db, ctx.workspaceId, accountId, 'disconnected');
  const t = schema.postTargets;
  const cancelled = await deps.db
    .update(t)
    .set({ status: 'cancelled', updatedAt: new Date() })
    .where(
      and(
        eq(t.workspaceId, ctx.workspaceId),
        eq(t.socialAccountId, accountId),
        inArray(t.status, ['draft', 'pending_approval', 'scheduled']),
      ),
    )
    .returning();
  for (const row of cancelled) await deps.queue.remove(row.id);
  await audit(
    deps,
    ctx,
    'social_account.disconnect',
    { type: 'social_account', id: accountId },
    {
      platform: account.platform,
      handle: account.handle,
      cancelledTargets: cancelled.map((r) => r.id),
      revokedAtPlatform,
      ...(revokeError ? { revokeError } : {}),
    },
  );
  for (const row of cancelled) await emitStatus(deps.events, row, null);
  return { id: accountId, status: 'disconnected', cancelledTargets: cancelled.length, revokedAtPlatform };
}
