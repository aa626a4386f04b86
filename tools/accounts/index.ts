export {
  listAccounts,
  getAccount,
  getAccountCapabilities,
  disconnectAccount,
  type AccountsContext,
} from './service.js';
export {
  startConnect,
  completeConnect,
  listPlatforms,
  CONNECT_STATE_TTL_MS,
  type ConnectDeps,
  type ConnectContext,
  type CallbackInput,
  type ConnectedView,
  type PlatformSetup,
} from './connect.js';
export { connectWithPassword, type PasswordConnectInput } from './sign-in.js';
export {
  startBlueskyOAuth,
  completeBlueskyOAuth,
  createBlueskyOAuthStores,
  redisRequestLock,
  BLUESKY_OAUTH_STATE_TTL_MS,
} from './bluesky-oauth.js';
export {
  refreshExpiringTokens,
  DEFAULT_REFRESH_AHEAD_MS,
  DEFAULT_REFRESH_EVERY_MS,
  type TokenRefreshDeps,
  type TokenRefreshReport,
} from './refresh.js';
