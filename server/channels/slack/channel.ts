/**
 * Herald's Slack app (Bolt; the HTTP Events API through `FastifyReceiver`, or Socket Mode with
 * an app-level token, `socket.ts`): translates direct
 * messages and mentions into turns of the same `ChatHandler` the WebSocket uses, and turn
 * output into Slack messages. A Slack user linked to a member (`tools/channels`, key
 * `<team>:<user>`) talks as that member with their current role; an unlinked user is told how
 * to link (`link <code>` in a direct message) and nothing else runs. The answer is posted once
 * and updated (`chat.update`) at most once a second; a confirmation is a Block Kit message
 * with Approve / Edit / Reject buttons bound to the request and the user (`ConfirmStore`, in
 * Redis): the turn ends at the question, and a press on any API process goes on with it (after
 * Edit, with the user's next message as the new text). An audio clip or file (`audio.ts`) is
 * downloaded with the bot token, decoded in process, transcribed by Herald's speech-to-text
 * engine and run as a text turn. Each
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
import {
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
import {
  AudioDownloadFailed,
  AudioFormatUnsupported,
  AudioTooLong,
  decodeAudio,
  downloadSlackFile,
  isAudioFile,
  MAX_AUDIO_BYTES,
  needsFileInfo,
  SLACK_AUDIO_FORMATS,
  SLACK_FILE_ORIGIN,
  type SlackFile,
} from './audio.js';
import { FastifyReceiver } from './receiver.js';
import { SlackReply, slackEscape, type WebClient } from './reply.js';
import { boltLogger, socketModeReceiver } from './socket.js';

/** How long an `event_id` is remembered: well past Slack's last retry (5 minutes after the first). */
export const SEEN_EVENT_MS = 60 * 60_000;

/** Longest audio transcribed (seconds), as for Telegram voice notes. */
export const MAX_AUDIO_S = 300;
/** Longest answer spoken back (characters), as for Telegram; longer answers come as text only. */
export const MAX_SPOKEN_CHARS = 1_500;

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
  /** Herald's speech-to-text engine (VOICE_STT); without it an audio clip is answered with a request to type. */
  stt?: SpeechToText | null | undefined;
  /** Herald's text-to-speech engine (VOICE_TTS); with it, the answer to a recording is also shared spoken. */
  tts?: TextToSpeech | null | undefined;
  /**
   * Origins the bot token may be sent to for a file's bytes; default Slack's file host and,
   * when `apiUrl` is set, its origin.
   */
  fileOrigins?: readonly string[] | undefined;
}

interface Said {
  team: string;
  user: string;
  channel: string;
  text: string;
  /** The thread the message is in (`thread_ts`), if any. */
  thread?: string | undefined;
  /** Files the message shares (`file_share`). */
  files?: SlackFile[] | undefined;
}

