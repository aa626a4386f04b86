/**
 * Notifications (`tools/notifications`: a coaching message, a post published or failed) sent
 * to the chats a member linked: a Telegram deliverer (`sendMessage` to each linked chat) and
 * a Slack deliverer (`chat.postMessage` to the linked user, which lands in the app's direct
 * messages with them). They plug into the notifier through its extension point
 * (`Notifier.addDeliverer`) and need only the bot token, so they run on whichever process
 * sends — a worker as well as an API node. A member reached nowhere (no link, or no longer in
 * the workspace) gets nothing here; unlinking a chat stops its notifications.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { webApi } from '@slack/bolt';
import { Api } from 'grammy';
import type { Db } from '../../core/index.js';
import { linksOfMember } from '../../tools/channels/index.js';
import type { Deliverer, Notification } from '../../tools/notifications/index.js';
import { SLACK_TEXT_MAX, slackEscape } from './slack/reply.js';
import { MESSAGE_MAX_CHARS, splitMessage } from './telegram/reply.js';
import { MAX_RETRY_AFTER_S } from './telegram/channel.js';

export class TelegramDeliverer implements Deliverer {
  readonly name = 'telegram';
  readonly #api: Api;

  constructor(
    private readonly db: Db,
    opts: { token: string; apiUrl?: string | undefined },
  ) {
    this.#api = new Api(opts.token, opts.apiUrl ? { apiRoot: opts.apiUrl } : undefined);
    this.#api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: MAX_RETRY_AFTER_S }));
  }

  async deliver(n: Notification): Promise<void> {
    const chats = await linksOfMember({ db: this.db }, 'telegram', n.workspaceId, n.userId);
    for (const chat of chats)
      for (const part of splitMessage(n.text, MESSAGE_MAX_CHARS)) await this.#api.sendMessage(Number(chat), part);
  }
}

export class SlackDeliverer implements Deliverer {
  readonly name = 'slack';
  readonly #client: webApi.WebClient;

  constructor(
    private readonly db: Db,
    opts: { botToken: string; apiUrl?: string | undefined },
  ) {
    this.#client = new webApi.WebClient(opts.botToken, {
      ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
      retryConfig: { retries: 2 },
    });
  }

  async deliver(n: Notification): Promise<void> {
    const keys = await linksOfMember({ db: this.db }, 'slack', n.workspaceId, n.userId);
    for (const key of keys) {
      // `<team>:<user>`: a user id as the channel posts into the app's DM with that user.
      const user = key.slice(key.indexOf(':') + 1);
      for (const part of splitMessage(n.text, SLACK_TEXT_MAX))
        await this.#client.chat.postMessage({ channel: user, text: slackEscape(part) });
    }
  }
}

/** The deliverers the configured platforms allow (none without tokens). */
export function chatDeliverers(
  db: Db,
  config: {
    telegram?: { token: string; apiUrl: string | undefined } | undefined;
    slack?: { botToken: string; apiUrl: string | undefined } | undefined;
  },
): Deliverer[] {
  return [
    ...(config.telegram ? [new TelegramDeliverer(db, config.telegram)] : []),
    ...(config.slack ? [new SlackDeliverer(db, config.slack)] : []),
  ];
}
