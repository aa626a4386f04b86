/**
 * Herald's Telegram bot (grammY): translates Telegram updates into chat turns and turn output
 * into Telegram messages, and nothing more. A private chat linked to a member
 * (`tools/channels`) runs each text message as a turn of the same `ChatHandler` the WebSocket
 * uses, as that member with their current role; an unlinked chat is told how to link and
 * nothing else runs. Updates arrive by webhook (`handleUpdate`, see `webhook.ts`) or by long
 * polling (`startPolling`). Handlers return at once and turns run beside them. A confirmation
 * is an inline keyboard (Approve / Edit / Reject) bound to the request in Redis
 * (`ConfirmStore`): the turn ends at the question and a press on any API process, or after a
 * restart, goes on with it; after Edit, the chat's next message is the new text. `update_id`s
 * already taken are remembered in Redis too, so a redelivery runs nothing on any process.
 */
import { randomUUID } from 'node:crypto';
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, InputFile, type Context } from 'grammy';
import type { Redis } from 'ioredis';
import type { UserFromGetMe } from 'grammy/types';
import { isHeraldError, type Db, type Logger } from '../../../core/index.js';
import { linkedMember, redeemLinkCode, type LinkedMember } from '../../../tools/channels/index.js';
import type { RestChatHandler } from '../../routes/chat.js';
import type { ConfirmAction, ConfirmDecision, TurnSink } from '../../ws/index.js';
import {
  decodeOggOpus,
  encodeOggOpus,
  encodeWav,
  OGG_OPUS_PCM_RATE,
  resamplePcm,
  type SpeechToText,
  type TextToSpeech,
} from '../../../voice/index.js';
import {
  ConfirmStore,
  DeliveryLog,
  EDIT_PROMPT,
  editTextOf,
  memberPrincipal,
  resumeConfirmed,
  type ConfirmAnswer,
  type PendingConfirm,
} from '../confirmations.js';
import { MESSAGE_MAX_CHARS, StreamedReply } from './reply.js';

/** How long an `update_id` is remembered (Telegram keeps an undelivered update for 24 hours). */
export const SEEN_UPDATE_MS = 24 * 60 * 60_000;
/** Longest voice note transcribed (seconds); longer ones are answered with a request to type or split it. */
export const MAX_VOICE_S = 300;
/** Telegram's own limit on files a bot may download (`getFile`). */
const MAX_VOICE_BYTES = 20 * 1024 * 1024;
/** Longest reply spoken back as a voice note (characters); longer answers come as text only. */
export const MAX_SPOKEN_CHARS = 1_500;

/** The longest `retry_after` (seconds) a 429 is waited out for before the call fails. */
export const MAX_RETRY_AFTER_S = 60;

export interface TelegramChannelOptions {
  token: string;
  /** Bot API root (TELEGRAM_API_URL); default Telegram's. */
  apiUrl?: string | undefined;
  db: Db;
  /** Shared by every API process: open confirmations and the `update_id`s already taken. */
  redis: Redis;
  /** Redis key prefix (QUEUE_PREFIX); default `herald`. */
  keyPrefix?: string | undefined;
  /** The agent (with `pendingAction`, so a button can go on with a turn on any process). */
  chat: RestChatHandler;
  logger: Logger;
  /** Herald's speech-to-text engine (VOICE_STT); without it a voice note is answered with a request to type. */
  stt?: SpeechToText | null | undefined;
  /** Herald's text-to-speech engine (VOICE_TTS); with it, an answer to a voice note comes back as a voice note too. */
  tts?: TextToSpeech | null | undefined;
  /** The bot's `getMe`, when known (tests); otherwise fetched on `init()`. */
  botInfo?: UserFromGetMe | undefined;
  confirmTtlMs?: number | undefined;
}

export const LINK_HELP =
  'This chat is not linked to Herald. In Herald, make a link code (REST `POST /v1/channels/link-codes` with {"channel":"telegram"}, or ask the assistant for a Telegram link code), then send it here as: /start <code>';

