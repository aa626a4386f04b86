/**
 * One turn's answer in a Slack conversation: the first words are posted (`chat.postMessage`),
 * later pieces update that message (`chat.update`, Tier 3: about 50 a minute per workspace, so
 * at most once per `SLACK_UPDATE_INTERVAL_MS`; a 429 is waited out by the Web API client), and
 * the turn's end writes the whole text. Text past Slack's 40,000 characters
 * (api.slack.com/methods/chat.postMessage: longer text is truncated, `chat.update` refuses it
 * with `msg_too_long`) goes on in new messages. A confirmation ends the message streamed so
 * far; what follows starts a new one.
 */
import type { App } from '@slack/bolt';
import { splitMessage } from '../telegram/reply.js';

export type WebClient = App['client'];

/** Least time between two updates of the streamed answer. */
export const SLACK_UPDATE_INTERVAL_MS = 1_000;
/** Slack's limit on a message's `text`. */
export const SLACK_TEXT_MAX = 40_000;

/**
 * Text as Slack shows it literally: `&`, `<` and `>` escaped, as Slack's formatting docs ask
 * (api.slack.com/reference/surfaces/formatting#escaping). Otherwise text Herald relays — an
 * answer quoting a web page, a trend term from a public instance — could carry `<!channel>`
 * or a link whose label hides where it goes.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class SlackReply {
  #text = '';
  #ts: string | undefined;
  #shown = '';
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  /** Calls to Slack run one after another, so updates never overtake the first post. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: WebClient,
    private readonly channel: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  append(piece: string): void {
    if (piece.length === 0) return;
    this.#text += piece;
    if (!this.#started) {
      this.#started = true;
      this.#enqueue(() => this.#showText(this.#text.slice(0, SLACK_TEXT_MAX)));
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue(() => this.#showText(this.#text.slice(0, SLACK_TEXT_MAX)));
    }, SLACK_UPDATE_INTERVAL_MS);
  }

  /** Writes the whole text (over several messages past 40,000 characters); the next piece starts a new message. */
  async finish(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const text = this.#text;
    this.#enqueue(async () => {
      const [first, ...more] = splitMessage(text, SLACK_TEXT_MAX);
      if (first !== undefined) await this.#showText(first);
      for (const part of more) await this.client.chat.postMessage({ channel: this.channel, text: slackEscape(part) });
    });
    await this.#chain;
    this.#text = '';
    this.#shown = '';
    this.#ts = undefined;
    this.#started = false;
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(step).catch(this.onError);
  }

  async #showText(text: string): Promise<void> {
    if (text.trim() === '' || text === this.#shown) return;
    if (this.#ts === undefined) {
      const sent = await this.client.chat.postMessage({ channel: this.channel, text: slackEscape(text) });
      this.#ts = sent.ts;
    } else {
      await this.client.chat.update({ channel: this.channel, ts: this.#ts, text: slackEscape(text) });
    }
    // Only what Slack took counts as shown: a failed write is tried again by the next one.
    this.#shown = text;
  }
}
