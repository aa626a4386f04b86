/**
 * Social accounts as the agent names them: by id, by platform ("mastodon") or by handle
 * ("@herald@example.social"), always looked up in the session's workspace only.
 */
import { HeraldError, listSocialAccounts } from '../../core/index.js';
import type { ToolEnv } from './types.js';

export interface AccountRef {
  id: string;
  platform: string;
  handle: string;
}

export async function workspaceAccounts(env: ToolEnv): Promise<AccountRef[]> {
  const rows = await listSocialAccounts(env.deps.db, env.session.workspaceId, { includeDisconnected: false });
  return rows.map((a) => ({ id: a.id, platform: a.platform, handle: a.handle }));
}

const norm = (s: string) => s.trim().toLowerCase().replace(/^@/, '');

/** Resolves each reference to exactly one account of this workspace, or throws what is ambiguous or missing. */
export async function resolveAccounts(env: ToolEnv, refs: string[]): Promise<AccountRef[]> {
  const all = await workspaceAccounts(env);
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
