/**
 * A local Telegram Bot API server for tests, written from the official documentation
 * (https://core.telegram.org/bots/api): requests are `POST /bot<token>/<method>` with a JSON
 * body; answers are `{"ok":true,"result":...}` or `{"ok":false,"error_code","description",
 * "parameters"?}` ("Making requests"); flood control answers 429 with
 * `parameters.retry_after` in seconds (ResponseParameters); `getUpdates` with `offset`
 * confirms earlier updates and long-polls up to `timeout` seconds, and answers 409 while a
 * webhook is set ("Getting updates"); `setWebhook` with `secret_token` makes every webhook
 * delivery carry `X-Telegram-Bot-Api-Secret-Token` (setWebhook); `editMessageText` with the
 * same text is a 400 "message is not modified". Files: `getFile` answers a File with its
 * `file_path` (files over 20 MB: 400 "file is too big"), downloaded from
 * `/file/bot<token>/<file_path>`; `sendVoice` takes the OGG/Opus as a multipart upload. It plays
 * the users too: `send`, `sendVoice` and `press` make the updates a person's message, voice
 * note or button press would.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMessage {
  message_id: number;
  chat_id: number;
  text: string;
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> } | undefined;
  /** Sent with `reply_markup` `force_reply` (ForceReply): the app opens a reply to it, the bot asks for text. */
  forceReply?: boolean;
  /** Every text the message has shown, first to last. */
  versions: string[];
}

export interface FakeCall {
  method: string;
  body: Record<string, unknown>;
}

type Update = Record<string, unknown> & { update_id: number };

export interface TelegramFake {
  url: string;
  token: string;
  calls: FakeCall[];
  /** Messages the bot sent, per chat. */
  messages(chatId: number): FakeMessage[];
  /** Callback query answers the bot gave, by query id. */
  answers: Map<string, { text?: string; show_alert?: boolean }>;
  /** The next `count` calls of `method` answer 429 with `retry_after` seconds. */
  floodNext(method: string, retryAfterS: number, count?: number): void;
  /** A person's text message in a private chat; delivered by webhook when one is set, else queued for getUpdates. */
  send(chatId: number, text: string, opts?: { secret?: string }): Promise<{ update: Update; status?: number }>;
  /** A person's voice note (OGG/Opus bytes) in a private chat. */
  sendVoiceNote(chatId: number, ogg: Buffer, durationS: number): Promise<{ update: Update; status?: number }>;
  /** Voice notes the bot sent, per chat (the uploaded bytes). */
  voices(chatId: number): Buffer[];
  /** A person pressing an inline button under `message`. */
  press(
    chatId: number,
    message: FakeMessage,
    data: string,
    opts?: { secret?: string },
  ): Promise<{ update: Update; status?: number; queryId: string }>;
  /** Delivers `update` to the webhook (with the secret set by setWebhook, or `secret`); the HTTP status. */
  deliver(update: Update, secret?: string): Promise<number>;
  setWebhookDirect(url: string, secret?: string): void;
  /** Calls `cb` on every Bot API call as it arrives (benchmarks time the bot's answers); returns the unwatch. */
  watch(cb: (call: FakeCall) => void): () => void;
  close(): Promise<void>;
}

