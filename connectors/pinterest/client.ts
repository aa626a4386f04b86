/**
 * Transport for Pinterest API v5 (`api.pinterest.com/v5`): bearer token (or the app's Basic
 * credentials at the token endpoint), JSON or form in, JSON out, failures typed by `classify`.
 */
import { fetchAnswer, type HttpAnswer } from '../http.js';
import { classify, classifyNetworkError } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_API_URL = 'https://api.pinterest.com';
export const DEFAULT_AUTHORIZE_URL = 'https://www.pinterest.com/oauth/';

export interface Transport {
  apiUrl: string;
  timeoutMs: number;
  accessToken?: string;
  basic?: { clientId: string; clientSecret: string };
  canRefresh?: boolean;
}

export interface PinRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: URLSearchParams;
  accept?: readonly number[];
  timeoutMs?: number;
  what?: string;
}

export async function pinRequest(t: Transport, req: PinRequest): Promise<HttpAnswer> {
  const what = req.what ?? `${req.method} ${req.path}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers({ accept: 'application/json' });
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  else if (t.basic)
    headers.set(
      'authorization',
      `Basic ${Buffer.from(`${t.basic.clientId}:${t.basic.clientSecret}`).toString('base64')}`,
    );
  let body: RequestInit['body'];
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(req.json);
  } else if (req.form) body = req.form;
  const url = new URL(t.apiUrl.replace(/\/+$/, '') + req.path);
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const res = await fetchAnswer(url, { method: req.method, headers, body }, timeoutMs, (err) =>
    classifyNetworkError(err, { method: req.method, what, timeoutMs }),
  );
  if (res.ok || req.accept?.includes(res.status)) return res;
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}
