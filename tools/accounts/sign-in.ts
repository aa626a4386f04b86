/**
 * Connecting an account by signing in to it: a Bluesky handle (or DID) and an app password.
 * The platform's linker resolves the account, starts the session on its own server and reads
 * its profile; the session and the app password (so an ended session can be started again) are
 * stored encrypted like every other account's tokens. The password is never logged, audited
 * or returned. Admins only, on every channel.
 */
import { HeraldError, requireRole } from '../../core/index.js';
import { setupOf, type ConnectContext, type ConnectDeps } from './connect.js';
import { storeLinkedAccount, type ConnectedView } from './store.js';

export interface PasswordConnectInput {
  platform: string;
  /** A handle (`alice.bsky.social`, with or without `@`) or a DID. */
  identifier: string;
  /** An app password (Bluesky: Settings → Privacy and security → App passwords). */
  appPassword: string;
}

export async function connectWithPassword(
  deps: ConnectDeps,
  ctx: ConnectContext,
  input: PasswordConnectInput,
): Promise<ConnectedView> {
  requireRole(ctx, 'admin');
  const setup = setupOf(deps, input.platform);
  const linker = deps.passwordLinkers?.get(input.platform);
  if (!linker) {
    throw new HeraldError('validation_failed', {
      message: `${input.platform} accounts are connected through the platform's authorization page, not with a password`,
      details: { platform: input.platform, connectWith: setup.connectWith },
    });
  }
  const linked = await linker.signIn({ identifier: input.identifier, password: input.appPassword });
  return storeLinkedAccount(
    deps,
    { workspaceId: ctx.workspaceId, userId: ctx.userId, channel: ctx.channel ?? 'rest' },
    input.platform,
    linked,
  );
}
