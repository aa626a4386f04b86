/**
 * A fault-injecting HTTP proxy for tests. It forwards every request to a real upstream (the
 * test PDS, or the test AppView) and every answer back unchanged (status, headers in their
 * original case and order, body bytes; uploads and downloads are streamed), except where a test
 * armed one of the failures a Bluesky PDS really produces:
 * - `rate_limited`: 429 with `RateLimit-Limit`, `-Remaining`, `-Reset` (epoch seconds) and
 *   `-Policy` headers and `{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}`, as
 *   the PDS's `repo-write-hour` limiter answers;
 * - `server_error`: 500 `InternalServerError`, the PDS's answer to an unexpected failure;
 * - `invalid_content`: 400 `InvalidRequest` with a lexicon-validation message;
 * - `timeout_after_apply`: the write is forwarded and applied, then the client never hears back;
 * - an expired access token: requests bearing it get 400 `ExpiredToken` "Token has expired",
 *   while refreshing the session still works and yields a new token.
 * Faults hit post-creating calls (`createRecord` / `applyWrites` on `app.bsky.feed.post`) of
 * one account (DID), so tests running side by side do not disturb each other.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

export type ProxyFault = 'rate_limited' | 'server_error' | 'invalid_content' | 'timeout_after_apply';

export interface FaultOptions {
  /** Let this many post-creating calls of the account through before failing one. Default 0. */
  after?: number;
  /** `rate_limited`: the instant `RateLimit-Reset` announces. Default one hour from now (the hourly write window). */
  resetAt?: Date;
}

export interface FaultProxyOptions {
  /** Base URL (http) of the server to forward to, e.g. the test PDS. */
  upstream: string;
  /** Awaited before each request is forwarded (the AppView front uses it to let the indexer catch up). */
  beforeForward?: () => Promise<void>;
}

interface ArmedFault {
  fault: ProxyFault;
  after: number;
  resetAt: Date | undefined;
}

const POST_COLLECTION = 'app.bsky.feed.post';
const WRITE_CALLS = new Set(['com.atproto.repo.createRecord', 'com.atproto.repo.applyWrites']);
const SESSION_CALLS = new Set([
  'com.atproto.server.createAccount',
  'com.atproto.server.createSession',
  'com.atproto.server.refreshSession',
]);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

export class FaultProxy {
  readonly url: string;
  readonly #server: http.Server;
  readonly #upstream: URL;
  readonly #beforeForward: (() => Promise<void>) | undefined;
  readonly #faults = new Map<string, ArmedFault[]>();
  readonly #currentAccessJwt = new Map<string, string>();
  readonly #expired = new Set<string>();
  readonly #hanging = new Set<ServerResponse>();

  private constructor(server: http.Server, options: FaultProxyOptions) {
    this.#server = server;
    this.#upstream = new URL(options.upstream);
    this.#beforeForward = options.beforeForward;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new FaultProxy(server, options);
  }

  /** The account's next post-creating call (or the one after `after` more) fails with `fault`. */
  failNext(did: string, fault: ProxyFault, options: FaultOptions = {}): void {
    const queue = this.#faults.get(did) ?? [];
    queue.push({ fault, after: options.after ?? 0, resetAt: options.resetAt });
    this.#faults.set(did, queue);
  }

  /** Remembers an access token issued outside the proxy as the account's current one. */
  trackSession(did: string, accessJwt: string): void {
    this.#currentAccessJwt.set(did, accessJwt);
  }

  /** The account's current access token stops working; a refresh through the proxy yields a working one. */
  expireAccessToken(did: string): void {
    const token = this.#currentAccessJwt.get(did);
    if (!token) throw new Error(`fault proxy: no session seen for ${did}`);
    this.#expired.add(token);
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer && this.#expired.has(bearer)) {
      return sendJson(res, 400, [], { error: 'ExpiredToken', message: 'Token has expired' });
    }
    await this.#beforeForward?.();
    const nsid = new URL(req.url ?? '/', 'http://proxy').pathname.replace(/^\/xrpc\//, '');

    if (WRITE_CALLS.has(nsid)) {
      const body = await readAll(req);
      const armed = this.#takeFault(nsid, body, bearer);
      if (armed && armed.fault !== 'timeout_after_apply') return sendFault(res, armed);
      const answer = await this.#forwardBuffered(req, body);
      // The PDS has applied the write; the client is left waiting until it gives up.
      if (armed) return this.#hang(res);
      return replay(res, answer);
    }
    if (SESSION_CALLS.has(nsid)) {
      const answer = await this.#forwardBuffered(req, await readAll(req));
      this.#noteSession(answer);
      return replay(res, answer);
    }
    return this.#pipe(req, res);
  }

