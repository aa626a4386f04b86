/**
 * Social accounts as the agent names them (id, platform or handle), resolved by the drafting
 * service in the session's workspace only.
 */
import {
  label,
  resolveAccounts as resolve,
  workspaceAccounts as listOf,
  type AccountRef,
} from '../../tools/drafting/index.js';
import { ctxOf } from './common.js';
import type { ToolEnv } from './types.js';

export { label, type AccountRef };

export const workspaceAccounts = (env: ToolEnv): Promise<AccountRef[]> => listOf(env.deps.db, ctxOf(env));

export const resolveAccounts = (env: ToolEnv, refs: string[]): Promise<AccountRef[]> =>
  resolve(env.deps.db, ctxOf(env), refs);
