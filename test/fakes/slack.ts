/**
 * A local Slack for tests, written from Slack's documentation, not from Herald's client.
 *
 * The Web API (https://api.slack.com/web): `POST /api/<method>`; form-encoded arguments may
 * carry the token as `token`, JSON bodies only in `Authorization: Bearer` (no token:
 * `not_authed`, a wrong one: `invalid_auth`); every answer is HTTP 200 `{"ok":true,...}` or
 * `{"ok":false,"error"}`, except rate limiting: HTTP 429 with `Retry-After` seconds. Methods:
 * `auth.test`, `chat.postMessage` (text or blocks required: `no_text`; at most 50 blocks, a
 * section's text at most 3000 characters: `invalid_blocks`; text past 40,000 characters is
 * truncated), `chat.update` (Tier 3: `updatesPerMinute` calls a minute per workspace, then
 * 429; text past 40,000: `msg_too_long`; without `blocks` but with `text` the old blocks are
 * removed, `blocks: []` removes them too; unknown ts: `message_not_found`),
 * `chat.postEphemeral`, `files.info` (needs the `files:read` scope: `missing_scope` otherwise;
 * unknown file: `file_not_found`).
 *
 * Uploads by the app (https://api.slack.com/methods/files.getUploadURLExternal and
 * https://api.slack.com/methods/files.completeUploadExternal, needing `files:write`): `files.getUploadURLExternal` (`filename`, `length`) answers an `upload_url` and
 * a `file_id`; the bytes are POSTed there (raw or multipart) and must be `length` long;
 * `files.completeUploadExternal` (`files` JSON `[{id, title}]`, `channel_id`) shares them in the
 * channel (`uploads(channel)`); an id whose bytes never arrived is refused (`file_not_found`
 * here). Without `files:write`: `missing_scope`.
 *
 * Files (https://api.slack.com/types/file, its Authentication section): `shareFile` stores a
 * file as a user's upload and gives its file object (`url_private`, `url_private_download`,
 * `mimetype`, `filetype`, `size`, and for a clip recorded in Slack `subtype: "slack_audio"`
 * with `duration_ms`). Its bytes are served at those URLs only to `Authorization: Bearer
 * <token>` where the token bears `files:read`: no or a wrong token is 401, a token without the
 * scope 403, an unknown file 404. A message sharing files reaches the app as a `message` event
 * with subtype `file_share` and the file objects in `files`
 * (https://api.slack.com/events/message/file_share); in a Slack Connect channel the objects are
 * stubs (`file_access: "check_file_info"`) to be read with `files.info` (`stubOf`).
 *
 * The sending side of the Events API and interactivity, signed as
 * https://api.slack.com/authentication/verifying-requests-from-slack describes (`v0=`
 * HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret, `X-Slack-Request-Timestamp`):
 * `deliverEvent` wraps an event in the `event_callback` envelope (token, team_id, api_app_id,
 * event, event_id, event_time, authorizations) and, when the answer is not a 2xx within 3
 * seconds, redelivers it up to 3 times with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`
 * (`http_timeout`, `http_error`, `connection_failed`), unless the answer carried
 * `X-Slack-No-Retry: 1` (Slack waits at once, 1 and 5 minutes: `retryDelaysMs` here);
 * `pressButton` posts a `block_actions` payload (form-encoded `payload`) as a click on a
 * message's button sends it; `verifyUrl` sends the `url_verification` challenge.
 *
 * Socket Mode (https://api.slack.com/apis/socket-mode and .../connections/socket-implement):
 * `apps.connections.open` takes only an app-level token (`xapp-`; a bot token is
 * `not_allowed_token_type`) and answers a one-time WebSocket URL (`.../link/?ticket=...`); a
 * connection first gets `{"type":"hello","num_connections",...}`; each event or interaction
 * goes out as an envelope (`envelope_id`, `type` `events_api` | `interactive`, `payload`,
 * `accepts_response_payload`, `retry_attempt`, `retry_reason`) that the app must answer
 * `{"envelope_id"}` within 3 seconds, or it is sent again with `retry_attempt` + 1 and
 * `retry_reason` `timeout` (3 times at most); `{"type":"disconnect","reason":"warning" |
 * "refresh_requested" | "link_disabled"}` tells the app to get a new URL, after which Slack
 * closes the old socket. Slack pings every connection.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: Array<Record<string, unknown>> | undefined;
  /** Set on a reply in a thread: the parent message's `ts`. */
  thread_ts?: string | undefined;
  versions: string[];
}