  #takeFault(nsid: string, body: Buffer, bearer: string | undefined): ArmedFault | undefined {
    let input: { repo?: unknown; collection?: unknown; writes?: Array<{ $type?: unknown; collection?: unknown }> };
    try {
      input = JSON.parse(body.toString('utf8')) as typeof input;
    } catch {
      return undefined;
    }
    const createsPost =
      nsid === 'com.atproto.repo.createRecord'
        ? input.collection === POST_COLLECTION
        : (input.writes ?? []).some((w) => String(w.$type).endsWith('#create') && w.collection === POST_COLLECTION);
    if (!createsPost) return undefined;
    const did = typeof input.repo === 'string' && input.repo.startsWith('did:') ? input.repo : subjectOf(bearer);
    const queue = did ? this.#faults.get(did) : undefined;
    const next = queue?.[0];
    if (!queue || !next) return undefined;
    if (next.after > 0) {
      next.after--;
      return undefined;
    }
    queue.shift();
    return next;
  }

  #noteSession(answer: UpstreamAnswer): void {
    if (answer.status !== 200) return;
    try {
      const session = JSON.parse(decode(answer).toString('utf8')) as { did?: unknown; accessJwt?: unknown };
      if (typeof session.did === 'string' && typeof session.accessJwt === 'string') {
        this.#currentAccessJwt.set(session.did, session.accessJwt);
        // Just issued, so not expired. (Access tokens carry no unique id: one issued within the
        // same second as the expired one, with the same claims, is the same string.)
        this.#expired.delete(session.accessJwt);
      }
    } catch {
      // Not a session body: nothing to remember.
    }
  }

  #hang(res: ServerResponse): void {
    this.#hanging.add(res);
    res.on('close', () => this.#hanging.delete(res));
  }

  #requestOptions(req: IncomingMessage): http.RequestOptions {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (lower === 'host' || HOP_BY_HOP.has(lower)) continue;
      headers.push(name, req.rawHeaders[i + 1]!);
    }
    headers.push('Host', this.#upstream.host);
    return {
      protocol: this.#upstream.protocol,
      hostname: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: req.url,
      headers,
    };
  }

  #pipe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(this.#requestOptions(req), (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders));
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', reject);
      });
      upstream.on('error', reject);
      // A client that goes away takes its upstream request with it.
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
        resolve();
      });
      req.pipe(upstream);
    });
  }

  #forwardBuffered(req: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(this.#requestOptions(req), (answer) => {
        readAll(answer).then(
          (bytes) =>
            resolve({
              status: answer.statusCode ?? 502,
              statusMessage: answer.statusMessage ?? '',
              rawHeaders: answer.rawHeaders,
              body: bytes,
            }),
          reject,
        );
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

interface UpstreamAnswer {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
  body: Buffer;
}

function replay(res: ServerResponse, answer: UpstreamAnswer): void {
  res.writeHead(answer.status, answer.statusMessage, endToEnd(answer.rawHeaders));
  res.end(answer.body);
}

function sendFault(res: ServerResponse, armed: ArmedFault): void {
  switch (armed.fault) {
    case 'rate_limited': {
      const reset = Math.ceil((armed.resetAt?.getTime() ?? Date.now() + 3_600_000) / 1000);
      return sendJson(
        res,
        429,
        [
          'RateLimit-Limit',
          '5000',
          'RateLimit-Reset',
          String(reset),
          'RateLimit-Remaining',
          '0',
          'RateLimit-Policy',
          '5000;w=3600',
        ],
        { error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' },
      );
    }
    case 'server_error':
      return sendJson(res, 500, [], { error: 'InternalServerError', message: 'Internal Server Error' });
    case 'invalid_content':
      return sendJson(res, 400, [], {
        error: 'InvalidRequest',
        message: 'Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes',
      });
    case 'timeout_after_apply':
      throw new Error('timeout_after_apply is applied by forwarding, not by an answer');
  }
}

function sendJson(res: ServerResponse, status: number, headers: string[], body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, [
    ...headers,
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(bytes.length),
  ]);
  res.end(bytes);
}

/** Response headers minus hop-by-hop ones, which Node sets for its own connection. */
function endToEnd(rawHeaders: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i]!.toLowerCase())) out.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return out;
}

function decode(answer: UpstreamAnswer): Buffer {
  const index = answer.rawHeaders.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-encoding');
  const encoding = index === -1 ? '' : answer.rawHeaders[index + 1]!.trim().toLowerCase();
  if (encoding === 'gzip') return gunzipSync(answer.body);
  if (encoding === 'deflate') return inflateSync(answer.body);
  if (encoding === 'br') return brotliDecompressSync(answer.body);
  return answer.body;
}

function subjectOf(jwt: string | undefined): string | undefined {
  const payload = jwt?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
