/**
 * Transport for the Mastodon API: the one function every call goes through. It builds the
 * URL, sends the bearer token and a JSON or multipart body, bounds the wait with a timeout,
 * parses the JSON answer and turns every failure into a typed connector error.
 */
import { userUrlDispatcher } from '../../core/index.js';
import { fetchAnswer } from '../http.js';
import { classify, classifyNetworkError } from './errors.js';

/** Longest wait for one API call unless the caller says otherwise. */
export const DEFAULT_TIMEOUT_MS = 15_000;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Where and as whom calls go. */
export interface Transport {
  /** Base URL of the instance, e.g. `https://mastodon.social`. */
  instanceUrl: string;
  timeoutMs: number;
  accessToken?: string;
  /** A refresh token exists, so a 401 asks for a refresh rather than a reconnect. */
  canRefresh?: boolean;
}

export interface MastodonRequest {
  method: HttpMethod;
  /** Path from the instance root, e.g. `/api/v1/statuses`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `multipart/form-data` (FormData) or `application/x-www-form-urlencoded`. */
  form?: FormData | URLSearchParams;
  headers?: Record<string, string>;
  /** Non-2xx statuses answered as data instead of thrown (e.g. 404 for a lookup). */
  accept?: readonly number[];
  /** Overrides the transport's timeout for this call (uploads). */
  timeoutMs?: number;
}

export interface MastodonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export function instanceBase(instanceUrl: string): string {
  const url = new URL(instanceUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${instanceUrl}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function buildUrl(instanceUrl: string, path: string, query: MastodonRequest['query']): string {
  const url = new URL(instanceBase(instanceUrl) + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.toString();
}

/** Performs one call; resolves with 2xx (and `accept`ed) answers, throws `ConnectorError` otherwise. */
export async function mastodonRequest<T = unknown>(t: Transport, req: MastodonRequest): Promise<MastodonResponse<T>> {
  const what = `${req.method} ${req.path}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const headers = new Headers({ accept: 'application/json', ...req.headers });
  if (t.accessToken) headers.set('authorization', `Bearer ${t.accessToken}`);
  let body: string | FormData | URLSearchParams | undefined;
  if (req.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(req.json);
  } else if (req.form) {
    body = req.form;
  }
  const res = await fetchAnswer(
    buildUrl(t.instanceUrl, req.path, req.query),
    // The instance is an address the user typed: public addresses only unless OUTBOUND_ALLOW says more.
    { method: req.method, headers, body, dispatcher: userUrlDispatcher() },
    timeoutMs,
    (err) => classifyNetworkError(err, { method: req.method, what, timeoutMs }),
  );
  if (res.ok || req.accept?.includes(res.status))
    return { status: res.status, headers: res.headers, body: res.body as T };
  throw classify(res.status, res.body, res.headers, { method: req.method, what, canRefresh: t.canRefresh ?? false });
}
