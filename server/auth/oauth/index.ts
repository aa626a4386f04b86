/** Herald's OAuth 2.1 authorization server for MCP clients: routes, token resolution, grants. */
export {
  oauthServerPlugin,
  baseUrlOf,
  resourceOf,
  resourceMetadataUrlOf,
  OAUTH_SCOPES,
  OAUTH_LOGIN_PER_MINUTE,
  OAUTH_REGISTER_PER_MINUTE,
  type OAuthServerOptions,
} from './routes.js';
export { authenticateOAuth, isOAuthAccessToken } from './access.js';
export { listGrantsFor, revokeGrantFor, type GrantsContext } from './grants.js';
