/** Public surface of the Slack channel: the app and its events route. */
export { SEEN_EVENT_MS, SLACK_LINK_HELP, SlackChannel, type SlackChannelOptions } from './channel.js';
export { boltLogger, socketModeReceiver } from './socket.js';
export { SLACK_TEXT_MAX, SLACK_UPDATE_INTERVAL_MS, slackEscape } from './reply.js';
export { ACK_WAIT_MS, FastifyReceiver, SLACK_EVENTS_PATH } from './receiver.js';
