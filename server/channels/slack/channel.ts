/**
 * Herald's Slack app (Bolt; the HTTP Events API through `FastifyReceiver`, or Socket Mode with
 * an app-level token, `socket.ts`): translates direct
 * messages and mentions into turns of the same `ChatHandler` the WebSocket uses, and turn
 * output into Slack messages. A Slack user linked to a member (`tools/channels`, key
 * `<team>:<user>`) talks as that member with their current role; an unlinked user is told how
 * to link (`link <code>` in a direct message) and nothing else runs. The answer is posted once
 * and updated (`chat.update`) at most once a second; a confirmation is a Block Kit message
 * with Approve / Reject buttons bound to the request and the user (`ConfirmStore`, in Redis):
 * the turn ends at the question, and a press on any API process goes on with it. Each
 * `event_id` runs once whichever process or connection it reaches (HTTP retries, Socket Mode
 * redeliveries): the ids are remembered in Redis for `SEEN_EVENT_MS`.
 */
import { randomUUID } from 'node:crypto';
import { App, type BlockAction, type ButtonAction, type Receiver } from '@slack/bolt';
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import { isHeraldError, type Db, type Logger } from '../../../core/index.js';
import { linkedMember, redeemLinkCode, type LinkedMember } from '../../../tools/channels/index.js';
import type { RestChatHandler } from '../../routes/chat.js';
import type { ConfirmAction, ConfirmDecision, TurnSink } from '../../ws/index.js';
import { ConfirmStore, DeliveryLog, memberPrincipal, resumeConfirmed, type PendingConfirm } from '../confirmations.js';
import { FastifyReceiver } from './receiver.js';
import { SlackReply, slackEscape, type WebClient } from './reply.js';
import { boltLogger, socketModeReceiver } from './socket.js';

/** How long an `event_id` is remembered: well past Slack's last retry (5 minutes after the first). */
export const SEEN_EVENT_MS = 60 * 60_000;

export const SLACK_LINK_HELP =
  'You are not linked to Herald. In Herald, make a link code (REST `POST /v1/channels/link-codes` with {"channel":"slack"}, or ask the assistant for a Slack link code), then send it to me in a direct message as: link <code>';

