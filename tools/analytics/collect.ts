/**
 * Metrics collection, one read at a time: a published target's counters at one stage of its
 * decaying schedule, or an account's audience for one day. Each read is stored as a new row
 * (never overwritten) with what happened: counters (`ok`), the post is gone (`deleted`: later
 * stages stop), a permission is missing (`forbidden`), or the platform could not be reached
 * (`unreachable`, on the job's last try). A 429 is not stored: the caller defers the job to the
 * platform's reset time and pauses the account for publishing too, since both share the
 * account's budget; publishing keeps priority because metrics only run in a free slot.
 */
import { and, eq } from 'drizzle-orm';
import {
  getAccountWithCredentials,
  schema,
  type Db,
  type Logger,
  type SecretCipher,
  type SocialAccount,
  type Credentials,
} from '../../core/index.js';
import { isConnectorError, RateLimited, type AccountContext, type ConnectorRegistry } from '../../connectors/index.js';
import type { AccountGate } from '../publishing/account-gate.js';

/** The decaying schedule: how long after publishing each snapshot is read. */
export const DEFAULT_STAGES: ReadonlyArray<{ name: string; afterMs: number }> = [
  { name: '1h', afterMs: 3_600_000 },
  { name: '6h', afterMs: 6 * 3_600_000 },
  { name: '24h', afterMs: 24 * 3_600_000 },
  { name: '72h', afterMs: 72 * 3_600_000 },
  { name: '7d', afterMs: 7 * 86_400_000 },
  { name: '30d', afterMs: 30 * 86_400_000 },
];

/** How long a metrics read waits when every slot of the account is busy publishing. */
export const BUSY_RETRY_MS = 2_000;

/** A published post's counters as just stored (`ok` snapshots only). */
export interface MeasuredPost {
  workspaceId: string;
  targetId: string;
  stage: string;
  metrics: { likes: number; reposts: number; replies: number; quotes?: number; impressions?: number };
  at: Date;
}

export interface CollectDeps {
  db: Db;
  cipher: SecretCipher;
  connectors: ConnectorRegistry;
  gate: AccountGate;
  logger: Logger;
  /**
   * Told of each stored `ok` snapshot, after it is stored (the runtime passes knowledge's
   * past-post update, so searching past posts shows how they did). A failure here is logged and
   * never fails or repeats the read.
   */
  onMeasured?: (m: MeasuredPost) => Promise<void>;
}

export type CollectOutcome =
  | { kind: 'stored'; status: 'ok' | 'forbidden' | 'unreachable' }
  /** The post is gone: stored as `deleted`; no later stage should run. */
  | { kind: 'stopped'; status: 'deleted' }
  /** Nothing to read (target not published, account gone or unsupported) or already stored. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'defer'; until: number; reason: string }
  | { kind: 'retry'; error: Error };

const contextOf = (account: SocialAccount, credentials: Credentials): AccountContext => ({
  accountId: account.id,
  externalId: account.externalId,
  handle: account.handle,
  credentials,
  metadata: account.metadata,
});

/** A platform answer that says the post is not there any more. */
const isGone = (err: unknown) => isConnectorError(err) && (err.status === 404 || err.status === 410);
const isForbidden = (err: unknown) =>
  isConnectorError(err) && (err.reason === 'permission_missing' || err.status === 403);

/**
 * Runs `read` for the account holding one of its slots, unless publishing has it paused or
 * busy; a 429 pauses the account and defers.
 */
async function withAccount<T>(
  deps: CollectDeps,
  workspaceId: string,
  accountId: string,
  holder: string,
  read: (ctx: AccountContext, account: SocialAccount) => Promise<T>,
): Promise<{ value: T } | CollectOutcome> {
  const found = await getAccountWithCredentials(deps.db, deps.cipher, workspaceId, accountId);
  if (!found || found.account.status !== 'active') return { kind: 'skipped', reason: 'account not active' };
  const { account, credentials } = found;
  const pausedUntil = await deps.gate.pausedUntil(account.id);
  if (pausedUntil) return { kind: 'defer', until: pausedUntil + 250, reason: 'account rate-limited' };
  const caps = deps.connectors.get(account.platform).capabilities(account);
  const release = await deps.gate.acquire(account.id, caps.concurrencyPerAccount, holder);
  if (!release) return { kind: 'defer', until: Date.now() + BUSY_RETRY_MS, reason: 'account busy' };
  try {
    return { value: await read(contextOf(account, credentials), account) };
  } catch (err) {
    if (err instanceof RateLimited) {
      await deps.gate.pause(account.id, err.retryAt);
      return { kind: 'defer', until: err.retryAt.getTime(), reason: 'rate limited' };
    }
    throw err;
  } finally {
    await release();
  }
}

