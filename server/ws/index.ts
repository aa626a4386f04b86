/**
 * Public surface of `server/ws`: the `/v1/ws` chat WebSocket plugin, the `ChatHandler` seam
 * the agent implements, the protocol's types and constants, and the figures metrics read.
 * The protocol is specified in `docs/protocol.md`.
 */
export { wsRoutes } from './routes.js';
export { WS_DEFAULTS, type WsDeps, type WsOptions } from './options.js';
export {
  EchoChatHandler,
  wordsOf,
  type ChatHandler,
  type ChatTurn,
  type ConfirmAction,
  type ConfirmDecision,
  type ConfirmEdit,
  type ToolEnd,
  type ToolStart,
  type TurnSink,
} from './chat-handler.js';
export {
  AUTH_SUBPROTOCOL_PREFIX,
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  type ClientMessage,
  type ConnectionEvent,
  type ErrorBody,
  type ServerEvent,
  type TurnEvent,
} from './protocol.js';
export { openConnectionCount, wsStats, type WsStats } from './metrics.js';
