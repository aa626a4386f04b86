/**
 * What the agent's tools share: the service context of the session, the zod pieces the
 * model's arguments are made of, and the compact shape a post is returned to the model in.
 */
import { z } from 'zod';
import type { PostsContext } from '../../tools/posts/index.js';
import type { ToolEnv } from './types.js';

/** The service context of the session: the services check its role (a `read` key's is viewer) themselves. */
export const ctxOf = (env: ToolEnv): PostsContext => ({
  workspaceId: env.session.workspaceId,
  userId: env.session.userId,
  role: env.session.role,
  timeZone: env.session.timeZone,
  channel: 'agent',
  actorKind: 'agent',
});

export const Id = z.guid().describe('An id from an earlier tool result');
export const Text = z.string().min(1).max(20_000);
export const At = z
  .string()
  .min(1)
  .max(200)
  .describe('When: words in the user\'s zone ("tomorrow at 9"), YYYY-MM-DDTHH:MM in their zone, or an ISO instant');
export const Accounts = z
  .array(z.string().min(1).max(200))
  .min(1)
  .max(20)
  .describe('Account ids, or platform names ("mastodon") when the workspace has one account there');

export const clip = (s: string, n = 280) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export interface PostLike {
  id: string;
  targets: Array<{ id: string; platform: string; status: string; scheduledAtLocal: string | null; content: string }>;
}

export const compactPost = (p: PostLike) => ({
  postId: p.id,
  targets: p.targets.map((t) => ({
    targetId: t.id,
    platform: t.platform,
    status: t.status,
    at: t.scheduledAtLocal,
    text: t.content,
  })),
});
