/**
 * Slack Socket Mode for self-hosters behind NAT (`SLACK_APP_TOKEN`): instead of Slack posting
 * to a public URL, Herald asks for a WebSocket URL with the app-level token
 * (`apps.connections.open`), dials out, and takes events and button presses as envelopes,
 * each acknowledged by its `envelope_id` (Bolt's `SocketModeReceiver` over
 * `@slack/socket-mode`, which also reconnects when Slack sends `disconnect` or the socket
 * drops). Nothing to sign: the connection itself is authenticated by the token.
 */
import { LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../../core/index.js';

/** Bolt's and the Socket Mode client's logs, into Herald's logger. */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export interface SocketModeOptions {
  appToken: string;
  /** Web API root for `apps.connections.open` (SLACK_API_URL); default Slack's. */
  apiUrl?: string | undefined;
  logger: Logger;
}

export function socketModeReceiver(opts: SocketModeOptions): SocketModeReceiver {
  return new SocketModeReceiver({
    appToken: opts.appToken,
    logger: boltLogger(opts.logger),
    autoReconnectEnabled: true,
    installerOptions: { clientOptions: opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {} },
  });
}
