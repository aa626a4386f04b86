/**
 * Transport for the X API v2: the one function every call goes through. It sends the bearer
 * token (or the app's Basic credentials for the OAuth endpoints) and a JSON, form or
 * multipart body, bounds the wait, parses JSON and turns failures into typed errors.
 */
import { fetchAnswer } from '../http.js';
import { classify, classifyNetworkError } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_API_URL = 'https://api.x.com';

export interface Transport {
  /** `https://api.x.com`, or a fake's base URL. */
  apiUrl: string;
  timeoutMs: number;
  accessToken?: string;
  /** HTTP Basic client authentication (confidential clients on the token endpoints). */
  basic?: { clientId: string; clientSecret: string };
  canRefresh?: boolean;
}

export interface XRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: FormData | URLSearchParams;
  /** Non-2xx statuses answered as data instead of thrown. */
  accept?: readonly number[];
  timeoutMs?: number;
}

export interface XResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function xRequest<T = unknown>(t: Transport, req: XRequest): Promise<XResponse<T>> {
  const what = `${req.method} ${req.path}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers({ accept: 'application/json' });
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  else if (t.basic) {
    const pair = `${encodeURIComponent(t.basic.clientId)}:${encodeURIComponent(t.basic.clientSecret)}`;
    headers.set('authorization', `Basic ${Buffer.from(pair).toString('base64')}`);
  }
  let body: string | FormData | URLSearchParams | undefined;
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(req.json);
  } else if (req.form) body = req.form;
  const url = new URL(t.apiUrl.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const res = await fetchAnswer(url, { method: req.method, headers, body }, timeoutMs, (err) =>
    classifyNetworkError(err, { method: req.method, what, timeoutMs }),
  );
  if (res.ok || req.accept?.includes(res.status))
    return { status: res.status, headers: res.headers, body: res.body as T };
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}
