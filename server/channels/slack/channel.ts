/**
 * Herald's Slack app (Bolt, HTTP Events API through `FastifyReceiver`): translates direct
 * messages and mentions into turns of the same `ChatHandler` the WebSocket uses, and turn
 * output into Slack messages. A Slack user linked to a member (`tools/channels`, key
 * `<team>:<user>`) talks as that member with their current role; an unlinked user is told how
 * to link (`link <code>` in a direct message) and nothing else runs. The answer is posted once
 * and updated (`chat.update`) at most once a second; a confirmation is a Block Kit message
 * with Approve / Reject buttons bound to the request and the user's conversation.
 */
import { randomUUID } from 'node:crypto';
import { App, type BlockAction, type ButtonAction } from '@slack/bolt';
import { isHeraldError, type Db, type Logger } from '../../../core/index.js';
import { linkedMember, redeemLinkCode, type LinkedMember } from '../../../tools/channels/index.js';
import type { ChatHandler, ConfirmAction, TurnSink } from '../../ws/index.js';
import { Confirmations, CONFIRM_TTL_MS, memberPrincipal } from '../confirmations.js';
import { FastifyReceiver } from './receiver.js';

type WebClient = App['client'];

/** Least time between two updates of the streamed answer. */
export const SLACK_UPDATE_INTERVAL_MS = 1_000;

export const SLACK_LINK_HELP =
  'You are not linked to Herald. In Herald, make a link code (REST `POST /v1/channels/link-codes` with {"channel":"slack"}, or ask the assistant for a Slack link code), then send it to me in a direct message as: link <code>';

export interface SlackChannelOptions {
  botToken: string;
  signingSecret: string;
  /** Web API root ending in `/api/` (SLACK_API_URL); default Slack's. */
  apiUrl?: string | undefined;
  db: Db;
  chat: ChatHandler;
  logger: Logger;
  confirmTtlMs?: number | undefined;
}

interface Said {
  team: string;
  user: string;
  channel: string;
  text: string;
}

