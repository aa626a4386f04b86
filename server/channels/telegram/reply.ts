/**
 * One turn's answer in a Telegram chat: the first piece of text is sent as a message, later
 * pieces edit it (at most once per `EDIT_INTERVAL_MS`, since Telegram allows about one
 * message a second per chat), and the turn's end writes the whole text. Text past Telegram's
 * 4096 characters goes on in new messages. A confirmation ends the message streamed so far;
 * what follows it starts a new one.
 */
import type { Api } from 'grammy';

/** Telegram's limit on a message's text (core.telegram.org/bots/api#sendmessage: 1-4096 characters). */
export const MESSAGE_MAX_CHARS = 4096;
/** Least time between two edits of the streamed message. */
export const EDIT_INTERVAL_MS = 1_000;

/** Splits `text` into pieces Telegram accepts, at a line or word break when one is near. */
export function splitMessage(text: string, max = MESSAGE_MAX_CHARS): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const cut = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    const at = cut > max / 2 ? cut + 1 : max;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest.length > 0) parts.push(rest);
  return parts;
}

export class StreamedReply {
  #text = '';
  #messageId: number | undefined;
  /** The text the message shows now. */
  #shown = '';
  #timer: NodeJS.Timeout | undefined;
  /** Whether this message's first send is under way. */
  #started = false;
  /** Calls to Telegram run one after another, so edits never overtake the first send. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Api,
    private readonly chatId: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  append(piece: string): void {
    if (piece.length === 0) return;
    this.#text += piece;
    if (!this.#started) {
      this.#started = true;
      this.#enqueue(() => this.#show());
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue(() => this.#show());
    }, EDIT_INTERVAL_MS);
  }

  /** Writes the whole text (split over messages as needed); the next piece starts a new message. */
  async finish(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const text = this.#text;
    this.#enqueue(async () => {
      const [first, ...more] = splitMessage(text);
      if (first !== undefined) await this.#showText(first);
      for (const part of more) await this.api.sendMessage(this.chatId, part);
    });
    await this.#chain;
    this.#text = '';
    this.#shown = '';
    this.#messageId = undefined;
    this.#started = false;
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(step).catch(this.onError);
  }

  /** The streamed message shows the text so far (its first 4096 characters). */
  #show(): Promise<void> {
    return this.#showText(this.#text.slice(0, MESSAGE_MAX_CHARS));
  }

  async #showText(text: string): Promise<void> {
    if (text.trim() === '' || text === this.#shown) return;
    if (this.#messageId === undefined) {
      const sent = await this.api.sendMessage(this.chatId, text);
      this.#messageId = sent.message_id;
    } else {
      await this.api.editMessageText(this.chatId, this.#messageId, text);
    }
    // Only what Telegram took counts as shown: a failed send is tried again by the next write.
    this.#shown = text;
  }
}