export interface SlackChannelOptions {
  botToken: string;
  /** HTTP Events API: checks every request Slack posts. Needed unless `appToken` is given. */
  signingSecret?: string | undefined;
  /** Socket Mode (`xapp-...`): Herald dials out to Slack; no public URL, no HTTP route. */
  appToken?: string | undefined;
  /** Web API root ending in `/api/` (SLACK_API_URL); default Slack's. */
  apiUrl?: string | undefined;
  db: Db;
  /** Shared by every API process: open confirmations and the `event_id`s already taken. */
  redis: Redis;
  /** Redis key prefix (QUEUE_PREFIX); default `herald`. */
  keyPrefix?: string | undefined;
  /** The agent (with `pendingAction`, so a button can go on with a turn on any process). */
  chat: RestChatHandler;
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
  /** The HTTP route Slack posts to; it serves nothing in Socket Mode. */
  readonly receiver: { readonly routes: FastifyPluginAsync };
  readonly mode: 'http' | 'socket';
  readonly #opts: SlackChannelOptions;
  readonly #confirms: ConfirmStore;
  readonly #turns = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(opts: SlackChannelOptions) {
    this.#opts = opts;
    this.#confirms = new ConfirmStore(opts.redis, { prefix: opts.keyPrefix, ttlMs: opts.confirmTtlMs });
    let receiver: Receiver;
    if (opts.appToken) {
      this.mode = 'socket';
      receiver = socketModeReceiver({ appToken: opts.appToken, apiUrl: opts.apiUrl, logger: opts.logger });
      this.receiver = { routes: async () => undefined };
    } else {
      if (!opts.signingSecret) throw new Error('The Slack app needs a signing secret or an app-level token');
      this.mode = 'http';
      const http = new FastifyReceiver(opts.signingSecret);
      receiver = http;
      this.receiver = http;
    }
    this.app = new App({
      receiver,
      token: opts.botToken,
      tokenVerificationEnabled: false,
      logger: boltLogger(opts.logger),
      clientOptions: { ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}), retryConfig: { retries: 2 } },
    });
    // Events are acknowledged before this runs; a repeated event_id goes no further.
    const seen = new DeliveryLog(opts.redis, 'slack-event', SEEN_EVENT_MS, opts.keyPrefix);
    this.app.use(async ({ body, next }) => {
      const eventId = (body as { event_id?: unknown }).event_id;
      if (typeof eventId === 'string' && !(await seen.firstTime(eventId))) return;
      await next();
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
    this.app.action<BlockAction<ButtonAction>>(/^herald_(approve|reject)$/, async ({ ack, body, action }) => {
      await ack();
      this.#track(
        this.#press({
          key: `${body.team?.id ?? ''}:${body.user.id}`,
          user: body.user.id,
          value: action.value,
          channel: body.channel?.id,
          ts: body.message?.ts,
        }),
      );
    });
    this.app.error(async (err) => opts.logger.error({ err }, 'slack event failed'));
  }

  /** Starts taking events: in Socket Mode, opens the connection (resolves once Slack said hello). */
  async start(): Promise<void> {
    await this.app.start();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.app.stop().catch((err: unknown) => this.#opts.logger.warn({ err }, 'slack app did not stop cleanly'));
    await Promise.allSettled([...this.#turns]);
  }

  /** Waits for the turns running now (tests). */
  async idle(): Promise<void> {
    while (this.#turns.size > 0) await Promise.allSettled([...this.#turns]);
  }

  /** Runs beside the event's acknowledgement: Slack is answered within 3 seconds whatever the turn takes. */
  #said(said: Said): void {
    this.#track(this.#handle(said));
  }

  #track(task: Promise<void>): void {
    const work = task.catch((err: unknown) => this.#opts.logger.error({ err }, 'slack message failed'));
    this.#turns.add(work);
    void work.finally(() => this.#turns.delete(work));
  }

  /** A button press: goes on with the turn it was shown for, when it may; otherwise says why, privately. */
  async #press(p: {
    key: string;
    user: string;
    value: string | undefined;
    channel?: string | undefined;
    ts?: string | undefined;
  }) {
    const client = this.app.client;
    const tell = (text: string) =>
      p.channel
        ? client.chat.postEphemeral({ channel: p.channel, user: p.user, text }).then(() => undefined)
        : undefined;
    const outcome = await this.#confirms.peek(p.value, p.key);
    if (outcome.kind === 'foreign') return tell('This button belongs to someone else.');
    if (outcome.kind !== 'answered' || outcome.id === undefined)
      return tell('This request is no longer open; nothing was done.');
    const member = await linkedMember({ db: this.#opts.db }, 'slack', p.key);
    if (!member) return tell(SLACK_LINK_HELP);
    if (!(await this.#confirms.take(outcome.id))) return tell('This request is no longer open; nothing was done.');
    const { pending, approved } = outcome;
    const reply = new SlackReply(client, pending.replyTo, (err) =>
      this.#opts.logger.warn({ err }, 'slack send failed'),
    );
    const sink = this.#sink(reply, pending.replyTo, p.key, pending.threadId);
    const principal = memberPrincipal(member);
    // The buttons go once the thread is known to wait for this very action.
    const accepted = async () => {
      if (p.channel && p.ts)
        await client.chat.update({
          channel: p.channel,
          ts: p.ts,
          text: approved ? 'Approved' : 'Rejected',
          blocks: [],
        });
    };
    let resumed: boolean;
    try {
      resumed = await resumeConfirmed(
        this.#opts.chat,
        principal,
        pending,
        approved,
        sink,
        this.#stop.signal,
        randomUUID(),
        accepted,
      );
    } catch (err) {
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
      resumed = true;
    }
    await reply.finish();
    if (!resumed) await tell('This request is no longer open; nothing was done.');
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
        await client.chat.postMessage({
          channel: said.channel,
          text: `${slackEscape(err.message)}. ${SLACK_LINK_HELP}`,
        });
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
    const threadId = `slack:${said.channel}:${said.user}`;
    try {
      await this.#opts.chat.handle(
        {
          principal: memberPrincipal(member),
          turnId: randomUUID(),
          threadId,
          clientMessageId: randomUUID(),
          text: said.text,
        },
        this.#sink(reply, said.channel, key, threadId),
        this.#stop.signal,
      );
    } catch (err) {
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
    }
    await reply.finish();
  }

  /** Turn output into `reply`; a confirmation ends the turn with buttons any process can take. */
  #sink(reply: SlackReply, channel: string, key: string, threadId: string): TurnSink {
    return {
      token: (piece) => reply.append(piece),
      toolStart: () => undefined,
      toolEnd: () => undefined,
      confirm: async (action): Promise<ConfirmDecision> => {
        await reply.finish();
        await this.#ask(this.app.client, { channel: 'slack', chat: key, threadId, replyTo: channel }, action);
        // The question stays in the thread's checkpoint; the press goes on with it.
        return { confirmed: false, reason: 'cancelled' };
      },
    };
  }

  async #ask(client: WebClient, pending: Omit<PendingConfirm, 'confirmId'>, action: ConfirmAction): Promise<void> {
    const request = await this.#confirms.open(pending, action);
    const text = `Confirm: ${action.summary}`;
    await client.chat.postMessage({
      channel: pending.replyTo,
      text: slackEscape(text),
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
  }
}
