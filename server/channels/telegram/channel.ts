/**
 * Herald's Telegram bot (grammY): translates Telegram updates into chat turns and turn output
 * into Telegram messages, and nothing more. A private chat linked to a member
 * (`tools/channels`) runs each text message as a turn of the same `ChatHandler` the WebSocket
 * uses, as that member with their current role; an unlinked chat is told how to link and
 * nothing else runs. Updates arrive by webhook (`handleUpdate`, see `webhook.ts`) or by long
 * polling (`startPolling`). Handlers return at once and turns run beside them, so a turn
 * waiting for a button never holds up the update that carries the press.
 */
import { randomUUID } from 'node:crypto';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, type Context } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { isHeraldError, type Db, type Logger } from '../../../core/index.js';
import { linkedMember, redeemLinkCode, type LinkedMember } from '../../../tools/channels/index.js';
import type { ChatHandler, ConfirmAction, TurnSink } from '../../ws/index.js';
import { Confirmations, CONFIRM_TTL_MS, memberPrincipal } from '../confirmations.js';
import { MESSAGE_MAX_CHARS, StreamedReply } from './reply.js';

/** How many recent `update_id`s are remembered, so a redelivered update runs no second turn. */
export const SEEN_UPDATES = 10_000;
/** The longest `retry_after` (seconds) a 429 is waited out for before the call fails. */
export const MAX_RETRY_AFTER_S = 60;

export interface TelegramChannelOptions {
  token: string;
  /** Bot API root (TELEGRAM_API_URL); default Telegram's. */
  apiUrl?: string | undefined;
  db: Db;
  chat: ChatHandler;
  logger: Logger;
  /** The bot's `getMe`, when known (tests); otherwise fetched on `init()`. */
  botInfo?: UserFromGetMe | undefined;
  confirmTtlMs?: number | undefined;
}

export const LINK_HELP =
  'This chat is not linked to Herald. In Herald, make a link code (REST `POST /v1/channels/link-codes` with {"channel":"telegram"}, or ask the assistant for a Telegram link code), then send it here as: /start <code>';