export class SlackChannel {
  readonly app: App;
  readonly receiver: FastifyReceiver;
  readonly #opts: SlackChannelOptions;
  readonly #confirmations: Confirmations;
  readonly #turns = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(opts: SlackChannelOptions) {
    this.#opts = opts;
    this.#confirmations = new Confirmations(opts.confirmTtlMs ?? CONFIRM_TTL_MS);
    this.receiver = new FastifyReceiver(opts.signingSecret);
    this.app = new App({
      receiver: this.receiver,
      token: opts.botToken,
      tokenVerificationEnabled: false,
      clientOptions: { ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}), retryConfig: { retries: 2 } },
    });
    this.app.event('message', async ({ event, body }) => {
      const e = event as unknown as Record<string, unknown>;
      if (e.channel_type !== 'im' || e.subtype !== undefined || e.bot_id !== undefined) return;
      this.#said({
        team: String(body.team_id),
        user: String(e.user),
        channel: String(e.channel),
        text: String(e.text ?? ''),
      });
    });
    this.app.event('app_mention', async ({ event, body }) => {
      const text = String(event.text ?? '').replace(/<@[A-Z0-9]+>\s*/g, '');
      this.#said({ team: String(body.team_id), user: String(event.user), channel: event.channel, text });
    });
    this.app.action<BlockAction<ButtonAction>>(/^herald_(approve|reject)$/, async ({ ack, body, action, client }) => {
      await ack();
      const key = `${body.team?.id ?? ''}:${body.user.id}`;
      const outcome = this.#confirmations.press(action.value, key);
      const channel = body.channel?.id;
      if (outcome.kind === 'answered') {
        if (channel && body.message?.ts)
          await client.chat.update({
            channel,
            ts: body.message.ts,
            text: `${outcome.approved ? 'Approved' : 'Rejected'}`,
            blocks: [],
          });
        return;
      }
      const text =
        outcome.kind === 'foreign'
          ? 'This button belongs to someone else.'
          : 'This request is no longer open; nothing was done.';
      if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text });
    });
    this.app.error(async (err) => opts.logger.error({ err }, 'slack event failed'));
  }

  async close(): Promise<void> {
    this.#stop.abort();
    this.#confirmations.cancelAll();
    await Promise.allSettled([...this.#turns]);
  }

  /** Waits for the turns running now (tests). */
  async idle(): Promise<void> {
    while (this.#turns.size > 0) await Promise.allSettled([...this.#turns]);
  }

  /** Runs beside the event's acknowledgement: Slack is answered within 3 seconds whatever the turn takes. */
  #said(said: Said): void {
    const work = this.#handle(said).catch((err: unknown) => this.#opts.logger.error({ err }, 'slack message failed'));
    this.#turns.add(work);
    void work.finally(() => this.#turns.delete(work));
  }

  async #handle(said: Said): Promise<void> {
    const client = this.app.client;
    const key = `${said.team}:${said.user}`;
    const link = /^\s*link\s+(\S+)\s*$/i.exec(said.text);
    if (link) {
      try {
        const member = await redeemLinkCode({ db: this.#opts.db }, 'slack', key, link[1]!);
        await client.chat.postMessage({
          channel: said.channel,
          text: `Linked: you now talk to Herald as yourself (role ${member.role}).`,
        });
      } catch (err) {
        if (!isHeraldError(err, 'link_code_invalid')) throw err;
        await client.chat.postMessage({ channel: said.channel, text: `${err.message}. ${SLACK_LINK_HELP}` });
      }
      return;
    }
    const member = await linkedMember({ db: this.#opts.db }, 'slack', key);
    if (!member) {
      await client.chat.postMessage({ channel: said.channel, text: SLACK_LINK_HELP });
      return;
    }
    await this.#turn(member, said, key, client);
  }

  async #turn(member: LinkedMember, said: Said, key: string, client: WebClient): Promise<void> {
    const reply = new SlackReply(client, said.channel, (err) => this.#opts.logger.warn({ err }, 'slack send failed'));
    const principal = memberPrincipal(member);
    const signal = this.#stop.signal;
    const sink: TurnSink = {
      token: (piece) => reply.append(piece),
      toolStart: () => undefined,
      toolEnd: () => undefined,
      confirm: async (action) => {
        await reply.finish();
        return this.#ask(client, said.channel, key, action, signal);
      },
    };
    try {
      await this.#opts.chat.handle(
        {
          principal,
          turnId: randomUUID(),
          threadId: `slack:${said.channel}:${said.user}`,
          clientMessageId: randomUUID(),
          text: said.text,
        },
        sink,
        signal,
      );
    } catch (err) {
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
    }
    await reply.finish();
  }

  async #ask(client: WebClient, channel: string, key: string, action: ConfirmAction, signal: AbortSignal) {
    const request = this.#confirmations.open(key, signal);
    const text = `Confirm: ${action.summary}`;
    await client.chat.postMessage({
      channel,
      text,
      blocks: [
        { type: 'section', text: { type: 'plain_text', text: text.slice(0, 3000) } },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'herald_approve',
              text: { type: 'plain_text', text: 'Approve' },
              style: 'primary',
              value: request.approve,
            },
            {
              type: 'button',
              action_id: 'herald_reject',
              text: { type: 'plain_text', text: 'Reject' },
              style: 'danger',
              value: request.reject,
            },
          ],
        },
      ],
    });
    return request.decision;
  }
}

/** One answer: posted once, then updated at most once per `SLACK_UPDATE_INTERVAL_MS`. */
class SlackReply {
  #text = '';
  #ts: string | undefined;
  #shown = '';
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: WebClient,
    private readonly channel: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  append(piece: string): void {
    this.#text += piece;
    if (!this.#started) {
      this.#started = true;
      this.#enqueue();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue();
    }, SLACK_UPDATE_INTERVAL_MS);
  }

  async finish(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#enqueue();
    await this.#chain;
    this.#text = '';
    this.#shown = '';
    this.#ts = undefined;
    this.#started = false;
  }

  #enqueue(): void {
    this.#chain = this.#chain.then(() => this.#show()).catch(this.onError);
  }

  async #show(): Promise<void> {
    const text = this.#text;
    if (text.trim() === '' || text === this.#shown) return;
    if (this.#ts === undefined) {
      const sent = await this.client.chat.postMessage({ channel: this.channel, text });
      this.#ts = sent.ts;
    } else {
      await this.client.chat.update({ channel: this.channel, ts: this.#ts, text });
    }
    this.#shown = text;
  }
}