/** Where user `key` owes an edited text: the question's channel, and its thread when it has one. */
function editSlot(key: string, channel: string, thread?: string): string {
  return `${key} ${channel} ${thread ?? ''}`;
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
    keepAuthorization(this.app);
    // Events are acknowledged before this runs; a repeated event_id goes no further.
    const seen = new DeliveryLog(opts.redis, 'slack-event', SEEN_EVENT_MS, opts.keyPrefix);
    this.app.use(async ({ body, next }) => {
      const eventId = (body as { event_id?: unknown }).event_id;
      if (typeof eventId === 'string' && !(await seen.firstTime(eventId))) return;
      await next();
    });
    this.app.event('message', async ({ event, body }) => {
      const e = event as unknown as Record<string, unknown>;
      // Plain messages, and messages sharing files (an audio clip is one).
      if (e.channel_type !== 'im' || e.bot_id !== undefined) return;
      if (e.subtype !== undefined && e.subtype !== 'file_share') return;
      this.#said({
        team: String(body.team_id),
        user: String(e.user),
        channel: String(e.channel),
        text: String(e.text ?? ''),
        thread: typeof e.thread_ts === 'string' ? e.thread_ts : undefined,
        files: filesOf(e.files),
      });
    });
    this.app.event('app_mention', async ({ event, body }) => {
      const text = String(event.text ?? '').replace(/<@[A-Z0-9]+>\s*/g, '');
      const files = filesOf((event as unknown as Record<string, unknown>).files);
      this.#said({
        team: String(body.team_id),
        user: String(event.user),
        channel: event.channel,
        text,
        thread: event.thread_ts,
        files,
      });
    });
    this.app.action<BlockAction<ButtonAction>>(/^herald_(approve|edit|reject)$/, async ({ ack, body, action }) => {
      await ack();
      this.#track(
        this.#press({
          key: `${body.team?.id ?? ''}:${body.user.id}`,
          user: body.user.id,
          value: action.value,
          channel: body.channel?.id,
          ts: body.message?.ts,
          thread: body.message?.thread_ts,
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
    /** The thread the question is in, if any. */
    thread?: string | undefined;
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
    const ref = p.channel && p.ts ? `${p.channel} ${p.ts}` : undefined;
    // The edit is owed where the question is: its channel, and its thread when it is in one.
    const slot = editSlot(p.key, p.channel ?? outcome.pending.replyTo, p.thread);
    if (outcome.choice === 'edit') {
      // Nothing is answered yet: the user's next message there is the new text, asked for in the thread.
      if (!(await this.#confirms.awaitEdit(outcome.id, slot, ref)))
        return tell('This request is no longer open; nothing was done.');
      await client.chat.postMessage({
        channel: outcome.pending.replyTo,
        text: slackEscape(EDIT_PROMPT),
        ...(p.ts ? { thread_ts: p.ts } : {}),
      });
      return;
    }
    if (!(await this.#confirms.take(outcome.id))) return tell('This request is no longer open; nothing was done.');
    await this.#confirms.settled(outcome.id, slot);
    const resumed = await this.#goOn(member, p.key, outcome.pending, { approved: outcome.approved }, ref);
    if (!resumed) await tell('This request is no longer open; nothing was done.');
  }

  /**
   * Goes on with the turn a request was answered for (a press, or an edited text); the
   * question's buttons (`ref`: `<channel> <ts>`) go once the thread is known to wait for this
   * very action. False when the thread waits for it no longer.
   */
  async #goOn(
    member: LinkedMember,
    key: string,
    pending: PendingConfirm,
    answer: ConfirmAnswer,
    ref: string | undefined,
  ): Promise<boolean> {
    const client = this.app.client;
    const reply = new SlackReply(client, pending.replyTo, (err) =>
      this.#opts.logger.warn({ err }, 'slack send failed'),
    );
    const sink = this.#sink(reply, pending.replyTo, key, pending.threadId);
    const [channel, ts] = ref?.split(' ') ?? [];
    const accepted = async () => {
      if (channel && ts)
        await client.chat.update({
          channel,
          ts,
          text: answer.edit ? 'Approved with your edit' : answer.approved ? 'Approved' : 'Rejected',
          blocks: [],
        });
    };
    let resumed: boolean;
    try {
      resumed = await resumeConfirmed(
        this.#opts.chat,
        memberPrincipal(member),
        pending,
        answer,
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
    return resumed;
  }

  /**
   * When the user owes the new text of a request (Edit was pressed), `text` is that text: the
   * request is taken and the turn goes on with the edit. True when the message was used so (or
   * refused as an edit); false for an ordinary message.
   */
  async #edited(member: LinkedMember, key: string, said: Said, text: string): Promise<boolean> {
    // Only a message where the question is (its thread, or its channel for a question outside
    // threads) carries the edit; one anywhere else is an ordinary message.
    const here = [...(said.thread ? [editSlot(key, said.channel, said.thread)] : []), editSlot(key, said.channel)];
    let slot: string | undefined;
    for (const s of here) if (await this.#confirms.owesEdit(s)) slot ??= s;
    if (slot === undefined) return false;
    const channel = said.channel;
    const client = this.app.client;
    const say = (t: string) => client.chat.postMessage({ channel, text: slackEscape(t) });
    if (/^\/?cancel$/i.test(text.trim())) {
      await this.#confirms.cancelEdit(slot);
      await say('Not edited: the buttons still work.');
      return true;
    }
    const edit = editTextOf(text);
    if (!edit.ok) {
      await say(`${edit.why} Send the new text, or "cancel".`);
      return true;
    }
    const owed = await this.#confirms.takeEdit(key, slot);
    if (owed.kind === 'none') return false;
    if (
      owed.kind === 'stale' ||
      !(await this.#goOn(member, key, owed.pending, { approved: true, edit: { text: edit.text } }, owed.ref))
    )
      await say('That request is no longer open; nothing was done with your text.');
    return true;
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
    const { audio, unread } = await this.#audioFileOf(said.files);
    if (audio) {
      await this.#audio(member, said, key, audio);
      return;
    }
    if (said.text.trim() === '') {
      // Only files, none of them readable: say why rather than nothing.
      if (unread)
        await client.chat.postMessage({
          channel: said.channel,
          text: 'I could not read the file you shared (the Slack app needs the files:read scope); please type instead.',
        });
      return;
    }
    if (await this.#edited(member, key, said, said.text)) return;
    await this.#turn(member, said, key, client);
  }

  /** An audio clip or file: fetched, decoded in process, transcribed, then run as the text it says. */
  async #audio(member: LinkedMember, said: Said, key: string, shared: SlackFile): Promise<void> {
    const client = this.app.client;
    const log = this.#opts.logger;
    const say = (text: string) => client.chat.postMessage({ channel: said.channel, text: slackEscape(text) });
    const stt = this.#opts.stt;
    if (!stt) {
      await say(
        'Audio messages are not turned on in this Herald (no speech-to-text engine); please type your message.',
      );
      return;
    }
    const file = shared;
    if ((file.size ?? 0) > MAX_AUDIO_BYTES || (file.duration_ms ?? 0) > MAX_AUDIO_S * 1000) {
      await say(`That recording is too long for me (at most ${MAX_AUDIO_S / 60} minutes); please split it or type.`);
      return;
    }
    let text: string;
    try {
      const bytes = await downloadSlackFile(file, this.#opts.botToken, this.#fileOrigins());
      // Decoding stops once the audio passes MAX_AUDIO_S (AudioTooLong), whatever Slack declared.
      const pcm = await decodeAudio(bytes, { maxSeconds: MAX_AUDIO_S });
      text = (await stt.transcribe(encodeWav(pcm), { signal: AbortSignal.timeout(60_000) })).trim();
    } catch (err) {
      const kind = file.pretty_type ?? file.filetype ?? file.mimetype ?? 'unknown';
      log.warn({ err: { message: (err as Error).message }, file: file.id, kind }, 'slack audio not understood');
      if (err instanceof AudioTooLong)
        await say(`That recording is too long for me (at most ${MAX_AUDIO_S / 60} minutes); please split it or type.`);
      else if (err instanceof AudioFormatUnsupported)
        await say(`I cannot play that audio format (${kind}). What works: ${SLACK_AUDIO_FORMATS}.`);
      else if (err instanceof AudioDownloadFailed)
        await say(
          'I could not fetch that audio file from Slack (the app needs the files:read scope); please try again or type.',
        );
      else await say('I could not make out that recording; please try again or type.');
      return;
    }
    if (!text) {
      await say('I heard nothing in that recording; please try again or type.');
      return;
    }
    // After Edit, a spoken clip is the new text too.
    if (await this.#edited(member, key, said, text)) return;
    const answer = await this.#turn(member, { ...said, text }, key, client, `🎙️ “${text}”\n\n`);
    await this.#speak(said.channel, answer);
  }

  /**
   * The first audio file a message shares. A stub (a Slack Connect channel's file, which says
   * nothing of its type) is read with `files.info` first; one that cannot be read is skipped
   * (`unread`).
   */
  async #audioFileOf(files: SlackFile[] | undefined): Promise<{ audio?: SlackFile; unread: boolean }> {
    let unread = false;
    for (const shared of files ?? []) {
      let file = shared;
      if (needsFileInfo(file)) {
        const info = await this.app.client.files.info({ file: file.id }).catch((err: unknown) => {
          this.#opts.logger.warn(
            { err: { message: (err as Error).message }, file: file.id },
            'slack files.info failed',
          );
          return undefined;
        });
        if (!info?.file) {
          unread = true;
          continue;
        }
        file = info.file as SlackFile;
      }
      if (isAudioFile(file)) return { audio: file, unread };
    }
    return { unread };
  }

  #fileOrigins(): readonly string[] {
    if (this.#opts.fileOrigins) return this.#opts.fileOrigins;
    return [SLACK_FILE_ORIGIN, ...(this.#opts.apiUrl ? [new URL(this.#opts.apiUrl).origin] : [])];
  }

  /** Runs a text turn answered in the conversation; the answer's text (after `prefix`, shown first). */
  async #turn(member: LinkedMember, said: Said, key: string, client: WebClient, prefix = ''): Promise<string> {
    const reply = new SlackReply(client, said.channel, (err) => this.#opts.logger.warn({ err }, 'slack send failed'));
    const threadId = `slack:${said.channel}:${said.user}`;
    if (prefix) reply.append(prefix);
    let answer = '';
    const sink = this.#sink(reply, said.channel, key, threadId);
    try {
      await this.#opts.chat.handle(
        {
          principal: memberPrincipal(member),
          turnId: randomUUID(),
          threadId,
          clientMessageId: randomUUID(),
          text: said.text,
        },
        {
          ...sink,
          token: (piece) => {
            answer += piece;
            sink.token(piece);
          },
        },
        this.#stop.signal,
      );
    } catch (err) {
      reply.append(`\n\n(That failed: ${isHeraldError(err) ? err.message : 'internal error'}.)`);
    }
    await reply.finish();
    return answer;
  }

  /**
   * The answer to a recording, spoken (TTS) and shared in the conversation as an Ogg/Opus file
   * (`files.getUploadURLExternal`, the bytes, `files.completeUploadExternal`: the Web API
   * client's `filesUploadV2`; needs `files:write`). A failure leaves the text answer alone.
   */
  async #speak(channel: string, answer: string): Promise<void> {
    const tts = this.#opts.tts;
    if (!tts || answer.trim() === '' || answer.length > MAX_SPOKEN_CHARS) return;
    try {
      const speech = await tts.synthesize(answer, AbortSignal.timeout(60_000));
      const ogg = encodeOggOpus(resamplePcm(speech, OGG_OPUS_PCM_RATE));
      await this.app.client.filesUploadV2({
        channel_id: channel,
        file: ogg,
        filename: 'answer.ogg',
        title: 'Spoken answer',
      });
    } catch (err) {
      this.#opts.logger.warn({ err: { message: (err as Error).message }, channel }, 'slack spoken answer not sent');
    }
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
              action_id: 'herald_edit',
              text: { type: 'plain_text', text: 'Edit' },
              value: request.edit,
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

/** The file objects of an event's `files`, when it has any. */
function filesOf(raw: unknown): SlackFile[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw.filter(
    (f): f is SlackFile => typeof f === 'object' && f !== null && typeof (f as SlackFile).id === 'string',
  );
}

type Authorize = (source: { isEnterpriseInstall?: boolean }, body?: unknown) => Promise<unknown>;

/**
 * Bolt 5.1 given a bot token with `tokenVerificationEnabled: false` (so that a Slack that cannot
 * be reached at start does not fail every later event) calls `auth.test` again before every
 * event (`singleAuthorization` re-runs it on each call): a Web API round trip (Tier 4) on the
 * way to every answer. The first successful answer is kept instead, per install kind; a failure
 * is tried again with the next event. `authorize` is Bolt's private field (pinned version); its
 * absence fails here, at construction, not silently.
 */
function keepAuthorization(app: App): void {
  const bolt = app as unknown as { authorize?: Authorize };
  const authorize = bolt.authorize;
  if (typeof authorize !== 'function') throw new Error('@slack/bolt changed: App.authorize is not a function');
  const kept = new Map<boolean, Promise<unknown>>();
  bolt.authorize = (source, body) => {
    const kind = source.isEnterpriseInstall === true;
    let result = kept.get(kind);
    if (!result) {
      result = authorize.call(app, source, body).catch((err: unknown) => {
        kept.delete(kind);
        throw err;
      });
      kept.set(kind, result);
    }
    // A copy per event: Bolt writes the event's own fields (user, team, retry) into the object
    // it is given, and one shared object would carry the first event's into later ones.
    return result.then((r) => ({ ...(r as object) }));
  };
}