export class TelegramChannel {
  readonly bot: Bot;
  readonly #opts: TelegramChannelOptions;
  readonly #confirmations: Confirmations;
  readonly #seen = new Set<number>();
  readonly #turns = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(opts: TelegramChannelOptions) {
    this.#opts = opts;
    this.#confirmations = new Confirmations(opts.confirmTtlMs ?? CONFIRM_TTL_MS);
    this.bot = new Bot(opts.token, {
      ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
      client: { ...(opts.apiUrl ? { apiRoot: opts.apiUrl } : {}) },
    });
    // 429 with `parameters.retry_after` (and 5xx) are waited out and retried by the plugin.
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: MAX_RETRY_AFTER_S }));
    this.bot.on('message:text', (ctx) => this.#onText(ctx));
    this.bot.on('callback_query:data', (ctx) => this.#onPress(ctx));
    this.bot.catch((err) => opts.logger.error({ err: err.error }, 'telegram update failed'));
  }

  /** Fetches the bot's identity (`getMe`) unless it was given. */
  async init(): Promise<void> {
    await this.bot.init();
  }

  /** One update from the webhook; a redelivered `update_id` is ignored. */
  async handleUpdate(update: { update_id: number }): Promise<void> {
    if (this.#seen.has(update.update_id)) return;
    this.#seen.add(update.update_id);
    if (this.#seen.size > SEEN_UPDATES) this.#seen.delete(this.#seen.values().next().value as number);
    await this.bot.handleUpdate(update as Parameters<Bot['handleUpdate']>[0]);
  }

  /** Long polling (`getUpdates`), for a server Telegram cannot reach; resolves once polling started. */
  startPolling(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.bot.start({ onStart: () => resolve() }).catch((err: unknown) => {
        this.#opts.logger.error({ err }, 'telegram polling stopped');
        reject(err as Error);
      });
    });
  }

  /** Stops polling, cancels open confirmations and running turns, and waits for them. */
  async close(): Promise<void> {
    if (this.bot.isRunning()) await this.bot.stop();
    this.#stop.abort();
    this.#confirmations.cancelAll();
    await Promise.allSettled([...this.#turns]);
  }

  /** Waits for the turns running now (tests). */
  async idle(): Promise<void> {
    while (this.#turns.size > 0) await Promise.allSettled([...this.#turns]);
  }

  async #onText(ctx: Context): Promise<void> {
    const chat = ctx.chat;
    const text = ctx.message?.text ?? '';
    // Groups are not served yet: a bot added to one says nothing there.
    if (!chat || chat.type !== 'private') return;
    const start = /^\/start(?:@\w+)?(?:\s+(\S+))?\s*$/.exec(text);
    if (start) {
      await this.#link(ctx, chat.id, start[1]);
      return;
    }
    const member = await linkedMember({ db: this.#opts.db }, 'telegram', String(chat.id));
    if (!member) {
      await ctx.reply(LINK_HELP);
      return;
    }
    const turn = this.#runTurn(member, chat.id, text, ctx.message?.message_id ?? 0);
    this.#turns.add(turn);
    void turn.finally(() => this.#turns.delete(turn));
  }

  async #link(ctx: Context, chatId: number, code: string | undefined): Promise<void> {
    if (!code) {
      await ctx.reply(LINK_HELP);
      return;
    }
    try {
      const member = await redeemLinkCode({ db: this.#opts.db }, 'telegram', String(chatId), code);
      await ctx.reply(`Linked: this chat now talks to Herald as you (role ${member.role}). Send a message to start.`);
    } catch (err) {
      if (!isHeraldError(err, 'link_code_invalid')) throw err;
      await ctx.reply(`${err.message}. ${LINK_HELP}`);
    }
  }

  async #runTurn(member: LinkedMember, chatId: number, text: string, messageId: number): Promise<void> {
    const api = this.bot.api;
    const log = this.#opts.logger;
    const reply = new StreamedReply(api, chatId, (err) => log.warn({ err, chatId }, 'telegram send failed'));
    const principal = memberPrincipal(member);
    const signal = this.#stop.signal;
    const sink: TurnSink = {
      token: (piece) => reply.append(piece),
      toolStart: () => undefined,
      toolEnd: () => undefined,
      confirm: async (action) => {
        await reply.finish();
        return this.#ask(chatId, action, signal);
      },
    };
    try {
      await this.#opts.chat.handle(
        {
          principal,
          turnId: randomUUID(),
          // One conversation per chat (thread ids are per workspace).
          threadId: `telegram:${chatId}`,
          clientMessageId: `telegram:${chatId}:${messageId}`,
          text,
        },
        sink,
        signal,
      );
    } catch (err) {
      log.error({ err, chatId }, 'telegram turn failed');
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
    }
    await reply.finish();
  }

  async #ask(chatId: number, action: ConfirmAction, signal: AbortSignal) {
    const request = this.#confirmations.open(chatId, signal);
    const text = `Confirm: ${action.summary}`.slice(0, MESSAGE_MAX_CHARS);
    await this.bot.api.sendMessage(chatId, text, {
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Approve', callback_data: request.approve },
            { text: 'Reject', callback_data: request.reject },
          ],
        ],
      },
    });
    return request.decision;
  }

  async #onPress(ctx: Context): Promise<void> {
    const q = ctx.callbackQuery;
    if (!q) return;
    const outcome = this.#confirmations.press(q.data, q.message?.chat.id);
    if (outcome.kind !== 'answered') {
      const text =
        outcome.kind === 'foreign'
          ? 'This button belongs to another chat.'
          : 'This request is no longer open; nothing was done.';
      await ctx.answerCallbackQuery({ text, show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery({ text: outcome.approved ? 'Approved' : 'Rejected' });
    // The buttons go, so the message shows it was answered.
    if (q.message) {
      await this.bot.api
        .editMessageReplyMarkup(q.message.chat.id, q.message.message_id, { reply_markup: { inline_keyboard: [] } })
        .catch((err: unknown) => this.#opts.logger.warn({ err }, 'telegram keyboard not removed'));
    }
  }
}
