/**
 * The outcomes of publishing a target: what the job runner does next, and the target's moves
 * out of `publishing` with the error recorded beside them (the reason a connector gave
 * included, so the user reads why).
 */
import { transitionTarget, type PostTarget } from '../../core/index.js';
import type { ConnectorError, PublishResult } from '../../connectors/index.js';
import { emitStatus } from '../scheduling/context.js';
import type { PublishWorkerDeps } from './worker-deps.js';

/** What the job runner should do next with the job. */
export type Outcome =
  | { kind: 'done'; status: PostTarget['status'] | 'noop' }
  | { kind: 'defer'; until: number; reason: string }
  | { kind: 'retry'; error: Error };

export interface RunInfo {
  /** This is the job's last try: a transient failure becomes final. */
  lastTry: boolean;
  /** Identifies the holder of account slots (the job id + run). */
  holder: string;
}

export type Failure = {
  kind: string;
  message: string;
  part?: number;
  platformMessage?: string;
  retryAt?: string;
  reason?: string;
};

export const describe = (err: ConnectorError): Failure => {
  const j = err.toJSON();
  return {
    kind: err.kind,
    message: err.message,
    ...(err.part === undefined ? {} : { part: err.part }),
    ...(err.platformMessage ? { platformMessage: err.platformMessage } : {}),
    ...(typeof j.retryAt === 'string' ? { retryAt: j.retryAt } : {}),
    ...(err.reason ? { reason: err.reason } : {}),
  };
};

export async function move(
  deps: PublishWorkerDeps,
  target: PostTarget,
  to: PostTarget['status'],
  patch: Parameters<typeof transitionTarget>[5] = {},
  error?: Failure,
): Promise<Outcome> {
  const moved = await transitionTarget(deps.db, target.workspaceId, target.id, ['publishing'], to, {
    ...patch,
    ...(error ? { lastError: error } : to === 'published' ? { lastError: null } : {}),
  });
  if (moved) await emitStatus(deps.events, moved, 'publishing', { error: error ?? null });
  return { kind: 'done', status: moved ? to : 'noop' };
}

export const published = (
  deps: PublishWorkerDeps,
  target: PostTarget,
  result: Pick<PublishResult, 'platformPostId' | 'url'>,
) =>
  move(deps, target, 'published', {
    publishedAt: new Date(),
    platformPostId: result.platformPostId,
    platformUrl: result.url,
  });
