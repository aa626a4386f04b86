/**
 * Transport for TikTok's Open API v2 (`open.tiktokapis.com`): bearer token, JSON or form in,
 * JSON out. An answer is a failure when its `error.code` is not `ok`, whatever its HTTP
 * status (spam-risk refusals come with 200). Upload PUTs go to the `upload_url` TikTok gave.
 */
import { fetchAnswer, type HttpAnswer } from '../http.js';
import { streamAnswer, type StreamBody } from '../stream-upload.js';
import { classify, classifyNetworkError, errorOf } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_API_URL = 'https://open.tiktokapis.com';
export const DEFAULT_AUTHORIZE_URL = 'https://www.tiktok.com/v2/auth/authorize/';

export interface Transport {
  apiUrl: string;
  timeoutMs: number;
  accessToken?: string;
  canRefresh?: boolean;
}

export interface TtRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  query?: Record<string, string | undefined>;
  json?: unknown;
  form?: URLSearchParams;
  bytes?: Buffer;
  /** Bytes streamed from storage as they are sent (upload chunks): never held whole. */
  stream?: StreamBody;
  headers?: Record<string, string>;
  timeoutMs?: number;
  what?: string;
  /** Read the answer's `error.code` (API calls); upload PUTs answer with status only. */
  envelope?: boolean;
}

export async function ttRequest(t: Transport, req: TtRequest): Promise<HttpAnswer> {
  const what = req.what ?? `${req.method} ${req.path.startsWith('http') ? new URL(req.path).pathname : req.path}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers(req.headers);
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  let body: RequestInit['body'];
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json; charset=UTF-8');
    body = JSON.stringify(req.json);
  } else if (req.form) {
    headers.set('content-type', 'application/x-www-form-urlencoded');
    body = req.form;
  } else if (req.bytes) body = req.bytes;
  const url = new URL(req.path.startsWith('http') ? req.path : t.apiUrl.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const networkError = (err: unknown) => classifyNetworkError(err, { method: req.method, what, timeoutMs });
  const res = req.stream
    ? await streamAnswer(url, { method: req.method, headers, body: req.stream }, timeoutMs, networkError)
    : await fetchAnswer(url, { method: req.method, headers, body }, timeoutMs, networkError);
  const code = req.envelope === false ? undefined : errorOf(res.body)?.code;
  if (res.ok && (code === undefined || code === 'ok')) return res;
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}
