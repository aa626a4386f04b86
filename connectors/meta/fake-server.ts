/**
 * The HTTP side shared by the local Instagram, Facebook and Threads fakes (tests only): a
 * real server on loopback that parses Graph calls the way Meta takes them (query string or
 * form body, `access_token` among the parameters, any `/vNN.N` version prefix), answers
 * Meta's error shape `{error: {message, type, code, error_subcode, error_user_msg,
 * is_transient, fbtrace_id}}`, and can hang a response (the write applied, the answer never
 * sent) until the client gives up. Written from developers.facebook.com/docs/graph-api/
 * guides/error-handling and each platform's reference; not from Herald's client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

export interface FakeRequest {
  method: string;
  /** Path without the version prefix, e.g. `/1789/media`. */
  path: string;
  params: URLSearchParams;
  req: IncomingMessage;
}

export type Handler = (r: FakeRequest) => Reply | Promise<Reply>;

export const ok = (body: unknown, headers?: Record<string, string>): Reply => ({
  status: 200,
  body,
  ...(headers ? { headers } : {}),
});

export function graphError(
  status: number,
  e: { message: string; code: number; subcode?: number; userMsg?: string; transient?: boolean; type?: string },
  headers?: Record<string, string>,
): Reply {
  return {
    status,
    body: {
      error: {
        message: e.message,
        type: e.type ?? 'OAuthException',
        code: e.code,
        ...(e.subcode === undefined ? {} : { error_subcode: e.subcode }),
        ...(e.userMsg ? { error_user_title: 'Error', error_user_msg: e.userMsg } : {}),
        is_transient: e.transient ?? false,
        fbtrace_id: randomBytes(8).toString('base64url'),
      },
    },
    ...(headers ? { headers } : {}),
  };
}

/** Meta's answer for an id that names nothing the token may read (code 100, subcode 33). */
export const noSuchObject = (id: string) =>
  graphError(400, {
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
    code: 100,
    subcode: 33,
    type: 'GraphMethodException',
  });

export const expiredToken = () =>
  graphError(400, {
    message: 'Error validating access token: Session has expired on Monday, 07-Dec-26 00:00:00 PST.',
    code: 190,
    subcode: 463,
  });

export const invalidToken = () =>
  graphError(400, { message: 'Invalid OAuth access token - Cannot parse access token', code: 190 });

/** Throttled: code 80002 with the Business Use Case usage header Meta sends. */
export const throttled = (accountId: string, minutes = 2) =>
  graphError(
    400,
    { message: 'There have been too many calls to this Instagram account. Wait a bit and try again.', code: 80002 },
    {
      'x-business-use-case-usage': JSON.stringify({
        [accountId]: [
          {
            type: 'instagram',
            call_count: 100,
            total_cputime: 20,
            total_time: 30,
            estimated_time_to_regain_access: minutes,
          },
        ],
      }),
      'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 20, total_time: 30 }),
    },
  );

export const serverError = () =>
  graphError(500, {
    message: 'An unexpected error has occurred. Please retry your request later.',
    code: 2,
    transient: true,
  });

export interface FakeHttp {
  url: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeHttp(handler: Handler): Promise<FakeHttp> {
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const params = new URLSearchParams(url.search);
      if (req.method === 'POST') {
        const type = req.headers['content-type'] ?? '';
        const body = await readBody(req);
        if (type.includes('application/x-www-form-urlencoded') || (body && !type.includes('json'))) {
          for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
        } else if (type.includes('json') && body) {
          for (const [k, v] of Object.entries(JSON.parse(body) as Record<string, unknown>)) {
            params.set(k, typeof v === 'string' ? v : JSON.stringify(v));
          }
        }
      }
      const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
      let reply: Reply;
      try {
        reply = await handler({ method: req.method ?? 'GET', path, params, req });
      } catch (err) {
        reply = graphError(500, { message: `fake failed: ${(err as Error).message}`, code: 1, transient: true });
      }
      if (reply === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=UTF-8', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const r of hanging) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How long the crawler gives an image, and a video (hundreds of MB), to download. */
export const IMAGE_CRAWL_MS = 5_000;
export const VIDEO_CRAWL_MS = 180_000;

/**
 * Downloads a media URL the way Meta's crawler does; what went wrong, in Meta's words, or what
 * arrived: its size and SHA-256, read as it streams in (a 200 MB reel is not held here either).
 */
export async function crawl(
  url: string | null,
  timeoutMs = IMAGE_CRAWL_MS,
): Promise<{ ok: true; size: number; sha256: string; type: string } | { ok: false; why: string }> {
  if (!url) return { ok: false, why: 'No media URL was given' };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok || !res.body)
      return { ok: false, why: `Media download has failed. The media URI returned ${res.status}` };
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of res.body) {
      size += piece.length;
      hash.update(piece);
    }
    return { ok: true, size, sha256: hash.digest('hex'), type: res.headers.get('content-type') ?? '' };
  } catch (err) {
    return { ok: false, why: `Media download has failed (${(err as Error).message})` };
  }
}

/** A numeric Graph-style id. */
let seq = 17_840_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9));
export const nextId = () => String(++seq);
export const newToken = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;

/**
 * Meta's login dialog as the fakes answer it: the user (header `x-fake-account`, as
 * `fake-kit`'s `approve` sends it) approves the app, and is sent back to `redirect_uri` with a
 * one-time code and the `state` it came with. A wrong client id or an unknown user is a 400; a
 * redirect URI the app did not register is `unregistered` (each platform words it its own way).
 */
export function authorizeDialog(
  r: FakeRequest,
  app: {
    clientId: string;
    redirectUris: string[] | undefined;
    knows(userId: string): boolean;
    /** Codes handed out, each naming its user. */
    codes: Map<string, string>;
    invalid: { message: string; code: number };
    unregistered: { message: string; code: number };
  },
): Reply {
  const userId = r.req.headers['x-fake-account'];
  const redirect = r.params.get('redirect_uri') ?? '';
  if (r.params.get('client_id') !== app.clientId || typeof userId !== 'string' || !app.knows(userId))
    return graphError(400, app.invalid);
  if (app.redirectUris && !app.redirectUris.includes(redirect)) return graphError(400, app.unregistered);
  const code = newToken('code_');
  app.codes.set(code, userId);
  const to = new URL(redirect);
  to.searchParams.set('code', code);
  to.searchParams.set('state', r.params.get('state') ?? '');
  return { status: 302, headers: { location: to.toString() } };
}
