/**
 * Who is calling, in which workspace, with which role — resolved once per request (or once
 * per WebSocket connection) and passed to every service call. Roles are ordered; an API key
 * acts with the role its scope grants, capped by its creator's role in the workspace now
 * (a key whose creator left is refused).
 */
import { roleAtLeast, type Role } from '../../core/index.js';

export { ROLE_ORDER, roleAtLeast, requireRole } from '../../core/index.js';

export interface Principal {
  kind: 'user' | 'api_key';
  /** The user acting; for an API key, the user who created it (null if that user is gone). */
  userId: string | null;
  /** Set for API keys. */
  apiKeyId: string | null;
  /** Set for user sessions. */
  sessionId: string | null;
  workspaceId: string;
  role: Role;
  /** IANA zone times are read and shown in: the user's, else the workspace's. */
  timeZone: string;
  /** Rate limits and connection caps count per this key. */
  limitKey: string;
  /**
   * The workspace's content version when these credentials were resolved (the principal
   * cache drops a principal when it changes): a cache key for reads made in the same request. A WebSocket connection's principal outlives it, so only
   * request-scoped code may use it.
   */
  contentVersion?: number | undefined;
}

/** API key scopes and the role each one acts with. */
export const API_KEY_SCOPES = { read: 'viewer', write: 'editor', admin: 'admin' } as const satisfies Record<
  string,
  Role
>;
export type ApiKeyScope = keyof typeof API_KEY_SCOPES;

export function roleOfScopes(scopes: readonly string[]): Role {
  let best: Role = 'viewer';
  for (const s of scopes) {
    const r = API_KEY_SCOPES[s as ApiKeyScope];
    if (r && roleAtLeast(r, best)) best = r;
  }
  return best;
}