/** Reads and stores one snapshot of a published target. */
export async function collectTargetMetrics(
  deps: CollectDeps,
  job: { workspaceId: string; targetId: string; stage: string; holder: string; lastTry: boolean },
): Promise<CollectOutcome> {
  const { db } = deps;
  const t = schema.postTargets;
  const [target] = await db
    .select()
    .from(t)
    .where(and(eq(t.workspaceId, job.workspaceId), eq(t.id, job.targetId)));
  if (!target || target.status !== 'published' || !target.platformPostId)
    return { kind: 'skipped', reason: 'target not published' };
  const m = schema.metricSnapshots;
  const store = async (
    row: Partial<typeof m.$inferInsert> & { status: 'ok' | 'deleted' | 'forbidden' | 'unreachable' },
  ) => {
    await db
      .insert(m)
      .values({
        workspaceId: target.workspaceId,
        targetId: target.id,
        socialAccountId: target.socialAccountId,
        platform: target.platform,
        stage: job.stage,
        fetchedAt: new Date(),
        ...row,
      })
      .onConflictDoNothing();
  };
  const postId = target.platformPostId;
  try {
    const read = await withAccount(deps, job.workspaceId, target.socialAccountId, job.holder, (ctx, account) =>
      deps.connectors.get(account.platform).fetchMetrics(ctx, postId),
    );
    if (!('value' in read)) return read;
    const v = read.value;
    await store({
      status: 'ok',
      likes: v.likes,
      reposts: v.reposts,
      replies: v.replies,
      quotes: v.quotes ?? null,
      impressions: v.impressions ?? null,
      fetchedAt: v.fetchedAt,
    });
    if (deps.onMeasured) {
      const metrics: MeasuredPost['metrics'] = { likes: v.likes, reposts: v.reposts, replies: v.replies };
      if (v.quotes !== undefined && v.quotes !== null) metrics.quotes = v.quotes;
      if (v.impressions !== undefined && v.impressions !== null) metrics.impressions = v.impressions;
      await deps
        .onMeasured({
          workspaceId: target.workspaceId,
          targetId: target.id,
          stage: job.stage,
          metrics,
          at: v.fetchedAt,
        })
        .catch((err: unknown) =>
          deps.logger.warn({ targetId: target.id, err: { message: (err as Error).message } }, 'onMeasured failed'),
        );
    }
    return { kind: 'stored', status: 'ok' };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (isGone(err)) {
      await store({ status: 'deleted', detail: message });
      return { kind: 'stopped', status: 'deleted' };
    }
    if (isForbidden(err)) {
      await store({ status: 'forbidden', detail: message });
      return { kind: 'stored', status: 'forbidden' };
    }
    if (!job.lastTry && (!isConnectorError(err) || err.kind === 'transient'))
      return { kind: 'retry', error: err instanceof Error ? err : new Error(message) };
    await store({ status: 'unreachable', detail: message });
    deps.logger.warn({ targetId: target.id, stage: job.stage, err: { message } }, 'metrics unreachable');
    return { kind: 'stored', status: 'unreachable' };
  }
}

/** Reads and stores the account's audience for `day` (YYYY-MM-DD, UTC), once. */
export async function collectAccountStats(
  deps: CollectDeps,
  job: { workspaceId: string; accountId: string; day: string; holder: string; lastTry: boolean },
): Promise<CollectOutcome> {
  const a = schema.accountSnapshots;
  const [done] = await deps.db
    .select({ id: a.id })
    .from(a)
    .where(and(eq(a.socialAccountId, job.accountId), eq(a.day, job.day)));
  if (done) return { kind: 'skipped', reason: 'already stored' };
  let platform = '';
  const store = async (
    row: Partial<typeof a.$inferInsert> & { status: 'ok' | 'deleted' | 'forbidden' | 'unreachable' },
  ) => {
    await deps.db
      .insert(a)
      .values({
        workspaceId: job.workspaceId,
        socialAccountId: job.accountId,
        platform,
        day: job.day,
        fetchedAt: new Date(),
        ...row,
      })
      .onConflictDoNothing();
  };
  try {
    const read = await withAccount(deps, job.workspaceId, job.accountId, job.holder, async (ctx, account) => {
      platform = account.platform;
      const connector = deps.connectors.get(account.platform);
      return connector.fetchAccountStats ? connector.fetchAccountStats(ctx) : null;
    });
    if (!('value' in read)) return read;
    if (!read.value) return { kind: 'skipped', reason: `${platform} reports no account counts to Herald` };
    const v = read.value;
    await store({
      status: 'ok',
      followers: v.followers,
      following: v.following,
      posts: v.posts,
      fetchedAt: v.fetchedAt,
    });
    return { kind: 'stored', status: 'ok' };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!job.lastTry && (!isConnectorError(err) || err.kind === 'transient'))
      return { kind: 'retry', error: err instanceof Error ? err : new Error(message) };
    const status = isForbidden(err) ? 'forbidden' : 'unreachable';
    await store({ status, detail: message });
    return { kind: 'stored', status };
  }
}
