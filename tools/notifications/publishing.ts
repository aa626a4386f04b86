/**
 * Tells a post's author how each target ended: `post.failed` and `post.unconfirmed` (to every
 * deliverer unless the member routed them elsewhere), `post.published` (quiet: the console
 * only, by default). Listens to the workspace events the publisher emits on every process that
 * runs workers; the dedupe key (target, status, time of the change) makes each change one
 * notification however many processes hear it.
 */
import { and, eq } from 'drizzle-orm';
import {
  PLATFORM_NAMES,
  schema,
  type Db,
  type EventBus,
  type Logger,
  type TargetStatusEvent,
} from '../../core/index.js';
import type { Notifier } from './service.js';

const OUTCOMES = new Set(['failed', 'unconfirmed', 'published']);

function excerpt(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/** The notification one status change makes, or null when it makes none. */
function outcomeMessage(
  e: TargetStatusEvent,
  content: string,
): { kind: string; text: string; data: Record<string, unknown> } | null {
  if (!OUTCOMES.has(e.to)) return null;
  const where = PLATFORM_NAMES[e.platform] ?? e.platform;
  const what = content ? `"${excerpt(content)}"` : 'Your post';
  const data = {
    postId: e.postId,
    targetId: e.targetId,
    socialAccountId: e.socialAccountId,
    platform: e.platform,
    ...(e.url ? { url: e.url } : {}),
    ...(e.error ? { error: e.error } : {}),
  };
  if (e.to === 'failed')
    return {
      kind: 'post.failed',
      text: `${what} failed on ${where}: ${e.error?.message ?? 'the platform refused it'}. Fix it and retry it from the post.`,
      data,
    };
  if (e.to === 'unconfirmed')
    return {
      kind: 'post.unconfirmed',
      text: `${what} may or may not be on ${where}: the platform did not answer and Herald could not find it afterwards. Check ${where} before posting it again.`,
      data,
    };
  return { kind: 'post.published', text: `${what} is live on ${where}${e.url ? `: ${e.url}` : '.'}`, data };
}

/** Starts listening; resolves with the stop function once subscribed. */
export async function notifyPublishingOutcomes(deps: {
  db: Db;
  events: EventBus;
  notifier: Notifier;
  logger?: Logger | undefined;
}): Promise<() => Promise<void>> {
  const handle = async (e: TargetStatusEvent) => {
    if (!OUTCOMES.has(e.to)) return;
    const p = schema.posts;
    const [post] = await deps.db
      .select({ authorId: p.authorId, content: p.content })
      .from(p)
      .where(and(eq(p.workspaceId, e.workspaceId), eq(p.id, e.postId)));
    if (!post?.authorId) return;
    const message = outcomeMessage(e, post.content);
    if (!message) return;
    await deps.notifier.send({
      workspaceId: e.workspaceId,
      userId: post.authorId,
      ...message,
      dedupeKey: `post.${e.targetId}.${e.to}.${e.at}`,
    });
  };
  return deps.events.subscribe('*', (e) => {
    if (e.type !== 'target.status') return;
    handle(e).catch((err: unknown) =>
      deps.logger?.warn(
        { err: { message: (err as Error).message }, targetId: e.targetId },
        'publishing notification not sent',
      ),
    );
  });
}
