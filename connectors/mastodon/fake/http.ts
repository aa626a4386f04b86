/**
 * HTTP plumbing for the fake Mastodon: reading a request's parameters the way Rails does
 * (query string, JSON, urlencoded or multipart body, `name[]` arrays) and the reply shape
 * handlers return.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeAccount, FakeState, FaultTarget, TokenRecord } from './state.js';

/** Larger than Mastodon's 99 MB video limit, so oversized files reach the size check. */
const MAX_BODY_BYTES = 120 * 1024 * 1024;

/** What a handler answers: a JSON reply, or never answering, or dropping the connection. */
export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang' | 'reset';

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers ? { headers } : {}),
});

/** Mastodon's error body. */
export const error = (status: number, message: string, headers?: Record<string, string>): Reply =>
  json(status, { error: message }, headers);

/** What a route handler sees. `account` and `token` are set once the bearer token is checked. */
export interface Ctx {
  state: FakeState;
  req: IncomingMessage;
  url: URL;
  params: Params;
  match: RegExpExecArray;
  account: FakeAccount | null;
  token: TokenRecord | null;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: RegExp;
  /** `required`: 401 without a valid user token; `optional`: checked only when one is sent. */
  auth?: 'required' | 'optional';
  /** OAuth scope the token needs, e.g. `write:statuses` (granted by `write` too). */
  scope?: string;
  /** Which injected faults this route suffers besides those on `any` call. */
  faultTarget?: Exclude<FaultTarget, 'any'>;
  /** Synchronous, so a request's checks and changes never interleave with another's. */
  handle(c: Ctx): Reply;
}

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Request parameters, from the query string and the body merged. */
export class Params {
  readonly #values = new Map<string, string[]>();
  readonly #files = new Map<string, File>();

  add(name: string, value: string): void {
    const list = this.#values.get(name) ?? [];
    list.push(value);
    this.#values.set(name, list);
  }

  addFile(name: string, file: File): void {
    this.#files.set(name, file);
  }

  get(name: string): string | undefined {
    return this.all(name)[0];
  }

  /** `name` and `name[]` alike. */
  all(name: string): string[] {
    return [...(this.#values.get(name) ?? []), ...(this.#values.get(`${name}[]`) ?? [])];
  }

  /** Rails' boolean casting: "true", "1", "on"... */
  bool(name: string): boolean | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : ['true', '1', 't', 'on', 'yes'].includes(v.toLowerCase());
  }

  file(name: string): File | undefined {
    return this.#files.get(name);
  }
}

function addJson(params: Params, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')
        params.add(key, String(item));
    }
  }
}

export async function readParams(req: IncomingMessage, url: URL, body: Buffer): Promise<Params> {
  const params = new Params();
  for (const [k, v] of url.searchParams) params.add(k, v);
  if (body.length === 0) return params;
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) {
    try {
      addJson(params, JSON.parse(body.toString('utf8')));
    } catch {
      // Rails answers malformed JSON with 400; the handler sees no parameters and says what is missing.
    }
  } else if (type.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.add(k, v);
  } else if (type.includes('multipart/form-data')) {
    const form = await new Request('http://fake.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: new Uint8Array(body),
    }).formData();
    for (const [k, v] of form) {
      if (typeof v === 'string') params.add(k, v);
      else params.addFile(k, v);
    }
  }
  return params;
}

export function write(res: ServerResponse, reply: Exclude<Reply, 'hang' | 'reset'>): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  res
    .writeHead(reply.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(payload)),
      ...headers,
    })
    .end(payload);
}

/** Client credentials from HTTP Basic or the `client_id` / `client_secret` parameters. */
export function clientCredentials(req: IncomingMessage, params: Params): { clientId?: string; clientSecret?: string } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
    return { clientId: id && decodeURIComponent(id), clientSecret: secret && decodeURIComponent(secret) };
  }
  return { clientId: params.get('client_id'), clientSecret: params.get('client_secret') };
}