export interface Delivery {
  /** Every attempt's HTTP status (0: no answer within 3 seconds or no connection). */
  statuses: number[];
  /** The `X-Slack-Retry-Reason` each redelivery carried. */
  reasons: string[];
}

export interface EnvelopeResult {
  envelopeId: string;
  /** Whether the app answered `{"envelope_id"}` (on the last attempt). */
  acked: boolean;
  /** How many times the envelope was sent (1 + retries). */
  attempts: number;
  /** The `payload` the app answered with, if any. */
  response?: unknown;
}

/** Slack's side of Socket Mode. */
export interface SocketModeSide {
  readonly appToken: string;
  /** Open connections (past their `hello`). */
  readonly open: number;
  /** How many URLs `apps.connections.open` gave out. */
  readonly urlsIssued: number;
  /** Sends `event` as an `events_api` envelope on the newest connection, re-sent until acked (3 retries). */
  sendEvent(event: Record<string, unknown>, eventId?: string): Promise<EnvelopeResult>;
  /** A click on the button with `value` under `message`, as an `interactive` envelope. */
  pressButton(p: { user: string; channel: string; message: SlackMessage; value: string }): Promise<EnvelopeResult>;
  /** Sends `{"type":"disconnect","reason"}` on every open connection and closes them after `closeAfterMs`. */
  disconnect(reason: 'warning' | 'refresh_requested' | 'link_disabled', closeAfterMs?: number): void;
  /** Resolves once `n` connections are open. */
  waitOpen(n?: number): Promise<void>;
}

/** A file as a user uploaded it (the fake's copy of its bytes beside its object). */
export interface SharedFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  pretty_type: string;
  user: string;
  size: number;
  mode: 'hosted';
  is_external: false;
  url_private: string;
  url_private_download: string;
  permalink: string;
  subtype?: string;
  duration_ms?: number;
}

export interface SlackFakeOptions {
  token?: string;
  /** The bot token's scopes (default: chat:write, im:history, app_mentions:read, files:read, files:write). */
  scopes?: string[];
  /** The app-level token `apps.connections.open` accepts. */
  appToken?: string;
  /** How long a Socket Mode envelope waits for its ack before it is sent again (Slack: 3 s). */
  envelopeAckMs?: number;
  /** Tier 3 budget for `chat.update` per workspace per minute (Slack: 50+). */
  updatesPerMinute?: number;
  /** Waits before each redelivery (Slack: at once, 1 minute, 5 minutes). */
  retryDelaysMs?: [number, number, number];
}

export interface SlackFake {
  /** Web API root for the client (`.../api/`). */
  apiUrl: string;
  token: string;
  team: string;
  appId: string;
  messages(channel: string): SlackMessage[];
  ephemerals: Array<{ channel: string; user: string; text: string }>;
  /** Stores `bytes` as `user`'s upload; its file object, as events carry it. */
  shareFile(
    user: string,
    bytes: Buffer,
    meta: { name: string; mimetype: string; filetype: string; prettyType?: string; clip?: { durationMs: number } },
  ): SharedFile;
  /** The stub a Slack Connect channel's event carries for `file` (read it with `files.info`). */
  stubOf(file: SharedFile): Record<string, unknown>;
  /** Calls `cb` on every message written (`chat.postMessage`, `chat.update`) as it arrives (benchmarks); returns the unwatch. */
  watch(cb: (w: { method: 'chat.postMessage' | 'chat.update'; channel: string; text: string }) => void): () => void;
  /** Files the app shared in `channel` (`files.completeUploadExternal`), with their bytes. */
  uploads(channel: string): Array<{ id: string; title: string; filename: string; bytes: Buffer }>;
  /** How many times the Web API method was called (any answer). */
  callsOf(method: string): number;
  /** Downloads of file bytes: each request's path and HTTP status. */
  downloads: Array<{ path: string; status: number }>;
  /** The next `count` calls of `method` answer 429 with `Retry-After: retryAfterS`. */
  rateLimitNext(method: string, retryAfterS: number, count?: number): void;
  /** How many calls were answered 429. */
  readonly limited: number;
  /** Signs `body` as Slack does, at `timestamp` (seconds; default now). */
  sign(body: string, secret: string, timestamp?: number): Record<string, string>;
  /** The `event_callback` envelope Slack would send for `event` (a new `event_id` unless given). */
  envelope(event: Record<string, unknown>, eventId?: string): Record<string, unknown>;
  /** Delivers `event` to `url` signed with `secret`, redelivering as Slack does until a 2xx. */
  deliverEvent(url: string, secret: string, event: Record<string, unknown>, eventId?: string): Promise<Delivery>;
  /** `user` clicks the button whose value is `value` on `message` in `channel`; the HTTP status. */
  pressButton(
    url: string,
    secret: string,
    p: { user: string; channel: string; message: SlackMessage; value: string },
  ): Promise<number>;
  /** The `url_verification` request; the parsed answer. */
  verifyUrl(url: string, secret: string, challenge: string): Promise<unknown>;
  socket: SocketModeSide;
  close(): Promise<void>;
}

