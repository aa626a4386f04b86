/**
 * Publishing one target, exactly once. The steps, each safe to repeat after a crash:
 *
 * 1. Re-read the target. Only `scheduled` (moved to `publishing` by compare-and-set) or
 *    `publishing` (a retry or a recovery after a crash) go on; anything else is a no-op.
 * 2. If an earlier attempt's outcome is unknown (the process died mid-call, or the call timed
 *    out after sending), never retry blindly: repeat with the same idempotency key only when
 *    the platform deduplicates it (always, or still within its window); otherwise look the
 *    post up — found means published, not found on an authoritative lookup means retry,
 *    anything else means `unconfirmed` and the user is told.
 * 3. Journal the attempt (`pending`) before calling the platform, then record its outcome.
 *    Every write the connector makes for it first checks the attempt is still `pending`
 *    (connectors/fence.ts): a worker that lost its lock while starved, and whose attempt
 *    another worker has since marked `unknown`, stops instead of posting a second time.
 *
 * The idempotency key sent to platforms is the target id: the same on every attempt.
 */
import {
  attemptStillPending,
  claimDueTarget,
  completePublished,
  finishAttempt,
  getAccountWithCredentials,
  getTarget,
  listAttempts,
  setSocialAccountStatus,
  startAttempt,
  transitionTarget,
  writeCredentials,
  type PostTarget,
  type PublishAttempt,
  type SocialAccount,
} from '../../core/index.js';
import {
  AttemptSuperseded,
  AuthExpired,
  isConnectorError,
  supersededIn,
  withFence,
  type AccountContext,
  type Connector,
  type Credentials,
  type PublishInput,
  type PublishJournal,
  type ConnectorError,
} from '../../connectors/index.js';
import { emitStatus } from '../scheduling/context.js';
import { acceptFound, confirmEarlierAttempt, lookupSince, settle } from './confirm.js';
import { describe, move, published, type Outcome, type RunInfo } from './outcome.js';
import { publishInputFor } from './draft.js';
import { journalFor } from './handles.js';
import type { PublishWorkerDeps } from './worker-deps.js';

export type { Outcome, RunInfo } from './outcome.js';

/** Stay this far inside a platform's idempotency window before trusting it. */
const WINDOW_MARGIN_MS = 5 * 60_000;
/** How often a post that the platform is still processing is checked. */
export const STATUS_POLL_MS = 5_000;
/** Give up waiting for asynchronous processing after this long. */
export const STATUS_POLL_LIMIT_MS = 30 * 60_000;

export async function publishTarget(
  deps: PublishWorkerDeps,
  workspaceId: string,
  targetId: string,
  run: RunInfo,
): Promise<Outcome> {
  // The common case in one round trip: a due `scheduled` target becomes `publishing`.
  let target = await claimDueTarget(deps.db, workspaceId, targetId);
  // Claimed just now: a target only reaches `scheduled` with no attempt left open.
  const fresh = !!target;
  if (target) {
    await emitStatus(deps.events, target, 'scheduled');
  } else {
    target = await getTarget(deps.db, workspaceId, targetId);
    if (!target) return { kind: 'done', status: 'noop' };
    // Not due yet: the post was moved later while its job was being picked up.
    if (target.status === 'scheduled' && target.scheduledAt) {
      return { kind: 'defer', until: target.scheduledAt.getTime(), reason: 'rescheduled later' };
    }
    if (target.status !== 'publishing') return { kind: 'done', status: 'noop' };
  }

  const found = await getAccountWithCredentials(deps.db, deps.cipher, workspaceId, target.socialAccountId);
  if (!found || found.account.status !== 'active') {
    const account = found?.account;
    return move(
      deps,
      target,
      'failed',
      {},
      {
        kind: 'account_unavailable',
        message: account
          ? `@${account.handle} ${account.status === 'needs_reconnect' ? 'needs reconnecting' : 'is disconnected'}`
          : 'The account was removed',
      },
    );
  }
  const { account, credentials } = found;
  const connector = deps.connectors.get(account.platform);
  const caps = connector.capabilities(account);

  const pausedUntil = await deps.gate.pausedUntil(account.id);
  if (pausedUntil)
    return { kind: 'defer', until: pausedUntil + Math.floor(Math.random() * 500), reason: 'account rate-limited' };
  const release = await deps.gate.acquire(account.id, caps.concurrencyPerAccount, run.holder);
  if (!release)
    return { kind: 'defer', until: Date.now() + 50 + Math.floor(Math.random() * 200), reason: 'account busy' };
  try {
    return await publishHoldingSlot(deps, target, account, credentials, connector, run, fresh);
  } finally {
    await release();
  }
}