const BOT = {
  id: 7000001,
  is_bot: true,
  first_name: 'Herald',
  username: 'herald_test_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};

export async function startTelegramFake(token = '7000001:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaaa'): Promise<TelegramFake> {
  const calls: FakeCall[] = [];
  const watchers = new Set<(call: FakeCall) => void>();
  const byChat = new Map<number, FakeMessage[]>();
  const answers = new Map<string, { text?: string; show_alert?: boolean }>();
  const floods = new Map<string, { retryAfter: number; count: number }>();
  const queue: Update[] = [];
  const waiters: Array<() => void> = [];
  let webhook: { url: string; secret?: string | undefined } | undefined;
  let nextUpdate = 1;
  let nextMessage = 100;
  let nextQuery = 1;
  const now = () => Math.floor(Date.now() / 1000);

  const ok = (result: unknown) => ({ status: 200, body: { ok: true, result } });
  const fail = (status: number, description: string, parameters?: Record<string, unknown>) => ({
    status,
    body: { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) },
  });

  const messageOf = (chatId: unknown, messageId: unknown) =>
    byChat.get(Number(chatId))?.find((m) => m.message_id === Number(messageId));
  const wire = (m: FakeMessage) => ({
    message_id: m.message_id,
    date: now(),
    chat: { id: m.chat_id, type: 'private', first_name: 'Pat' },
    from: BOT,
    text: m.text,
    ...(m.reply_markup ? { reply_markup: m.reply_markup } : {}),
  });

  async function handle(method: string, body: Record<string, unknown>) {
    calls.push({ method, body });
    for (const w of watchers) w({ method, body });
    const flood = floods.get(method);
    if (flood && flood.count > 0) {
      flood.count -= 1;
      return fail(429, `Too Many Requests: retry after ${flood.retryAfter}`, { retry_after: flood.retryAfter });
    }
    switch (method) {
      case 'getMe':
        return ok(BOT);
      case 'getFile': {
        const f = files.get(String(body.file_id));
        if (!f) return fail(400, 'Bad Request: invalid file_id');
        if (f.bytes.length > 20 * 1024 * 1024) return fail(400, 'Bad Request: file is too big');
        return ok({
          file_id: String(body.file_id),
          file_unique_id: `u${String(body.file_id)}`,
          file_size: f.bytes.length,
          file_path: f.path,
        });
      }
      case 'sendVoice': {
        const chatId = Number(body.chat_id);
        const voice = body.voice;
        if (!Buffer.isBuffer(voice) || voice.length === 0)
          return fail(400, 'Bad Request: there is no voice in the request');
        voices.set(chatId, [...(voices.get(chatId) ?? []), voice]);
        const id = `voice-out-${nextMessage}`;
        files.set(id, { path: `voice/${id}.oga`, bytes: voice });
        return ok({
          message_id: nextMessage++,
          date: now(),
          chat: { id: chatId, type: 'private' },
          voice: {
            file_id: id,
            file_unique_id: `u${id}`,
            duration: Number(body.duration ?? 0),
            mime_type: 'audio/ogg',
            file_size: voice.length,
          },
        });
      }
      case 'sendMessage': {
        const text = String(body.text ?? '');
        if (text.length === 0 || text.length > 4096) return fail(400, 'Bad Request: message text is empty or too long');
        const chatId = Number(body.chat_id);
        const m: FakeMessage = {
          message_id: nextMessage++,
          chat_id: chatId,
          text,
          versions: [text],
        };
        const markup = body.reply_markup as { force_reply?: boolean; inline_keyboard?: unknown } | undefined;
        if (markup?.force_reply === true) m.forceReply = true;
        else if (markup) m.reply_markup = markup as FakeMessage['reply_markup'];
        for (const row of m.reply_markup?.inline_keyboard ?? [])
          for (const b of row)
            if (Buffer.byteLength(b.callback_data ?? '') > 64) return fail(400, 'Bad Request: BUTTON_DATA_INVALID');
        byChat.set(chatId, [...(byChat.get(chatId) ?? []), m]);
        return ok(wire(m));
      }
      case 'editMessageText': {
        const m = messageOf(body.chat_id, body.message_id);
        if (!m) return fail(400, 'Bad Request: message to edit not found');
        const text = String(body.text ?? '');
        if (text.length === 0 || text.length > 4096) return fail(400, 'Bad Request: message text is empty or too long');
        if (text === m.text) return fail(400, 'Bad Request: message is not modified');
        m.text = text;
        m.versions.push(text);
        return ok(wire(m));
      }
      case 'editMessageReplyMarkup': {
        const m = messageOf(body.chat_id, body.message_id);
        if (!m) return fail(400, 'Bad Request: message to edit not found');
        m.reply_markup = body.reply_markup as FakeMessage['reply_markup'];
        return ok(wire(m));
      }
      case 'answerCallbackQuery':
        answers.set(String(body.callback_query_id), {
          ...(body.text === undefined ? {} : { text: String(body.text) }),
          ...(body.show_alert === undefined ? {} : { show_alert: Boolean(body.show_alert) }),
        });
        return ok(true);
      case 'setWebhook':
        webhook = String(body.url ?? '')
          ? { url: String(body.url), secret: body.secret_token as string | undefined }
          : undefined;
        return ok(true);
      case 'deleteWebhook':
        webhook = undefined;
        if (body.drop_pending_updates) queue.splice(0);
        return ok(true);
      case 'getUpdates': {
        if (webhook)
          return fail(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          );
        const offset = Number(body.offset ?? 0);
        // An offset confirms every update below it: they are never returned again.
        while (queue.length > 0 && queue[0]!.update_id < offset) queue.shift();
        const timeoutS = Math.min(Number(body.timeout ?? 0), 50);
        if (queue.length === 0 && timeoutS > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, timeoutS * 1000);
            waiters.push(() => {
              clearTimeout(t);
              resolve();
            });
          });
        }
        const limit = Math.min(Math.max(Number(body.limit ?? 100), 1), 100);
        return ok(queue.slice(0, limit));
      }
      default:
        return fail(404, 'Not Found: method not found');
    }
  }

  const files = new Map<string, { path: string; bytes: Buffer }>();
  const voices = new Map<number, Buffer[]>();
  const readBody = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const type = req.headers['content-type'] ?? '';
    if (type.includes('multipart/form-data')) {
      // multipart/form-data (RFC 7578): parts split on the boundary, each headers CRLFCRLF body.
      const boundary = Buffer.from(`--${/boundary="?([^";]+)"?/.exec(type)?.[1] ?? ''}`);
      const raw = Buffer.concat(chunks);
      const out: Record<string, unknown> = {};
      let at = raw.indexOf(boundary);
      while (at >= 0) {
        const start = at + boundary.length + 2;
        const next = raw.indexOf(boundary, start);
        if (next < 0) break;
        const part = raw.subarray(start, next - 2);
        const split = part.indexOf('\r\n\r\n');
        const head = part.subarray(0, split).toString('utf8');
        const bodyPart = part.subarray(split + 4);
        const name = /name="([^"]+)"/.exec(head)?.[1];
        if (name) out[name] = /filename=/.test(head) ? Buffer.from(bodyPart) : bodyPart.toString('utf8');
        at = next;
      }
      // A file may be sent in its own part and named as `attach://<part name>` ("Sending files").
      for (const [k, v] of Object.entries(out))
        if (typeof v === 'string' && v.startsWith('attach://')) out[k] = out[v.slice('attach://'.length)];
      return out;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!raw) return {};
    if ((req.headers['content-type'] ?? '').includes('application/json'))
      return JSON.parse(raw) as Record<string, unknown>;
    return Object.fromEntries(new URLSearchParams(raw));
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
      if (file) {
        const f = [...files.values()].find((x) => x.path === file[2]);
        if (file[1] !== token || !f) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.bytes.length });
        res.end(f.bytes);
        return;
      }
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
      let out;
      if (!m) out = fail(404, 'Not Found');
      else if (m[1] !== token) out = fail(401, 'Unauthorized');
      else out = await handle(m[2]!, await readBody(req));
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    })().catch(() => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 500, description: 'Internal Server Error' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function deliver(update: Update, secret?: string): Promise<number> {
    if (!webhook) throw new Error('no webhook is set');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const s = secret ?? webhook.secret;
    if (s !== undefined) headers['x-telegram-bot-api-secret-token'] = s;
    const res = await fetch(webhook.url, { method: 'POST', headers, body: JSON.stringify(update) });
    await res.arrayBuffer();
    return res.status;
  }

  async function dispatch(update: Update, secret?: string) {
    if (webhook) return { update, status: await deliver(update, secret) };
    queue.push(update);
    for (const w of waiters.splice(0)) w();
    return { update };
  }

  const person = (chatId: number) => ({ id: chatId, is_bot: false, first_name: 'Pat' });

  return {
    url,
    token,
    calls,
    answers,
    messages: (chatId) => byChat.get(chatId) ?? [],
    floodNext(method, retryAfterS, count = 1) {
      floods.set(method, { retryAfter: retryAfterS, count });
    },
    send(chatId, text, opts = {}) {
      const update: Update = {
        update_id: nextUpdate++,
        message: {
          message_id: nextMessage++,
          date: now(),
          chat: { id: chatId, type: 'private', first_name: 'Pat' },
          from: person(chatId),
          text,
          ...(text.startsWith('/')
            ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] }
            : {}),
        },
      };
      return dispatch(update, opts.secret);
    },
    voices: (chatId) => voices.get(chatId) ?? [],
    sendVoiceNote(chatId, ogg, durationS) {
      const id = `voice-in-${nextUpdate}`;
      files.set(id, { path: `voice/file_${nextUpdate}.oga`, bytes: ogg });
      const update: Update = {
        update_id: nextUpdate++,
        message: {
          message_id: nextMessage++,
          date: now(),
          chat: { id: chatId, type: 'private', first_name: 'Pat' },
          from: person(chatId),
          voice: {
            file_id: id,
            file_unique_id: `u${id}`,
            duration: durationS,
            mime_type: 'audio/ogg',
            file_size: ogg.length,
          },
        },
      };
      return dispatch(update);
    },
    async press(chatId, message, data, opts = {}) {
      const queryId = String(nextQuery++);
      const update: Update = {
        update_id: nextUpdate++,
        callback_query: {
          id: queryId,
          from: person(chatId),
          chat_instance: `ci-${message.chat_id}`,
          message: wire(message),
          data,
        },
      };
      return { ...(await dispatch(update, opts.secret)), queryId };
    },
    deliver,
    watch(cb) {
      watchers.add(cb);
      return () => watchers.delete(cb);
    },
    setWebhookDirect(u, secret) {
      webhook = { url: u, secret };
    },
    async close() {
      for (const w of waiters.splice(0)) w();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
