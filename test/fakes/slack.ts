/**
 * A local Slack for tests, written from Slack's documentation: the Web API
 * (https://api.slack.com/web: `POST /api/<method>`, bot token in `Authorization: Bearer`,
 * form-encoded or JSON arguments, answers `{"ok":true,...}` or `{"ok":false,"error"}`, rate
 * limits as HTTP 429 with `Retry-After` seconds) for `auth.test`, `chat.postMessage`,
 * `chat.update` and `chat.postEphemeral`; and the sending side of the Events API and
 * interactivity, signed as https://api.slack.com/authentication/verifying-requests-from-slack
 * describes (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret).
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: Array<Record<string, unknown>> | undefined;
  versions: string[];
}

export interface SlackFake {
  /** Web API root for the client (`.../api/`). */
  apiUrl: string;
  token: string;
  team: string;
  messages(channel: string): SlackMessage[];
  ephemerals: Array<{ channel: string; user: string; text: string }>;
  /** The next `count` calls of `method` answer 429 with `Retry-After: retryAfterS`. */
  rateLimitNext(method: string, retryAfterS: number, count?: number): void;
  /** How many calls were answered 429. */
  readonly limited: number;
  /** Signs `body` as Slack does, at `timestamp` (seconds; default now). */
  sign(body: string, secret: string, timestamp?: number): Record<string, string>;
  close(): Promise<void>;
}

export async function startSlackFake(token = 'xoxb-test-token'): Promise<SlackFake> {
  const byChannel = new Map<string, SlackMessage[]>();
  const ephemerals: SlackFake['ephemerals'] = [];
  const limits = new Map<string, { retryAfter: number; count: number }>();
  let clock = 1_700_000_000;
  const team = 'T0HERALD';
  let limited = 0;

  const handle = (method: string, args: Record<string, unknown>) => {
    switch (method) {
      case 'auth.test':
        return { ok: true, team_id: team, user_id: 'UBOT', bot_id: 'BBOT', user: 'herald' };
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const text = String(args.text ?? '');
        const blocks =
          typeof args.blocks === 'string'
            ? (JSON.parse(args.blocks) as SlackMessage['blocks'])
            : (args.blocks as SlackMessage['blocks']);
        if (!text && !blocks?.length) return { ok: false, error: 'no_text' };
        const m: SlackMessage = { channel, ts: `${clock++}.000100`, text, blocks, versions: [text] };
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), m]);
        return { ok: true, channel, ts: m.ts, message: { text, ts: m.ts } };
      }
      case 'chat.update': {
        const m = byChannel.get(String(args.channel))?.find((x) => x.ts === String(args.ts));
        if (!m) return { ok: false, error: 'message_not_found' };
        m.text = String(args.text ?? m.text);
        if (args.blocks !== undefined)
          m.blocks =
            typeof args.blocks === 'string'
              ? (JSON.parse(args.blocks) as SlackMessage['blocks'])
              : (args.blocks as SlackMessage['blocks']);
        m.versions.push(m.text);
        return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral':
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
      const method = /^\/api\/([a-zA-Z.]+)$/.exec(req.url?.split('?')[0] ?? '')?.[1] ?? '';
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
      const args: Record<string, unknown> = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(raw || '{}') as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(raw));
      const bearer = req.headers.authorization ?? (args.token ? `Bearer ${String(args.token)}` : '');
      if (bearer !== `Bearer ${token}`) return send(200, { ok: false, error: 'invalid_auth' });
      send(200, handle(method, args));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    apiUrl: `${base}/api/`,
    token,
    team,
    ephemerals,
    get limited() {
      return limited;
    },
    messages: (channel) => byChannel.get(channel) ?? [],
    rateLimitNext(method, retryAfterS, count = 1) {
      limits.set(method, { retryAfter: retryAfterS, count });
    },
    sign(body, secret, timestamp = Math.floor(Date.now() / 1000)) {
      const sig = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
      return { 'x-slack-signature': `v0=${sig}`, 'x-slack-request-timestamp': String(timestamp) };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
