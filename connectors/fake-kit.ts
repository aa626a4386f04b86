/**
 * Pieces the local platform fakes for tests share (TikTok, YouTube, Pinterest): a loopback
 * HTTP server whose routes answer data or hang, bodies read as JSON or form (uploads are read
 * by their own routes, counted and hashed, never kept), an OAuth token book with expiring
 * access tokens and rotating refresh tokens, and per-account fault queues. Each fake's wire
 * format (paths, bodies, error shapes, headers) follows its platform's documentation.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Never answer (the client's timeout fires). */
  | 'hang'
  /** Cut the connection without an answer. */
  | 'drop';

export const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  ...(body === undefined ? {} : { body }),
  ...(headers ? { headers } : {}),
});

export type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<Reply | null> | Reply | null;

export interface FakeServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serve(handler: Handler): Promise<FakeServer> {
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void (async () => {
      let out: Reply | null;
      try {
        out = await handler(req, url, res);
      } catch (err) {
        out = reply(500, { error: { message: (err as Error).message } });
      }
      if (out === null) return; // the route answered itself
      if (out === 'hang') {
        hanging.add(res);
        // Drain the body so the client finishes sending and waits.
        req.resume();
        return;
      }
      if (out === 'drop') {
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = { ...out.headers };
      let payload = '';
      if (out.body !== undefined) {
        payload = typeof out.body === 'string' ? out.body : JSON.stringify(out.body);
        headers['content-type'] ??= 'application/json; charset=UTF-8';
      }
      if (!req.complete) req.resume();
      res.writeHead(out.status, headers).end(payload);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const r of hanging) r.socket?.destroy();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A small body (JSON, form or text) read whole; uploads are read by their routes. */
export async function readSmallBody(
  req: IncomingMessage,
  max = 1 << 20,
): Promise<{
  json: Record<string, unknown>;
  form: URLSearchParams;
  raw: Buffer;
}> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new Error('body too large for the fake');
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  let json: Record<string, unknown> = {};
  if (type.includes('json') && raw.length) {
    try {
      json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      json = {};
    }
  }
  const form = type.includes('x-www-form-urlencoded')
    ? new URLSearchParams(raw.toString('utf8'))
    : new URLSearchParams();
  return { json, form, raw };
}

export const token = (prefix: string) => `${prefix}.${randomBytes(18).toString('base64url')}`;

export interface BookToken {
  accessToken: string;
  refreshToken: string;
  userId: string;
  expiresAt: number;
  refreshExpiresAt: number;
  revoked: boolean;
}

/** Access and refresh tokens of a fake's users. */
export class TokenBook {
  readonly byAccess = new Map<string, BookToken>();
  readonly byRefresh = new Map<string, BookToken>();
  offsetMs = 0;
  constructor(
    readonly ttlSeconds: number,
    readonly refreshTtlSeconds: number,
    /** A refresh hands out a new refresh token and retires the old one. */
    readonly rotates: boolean,
  ) {}
  now = () => Date.now() + this.offsetMs;
  issue(userId: string): BookToken {
    const t: BookToken = {
      accessToken: token('act'),
      refreshToken: token('rft'),
      userId,
      expiresAt: this.now() + this.ttlSeconds * 1000,
      refreshExpiresAt: this.now() + this.refreshTtlSeconds * 1000,
      revoked: false,
    };
    this.byAccess.set(t.accessToken, t);
    this.byRefresh.set(t.refreshToken, t);
    return t;
  }
  /** The user of a live bearer token, or null. */
  bearer(req: IncomingMessage): string | null {
    const h = req.headers.authorization ?? '';
    const t = h.startsWith('Bearer ') ? this.byAccess.get(h.slice(7)) : undefined;
    return t && !t.revoked && t.expiresAt > this.now() ? t.userId : null;
  }
  refresh(refreshToken: string): BookToken | null {
    const old = this.byRefresh.get(refreshToken);
    if (!old || old.revoked || old.refreshExpiresAt <= this.now()) return null;
    if (this.rotates) {
      old.revoked = true;
      this.byRefresh.delete(refreshToken);
      return this.issue(old.userId);
    }
    const t: BookToken = { ...old, accessToken: token('act'), expiresAt: this.now() + this.ttlSeconds * 1000 };
    this.byAccess.set(t.accessToken, t);
    return t;
  }
  expireAccess(userId: string): void {
    for (const t of this.byAccess.values()) if (t.userId === userId) t.expiresAt = this.now() - 1;
  }
  revokeAll(userId: string): void {
    for (const t of this.byAccess.values()) if (t.userId === userId) t.revoked = true;
  }
}

/** Faults queued per account, taken one at a time by the call they apply to. */
export class FaultQueue<F extends string> {
  readonly #queues = new Map<string, F[]>();
  push(account: string, fault: F): void {
    this.#queues.set(account, [...(this.#queues.get(account) ?? []), fault]);
  }
  /** Takes the next fault if it is one of `kinds`. */
  take(account: string, kinds: readonly F[]): F | null {
    const q = this.#queues.get(account);
    const next = q?.[0];
    if (!next || !kinds.includes(next)) return null;
    q.shift();
    return next;
  }
}

/** An authorize page that approves at once as the user named by `x-fake-account` (redirects with a code). */
export async function approve(authorizeUrl: string, userId: string): Promise<string> {
  const res = await fetch(authorizeUrl, { headers: { 'x-fake-account': userId }, redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`the fake refused to authorize: ${await res.text()}`);
  return location;
}
