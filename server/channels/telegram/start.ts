/**
 * Starting the Telegram bot from config: the bot's identity is fetched (`getMe`), then either
 * the webhook is registered with Telegram (`setWebhook` at `PUBLIC_URL` with the secret, when
 * both are set) or long polling starts (no webhook secret: for a server Telegram cannot
 * reach). A Telegram that cannot be reached at start is logged, not fatal: Herald serves
 * everything else.
 */
import type { Redis } from 'ioredis';
import type { Db, Logger } from '../../../core/index.js';
import type { SpeechToText, TextToSpeech } from '../../../voice/index.js';
import type { RestChatHandler } from '../../routes/chat.js';
import { TelegramChannel } from './channel.js';
import { TELEGRAM_WEBHOOK_PATH } from './webhook.js';

export interface TelegramStartOptions {
  token: string;
  webhookSecret: string | undefined;
  apiUrl: string | undefined;
  publicUrl: string | undefined;
  db: Db;
  redis: Redis;
  keyPrefix?: string | undefined;
  chat: RestChatHandler;
  logger: Logger;
  /** Herald's speech engines, for voice notes (none: voice notes are answered with a request to type). */
  stt?: SpeechToText | null | undefined;
  tts?: TextToSpeech | null | undefined;
}

export async function startTelegram(opts: TelegramStartOptions): Promise<TelegramChannel> {
  const log = opts.logger;
  const channel = new TelegramChannel({
    token: opts.token,
    apiUrl: opts.apiUrl,
    db: opts.db,
    redis: opts.redis,
    keyPrefix: opts.keyPrefix,
    chat: opts.chat,
    stt: opts.stt,
    tts: opts.tts,
    logger: log,
  });
  try {
    await channel.init();
    if (opts.webhookSecret) {
      if (opts.publicUrl) {
        await channel.bot.api.setWebhook(`${opts.publicUrl}/v1${TELEGRAM_WEBHOOK_PATH}`, {
          secret_token: opts.webhookSecret,
          allowed_updates: ['message', 'callback_query'],
        });
      }
      log.info({ webhook: !!opts.publicUrl }, 'telegram bot ready (webhook)');
    } else {
      await channel.startPolling();
      log.info('telegram bot ready (long polling)');
    }
  } catch (err) {
    log.error({ err }, 'telegram bot did not start');
  }
  return channel;
}
