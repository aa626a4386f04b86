/**
 * Confirming an earlier attempt whose outcome is unknown: the connector's `lookup`, read as
 * one of four answers the worker can act on. A lookup is a call to the platform like any
 * other, so it fails like one: a platform that withholds reading (LinkedIn's restricted
 * `r_member_social`, X's `client-forbidden` for some apps) or a lookup that could not see
 * everything makes the answer "cannot be sure", never "not there" — only a sure "not there"
 * lets the worker publish again.
 */
import {
  finishAttempt,
  transitionTarget,
  type PostTarget,
  type PublishAttempt,
  type SocialAccount,
} from '../../core/index.js';
import {
  isConnectorError,
  type AccountContext,
  type Connector,
  type ConnectorError,
  type Draft,
  type PublishJournal,
  type PublishResult,
} from '../../connectors/index.js';
import { move, published, type Outcome, type RunInfo } from './outcome.js';
import type { PublishWorkerDeps } from './worker-deps.js';

export type Confirmation =
  /** The post is on the platform, every part of it. */
  | { kind: 'found'; result: PublishResult }
  /** The platform's answer proves the post is not there: publishing again is safe. */
  | { kind: 'absent' }
  /** Herald cannot tell; `message` says why, for the user. */
  | { kind: 'unsure'; message: string; error?: ConnectorError }
  /** The lookup itself hit a rate limit or a transient error: try again later. */
  | { kind: 'wait'; error: ConnectorError };

export async function confirmEarlierAttempt(
  connector: Connector,
  ctx: AccountContext,
  input: Draft,
  key: string,
  since: Date,
  journal?: PublishJournal,
): Promise<Confirmation> {
  let found: PublishResult | null;
  try {
    found = await connector.lookup(ctx, input, key, since, journal);
  } catch (err) {
    if (!isConnectorError(err)) throw err;
    if (err.kind === 'rate_limited' || err.kind === 'transient') return { kind: 'wait', error: err };
    return { kind: 'unsure', message: `Herald could not look the post up: ${err.message}`, error: err };
  }
  if (found && found.parts.length >= input.parts.length) return { kind: 'found', result: found };
  if (connector.capabilities(ctx).lookupIsAuthoritative) return { kind: 'absent' };
  return { kind: 'unsure', message: `${connector.platform} cannot show Herald whether the post is there` };
}

/** How soon a post found still processing is checked again (the next run polls at the connector's pace). */
const FOUND_PROCESSING_RECHECK_MS = 5_000;

/**
 * An earlier attempt's post, found: published, or — found still processing on the platform
 * (an upload finished, the platform not done with it) — recorded so the next run polls it.
 */
export async function acceptFound(
  deps: PublishWorkerDeps,
  target: PostTarget,
  attempt: PublishAttempt,
  result: PublishResult,
): Promise<Outcome> {
  await finishAttempt(deps.db, target.workspaceId, attempt.id, {
    outcome: 'succeeded',
    platformPostId: result.platformPostId,
  });
  if (result.status === 'processing') {
    await transitionTarget(deps.db, target.workspaceId, target.id, ['publishing'], 'publishing', {
      platformPostId: result.platformPostId,
      platformUrl: result.url,
    });
    return { kind: 'defer', until: Date.now() + FOUND_PROCESSING_RECHECK_MS, reason: 'platform processing' };
  }
  return published(deps, target, result);
}

/** Posts looked up from a minute before the attempt began (clocks differ). */
export const lookupSince = (attempt: Pick<PublishAttempt, 'startedAt'>) =>
  new Date(attempt.startedAt.getTime() - 60_000);

/**
 * Acting on a confirmation that is not "absent": found is published (the attempt recorded as
 * succeeded); a lookup that hit a limit or a transient error waits; anything else is
 * `unconfirmed`, with a message that tells the user what to check.
 */
export async function settle(
  deps: PublishWorkerDeps,
  target: PostTarget,
  account: SocialAccount,
  seen: Exclude<Confirmation, { kind: 'absent' }>,
  attempt: PublishAttempt,
  run: RunInfo,
  opts: { duplicate?: ConnectorError } = {},
): Promise<Outcome> {
  if (seen.kind === 'found') return acceptFound(deps, target, attempt, seen.result);
  if (seen.kind === 'wait' && seen.error.kind === 'rate_limited' && 'retryAt' in seen.error) {
    const retryAt = seen.error.retryAt as Date;
    await deps.gate.pause(account.id, retryAt);
    return {
      kind: 'defer',
      until: retryAt.getTime() + Math.floor(Math.random() * 1_000),
      reason: 'platform rate limit',
    };
  }
  if (seen.kind === 'wait' && !run.lastTry) return { kind: 'retry', error: seen.error };
  const why = seen.kind === 'wait' ? `Herald could not look the post up: ${seen.error.message}` : seen.message;
  const message = opts.duplicate
    ? `${account.platform} answered that @${account.handle} already has this post, so an earlier attempt most likely published it, but Herald could not find it${why ? ` (${why})` : ''}; check @${account.handle}`
    : `An earlier attempt may have reached ${account.platform} and Herald cannot confirm it (${why}); check @${account.handle} before posting again`;
  return move(
    deps,
    target,
    'unconfirmed',
    {},
    {
      kind: 'unconfirmed',
      message,
      ...(seen.kind !== 'unsure' || !seen.error ? {} : seen.error.reason ? { reason: seen.error.reason } : {}),
      ...(opts.duplicate?.platformMessage ? { platformMessage: opts.duplicate.platformMessage } : {}),
    },
  );
}
