/**
 * Refreshing tokens ahead of expiry (a repeatable maintenance job). Every active account
 * whose access token expires within `aheadMs` is refreshed through its connector and the new
 * credentials stored at once (refresh tokens may rotate). A refusal that refreshing cannot
 * fix marks the account `needs_reconnect` and tells its workspace (`account.status` event);
 * a passing failure (network, 5xx, rate limit) leaves it for the next run.
 */
import { and, eq, isNotNull, lte } from 'drizzle-orm';
import {
  getAccountWithCredentials,
  schema,
  setSocialAccountStatus,
  writeCredentials,
  type Db,
  type EventBus,
  type Logger,
  type SecretCipher,
} from '../../core/index.js';
import { AuthExpired, isConnectorError, type ConnectorRegistry } from '../../connectors/index.js';

/** Refresh tokens that expire within this much time. */
export const DEFAULT_REFRESH_AHEAD_MS = 15 * 60_000;
/** How often the job runs. */
export const DEFAULT_REFRESH_EVERY_MS = 5 * 60_000;

export interface TokenRefreshDeps {
  db: Db;
  cipher: SecretCipher;
  connectors: ConnectorRegistry;
  events: EventBus | null;
  logger?: Logger;
  now?: () => Date;
}

export interface TokenRefreshReport {
  refreshed: number;
  needsReconnect: number;
  /** Passing failures, tried again next run. */
  deferred: number;
}

export async function refreshExpiringTokens(
  deps: TokenRefreshDeps,
  opts: { aheadMs?: number } = {},
): Promise<TokenRefreshReport> {
  const now = deps.now?.() ?? new Date();
  const a = schema.socialAccounts;
  const due = await deps.db
    .select({ id: a.id, workspaceId: a.workspaceId, platform: a.platform })
    .from(a)
    .where(
      and(
        eq(a.status, 'active'),
        isNotNull(a.tokenExpiresAt),
        lte(a.tokenExpiresAt, new Date(now.getTime() + (opts.aheadMs ?? DEFAULT_REFRESH_AHEAD_MS))),
      ),
    );
  const report: TokenRefreshReport = { refreshed: 0, needsReconnect: 0, deferred: 0 };
  for (const row of due) {
    if (!deps.connectors.has(row.platform)) continue;
    const found = await getAccountWithCredentials(deps.db, deps.cipher, row.workspaceId, row.id);
    if (!found) continue;
    const { account, credentials } = found;
    const connector = deps.connectors.get(account.platform);
    try {
      const fresh = await connector.refresh({
        accountId: account.id,
        externalId: account.externalId,
        handle: account.handle,
        credentials,
        metadata: account.metadata,
      });
      await writeCredentials(deps.db, deps.cipher, account.workspaceId, account.id, fresh.credentials, fresh.expiresAt);
      report.refreshed++;
    } catch (err) {
      if (!(err instanceof AuthExpired) && !(isConnectorError(err) && err.kind === 'permanent')) {
        report.deferred++;
        deps.logger?.warn(
          { accountId: account.id, platform: account.platform, kind: isConnectorError(err) ? err.kind : 'error' },
          'token refresh deferred',
        );
        continue;
      }
      // Someone else (the publish worker) may have refreshed meanwhile with a rotating token.
      // Compared whole: the token's field name is the platform's (`refreshToken`, Bluesky's `refreshJwt`).
      const now2 = await getAccountWithCredentials(deps.db, deps.cipher, row.workspaceId, row.id);
      if (now2 && JSON.stringify(now2.credentials) !== JSON.stringify(credentials)) continue;
      await setSocialAccountStatus(deps.db, account.workspaceId, account.id, 'needs_reconnect');
      report.needsReconnect++;
      await deps.events?.publish({
        type: 'account.status',
        workspaceId: account.workspaceId,
        socialAccountId: account.id,
        platform: account.platform,
        status: 'needs_reconnect',
        reason: err.message,
        at: new Date().toISOString(),
      });
    }
  }
  return report;
}
