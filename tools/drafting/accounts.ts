/**
 * Social accounts as people name them: by id, by platform ("mastodon") or by handle
 * ("@herald@example.social"), always looked up in the caller's workspace only. Drafting,
 * the agent and bots resolve names here, so every channel reads "mastodon" the same way.
 */
import { HeraldError, listSocialAccounts, requireRole, type Db } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';

export interface AccountRef {
  id: string;
  platform: string;
  handle: string;
}

/** The workspace's connected accounts (never their tokens). */
export async function workspaceAccounts(db: Db, ctx: ServiceContext): Promise<AccountRef[]> {
  requireRole(ctx, 'viewer');
  const rows = await listSocialAccounts(db, ctx.workspaceId, { includeDisconnected: false });
  return rows.map((a) => ({ id: a.id, platform: a.platform, handle: a.handle }));
}

const norm = (s: string) => s.trim().toLowerCase().replace(/^@/, '');

/** Resolves each reference to exactly one account of this workspace, or throws what is ambiguous or missing. */
export async function resolveAccounts(db: Db, ctx: ServiceContext, refs: string[]): Promise<AccountRef[]> {
  const all = await workspaceAccounts(db, ctx);
  const out: AccountRef[] = [];
  for (const ref of refs) {
    const r = norm(ref);
    const byId = all.find((a) => a.id === ref.trim());
    const matches = byId ? [byId] : all.filter((a) => norm(a.handle) === r || a.platform === r);
    if (matches.length === 0) {
      throw new HeraldError('not_found', {
        message: `No connected account "${ref}" in this workspace; connected: ${all.map((a) => `${a.platform} @${a.handle} (${a.id})`).join(', ') || 'none'}`,
      });
    }
    if (matches.length > 1) {
      throw new HeraldError('validation_failed', {
        message: `"${ref}" matches several accounts; name one by id: ${matches.map((a) => `@${a.handle} (${a.id})`).join(', ')}`,
      });
    }
    if (!out.some((a) => a.id === matches[0]!.id)) out.push(matches[0]!);
  }
  return out;
}

export const label = (a: { platform: string; handle: string }) =>
  `${a.platform.charAt(0).toUpperCase()}${a.platform.slice(1)} @${a.handle}`;