const TEXT_MAX = 40_000;
const SECTION_TEXT_MAX = 3000;
const BLOCKS_MAX = 50;
const ANSWER_WITHIN_MS = 3000;

/** Blocks as sent (JSON string in a form, array in JSON), or an error code. */
function blocksOf(raw: unknown): Array<Record<string, unknown>> | undefined | 'invalid_blocks' {
  if (raw === undefined) return undefined;
  let blocks: unknown = raw;
  if (typeof raw === 'string') {
    try {
      blocks = JSON.parse(raw);
    } catch {
      return 'invalid_blocks';
    }
  }
  if (!Array.isArray(blocks) || blocks.length > BLOCKS_MAX) return 'invalid_blocks';
  for (const b of blocks as Array<Record<string, unknown>>) {
    const text = (b.text as { text?: unknown } | undefined)?.text;
    if (b.type === 'section' && typeof text === 'string' && text.length > SECTION_TEXT_MAX) return 'invalid_blocks';
  }
  return blocks as Array<Record<string, unknown>>;
}

export async function startSlackFake(opts: SlackFakeOptions | string = {}): Promise<SlackFake> {
  const o: SlackFakeOptions = typeof opts === 'string' ? { token: opts } : opts;
  const token = o.token ?? 'xoxb-test-token';
  const appToken = o.appToken ?? 'xapp-1-A0HERALD-1-test';
  const envelopeAckMs = o.envelopeAckMs ?? ANSWER_WITHIN_MS;
  const updatesPerMinute = o.updatesPerMinute ?? 50;
  const retryDelays = o.retryDelaysMs ?? [0, 60_000, 300_000];
  const scopes = new Set(o.scopes ?? ['chat:write', 'im:history', 'app_mentions:read', 'files:read', 'files:write']);
  const files = new Map<string, { file: SharedFile; bytes: Buffer }>();
  const downloads: SlackFake['downloads'] = [];
  const methodCalls = new Map<string, number>();
  const pendingUploads = new Map<string, { filename: string; length: number; bytes?: Buffer }>();
  const byUpload = new Map<string, Array<{ id: string; title: string; filename: string; bytes: Buffer }>>();
  const watchers = new Set<Parameters<SlackFake['watch']>[0]>();
  let nextFile = 1;
  const byChannel = new Map<string, SlackMessage[]>();
  const ephemerals: SlackFake['ephemerals'] = [];
  const limits = new Map<string, { retryAfter: number; count: number }>();
  const updates: number[] = [];
  let clock = 1_700_000_000;
  const team = 'T0HERALD';
  const appId = 'A0HERALD';
  let limited = 0;
  let nextEvent = 1;

  const handle = (method: string, args: Record<string, unknown>) => {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://herald-test.slack.com/',
          team: 'Herald',
          team_id: team,
          user_id: 'UBOT',
          bot_id: 'BBOT',
          user: 'herald',
        };
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const blocks = blocksOf(args.blocks);
        if (blocks === 'invalid_blocks') return { ok: false, error: 'invalid_blocks' };
        const text = String(args.text ?? '').slice(0, TEXT_MAX);
        if (!text && !blocks?.length) return { ok: false, error: 'no_text' };
        const threadTs = args.thread_ts === undefined ? undefined : String(args.thread_ts);
        if (threadTs !== undefined && !byChannel.get(channel)?.some((x) => x.ts === threadTs))
          return { ok: false, error: 'thread_not_found' };
        const m: SlackMessage = {
          channel,
          ts: `${clock++}.000100`,
          text,
          blocks,
          thread_ts: threadTs,
          versions: [text],
        };
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), m]);
        for (const w of watchers) w({ method: 'chat.postMessage', channel, text });
        return { ok: true, channel, ts: m.ts, message: { type: 'message', text, ts: m.ts, bot_id: 'BBOT' } };
      }
      case 'chat.update': {
        const m = byChannel.get(String(args.channel))?.find((x) => x.ts === String(args.ts));
        if (!m) return { ok: false, error: 'message_not_found' };
        const blocks = blocksOf(args.blocks);
        if (blocks === 'invalid_blocks') return { ok: false, error: 'invalid_blocks' };
        if (args.text === undefined && blocks === undefined) return { ok: false, error: 'no_text' };
        if (typeof args.text === 'string' && args.text.length > TEXT_MAX) return { ok: false, error: 'msg_too_long' };
        if (args.text !== undefined) m.text = String(args.text);
        // Text without blocks replaces the blocks; blocks (even []) replace them.
        m.blocks = blocks ?? (args.text !== undefined ? undefined : m.blocks);
        m.versions.push(m.text);
        for (const w of watchers) w({ method: 'chat.update', channel: m.channel, text: m.text });
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'files.getUploadURLExternal': {
        if (!scopes.has('files:write'))
          return { ok: false, error: 'missing_scope', needed: 'files:write', provided: [...scopes].join(',') };
        const length = Number(args.length);
        if (!args.filename || !Number.isInteger(length) || length <= 0)
          return { ok: false, error: 'invalid_arguments' };
        const fileId = `F0UP${String(nextFile++).padStart(6, '0')}`;
        pendingUploads.set(fileId, { filename: String(args.filename), length });
        return { ok: true, upload_url: `${base}/upload/v1/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        if (!scopes.has('files:write'))
          return { ok: false, error: 'missing_scope', needed: 'files:write', provided: [...scopes].join(',') };
        let list: Array<{ id?: unknown; title?: unknown }>;
        try {
          list = (typeof args.files === 'string' ? JSON.parse(args.files) : args.files) as typeof list;
        } catch {
          return { ok: false, error: 'invalid_arguments' };
        }
        if (!Array.isArray(list) || list.length === 0) return { ok: false, error: 'invalid_arguments' };
        const channel = String(args.channel_id ?? '');
        const done: Array<Record<string, unknown>> = [];
        for (const f of list) {
          const up = pendingUploads.get(String(f.id));
          if (!up?.bytes) return { ok: false, error: 'file_not_found' };
          pendingUploads.delete(String(f.id));
          const title = String(f.title ?? up.filename);
          if (channel)
            byUpload.set(channel, [
              ...(byUpload.get(channel) ?? []),
              { id: String(f.id), title, filename: up.filename, bytes: up.bytes },
            ]);
          done.push({ id: String(f.id), title, name: up.filename, size: up.bytes.length });
        }
        return { ok: true, files: done };
      }
      case 'files.info': {
        if (!scopes.has('files:read'))
          return { ok: false, error: 'missing_scope', needed: 'files:read', provided: [...scopes].join(',') };
        const f = files.get(String(args.file ?? ''));
        if (!f) return { ok: false, error: 'file_not_found' };
        return { ok: true, file: f.file, comments: [], response_metadata: { next_cursor: '' } };
      }
      case 'chat.postEphemeral':
        if (!args.channel || !args.user) return { ok: false, error: 'channel_not_found' };
        ephemerals.push({ channel: String(args.channel), user: String(args.user), text: String(args.text ?? '') });
        return { ok: true, message_ts: `${clock++}.000200` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url?.split('?')[0] ?? '';
      if (path.startsWith('/files-pri/')) return serveFile(req, res, path);
      if (path.startsWith('/upload/v1/')) return takeUpload(req, res, path, chunks);
      const method = /^\/api\/([a-zA-Z.]+)$/.exec(path)?.[1] ?? '';
      methodCalls.set(method, (methodCalls.get(method) ?? 0) + 1);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const left = limits.get(method);
      if (left !== undefined && left.count > 0) {
        left.count -= 1;
        limited += 1;
        return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(left.retryAfter) });
      }
      if (method === 'chat.update') {
        const now = Date.now();
        while (updates.length > 0 && updates[0]! <= now - 60_000) updates.shift();
        if (updates.length >= updatesPerMinute) {
          limited += 1;
          const retryAfter = Math.max(1, Math.ceil((updates[0]! + 60_000 - now) / 1000));
          return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
        }
        updates.push(now);
      }
      const json = (req.headers['content-type'] ?? '').includes('application/json');
      let args: Record<string, unknown>;
      try {
        args = json
          ? (JSON.parse(raw || '{}') as Record<string, unknown>)
          : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        return send(200, { ok: false, error: 'invalid_json' });
      }
      // A JSON body cannot carry the token; a form may.
      const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? (json ? undefined : args.token);
      if (given === undefined || given === '') return send(200, { ok: false, error: 'not_authed' });
      if (method === 'apps.connections.open') {
        if (given === token) return send(200, { ok: false, error: 'not_allowed_token_type' });
        if (given !== appToken) return send(200, { ok: false, error: 'invalid_auth' });
        const ticket = randomBytes(12).toString('hex');
        tickets.add(ticket);
        urlsIssued += 1;
        return send(200, { ok: true, url: `${base.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${appId}` });
      }
      if (given === appToken) return send(200, { ok: false, error: 'not_allowed_token_type' });
      if (given !== token) return send(200, { ok: false, error: 'invalid_auth' });
      send(200, handle(method, args));
    })();
  });
  /** `POST /upload/v1/<file id>`: the bytes of an upload `files.getUploadURLExternal` announced (raw or multipart). */
  async function takeUpload(req: IncomingMessage, res: ServerResponse, path: string, chunks: Buffer[]) {
    const up = pendingUploads.get(path.slice('/upload/v1/'.length));
    if (!up) {
      res.writeHead(404).end('Not Found');
      return;
    }
    let bytes = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await new Request('http://x/', {
        method: 'POST',
        headers: { 'content-type': type },
        body: bytes,
      }).formData();
      const file = [...form.values()].find((v) => typeof v !== 'string') as Blob | undefined;
      bytes = file ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
    }
    if (bytes.length !== up.length) {
      res.writeHead(400).end('length mismatch');
      return;
    }
    up.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  /** `GET /files-pri/<team>-<file id>/[download/]<name>`: the bytes, to the bot token with files:read only. */
  function serveFile(req: IncomingMessage, res: ServerResponse, path: string) {
    const end = (status: number, body: string | Buffer, type = 'text/plain') => {
      downloads.push({ path, status });
      res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (given !== token) return end(401, 'Unauthorized');
    if (!scopes.has('files:read')) return end(403, 'Forbidden');
    const m = /^\/files-pri\/[A-Z0-9]+-([A-Z0-9]+)\/(?:download\/)?[^/]+$/.exec(path);
    const f = m ? files.get(m[1]!) : undefined;
    if (!f) return end(404, 'Not Found');
    end(200, f.bytes, f.file.mimetype);
  }

  // Socket Mode: one-time tickets, connections newest last, envelopes waiting for their ack.
  const tickets = new Set<string>();
  let urlsIssued = 0;
  const sockets: WebSocket[] = [];
  const waiting = new Map<string, (response: unknown) => void>();
  const openWaiters: Array<() => void> = [];
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const ticket = u.searchParams.get('ticket') ?? '';
    if (u.pathname !== '/link/' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data) => {
        let msg: { envelope_id?: unknown; payload?: unknown };
        try {
          msg = JSON.parse(String(data)) as typeof msg;
        } catch {
          return;
        }
        if (typeof msg.envelope_id === 'string') waiting.get(msg.envelope_id)?.(msg.payload);
      });
      ws.on('close', () => {
        const i = sockets.indexOf(ws);
        if (i >= 0) sockets.splice(i, 1);
      });
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.length,
          debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: appId },
        }),
      );
      for (const w of openWaiters.splice(0)) w();
    });
  });
  // Slack pings; the client takes a silent server for a dead one.
  const pinger = setInterval(() => {
    for (const ws of sockets) ws.ping();
  }, 5_000);
  pinger.unref();

  async function sendEnvelope(type: 'events_api' | 'interactive', payload: unknown): Promise<EnvelopeResult> {
    const envelopeId = randomUUID();
    let reason = '';
    for (let attempt = 0; attempt <= 3; attempt++) {
      const ws = sockets.at(-1);
      if (!ws) throw new Error('no Socket Mode connection is open');
      const answered = new Promise<{ response: unknown } | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), envelopeAckMs);
        waiting.set(envelopeId, (response) => {
          clearTimeout(timer);
          resolve({ response });
        });
      });
      ws.send(
        JSON.stringify({
          envelope_id: envelopeId,
          payload,
          type,
          accepts_response_payload: type === 'interactive',
          retry_attempt: attempt,
          retry_reason: reason,
        }),
      );
      const got = await answered;
      waiting.delete(envelopeId);
      if (got) return { envelopeId, acked: true, attempts: attempt + 1, response: got.response };
      reason = 'timeout';
    }
    return { envelopeId, acked: false, attempts: 4 };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sign = (body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) => {
    const sig = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
    return { 'x-slack-signature': `v0=${sig}`, 'x-slack-request-timestamp': String(timestamp) };
  };

  /** One signed POST; its status, 0 when unanswered within 3 s or unreachable. */
  async function attempt(
    url: string,
    body: string,
    contentType: string,
    secret: string,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; noRetry: boolean; reason: string; text: string }> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...sign(body, secret), ...extra },
        body,
        signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
      });
      const text = await res.text();
      return { status: res.status, noRetry: res.headers.get('x-slack-no-retry') === '1', reason: 'http_error', text };
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError';
      return { status: 0, noRetry: false, reason: timeout ? 'http_timeout' : 'connection_failed', text: '' };
    }
  }

  const envelope = (event: Record<string, unknown>, eventId?: string) => ({
    token: 'legacy-verification-token',
    team_id: team,
    api_app_id: appId,
    event: { event_ts: `${clock}.000300`, ...event },
    type: 'event_callback',
    event_id: eventId ?? `Ev0FAKE${String(nextEvent++).padStart(6, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      { enterprise_id: null, team_id: team, user_id: 'UBOT', is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(8).toString('hex')}`,
  });

  /** The `block_actions` payload a click on the button with `value` under `message` sends. */
  const clickPayload = (p: { user: string; channel: string; message: SlackMessage; value: string }) => {
    const button = (p.message.blocks ?? [])
      .flatMap((b) => (b.elements as Array<Record<string, unknown>> | undefined) ?? [])
      .find((e) => e.type === 'button' && e.value === p.value);
    return {
      type: 'block_actions',
      user: { id: p.user, username: p.user.toLowerCase(), name: p.user.toLowerCase(), team_id: team },
      api_app_id: appId,
      token: 'legacy-verification-token',
      container: { type: 'message', message_ts: p.message.ts, channel_id: p.channel, is_ephemeral: false },
      trigger_id: `${clock}.${randomBytes(6).toString('hex')}`,
      team: { id: team, domain: 'herald-test' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: p.channel, name: 'directmessage' },
      message: {
        type: 'message',
        user: 'UBOT',
        bot_id: 'BBOT',
        ts: p.message.ts,
        text: p.message.text,
        blocks: p.message.blocks,
      },
      state: { values: {} },
      response_url: `${base}/actions/${randomBytes(6).toString('hex')}`,
      actions: [
        {
          // A value no button has (a forged press) still reaches the app as Slack would never send it.
          action_id: String(
            button?.action_id ??
              (p.value.endsWith(':y') ? 'herald_approve' : p.value.endsWith(':e') ? 'herald_edit' : 'herald_reject'),
          ),
          block_id: String(button?.block_id ?? 'blk'),
          text: button?.text ?? { type: 'plain_text', text: 'Approve' },
          value: p.value,
          ...(button?.style ? { style: button.style } : {}),
          type: 'button',
          action_ts: `${Math.floor(Date.now() / 1000)}.000400`,
        },
      ],
    };
  };

  return {
    apiUrl: `${base}/api/`,
    token,
    team,
    appId,
    ephemerals,
    downloads,
    callsOf: (method) => methodCalls.get(method) ?? 0,
    uploads: (channel) => byUpload.get(channel) ?? [],
    watch(cb) {
      watchers.add(cb);
      return () => watchers.delete(cb);
    },
    shareFile(user, bytes, meta) {
      const id = `F0FAKE${String(nextFile++).padStart(5, '0')}`;
      const name = encodeURIComponent(meta.name);
      const file: SharedFile = {
        id,
        name: meta.name,
        title: meta.name,
        mimetype: meta.mimetype,
        filetype: meta.filetype,
        pretty_type: meta.prettyType ?? meta.filetype.toUpperCase(),
        user,
        size: bytes.length,
        mode: 'hosted',
        is_external: false,
        url_private: `${base}/files-pri/${team}-${id}/${name}`,
        url_private_download: `${base}/files-pri/${team}-${id}/download/${name}`,
        permalink: `https://herald-test.slack.com/files/${user}/${id}/${name}`,
        ...(meta.clip ? { subtype: 'slack_audio', duration_ms: meta.clip.durationMs } : {}),
      };
      files.set(id, { file, bytes });
      return file;
    },
    stubOf: (file) => ({
      id: file.id,
      mode: 'file_access',
      file_access: 'check_file_info',
      created: 0,
      timestamp: 0,
      user: '',
    }),
    get limited() {
      return limited;
    },
    messages: (channel) => byChannel.get(channel) ?? [],
    rateLimitNext(method, retryAfterS, count = 1) {
      limits.set(method, { retryAfter: retryAfterS, count });
    },
    sign,
    envelope,
    async deliverEvent(url, secret, event, eventId) {
      const body = JSON.stringify(envelope(event, eventId));
      const delivery: Delivery = { statuses: [], reasons: [] };
      let last = await attempt(url, body, 'application/json', secret);
      delivery.statuses.push(last.status);
      for (let k = 1; k <= 3; k++) {
        if ((last.status >= 200 && last.status < 300) || last.noRetry) break;
        await new Promise((r) => setTimeout(r, retryDelays[k - 1]));
        delivery.reasons.push(last.reason);
        last = await attempt(url, body, 'application/json', secret, {
          'x-slack-retry-num': String(k),
          'x-slack-retry-reason': last.reason,
        });
        delivery.statuses.push(last.status);
      }
      return delivery;
    },
    async pressButton(url, secret, p) {
      const body = new URLSearchParams({ payload: JSON.stringify(clickPayload(p)) }).toString();
      return (await attempt(url, body, 'application/x-www-form-urlencoded', secret)).status;
    },
    socket: {
      appToken,
      get open() {
        return sockets.length;
      },
      get urlsIssued() {
        return urlsIssued;
      },
      sendEvent: (event, eventId) => sendEnvelope('events_api', envelope(event, eventId)),
      pressButton: (p) => sendEnvelope('interactive', clickPayload(p)),
      disconnect(reason, closeAfterMs = 0) {
        const now = [...sockets];
        for (const ws of now)
          ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } }));
        setTimeout(() => {
          for (const ws of now) ws.close(1000);
        }, closeAfterMs).unref();
      },
      waitOpen(n = 1) {
        return new Promise<void>((resolve) => {
          const check = () => (sockets.length >= n ? resolve() : void openWaiters.push(check));
          check();
        });
      },
    },
    async verifyUrl(url, secret, challenge) {
      const body = JSON.stringify({ token: 'legacy-verification-token', challenge, type: 'url_verification' });
      const r = await attempt(url, body, 'application/json', secret);
      try {
        return JSON.parse(r.text) as unknown;
      } catch {
        return r.text;
      }
    },
    async close() {
      clearInterval(pinger);
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
