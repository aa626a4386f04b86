/**
 * Transport for YouTube (Data API v3 and Google's OAuth 2.0 endpoints): the one function
 * every call goes through. Bearer token, JSON, form or raw bytes in; JSON out; failures typed
 * by `classify`. With a test double, one base URL serves the API, uploads and OAuth.
 */
import { fetchAnswer, type HttpAnswer } from '../http.js';
import { streamAnswer, type StreamBody } from '../stream-upload.js';
import { classify, classifyNetworkError } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_API_URL = 'https://www.googleapis.com';
export const DEFAULT_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const DEFAULT_AUTHORIZE_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

export interface Transport {
  apiUrl: string;
  timeoutMs: number;
  accessToken?: string;
  canRefresh?: boolean;
}

export interface YtRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A path under `apiUrl`, or an absolute URL (an upload session URI). */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: URLSearchParams;
  bytes?: Buffer;
  /** Bytes streamed from storage as they are sent (upload chunks): never held whole. */
  stream?: StreamBody;
  headers?: Record<string, string>;
  /** Non-2xx statuses answered as data instead of thrown (308 Resume Incomplete, 404 on a gone session). */
  accept?: readonly number[];
  timeoutMs?: number;
  /** Words for messages: `uploading the video`. */
  what?: string;
}

export async function ytRequest(t: Transport, req: YtRequest): Promise<HttpAnswer> {
  const what = req.what ?? `${req.method} ${req.path.startsWith('http') ? new URL(req.path).pathname : req.path}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers({ accept: 'application/json', ...req.headers });
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  let body: RequestInit['body'];
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json; charset=UTF-8');
    body = JSON.stringify(req.json);
  } else if (req.form) body = req.form;
  else if (req.bytes) body = req.bytes;
  const url = new URL(req.path.startsWith('http') ? req.path : t.apiUrl.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const networkError = (err: unknown) => classifyNetworkError(err, { method: req.method, what, timeoutMs });
  const res = req.stream
    ? await streamAnswer(url, { method: req.method, headers, body: req.stream }, timeoutMs, networkError)
    : await fetchAnswer(url, { method: req.method, headers, body }, timeoutMs, networkError);
  if (res.ok || req.accept?.includes(res.status)) return res;
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}
