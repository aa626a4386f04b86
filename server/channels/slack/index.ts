/** Public surface of the Slack channel: the app and its events route. */
export { SLACK_LINK_HELP, SLACK_UPDATE_INTERVAL_MS, SlackChannel, type SlackChannelOptions } from './channel.js';
export { ACK_WAIT_MS, FastifyReceiver, SLACK_EVENTS_PATH } from './receiver.js';
