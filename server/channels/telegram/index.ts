/** Public surface of the Telegram channel: the bot, its webhook route, and their limits. */
export {
  LINK_HELP,
  MAX_RETRY_AFTER_S,
  SEEN_UPDATE_MS,
  TelegramChannel,
  type TelegramChannelOptions,
} from './channel.js';
export { CONFIRM_TTL_MS } from '../confirmations.js';
export { EDIT_INTERVAL_MS, MESSAGE_MAX_CHARS, splitMessage } from './reply.js';
export { SECRET_HEADER, TELEGRAM_WEBHOOK_PATH, secretMatches, telegramWebhookRoutes } from './webhook.js';
export { startTelegram, type TelegramStartOptions } from './start.js';