async function publishHoldingSlot(
  deps: PublishWorkerDeps,
  target: PostTarget,
  account: SocialAccount,
  credentials: Credentials,
  connector: Connector,
  run: RunInfo,
  fresh: boolean,
): Promise<Outcome> {
  const ws = target.workspaceId;
  const key = target.id;
  const caps = connector.capabilities(account);
  let ctx: AccountContext = {
    accountId: account.id,
    externalId: account.externalId,
    handle: account.handle,
    credentials,
    metadata: account.metadata,
  };
  const attempts = fresh ? [] : await listAttempts(deps.db, ws, target.id); // newest first
  const input = await publishInputFor(deps.db, deps.mediaStore, ws, target, {
    streamsVideo: caps.media.streamsVideo === true,
  });
  // The platform's own handle (upload session, publish id) survives attempts and crashes.
  const journal = journalFor(deps, target, account.platform);
  const polling = caps.processing ?? { pollMs: STATUS_POLL_MS, giveUpAfterMs: STATUS_POLL_LIMIT_MS };
  // Asynchronous publishing in progress: settle it instead of publishing again.
  const last = attempts[0];
  if (last?.outcome === 'succeeded' && last.platformPostId) {
    let state: Awaited<ReturnType<Connector['checkStatus']>>;
    try {
      state = await connector.checkStatus(ctx, last.platformPostId);
    } catch (err) {
      // The platform said why it failed the post (TikTok's fail_reason): failed, with its words.
      if (isConnectorError(err) && (err.kind === 'invalid_content' || err.kind === 'permanent'))
        return move(deps, target, 'failed', {}, describe(err));
      throw err;
    }
    if (state === 'published')
      return published(deps, target, { platformPostId: last.platformPostId, url: target.platformUrl });
    if (state === 'failed')
      return move(
        deps,
        target,
        'failed',
        {},
        { kind: 'permanent', message: `${account.platform} could not process the post` },
      );
    if (Date.now() - last.startedAt.getTime() > polling.giveUpAfterMs) {
      const minutes = Math.round(polling.giveUpAfterMs / 60_000);
      return move(
        deps,
        target,
        'unconfirmed',
        {},
        { kind: 'unconfirmed', message: `${account.platform} is still processing the post after ${minutes} minutes` },
      );
    }
    return { kind: 'defer', until: Date.now() + polling.pollMs, reason: 'platform still processing' };
  }

  // An earlier attempt may have reached the platform.
  const uncertain = attempts.filter((a) => a.outcome === 'pending' || a.outcome === 'unknown');
  const oldest = uncertain[uncertain.length - 1];
  if (oldest) {
    for (const a of uncertain.filter((x) => x.outcome === 'pending'))
      await finishAttempt(deps.db, ws, a.id, { outcome: 'unknown' });
    const idem = caps.idempotency;
    const repeatIsSafe =
      idem.kind === 'permanent' ||
      (idem.kind === 'window' && Date.now() - oldest.startedAt.getTime() < idem.ms - WINDOW_MARGIN_MS);
    if (!repeatIsSafe) {
      const seen = await confirmEarlierAttempt(connector, ctx, input, key, lookupSince(oldest), journal);
      if (seen.kind !== 'absent') return settle(deps, target, account, seen, oldest, run);
    }
  }

  let refreshed = false;
  for (;;) {
    const attempt = await startAttempt(deps.db, ws, target.id, key);
    const fence = async () => {
      if (!(await attemptStillPending(deps.db, ws, attempt.id))) throw new AttemptSuperseded();
    };
    try {
      const result = await withFence(fence, () => connector.publish(ctx, input, key, journal));
      if (result.status === 'processing') {
        await finishAttempt(deps.db, ws, attempt.id, { outcome: 'succeeded', platformPostId: result.platformPostId });
        await transitionTarget(deps.db, ws, target.id, ['publishing'], 'publishing', {
          platformPostId: result.platformPostId,
          platformUrl: result.url,
        });
        return { kind: 'defer', until: Date.now() + polling.pollMs, reason: 'platform processing' };
      }
      // Attempt and target recorded together, in one round trip.
      const done = await completePublished(deps.db, ws, attempt.id, target.id, result);
      if (done) await emitStatus(deps.events, done, 'publishing');
      return { kind: 'done', status: done ? 'published' : 'noop' };
    } catch (err) {
      // Another worker holds the target now (connectors/fence.ts): nothing of this run is recorded,
      // whatever the connector made of the refusal (Bluesky's client wraps it as a platform error).
      const superseded = supersededIn(err);
      if (superseded) throw superseded;
      if (!isConnectorError(err)) throw err; // database or programming error: the attempt stays pending, the job retries
      await finishAttempt(deps.db, ws, attempt.id, {
        outcome: err.mayHaveSucceeded ? 'unknown' : 'failed',
        error: describe(err),
      });
      if (oldest && err.reason === 'duplicate' && err.part === undefined) {
        // The platform already holds this text, and an earlier attempt may have put it there:
        // published, to be found — not a refused post.
        const seen = await confirmEarlierAttempt(connector, ctx, input, key, lookupSince(oldest), journal);
        return settle(
          deps,
          target,
          account,
          seen.kind === 'absent' ? { kind: 'unsure', message: '' } : seen,
          oldest,
          run,
          {
            duplicate: err,
          },
        );
      }
      if (err instanceof AuthExpired && !err.reconnect && !refreshed) {
        refreshed = true;
        try {
          const fresh = await connector.refresh(ctx);
          await writeCredentials(deps.db, deps.cipher, ws, account.id, fresh.credentials, fresh.expiresAt);
          ctx = { ...ctx, credentials: fresh.credentials };
          continue;
        } catch (refreshErr) {
          return needsReconnect(deps, target, account, refreshErr);
        }
      }
      return handleFailure(deps, target, account, connector, ctx, err, run, attempt, input, journal);
    }
  }
}