export class TelegramChannel {
  readonly bot: Bot;
  readonly #opts: TelegramChannelOptions;
  readonly #confirms: ConfirmStore;
  readonly #seen: DeliveryLog;
  readonly #turns = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(opts: TelegramChannelOptions) {
    this.#opts = opts;
    this.#confirms = new ConfirmStore(opts.redis, { prefix: opts.keyPrefix, ttlMs: opts.confirmTtlMs });
    this.#seen = new DeliveryLog(opts.redis, 'telegram-update', SEEN_UPDATE_MS, opts.keyPrefix);
    this.bot = new Bot(opts.token, {
      ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
      client: { ...(opts.apiUrl ? { apiRoot: opts.apiUrl } : {}) },
    });
    // 429 with `parameters.retry_after` (and 5xx) are waited out and retried by the plugin.
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: MAX_RETRY_AFTER_S }));
    this.bot.on('message:text', (ctx) => this.#onText(ctx));
    this.bot.on('callback_query:data', (ctx) => this.#onPress(ctx));
    this.bot.on('message:voice', (ctx) => this.#onVoice(ctx));
    this.bot.catch((err) => opts.logger.error({ err: err.error }, 'telegram update failed'));
  }

  /** Fetches the bot's identity (`getMe`) unless it was given. */
  async init(): Promise<void> {
    await this.bot.init();
  }

  /** One update from the webhook; a redelivered `update_id` is ignored. */
  async handleUpdate(update: { update_id: number }): Promise<void> {
    if (!(await this.#seen.firstTime(update.update_id))) return;
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
    if (await this.#edited(member, chat.id, text)) return;
    this.#track(this.#runTurn(member, chat.id, text, ctx.message?.message_id ?? 0).then(() => undefined));
  }

  /**
   * When the chat owes the new text of a request (Edit was pressed), `text` is that text: the
   * request is taken and the turn goes on with the edit. True when the message was used so
   * (or refused as an edit); false for an ordinary message.
   */
  async #edited(member: LinkedMember, chatId: number, text: string): Promise<boolean> {
    const chat = String(chatId);
    if (!(await this.#confirms.owesEdit(chat))) return false;
    if (/^\/?cancel$/i.test(text.trim())) {
      await this.#confirms.cancelEdit(chat);
      await this.bot.api.sendMessage(chatId, 'Not edited: the buttons still work.');
      return true;
    }
    const edit = editTextOf(text);
    if (!edit.ok) {
      await this.bot.api.sendMessage(chatId, `${edit.why} Send the new text, or "cancel".`);
      return true;
    }
    const owed = await this.#confirms.takeEdit(chat);
    if (owed.kind === 'none') return false;
    if (owed.kind === 'stale') {
      await this.bot.api.sendMessage(chatId, 'That request is no longer open; nothing was done with your text.');
      return true;
    }
    const log = this.#opts.logger;
    const messageId = owed.ref === undefined ? undefined : Number(owed.ref);
    this.#track(
      this.#goOn(
        member,
        chatId,
        owed.pending,
        { approved: true, edit: { text: edit.text } },
        {
          accepted: async () => {
            if (messageId !== undefined)
              await this.bot.api
                .editMessageReplyMarkup(chatId, messageId, { reply_markup: { inline_keyboard: [] } })
                .catch((err: unknown) => log.warn({ err }, 'telegram keyboard not removed'));
          },
          notResumed: async () => {
            await this.bot.api.sendMessage(chatId, 'That request is no longer open; nothing was done with your text.');
          },
        },
      ),
    );
    return true;
  }

  /** A voice note: downloaded, decoded in process (Ogg Opus), transcribed, then a text turn; answered in text and, with a TTS engine, as a voice note. */
  async #onVoice(ctx: Context): Promise<void> {
    const chat = ctx.chat;
    const voice = ctx.message?.voice;
    if (!chat || chat.type !== 'private' || !voice) return;
    const member = await linkedMember({ db: this.#opts.db }, 'telegram', String(chat.id));
    if (!member) {
      await ctx.reply(LINK_HELP);
      return;
    }
    const stt = this.#opts.stt;
    if (!stt) {
      await ctx.reply(
        'Voice notes are not turned on in this Herald (no speech-to-text engine); please type your message.',
      );
      return;
    }
    if (voice.duration > MAX_VOICE_S || (voice.file_size ?? 0) > MAX_VOICE_BYTES) {
      await ctx.reply(
        `That voice note is too long for me (at most ${MAX_VOICE_S / 60} minutes); please split it or type.`,
      );
      return;
    }
    this.#track(this.#voiceTurn(member, chat.id, voice.file_id, ctx.message?.message_id ?? 0, stt));
  }

  async #voiceTurn(member: LinkedMember, chatId: number, fileId: string, messageId: number, stt: SpeechToText) {
    const log = this.#opts.logger;
    const file = await this.bot.api.getFile(fileId);
    if (!file.file_path) throw new Error('Telegram gave no file_path for the voice note');
    const root = this.#opts.apiUrl ?? 'https://api.telegram.org';
    const res = await fetch(`${root}/file/bot${this.#opts.token}/${file.file_path}`, {
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`voice note download answered HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    let text: string;
    try {
      const pcm = decodeOggOpus(bytes);
      text = (await stt.transcribe(encodeWav(pcm), { signal: AbortSignal.timeout(60_000) })).trim();
    } catch (err) {
      log.warn({ err: { message: (err as Error).message }, chatId }, 'telegram voice note not understood');
      await this.bot.api.sendMessage(chatId, 'I could not make out that voice note; please try again or type.');
      return;
    }
    if (!text) {
      await this.bot.api.sendMessage(chatId, 'I heard nothing in that voice note; please try again or type.');
      return;
    }
    // After Edit, a spoken note is the new text too.
    if (await this.#edited(member, chatId, text)) return;
    const spoken = await this.#runTurn(member, chatId, text, messageId, `🎙️ “${text}”\n\n`);
    const tts = this.#opts.tts;
    if (!tts || spoken.trim() === '' || spoken.length > MAX_SPOKEN_CHARS) return;
    try {
      const speech = await tts.synthesize(spoken, AbortSignal.timeout(60_000));
      const ogg = encodeOggOpus(resamplePcm(speech, OGG_OPUS_PCM_RATE));
      await this.bot.api.sendVoice(chatId, new InputFile(ogg, 'answer.ogg'), {
        duration: Math.max(1, Math.round(speech.data.length / 2 / speech.sampleRate)),
      });
    } catch (err) {
      log.warn({ err: { message: (err as Error).message }, chatId }, 'telegram voice answer not sent');
    }
  }

  #track(task: Promise<void>): void {
    const work = task.catch((err: unknown) => this.#opts.logger.error({ err }, 'telegram turn failed'));
    this.#turns.add(work);
    void work.finally(() => this.#turns.delete(work));
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

  /** Runs a text turn answered in the chat; the answer's text (after `prefix`, shown first). */
  async #runTurn(member: LinkedMember, chatId: number, text: string, messageId: number, prefix = ''): Promise<string> {
    const log = this.#opts.logger;
    const reply = new StreamedReply(this.bot.api, chatId, (err) => log.warn({ err, chatId }, 'telegram send failed'));
    let said = '';
    const sink = this.#sink(reply, chatId);
    if (prefix) reply.append(prefix);
    try {
      await this.#opts.chat.handle(
        {
          principal: memberPrincipal(member),
          turnId: randomUUID(),
          // One conversation per chat (thread ids are per workspace).
          threadId: `telegram:${chatId}`,
          clientMessageId: `telegram:${chatId}:${messageId}`,
          text,
        },
        {
          ...sink,
          token: (piece) => {
            said += piece;
            sink.token(piece);
          },
        },
        this.#stop.signal,
      );
    } catch (err) {
      log.error({ err, chatId }, 'telegram turn failed');
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
    }
    await reply.finish();
    return said;
  }

  /** Turn output into `reply`; a confirmation ends the turn with buttons any process can take. */
  #sink(reply: StreamedReply, chatId: number): TurnSink {
    return {
      token: (piece) => reply.append(piece),
      toolStart: () => undefined,
      toolEnd: () => undefined,
      confirm: async (action): Promise<ConfirmDecision> => {
        await reply.finish();
        await this.#ask(chatId, action);
        // The question stays in the thread's checkpoint; the press goes on with it.
        return { confirmed: false, reason: 'cancelled' };
      },
    };
  }

  async #ask(chatId: number, action: ConfirmAction): Promise<void> {
    const request = await this.#confirms.open(
      { channel: 'telegram', chat: String(chatId), threadId: `telegram:${chatId}`, replyTo: String(chatId) },
      action,
    );
    const text = `Confirm: ${action.summary}`.slice(0, MESSAGE_MAX_CHARS);
    await this.bot.api.sendMessage(chatId, text, {
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Approve', callback_data: request.approve },
            { text: 'Edit', callback_data: request.edit },
            { text: 'Reject', callback_data: request.reject },
          ],
        ],
      },
    });
  }

  async #onPress(ctx: Context): Promise<void> {
    const q = ctx.callbackQuery;
    if (!q) return;
    const chatId = q.message?.chat.id;
    const refuse = (text: string) => ctx.answerCallbackQuery({ text, show_alert: true }).then(() => undefined);
    const outcome = await this.#confirms.peek(q.data, chatId === undefined ? undefined : String(chatId));
    if (outcome.kind === 'foreign') return refuse('This button belongs to another chat.');
    if (outcome.kind !== 'answered' || outcome.id === undefined || chatId === undefined)
      return refuse('This request is no longer open; nothing was done.');
    const member = await linkedMember({ db: this.#opts.db }, 'telegram', String(chatId));
    if (!member) return refuse(LINK_HELP);
    if (outcome.choice === 'edit') {
      // Nothing is answered yet: the chat's next message is the new text.
      const ref = q.message === undefined ? undefined : String(q.message.message_id);
      if (!(await this.#confirms.awaitEdit(outcome.id, String(chatId), ref)))
        return refuse('This request is no longer open; nothing was done.');
      await ctx.answerCallbackQuery({ text: 'Send the new text' });
      await this.bot.api.sendMessage(chatId, EDIT_PROMPT, {
        reply_markup: { force_reply: true, input_field_placeholder: 'The new text' },
      });
      return;
    }
    if (!(await this.#confirms.take(outcome.id))) return refuse('This request is no longer open; nothing was done.');
    await this.#confirms.settled(outcome.id, String(chatId));
    const log = this.#opts.logger;
    const message = q.message;
    this.#track(
      this.#goOn(
        member,
        chatId,
        outcome.pending,
        { approved: outcome.approved },
        {
          accepted: async () => {
            await ctx.answerCallbackQuery({ text: outcome.approved ? 'Approved' : 'Rejected' });
            // The buttons go, so the message shows it was answered.
            if (message)
              await this.bot.api
                .editMessageReplyMarkup(chatId, message.message_id, { reply_markup: { inline_keyboard: [] } })
                .catch((err: unknown) => log.warn({ err }, 'telegram keyboard not removed'));
          },
          notResumed: async () => {
            await ctx.answerCallbackQuery({
              text: 'This request is no longer open; nothing was done.',
              show_alert: true,
            });
          },
        },
      ),
    );
  }

  /** Goes on with the turn a request was answered for (a press, or an edited text); says so when it cannot. */
  async #goOn(
    member: LinkedMember,
    chatId: number,
    pending: PendingConfirm,
    answer: ConfirmAnswer,
    on: { accepted: () => Promise<void>; notResumed: () => Promise<void> },
  ): Promise<void> {
    const log = this.#opts.logger;
    const reply = new StreamedReply(this.bot.api, chatId, (err) => log.warn({ err, chatId }, 'telegram send failed'));
    let resumed: boolean;
    try {
      resumed = await resumeConfirmed(
        this.#opts.chat,
        memberPrincipal(member),
        pending,
        answer,
        this.#sink(reply, chatId),
        this.#stop.signal,
        randomUUID(),
        on.accepted,
      );
    } catch (err) {
      log.error({ err, chatId }, 'telegram turn failed');
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
      resumed = true;
    }
    await reply.finish();
    if (!resumed) await on.notResumed();
  }
}
