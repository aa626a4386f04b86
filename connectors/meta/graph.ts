/**
 * Transport for Meta's Graph APIs (Instagram on graph.instagram.com or graph.facebook.com,
 * Facebook Pages on graph.facebook.com, Threads on graph.threads.net): the one function every
 * call of the three connectors goes through. The access token travels as the documented
 * `access_token` parameter (in the form body of a POST, in the query otherwise), answers are
 * read within a deadline, and failures become typed errors by `classifyGraph`.
 */
import { fetchAnswer } from '../http.js';
import type { ConnectorError } from '../errors.js';
import { classifyGraph, classifyGraphNetworkError, type MetaPlatform } from './errors.js';

export const DEFAULT_TIMEOUT_MS = 15_000;

export interface GraphTransport {
  platform: MetaPlatform;
  /** Base URL with the version, e.g. `https://graph.instagram.com/v23.0`, or a fake's. */
  apiUrl: string;
  timeoutMs: number;
  accessToken?: string;
}

export interface GraphRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path under the versioned base, e.g. `/17841400000/media`. */
  path: string;
  params?: Record<string, string | number | boolean | undefined>;
  /** Non-2xx statuses answered as data instead of thrown. */
  accept?: readonly number[];
  timeoutMs?: number;
}

export interface GraphAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function graphRequest<T = Record<string, unknown>>(
  t: GraphTransport,
  req: GraphRequest,
): Promise<GraphAnswer<T>> {
  const what = `${req.method} ${req.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
  const timeoutMs = req.timeoutMs ?? t.timeoutMs;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(req.params ?? {})) if (v !== undefined) params.set(k, String(v));
  if (t.accessToken) params.set('access_token', t.accessToken);
  const url = new URL(t.apiUrl.replace(/\/+$/, '') + req.path);
  const headers = new Headers({ accept: 'application/json' });
  let body: URLSearchParams | undefined;
  if (req.method === 'POST') body = params;
  else for (const [k, v] of params) url.searchParams.set(k, v);
  const res = await fetchAnswer(url, { method: req.method, headers, ...(body ? { body } : {}) }, timeoutMs, (err) =>
    classifyGraphNetworkError(t.platform, err, { method: req.method, what, timeoutMs }),
  );
  if (res.ok || req.accept?.includes(res.status)) {
    return { status: res.status, headers: res.headers, body: (res.body ?? {}) as T };
  }
  throw classifyGraph(t.platform, res.status, res.body, res.headers, { method: req.method, what });
}

/** A Graph id from an answer (`{id}`), or a transient error that says the write may have applied. */
export function idOf(platform: MetaPlatform, answer: GraphAnswer, what: string, field = 'id'): string {
  const v = answer.body[field];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  throw readFailure(platform, answer.status, what);
}

function readFailure(platform: MetaPlatform, status: number, what: string): ConnectorError {
  return classifyGraph(
    platform,
    500,
    { error: { message: `the answer to ${what} could not be read` } },
    new Headers(),
    {
      method: 'POST',
      what,
      status,
    },
  );
}