async function needsReconnect(
  deps: PublishWorkerDeps,
  target: PostTarget,
  account: SocialAccount,
  err: unknown,
): Promise<Outcome> {
  const reason = isConnectorError(err) ? err.message : 'the token could not be refreshed';
  await setSocialAccountStatus(deps.db, target.workspaceId, account.id, 'needs_reconnect');
  await deps.events?.publish({
    type: 'account.status',
    workspaceId: target.workspaceId,
    socialAccountId: account.id,
    platform: account.platform,
    status: 'needs_reconnect',
    reason,
    at: new Date().toISOString(),
  });
  return move(
    deps,
    target,
    'failed',
    {},
    { kind: 'auth_expired', message: `@${account.handle} needs reconnecting: ${reason}` },
  );
}

async function handleFailure(
  deps: PublishWorkerDeps,
  target: PostTarget,
  account: SocialAccount,
  connector: Connector,
  ctx: AccountContext,
  err: ConnectorError,
  run: RunInfo,
  attempt: PublishAttempt,
  input: PublishInput,
  journal: PublishJournal,
): Promise<Outcome> {
  switch (err.kind) {
    case 'rate_limited': {
      const retryAt = 'retryAt' in err ? (err.retryAt as Date) : new Date(Date.now() + 60_000);
      await deps.gate.pause(account.id, retryAt);
      return {
        kind: 'defer',
        until: retryAt.getTime() + Math.floor(Math.random() * 1_000),
        reason: 'platform rate limit',
      };
    }
    case 'auth_expired':
      return needsReconnect(deps, target, account, err);
    case 'invalid_content':
    case 'permanent': {
      // Only a rule that no retry changes: other refusals leave the target failed, to be
      // published again (per-part keys keep that from duplicating where the platform has them).
      const first =
        (err.reason === 'reply_restricted' || err.reason === 'duplicate') && err.part !== undefined && err.part > 0
          ? err.publishedParts?.[0]
          : undefined;
      if (first) {
        // A thread whose later part X's reply rules refused, or refused as a duplicate: the
        // first parts are live, so the target is published and the error says what is missing
        // (publishing it again would only meet the same refusal).
        const duplicate =
          err.reason === 'duplicate'
            ? ` (${account.platform} answered that @${account.handle} already has part ${err.part! + 1}: an earlier attempt may have posted it, or an older post has the same text; check @${account.handle})`
            : '';
        return move(
          deps,
          target,
          'published',
          { publishedAt: new Date(), platformPostId: first.platformPostId, platformUrl: first.url },
          {
            ...describe(err),
            kind: 'thread_incomplete',
            message: `Parts 1-${err.part!} are published; parts ${err.part! + 1}-${input.parts.length} are not${duplicate}: ${err.message}`,
          },
        );
      }
      return move(deps, target, 'failed', {}, describe(err));
    }
    case 'transient': {
      if (!run.lastTry) return { kind: 'retry', error: err };
      if (err.mayHaveSucceeded) {
        const seen = await confirmEarlierAttempt(connector, ctx, input, target.id, lookupSince(attempt), journal);
        if (seen.kind === 'found') return acceptFound(deps, target, attempt, seen.result);
        if (seen.kind !== 'absent') {
          const why = seen.kind === 'unsure' ? ` (${seen.message})` : '';
          return move(
            deps,
            target,
            'unconfirmed',
            {},
            {
              ...describe(err),
              kind: 'unconfirmed',
              message: `Gave up after repeated errors; the last one may have reached ${account.platform}${why}: ${err.message}`,
            },
          );
        }
      }
      return move(
        deps,
        target,
        'failed',
        {},
        { ...describe(err), message: `Gave up after repeated errors: ${err.message}` },
      );
    }
  }
}
